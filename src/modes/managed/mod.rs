//! The managed store: a private Valkey/Redis sidecar under `<dataDir>/redis`,
//! started, adopted, checked and stopped only by claude-mem (design.md, "Managed
//! sidecar rules").

mod connections;
pub mod ownership;
pub mod start;
pub mod stop;
pub mod watch;

use std::path::PathBuf;
use std::time::Duration;

use crate::blocking::off_worker;
use crate::checks::client::{Client, ClientError};
use crate::checks::health;
use crate::checks::probe;
use crate::checks::report::{Check, ConnectionOptions, endpoint_urls};
use crate::checks::server_info::ServerInfo;
use crate::checks::smoke::Target;
use crate::error::{ErrorCode, Result, StoreError};
use crate::lock;
use crate::modes::status::{
    PortMove, QueueStoreStatus, ServerDescription, StatusPaths, StopResult,
};
use crate::server::binaries;
use crate::server::binary::ServerBinary;
use crate::server::last_server::{self, LastServer};
use crate::server::pidfile::{self, PidFile, PidRecord};
use crate::server::process;
use crate::settings::Settings;
use crate::settings::paths::StorePaths;
use crate::settings::secret;
use ownership::{Verdict, find_orphan, loopback, verify, verify_and_check};

/// How long an orphan probe may take: it only ever talks to loopback.
const ORPHAN_PROBE: Duration = Duration::from_millis(500);

/// Waiting for the lock may take as long as another caller's whole start.
pub(crate) fn lock_wait(timeout: Duration) -> Duration {
    timeout * 2 + Duration::from_secs(1)
}

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

pub async fn ensure(settings: &Settings) -> Result<QueueStoreStatus> {
    process::reap_exited_children();
    let paths = StorePaths::new(&settings.data_dir);
    let result = async {
        let _lock = lock_creating(&paths, settings.timeout).await?;
        ensure_locked(settings, &paths).await
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
            ensure_locked(settings, &paths).await.map(Some)
        }
        _ => ensure_locked(settings, &paths).await.map(Some),
    }
}

async fn ensure_locked(settings: &Settings, paths: &StorePaths) -> Result<QueueStoreStatus> {
    let paths = paths.clone();
    let secret = secret::load_or_create(&paths.secret_file)?;
    let mut notices = Vec::new();

    let mut running = adopt_from_pid_file(&paths, &secret, settings, &mut notices).await?;
    if running.is_none() {
        running = adopt_orphan(settings, &paths, &secret, &mut notices).await?;
    }
    let mut running = match running {
        Some(r) => r,
        None => {
            let last = last_server::read(&paths);
            let (binary, passed_over) = choose_binary(settings, last.as_ref()).await?;
            notices.extend(passed_over);
            let s = start::start(
                &paths,
                &binary,
                settings.port,
                &secret,
                settings.timeout,
                last.as_ref(),
            )
            .await?;
            last_server::write(&paths, &binary)?;
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
    notices.extend(settings.persist_store(running.record.port, &secret)?);
    let health = match running.health.take() {
        Some(h) => *h,
        None => checks(&mut running.client, running.record.port, &secret, settings)
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
        &secret,
        &running.record,
        &running.info,
        Some(health),
    );
    Ok(status.after_ensure(running.started, running.port_moved, notices))
}

/// Adopts the server our pid file names if it is ours; clears the file away when
/// it is stale or names someone else's process.
async fn adopt_from_pid_file(
    paths: &StorePaths,
    secret: &str,
    settings: &Settings,
    notices: &mut Vec<String>,
) -> Result<Option<Running>> {
    let record = match pidfile::read(&paths.pid_file)? {
        PidFile::Absent => return Ok(None),
        PidFile::Invalid(why) => {
            let aside = pidfile::set_aside(&paths.pid_file)?;
            notices.push(format!("{why}; it was moved to {}", aside.display()));
            return Ok(None);
        }
        PidFile::Valid(record) => record,
    };
    match verify_and_check(&record, secret, settings).await {
        Verdict::Owned {
            client,
            info,
            health,
        } => Ok(Some(Running {
            record,
            client: *client,
            info,
            health,
            started: false,
            port_moved: None,
        })),
        Verdict::Exited => {
            pidfile::remove(&paths.pid_file)?;
            notices.push(format!(
                "the store (pid {}) had exited without being stopped; it was started again with its data",
                record.pid
            ));
            Ok(None)
        }
        Verdict::Recycled => {
            let aside = pidfile::set_aside(&paths.pid_file)?;
            notices.push(format!(
                "pid {} from the pid file now belongs to another program, which was left alone; the file was moved to {}",
                record.pid,
                aside.display()
            ));
            Ok(None)
        }
        Verdict::Unresponsive(e) => Err(unanswered(&record, &e)),
        Verdict::Foreign(detail) => Err(StoreError::new(
            ErrorCode::NotOwned,
            format!(
                "the store's process (pid {}) is alive but could not be verified: {detail}. \
                 Run stopQueueStore() (or `npx claude-mem-store down`) and try again.",
                record.pid
            ),
        )),
    }
}

/// A server of ours still answering on the persisted port though its pid file is
/// gone: adopt it (write a new pid file) rather than start a second one.
async fn adopt_orphan(
    settings: &Settings,
    paths: &StorePaths,
    secret: &str,
    notices: &mut Vec<String>,
) -> Result<Option<Running>> {
    let Some(port) = settings.port.map(|p| p.port) else {
        return Ok(None);
    };
    let Some((pid, client, info)) =
        find_orphan(port, secret, &paths.config_file, ORPHAN_PROBE).await
    else {
        return Ok(None);
    };
    let Some(start_token) = process::start_token(pid) else {
        return Ok(None);
    };
    let record = PidRecord {
        pid,
        port,
        started_at: process::now_millis(),
        start_token,
        run_id: info.run_id.clone(),
        binary: PathBuf::from(info.executable.clone()),
        version: info.version.clone(),
        log_file: None,
    };
    pidfile::write(&paths.pid_file, &record)?;
    notices.push(format!(
        "the store (pid {pid}) was running without a pid file; it was adopted and a new pid file written"
    ));
    Ok(Some(Running {
        record,
        client,
        info,
        health: None,
        started: false,
        port_moved: None,
    }))
}

/// The binary to start (preferring the one that last ran the data) and a notice
/// when a newer one was passed over. On tokio's blocking pool: a binary not in the
/// cache is asked for `--version`, which must not stall the runtime's one worker.
async fn choose_binary(
    settings: &Settings,
    last: Option<&LastServer>,
) -> Result<(ServerBinary, Option<String>)> {
    let path_var = std::env::var_os("PATH");
    let explicit = settings.binary.clone();
    let preferred = last
        .and_then(last_server::still_installed)
        .map(PathBuf::from);
    let data_dir = settings.data_dir.clone();
    off_worker(move || {
        binaries::choose(
            explicit.as_deref(),
            preferred.as_deref(),
            &data_dir,
            path_var.as_deref(),
        )
    })
    .await
}

pub async fn status(settings: &Settings) -> Result<QueueStoreStatus> {
    process::reap_exited_children();
    let paths = StorePaths::new(&settings.data_dir);
    let not_running = |checks: Vec<Check>| QueueStoreStatus {
        checks,
        ..stopped_status(settings, &paths)
    };
    // Without a secret nothing of ours can answer; the pid file is still checked so
    // that a stale or foreign one is reported.
    let secret = secret::load(&paths.secret_file)?.unwrap_or_default();
    let record = match pidfile::read(&paths.pid_file)? {
        PidFile::Valid(record) => record,
        PidFile::Invalid(why) => {
            return Ok(not_running(vec![Check::warn(
                "process",
                format!("{why}; the next ensure sets it aside"),
            )]));
        }
        PidFile::Absent => {
            let orphan = match settings.port {
                Some(p) if !secret.is_empty() => {
                    find_orphan(p.port, &secret, &paths.config_file, ORPHAN_PROBE).await
                }
                _ => None,
            };
            let Some((pid, mut client, info)) = orphan else {
                return Ok(not_running(vec![Check::warn(
                    "process",
                    "the managed store is not running",
                )]));
            };
            let record = PidRecord {
                pid,
                port: settings.port.map_or(0, |p| p.port),
                started_at: 0,
                start_token: String::new(),
                run_id: info.run_id.clone(),
                binary: PathBuf::from(&info.executable),
                version: info.version.clone(),
                log_file: None,
            };
            let health = checks(&mut client, record.port, &secret, settings)
                .await
                .ok();
            let mut status = running_status(settings, &paths, &secret, &record, &info, health);
            status.notices.push(format!(
                "pid {pid} serves this store but its pid file is missing; the next ensure adopts it"
            ));
            return Ok(status);
        }
    };
    match verify_and_check(&record, &secret, settings).await {
        Verdict::Owned {
            mut client,
            info,
            health,
        } => {
            let health = match health {
                Some(h) => *h,
                None => checks(&mut client, record.port, &secret, settings)
                    .await
                    .map_err(|e| unanswered(&record, &e))?,
            };
            Ok(running_status(
                settings,
                &paths,
                &secret,
                &record,
                &info,
                Some(health),
            ))
        }
        Verdict::Exited => Ok(not_running(vec![Check::warn(
            "process",
            format!(
                "the store (pid {}) has exited; the next ensure starts it again with its data",
                record.pid
            ),
        )])),
        Verdict::Recycled => Ok(not_running(vec![Check::fail(
            "process",
            ErrorCode::NotOwned,
            format!(
                "pid {} now belongs to another program; the pid file is stale and will be set aside",
                record.pid
            ),
        )])),
        Verdict::Foreign(detail) => Ok(not_running(vec![Check::fail(
            "process",
            ErrorCode::NotOwned,
            detail,
        )])),
        Verdict::Unresponsive(e) => Err(unanswered(&record, &e)),
    }
}

pub async fn stop(settings: &Settings) -> Result<StopResult> {
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
    stop_locked(settings, &paths).await
}

/// [`stop`] for a caller that already holds the store lock (uninstall, which must
/// not let an ensure start a server between stopping and removing its files).
pub async fn stop_locked(settings: &Settings, paths: &StorePaths) -> Result<StopResult> {
    let nothing = StopResult::nothing;
    let secret = secret::load(&paths.secret_file)?.unwrap_or_default();
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
                Some(p) if !secret.is_empty() => {
                    find_orphan(p.port, &secret, &paths.config_file, ORPHAN_PROBE).await
                }
                _ => None,
            };
            let Some((pid, mut client, _)) = orphan else {
                return Ok(nothing("the managed store is not running".into()));
            };
            let method = stop::stop_process(pid, Some(&mut client), settings.timeout).await?;
            return Ok(StopResult {
                stopped: true,
                was_running: true,
                pid: Some(pid),
                method: Some(method),
                code: None,
                message: format!("stopped the store (pid {pid}), which had no pid file"),
                stale_pid_file: None,
            });
        }
    };
    let pid = record.pid;
    let mut client = match verify(
        &record,
        &secret,
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
    let method = stop::stop_process(pid, client.as_deref_mut(), settings.timeout).await?;
    pidfile::remove(&paths.pid_file)?;
    Ok(StopResult {
        stopped: true,
        was_running: true,
        pid: Some(pid),
        method: Some(method),
        code: None,
        message: format!("stopped the store (pid {pid}) on port {}", record.port),
        stale_pid_file: None,
    })
}

/// The same checks `probeRedisUrl` runs, the BullMQ smoke test included, in the
/// queue prefix's namespace.
/// The full health probe (smoke test included) of a store we run on loopback:
/// the managed sidecar and the Docker container alike.
pub(crate) async fn checks(
    client: &mut Client,
    port: u16,
    secret: &str,
    settings: &Settings,
) -> std::result::Result<health::Health, ClientError> {
    let endpoint = loopback(port, secret);
    let target = Target {
        endpoint: &endpoint,
        ca_pem: None,
    };
    let deadline = std::time::Instant::now() + settings.timeout;
    probe::own_store_checks(client, &target, &settings.prefix, deadline).await
}

/// Connects to our store on `port` and runs its checks. The connection of the last
/// call is reused while it works (`connections`); a new one authenticates while
/// connecting, so nothing is sent to a server that refuses our password.
pub(crate) async fn connect_and_check(
    port: u16,
    secret: &str,
    settings: &Settings,
) -> std::result::Result<(Client, health::Health), ClientError> {
    let started = std::time::Instant::now();
    if let Some(mut client) = connections::take(port, secret) {
        match checks(&mut client, port, secret, settings).await {
            Ok(health) => {
                connections::keep(port, secret, &client);
                return Ok((client, health));
            }
            // Hung, not gone: a new connection would only wait as long again.
            Err(ClientError::Timeout) => return Err(ClientError::Timeout),
            // Closed (the store was restarted or stopped): connect afresh below.
            Err(_) => {}
        }
    }
    let left = |settings: &Settings| settings.timeout.saturating_sub(started.elapsed());
    let mut client = Client::connect(&loopback(port, secret), left(settings)).await?;
    let settings = Settings {
        timeout: left(settings),
        ..settings.clone()
    };
    let health = checks(&mut client, port, secret, &settings).await?;
    connections::keep(port, secret, &client);
    Ok((client, health))
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

fn code_of(code: Option<&'static str>) -> ErrorCode {
    code.and_then(ErrorCode::from_code)
        .unwrap_or(ErrorCode::StartFailed)
}

fn stopped_status(settings: &Settings, paths: &StorePaths) -> QueueStoreStatus {
    QueueStoreStatus {
        mode: settings.mode.as_str(),
        running: false,
        owned: false,
        started: None,
        pid: None,
        url: None,
        redacted_url: None,
        connection: None,
        server: None,
        persistence: None,
        policy: None,
        paths: StatusPaths::new(paths, None),
        checks: Vec::new(),
        port_moved: None,
        notices: Vec::new(),
        container: None,
        address_from: None,
    }
}

fn running_status(
    settings: &Settings,
    paths: &StorePaths,
    secret: &str,
    record: &PidRecord,
    info: &ServerInfo,
    health: Option<health::Health>,
) -> QueueStoreStatus {
    let endpoint = loopback(record.port, secret);
    let (url, redacted) = endpoint_urls(&endpoint);
    let (checks, persistence, policy) = match health {
        Some(h) => (h.checks, h.persistence, h.policy),
        None => (Vec::new(), None, None),
    };
    QueueStoreStatus {
        running: true,
        owned: true,
        pid: Some(record.pid),
        url: Some(url),
        redacted_url: Some(redacted),
        connection: Some(ConnectionOptions::from_endpoint(&endpoint)),
        server: Some(ServerDescription {
            flavor: info.flavor,
            version: info.version.clone(),
            binary: Some(record.binary.display().to_string()).filter(|b| !b.is_empty()),
            bundled: crate::server::bundled::location().is_some_and(|b| b == record.binary),
        }),
        persistence,
        policy,
        paths: StatusPaths::new(paths, record.log_file.as_deref()),
        checks,
        ..stopped_status(settings, paths)
    }
}
