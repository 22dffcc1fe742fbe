//! Files written so that a crash never leaves half of one: a temp file beside the
//! target, renamed over it (atomic on every platform we run on), with the mode set
//! before the rename; and files read with a size cap, so that a huge or endless
//! file (a FIFO, a typo pointing at /dev/zero) cannot exhaust memory. And whether
//! two paths name one file.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{Result, StoreError};

/// Reads at most `limit + 1` bytes of `path` (one more than allowed, so the caller
/// can tell a file that is too large); `None` when there is no such file.
pub fn read_capped(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("read", path, &e)),
    };
    // Room for a typical file up front: one read() instead of a growing series.
    let mut bytes = Vec::with_capacity(4096);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::io("read", path, &e))?;
    Ok(Some(bytes))
}

/// Writes `bytes` to a temp file beside `path`, syncs it, then renames it over
/// `path`, so readers see either the old or the new file, never a torn one.
/// `mode` (unix permissions) is applied before the rename.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    write_replacing(path, bytes, mode, true)
}

/// Like `write_atomically` but without the fsync, for files that a machine crash
/// makes moot anyway (the pid file: every process is gone after a crash; the server
/// config: rewritten at every start). Still never torn: the rename is atomic.
pub fn write_replacing_volatile(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    write_replacing(path, bytes, mode, false)
}

fn write_replacing(path: &Path, bytes: &[u8], mode: Option<u32>, durable: bool) -> Result<()> {
    // Unix permissions have no meaning on Windows, where the file inherits its ACL.
    #[cfg(not(unix))]
    let _ = mode;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        unique_suffix()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode.unwrap_or(0o600));
        }
        let mut f = opts.open(&tmp)?;
        #[cfg(unix)]
        if let Some(mode) = mode {
            // create_new's mode is filtered by the umask; set it exactly.
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io("write", path, &e));
    }
    Ok(())
}

/// Whether `a` and `b` name the same file: the same path, or (a symlink, a
/// relative path, `..`) the same once both are resolved. A path that cannot be
/// resolved (gone, unreadable) is the same only as itself.
pub fn same_file(a: &Path, b: &Path) -> bool {
    a == b || fs::canonicalize(a).is_ok_and(|a| fs::canonicalize(b).is_ok_and(|b| a == b))
}

/// Enough to keep two writers in one process (two threads) from sharing a temp name.
pub(crate) fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (COUNTER.fetch_add(1, Ordering::Relaxed) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn same_file_resolves_links_and_dots_and_keeps_missing_paths_apart() {
        let d = std::env::temp_dir().join(format!("cms-same-file-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("sub")).unwrap();
        let f = d.join("valkey-server");
        fs::write(&f, "x").unwrap();
        std::os::unix::fs::symlink(&f, d.join("link")).unwrap();
        assert!(same_file(&f, &d.join("link")));
        assert!(same_file(
            &f,
            &d.join("sub").join("..").join("valkey-server")
        ));
        assert!(!same_file(&f, &d.join("sub")));
        let gone = d.join("gone");
        assert!(
            same_file(&gone, &gone),
            "a path is itself even when it is gone"
        );
        assert!(!same_file(&gone, &f));
        fs::remove_dir_all(d).unwrap();
    }
}
