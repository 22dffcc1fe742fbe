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
mod tests {
    use super::*;

    fn exit(output: &str) -> Failure {
        Failure::Exit {
            code: Some(1),
            output: output.into(),
        }
    }

    // Captured on this project's test machine: docker CLI 28.2.2 (and Debian's
    // 20.10.24 CLI where noted) against Debian's docker.io engine 20.10.24, or
    // against no engine. Docker Desktop's words come from its public issue threads.
    const DOWN_28: &str = "Cannot connect to the Docker daemon at unix:///tmp/nope.sock. Is the docker daemon running?";
    const PERMISSION_28: &str = "permission denied while trying to connect to the Docker daemon socket at \
        unix:///work/wt-docker/target/docker/docker.sock: Get \"http://%2Fwork%2Fwt-docker%2Ftarget%2Fdocker%2Fdocker.sock/v1.50/version\": \
        dial unix /work/wt-docker/target/docker/docker.sock: connect: permission denied";
    /// CLI 28.2 against a socket that answers HTTP 500 without an engine error, as
    /// Docker Desktop's does while its engine is stopped or starting (docker/for-mac#7775).
    const DESKTOP_500_28: &str = "request returned 500 Internal Server Error for API route and version \
        http://%2Ftmp%2Ffake500.sock/v1.50/version, check if the server supports the requested API version";
    /// Windows, CLI 27+ (public issue threads).
    const DESKTOP_PIPE_27: &str = "failed to connect to the docker API at npipe:////./pipe/dockerDesktopLinuxEngine; \
        check if the path is correct and if the daemon is running: open //./pipe/dockerDesktopLinuxEngine: \
        The system cannot find the file specified.";
    /// Windows, older CLIs.
    const DESKTOP_PIPE_OLD: &str = "error during connect: this error may indicate that the docker daemon is not running: \
        open //./pipe/docker_engine: The system cannot find the file specified.";
    const PORT_BY_CONTAINER_20: &str = "docker: Error response from daemon: driver failed programming external connectivity \
        on endpoint probe-b (b2b404692ae899e8088e146979f05adfed11f7c4e0c5bb457419d34be160568e): \
        Bind for 127.0.0.1:23999 failed: port is already allocated\n\nRun 'docker run --help' for more information";
    const PORT_BY_PROGRAM_20: &str = "docker: Error response from daemon: driver failed programming external connectivity \
        on endpoint probe-c (62a14af86b7c6d555ad7970a442b317e852ef69ec396dabdf168a90270643256): \
        Error starting userland proxy: listen tcp4 127.0.0.1:23998: bind: address already in use\n\n\
        Run 'docker run --help' for more information";
    const START_PORT_BY_PROGRAM_20: &str = "Error response from daemon: driver failed programming external connectivity \
        on endpoint probe-a (21881e53c57e421109b85ad8012a548eca2aadd70dc95cbf66bfe5a5e361584a): \
        Error starting userland proxy: listen tcp4 127.0.0.1:23999: bind: address already in use\n\
        Error: failed to start containers: probe-a";
    const PORT_DESKTOP: &str = "Error response from daemon: Ports are not available: exposing port TCP \
        127.0.0.1:23456 -> 0.0.0.0:0: listen tcp 127.0.0.1:23456: bind: An attempt was made to access a socket \
        in a way forbidden by its access permissions.";
    /// What "already gone" really looks like: the case differs by engine, which is
    /// why uninstall asks `docker volume ls` / `docker ps` instead of matching these.
    const NO_VOLUME_28_ON_20: &str =
        "Error response from daemon: get claude-mem-valkey-data-93d0a59ef506: no such volume";
    const NO_VOLUME_20: &str = "Error: No such volume: no-such-vol-x";
    const NO_CONTAINER_20: &str = "Error response from daemon: No such container: nosuchcontainer";
    const VOLUME_IN_USE_20: &str = "Error response from daemon: remove probe-vol: volume is in use - \
        [4df425076c3be4b106f47a593f1deba1533b189ef6586c0715335c6193e5eedf]";
    const NAME_TAKEN_20: &str = "docker: Error response from daemon: Conflict. The container name \"/probe-a\" is \
        already in use by container \"4df425076c3be4b106f47a593f1deba1533b189ef6586c0715335c6193e5eedf\". \
        You have to remove (or rename) that container to be able to reuse that name.\n\n\
        Run 'docker run --help' for more information";
    const NO_IMAGE_28_ON_20: &str = "Error response from daemon: no such image: valkey/valkey:9.9.9: No such image: valkey/valkey:9.9.9";
    const PULL_OFFLINE_20: &str = "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: \
        lookup registry-1.docker.io on 10.255.255.53:53: no such host";

    #[test]
    fn sorts_docker_failures() {
        for down in [
            DOWN_28,
            PERMISSION_28,
            DESKTOP_500_28,
            DESKTOP_PIPE_27,
            DESKTOP_PIPE_OLD,
        ] {
            assert!(exit(down).engine_unreachable(), "{down}");
            assert!(!exit(down).port_taken(), "{down}");
        }
        for taken in [
            PORT_BY_CONTAINER_20,
            PORT_BY_PROGRAM_20,
            START_PORT_BY_PROGRAM_20,
            PORT_DESKTOP,
        ] {
            assert!(exit(taken).port_taken(), "{taken}");
            assert!(!exit(taken).engine_unreachable(), "{taken}");
        }
        // Failures that are neither: the engine answered. (None of these is matched
        // anywhere; what they mean is asked of Docker.)
        for other in [
            NO_VOLUME_28_ON_20,
            NO_VOLUME_20,
            NO_CONTAINER_20,
            VOLUME_IN_USE_20,
            NAME_TAKEN_20,
            NO_IMAGE_28_ON_20,
            PULL_OFFLINE_20,
        ] {
            assert!(!exit(other).engine_unreachable(), "{other}");
            assert!(!exit(other).port_taken(), "{other}");
        }
        assert!(!Failure::TimedOut.port_taken());
        assert!(!Failure::TimedOut.engine_unreachable());
        // The bug a real engine showed: "No such" never appears in engine 20.10's
        // answer for a missing volume.
        assert!(!exit(NO_VOLUME_28_ON_20).words().contains("No such"));
    }

    /// `explain` decides by asking the engine (the exit status of `docker version`),
    /// not by the words: `true` stands for a docker whose engine answers, `false` for
    /// one whose engine is gone.
    #[cfg(unix)]
    #[tokio::test]
    async fn explain_asks_the_engine_instead_of_reading_words() {
        let cmd: Vec<String> = vec!["volume".into(), "rm".into(), "x".into()];
        let t = Duration::from_secs(2);
        let answering = Docker {
            program: "/bin/true".into(),
        };
        let gone = Docker {
            program: "/bin/false".into(),
        };
        // Words no list knows, from a CLI whose engine then does not answer.
        let unknown = exit("some future wording: the engine went away");
        let e = gone
            .explain(&unknown, ErrorCode::StartFailed, &cmd, t)
            .await;
        assert_eq!(e.code, ErrorCode::DockerUnavailable, "{}", e.message);
        assert!(e.message.contains("Start Docker Desktop"), "{}", e.message);
        // The same words while the engine answers: Docker's own words, the given code.
        let e = answering
            .explain(&unknown, ErrorCode::StartFailed, &cmd, t)
            .await;
        assert_eq!(e.code, ErrorCode::StartFailed);
        assert!(e.message.contains("some future wording"), "{}", e.message);
        // A recognised "engine gone" needs no second question.
        let e = answering
            .explain(&exit(DOWN_28), ErrorCode::StartFailed, &cmd, t)
            .await;
        assert_eq!(e.code, ErrorCode::DockerUnavailable);
        let e = answering
            .explain(
                &exit(VOLUME_IN_USE_20),
                ErrorCode::DockerUnavailable,
                &cmd,
                t,
            )
            .await;
        assert!(e.message.contains("`docker volume rm` failed: Error response from daemon: remove probe-vol: volume is in use"), "{}", e.message);
    }

    #[test]
    fn words_keep_the_first_lines_of_dockers_answer() {
        assert_eq!(
            exit(START_PORT_BY_PROGRAM_20).words(),
            START_PORT_BY_PROGRAM_20.replace('\n', " | ")
        );
        assert_eq!(
            exit(PORT_BY_PROGRAM_20).words(),
            PORT_BY_PROGRAM_20.replace("\n\n", " |  | ")
        );
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
        for words in [DESKTOP_500_28, DESKTOP_PIPE_27] {
            let e = engine_down(&exit(words), t);
            assert_eq!(e.code, ErrorCode::DockerUnavailable);
            assert!(e.message.contains("Start Docker Desktop"), "{}", e.message);
        }
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
