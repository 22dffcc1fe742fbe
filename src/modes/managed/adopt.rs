//! Adopting a server of ours that is already running: the one the pid file names
//! (if it proves to be ours), or one still serving the persisted port without a
//! pid file (an orphan), which gets a new pid file rather than a second server.

use std::path::PathBuf;

use super::ownership::{Verdict, find_orphan, verify_and_check};
use crate::error::{ErrorCode, Result, StoreError};
use crate::server::pidfile::{self, PidFile, PidRecord};
use crate::server::process;
use crate::settings::Settings;
use crate::settings::paths::StorePaths;
use crate::settings::secret::Secrets;

use super::{ORPHAN_PROBE, Running, unanswered};

/// Adopts the server our pid file names if it is ours; clears the file away when
/// it is stale or names someone else's process.
pub(super) async fn adopt_from_pid_file(
    paths: &StorePaths,
    secrets: &Secrets,
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
    match verify_and_check(&record, secrets, settings).await {
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
pub(super) async fn adopt_orphan(
    settings: &Settings,
    paths: &StorePaths,
    secrets: &Secrets,
    notices: &mut Vec<String>,
) -> Result<Option<Running>> {
    let Some(port) = settings.port.map(|p| p.port) else {
        return Ok(None);
    };
    let Some((pid, client, info)) =
        find_orphan(port, secrets, &paths.config_file, ORPHAN_PROBE).await
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
        sha256: None,
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
