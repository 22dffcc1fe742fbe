//! Stopping our sidecar: `SHUTDOWN` over the authenticated connection (immediate,
//! and it flushes the AOF), then SIGTERM, then SIGKILL, each with its share of the
//! caller's timeout. Only ever called for a process proved to be ours.

use std::time::{Duration, Instant};

use crate::checks::client::Client;
use crate::error::{ErrorCode, Result, StoreError};
use crate::server::process::{self, Signal};

pub async fn stop_process(
    pid: u32,
    client: Option<&mut Client>,
    timeout: Duration,
) -> Result<&'static str> {
    if let Some(client) = client {
        // An error here (e.g. the server refused) just moves us on to signals.
        let _ = client.shutdown().await;
        if wait_exit(pid, timeout / 2).await {
            return Ok("shutdown");
        }
    }
    process::signal(pid, Signal::Term);
    // A server stopped with SIGSTOP only acts on SIGTERM once it runs again.
    process::signal(pid, Signal::Cont);
    if wait_exit(pid, timeout / 4).await {
        return Ok("sigterm");
    }
    process::signal(pid, Signal::Kill);
    if wait_exit(pid, (timeout / 4).max(Duration::from_secs(2))).await {
        return Ok("sigkill");
    }
    Err(StoreError::new(
        ErrorCode::Timeout,
        format!("pid {pid} did not exit even after SIGKILL. Check it with `ps -p {pid}`."),
    ))
}

/// Waits (polling, bounded) until `pid` has exited; `is_alive` collects it if this
/// process spawned it.
pub async fn wait_exit(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_micros(500);
    loop {
        if !process::is_alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}
