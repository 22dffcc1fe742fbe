//! The store's two generated passwords, each in its own 0600 file under `redis/`;
//! the server reads them from its config file, so neither appears in any argv.
//!
//! - `secret`, the client's: the ACL user `default`, whose password is in the URL
//!   that ensure writes to settings.json (claude-mem serves that file to anyone on
//!   loopback), so it may run only what BullMQ needs (`server::acl`).
//! - `admin-secret`, the addon's own (ACL user `claude-mem-store`): every command;
//!   it never leaves the data dir.

use std::fs;
use std::path::Path;

use crate::error::{ErrorCode, Result, StoreError};
use crate::files::write_atomically;

use crate::settings::paths::StorePaths;

/// 32 random bytes, hex: 256 bits, and only characters a config line holds plainly.
const SECRET_BYTES: usize = 32;

/// The passwords of one store (`Default`: none, for a store never set up).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// The client user's (`default`): the password in settings.json's URL.
    pub client: String,
    /// The addon's admin user's. `None` only for a store set up by a version of the
    /// addon that had one password, which is then its client password too (until
    /// ensure gives the store its two users: `modes::managed::login`).
    pub admin: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(***)")
    }
}

impl Secrets {
    /// Both secrets, each created when missing (ensure: it may start a server).
    pub fn load_or_create(paths: &StorePaths) -> Result<Secrets> {
        Ok(Secrets {
            client: load_or_create(&paths.secret_file)?,
            admin: Some(load_or_create(&paths.admin_secret_file)?),
        })
    }

    /// What is there, creating nothing (status, stop, uninstall). `None` without a
    /// client secret: then no server of ours can answer.
    pub fn load(paths: &StorePaths) -> Result<Option<Secrets>> {
        let Some(client) = load(&paths.secret_file)? else {
            return Ok(None);
        };
        Ok(Some(Secrets {
            client,
            admin: load(&paths.admin_secret_file)?,
        }))
    }
}

/// The stored secret, or a new one written to `path` when there is none (or what is
/// there is not a secret we wrote).
pub fn load_or_create(path: &Path) -> Result<String> {
    if let Some(existing) = load(path)? {
        return Ok(existing);
    }
    let secret = generate()?;
    write_atomically(path, secret.as_bytes(), Some(0o600))?;
    Ok(secret)
}

/// The stored secret, if a valid one is there.
pub fn load(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(std::str::from_utf8(&bytes)
            .ok()
            .map(str::trim)
            .filter(|s| is_valid(s))
            .map(str::to_string)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io("read", path, &e)),
    }
}

pub(super) fn is_valid(s: &str) -> bool {
    s.len() == SECRET_BYTES * 2 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn generate() -> Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        StoreError::new(
            ErrorCode::Internal,
            format!("the OS gave no random bytes for the store's password: {e}"),
        )
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_and_private() {
        let d = std::env::temp_dir().join(format!("cms-secret-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        let p = d.join("secret");
        let _ = fs::remove_file(&p);
        let a = load_or_create(&p).unwrap();
        assert!(is_valid(&a));
        assert_eq!(load_or_create(&p).unwrap(), a);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        fs::write(&p, "garbage").unwrap();
        let b = load_or_create(&p).unwrap();
        assert_ne!(a, b);
        assert!(is_valid(&b));
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn two_secrets_differ() {
        assert_ne!(generate().unwrap(), generate().unwrap());
    }
}
