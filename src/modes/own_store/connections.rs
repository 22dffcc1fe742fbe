//! One authenticated connection to our store per process, kept across calls, so
//! that status and a warm ensure skip the TCP connect and the `AUTH` round trip
//! (about a third of a status). It never replaces a check: every use still runs
//! the full health probe, whose `INFO` proves who answers (pid and run_id).
//!
//! A kept connection that fails is dropped, never retried here: the caller
//! reconnects (a store that was restarted has closed it) unless the server timed
//! out (then a new connection would only wait as long again).

use std::sync::Mutex;

use crate::checks::client::Client;
use crate::settings::secret::Secrets;

/// Keyed by port and passwords: another store, or a new secret, never reuses it.
static KEPT: Mutex<Option<(u16, Secrets, Client)>> = Mutex::new(None);

/// The kept connection to `port` with `secrets`, if there is one. It is taken out:
/// give it back with `keep` once it has answered.
pub fn take(port: u16, secrets: &Secrets) -> Option<Client> {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    match kept.take() {
        Some((p, s, client)) if p == port && s == *secrets => Some(client),
        other => {
            *kept = other;
            None
        }
    }
}

/// Keeps `client` (a connection that just answered) for the next call.
pub fn keep(port: u16, secrets: &Secrets, client: &Client) {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    *kept = Some((port, secrets.clone(), client.clone()));
}

/// Drops the kept connection: it was logged in as a user that no longer may do
/// what the addon does (the store was just given its two users).
pub fn forget() {
    *KEPT.lock().unwrap_or_else(|e| e.into_inner()) = None;
}
