//! What machine we are on: OS, CPU, Linux distribution (from `/etc/os-release`),
//! libc, whether we are root, and which package managers are present. Pure facts,
//! gathered once, so planning is a plain function of them (and unit-tested).

use std::path::{Path, PathBuf};

use serde::Serialize;

/// The package managers we know how to drive, in the order we prefer them on Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    Apt,
    Dnf,
    Yum,
    Apk,
    Pacman,
    Brew,
}

impl PackageManager {
    pub const ALL: [PackageManager; 6] = [
        PackageManager::Apt,
        PackageManager::Dnf,
        PackageManager::Yum,
        PackageManager::Apk,
        PackageManager::Pacman,
        PackageManager::Brew,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PackageManager::Apt => "apt",
            PackageManager::Dnf => "dnf",
            PackageManager::Yum => "yum",
            PackageManager::Apk => "apk",
            PackageManager::Pacman => "pacman",
            PackageManager::Brew => "brew",
        }
    }

    pub fn parse(s: &str) -> Option<PackageManager> {
        PackageManager::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The program that installs (apt's is `apt-get`: stable for scripts, unlike `apt`).
    pub fn program(self) -> &'static str {
        match self {
            PackageManager::Apt => "apt-get",
            other => other.as_str(),
        }
    }

    /// Homebrew refuses to run as root and installs into a user-owned prefix; every
    /// other manager writes system directories and needs root.
    pub fn needs_root(self) -> bool {
        self != PackageManager::Brew
    }
}

/// The facts planning depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    /// `linux`, `macos`, `windows`, …
    pub os: &'static str,
    /// `x86_64`, `aarch64`, …
    pub arch: &'static str,
    /// `/etc/os-release` `ID`, e.g. `debian`, `ubuntu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro_version: Option<String>,
    /// `VERSION_CODENAME`, e.g. `bookworm`, `noble`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// `ID_LIKE`, e.g. `debian` on Ubuntu.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distro_like: Vec<String>,
    /// `gnu` or `musl` on Linux: Valkey's tarballs are glibc builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libc: Option<&'static str>,
    pub is_root: bool,
    /// Present package managers, preferred first.
    pub package_managers: Vec<PackageManager>,
    /// Whether a `docker` program is on PATH (not whether its daemon runs).
    pub docker: bool,
}

impl Platform {
    pub fn detect() -> Platform {
        let os_release = std::fs::read_to_string("/etc/os-release")
            .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
            .unwrap_or_default();
        let fields = parse_os_release(&os_release);
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let os = std::env::consts::OS;
        Platform {
            os,
            arch: std::env::consts::ARCH,
            distro: get("ID"),
            distro_version: get("VERSION_ID"),
            codename: get("VERSION_CODENAME").or_else(|| get("UBUNTU_CODENAME")),
            distro_like: get("ID_LIKE")
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            libc: (os == "linux").then_some(if cfg!(target_env = "musl") {
                "musl"
            } else {
                "gnu"
            }),
            is_root: is_root(),
            package_managers: PackageManager::ALL
                .into_iter()
                .filter(|m| find_program(m.program()).is_some())
                .collect(),
            docker: find_program("docker").is_some(),
        }
    }

    pub fn is_ubuntu_or_debian(&self) -> bool {
        let is =
            |d: &str| self.distro.as_deref() == Some(d) || self.distro_like.iter().any(|l| l == d);
        is("debian") || is("ubuntu")
    }
}

/// `KEY=value` / `KEY="value"` lines of os-release(5).
pub fn parse_os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (k, v) = line.split_once('=')?;
            let v = v.trim().trim_matches('"').trim_matches('\'');
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(unix)]
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(not(unix))]
pub fn is_root() -> bool {
    false
}

/// A program on PATH, or in the Homebrew prefixes (often missing from PATH of GUI
/// apps and non-login shells).
pub fn find_program(name: &str) -> Option<PathBuf> {
    if let Ok(p) = which::which(name) {
        return Some(p);
    }
    [
        "/opt/homebrew/bin",
        "/usr/local/bin",
        "/home/linuxbrew/.linuxbrew/bin",
    ]
    .iter()
    .map(|d| Path::new(d).join(name))
    .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_is_parsed_with_and_without_quotes() {
        let f = parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n# c\nVERSION_CODENAME=bookworm\n",
        );
        assert!(f.contains(&("ID".into(), "debian".into())));
        assert!(f.contains(&("VERSION_ID".into(), "12".into())));
        assert!(f.contains(&("VERSION_CODENAME".into(), "bookworm".into())));
    }

    #[test]
    fn managers_round_trip_their_names() {
        for m in PackageManager::ALL {
            assert_eq!(PackageManager::parse(m.as_str()), Some(m));
        }
        assert_eq!(PackageManager::Apt.program(), "apt-get");
        assert!(!PackageManager::Brew.needs_root());
    }
}
