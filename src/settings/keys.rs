//! The settings' names and values: the `CLAUDE_MEM_*` keys claude-mem and we share,
//! their defaults, the mode and where a value came from, and how each value is
//! parsed and described in an error (`E_BAD_SETTINGS` names the key and its source).

use std::path::Path;
use std::time::Duration;

use crate::error::{ErrorCode, StoreError};

pub const KEY_DATA_DIR: &str = "CLAUDE_MEM_DATA_DIR";
pub const KEY_MODE: &str = "CLAUDE_MEM_REDIS_MODE";
pub const KEY_URL: &str = "CLAUDE_MEM_REDIS_URL";
pub const KEY_HOST: &str = "CLAUDE_MEM_REDIS_HOST";
pub const KEY_PORT: &str = "CLAUDE_MEM_REDIS_PORT";
pub const KEY_PREFIX: &str = "CLAUDE_MEM_QUEUE_REDIS_PREFIX";
pub const KEY_CA_FILE: &str = "CLAUDE_MEM_REDIS_CA_FILE";

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longer than anyone should wait, short enough that a typo (ms vs s) is caught.
pub const MAX_TIMEOUT_MS: u64 = 10 * 60 * 1000;
/// The port every other Redis on the machine uses; ours never does.
pub const GLOBAL_REDIS_PORT: u16 = 6379;

/// The options every store function accepts (`StoreOptions` in index.d.ts).
pub const STORE_OPTION_KEYS: &[&str] = &[
    "dataDir",
    "mode",
    "url",
    "host",
    "port",
    "binary",
    "prefix",
    "timeoutMs",
    "caFile",
];

/// Serialized as `as_str` says (`QueueStoreStatus.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Managed,
    External,
    Docker,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Managed => "managed",
            Mode::External => "external",
            Mode::Docker => "docker",
        }
    }
}

/// Where a setting's value came from; named in error messages and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Option,
    Environment,
    SettingsFile,
    Default,
}

pub fn parse_mode(v: &str) -> Option<Mode> {
    match v.trim().to_ascii_lowercase().as_str() {
        "managed" => Some(Mode::Managed),
        "external" => Some(Mode::External),
        "docker" => Some(Mode::Docker),
        _ => None,
    }
}

/// A port we may use for our own server: 1024–65535 (no root needed), never 6379.
pub fn parse_port(v: &str) -> Option<u16> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 5 {
        return None;
    }
    let n: u32 = v.parse().ok()?;
    (1024..=65535)
        .contains(&n)
        .then_some(n as u16)
        .filter(|p| *p != GLOBAL_REDIS_PORT)
}

/// A port of someone else's server (external mode): any TCP port.
pub fn parse_external_port(v: &str) -> Option<u16> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 5 {
        return None;
    }
    v.parse::<u16>().ok().filter(|p| *p != 0)
}

pub fn parse_timeout(v: &str) -> Option<Duration> {
    let n: u64 = v.trim().parse().ok()?;
    (1..=MAX_TIMEOUT_MS)
        .contains(&n)
        .then(|| Duration::from_millis(n))
}

pub fn is_loopback_host(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]")
}

pub(crate) fn describe_source(key: &str, source: Source, file: &Path) -> String {
    match source {
        Source::Option => {
            let option = match key {
                KEY_MODE => "mode",
                KEY_URL => "url",
                KEY_HOST => "host",
                KEY_PORT => "port",
                KEY_PREFIX => "prefix",
                KEY_CA_FILE => "caFile",
                _ => key,
            };
            format!("the {option} option")
        }
        Source::Environment => format!("{key} (environment)"),
        Source::SettingsFile => format!("{key} in {}", file.display()),
        Source::Default => format!("{key} (default)"),
    }
}

pub(crate) fn bad_setting(message: String) -> StoreError {
    StoreError::new(ErrorCode::BadSettings, message)
}

/// Values are echoed in messages; keep them to one readable line.
pub(crate) fn short(v: &str) -> String {
    let s: String = v
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(80)
        .collect();
    if v.chars().count() > 80 {
        format!("{s}…")
    } else {
        s
    }
}
