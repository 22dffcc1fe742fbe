//! Stopping our sidecar: `stopQueueStore` decides what may be stopped (only a
//! server proved to be ours; a stale or foreign pid file is set aside, never
//! signalled), then `SHUTDOWN` over the authenticated connection (immediate, and it
//! flushes the AOF), then SIGTERM, then SIGKILL, each with its share of the
//! caller's timeout.

use std::time::{Duration, Instant};

use crate::checks::client::Client;
use crate::checks::clients;
use crate::server::process::{self, Signal};

use super::ownership::{Verdict, find_orphan, verify};
use crate::error::{ErrorCode, Result, StoreError};
use crate::lock;
use crate::modes::results::{StopMethod, StopResult};
use crate::server::pidfile::{self, PidFile};
use crate::settings::Settings;
use crate::settings::paths::StorePaths;
use crate::settings::secret::Secrets;

use super::ORPHAN_PROBE;
use crate::modes::own_store::{connections, lock_wait};

pub async fn stop(settings: &Settings, force: bool) -> Result<StopResult> {
    process::reap_exited_children();
    let paths = StorePaths::new(&settings.data_dir);
    let nothing = StopResult::nothing;
    if !paths.redis_dir.is_dir() {
        // Never create a data dir just to say nothing runs there.
        return Ok(nothing(
            "no managed store is set up in this data dir".into(),
        ));
    }
    let _lock = match lock::acquire(&paths.lock_file, lock_wait(settings.timeout)).await {
        // An uninstall removed redis/ while we waited: nothing can run there.
        Err(_) if !paths.redis_dir.is_dir() => {
            return Ok(nothing(
                "no managed store is set up in this data dir".into(),
            ));
        }
        lock => lock?,
    };
    stop_locked(settings, &paths, force).await
}

/// [`stop`] for a caller that already holds the store lock (uninstall, which must
/// not let an ensure start a server between stopping and removing its files).
///
/// Unless `force`, a store that other clients are connected to (claude-mem's other
/// processes, their BullMQ workers) is left running: the result says how many.
pub async fn stop_locked(
    settings: &Settings,
    paths: &StorePaths,
    force: bool,
) -> Result<StopResult> {
    let nothing = StopResult::nothing;
    let secrets = Secrets::load(paths)?.unwrap_or_default();
    let record = match pidfile::read(&paths.pid_file)? {
        PidFile::Valid(record) => record,
        PidFile::Invalid(why) => {
            let aside = pidfile::set_aside(&paths.pid_file)?;
            return Ok(StopResult {
                stale_pid_file: Some(aside.display().to_string()),
                ..nothing(format!(
                    "{why}; nothing was signalled and the file was moved to {}",
                    aside.display()
                ))
            });
        }
        PidFile::Absent => {
            let orphan = match settings.port {
                Some(p) if !secrets.client.is_empty() => {
                    find_orphan(p.port, &secrets, &paths.config_file, ORPHAN_PROBE).await
                }
                _ => None,
            };
            let Some((pid, mut client, _)) = orphan else {
                return Ok(nothing("the managed store is not running".into()));
            };
            let port = settings.port.map_or(0, |p| p.port);
            if let Some(in_use) = in_use_by_others(&mut client, pid, port, &secrets, force).await {
                return Ok(in_use);
            }
            let method = stop_process(pid, Some(&mut client), settings.timeout).await?;
            return Ok(StopResult {
                stopped: true,
                was_running: true,
                pid: Some(pid),
                method: Some(method),
                code: None,
                message: format!("stopped the store (pid {pid}), which had no pid file"),
                stale_pid_file: None,
                clients: None,
            });
        }
    };
    let pid = record.pid;
    let mut client = match verify(
        &record,
        &secrets,
        settings.timeout.min(Duration::from_secs(2)),
    )
    .await
    {
        Verdict::Owned { client, .. } => Some(client),
        // Our process by pid and start token, but it does not answer (e.g. SIGSTOP):
        // skip SHUTDOWN and use signals.
        Verdict::Unresponsive(_) => None,
        Verdict::Exited => {
            pidfile::remove(&paths.pid_file)?;
            return Ok(nothing(format!(
                "the store (pid {pid}) had already exited; its stale pid file was removed"
            )));
        }
        Verdict::Recycled | Verdict::Foreign(_) => {
            let aside = pidfile::set_aside(&paths.pid_file)?;
            return Ok(StopResult {
                code: Some(ErrorCode::NotOwned.as_str()),
                stale_pid_file: Some(aside.display().to_string()),
                ..nothing(format!(
                    "pid {pid} is not our store (the pid was reused by another program); it was not signalled. \
                     The stale pid file was moved to {}",
                    aside.display()
                ))
            });
        }
    };
    if let Some(client) = client.as_deref_mut()
        && let Some(in_use) = in_use_by_others(client, pid, record.port, &secrets, force).await
    {
        return Ok(in_use);
    }
    let method = stop_process(pid, client.as_deref_mut(), settings.timeout).await?;
    pidfile::remove(&paths.pid_file)?;
    Ok(StopResult {
        stopped: true,
        was_running: true,
        pid: Some(pid),
        method: Some(method),
        code: None,
        message: format!("stopped the store (pid {pid}) on port {}", record.port),
        stale_pid_file: None,
        clients: None,
    })
}

/// The result that leaves the store (pid `pid`) on `port` running because other
/// clients use it; `None` when it may be stopped (forced, nobody else, or nobody
/// can tell: a store that does not answer its own client list is stopped as
/// before). This process's kept connection (`connections`) is ours, not a user.
async fn in_use_by_others(
    client: &mut Client,
    pid: u32,
    port: u16,
    secrets: &Secrets,
    force: bool,
) -> Option<StopResult> {
    if force {
        return None;
    }
    match others_than_us(client, port, secrets).await {
        Some(others) if others > 0 => Some(StopResult::in_use(
            Some(pid),
            others,
            &format!("the store (pid {pid})"),
        )),
        _ => None,
    }
}

/// How many clients other than this process's own connections (`client`, and the
/// kept one of `connections`) use our store on `port`; `None` when the server
/// cannot be asked. With nobody else the caller is about to stop the store, so the
/// kept connection is dropped rather than kept for a server that will be gone.
pub(super) async fn others_than_us(
    client: &mut Client,
    port: u16,
    secrets: &Secrets,
) -> Option<u32> {
    let mut ours = Vec::new();
    let kept = connections::take(port, secrets);
    if let Some(mut kept) = kept.clone()
        && let Ok(id) = clients::own_id(&mut kept).await
    {
        ours.push(id);
    }
    let others = clients::count_others(client, &ours).await.ok().flatten();
    if let Some(kept) = &kept
        && others != Some(0)
    {
        connections::keep(port, secrets, kept);
    }
    others
}

pub async fn stop_process(
    pid: u32,
    client: Option<&mut Client>,
    timeout: Duration,
) -> Result<StopMethod> {
    if let Some(client) = client {
        // An error here (e.g. the server refused) just moves us on to signals.
        let _ = client.shutdown().await;
        if wait_exit(pid, timeout / 2).await {
            return Ok(StopMethod::Shutdown);
        }
    }
    process::signal(pid, Signal::Term);
    // A server stopped with SIGSTOP only acts on SIGTERM once it runs again.
    process::signal(pid, Signal::Cont);
    if wait_exit(pid, timeout / 4).await {
        return Ok(StopMethod::Sigterm);
    }
    process::signal(pid, Signal::Kill);
    if wait_exit(pid, (timeout / 4).max(Duration::from_secs(2))).await {
        return Ok(StopMethod::Sigkill);
    }
    Err(StoreError::new(
        ErrorCode::Timeout,
        format!("pid {pid} did not exit even after SIGKILL. Check it with `ps -p {pid}`."),
    ))
}

/// Waits (polling, bounded) until `pid` has exited; `is_alive` collects it if this
/// process spawned it.
pub async fn wait_exit(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_micros(500);
    loop {
        if !process::is_alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}
