//! The server program: which `valkey-server` / `redis-server` / `redict-server`
//! binaries there are and which to run (the bundled Valkey first, verified against
//! its pinned sha256; then the server that last ran the data; then the best
//! found), what a binary is (flavor, version), its generated config, and the
//! process it becomes — spawned in its own session, its start token, its port, its
//! pid file.
//!
//! Uses only the base modules and `settings` (paths, atomic files).

pub mod acl;
pub mod binary;
pub mod config;
pub mod data_format;
pub mod flavor;
pub mod last_server;
pub mod pidfile;
pub mod port;
pub mod process;
