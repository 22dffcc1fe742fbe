//! What a started store saves to settings.json for claude-mem's own runtime (mode,
//! host, port and the URL with the generated password), and how that URL is told
//! apart from a user's.

use std::path::Path;

use super::file::SettingsFile;
use super::keys::*;
use super::paths::StorePaths;
use super::{Settings, secret};
use crate::error::Result;

impl Settings {
    /// Saves what claude-mem's own runtime needs to reach a store this call
    /// started or adopted: the mode, host, port (unless the caller chose it
    /// explicitly), and `CLAUDE_MEM_REDIS_URL` with the generated password —
    /// claude-mem builds BullMQ's connection from settings alone, and without the
    /// URL it would connect to `HOST:PORT` with no password and get `NOAUTH`. The
    /// file then holds a secret, so it is made 0600. A URL of someone else's server
    /// is never overwritten (that would lose the user's setting): a notice says
    /// claude-mem will connect there instead. settings.json is read again here,
    /// under the store lock, so that keys written since `resolve` are kept.
    /// Returns notices for the status.
    pub fn persist_store(&self, port: u16, secret: &str) -> Result<Vec<String>> {
        let mut file = SettingsFile::load(self.file.path())?;
        let mut notices = Vec::new();
        let mut updates = vec![
            (KEY_MODE, self.mode.as_str().to_string()),
            (KEY_HOST, self.host.clone()),
        ];
        if !self.port.is_some_and(|p| p.is_explicit()) {
            updates.push((KEY_PORT, port.to_string()));
            if self.seeded_port_ignored {
                notices.push(format!(
                    "{KEY_PORT}=6379 in {} is claude-mem's default for an external Redis, not a private port: \
                     the {} store uses port {port} and saved it there",
                    self.file.path().display(),
                    self.mode.as_str()
                ));
            }
        }
        match file.get(KEY_URL)? {
            Some(url) if !is_own_store_url(&url, secret) => notices.push(format!(
                "{KEY_URL} in {} names another server, so claude-mem's runtime connects there, not to this store; \
                 it was left as it is. Set it to \"\" to use this store.",
                self.file.path().display()
            )),
            _ => updates.push((KEY_URL, own_store_url(secret, port))),
        }
        file.update_private(&updates)?;
        Ok(notices)
    }
}

/// The URL of our own store on `port`, as saved in settings.json for claude-mem.
pub fn own_store_url(secret: &str, port: u16) -> String {
    format!("redis://:{secret}@{DEFAULT_HOST}:{port}")
}

/// Whether `url` is [`own_store_url`] for `secret` (on any port: it may have moved).
/// The generated password is 256 random bits, so nobody else's URL carries it.
pub fn is_own_store_url(url: &str, secret: &str) -> bool {
    url.trim()
        .strip_prefix(&format!("redis://:{secret}@{DEFAULT_HOST}:"))
        .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `url` names the store of `data_dir` (its saved password is in it).
pub(super) fn names_own_store(url: &str, data_dir: &Path) -> bool {
    // Cheap test first: only a URL shaped like ours makes us read the secret.
    if !url.trim().starts_with("redis://:") {
        return false;
    }
    let secret_file = StorePaths::new(data_dir).secret_file;
    matches!(secret::load(&secret_file), Ok(Some(secret)) if is_own_store_url(url, &secret))
}

/// Whether `url` has the shape of [`own_store_url`] for some generated password,
/// ours or a lost one (a secret file removed since): never a user's server.
pub fn has_own_store_shape(url: &str) -> bool {
    url.trim()
        .strip_prefix("redis://:")
        .and_then(|rest| rest.split_once('@'))
        .is_some_and(|(secret, _)| secret::is_valid(secret))
        && is_own_store_url(
            url,
            url.trim()["redis://:".len()..]
                .split('@')
                .next()
                .unwrap_or(""),
        )
}
