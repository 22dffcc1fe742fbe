//! The generated password (`requirepass`) that keeps other local users out of the
//! queue. Kept in `redis/secret` (0600); the server reads it from its config file,
//! so it never appears in any process's argv.

use std::fs;
use std::path::Path;

use crate::error::{ErrorCode, Result, StoreError};
use crate::files::write_atomically;

/// 32 random bytes, hex: 256 bits, and only characters a config line holds plainly.
const SECRET_BYTES: usize = 32;

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
