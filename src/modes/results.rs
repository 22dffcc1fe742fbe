//! The shapes returned to JavaScript (`QueueStoreStatus`, `StopResult`, …). Field
//! names are camelCase on the wire; index.d.ts describes them for TypeScript.

use std::path::Path;

use serde::Serialize;

use crate::checks::report::{Check, ConnectionOptions};
use crate::modes::external::AddressFrom;
use crate::server::flavor::Flavor;
use crate::settings::Mode;
use crate::settings::paths::StorePaths;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ServerDescription {
    pub flavor: Flavor,
    pub version: String,
    /// The name a server we do not know by name gives itself (`flavor` is
    /// `Unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    /// The Valkey bundled in this addon's platform package.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bundled: bool,
    /// Managed mode: whether the running server is not the one ensure would start
    /// now (another build: another sha256, or without one another path or version).
    /// `None` when that cannot be told (nothing would start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outdated: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StatusPaths {
    pub data_dir: String,
    pub settings: String,
    pub config: String,
    pub data: String,
    pub pid_file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
}

impl StatusPaths {
    pub fn new(paths: &StorePaths, log_file: Option<&Path>) -> StatusPaths {
        let s = |p: &Path| p.display().to_string();
        StatusPaths {
            data_dir: s(&paths.data_dir),
            settings: s(&paths.settings_file),
            config: s(&paths.config_file),
            data: s(&paths.server_data_dir),
            pid_file: s(&paths.pid_file),
            log_file: log_file.map(s),
        }
    }
}

/// The persisted port was held by another program, so the store moved.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PortMove {
    pub from: u16,
    pub to: u16,
    pub held_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_pid: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct QueueStoreStatus {
    pub mode: Mode,
    pub running: bool,
    pub owned: bool,
    /// Whether this call started the server (false when it adopted a running one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerDescription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub paths: StatusPaths,
    pub checks: Vec<Check>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_moved: Option<PortMove>,
    /// Things that happened and are worth telling (a stale pid file set aside, …).
    pub notices: Vec<String>,
    /// Docker mode: the store's container (found by its labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<DockerContainer>,
    /// External mode: where the server's address came from — `url`
    /// (`CLAUDE_MEM_REDIS_URL`), or `hostPort` (the URL is empty, so, as
    /// claude-mem's runtime does, `CLAUDE_MEM_REDIS_HOST:CLAUDE_MEM_REDIS_PORT`
    /// with no password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_from: Option<AddressFrom>,
    /// The BullMQ key prefix claude-mem's queues use with these settings (its
    /// default and sanitiser applied); the smoke test runs under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Our own store (managed, docker): how many clients other than this call's own
    /// connection are connected (claude-mem processes, workers, other tools). A
    /// stop leaves a store with other clients running unless forced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<u32>,
}

/// The Docker-mode store's container.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DockerContainer {
    pub id: String,
    pub name: String,
    pub image: String,
    /// The named volume that holds `/data` (the AOF and RDB): kept unless purged.
    pub volume: String,
    /// Docker's state: `running`, `exited`, `created`, `paused`, …
    pub state: String,
}

impl QueueStoreStatus {
    /// A store in `mode` that is not running (yet): nothing but where its files are.
    /// Every mode's status starts from this and fills in what it found.
    pub fn not_running(mode: Mode, paths: StatusPaths) -> QueueStoreStatus {
        QueueStoreStatus {
            mode,
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
            paths,
            checks: Vec::new(),
            port_moved: None,
            notices: Vec::new(),
            container: None,
            address_from: None,
            prefix: None,
            clients: None,
        }
    }

    /// What every mode's status carries from the settings: the queue prefix and
    /// the notices about how claude-mem will read them (first: they explain the rest).
    pub fn with_settings(mut self, settings: &crate::settings::Settings) -> QueueStoreStatus {
        self.prefix = Some(settings.prefix.clone());
        let mut notices = settings.notices.clone();
        notices.append(&mut self.notices);
        self.notices = notices;
        self
    }

    /// Sets `server.outdated` (managed mode: the running server is not the one
    /// ensure would start now).
    pub fn with_outdated(mut self, outdated: Option<bool>) -> QueueStoreStatus {
        if let Some(server) = self.server.as_mut() {
            server.outdated = outdated;
        }
        self
    }

    /// What an ensure adds to a running store's status: whether this call started
    /// the server, a port move (also told as a notice), and everything else it did.
    pub fn after_ensure(
        mut self,
        started: bool,
        port_moved: Option<PortMove>,
        mut notices: Vec<String>,
    ) -> QueueStoreStatus {
        self.started = Some(started);
        if let Some(moved) = port_moved {
            notices.push(format!(
                "port {} was held by {}; the store moved to port {} and that port was saved in settings.json",
                moved.from, moved.held_by, moved.to
            ));
            self.port_moved = Some(moved);
        }
        self.notices = notices;
        self
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct StopResult {
    /// Whether this call stopped a running server.
    pub stopped: bool,
    /// Whether a server of ours was running when the call began.
    pub was_running: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// How it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<StopMethod>,
    /// Set when the pid file named a process that is not ours (`E_NOT_OWNED`), or
    /// Docker mode could not ask Docker (`E_DOCKER_UNAVAILABLE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    pub message: String,
    /// Where a stale or foreign pid file was moved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_pid_file: Option<String>,
    /// Not stopped because other clients use the store (`code` `E_STORE_IN_USE`):
    /// how many. `force: true` stops it anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<u32>,
}

/// How a store was stopped: `shutdown`, `sigterm` or `sigkill` (managed),
/// `docker-stop` (docker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum StopMethod {
    Shutdown,
    Sigterm,
    Sigkill,
    DockerStop,
}

impl StopResult {
    /// Nothing was running or nothing was stopped; `message` says which and why.
    pub fn nothing(message: String) -> StopResult {
        StopResult {
            stopped: false,
            was_running: false,
            pid: None,
            method: None,
            code: None,
            message,
            stale_pid_file: None,
            clients: None,
        }
    }

    /// A running store left running because `clients` other clients use it.
    pub fn in_use(pid: Option<u32>, clients: u32, what: &str) -> StopResult {
        StopResult {
            was_running: true,
            pid,
            code: Some(crate::error::ErrorCode::StoreInUse.as_str()),
            clients: Some(clients),
            ..StopResult::nothing(format!(
                "{what} was not stopped: {clients} other client{} connected to it (claude-mem processes \
                 or workers using the queue). Stop them first, or stop it anyway with force: true \
                 (`npx claude-mem-store down --force`).",
                if clients == 1 { " is" } else { "s are" }
            ))
        }
    }
}
