//! One server binary: where it is, what it says it is (`--version`), and where we
//! found it. A binary that names a server we do not know (`KeyDB server v=6.3.4`)
//! is kept as `Flavor::Unknown` with that name; whether it can hold the store is
//! found out when it runs (`modes::managed::start`).

pub mod bundled;
pub mod cache;
pub mod search;
pub mod sha256;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::error::{ErrorCode, Result, StoreError};
use crate::server::flavor::{self, Flavor, parse_unknown_version, parse_version};

/// Where we found a binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum BinarySource {
    /// The `binary` option.
    Option,
    Path,
    Homebrew,
    System,
    /// Downloaded by claude-mem into `<dataDir>/bin/valkey/<version>/`.
    Download,
    /// Shipped in this addon's platform package, verified against its pinned sha256.
    Bundled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ServerBinary {
    pub path: PathBuf,
    pub flavor: Flavor,
    pub version: String,
    pub source: BinarySource,
    /// The name a server we do not know by name gives itself (`flavor` is
    /// `Unknown`), e.g. `KeyDB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ServerBinary {
    /// A binary of a server we know by name.
    pub fn known(path: &Path, flavor: Flavor, version: String, source: BinarySource) -> Self {
        ServerBinary {
            path: path.to_path_buf(),
            flavor,
            version,
            source,
            name: None,
        }
    }

    /// `valkey 9.1.2`, or for a server we do not know by name, `KeyDB 6.3.4`.
    pub fn label(&self) -> String {
        flavor::label(self.flavor, self.name.as_deref(), &self.version)
    }
}

/// Runs `<path> --version` and reads flavor and version from its answer.
pub fn inspect(path: &Path, source: BinarySource) -> Result<ServerBinary> {
    let output = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            StoreError::new(
                ErrorCode::NoServerBinary,
                format!(
                    "{} cannot be run ({e}). Give the path of a valkey-server or redis-server binary.",
                    path.display()
                ),
            )
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    if let Some((flavor, version)) = parse_version(&text) {
        return Ok(ServerBinary::known(path, flavor, version, source));
    }
    let (name, version) = parse_unknown_version(&text).ok_or_else(|| {
        let err = String::from_utf8_lossy(&output.stderr);
        StoreError::new(
            ErrorCode::BinaryIncompatible,
            format!(
                "{} --version did not answer like a server (a `<Name> server v=<version>` or \
                 `<name>-server <version>` line): {}. The managed store runs a server that names \
                 itself this way and reads a redis.conf: give the path of a valkey-server or \
                 redis-server, or leave the binary option out and the bundled Valkey runs.",
                path.display(),
                first_line(if text.trim().is_empty() { &err } else { &text })
            ),
        )
    })?;
    Ok(ServerBinary {
        path: path.to_path_buf(),
        flavor: Flavor::Unknown,
        version,
        source,
        name: Some(name),
    })
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("(no output)")
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_server_binary_is_refused() {
        let e = inspect(Path::new("/bin/true"), BinarySource::Option).unwrap_err();
        assert_eq!(e.code, ErrorCode::BinaryIncompatible);
        let e = inspect(
            Path::new("/nonexistent/valkey-server"),
            BinarySource::Option,
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::NoServerBinary);
    }
}
