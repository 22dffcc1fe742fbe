//! What spans the modes: `resolveQueueStore` (the install decision tree: a working
//! URL, a local or bundled server, an install, or the command to run) and
//! `uninstallQueueStore` (stop the store, remove what we wrote, keep the data unless
//! asked).
//!
//! Uses the modes, `install` and everything below them.

pub mod resolve;
pub mod uninstall;
