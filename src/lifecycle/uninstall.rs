//! `uninstallQueueStore()`: stops our store, then removes what claude-mem-store
//! wrote — config, pid files, secret, lock, its own server logs, downloaded
//! binaries, and its keys in settings.json (the URL only if it is the one ensure
//! wrote) — and nothing else. `redis/data` (the
//! queue's AOF/RDB) is kept unless `purgeData`. Says what it removed and kept.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::{ErrorCode, Result, StoreError};
use crate::lock;
use crate::modes::managed;
use crate::modes::results::StopResult;
use crate::settings::file::SettingsFile;
use crate::settings::paths::StorePaths;
use crate::settings::{KEY_HOST, KEY_MODE, KEY_PORT, KEY_URL, Mode, Settings, is_own_store_url};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct UninstallResult {
    pub stop: StopResult,
    /// Paths removed.
    pub removed: Vec<String>,
    /// Paths deliberately kept, each with why.
    pub kept: Vec<String>,
    /// settings.json keys removed (every other key is kept as it was).
    pub settings_keys_removed: Vec<String>,
    pub data_purged: bool,
    pub notices: Vec<String>,
}

/// `force` stops a store that other clients still use (as `stopQueueStore`'s);
/// without it such a store stops the uninstall with `E_STORE_IN_USE`, nothing removed.
pub async fn uninstall(
    settings: &Settings,
    purge_data: bool,
    force: bool,
) -> Result<UninstallResult> {
    let paths = StorePaths::new(&settings.data_dir);
    let mut notices = Vec::new();
    let docker_removed = remove_docker_container(settings, purge_data).await?;
    // The store lock is held from the stop to the last removal. Stopping under the
    // lock and removing under a second one let an ensure in another process start a
    // server in between, whose config, pid file and secret were then deleted: an
    // orphan nobody could find, authenticate to or stop.
    let held = if paths.redis_dir.is_dir() {
        match lock::acquire(
            &paths.lock_file,
            crate::modes::own_store::lock_wait(settings.timeout),
        )
        .await
        {
            // Another uninstall removed redis/ while we waited.
            Err(_) if !paths.redis_dir.is_dir() => None,
            held => Some(held?),
        }
    } else {
        None
    };
    // Any error stops the uninstall here, with nothing removed.
    let stop = match held {
        Some(_) => managed::stop_locked(settings, &paths, force).await?,
        None => managed::stop(settings, force).await?,
    };
    if stop.code == Some(ErrorCode::StoreInUse.as_str()) {
        return Err(StoreError::new(
            ErrorCode::StoreInUse,
            format!("{} Nothing was removed.", stop.message),
        ));
    }
    if stop.code == Some(ErrorCode::NotOwned.as_str()) {
        notices.push(format!("{} (that process was not touched)", stop.message));
    }
    let mut removed = docker_removed;
    let mut kept = Vec::new();
    // Read before the secret file goes: it tells our URL in settings.json apart
    // from a user's.
    let secret = crate::settings::secret::load(&paths.secret_file)
        .ok()
        .flatten();

    if held.is_some() {
        for file in [
            &paths.config_file,
            &paths.pid_file,
            &paths.secret_file,
            &paths.admin_secret_file,
            &paths.binary_cache_file,
            &paths.docker_env_file,
            &paths.move_failed_file,
        ] {
            remove_file(file, &mut removed)?;
        }
        for file in matching(&paths.redis_dir, |n| {
            n.starts_with("redis.pid.stale-")
                || n.starts_with(".redis.conf.tmp-")
                || n.starts_with(".secret.tmp-")
                || n.starts_with(".admin-secret.tmp-")
        }) {
            remove_file(&file, &mut removed)?;
        }
        if paths.server_data_dir.exists() {
            if purge_data {
                fs::remove_dir_all(&paths.server_data_dir)
                    .map_err(|e| StoreError::io("remove", &paths.server_data_dir, &e))?;
                removed.push(display(&paths.server_data_dir));
            } else {
                kept.push(format!(
                    "{} (the queue's data; pass purgeData: true to remove it)",
                    display(&paths.server_data_dir)
                ));
            }
        }
        // Safe while held: a waiter that opened this file sees it gone once it gets
        // the lock, and opens the path again (lock::acquire_with).
        remove_file(&paths.lock_file, &mut removed)?;
    }
    for file in matching(&paths.logs_dir, |n| {
        n.starts_with("redis-") && n.ends_with(".log")
    }) {
        remove_file(&file, &mut removed)?;
    }
    remove_downloads(&paths, settings.timeout, &mut removed).await?;

    for dir in [
        &paths.redis_dir,
        &paths.logs_dir,
        &paths.data_dir.join("bin"),
    ] {
        remove_dir_if_empty(dir, &mut removed, &mut kept);
    }

    let mut file = SettingsFile::load(&paths.settings_file)?;
    let mut ours: Vec<&str> = vec![KEY_PORT, KEY_HOST];
    // The mode is ours only as ensure wrote it; a user's `external`/`docker` stays.
    if file.get(KEY_MODE).ok().flatten().as_deref() == Some("managed") {
        ours.push(KEY_MODE);
    }
    // The URL only if it is the one ensure wrote (with our password): a user's stays.
    let url = file.get(KEY_URL).ok().flatten();
    if let (Some(url), Some(secret)) = (url, &secret)
        && is_own_store_url(&url, secret)
    {
        ours.push(KEY_URL);
    }
    let present: Vec<String> = ours
        .iter()
        .filter(|k| file.get(k).ok().flatten().is_some())
        .map(|k| k.to_string())
        .collect();
    file.remove(&ours)?;
    if paths.settings_file.exists() {
        kept.push(format!(
            "{} (claude-mem's settings: every other key kept)",
            display(&paths.settings_file)
        ));
    }
    Ok(UninstallResult {
        stop,
        removed,
        kept,
        settings_keys_removed: present,
        data_purged: purge_data,
        notices,
    })
    // `held` (the store lock) is released only here, after the last removal.
}

/// Docker mode: the container (and with purgeData its volume) goes first; if
/// Docker cannot be reached the uninstall stops here, with nothing removed.
async fn remove_docker_container(settings: &Settings, purge_data: bool) -> Result<Vec<String>> {
    if settings.mode != Mode::Docker {
        return Ok(Vec::new());
    }
    crate::modes::docker::remove(settings, purge_data).await
}

/// `bin/valkey/`, under the install lock so a running installer is not cut short.
async fn remove_downloads(
    paths: &StorePaths,
    timeout: Duration,
    removed: &mut Vec<String>,
) -> Result<()> {
    let root = &paths.valkey_bin_dir;
    if !root.is_dir() {
        return Ok(());
    }
    let lock_path = root.join(".install.lock");
    let _lock = lock::acquire(&lock_path, timeout * 2).await?;
    for entry in fs::read_dir(root)
        .map_err(|e| StoreError::io("read", root, &e))?
        .flatten()
    {
        let path = entry.path();
        if path == lock_path {
            continue;
        }
        let result = if path.is_dir() && !path.is_symlink() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        result.map_err(|e| StoreError::io("remove", &path, &e))?;
        removed.push(display(&path));
    }
    let _ = fs::remove_file(&lock_path);
    if fs::remove_dir(root).is_ok() {
        removed.push(display(root));
    }
    Ok(())
}

fn matching(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter(|e| pred(&e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn remove_file(path: &Path, removed: &mut Vec<String>) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {
            removed.push(display(path));
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("remove", path, &e)),
    }
}

/// Our directories go only when nothing else is left in them.
fn remove_dir_if_empty(dir: &Path, removed: &mut Vec<String>, kept: &mut Vec<String>) {
    if !dir.is_dir() {
        return;
    }
    if fs::remove_dir(dir).is_ok() {
        removed.push(display(dir));
    } else {
        let others: Vec<String> = fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .take(5)
                    .collect()
            })
            .unwrap_or_default();
        if !others.is_empty() {
            kept.push(format!(
                "{} (still holds files claude-mem-store did not create, or kept data: {})",
                display(dir),
                others.join(", ")
            ));
        }
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
