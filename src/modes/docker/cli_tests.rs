//! Tests of `cli.rs` (kept beside it so that the code reads on its own).

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
const DOWN_28: &str =
    "Cannot connect to the Docker daemon at unix:///tmp/nope.sock. Is the docker daemon running?";
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
