//! The Valkey bundled in this addon's platform package: a static `valkey-server`
//! built from source by `scripts/build/valkey/build-static.sh` and shipped beside the
//! `.node` as `valkey/valkey-server`, so that no machine needs apt, Homebrew, sudo
//! or a download host to get a server.
//!
//! It is trusted only as built: the build is reproducible, so the sha256 of each
//! platform's binary is pinned in `scripts/build/valkey/source.json` and compiled into
//! the addon. Before its first use from a given path the binary is hashed against
//! that pin and test-run (`--version`); the result is remembered per path, size and
//! mtime (the binary cache), so later starts pay for neither. A binary that does
//! not match is never run.

use std::path::{Path, PathBuf};

use crate::error::{ErrorCode, Result, StoreError};
use crate::server::binary::cache::BinaryCache;
use crate::server::binary::sha256::sha256_file;
use crate::server::binary::{BinarySource, ServerBinary, inspect};
use crate::server::flavor::Flavor;

/// The pinned source and build, as `scripts/build/valkey/source.json` records them.
const SOURCE_JSON: &str = include_str!("../../../scripts/build/valkey/source.json");

/// The bundled binary's place in a platform package, beside the `.node`.
const RELATIVE_PATH: &str = "valkey/valkey-server";

/// What a bundled binary must be for this build of the addon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub version: String,
    pub sha256: String,
}

/// The build's name for this platform (`scripts/build/valkey/build-static.sh`'s targets).
fn platform() -> Option<&'static str> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some("linux-x64"),
        ("linux", "aarch64") => Some("linux-arm64"),
        ("macos", "x86_64") => Some("darwin-x64"),
        ("macos", "aarch64") => Some("darwin-arm64"),
        _ => None,
    }
}

/// The pin for this platform, if the build bundles a server for it. Parsed once:
/// status and ensure ask for it on every call.
pub fn pin() -> Option<Pin> {
    static PIN: std::sync::OnceLock<Option<Pin>> = std::sync::OnceLock::new();
    PIN.get_or_init(|| pin_from(SOURCE_JSON, platform()?))
        .clone()
}

fn pin_from(json: &str, platform: &str) -> Option<Pin> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(Pin {
        version: v.get("version")?.as_str()?.to_string(),
        sha256: v
            .get("expected")?
            .get(platform)?
            .as_str()?
            .to_ascii_lowercase(),
    })
}

/// Where the platform package this addon was loaded from keeps its server, if
/// there is one: `<dir of the .node>/valkey/valkey-server`.
pub fn location() -> Option<PathBuf> {
    let candidate = loaded_library()?.parent()?.join(RELATIVE_PATH);
    candidate.is_file().then_some(candidate)
}

/// The file this code was loaded from (the `.node`; in `cargo test`, the test binary).
#[cfg(unix)]
fn loaded_library() -> Option<PathBuf> {
    use std::ffi::{CStr, OsStr};
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: dladdr only reads the loader's tables for an address inside this
    // library, and writes the zeroed Dl_info it is given.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let address = loaded_library as *const () as *const libc::c_void;
    if unsafe { libc::dladdr(address, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated path owned by the loader.
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    let path = PathBuf::from(OsStr::from_bytes(name.to_bytes()));
    path.is_absolute().then_some(path)
}

#[cfg(not(unix))]
fn loaded_library() -> Option<PathBuf> {
    None
}

/// The bundled server, verified: `None` when this package has none.
pub fn find(cache: &mut BinaryCache) -> Option<Result<ServerBinary>> {
    let path = location()?;
    let pin = pin()?;
    Some(verify(&path, &pin, cache))
}

/// Checks `path` against `pin` (hash, then a test run), unless the cache already
/// holds this very file verified against it.
pub fn verify(path: &Path, pin: &Pin, cache: &mut BinaryCache) -> Result<ServerBinary> {
    let binary =
        |version: String| ServerBinary::known(path, Flavor::Valkey, version, BinarySource::Bundled);
    if cache.verified(path, &pin.sha256) {
        return Ok(binary(pin.version.clone()));
    }
    let actual = sha256_file(path)?;
    if actual != pin.sha256 {
        return Err(StoreError::new(
            ErrorCode::Checksum,
            format!(
                "the bundled valkey-server {} has sha256 {actual}, not the {} it was built with; it was not run. \
                 Reinstall claude-mem-store (npm install claude-mem-store) to get an intact copy.",
                path.display(),
                pin.sha256
            ),
        ));
    }
    let ran = inspect(path, BinarySource::Bundled).map_err(|e| {
        StoreError::new(
            ErrorCode::BinaryIncompatible,
            format!(
                "the bundled valkey-server {} does not run on this machine: {}",
                path.display(),
                e.message
            ),
        )
    })?;
    if ran.flavor != Flavor::Valkey || ran.version != pin.version {
        return Err(StoreError::new(
            ErrorCode::BinaryIncompatible,
            format!(
                "the bundled valkey-server {} says it is {} {}, not valkey {}; it was not used. Reinstall claude-mem-store.",
                path.display(),
                ran.flavor.as_str(),
                ran.version,
                pin.version
            ),
        ));
    }
    cache.put_verified(path, Flavor::Valkey, &pin.version, &pin.sha256);
    Ok(binary(pin.version.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pin_is_read_per_platform() {
        let json = r#"{"version":"9.1.2","expected":{"linux-x64":"AB12","linux-arm64":"cd34"}}"#;
        assert_eq!(
            pin_from(json, "linux-x64"),
            Some(Pin {
                version: "9.1.2".into(),
                sha256: "ab12".into()
            })
        );
        assert_eq!(pin_from(json, "darwin-arm64"), None);
        assert_eq!(pin_from("garbage", "linux-x64"), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_binary_that_does_not_match_its_pin_is_never_run() {
        let d = std::env::temp_dir().join(format!("cms-bundled-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let fake = d.join("valkey-server");
        // It would say it is valkey 9.1.2 if it were run, and leave a mark.
        let mark = d.join("ran");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\ntouch {}\necho 'Valkey server v=9.1.2 sha=0:0 malloc=libc'\n",
                mark.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let pin = Pin {
            version: "9.1.2".into(),
            sha256: "00".repeat(32),
        };
        let mut cache = BinaryCache::default();
        let e = verify(&fake, &pin, &mut cache).unwrap_err();
        assert_eq!(e.code, ErrorCode::Checksum);
        assert!(!mark.exists(), "never run");
        // The right pin: hashed, test-run once, then remembered.
        let right = Pin {
            version: "9.1.2".into(),
            sha256: sha256_file(&fake).unwrap(),
        };
        let b = verify(&fake, &right, &mut cache).unwrap();
        assert_eq!(b.source, BinarySource::Bundled);
        assert!(mark.exists(), "test-run before its first use");
        std::fs::remove_file(&mark).unwrap();
        verify(&fake, &right, &mut cache).unwrap();
        assert!(!mark.exists(), "not run again from the same path");
        std::fs::remove_dir_all(d).unwrap();
    }
}
