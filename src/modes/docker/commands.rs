//! The exact `docker` command lines Docker mode runs, built as argv vectors (no
//! shell on the host, so nothing to quote) and unit-tested one by one. Nothing in
//! this file runs anything.

use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, Result, StoreError};
use crate::server::acl::{self, ADMIN_USER, CLIENT_USER};
use crate::server::flavor::Flavor;
use crate::settings::secret::Secrets;

/// The image every Docker-mode store runs. An exact patch tag, never `latest` or a
/// bare major, so every machine runs the same server and an upgrade is a reviewed
/// change to this line. 8.1.11 (2026-10-26) is the newest patch of the 8.x line,
/// the major the test suite runs against (valkey-server 8.0 from
/// bookworm-backports), and is published as `valkey/valkey:8.1.11` on Docker Hub
/// (valkey.io/download/releases/v8-1-11). The default (Debian) variant: its
/// entrypoint is the one the script below relies on.
pub const IMAGE: &str = "valkey/valkey:8.1.11";

/// Marks a container (and nothing else) as a claude-mem queue store.
pub const LABEL_STORE: &str = "com.claude-mem.store";
/// The data dir the container serves: one store per data dir, like managed mode.
pub const LABEL_DATA_DIR: &str = "com.claude-mem.data-dir";
/// The host port it is published on; read back to reconnect after a restart.
pub const LABEL_PORT: &str = "com.claude-mem.port";

/// The port Valkey listens on inside the container (only ever published on the
/// host's 127.0.0.1, on a private port).
pub const CONTAINER_PORT: u16 = 6379;

/// The environment variables that carry the two passwords (`settings::secret`)
/// into the container. They are read from an `--env-file` by the docker CLI, so
/// they never appear in any argv.
pub const PASSWORD_ENV: &str = "CLAUDE_MEM_VALKEY_PASSWORD";
pub const ADMIN_PASSWORD_ENV: &str = "CLAUDE_MEM_VALKEY_ADMIN_PASSWORD";
/// The server the pinned image runs, for its ACL rules (`server::acl`).
const IMAGE_FLAVOR: Flavor = Flavor::Valkey;
const IMAGE_VERSION: &str = "8.1.11";

/// Where the script writes the two users for the server to read: on the named
/// volume, which only root and the container can read on the host.
const AUTH_CONF: &str = "/data/claude-mem-auth.conf";

/// The container's command, run by `sh -c` inside the image (never on the host).
///
/// Why a script: `valkey-server --requirepass X` would put a password in the
/// server's argv, and a container's processes are host processes on Linux, so
/// every local user could read it with `ps`. Instead the passwords arrive in the
/// environment (from `--env-file`), the shell's `printf` builtin writes the two
/// ACL users the managed store has (`server::acl`) to a 0600 config file (no new
/// process, so no argv), the variables are unset, and the image's own entrypoint
/// then starts the server with that file. The entrypoint
/// chowns `/data` to the `valkey` user and drops root before exec'ing the server.
/// The other settings are the managed store's (AOF everysec, `save 60 1`,
/// noeviction) and are not secret, so they stay visible in `docker inspect`.
pub fn container_script() -> String {
    [
        "set -eu".to_string(),
        "umask 077".to_string(),
        format!(
            "[ -n \"${{{PASSWORD_ENV}:-}}\" ] && [ -n \"${{{ADMIN_PASSWORD_ENV}:-}}\" ] || {{ echo 'claude-mem-store: no passwords were given; refusing to start without them' >&2; exit 64; }}"
        ),
        format!(
            "printf 'user {CLIENT_USER} on >%s {client}\\nuser {ADMIN_USER} on >%s {admin}\\n' \"${PASSWORD_ENV}\" \"${ADMIN_PASSWORD_ENV}\" > {AUTH_CONF}",
            client = acl::client_rules(IMAGE_FLAVOR, IMAGE_VERSION)
                .expect("the pinned image has ACL users")
                .join(" "),
            admin = acl::admin_rules().join(" "),
        ),
        format!("unset {PASSWORD_ENV} {ADMIN_PASSWORD_ENV}"),
        format!(
            "exec docker-entrypoint.sh valkey-server {AUTH_CONF} --port {CONTAINER_PORT} --dir /data \
             --appendonly yes --appendfsync everysec --save 60 1 --maxmemory-policy noeviction"
        ),
    ]
    .join("\n")
}

/// The Docker names of one data dir's store. The hash keeps names short, valid
/// for Docker (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`) and distinct per data dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub container: String,
    pub volume: String,
    /// The data dir as written in the `com.claude-mem.data-dir` label.
    pub data_dir: String,
}

impl Names {
    pub fn for_data_dir(data_dir: &Path) -> Result<Names> {
        let text = data_dir.to_str().ok_or_else(|| {
            StoreError::new(
                ErrorCode::BadSettings,
                format!(
                    "the data dir {} is not valid UTF-8, which a Docker label cannot hold. \
                     Set CLAUDE_MEM_DATA_DIR to a plain path.",
                    data_dir.display()
                ),
            )
        })?;
        let digest = Sha256::digest(text.as_bytes());
        let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Ok(Names {
            container: format!("claude-mem-valkey-{short}"),
            volume: format!("claude-mem-valkey-data-{short}"),
            data_dir: text.to_string(),
        })
    }
}

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// Fails when the engine does not answer (the CLI alone succeeds on `--version`).
pub fn engine_version() -> Vec<String> {
    argv(&["version", "--format", "{{.Server.Version}}"])
}

/// One JSON object per line, built by the template itself: `{{json .}}` would give
/// all labels as one `k=v,k=v` string, which a data dir holding a comma would break.
pub const PS_FORMAT: &str = concat!(
    r#"{"id":{{json .ID}},"name":{{json .Names}},"image":{{json .Image}},"state":{{json .State}},"#,
    r#""port":{{json (.Label "com.claude-mem.port")}},"dataDir":{{json (.Label "com.claude-mem.data-dir")}}}"#
);

/// Our store's container for this data dir, in any state. Both label filters must
/// match (Docker ANDs them).
pub fn find(names: &Names) -> Vec<String> {
    vec![
        "ps".into(),
        "--all".into(),
        "--no-trunc".into(),
        "--filter".into(),
        format!("label={LABEL_STORE}=1"),
        "--filter".into(),
        format!("label={LABEL_DATA_DIR}={}", names.data_dir),
        "--format".into(),
        PS_FORMAT.into(),
    ]
}

/// What holds our container name, in any state, labelled or not: Docker's name
/// filter is a regular expression on the name with its leading slash, so this is
/// an exact match. Asked after a `docker run` failed, instead of reading Docker's
/// words ("Conflict. The container name … is already in use").
pub fn by_name(names: &Names) -> Vec<String> {
    vec![
        "ps".into(),
        "--all".into(),
        "--no-trunc".into(),
        "--filter".into(),
        format!("name=^/{}$", names.container),
        "--format".into(),
        NAME_FORMAT.into(),
    ]
}

/// `by_name`'s template: enough to tell our container from someone else's.
pub const NAME_FORMAT: &str = concat!(
    r#"{"id":{{json .ID}},"name":{{json .Names}},"store":{{json (.Label "com.claude-mem.store")}},"#,
    r#""dataDir":{{json (.Label "com.claude-mem.data-dir")}}}"#
);

/// The volumes whose name matches `volume` (a regular expression to Docker, so the
/// caller compares each line exactly). Exit status 0 means the engine answered;
/// whether the volume exists is in the list, not in any error text.
pub fn volume_list(volume: &str) -> Vec<String> {
    vec![
        "volume".into(),
        "ls".into(),
        "--quiet".into(),
        "--filter".into(),
        format!("name={volume}"),
    ]
}

/// The containers (any state) that mount `volume`.
pub fn volume_users(volume: &str) -> Vec<String> {
    vec![
        "ps".into(),
        "--all".into(),
        "--no-trunc".into(),
        "--quiet".into(),
        "--filter".into(),
        format!("volume={volume}"),
    ]
}

pub fn image_present() -> Vec<String> {
    argv(&["image", "inspect", "--format", "{{.Id}}", IMAGE])
}

pub fn pull() -> Vec<String> {
    argv(&["pull", IMAGE])
}

/// Creates and starts the store's container.
///
/// - published on `127.0.0.1` only: never reachable from the network;
/// - the named volume holds `/data` (AOF and RDB), so removing the container never
///   loses the queue;
/// - `--restart no`: like the managed sidecar, the store runs when claude-mem
///   starts it, not whenever the Docker engine starts (at every login/boot with
///   Docker Desktop), and a store stopped with `stopQueueStore` stays stopped.
///   A crashed store is started again by the next `ensureQueueStoreStarted`.
pub fn run(names: &Names, port: u16, env_file: &Path) -> Vec<String> {
    vec![
        "run".into(),
        "--detach".into(),
        "--name".into(),
        names.container.clone(),
        "--label".into(),
        format!("{LABEL_STORE}=1"),
        "--label".into(),
        format!("{LABEL_DATA_DIR}={}", names.data_dir),
        "--label".into(),
        format!("{LABEL_PORT}={port}"),
        "--publish".into(),
        format!("127.0.0.1:{port}:{CONTAINER_PORT}"),
        "--volume".into(),
        format!("{}:/data", names.volume),
        "--env-file".into(),
        env_file.display().to_string(),
        "--restart".into(),
        "no".into(),
        IMAGE.into(),
        "sh".into(),
        "-c".into(),
        container_script(),
    ]
}

/// The env file `run` reads the password from (written 0600 by the caller).
pub fn env_file_contents(secrets: &Secrets) -> String {
    format!(
        "{PASSWORD_ENV}={}\n{ADMIN_PASSWORD_ENV}={}\n",
        secrets.client,
        secrets.admin.as_deref().unwrap_or_default()
    )
}

pub fn start(id: &str) -> Vec<String> {
    argv(&["start", id])
}

pub fn unpause(id: &str) -> Vec<String> {
    argv(&["unpause", id])
}

/// `docker stop` sends SIGTERM (Valkey then fsyncs the AOF and exits) and SIGKILL
/// after `grace`. `-t` is spelt short: its long form was renamed across versions.
pub fn stop(id: &str, grace: Duration) -> Vec<String> {
    let secs = grace.as_secs().max(1).to_string();
    argv(&["stop", "-t", &secs, id])
}

/// Removes a container (stopped first by the caller); the volume is kept.
pub fn remove(id: &str) -> Vec<String> {
    argv(&["rm", "--force", id])
}

pub fn remove_volume(volume: &str) -> Vec<String> {
    argv(&["volume", "rm", volume])
}

pub fn logs_tail(id: &str) -> Vec<String> {
    argv(&["logs", "--tail", "30", id])
}

/// How long uninstall lets the server flush its AOF before `docker stop` kills it.
pub const UNINSTALL_STOP_GRACE: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::for_data_dir(Path::new("/home/u/.claude-mem")).unwrap()
    }

    #[test]
    fn names_are_stable_short_and_differ_by_data_dir() {
        let a = names();
        assert_eq!(a, names());
        assert!(a.container.starts_with("claude-mem-valkey-"));
        assert_eq!(a.container.len(), "claude-mem-valkey-".len() + 12);
        assert_eq!(
            a.volume,
            a.container
                .replace("claude-mem-valkey-", "claude-mem-valkey-data-")
        );
        assert_eq!(a.data_dir, "/home/u/.claude-mem");
        let b = Names::for_data_dir(Path::new("/home/v/.claude-mem")).unwrap();
        assert_ne!(a.container, b.container);
        let valid = |s: &str| {
            s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c))
        };
        assert!(valid(&a.container) && valid(&a.volume));
    }

    #[test]
    fn run_publishes_on_loopback_only_with_the_pinned_image_volume_and_labels() {
        let n = names();
        let cmd = run(&n, 23456, Path::new("/home/u/.claude-mem/redis/docker.env"));
        let expected: Vec<String> = [
            "run",
            "--detach",
            "--name",
            &n.container,
            "--label",
            "com.claude-mem.store=1",
            "--label",
            "com.claude-mem.data-dir=/home/u/.claude-mem",
            "--label",
            "com.claude-mem.port=23456",
            "--publish",
            "127.0.0.1:23456:6379",
            "--volume",
            &format!("{}:/data", n.volume),
            "--env-file",
            "/home/u/.claude-mem/redis/docker.env",
            "--restart",
            "no",
            "valkey/valkey:8.1.11",
            "sh",
            "-c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(cmd[..cmd.len() - 1], expected[..]);
        assert_eq!(cmd.last().unwrap(), &container_script());
    }

    #[test]
    fn the_script_sets_the_stores_settings_and_keeps_the_password_out_of_argv() {
        let s = container_script();
        assert!(s.contains(
            "exec docker-entrypoint.sh valkey-server /data/claude-mem-auth.conf --port 6379 --dir /data \
             --appendonly yes --appendfsync everysec --save 60 1 --maxmemory-policy noeviction"
        ));
        assert!(s.contains("printf 'user default on >%s ~* &* -@all +ping +client|setname"));
        assert!(s.contains(
            "\\nuser claude-mem-store on >%s ~* &* +@all\\n' \"$CLAUDE_MEM_VALKEY_PASSWORD\" \"$CLAUDE_MEM_VALKEY_ADMIN_PASSWORD\" > /data/claude-mem-auth.conf"
        ));
        assert!(s.contains("umask 077"));
        assert!(s.contains("unset CLAUDE_MEM_VALKEY_PASSWORD CLAUDE_MEM_VALKEY_ADMIN_PASSWORD"));
        // The passwords are only ever referenced, never written into the command.
        assert!(!s.contains("--requirepass"));
        let secrets = Secrets {
            client: "abc123".into(),
            admin: Some("def456".into()),
        };
        assert_eq!(
            env_file_contents(&secrets),
            "CLAUDE_MEM_VALKEY_PASSWORD=abc123\nCLAUDE_MEM_VALKEY_ADMIN_PASSWORD=def456\n"
        );
    }

    #[test]
    fn find_filters_on_both_labels() {
        let cmd = find(&names());
        assert_eq!(
            cmd[..7],
            [
                "ps",
                "--all",
                "--no-trunc",
                "--filter",
                "label=com.claude-mem.store=1",
                "--filter",
                "label=com.claude-mem.data-dir=/home/u/.claude-mem"
            ]
        );
        assert_eq!(cmd[7..], ["--format", PS_FORMAT]);
    }

    #[test]
    fn small_commands() {
        assert_eq!(
            engine_version(),
            ["version", "--format", "{{.Server.Version}}"]
        );
        assert_eq!(
            image_present(),
            [
                "image",
                "inspect",
                "--format",
                "{{.Id}}",
                "valkey/valkey:8.1.11"
            ]
        );
        assert_eq!(pull(), ["pull", "valkey/valkey:8.1.11"]);
        assert_eq!(start("abc"), ["start", "abc"]);
        assert_eq!(unpause("abc"), ["unpause", "abc"]);
        assert_eq!(
            stop("abc", Duration::from_millis(300)),
            ["stop", "-t", "1", "abc"]
        );
        assert_eq!(
            stop("abc", Duration::from_secs(15)),
            ["stop", "-t", "15", "abc"]
        );
        assert_eq!(remove("abc"), ["rm", "--force", "abc"]);
        assert_eq!(logs_tail("abc"), ["logs", "--tail", "30", "abc"]);
    }

    #[test]
    fn lookups_by_name_and_volume_are_exact_and_structured() {
        let n = names();
        assert_eq!(
            by_name(&n),
            [
                "ps",
                "--all",
                "--no-trunc",
                "--filter",
                &format!("name=^/{}$", n.container),
                "--format",
                NAME_FORMAT
            ]
        );
        assert_eq!(
            volume_list(&n.volume),
            [
                "volume",
                "ls",
                "--quiet",
                "--filter",
                &format!("name={}", n.volume)
            ]
        );
        assert_eq!(
            volume_users(&n.volume),
            [
                "ps",
                "--all",
                "--no-trunc",
                "--quiet",
                "--filter",
                &format!("volume={}", n.volume)
            ]
        );
        // Our names hold no regular-expression metacharacters, so the filters are exact.
        assert!(
            n.container
                .bytes()
                .chain(n.volume.bytes())
                .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        );
        assert_eq!(
            stop("abc", UNINSTALL_STOP_GRACE),
            ["stop", "-t", "10", "abc"]
        );
        assert_eq!(
            remove_volume(&n.volume),
            ["volume", "rm", n.volume.as_str()]
        );
    }

    #[test]
    fn the_ps_template_is_one_json_object() {
        for f in [PS_FORMAT, NAME_FORMAT] {
            assert!(f.starts_with('{') && f.ends_with('}'));
            assert!(!f.contains('\n'));
        }
    }
}
