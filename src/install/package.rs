//! Running a package-manager install — only when allowed: already root, or the
//! caller passed `allowSudo`. Never `brew services`, `systemctl` or anything but
//! the one install command. A service the package started on 6379 is not ours:
//! it is left alone and reported.

use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;

use super::plan::InstallPlan;
use super::platform::{PackageManager, find_program};
use super::progress::{Phase, Progress, ProgressEvent};
use crate::error::{ErrorCode, Result, StoreError};
use crate::server::port::port_holder;
use crate::settings::GLOBAL_REDIS_PORT;

/// Lines of output kept for the result and for error messages.
const TAIL_LINES: usize = 30;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageOutcome {
    /// What ran, `sudo` included.
    pub command: Vec<String>,
    pub output_tail: String,
    /// A server listening on 6379 after the install; never ours, never touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_on_6379: Option<ForeignService>,
    pub notices: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ForeignService {
    pub port: u16,
    pub held_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Whether it was not listening before the install (so the package started it).
    pub started_by_install: bool,
}

pub async fn install(
    plan: &InstallPlan,
    manager: PackageManager,
    allow_sudo: bool,
    timeout: Duration,
    progress: &Progress,
) -> Result<PackageOutcome> {
    let Some(shell) = plan.shell_command.clone() else {
        return Err(StoreError::new(
            ErrorCode::Internal,
            "a package plan without a command; please report this.",
        ));
    };
    let mut argv = plan.command.clone();
    if plan.needs_sudo {
        if !allow_sudo {
            return Err(needs_sudo(&shell, "it needs root"));
        }
        if find_program("sudo").is_none() {
            return Err(needs_sudo(
                &shell,
                "it needs root and sudo is not installed",
            ));
        }
        argv.insert(0, "sudo".into());
    }
    let busy_before = listening(GLOBAL_REDIS_PORT);
    progress(ProgressEvent::phase(
        Phase::Package,
        format!("running {}", argv.join(" ")),
    ));
    let mut cmd = tokio::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        // sudo, if it must ask, asks on the terminal (/dev/tty), never on our stdin.
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if manager == PackageManager::Apt {
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
    }
    if manager == PackageManager::Brew {
        // `brew install` may print caveats suggesting `brew services start`; we
        // never run that, and an auto-update would only make this slower.
        cmd.env("HOMEBREW_NO_AUTO_UPDATE", "1");
    }
    let child = cmd.spawn().map_err(|e| {
        StoreError::new(
            ErrorCode::InstallFailed,
            format!("could not run {}: {e}. Run `{shell}` yourself.", argv[0]),
        )
    })?;
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            return Err(StoreError::new(
                ErrorCode::InstallFailed,
                format!(
                    "`{}` failed to run: {e}. Run `{shell}` yourself.",
                    argv.join(" ")
                ),
            ));
        }
        Err(_) => {
            return Err(StoreError::new(
                ErrorCode::Timeout,
                format!(
                    "`{}` did not finish within {} s and was stopped. Run `{shell}` yourself.",
                    argv.join(" "),
                    timeout.as_secs()
                ),
            ));
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let output_tail = tail_lines(&text, TAIL_LINES);
    if !output.status.success() {
        let lower = text.to_ascii_lowercase();
        if plan.needs_sudo
            && (lower.contains("a password is required")
                || lower.contains("a terminal is required")
                || lower.contains("no tty present")
                || lower.contains("incorrect password"))
        {
            return Err(needs_sudo(&shell, "sudo could not get a password here"));
        }
        return Err(StoreError::new(
            ErrorCode::InstallFailed,
            format!(
                "`{}` exited with status {}. Its last lines:\n{output_tail}\nFix what it says, or run `{shell}` yourself.",
                argv.join(" "),
                output
                    .status
                    .code()
                    .map_or("none".into(), |c| c.to_string())
            ),
        ));
    }
    let mut notices = Vec::new();
    let service_on_6379 = if listening(GLOBAL_REDIS_PORT) {
        let holder = port_holder(GLOBAL_REDIS_PORT);
        let stop_hint = match manager {
            PackageManager::Brew => format!(
                "`brew services stop {}`",
                plan.package.as_deref().unwrap_or("valkey")
            ),
            _ => format!(
                "`sudo systemctl disable --now {}`",
                plan.package.as_deref().unwrap_or("valkey-server")
            ),
        };
        notices.push(if busy_before {
            format!(
                "a server was already listening on 127.0.0.1:{GLOBAL_REDIS_PORT} ({}); it is not claude-mem's and was left alone.",
                holder.describe()
            )
        } else {
            format!(
                "the package manager started a service on 127.0.0.1:{GLOBAL_REDIS_PORT} ({}). It is not claude-mem's and was left alone: \
                 claude-mem runs its own server on a private port. If you do not want it, stop it with {stop_hint}.",
                holder.describe()
            )
        });
        Some(ForeignService {
            port: GLOBAL_REDIS_PORT,
            held_by: holder.describe(),
            pid: holder.pid,
            started_by_install: !busy_before,
        })
    } else {
        None
    };
    progress(ProgressEvent::phase(
        Phase::Done,
        format!(
            "{} installed",
            plan.package.as_deref().unwrap_or("the package")
        ),
    ));
    Ok(PackageOutcome {
        command: argv,
        output_tail,
        service_on_6379,
        notices,
    })
}

pub fn needs_sudo(shell: &str, why: &str) -> StoreError {
    StoreError::new(
        ErrorCode::NeedsSudo,
        format!(
            "installing the server was not attempted: {why}. Run `{shell}` yourself, or call installQueueStore({{ allowSudo: true }}) \
             (claude-mem never runs sudo unless asked)."
        ),
    )
}

fn listening(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

pub fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::platform::Platform;

    #[test]
    fn tails_keep_the_last_lines() {
        assert_eq!(tail_lines("a\n\nb\nc\n", 2), "b\nc");
        assert_eq!(tail_lines("", 3), "");
    }

    #[tokio::test]
    async fn without_root_or_allow_sudo_nothing_runs() {
        let plan = InstallPlan {
            method: "apt",
            flavor: None,
            package: Some("valkey-server".into()),
            command: vec!["/nonexistent/apt-get".into(), "install".into()],
            shell_command: Some("sudo apt-get install -y valkey-server".into()),
            needs_sudo: true,
            reason: String::new(),
            download: None,
            platform: Platform::detect(),
        };
        let e = install(
            &plan,
            PackageManager::Apt,
            false,
            Duration::from_secs(5),
            &crate::install::progress::silent(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::NeedsSudo);
        assert!(
            e.message
                .contains("`sudo apt-get install -y valkey-server`"),
            "{}",
            e.message
        );
    }

    #[tokio::test]
    async fn a_failing_install_reports_its_output_tail() {
        let plan = InstallPlan {
            method: "apt",
            flavor: None,
            package: Some("x".into()),
            command: vec![
                "sh".into(),
                "-c".into(),
                "echo first; echo 'E: Unable to locate package x' >&2; exit 100".into(),
            ],
            shell_command: Some("apt-get install -y x".into()),
            needs_sudo: false,
            reason: String::new(),
            download: None,
            platform: Platform::detect(),
        };
        let e = install(
            &plan,
            PackageManager::Apt,
            false,
            Duration::from_secs(5),
            &crate::install::progress::silent(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InstallFailed);
        assert!(
            e.message.contains("Unable to locate package x"),
            "{}",
            e.message
        );
        assert!(e.message.contains("100"), "{}", e.message);
    }
}
