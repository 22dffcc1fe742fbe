//! `planInstall()`: what would install a server on this machine, the exact
//! command, whether it needs root, and why. Valkey wherever the package manager
//! has a candidate, else Redis; Valkey's own Linux build where no manager fits;
//! Windows → Docker or an existing server.

use std::time::Duration;

use serde::Serialize;

use super::manifest::{Manifest, preferred_distro, valkey_arch};
use super::platform::{PackageManager, Platform};
use crate::blocking::off_worker;
use crate::server::flavor::Flavor;

/// How long a local package-index query may take (apt-cache, pacman -Si, apk search).
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct InstallPlan {
    /// `apt` | `dnf` | `yum` | `apk` | `pacman` | `brew` | `download` | `docker` | `external`.
    pub method: &'static str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<Flavor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The exact program and arguments installQueueStore() runs (without sudo).
    pub command: Vec<String>,
    /// What to type in a shell, `sudo` included when needed; absent when there is
    /// nothing to run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell_command: Option<String>,
    pub needs_sudo: bool,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<DownloadPlan>,
    pub platform: Platform,
}

/// The Valkey build the download method would fetch.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DownloadPlan {
    pub version: String,
    pub distro: String,
    pub arch: String,
    pub file: String,
    /// Whether the manifest pins its sha256 (else the published `.sha256` is used).
    pub hash_pinned: bool,
}

/// Whether `package` has an install candidate: `Some(true/false)` when the local
/// index could be asked, `None` when it could not.
pub type CandidateQuery<'a> = &'a dyn Fn(PackageManager, &str) -> Option<bool>;

/// The package names per manager: (Valkey's, Redis's).
pub fn package_names(m: PackageManager) -> (&'static str, &'static str) {
    match m {
        PackageManager::Apt => ("valkey-server", "redis-server"),
        _ => ("valkey", "redis"),
    }
}

pub fn install_argv(m: PackageManager, package: &str) -> Vec<String> {
    let args: &[&str] = match m {
        PackageManager::Apt => &["install", "-y"],
        PackageManager::Dnf | PackageManager::Yum => &["install", "-y"],
        PackageManager::Apk => &["add"],
        PackageManager::Pacman => &["-S", "--noconfirm", "--needed"],
        PackageManager::Brew => &["install"],
    };
    std::iter::once(m.program())
        .chain(args.iter().copied())
        .chain(std::iter::once(package))
        .map(str::to_string)
        .collect()
}

/// The plan for this platform, preferring its first package manager.
pub fn plan(platform: &Platform, query: CandidateQuery<'_>) -> InstallPlan {
    let download = download_plan(platform);
    match platform.os {
        "windows" => windows_plan(platform),
        "macos" => match platform.package_managers.contains(&PackageManager::Brew) {
            true => manager_plan(platform, PackageManager::Brew, query, download),
            false => InstallPlan {
                reason: "macOS without Homebrew: install Homebrew (https://brew.sh), then `brew install valkey`; \
                         or set CLAUDE_MEM_REDIS_URL to an existing server."
                    .into(),
                ..nothing(platform, "external")
            },
        },
        _ => match platform.package_managers.first() {
            Some(m) => manager_plan(platform, *m, query, download),
            None => match download {
                Some(d) => download_method(platform, d, "no supported package manager (apt, dnf, yum, apk, pacman, brew) was found"),
                None => InstallPlan {
                    reason: format!(
                        "no supported package manager was found and Valkey publishes no build for {} ({}). \
                         Install valkey-server or redis-server by hand, or set CLAUDE_MEM_REDIS_URL to an existing server.",
                        platform.arch,
                        platform.libc.unwrap_or("?")
                    ),
                    ..nothing(platform, "external")
                },
            },
        },
    }
}

/// `plan` with the real package-index queries, on tokio's blocking pool: a query runs
/// a package manager for up to `QUERY_TIMEOUT`, which must never stall the runtime's
/// one worker (and with it every other call and the watcher).
pub async fn plan_off_worker(platform: &Platform) -> InstallPlan {
    let platform = platform.clone();
    off_worker(move || plan(&platform, &query_candidate)).await
}

/// planInstall's answer for `method`: an explicit package manager's plan (with the
/// download as its alternative), else the platform's best plan.
pub async fn plan_for_method(platform: &Platform, method: super::Method) -> InstallPlan {
    match method {
        super::Method::Package(m) => {
            let download = download_plan(platform);
            manager_plan_off_worker(platform, m, download).await
        }
        _ => plan_off_worker(platform).await,
    }
}

/// `manager_plan` with the real queries, on the blocking pool (see `plan_off_worker`).
pub async fn manager_plan_off_worker(
    platform: &Platform,
    m: PackageManager,
    download: Option<DownloadPlan>,
) -> InstallPlan {
    let platform = platform.clone();
    off_worker(move || manager_plan(&platform, m, &query_candidate, download)).await
}

/// The plan for one manager (an explicit `method`, or the platform's first).
pub fn manager_plan(
    platform: &Platform,
    m: PackageManager,
    query: CandidateQuery<'_>,
    download: Option<DownloadPlan>,
) -> InstallPlan {
    let (valkey, redis) = package_names(m);
    let valkey_candidate = query(m, valkey);
    let (flavor, package, why) = match (m, valkey_candidate) {
        (_, Some(true)) => (
            Flavor::Valkey,
            valkey,
            format!("{} has a {valkey} candidate", m.as_str()),
        ),
        (PackageManager::Apt, Some(false)) | (PackageManager::Apt, None) => match query(m, redis) {
            Some(true) => (
                Flavor::Redis,
                redis,
                format!(
                    "apt has no {valkey} candidate, so Redis{}",
                    if platform.distro.as_deref() == Some("debian") {
                        " (on Debian 12 valkey-server is in bookworm-backports: enable that suite and run apt-get update to get Valkey instead)"
                    } else {
                        ""
                    }
                ),
            ),
            _ => {
                if let Some(d) = download {
                    return download_method(
                        platform,
                        d,
                        "apt has no candidate for valkey-server or redis-server (the package index may need `apt-get update`)",
                    );
                }
                (
                    Flavor::Redis,
                    redis,
                    "apt has no candidate for valkey-server or redis-server yet: run `apt-get update` first".to_string(),
                )
            }
        },
        (_, Some(false)) => (
            Flavor::Redis,
            redis,
            format!("{} has no {valkey} package, so Redis", m.as_str()),
        ),
        // Not asked (dnf/yum need network metadata) or not answerable: what the
        // current releases of each family carry.
        (PackageManager::Yum, None) => (
            Flavor::Redis,
            redis,
            "yum-based systems (EL7/8) carry redis, not valkey".to_string(),
        ),
        (_, None) => (
            Flavor::Valkey,
            valkey,
            format!("current {} repositories carry {valkey}", m.as_str()),
        ),
    };
    let command = install_argv(m, package);
    let needs_sudo = m.needs_root() && !platform.is_root;
    let shell = format!(
        "{}{}",
        if needs_sudo { "sudo " } else { "" },
        command.join(" ")
    );
    let root_note = match (m.needs_root(), platform.is_root) {
        (false, _) => "; Homebrew needs no root".to_string(),
        (true, true) => "; running as root, so no sudo is needed".to_string(),
        (true, false) => "; it writes system directories, so it needs root: run it with sudo or pass allowSudo: true".to_string(),
    };
    InstallPlan {
        method: m.as_str(),
        flavor: Some(flavor),
        package: Some(package.to_string()),
        command,
        shell_command: Some(shell),
        needs_sudo,
        reason: format!(
            "{why}{root_note}. Only the package is installed: claude-mem runs the server itself on a private port (no brew services, no systemctl)."
        ),
        download: download_plan(platform),
        platform: platform.clone(),
    }
}

fn download_method(platform: &Platform, d: DownloadPlan, why: &str) -> InstallPlan {
    InstallPlan {
        method: "download",
        flavor: Some(Flavor::Valkey),
        package: None,
        command: Vec::new(),
        shell_command: None,
        needs_sudo: false,
        reason: format!(
            "{why}; Valkey {} ({} build for {}) can be downloaded into ~/.claude-mem/bin/valkey/, verified and test-run, without root.",
            d.version, d.distro, d.arch
        ),
        download: Some(d),
        platform: platform.clone(),
    }
}

fn windows_plan(platform: &Platform) -> InstallPlan {
    if platform.docker {
        InstallPlan {
            reason: "Windows has no native Valkey/Redis build; Docker is installed, so use mode docker \
                     (CLAUDE_MEM_REDIS_MODE=docker) for a pinned valkey/valkey container, or set CLAUDE_MEM_REDIS_URL to an existing server."
                .into(),
            ..nothing(platform, "docker")
        }
    } else {
        InstallPlan {
            reason: "Windows has no native Valkey/Redis build and Docker is not installed: set CLAUDE_MEM_REDIS_URL \
                     to an existing server (or install Docker Desktop yourself and use mode docker)."
                .into(),
            ..nothing(platform, "external")
        }
    }
}

fn nothing(platform: &Platform, method: &'static str) -> InstallPlan {
    InstallPlan {
        method,
        flavor: None,
        package: None,
        command: Vec::new(),
        shell_command: None,
        needs_sudo: false,
        reason: String::new(),
        download: None,
        platform: platform.clone(),
    }
}

pub fn download_plan(platform: &Platform) -> Option<DownloadPlan> {
    if platform.os != "linux" || platform.libc != Some("gnu") {
        return None;
    }
    let arch = valkey_arch(platform.arch)?;
    let manifest = Manifest::builtin().ok()?;
    let distro = preferred_distro(
        platform.distro.as_deref(),
        platform.distro_version.as_deref(),
        platform.codename.as_deref(),
    );
    let a = manifest
        .find(&manifest.default_version, distro, arch)
        .ok()?;
    Some(DownloadPlan {
        version: a.version.clone(),
        distro: a.distro.clone(),
        arch: a.arch.clone(),
        file: a.file_name(),
        hash_pinned: a.pinned,
    })
}

/// Asks the local package index (no network): apt-cache policy, pacman -Si, apk
/// search. dnf and yum are not asked: theirs needs metadata downloads.
pub fn query_candidate(m: PackageManager, package: &str) -> Option<bool> {
    let (program, args): (&str, Vec<&str>) = match m {
        PackageManager::Apt => ("apt-cache", vec!["policy", package]),
        PackageManager::Pacman => ("pacman", vec!["-Si", package]),
        PackageManager::Apk => ("apk", vec!["search", "-e", package]),
        PackageManager::Brew => return Some(package == "valkey" || package == "redis"),
        PackageManager::Dnf | PackageManager::Yum => return None,
    };
    let output = run_with_timeout(program, &args, QUERY_TIMEOUT)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match m {
        PackageManager::Apt => {
            if !output.status.success() {
                return None;
            }
            Some(apt_has_candidate(&stdout))
        }
        PackageManager::Pacman => Some(output.status.success()),
        _ => Some(output.status.success() && !stdout.trim().is_empty()),
    }
}

/// `apt-cache policy` prints `  Candidate: 8.0.1+dfsg1-1~bpo12+1`, or `(none)`,
/// or nothing at all for an unknown package.
pub fn apt_has_candidate(policy: &str) -> bool {
    policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate:"))
        .is_some_and(|v| v.trim() != "(none)" && !v.trim().is_empty())
}

fn run_with_timeout(
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> Option<std::process::Output> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = std::time::Instant::now() + timeout;
    // Drain stdout on a thread so a chatty child cannot fill the pipe and stall.
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let stdout = reader.join().unwrap_or_default();
                return Some(std::process::Output {
                    status,
                    stdout,
                    stderr: Vec::new(),
                });
            }
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
