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
    pub fn engine_unreachable(&self) -> bool {
        self.contains(&[
            "cannot connect to the docker daemon",
            "is the docker daemon running",
            "error during connect",
            "docker_engine: the system cannot find",
            "permission denied while trying to connect",
            "docker desktop is not running",
        ])
    }

    /// The host port was taken between our check and Docker's bind.
    pub fn port_taken(&self) -> bool {
        self.contains(&[
            "port is already allocated",
            "address already in use",
            "ports are not available",
            "only one usage of each socket address",
        ])
    }

    /// A container with our name exists (then it is not labelled as ours).
    pub fn name_taken(&self) -> bool {
        self.contains(&["is already in use by container"])
    }

    pub fn no_such_image(&self) -> bool {
        self.contains(&["no such image"])
    }
}

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
    pub async fn check_engine(&self, timeout: Duration) -> Result<String> {
        self.run(&super::commands::engine_version(), timeout)
            .await
            .map(|v| v.trim().to_string())
            .map_err(|f| engine_down(&f, timeout))
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
             and wait until it is running, then try again; or use mode managed or external.",
            f.words()
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
mod tests {
    use super::*;

    fn exit(output: &str) -> Failure {
        Failure::Exit {
            code: Some(1),
            output: output.into(),
        }
    }

    #[test]
    fn sorts_docker_failures() {
        let down = exit(
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
        );
        assert!(down.engine_unreachable());
        let windows = exit(
            "error during connect: this error may indicate that the docker daemon is not running: open //./pipe/docker_engine: The system cannot find the file specified.",
        );
        assert!(windows.engine_unreachable());
        assert!(
            exit("docker: Error response from daemon: driver failed programming external connectivity: Bind for 127.0.0.1:23456 failed: port is already allocated.")
                .port_taken()
        );
        assert!(exit("Error response from daemon: Ports are not available: exposing port TCP 127.0.0.1:23456").port_taken());
        assert!(exit("docker: Error response from daemon: Conflict. The container name \"/x\" is already in use by container \"abc\".").name_taken());
        assert!(exit("Error: No such image: valkey/valkey:8.1.11").no_such_image());
        assert!(!Failure::TimedOut.port_taken());
    }

    #[test]
    fn engine_down_says_what_to_do() {
        let t = Duration::from_secs(1);
        let e = engine_down(
            &exit(
                "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?",
            ),
            t,
        );
        assert_eq!(e.code, ErrorCode::DockerUnavailable);
        assert!(e.message.contains("Start Docker Desktop"), "{}", e.message);
        assert!(e.message.contains("unix:///x.sock"), "{}", e.message);
        let e = engine_down(
            &exit("permission denied while trying to connect to the Docker daemon socket"),
            t,
        );
        assert!(e.message.contains("docker group"), "{}", e.message);
        let e = engine_down(&Failure::TimedOut, t);
        assert!(e.message.contains("1000 ms"), "{}", e.message);
    }

    #[test]
    fn other_failures_keep_dockers_words() {
        let cmd: Vec<String> = vec!["run".into(), "--detach".into(), "secret-free".into()];
        let e = failed(
            &exit("pull access denied"),
            ErrorCode::StartFailed,
            &cmd,
            Duration::from_secs(1),
        );
        assert_eq!(e.code, ErrorCode::StartFailed);
        assert!(
            e.message
                .contains("`docker run --detach` failed: pull access denied"),
            "{}",
            e.message
        );
        let e = failed(
            &exit("Cannot connect to the Docker daemon"),
            ErrorCode::StartFailed,
            &cmd,
            Duration::from_secs(1),
        );
        assert_eq!(e.code, ErrorCode::DockerUnavailable);
        assert_eq!(exit("").words(), "exit status 1");
    }
}
