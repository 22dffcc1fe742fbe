//! The three stores and what they return: `managed` (our private sidecar under the
//! data dir), `external` (a server the user runs, at a URL or HOST:PORT, only ever
//! probed), and `docker` (a pinned Valkey image with a named volume). Each has
//! ensure, status and stop returning the shapes in [`results`].
//!
//! Docker mode with a URL is the server at that URL (claude-mem's compose stack),
//! handled as external.
//!
//! Uses everything below it (settings, server, checks). `managed` and `docker` are
//! siblings: what they share (our store on loopback: port, login, the kept
//! connection, checks, lock waits) is `own_store`; neither imports the other, and
//! `external` uses neither.

pub mod docker;
pub mod external;
pub mod managed;
pub mod own_store;
pub mod results;

use crate::error::Result;
use crate::settings::{Mode, Settings};
use results::{QueueStoreStatus, StopResult};

/// Which store the settings name. Docker mode with a URL of its own is claude-mem's
/// compose stack (`CLAUDE_MEM_REDIS_URL=redis://valkey:6379`): that server, probed
/// like an external one; our own container only when no URL is set.
fn store_of(settings: &Settings) -> Mode {
    match settings.mode {
        // A URL shaped like the one ensure writes (its secret lost) is not a stack's.
        Mode::Docker
            if settings
                .url
                .as_deref()
                .is_some_and(|u| !crate::settings::has_own_store_shape(u)) =>
        {
            Mode::External
        }
        mode => mode,
    }
}

/// `ensureQueueStoreStarted` in the configured mode. `restart` (managed mode):
/// move a running store onto the binary this call would start even while other
/// clients are connected (see `managed::upgrade`).
pub async fn ensure(settings: &Settings, restart: bool) -> Result<QueueStoreStatus> {
    let status = match store_of(settings) {
        Mode::Managed => managed::ensure(settings, restart).await,
        Mode::Docker => docker::ensure(settings).await,
        Mode::External => external::ensure(settings).await,
    }?;
    Ok(status.with_settings(settings))
}

/// `queueStoreStatus` in the configured mode.
pub async fn status(settings: &Settings) -> Result<QueueStoreStatus> {
    let status = match store_of(settings) {
        Mode::Managed => managed::status(settings).await,
        Mode::Docker => docker::status(settings).await,
        Mode::External => external::status(settings).await,
    }?;
    Ok(status.with_settings(settings))
}

/// `stopQueueStore` in the configured mode: a store that other clients use is
/// stopped only when `force` is set.
pub async fn stop(settings: &Settings, force: bool) -> Result<StopResult> {
    match store_of(settings) {
        Mode::Managed => managed::stop(settings, force).await,
        Mode::Docker => docker::stop(settings, force).await,
        Mode::External => Ok(external::stop(settings)),
    }
}
