//! Upgrades reach running stores. A store outlives the package that started it:
//! after an upgrade (a new bundled build, a new system server, another `binary`)
//! it keeps running the old binary until someone restarts it. So status says when
//! the running server is not the one ensure would start now (`server.outdated`,
//! and a notice), and ensure moves the store onto it — stopped as `stop` does
//! (`SHUTDOWN`, which flushes the AOF), started again on the same port with the
//! same data dir and passwords, so that claude-mem's URL stays right and queued
//! jobs survive — when no other client is connected, or at once with `restart`.
//!
//! Never onto an older server, nor another kind: data written by a newer server
//! (or another fork) may be unreadable to it.

use std::path::Path;

use super::failed_move;
use super::{Running, choose_binary, start, stop};
use crate::blocking::off_worker;
use crate::error::Result;
use crate::files::same_file;
use crate::modes::own_store::connections;
use crate::server::binary::search::Choice;
use crate::server::binary::{BinarySource, ServerBinary, inspect};
use crate::server::flavor::{Flavor, version_key};
use crate::server::last_server::{self, LastServer};
use crate::server::pidfile::{self, PidRecord};
use crate::settings::paths::StorePaths;
use crate::settings::secret::Secrets;
use crate::settings::{PortSetting, Settings, Source};

/// Whether the server `record` describes is not the binary `next` would start:
/// another sha256; or, where either side has none (a record from before it was
/// kept, an adopted orphan, a file that could not be read), another path or
/// version, or a running image whose file was since replaced (`image_replaced`:
/// the same path now holds another build).
pub fn is_outdated(record: &PidRecord, next: &Choice, image_replaced: bool) -> bool {
    match (record.sha256.as_deref(), next.sha256.as_deref()) {
        (Some(running), Some(would)) => running != would,
        _ => {
            !same_file(&record.binary, &next.binary.path)
                || record.version != next.binary.version
                || image_replaced
        }
    }
}

/// [`is_outdated`] for the live server `record` names.
fn outdated(record: &PidRecord, next: &Choice) -> bool {
    is_outdated(
        record,
        next,
        crate::server::process::executable_replaced(record.pid),
    )
}

/// Why an outdated store is not moved by ensure, whatever the clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotMoved {
    /// The new server is older: it may not read what the running one wrote.
    Older,
    /// Another kind of server (e.g. Redis for Valkey): its data formats differ.
    OtherKind,
}

/// Whether ensure may move a store running `flavor` `version` onto `next`.
pub fn may_move(
    flavor: Flavor,
    version: &str,
    next: &ServerBinary,
) -> std::result::Result<(), NotMoved> {
    if flavor != next.flavor {
        return Err(NotMoved::OtherKind);
    }
    match (version_key(version), version_key(&next.version)) {
        (Some(running), Some(would)) if would >= running => Ok(()),
        _ => Err(NotMoved::Older),
    }
}

/// e.g. `valkey 8.0.1 (/usr/bin/valkey-server, sha256 3f1c2a9b0d4e…)`.
fn describe(flavor: Flavor, version: &str, path: &Path, sha256: Option<&str>) -> String {
    // Chars, not bytes: the pid file is outside input and may hold anything.
    let sha = sha256.map_or(String::new(), |s| {
        format!(", sha256 {}…", s.chars().take(12).collect::<String>())
    });
    format!("{} {version} ({}{sha})", flavor.as_str(), path.display())
}

fn describe_running(running: &Running) -> String {
    describe(
        running.info.flavor,
        &running.info.version,
        &running.record.binary,
        running.record.sha256.as_deref(),
    )
}

fn describe_next(next: &Choice) -> String {
    describe(
        next.binary.flavor,
        &next.binary.version,
        &next.binary.path,
        next.sha256.as_deref(),
    )
}

/// The notice status gives for an outdated store: what runs, what would start,
/// and how to move (or why it will not be moved).
pub fn outdated_notice(running: &str, next: &Choice, refused: Option<NotMoved>) -> String {
    let head = format!(
        "the store runs {running}, not the server ensure would start now: {}",
        describe_next(next)
    );
    match refused {
        None => format!(
            "{head}. `npx claude-mem-store up --restart` (ensureQueueStoreStarted({{ restart: true }})) \
             moves it there now, with its data, port and password; without --restart the next ensure \
             does so once no other client is connected"
        ),
        Some(why) => format!("{head}. {}", not_moved_reason(why)),
    }
}

fn not_moved_reason(why: NotMoved) -> &'static str {
    match why {
        NotMoved::Older => {
            "It is not moved: that server is older than the running one and may not read the data \
             the newer one wrote. Pass the running server as the binary option, or install one at \
             least as new"
        }
        NotMoved::OtherKind => {
            "It is not moved: that is another kind of server, which may not read this data. To \
             switch anyway, stop the store (`npx claude-mem-store down`) and start it with that binary"
        }
    }
}

/// The server ensure would start now, and whether the running one is it, for
/// status: nothing is written (the binary cache is read, never saved). `None`
/// when no server would start.
pub async fn outdated_for_status(
    settings: &Settings,
    paths: &StorePaths,
    record: &PidRecord,
    info: &crate::checks::server_info::ServerInfo,
) -> Option<(bool, Option<String>)> {
    let last = last_server::read(paths);
    let next = choose_binary(settings, last.as_ref(), false).await.ok()?;
    if !outdated(record, &next) {
        return Some((false, None));
    }
    let running = describe(
        info.flavor,
        &info.version,
        &record.binary,
        record.sha256.as_deref(),
    );
    let refused = may_move(info.flavor, &info.version, &next.binary).err();
    Some((true, Some(outdated_notice(&running, &next, refused))))
}

/// What ensure found and did about the running store's binary.
pub(super) struct Outcome {
    pub running: Running,
    /// Whether it still runs another binary than the one ensure would start.
    pub outdated: Option<bool>,
}

/// For ensure, after adopting `running`: moves it onto the binary ensure would
/// start now when it is outdated, may be moved, and no other client is connected
/// (or `restart`). Otherwise it is left running and a notice says why.
pub(super) async fn onto_current_binary(
    settings: &Settings,
    paths: &StorePaths,
    secrets: &Secrets,
    mut running: Running,
    restart: bool,
    notices: &mut Vec<String>,
) -> Result<Outcome> {
    let last = last_server::read(paths);
    let Ok(next) = choose_binary(settings, last.as_ref(), true).await else {
        // Nothing installed would start (e.g. its binary was deleted): it keeps running.
        return Ok(Outcome {
            running,
            outdated: None,
        });
    };
    if !outdated(&running.record, &next) {
        return Ok(Outcome {
            running,
            outdated: Some(false),
        });
    }
    let was = describe_running(&running);
    if let Err(why) = may_move(running.info.flavor, &running.info.version, &next.binary) {
        notices.push(outdated_notice(&was, &next, Some(why)));
        return Ok(Outcome {
            running,
            outdated: Some(true),
        });
    }
    if !restart && let Some(failed) = failed_move::for_binary(paths, &next) {
        notices.push(format!(
            "the store runs {was}, not the server ensure would start now: {}. Moving it there failed \
             before ({}), so it was left running; `npx claude-mem-store up --restart` \
             (ensureQueueStoreStarted({{ restart: true }})) tries again",
            describe_next(&next),
            failed.error
        ));
        return Ok(Outcome {
            running,
            outdated: Some(true),
        });
    }
    if !restart {
        let others = stop::others_than_us(&mut running.client, running.record.port, secrets).await;
        if others != Some(0) {
            let who = match others {
                Some(n) => format!(
                    "{n} other client{} connected to it (claude-mem processes or workers using the queue)",
                    if n == 1 { " is" } else { "s are" }
                ),
                None => "it could not be asked who is connected to it".to_string(),
            };
            notices.push(format!(
                "the store runs {was}, not the server ensure would start now: {}. It was left running \
                 because {who}; the next ensure moves it once none is, or now with restart: true \
                 (`npx claude-mem-store up --restart`), which drops their connections (BullMQ reconnects)",
                describe_next(&next)
            ));
            return Ok(Outcome {
                running,
                outdated: Some(true),
            });
        }
    }
    let moved = restart_with(
        settings,
        paths,
        secrets,
        running,
        &next,
        last.as_ref(),
        notices,
    )
    .await?;
    Ok(Outcome {
        outdated: Some(moved.record.binary != next.binary.path),
        running: moved,
    })
}

/// Stops `running` as `stop` does and starts `next` on its port with its data and
/// passwords. If `next` fails to start, the server that ran before is started again
/// (when its binary is still there) and a notice says why; only if that fails too
/// is the store left stopped, with `next`'s error.
async fn restart_with(
    settings: &Settings,
    paths: &StorePaths,
    secrets: &Secrets,
    mut running: Running,
    next: &Choice,
    last: Option<&LastServer>,
    notices: &mut Vec<String>,
) -> Result<Running> {
    let was = describe_running(&running);
    let old_pid = running.record.pid;
    stop::stop_process(old_pid, Some(&mut running.client), settings.timeout).await?;
    pidfile::remove(&paths.pid_file)?;
    connections::forget();
    let port = same_port(settings, running.record.port);
    let started = start::start(
        paths,
        &next.binary,
        Some(port),
        secrets,
        settings.timeout,
        last,
        next.sha256.as_deref(),
    )
    .await;
    let (started, binary) = match started {
        Ok(s) => {
            failed_move::forget(paths);
            notices.push(format!(
                "the store moved from {was} (pid {old_pid}) to {} (pid {}) on port {}, with its data and \
                 passwords: it now runs the server this package starts",
                describe_next(next),
                s.record.pid,
                s.record.port
            ));
            (s, &next.binary)
        }
        Err(e) => {
            let Some(previous) = previous_binary(&running).await else {
                return Err(e);
            };
            let again = start::start(
                paths,
                &previous,
                Some(port),
                secrets,
                settings.timeout,
                last,
                running.record.sha256.as_deref(),
            )
            .await
            .map_err(|_| e.clone())?;
            failed_move::remember(paths, next, &e)?;
            notices.push(format!(
                "the store could not move to {}: {} [{}]; it runs {was} again (pid {}), with its data",
                describe_next(next),
                e.message,
                e.code,
                again.record.pid
            ));
            return running_after(again, &previous, paths);
        }
    };
    running_after(started, binary, paths)
}

fn running_after(
    started: start::Started,
    binary: &ServerBinary,
    paths: &StorePaths,
) -> Result<Running> {
    last_server::write(paths, binary)?;
    Ok(Running {
        record: started.record,
        client: started.client,
        info: started.info,
        health: None,
        started: true,
        port_moved: started.port_moved,
    })
}

/// The binary the store ran before a move, to fall back on: only if it is still
/// there and still says it is the server that ran (flavor and version), since the
/// pid file that names it is a file on disk like any other.
async fn previous_binary(running: &Running) -> Option<ServerBinary> {
    let path = running.record.binary.clone();
    if path.as_os_str().is_empty() || !path.is_file() {
        return None;
    }
    let found = off_worker(move || inspect(&path, BinarySource::Option))
        .await
        .ok()?;
    (found.flavor == running.info.flavor && found.version == running.info.version).then_some(found)
}

/// The store's port for the restart: as the settings give it when they name that
/// port (an explicit one stays explicit); otherwise as a port of ours, which moves
/// (and is saved) only if another program takes it in between.
fn same_port(settings: &Settings, port: u16) -> PortSetting {
    match settings.port {
        Some(p) if p.port == port => p,
        _ => PortSetting {
            port,
            source: Source::SettingsFile,
        },
    }
}

#[cfg(test)]
#[path = "upgrade_tests.rs"]
mod tests;
