//! Where everything lives under the data dir (docs/design.md, "Files under the data dir").

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePaths {
    pub data_dir: PathBuf,
    pub settings_file: PathBuf,
    /// `redis/`: config, pid file, lock, secret. 0700.
    pub redis_dir: PathBuf,
    pub config_file: PathBuf,
    /// `redis/data/`: the AOF and RDB. 0700. Never removed without `purgeData`.
    pub server_data_dir: PathBuf,
    /// `redis/data/claude-mem-server.json`: which server last ran this data (kept
    /// with it, so it goes only when the data does).
    pub last_server_file: PathBuf,
    pub pid_file: PathBuf,
    pub lock_file: PathBuf,
    /// `redis/secret`: the client password, the one in settings.json's URL (0600).
    pub secret_file: PathBuf,
    /// `redis/admin-secret`: the addon's own password, which never leaves this
    /// directory (0600): health checks, config checks and shutdown use it.
    pub admin_secret_file: PathBuf,
    /// `redis/binaries.json`: what each server binary's `--version` said (a cache).
    pub binary_cache_file: PathBuf,
    /// `redis/docker.env`: Docker mode's password, read by the docker CLI (0600).
    pub docker_env_file: PathBuf,
    /// `redis/move-failed.json`: the server binary a move onto failed to start, so
    /// that later ensures do not stop the store again for it (`managed::failed_move`).
    pub move_failed_file: PathBuf,
    pub logs_dir: PathBuf,
    /// `bin/valkey/`: downloaded, verified server binaries, one dir per version.
    pub valkey_bin_dir: PathBuf,
}

impl StorePaths {
    pub fn new(data_dir: &Path) -> StorePaths {
        let redis_dir = data_dir.join("redis");
        StorePaths {
            data_dir: data_dir.to_path_buf(),
            settings_file: data_dir.join("settings.json"),
            config_file: redis_dir.join("redis.conf"),
            server_data_dir: redis_dir.join("data"),
            last_server_file: redis_dir.join("data").join("claude-mem-server.json"),
            pid_file: redis_dir.join("redis.pid"),
            lock_file: redis_dir.join("store.lock"),
            secret_file: redis_dir.join("secret"),
            admin_secret_file: redis_dir.join("admin-secret"),
            binary_cache_file: redis_dir.join("binaries.json"),
            docker_env_file: redis_dir.join("docker.env"),
            move_failed_file: redis_dir.join("move-failed.json"),
            redis_dir,
            logs_dir: data_dir.join("logs"),
            valkey_bin_dir: data_dir.join("bin").join("valkey"),
        }
    }

    /// `logs/redis-YYYY-MM-DD.log` for the day the server starts.
    pub fn log_file(&self, date: &str) -> PathBuf {
        self.logs_dir.join(format!("redis-{date}.log"))
    }

    /// Creates the directories we own, private to this user (0700).
    pub fn create_private_dirs(&self) -> Result<()> {
        for dir in [&self.data_dir, &self.logs_dir] {
            fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, &e))?;
        }
        for dir in [&self.redis_dir, &self.server_data_dir] {
            create_private_dir(dir)?;
        }
        Ok(())
    }
}

/// `mkdir -p` then `chmod 0700`: the queue's data is nobody else's business.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| StoreError::io("set permissions on", dir, &e))?;
    }
    Ok(())
}

/// Today's local date as `YYYY-MM-DD`, for the log file's name.
pub fn local_date_today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((now + local_utc_offset_secs(now)).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(unix)]
fn local_utc_offset_secs(now: i64) -> i64 {
    // SAFETY: localtime_r writes only into the tm we pass; time_t is copied in.
    unsafe {
        let t = now as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            0
        } else {
            tm.tm_gmtoff
        }
    }
}

#[cfg(not(unix))]
fn local_utc_offset_secs(_now: i64) -> i64 {
    0
}

/// Days since 1970-01-01 → (year, month, day). Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let p = StorePaths::new(Path::new("/h/.claude-mem"));
        assert_eq!(p.config_file, Path::new("/h/.claude-mem/redis/redis.conf"));
        assert_eq!(p.server_data_dir, Path::new("/h/.claude-mem/redis/data"));
        assert_eq!(p.pid_file, Path::new("/h/.claude-mem/redis/redis.pid"));
        assert_eq!(
            p.log_file("2026-11-26"),
            Path::new("/h/.claude-mem/logs/redis-2026-11-26.log")
        );
        assert_eq!(p.valkey_bin_dir, Path::new("/h/.claude-mem/bin/valkey"));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
