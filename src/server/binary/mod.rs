//! One server binary: where it is, what it says it is (`--version`), and where we
//! found it.

pub mod bundled;
pub mod cache;
pub mod search;
pub mod sha256;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::error::{ErrorCode, Result, StoreError};
use crate::server::flavor::{Flavor, parse_version};

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
    let (flavor, version) = parse_version(&text).ok_or_else(|| {
        let err = String::from_utf8_lossy(&output.stderr);
        StoreError::new(
            ErrorCode::BinaryIncompatible,
            format!(
                "{} --version did not answer like a server: {}",
                path.display(),
                first_line(if text.trim().is_empty() { &err } else { &text })
            ),
        )
    })?;
    Ok(ServerBinary {
        path: path.to_path_buf(),
        flavor,
        version,
        source,
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
