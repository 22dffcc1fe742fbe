//! The store lock: one ensure/stop/install/uninstall at a time across processes.
//! An OS file lock (flock / LockFileEx through `File::lock`), so it is released by the
//! OS when its holder dies — no stale lock files to clean up.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{ErrorCode, Result, StoreError};

/// Held while alive; dropping it unlocks.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

/// Waits up to `timeout` for the lock at `path`. Polls `try_lock` (with short
/// pauses) rather than blocking in `lock()`, so a caller's timeout is honoured.
pub async fn acquire(path: &Path, timeout: Duration) -> Result<StoreLock> {
    // Without a `prepare` that recreates it, a missing directory stays missing.
    let exists = || match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(StoreError::io(
            "open the lock file",
            path,
            &std::io::Error::from(ErrorKind::NotFound),
        )),
        _ => Ok(()),
    };
    acquire_with(path, timeout, exists).await
}

/// As [`acquire`], running `prepare` (e.g. "create the lock's directory") before
/// every attempt to open the lock file.
///
/// The lock file can be deleted (uninstallQueueStore removes it, and its
/// directory) while others wait on it. A waiter that opened the old file would
/// then "hold" a lock on an unlinked inode while a newcomer locks a fresh file at
/// the same path: two holders at once. So a lock counts only if, once held, the
/// path still names the very file that is locked; otherwise it is dropped and the
/// path opened again.
pub async fn acquire_with(
    path: &Path,
    timeout: Duration,
    prepare: impl Fn() -> Result<()>,
) -> Result<StoreLock> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        prepare()?;
        let file = match open(path) {
            Ok(file) => file,
            // The directory went between `prepare` and the open (an uninstall holding
            // the lock removed it): prepare again.
            Err(e) if e.kind() == ErrorKind::NotFound && Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                continue;
            }
            Err(e) => return Err(StoreError::io("open the lock file", path, &e)),
        };
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(StoreError::io("lock", path, &e)),
            }
            if Instant::now() >= deadline {
                return Err(lock_timeout(path.to_path_buf(), timeout));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(25));
        }
        if still_at(&file, path) {
            return Ok(StoreLock { _file: file });
        }
        // Unlinked or replaced while we waited: that lock guards nothing.
        drop(file);
        if Instant::now() >= deadline {
            return Err(lock_timeout(path.to_path_buf(), timeout));
        }
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Whether `path` still names the open `file` (same device and inode).
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
        _ => false,
    }
}

/// Windows cannot delete a file another process holds open, so a held lock file
/// cannot be replaced under its holder.
#[cfg(not(unix))]
fn still_at(_file: &File, path: &Path) -> bool {
    path.exists()
}

fn lock_timeout(path: PathBuf, timeout: Duration) -> StoreError {
    StoreError::new(
        ErrorCode::LockTimeout,
        format!(
            "another claude-mem process held the store lock ({}) for more than {} ms. \
             Wait for it to finish (or stop it), then try again.",
            path.display(),
            timeout.as_millis()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn second_holder_times_out_until_the_first_lets_go() {
        let d = std::env::temp_dir().join(format!("cms-lock-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("store.lock");
        let first = acquire(&p, Duration::from_millis(100)).await.unwrap();
        let e = acquire(&p, Duration::from_millis(30)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::LockTimeout);
        drop(first);
        acquire(&p, Duration::from_millis(100)).await.unwrap();
        std::fs::remove_dir_all(d).unwrap();
    }

    #[tokio::test]
    async fn a_waiter_never_keeps_a_lock_on_a_deleted_file() {
        let d = std::env::temp_dir().join(format!("cms-lock-unlink-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("store.lock");
        let first = acquire(&p, Duration::from_secs(5)).await.unwrap();
        let waiter = {
            let p = p.clone();
            tokio::spawn(async move { acquire(&p, Duration::from_secs(5)).await })
        };
        // Let the waiter open the file and start polling on it.
        while !p.exists() {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The holder deletes the lock file (as uninstall does), then lets go; a
        // newcomer locks a fresh file at the same path.
        std::fs::remove_file(&p).unwrap();
        drop(first);
        let newcomer = acquire(&p, Duration::from_secs(5)).await.unwrap();
        // The waiter must now wait for the newcomer instead of holding the dead file.
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!waiter.is_finished(), "two holders of one lock");
        drop(newcomer);
        let held = waiter.await.unwrap().unwrap();
        assert!(still_at(&held._file, &p));
        drop(held);
        std::fs::remove_dir_all(d).unwrap();
    }
}
