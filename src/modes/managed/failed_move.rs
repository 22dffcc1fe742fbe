//! A move onto the current binary that failed (the new server would not start, and
//! the old one was started again) is remembered beside the store, so that each later
//! ensure does not stop the store again only to start the old one once more. The
//! store stays where it is, with a notice, until `restart: true` tries again or the
//! binary ensure would start is another one (another path, version or sha256).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::files::{read_capped, write_replacing_volatile};
use crate::server::binary::search::Choice;
use crate::settings::paths::StorePaths;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedMove {
    pub binary: PathBuf,
    pub version: String,
    #[serde(default)]
    pub sha256: Option<String>,
    /// What starting it said: `E_CODE: message`.
    pub error: String,
}

impl FailedMove {
    fn of(next: &Choice, error: &StoreError) -> FailedMove {
        FailedMove {
            binary: next.binary.path.clone(),
            version: next.binary.version.clone(),
            sha256: next.sha256.clone(),
            error: format!("{}: {}", error.code, error.message),
        }
    }

    fn is_for(&self, next: &Choice) -> bool {
        self.binary == next.binary.path
            && self.version == next.binary.version
            && self.sha256 == next.sha256
    }
}

/// The failed move onto `next`, if one is remembered (garbage reads as none).
pub fn for_binary(paths: &StorePaths, next: &Choice) -> Option<FailedMove> {
    let bytes = read_capped(&paths.move_failed_file, 64 * 1024).ok()??;
    let failed: FailedMove = serde_json::from_slice(&bytes).ok()?;
    failed.is_for(next).then_some(failed)
}

/// Remembers that the move onto `next` failed with `error`.
pub fn remember(paths: &StorePaths, next: &Choice, error: &StoreError) -> Result<()> {
    let json = serde_json::to_vec_pretty(&FailedMove::of(next, error)).unwrap_or_default();
    write_replacing_volatile(&paths.move_failed_file, &json, Some(0o600))
}

/// Forgets a failed move (the store now runs the binary, or another one was chosen).
pub fn forget(paths: &StorePaths) {
    let _ = std::fs::remove_file(&paths.move_failed_file);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::server::binary::{BinarySource, ServerBinary};
    use crate::server::flavor::Flavor;

    fn choice(path: &str, sha: Option<&str>) -> Choice {
        Choice {
            binary: ServerBinary::known(
                std::path::Path::new(path),
                Flavor::Valkey,
                "9.1.2".into(),
                BinarySource::Bundled,
            ),
            sha256: sha.map(str::to_string),
            notice: None,
        }
    }

    #[test]
    fn a_failed_move_is_remembered_for_that_binary_only() {
        let d = std::env::temp_dir().join(format!("cms-failed-move-{}", std::process::id()));
        let paths = StorePaths::new(&d);
        std::fs::create_dir_all(&paths.redis_dir).unwrap();
        let next = choice("/p/valkey-server", Some("ab"));
        assert_eq!(for_binary(&paths, &next), None);
        let e = StoreError::new(ErrorCode::StartFailed, "exited while starting");
        remember(&paths, &next, &e).unwrap();
        let failed = for_binary(&paths, &next).unwrap();
        assert_eq!(failed.error, "E_START_FAILED: exited while starting");
        assert_eq!(
            for_binary(&paths, &choice("/p/valkey-server", Some("cd"))),
            None,
            "a new build is tried"
        );
        assert_eq!(
            for_binary(&paths, &choice("/q/valkey-server", Some("ab"))),
            None
        );
        std::fs::write(&paths.move_failed_file, "{garbage").unwrap();
        assert_eq!(for_binary(&paths, &next), None);
        forget(&paths);
        assert!(!paths.move_failed_file.exists());
        std::fs::remove_dir_all(d).unwrap();
    }
}
