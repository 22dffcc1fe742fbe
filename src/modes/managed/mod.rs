//! The managed store: a private Valkey/Redis sidecar under `<dataDir>/redis`,
//! started, adopted, checked and stopped only by claude-mem (docs/design.md, "Managed
//! sidecar rules").

mod adopt;
mod failed_move;
pub mod ownership;
pub mod start;
mod status;
pub mod stop;
mod unknown_server;
mod unreadable_data;
pub mod upgrade;
pub mod watch;

use crate::modes::own_store::health::checks;
use crate::modes::own_store::{connections, lock_wait, login};
use adopt::{adopt_from_pid_file, adopt_orphan};
use status::running_status;
pub use status::status;
pub use stop::{stop, stop_locked};

use std::path::PathBuf;
use std::time::Duration;

use crate::blocking::off_worker;
use crate::checks::client::{Client, ClientError};
use crate::checks::health;
use crate::checks::server_info::ServerInfo;
use crate::error::{ErrorCode, Result, StoreError};
use crate::lock;
use crate::modes::results::{PortMove, QueueStoreStatus};
use crate::server::binary::cache::BinaryCache;
use crate::server::binary::search;
use crate::server::last_server::{self, LastServer};
use crate::server::pidfile::{self, PidFile, PidRecord};
use crate::server::process;
use crate::settings::Settings;
use crate::settings::paths::StorePaths;
use crate::settings::secret::Secrets;

/// How long an orphan probe may take: it only ever talks to loopback.
const ORPHAN_PROBE: Duration = Duration::from_millis(500);

/// A running server of ours, as found or started by this call.
struct Running {
    record: PidRecord,
    client: Client,
    info: ServerInfo,
    /// Already probed while verifying ownership (adopting), if so.
    health: Option<Box<health::Health>>,
    started: bool,
    port_moved: Option<PortMove>,
}

/// Starts or adopts the store. An adopted store that runs another binary than the
/// one this call would start is moved onto it when no other client is connected,
/// or at once with `restart` (see `upgrade`).
pub async fn ensure(settings: &Settings, restart: bool) -> Result<QueueStoreStatus> {
    process::reap_exited_children();
    let paths = StorePaths::new(&settings.data_dir);
    let result = async {
        let _lock = lock_creating(&paths, settings.timeout).await?;
        ensure_locked(settings, &paths, restart).await
    }
    .await;
    result.map_err(cannot_start)
}

/// The store lock, creating our directories first — again on every retry, since
/// an uninstall that held the lock may have removed them (and the lock file).
async fn lock_creating(paths: &StorePaths, timeout: Duration) -> Result<lock::StoreLock> {
    lock::acquire_with(&paths.lock_file, lock_wait(timeout), || {
        paths.create_private_dirs()
    })
    .await
}

/// A file we need could not be written (read-only or full disk, permissions): the
/// store cannot start, and the message names the file and the OS's reason.
fn cannot_start(e: StoreError) -> StoreError {
    if e.code != ErrorCode::Io {
        return e;
    }
    StoreError::new(
        ErrorCode::StartFailed,
        format!("the store cannot start: {}", e.message),
    )
}

/// For the watcher: start the store again only if it *died* — its pid file still
/// names `dead_pid` — deciding under the lock, so that a `stop` in progress (which
/// removes the pid file) is never undone. `None` when the store was stopped on purpose.
pub async fn restart_if_died(
    settings: &Settings,
    dead_pid: u32,
) -> Result<Option<QueueStoreStatus>> {
    let paths = StorePaths::new(&settings.data_dir);
    let _lock = lock_creating(&paths, settings.timeout).await?;
    match pidfile::read(&paths.pid_file)? {
        PidFile::Absent => Ok(None),
        PidFile::Valid(r) if r.pid != dead_pid && process::is_alive(r.pid) => {
            // Someone (another watcher, an ensure) already brought it back: adopt.
            ensure_locked(settings, &paths, false).await.map(Some)
        }
        _ => ensure_locked(settings, &paths, false).await.map(Some),
    }
}

async fn ensure_locked(
    settings: &Settings,
    paths: &StorePaths,
    restart: bool,
) -> Result<QueueStoreStatus> {
    let paths = paths.clone();
    let secrets = Secrets::load_or_create(&paths)?;
    let mut notices = Vec::new();

    let mut running = adopt_from_pid_file(&paths, &secrets, settings, &mut notices).await?;
    if running.is_none() {
        running = adopt_orphan(settings, &paths, &secrets, &mut notices).await?;
    }
    // A store this call starts runs the binary it would start: not outdated.
    let mut outdated = Some(false);
    let mut running = match running {
        Some(r) => r,
        None => {
            let last = last_server::read(&paths);
            let chosen = choose_binary(settings, last.as_ref(), true).await?;
            notices.extend(chosen.notice);
            let s = start::start(
                &paths,
                &chosen.binary,
                settings.port,
                &secrets,
                settings.timeout,
                last.as_ref(),
                chosen.sha256.as_deref(),
            )
            .await?;
            last_server::write(&paths, &chosen.binary)?;
            notices.extend(s.load_warnings);
            Running {
                record: s.record,
                client: s.client,
                info: s.info,
                health: None,
                started: true,
                port_moved: s.port_moved,
            }
        }
    };
    if !running.started {
        // Started by an earlier version: one password for everything, until now.
        let gave = login::give_two_users(&mut running.client, &secrets, &running.info)
            .await
            .map_err(|e| not_migrated(&running.record, &e))?;
        if gave {
            connections::forget();
            notices.push(
                "the store, started by an earlier version of claude-mem-store, had one password for \
                 everything; its client password (the one in settings.json) now runs only what BullMQ needs"
                    .to_string(),
            );
        }
        let outcome = upgrade::onto_current_binary(
            settings,
            &paths,
            &secrets,
            running,
            restart,
            &mut notices,
        )
        .await?;
        running = outcome.running;
        outdated = outcome.outdated;
    }
    notices.extend(settings.persist_store(running.record.port, &secrets.client)?);
    let health = match running.health.take() {
        Some(h) => *h,
        None => checks(&mut running.client, running.record.port, &secrets, settings)
            .await
            .map_err(|e| unanswered(&running.record, &e))?,
    };
    if let Some(bad) = health.checks.iter().find(|c| !c.ok && c.code.is_some()) {
        return Err(StoreError::new(
            code_of(bad.code),
            format!(
                "the store is running but its {} check failed: {}",
                bad.name, bad.detail
            ),
        ));
    }
    let status = running_status(
        settings,
        &paths,
        &secrets,
        &running.record,
        &running.info,
        Some(health),
    )
    .with_outdated(outdated);
    Ok(status.after_ensure(running.started, running.port_moved, notices))
}

/// The binary to start (preferring the one that last ran the data), its sha256,
/// and a notice when a newer one was passed over. On tokio's blocking pool: a
/// binary not in the cache is asked for `--version` (and hashed), which must not
/// stall the runtime's one worker. What was learned is saved in the binary cache
/// only if `save` (status writes nothing).
async fn choose_binary(
    settings: &Settings,
    last: Option<&LastServer>,
    save: bool,
) -> Result<search::Choice> {
    let path_var = std::env::var_os("PATH");
    let explicit = settings.binary.clone();
    let remembered = last
        .and_then(|l| last_server::still_installed(l).map(|p| (PathBuf::from(p), l.was_bundled())));
    let data_dir = settings.data_dir.clone();
    off_worker(move || {
        let mut cache = if save {
            BinaryCache::for_data_dir(&data_dir)
        } else {
            BinaryCache::read_only(&data_dir)
        };
        let chosen = search::choose(
            &mut cache,
            explicit.as_deref(),
            remembered
                .as_ref()
                .map(|(path, bundled)| search::Remembered {
                    path,
                    bundled: *bundled,
                }),
            &data_dir,
            path_var.as_deref(),
        );
        cache.save();
        chosen
    })
    .await
}

fn unanswered(record: &PidRecord, e: &ClientError) -> StoreError {
    StoreError::new(
        e.code(),
        format!(
            "the store (pid {}) on port {} did not answer: {e}. It may be stopped (kill -CONT {}) or overloaded; \
             stopQueueStore() (or `npx claude-mem-store down`) stops it.",
            record.pid, record.port, record.pid
        ),
    )
}

/// A store that has one password for everything but could not be given its two
/// users: most likely its admin password was refused (redis/admin-secret changed
/// while it ran), so the client password, now restricted, cannot do it either.
fn not_migrated(record: &PidRecord, e: &ClientError) -> StoreError {
    StoreError::new(
        ErrorCode::NotOwned,
        format!(
            "the store (pid {}) on port {} refused the addon's admin password, and its client password \
             could not set up the admin user ({e}). Run `npx claude-mem-store down --force` and start it \
             again: the new server reads both passwords from its config file.",
            record.pid, record.port
        ),
    )
}

fn code_of(code: Option<&'static str>) -> ErrorCode {
    code.and_then(ErrorCode::from_code)
        .unwrap_or(ErrorCode::StartFailed)
}
