//! Waiting until the container's server is really ready: it answers on the
//! published port, to our password, has loaded its AOF (`loading:0`) and says PONG.
//! Docker's port proxy accepts connections before the server listens, and the
//! server listens before its data is loaded, so neither an open port nor a
//! "running" container proves anything.

use std::time::{Duration, Instant};

use super::cli::{self, Docker};
use super::commands;
use super::ps;
use crate::checks::client::{Client, ClientError};
use crate::checks::server_info::ServerInfo;
use crate::error::{ErrorCode, StoreError};
use crate::modes::own_store::info::connect_and_info;
use crate::settings::secret::Secrets;

/// How often, while waiting, we ask Docker whether the container is still up (each
/// ask is a process spawn, so not on every connection attempt).
const STATE_POLL: Duration = Duration::from_millis(500);

pub enum NotReady {
    /// The server answers but refuses our password: the container was made with
    /// another one (the secret file was replaced).
    WrongPassword(String),
    /// Anything else, already worded for the user.
    Failed(StoreError),
}

pub async fn wait_ready(
    docker: &Docker,
    container: &str,
    names: &commands::Names,
    port: u16,
    secrets: &Secrets,
    deadline: Instant,
) -> std::result::Result<(Client, ServerInfo), NotReady> {
    let mut pause = Duration::from_millis(2);
    let mut next_state_check = Instant::now() + STATE_POLL;
    loop {
        let now = Instant::now();
        if now >= deadline {
            let tail = logs(docker, container).await;
            return Err(NotReady::Failed(StoreError::new(
                ErrorCode::Timeout,
                format!(
                    "the store's container {} did not become ready on 127.0.0.1:{port} in time \
                     (loading a large AOF can take longer; pass a larger timeoutMs). Its last log lines:\n{tail}",
                    names.container
                ),
            )));
        }
        let attempt = (deadline - now).min(Duration::from_secs(1));
        match connect_and_info(port, secrets, attempt).await {
            Ok((mut client, info)) if !info.loading => {
                let pong: std::result::Result<String, _> = client.query(&redis::cmd("PING")).await;
                if matches!(pong.as_deref(), Ok("PONG")) {
                    return Ok((client, info));
                }
            }
            Err(ClientError::Auth(e)) => return Err(NotReady::WrongPassword(e)),
            // Loading, or not listening yet.
            Ok(_) | Err(_) => {}
        }
        if Instant::now() >= next_state_check {
            next_state_check = Instant::now() + STATE_POLL;
            if let Some(state) = state_if_stopped(docker, names, attempt).await? {
                let tail = logs(docker, container).await;
                return Err(NotReady::Failed(StoreError::new(
                    ErrorCode::StartFailed,
                    format!(
                        "the store's container {} stopped while starting (state {state}). Its last log lines:\n{tail}\n\
                         `docker logs {}` shows more.",
                        names.container, names.container
                    ),
                )));
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The container's state if it is no longer running (or gone); `None` while it runs.
async fn state_if_stopped(
    docker: &Docker,
    names: &commands::Names,
    timeout: Duration,
) -> std::result::Result<Option<String>, NotReady> {
    let cmd = commands::find(names);
    let out = match docker.run(&cmd, timeout.max(Duration::from_secs(2))).await {
        Ok(out) => out,
        // A slow `docker ps` says nothing about the container; keep waiting.
        Err(cli::Failure::TimedOut) => return Ok(None),
        // A failed one: the engine may have gone (asked, whatever the CLI's words).
        Err(f) => {
            if f.engine_unreachable() {
                return Err(NotReady::Failed(cli::engine_down(&f, timeout)));
            }
            docker
                .check_engine(timeout.max(Duration::from_secs(2)))
                .await
                .map_err(NotReady::Failed)?;
            return Ok(None);
        }
    };
    let found = ps::pick(ps::parse(&out).map_err(NotReady::Failed)?, names);
    Ok(match found {
        Some(c) if c.is_running() || c.state == "restarting" => None,
        Some(c) => Some(c.state),
        None => Some("removed".to_string()),
    })
}

/// The container's last log lines, for error messages (never fails).
pub async fn logs(docker: &Docker, container: &str) -> String {
    match docker
        .run_both_streams(&commands::logs_tail(container), Duration::from_secs(5))
        .await
    {
        Ok(out) if !out.trim().is_empty() => out.trim_end().to_string(),
        Ok(_) => "(no log lines)".to_string(),
        Err(f) => format!("(docker logs failed: {})", f.words()),
    }
}

/// Turns a `NotReady` into the error ensure reports.
pub fn into_error(not_ready: NotReady, port: u16) -> StoreError {
    match not_ready {
        NotReady::Failed(e) => e,
        NotReady::WrongPassword(e) => StoreError::new(
            ErrorCode::Auth,
            format!(
                "the server on 127.0.0.1:{port} refuses claude-mem's password ({e}). \
                 Another program may hold that port; stopQueueStore() and try again, or set CLAUDE_MEM_REDIS_PORT."
            ),
        ),
    }
}
