//! Is the server named by the pid file ours? Only if its pid is alive, its start
//! token matches (so a recycled pid is never mistaken for ours), **and** the
//! server on our port answers `INFO` with that pid (and the recorded `run_id`).

use std::path::Path;
use std::time::Duration;

use crate::checks::client::{Client, ClientError};
use crate::checks::health::Health;
use crate::checks::server_info::ServerInfo;
use crate::files::same_file;
use crate::modes::own_store::health;
use crate::modes::own_store::info::connect_and_server_info;
use crate::server::pidfile::PidRecord;
use crate::server::process;
use crate::settings::Settings;
use crate::settings::secret::Secrets;

pub enum Verdict {
    /// Ours and answering; the connection is kept for the health checks.
    Owned {
        client: Box<Client>,
        info: ServerInfo,
        /// The health probe's result, when verified through it (`verify_and_check`).
        health: Option<Box<Health>>,
    },
    /// The pid is gone: the server exited or was killed.
    Exited,
    /// The pid is alive but started at another time: a different program now has
    /// that pid. It must never be signalled.
    Recycled,
    /// Our process (pid and start token match) but its port does not answer in time
    /// (stopped with SIGSTOP, overloaded, or still opening its port).
    Unresponsive(ClientError),
    /// Our pid is alive, but whatever answers on the recorded port is another server.
    Foreign(String),
}

pub async fn verify(record: &PidRecord, secrets: &Secrets, timeout: Duration) -> Verdict {
    verify_as(record, secrets, timeout, None).await
}

/// `verify`, learning who answers from the full health probe rather than from a
/// separate `INFO server` (its INFO carries the same pid and run_id): one round trip
/// less for ensure and status, which need the probe anyway. An owned verdict then
/// carries the health.
pub async fn verify_and_check(
    record: &PidRecord,
    secrets: &Secrets,
    settings: &Settings,
) -> Verdict {
    verify_as(record, secrets, settings.timeout, Some(settings)).await
}

async fn verify_as(
    record: &PidRecord,
    secrets: &Secrets,
    timeout: Duration,
    checks_with: Option<&Settings>,
) -> Verdict {
    if !process::is_alive(record.pid) {
        return Verdict::Exited;
    }
    if process::start_token(record.pid).as_deref() != Some(record.start_token.as_str()) {
        return Verdict::Recycled;
    }
    let answered = match checks_with {
        None => connect_and_server_info(record.port, secrets, timeout)
            .await
            .map(|(client, info)| (client, info, None)),
        Some(settings) => health::connect_and_check(record.port, secrets, settings)
            .await
            .map(|(client, health)| (client, health.info.clone(), Some(Box::new(health)))),
    };
    match answered {
        Ok((client, info, health)) => {
            if info.process_id != Some(record.pid) {
                Verdict::Foreign(format!(
                    "port {} is answered by pid {}, not by our pid {}",
                    record.port,
                    info.process_id.map_or("?".into(), |p| p.to_string()),
                    record.pid
                ))
            } else if !record.run_id.is_empty() && info.run_id != record.run_id {
                Verdict::Foreign(format!(
                    "the server on port {} has run_id {}, not the recorded {}",
                    record.port, info.run_id, record.run_id
                ))
            } else {
                Verdict::Owned {
                    client: Box::new(client),
                    info,
                    health,
                }
            }
        }
        Err(ClientError::Auth(e)) => Verdict::Foreign(format!(
            "the server on port {} refuses our password ({e})",
            record.port
        )),
        Err(e) => Verdict::Unresponsive(e),
    }
}

/// A server of ours without a pid file (the file was deleted, or a crash came
/// between spawn and writing it): it answers on our port to our password and runs
/// our config file. Returns its pid, connection and info.
pub async fn find_orphan(
    port: u16,
    secrets: &Secrets,
    config_file: &Path,
    timeout: Duration,
) -> Option<(u32, Client, ServerInfo)> {
    let (client, info) = connect_and_server_info(port, secrets, timeout).await.ok()?;
    let pid = info.process_id?;
    let same_config = same_file(Path::new(&info.config_file), config_file);
    (same_config && process::is_alive(pid)).then_some((pid, client, info))
}
