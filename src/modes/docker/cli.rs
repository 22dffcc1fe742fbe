//! Running the `docker` CLI: found on PATH at call time, run without a shell, with
//! stdin closed and a deadline, and its failures sorted into what the user can do
//! (install Docker, start it, get permission, or read Docker's own words).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::error::{ErrorCode, Result, StoreError};

/// Longest a first `docker pull` of the image may take; far longer than a start,
/// because it is a download. Only used when the image is not there yet.
pub const PULL_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The `docker` command found on PATH.
#[derive(Debug, Clone)]
pub struct Docker {
    program: PathBuf,
}

/// A `docker` run that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It could not be started at all (the OS's words).
    Spawn(String),
    /// No answer before the deadline; the process was killed.
    TimedOut,
    /// It exited non-zero; what it printed on stderr (or stdout when stderr is empty).
    Exit { code: Option<i32>, output: String },
}

impl Failure {
    /// Docker's own words, one line, for messages.
    pub fn words(&self) -> String {
        match self {
            Failure::Spawn(e) => format!("could not run docker: {e}"),
            Failure::TimedOut => "no answer in time".to_string(),
            Failure::Exit { code, output } => {
                let text = output.trim();
                match (text.is_empty(), code) {
                    (true, Some(c)) => format!("exit status {c}"),
                    (true, None) => "killed by a signal".to_string(),
                    (false, _) => text.lines().take(6).collect::<Vec<_>>().join(" | "),
                }
            }
        }
    }

    fn contains(&self, needles: &[&str]) -> bool {
        let Failure::Exit { output, .. } = self else {
            return false;
        };
        let lower = output.to_lowercase();
        needles.iter().any(|n| lower.contains(n))
    }

    /// The engine is not there: not started, stopped meanwhile, or not ours to use.
    ///
    /// Only a fast path: the CLI's wording differs by version, platform and Docker
    /// Desktop's state, so a failure this does not recognise is settled by asking
    /// the engine again (`Docker::explain`), never by this list alone.
    pub fn engine_unreachable(&self) -> bool {
        self.contains(&[
            // CLI 20.10 and 28.2 on Linux/macOS (captured): "Cannot connect to the
            // Docker daemon at unix:///…. Is the docker daemon running?"
            "cannot connect to the docker daemon",
            "is the docker daemon running",
            // Windows CLIs before 27: "error during connect: … open //./pipe/…"
            "error during connect",
            // Windows CLIs from 27 on: "failed to connect to the docker API at
            // npipe:////./pipe/dockerDesktopLinuxEngine; check if the path is correct…"
            "failed to connect to the docker api",
            // Docker Desktop's socket answering while its engine is stopped or still
            // starting (CLI 28.2's words for an HTTP 500 without an engine error):
            // "request returned 500 Internal Server Error for API route and version
            // http://…/v1.50/version, check if the server supports the requested API version"
            "check if the server supports the requested api version",
            // CLI 28.2 (captured): "permission denied while trying to connect to the
            // Docker daemon socket at unix:///…"
            "permission denied while trying to connect",
            "docker desktop is not running",
        ])
    }

    /// Docker's words for a host port that is taken. Engine 20.10 (captured): a port
    /// another container publishes is "Bind for 127.0.0.1:P failed: port is already
    /// allocated"; one a program listens on is "Error starting userland proxy: listen
    /// tcp4 127.0.0.1:P: bind: address already in use". Docker Desktop: "Ports are not
    /// available: exposing port TCP 127.0.0.1:P …". Callers also ask the OS whether the
    /// port is free now (`port::is_free`), which holds whatever the wording.
    pub fn port_taken(&self) -> bool {
        self.contains(&[
            "port is already allocated",
            "address already in use",
            "ports are not available",
            "only one usage of each socket address",
        ])
    }
}

/// The engine is asked again after a failure this long at most: a live engine
/// answers `docker version` in milliseconds.
const ENGINE_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl Docker {
    /// Finds `docker` on PATH now (not at load time: PATH may have changed since).
    pub fn locate() -> Result<Docker> {
        which::which("docker")
            .map(|program| Docker { program })
            .map_err(|_| {
                StoreError::new(
                    ErrorCode::DockerUnavailable,
                    "Docker mode needs the `docker` command, and none is on PATH. Install Docker Desktop \
                     (https://docs.docker.com/get-docker/) and start it, then try again; or use mode managed \
                     (a local valkey-server) or mode external (CLAUDE_MEM_REDIS_URL). claude-mem never installs Docker itself.",
                )
            })
    }

    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    /// Runs `docker <args>` and returns its stdout, or why it failed.
    pub async fn run(
        &self,
        args: &[String],
        timeout: Duration,
    ) -> std::result::Result<String, Failure> {
        self.run_inner(args, timeout, false).await
    }

    /// Like `run`, but returns stdout and stderr together (`docker logs` splits the
    /// container's two streams the same way).
    pub async fn run_both_streams(
        &self,
        args: &[String],
        timeout: Duration,
    ) -> std::result::Result<String, Failure> {
        self.run_inner(args, timeout, true).await
    }

    async fn run_inner(
        &self,
        args: &[String],
        timeout: Duration,
        both_streams: bool,
    ) -> std::result::Result<String, Failure> {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A timed-out docker is killed, never left behind.
            .kill_on_drop(true);
        #[cfg(windows)]
        {
            // CREATE_NO_WINDOW: no console window flashes up for each command.
            cmd.creation_flags(0x0800_0000);
        }
        let child = cmd.spawn().map_err(|e| Failure::Spawn(e.to_string()))?;
        let output = tokio::time::timeout(timeout, child.wait_with_output())
            .await
            .map_err(|_| Failure::TimedOut)?
            .map_err(|e| Failure::Spawn(e.to_string()))?;
        if output.status.success() {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            if both_streams {
                text.push_str(&String::from_utf8_lossy(&output.stderr));
            }
            return Ok(text);
        }
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let text = if stderr.trim().is_empty() {
            String::from_utf8_lossy(&output.stdout).into_owned()
        } else {
            stderr
        };
        Err(Failure::Exit {
            code: output.status.code(),
            output: text,
        })
    }

    /// Fails with `E_DOCKER_UNAVAILABLE` and the next step unless the engine answers.
    /// Decided by the exit status of `docker version` (it fails whenever the server
    /// part is missing), not by its words.
    pub async fn check_engine(&self, timeout: Duration) -> Result<String> {
        self.run(&super::commands::engine_version(), timeout)
            .await
            .map(|v| v.trim().to_string())
            .map_err(|f| engine_down(&f, timeout))
    }

    /// The error to report for a failed `command`. When Docker's words do not say
    /// the engine is gone, the engine is asked (`docker version`): one that no longer
    /// answers is `E_DOCKER_UNAVAILABLE` with the next step, whatever this CLI
    /// version or Docker Desktop printed; otherwise it is `code` with Docker's words.
    pub async fn explain(
        &self,
        failure: &Failure,
        code: ErrorCode,
        command: &[String],
        timeout: Duration,
    ) -> StoreError {
        if !failure.engine_unreachable() && !matches!(failure, Failure::Spawn(_)) {
            let probe = timeout.clamp(Duration::from_secs(1), ENGINE_PROBE_TIMEOUT);
            if let Err(down) = self.check_engine(probe).await {
                return down;
            }
        }
        failed(failure, code, command, timeout)
    }
}

/// Where the user's docker CLI is pointed, when it is not its default engine: then
/// "start Docker" is not the whole advice.
fn docker_host_hint() -> String {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.trim().is_empty() => format!(
            " DOCKER_HOST is set ({}): start the engine it names, or unset it to use the default one.",
            host.trim()
        ),
        _ => String::new(),
    }
}

/// `docker version` failed: the CLI is there but the engine does not answer.
pub fn engine_down(failure: &Failure, timeout: Duration) -> StoreError {
    let message = match failure {
        Failure::TimedOut => format!(
            "the Docker engine did not answer `docker version` within {} ms; Docker Desktop may still be starting. \
             Wait until it says it is running and try again (or pass a larger timeoutMs).",
            timeout.as_millis()
        ),
        f if f.contains(&["permission denied"]) => format!(
            "this user may not use the Docker engine ({}). On Linux add yourself to the docker group \
             (`sudo usermod -aG docker $USER`, then log in again), or use Docker Desktop; or use mode managed or external.",
            f.words()
        ),
        f => format!(
            "the Docker engine is not running ({}). Start Docker Desktop (on Linux: `sudo systemctl start docker`) \
             and wait until it is running, then try again; or use mode managed or external.{}",
            f.words(),
            docker_host_hint()
        ),
    };
    StoreError::new(ErrorCode::DockerUnavailable, message)
}

/// A docker command other than `version` failed: the engine having gone away is
/// still `E_DOCKER_UNAVAILABLE`; anything else is `code` with Docker's own words.
pub fn failed(
    failure: &Failure,
    code: ErrorCode,
    command: &[String],
    timeout: Duration,
) -> StoreError {
    if failure.engine_unreachable() {
        return engine_down(failure, timeout);
    }
    let shown: Vec<&str> = command.iter().take(2).map(String::as_str).collect();
    StoreError::new(
        code,
        format!(
            "`docker {}` failed: {}",
            shown.join(" "),
            match failure {
                Failure::TimedOut => format!("no answer within {} ms", timeout.as_millis()),
                f => f.words(),
            }
        ),
    )
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
