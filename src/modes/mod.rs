//! The three stores and what they return: `managed` (our private sidecar under the
//! data dir), `external` (a server the user runs, at a URL or HOST:PORT, only ever
//! probed), and `docker` (a pinned Valkey image with a named volume). Each has
//! ensure, status and stop returning the shapes in [`status`].
//!
//! Uses everything below it (settings, server, checks). `docker` borrows the
//! managed store's port choice, loopback endpoint and checks; `managed` never uses
//! `docker`, and `external` uses neither.

pub mod docker;
pub mod external;
pub mod managed;
pub mod status;
