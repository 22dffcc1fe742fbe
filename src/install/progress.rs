//! Progress reports for long installs. Plain Rust: the binding turns a JS
//! `onProgress` callback into a [`Progress`], tests use a closure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// The step an install is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Lock,
    Checksum,
    Download,
    Retry,
    Verify,
    Unpack,
    TestRun,
    Install,
    Package,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    pub phase: Phase,
    /// Bytes received so far (download phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Total bytes when the server said (Content-Length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ProgressEvent {
    pub fn phase(phase: Phase, message: impl Into<String>) -> ProgressEvent {
        ProgressEvent {
            phase,
            bytes: None,
            total: None,
            message: Some(message.into()),
        }
    }
}

/// Where progress goes. Must never block: the JS callback runs later, on its thread.
pub type Progress = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

pub fn silent() -> Progress {
    Arc::new(|_| {})
}

/// Download events at most every `interval` (and always the first and last), so a
/// fast local download does not flood the JS thread with thousands of callbacks.
pub struct Throttle {
    interval: Duration,
    last: Option<Instant>,
}

impl Throttle {
    pub fn new(interval: Duration) -> Throttle {
        Throttle {
            interval,
            last: None,
        }
    }

    pub fn due(&mut self) -> bool {
        let now = Instant::now();
        match self.last {
            Some(t) if now.duration_since(t) < self.interval => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}
