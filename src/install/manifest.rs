//! The compiled-in manifest of Valkey artifacts (`manifest.toml`): version ×
//! distro × arch → file name and sha256, and which of those hashes are pinned.

use serde::Deserialize;

use crate::error::{ErrorCode, Result, StoreError};

const MANIFEST_TOML: &str = include_str!("manifest.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub base_url: String,
    pub default_version: String,
    #[serde(rename = "artifact")]
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Artifact {
    pub version: String,
    /// Ubuntu codename the artifact was built on: `jammy` or `noble`.
    pub distro: String,
    /// Valkey's arch names: `x86_64`, `arm64`.
    pub arch: String,
    /// Lowercase hex; empty when not pinned.
    pub sha256: String,
    /// Whether `sha256` came from a source that could be checked.
    pub pinned: bool,
}

impl Artifact {
    /// `valkey-<version>-<distro>-<arch>`: the tarball's stem and its top directory.
    pub fn stem(&self) -> String {
        format!("valkey-{}-{}-{}", self.version, self.distro, self.arch)
    }

    pub fn file_name(&self) -> String {
        format!("{}.tar.gz", self.stem())
    }
}

impl Manifest {
    /// The manifest compiled into this build. It is checked by a unit test, so a
    /// broken one can only be a build that skipped its tests: still an error, not a panic.
    pub fn builtin() -> Result<Manifest> {
        Manifest::parse(MANIFEST_TOML)
    }

    pub fn parse(text: &str) -> Result<Manifest> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            StoreError::new(
                ErrorCode::Internal,
                format!("the built-in Valkey manifest is invalid ({e}); please report this."),
            )
        })?;
        for a in &manifest.artifacts {
            let hex_ok = a.sha256.len() == 64 && a.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            let consistent = if a.pinned {
                hex_ok
            } else {
                a.sha256.is_empty()
            };
            let safe_names = [&a.version, &a.distro, &a.arch].iter().all(|s| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
            });
            if !consistent || !safe_names {
                return Err(StoreError::new(
                    ErrorCode::Internal,
                    format!(
                        "the built-in Valkey manifest entry {} is inconsistent (a pinned entry needs a 64-hex sha256, an unpinned one an empty one); please report this.",
                        a.stem()
                    ),
                ));
            }
        }
        Ok(manifest)
    }

    pub fn versions(&self) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for a in &self.artifacts {
            if !v.contains(&a.version) {
                v.push(a.version.clone());
            }
        }
        v
    }

    /// The artifact for `version` on `distro`/`arch`, or `E_UNSUPPORTED` naming what exists.
    pub fn find(&self, version: &str, distro: &str, arch: &str) -> Result<&Artifact> {
        self.artifacts
            .iter()
            .find(|a| a.version == version && a.distro == distro && a.arch == arch)
            .ok_or_else(|| {
                StoreError::new(
                    ErrorCode::Unsupported,
                    format!(
                        "no Valkey {version} artifact for {distro}/{arch} in this build's manifest. Versions available: {}; distros jammy, noble; arches x86_64, arm64. \
                         Otherwise install with your package manager (see planInstall()).",
                        self.versions().join(", ")
                    ),
                )
            })
    }
}

/// Valkey's arch name for a Rust `std::env::consts::ARCH`.
pub fn valkey_arch(rust_arch: &str) -> Option<&'static str> {
    match rust_arch {
        "x86_64" => Some("x86_64"),
        "aarch64" => Some("arm64"),
        _ => None,
    }
}

/// Which build fits this Linux best: noble (glibc 2.39) only where the system is at
/// least that new; otherwise jammy (glibc 2.35), which runs on more systems (Debian
/// 12 included). The test-run catches the cases this guess gets wrong.
pub fn preferred_distro(
    distro: Option<&str>,
    version_id: Option<&str>,
    codename: Option<&str>,
) -> &'static str {
    let major: Option<u32> = version_id
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok());
    match (distro, codename) {
        (_, Some("noble" | "oracular" | "plucky" | "questing" | "trixie" | "forky")) => "noble",
        (Some("ubuntu"), _) if major.is_some_and(|m| m >= 24) => "noble",
        (Some("debian"), _) if major.is_some_and(|m| m >= 13) => "noble",
        _ => "jammy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses_and_has_the_default_everywhere() {
        let m = Manifest::builtin().unwrap();
        for distro in ["jammy", "noble"] {
            for arch in ["x86_64", "arm64"] {
                let a = m.find(&m.default_version, distro, arch).unwrap();
                assert_eq!(
                    a.file_name(),
                    format!("valkey-{}-{distro}-{arch}.tar.gz", m.default_version)
                );
            }
        }
        assert!(m.base_url.starts_with("https://"));
    }

    #[test]
    fn pinned_needs_a_hash_and_unpinned_none() {
        let entry = |sha: &str, pinned: bool| {
            format!(
                "base_url='https://x/'\ndefault_version='1.0.0'\n[[artifact]]\nversion='1.0.0'\ndistro='jammy'\narch='x86_64'\nsha256='{sha}'\npinned={pinned}\n"
            )
        };
        let hex = "a".repeat(64);
        assert!(Manifest::parse(&entry(&hex, true)).is_ok());
        assert!(Manifest::parse(&entry("", false)).is_ok());
        assert!(Manifest::parse(&entry("", true)).is_err());
        assert!(Manifest::parse(&entry(&hex, false)).is_err());
        assert!(Manifest::parse(&entry("zz", true)).is_err());
        assert!(Manifest::parse("not toml [").is_err());
    }

    #[test]
    fn unknown_version_is_unsupported_and_lists_what_exists() {
        let m = Manifest::builtin().unwrap();
        let e = m.find("1.2.3", "jammy", "x86_64").unwrap_err();
        assert_eq!(e.code, ErrorCode::Unsupported);
        assert!(e.message.contains(&m.default_version));
    }

    #[test]
    fn distro_choice() {
        assert_eq!(
            preferred_distro(Some("debian"), Some("12"), Some("bookworm")),
            "jammy"
        );
        assert_eq!(
            preferred_distro(Some("ubuntu"), Some("24.04"), Some("noble")),
            "noble"
        );
        assert_eq!(
            preferred_distro(Some("ubuntu"), Some("22.04"), Some("jammy")),
            "jammy"
        );
        assert_eq!(preferred_distro(Some("debian"), Some("13"), None), "noble");
        assert_eq!(preferred_distro(None, None, None), "jammy");
        assert_eq!(valkey_arch("aarch64"), Some("arm64"));
        assert_eq!(valkey_arch("riscv64"), None);
    }
}
