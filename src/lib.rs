//! claude-mem-store: a Redis-compatible queue store for claude-mem's BullMQ queues.
//!
//! All logic lives in plain Rust modules that know nothing of N-API; `binding` is
//! the one thin layer that converts JavaScript options, results and errors.

pub mod binaries;
pub mod binary_cache;
pub mod blocking;
pub mod bundled;
pub mod client;
pub mod config;
pub mod docker;
pub mod error;
pub mod external;
pub mod health;
pub mod install;
pub mod last_server;
pub mod lock;
pub mod managed;
pub mod options;
pub mod paths;
pub mod pidfile;
pub mod port;
pub mod probe;
pub mod process;
pub mod redis_url;
pub mod resolve;
pub mod secret;
pub mod server_info;
pub mod settings;
pub mod settings_file;
pub mod smoke;
pub mod status;
pub mod tls;
pub mod uninstall;

/// The N-API layer (the only module that knows about JavaScript).
pub mod binding;
