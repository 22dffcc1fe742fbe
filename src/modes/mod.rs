//! The three stores and what they return: `managed` (our private sidecar under the
//! data dir), `external` (a server the user runs, at a URL or HOST:PORT, only ever
//! probed), and `docker` (a pinned Valkey image with a named volume). Each has
//! ensure, status and stop returning the shapes in [`status`].
//!
//! Uses everything below it (settings, server, checks). `docker` borrows the
//! managed store's port choice, loopback endpoint and checks; `managed` never uses
//! `docker`, and `external` uses neither.

pub mod docker;
pub mod external;
pub mod managed;
pub mod status;

use crate::error::Result;
use crate::settings::{Mode, Settings};
use status::{QueueStoreStatus, StopResult};

/// `ensureQueueStoreStarted` in the configured mode.
pub async fn ensure(settings: &Settings) -> Result<QueueStoreStatus> {
    match settings.mode {
        Mode::Managed => managed::ensure(settings).await,
        Mode::Docker => docker::ensure(settings).await,
        Mode::External => external::ensure(settings).await,
    }
}

/// `queueStoreStatus` in the configured mode.
pub async fn status(settings: &Settings) -> Result<QueueStoreStatus> {
    match settings.mode {
        Mode::Managed => managed::status(settings).await,
        Mode::Docker => docker::status(settings).await,
        Mode::External => external::status(settings).await,
    }
}

/// `stopQueueStore` in the configured mode.
pub async fn stop(settings: &Settings) -> Result<StopResult> {
    match settings.mode {
        Mode::Managed => managed::stop(settings).await,
        Mode::Docker => docker::stop(settings).await,
        Mode::External => Ok(external::stop(settings)),
    }
}
