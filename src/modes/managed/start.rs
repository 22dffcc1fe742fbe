//! Starting the sidecar: pick the port, write the config, spawn, and wait until it
//! is really ready — `loading:0`, then PONG — before anyone is told it is.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::checks::client::{Client, ClientError};
use crate::checks::server_info::ServerInfo;
use crate::error::{ErrorCode, Result, StoreError};
use crate::files::write_replacing_volatile;
use crate::modes::managed::unknown_server;
use crate::modes::managed::unreadable_data;
use crate::modes::own_store::info::connect_and_info;
use crate::modes::own_store::port::{choose_port, is_explicit, port_in_use};
use crate::modes::results::PortMove;
use crate::server::binary::ServerBinary;
use crate::server::config::{ServerConfig, ipv6_loopback_available};
use crate::server::flavor::Flavor;
use crate::server::last_server::LastServer;
use crate::server::pidfile::{self, PidRecord};
use crate::server::port;
use crate::server::process::{self, Signal};
use crate::settings::PortSetting;
use crate::settings::paths::{StorePaths, local_date_today};
use crate::settings::secret::Secrets;

/// Another program can grab a port between our check and the server's bind; we
/// then try another port, a few times.
const PORT_RACE_RETRIES: usize = 3;

pub struct Started {
    pub record: PidRecord,
    pub client: Client,
    pub info: ServerInfo,
    pub port_moved: Option<PortMove>,
    pub log_file: std::path::PathBuf,
    /// What the server said about its data while loading it (e.g. a truncated AOF).
    pub load_warnings: Vec<String>,
}

pub async fn start(
    paths: &StorePaths,
    binary: &ServerBinary,
    port_setting: Option<PortSetting>,
    secrets: &Secrets,
    timeout: Duration,
    data_written_by: Option<&LastServer>,
    binary_sha256: Option<&str>,
) -> Result<Started> {
    unreadable_data::check_before_start(paths, binary, data_written_by)?;
    let unknown = binary.flavor == Flavor::Unknown;
    let first_start = unknown_server::first_start(paths, binary, data_written_by);
    let deadline = Instant::now() + timeout;
    let mut avoid: Vec<u16> = Vec::new();
    let mut port_moved: Option<PortMove> = None;
    let ipv6 = ipv6_loopback_available();
    for _ in 0..PORT_RACE_RETRIES {
        let (port, moved) = choose_port(port_setting, &paths.data_dir, &avoid)?;
        if port_moved.is_none() {
            port_moved = moved;
        }
        let config = ServerConfig {
            port,
            ipv6,
            data_dir: &paths.server_data_dir,
            secrets,
            flavor: binary.flavor,
            version: &binary.version,
        }
        .render()?;
        // Rewritten at every start, so it need not survive a machine crash: no fsync.
        write_replacing_volatile(&paths.config_file, config.as_bytes(), Some(0o600))?;
        let log_file = paths.log_file(&local_date_today());
        let log_start = std::fs::metadata(&log_file).map(|m| m.len()).unwrap_or(0);
        let pid = process::spawn_server(&binary.path, &paths.config_file, &log_file)?;
        let record = PidRecord {
            pid,
            port,
            started_at: process::now_millis(),
            start_token: process::start_token(pid).unwrap_or_default(),
            run_id: String::new(),
            binary: binary.path.clone(),
            version: binary.version.clone(),
            log_file: Some(log_file.clone()),
            sha256: binary_sha256.map(str::to_string),
        };
        // Written before waiting, so that even if we are killed mid-start the server
        // can be found and stopped. `run_id` is filled in once it answers.
        if !record.start_token.is_empty() {
            pidfile::write(&paths.pid_file, &record)?;
        }
        match wait_ready(pid, port, secrets, deadline, &log_file, log_start, unknown).await {
            Ok((mut client, info)) => {
                if unknown
                    && let Err(refused) = unknown_server::vet(&mut client, binary, deadline).await
                {
                    // Ours, just started: stopped by its pid. The pid file stays only if
                    // it would not stop, so that a stop can still find it.
                    let stopped = super::stop::stop_process(pid, None, Duration::from_secs(10));
                    if stopped.await.is_ok() {
                        pidfile::remove(&paths.pid_file)?;
                        unknown_server::undo(paths, first_start.as_ref());
                    }
                    return Err(refused);
                }
                let record = PidRecord {
                    run_id: info.run_id.clone(),
                    start_token: if record.start_token.is_empty() {
                        process::start_token(pid).unwrap_or_default()
                    } else {
                        record.start_token
                    },
                    ..record
                };
                pidfile::write(&paths.pid_file, &record)?;
                if let Some(moved) = port_moved.as_mut() {
                    moved.to = port;
                }
                let load_warnings = load_warnings(&log_since(&log_file, log_start));
                return Ok(Started {
                    record,
                    client,
                    info,
                    port_moved,
                    log_file,
                    load_warnings,
                });
            }
            Err(failure) => {
                pidfile::remove(&paths.pid_file)?;
                match failure {
                    Failure::PortTaken if !is_explicit(port_setting) => {
                        avoid.push(port);
                        continue;
                    }
                    Failure::PortTaken => {
                        return Err(port_in_use(port, port_setting, &port::port_holder(port)));
                    }
                    Failure::Exited(tail) => {
                        if let Some(e) =
                            unreadable_data::explain_exit(paths, binary, data_written_by, &tail)
                        {
                            return Err(e);
                        }
                        if first_start.is_some() {
                            unknown_server::undo(paths, first_start.as_ref());
                            return Err(unknown_server::exited(binary, &log_file, &tail));
                        }
                        return Err(StoreError::new(
                            ErrorCode::StartFailed,
                            format!(
                                "{} exited while starting. Last lines of {}:\n{tail}",
                                binary.path.display(),
                                log_file.display()
                            ),
                        ));
                    }
                    Failure::TimedOut(tail) => {
                        // Ours, just spawned: safe to kill.
                        process::signal(pid, Signal::Kill);
                        super::stop::wait_exit(pid, Duration::from_secs(2)).await;
                        if first_start.is_some() {
                            unknown_server::undo(paths, first_start.as_ref());
                            return Err(unknown_server::never_answered(
                                binary, timeout, &log_file, &tail,
                            ));
                        }
                        return Err(StoreError::new(
                            ErrorCode::Timeout,
                            format!(
                                "the store did not become ready within {} ms (loading a large AOF can take longer; \
                                 pass a larger timeoutMs). Last lines of {}:\n{tail}",
                                timeout.as_millis(),
                                log_file.display()
                            ),
                        ));
                    }
                }
            }
        }
    }
    Err(StoreError::new(
        ErrorCode::PortInUse,
        format!("other programs took ports {avoid:?} while the store was starting. Try again."),
    ))
}

enum Failure {
    PortTaken,
    Exited(String),
    TimedOut(String),
}

/// Polls until the spawned server answers PONG after loading its data. The port
/// opens before the AOF is loaded, so an open port alone proves nothing. The server
/// must give our pid in INFO; one we do not know by name (`unknown`) may give none,
/// as it already proved to be ours by accepting the store's admin password.
async fn wait_ready(
    pid: u32,
    port: u16,
    secrets: &Secrets,
    deadline: Instant,
    log: &Path,
    log_start: u64,
    unknown: bool,
) -> std::result::Result<(Client, ServerInfo), Failure> {
    let started = Instant::now();
    let mut pause = Duration::from_micros(250);
    loop {
        if !process::is_alive(pid) {
            // This start's own lines: the day's log also holds earlier servers' lines.
            let tail = last_lines(&log_since(log, log_start));
            return Err(if tail.contains("Address already in use") {
                Failure::PortTaken
            } else {
                Failure::Exited(tail)
            });
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Failure::TimedOut(last_lines(&log_since(log, log_start))));
        }
        let attempt = (deadline - now).min(Duration::from_secs(1));
        match connect_and_info(port, secrets, attempt).await {
            Ok((mut client, info))
                if (info.process_id == Some(pid) || unknown && info.process_id.is_none())
                    && !info.loading =>
            {
                let pong: std::result::Result<String, _> = client.query(&redis::cmd("PING")).await;
                match pong {
                    Ok(p) if p == "PONG" => return Ok((client, info)),
                    Ok(_) | Err(ClientError::Loading) => {}
                    Err(_) => {}
                }
            }
            // Still loading, or another program answers there (then our server fails
            // to bind and exits, which the next round sees).
            Ok(_) => {}
            Err(_) => {}
        }
        tokio::time::sleep(pause).await;
        // A server usually answers within ~10 ms: poll finely at first so that we
        // notice within a fraction of a millisecond, then back off for slow loads.
        if started.elapsed() > Duration::from_millis(200) {
            pause = Duration::from_millis(10);
        }
    }
}

/// What this start wrote to the log (everything after `offset`), at most 64 KiB.
fn log_since(log: &Path, offset: u64) -> String {
    let Ok(mut f) = std::fs::File::open(log) else {
        return String::new();
    };
    if f.seek(SeekFrom::Start(offset)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.take(64 * 1024).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Turns the server's own words about damaged data into notices for the user. With
/// `aof-load-truncated yes` a crash that cut the AOF's last record short costs only
/// that record; the server says so, and so do we.
pub fn load_warnings(log: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if log.contains("short read while loading the AOF")
        || log.contains("AOF loaded anyway because aof-load-truncated")
    {
        let offset = log
            .lines()
            .find_map(|l| l.split("Truncating the AOF").nth(1))
            .and_then(|rest| rest.split_whitespace().find_map(|w| w.parse::<u64>().ok()));
        warnings.push(match offset {
            Some(at) => format!(
                "the AOF ended in the middle of a record (a crash cut its last write short); \
                 the server kept every complete record and cut the file at byte {at}"
            ),
            None => "the AOF ended in the middle of a record (a crash cut its last write short); \
                 the server kept every complete record and dropped the partial one"
                .to_string(),
        });
    }
    warnings
}

/// The last 15 non-empty lines of `text`.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return "(no log written)".into();
    }
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
#[path = "start_tests.rs"]
mod tests;
