//! The sha256 of a file, streamed (server binaries are a few MB; nothing is read
//! whole). Shared by the bundled server's verification against its pin and by the
//! record of which binary a running store was started from: npm resets the mtimes
//! of the files it installs, so a binary replaced in place can be told from the
//! old one only by its content.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

/// Lowercase hex sha256 of the file at `path`.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| StoreError::io("read", path, &e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| StoreError::io("read", path, &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lowercase hex of a digest, as sha256sum prints it (also the download's hash).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_a_file_as_sha256sum_does() {
        let d = std::env::temp_dir().join(format!("cms-sha-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("abc");
        std::fs::write(&f, "abc").unwrap();
        assert_eq!(
            sha256_file(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(sha256_file(&d.join("missing")).is_err());
        std::fs::remove_dir_all(d).unwrap();
    }
}
