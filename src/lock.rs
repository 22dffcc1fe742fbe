//! The store lock: one ensure/stop/install/uninstall at a time across processes.
//! An OS file lock (flock / LockFileEx through `File::lock`), so it is released by the
//! OS when its holder dies — no stale lock files to clean up.

use std::fs::{File, OpenOptions, TryLockError};
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
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts
        .open(path)
        .map_err(|e| StoreError::io("open the lock file", path, &e))?;
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(StoreLock { _file: file }),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(StoreError::io("lock", path, &e)),
        }
        if Instant::now() >= deadline {
            return Err(lock_timeout(path.to_path_buf(), timeout));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(25));
    }
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
}
