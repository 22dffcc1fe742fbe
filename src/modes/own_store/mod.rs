//! Our own store on loopback: what the managed sidecar and the Docker container
//! share, so that the two modes are siblings and neither imports the other. Both
//! are a server we started, on a port of 127.0.0.1 we chose, with our two
//! passwords, checked the same way:
//! - `port`: choosing the port (and refusing one another program holds);
//! - `login`: logging in as the admin user (and migrating an earlier version's
//!   single-password store);
//! - `connections`: the one connection kept per process;
//! - `info`: who answers (`INFO`);
//! - `health`: the full probe and the count of other clients;
//! - `lock_wait`: how long to wait for the store's lock.

pub mod connections;
pub mod health;
pub mod info;
pub mod login;
pub mod port;

use std::time::Duration;

/// Waiting for the store's lock may take as long as another caller's whole start
/// (its own timeout, then the checks'), plus a margin.
pub fn lock_wait(timeout: Duration) -> Duration {
    timeout * 2 + Duration::from_secs(1)
}
