//! claude-mem-store: a Redis-compatible queue store for claude-mem's BullMQ queues.
//!
//! All logic lives in plain Rust modules that know nothing of N-API; `binding` is
//! the one thin layer that converts JavaScript options, results and errors. The
//! folders are the concepts, and each may use only the ones listed before it:
//!
//! 1. base — [`error`], [`blocking`], [`lock`], [`files`]: no other module of ours.
//! 2. [`settings`] — the store's settings: options, environment, claude-mem's
//!    settings.json, the data dir's layout and the generated secret.
//! 3. [`server`] — the server program: finding and vetting binaries (the bundled
//!    Valkey included), its config, its process, port and pid file.
//! 4. [`checks`] — talking to a server and judging it: the client and TLS, URLs,
//!    `INFO`, the health checks, the BullMQ smoke test and the probe.
//! 5. [`install`] — putting a server on the machine (package managers, downloads).
//! 6. [`modes`] — the three stores (managed, external, docker) and the status
//!    shapes they return; `docker` may use `managed`, never the reverse.
//! 7. [`lifecycle`] — what spans the modes: resolving which store to use, uninstalling.
//! 8. [`binding`] — the `#[napi]` exports; nothing imports it.

pub mod blocking;
pub mod error;
pub mod files;
pub mod lock;

pub mod settings;

pub mod server;

pub mod checks;

pub mod install;

pub mod modes;

pub mod lifecycle;

/// The N-API layer (the only module that knows about JavaScript).
pub mod binding;
