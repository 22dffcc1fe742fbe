//! `queueStoreStatus` for the managed store: never starts, stops or writes
//! anything; reports whether our server runs, whether it is ours, and its checks.

use std::path::PathBuf;

use super::ownership::{Verdict, find_orphan, verify_and_check};
use crate::checks::health;
use crate::checks::report::{Check, ConnectionOptions, endpoint_urls};
use crate::checks::server_info::ServerInfo;
use crate::error::{ErrorCode, Result};
use crate::modes::own_store::login::client_endpoint;
use crate::modes::results::{QueueStoreStatus, ServerDescription, StatusPaths};
use crate::server::flavor::Flavor;
use crate::server::last_server;
use crate::server::pidfile::{self, PidFile, PidRecord};
use crate::server::process;
use crate::settings::Settings;
use crate::settings::paths::StorePaths;
use crate::settings::secret::Secrets;

use super::upgrade::outdated_for_status;
use super::{ORPHAN_PROBE, unanswered};
use crate::modes::own_store::health::checks;

pub async fn status(settings: &Settings) -> Result<QueueStoreStatus> {
    process::reap_exited_children();
    let paths = StorePaths::new(&settings.data_dir);
    let not_running = |checks: Vec<Check>| QueueStoreStatus {
        checks,
        ..stopped_status(settings, &paths)
    };
    // Without a secret nothing of ours can answer; the pid file is still checked so
    // that a stale or foreign one is reported.
    let secrets = Secrets::load(&paths)?.unwrap_or_default();
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
                Some(p) if !secrets.client.is_empty() => {
                    find_orphan(p.port, &secrets, &paths.config_file, ORPHAN_PROBE).await
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
                sha256: None,
            };
            let health = checks(&mut client, record.port, &secrets, settings)
                .await
                .ok();
            let mut status = running_status(settings, &paths, &secrets, &record, &info, health);
            status.notices.push(format!(
                "pid {pid} serves this store but its pid file is missing; the next ensure adopts it"
            ));
            return Ok(with_binary_check(status, settings, &paths, &record, &info).await);
        }
    };
    match verify_and_check(&record, &secrets, settings).await {
        Verdict::Owned {
            mut client,
            info,
            health,
        } => {
            let health = match health {
                Some(h) => *h,
                None => checks(&mut client, record.port, &secrets, settings)
                    .await
                    .map_err(|e| unanswered(&record, &e))?,
            };
            let status = running_status(settings, &paths, &secrets, &record, &info, Some(health));
            Ok(with_binary_check(status, settings, &paths, &record, &info).await)
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

/// `server.outdated`, and the notice when it is: whether the running server is the
/// one ensure would start now (`upgrade`).
async fn with_binary_check(
    mut status: QueueStoreStatus,
    settings: &Settings,
    paths: &StorePaths,
    record: &PidRecord,
    info: &ServerInfo,
) -> QueueStoreStatus {
    let Some((outdated, notice)) = outdated_for_status(settings, paths, record, info).await else {
        return status;
    };
    status.notices.extend(notice);
    status.with_outdated(Some(outdated))
}

pub(super) fn stopped_status(settings: &Settings, paths: &StorePaths) -> QueueStoreStatus {
    QueueStoreStatus::not_running(settings.mode, StatusPaths::new(paths, None))
}

pub(super) fn running_status(
    settings: &Settings,
    paths: &StorePaths,
    secrets: &Secrets,
    record: &PidRecord,
    info: &ServerInfo,
    health: Option<health::Health>,
) -> QueueStoreStatus {
    let endpoint = client_endpoint(record.port, &secrets.client);
    let (url, redacted) = endpoint_urls(&endpoint);
    let (checks, persistence, policy, clients) = match health {
        Some(h) => (h.checks, h.persistence, h.policy, h.other_clients),
        None => (Vec::new(), None, None, None),
    };
    QueueStoreStatus {
        running: true,
        owned: true,
        clients,
        pid: Some(record.pid),
        url: Some(url),
        redacted_url: Some(redacted),
        connection: Some(ConnectionOptions::from_endpoint(&endpoint)),
        server: Some(describe_server(paths, record, info)),
        persistence,
        policy,
        paths: StatusPaths::new(paths, record.log_file.as_deref()),
        checks,
        ..stopped_status(settings, paths)
    }
}

/// The running server as its INFO says, unless it runs a binary that named itself
/// as a server we do not know by name: KeyDB's INFO says only `redis_version`, its
/// `--version` (kept in the record of the last server) says KeyDB.
fn describe_server(paths: &StorePaths, record: &PidRecord, info: &ServerInfo) -> ServerDescription {
    let mut server = ServerDescription {
        flavor: info.flavor,
        version: info.version.clone(),
        name: info.name.clone(),
        binary: Some(record.binary.display().to_string()).filter(|b| !b.is_empty()),
        bundled: crate::server::binary::bundled::location().is_some_and(|b| b == record.binary),
        outdated: None,
    };
    // Only a server that reads as Redis or as unknown can be one (a file read saved
    // on every Valkey store's status).
    if matches!(info.flavor, Flavor::Redis | Flavor::Unknown)
        && let Some(last) = last_server::read(paths)
        && last.flavor == Flavor::Unknown
        && last.binary == record.binary
    {
        server.flavor = Flavor::Unknown;
        server.name = last.name;
        server.version = last.version;
    }
    server
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::server_info::parse_info;
    use crate::server::binary::{BinarySource, ServerBinary};

    #[test]
    fn a_server_named_by_its_version_line_keeps_that_name_in_the_status() {
        let dir = std::env::temp_dir().join(format!("cms-describe-{}", std::process::id()));
        let paths = StorePaths::new(&dir);
        std::fs::create_dir_all(&paths.server_data_dir).unwrap();
        let keydb = ServerBinary {
            path: PathBuf::from("/opt/keydb/bin/keydb-server"),
            flavor: Flavor::Unknown,
            version: "6.3.4".into(),
            source: BinarySource::Option,
            name: Some("KeyDB".into()),
        };
        last_server::write(&paths, &keydb).unwrap();
        let record = PidRecord {
            pid: 1,
            port: 1,
            started_at: 0,
            start_token: String::new(),
            run_id: String::new(),
            binary: keydb.path.clone(),
            version: "6.3.4".into(),
            log_file: None,
            sha256: None,
        };
        // KeyDB's INFO: redis_version only.
        let info = ServerInfo::from_info(&parse_info("redis_version:6.3.4\r\n"));
        let server = describe_server(&paths, &record, &info);
        assert_eq!(
            (
                server.flavor,
                server.name.as_deref(),
                server.version.as_str()
            ),
            (Flavor::Unknown, Some("KeyDB"), "6.3.4")
        );
        // Another binary than the recorded one: INFO's word stands.
        let other = PidRecord {
            binary: PathBuf::from("/usr/bin/redis-server"),
            ..record
        };
        let server = describe_server(&paths, &other, &info);
        assert_eq!((server.flavor, server.name), (Flavor::Redis, None));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
