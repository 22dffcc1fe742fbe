//! The download method: the artifact named by the manifest, fetched from Valkey's
//! host or a mirror, verified, unpacked, test-run, and only then renamed into
//! `<dataDir>/bin/valkey/<version>/`. Everything happens in a staging dir beside
//! the target (same filesystem, so the final rename is atomic) under an OS lock
//! (two installers never share a staging dir or race the rename), and the staging
//! dir is removed whatever happens — a failed install leaves nothing behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;

use super::manifest::{Manifest, preferred_distro, valkey_arch};
use super::mirror::{self, artifact_url, redact};
use super::platform::Platform;
use super::progress::{Phase, Progress, ProgressEvent};
use super::stream_to_file;
use super::unpack;
use crate::error::{ErrorCode, Result, StoreError};
use crate::lock;
use crate::server::flavor::{Flavor, parse_version};

/// How long `--version` may take: a real server answers in milliseconds.
const TEST_RUN_TIMEOUT: Duration = Duration::from_secs(15);
const STAGING_PREFIX: &str = ".staging-";
const LOCK_FILE: &str = ".install.lock";

#[derive(Debug, Clone, Default)]
pub struct DownloadRequest {
    pub data_dir: PathBuf,
    pub version: Option<String>,
    /// `jammy` or `noble`; default: the best fit for this system.
    pub distro: Option<String>,
    /// A base URL replacing Valkey's download host, and where it came from.
    pub mirror: Option<(String, String)>,
    pub allow_http: bool,
    /// A hash the caller pins (e.g. for their own mirror), checked instead of the
    /// manifest's or the published one.
    pub sha256: Option<String>,
    pub lock_timeout: Duration,
}

/// Where the sha256 a download was checked against came from: the built-in
/// manifest, the `sha256` option (both pinned), or the `.sha256` published beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum HashSource {
    Manifest,
    Option,
    Published,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Downloaded {
    pub version: String,
    pub distro: String,
    pub arch: String,
    pub url: String,
    /// `<dataDir>/bin/valkey/<version>/bin/valkey-server`.
    pub binary: PathBuf,
    pub dir: PathBuf,
    /// Absent (never `null`) when no hash was checked: already installed, unpinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Whether the hash checked was pinned (manifest or the `sha256` option) rather
    /// than read from the `.sha256` published beside the artifact.
    pub hash_pinned: bool,
    pub hash_source: HashSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    pub already_installed: bool,
    /// Links in the archive that were not created (only files and dirs are).
    pub skipped_links: Vec<String>,
}

pub async fn install(
    req: &DownloadRequest,
    platform: &Platform,
    progress: &Progress,
) -> Result<Downloaded> {
    if platform.os != "linux" || platform.libc != Some("gnu") {
        return Err(StoreError::new(
            ErrorCode::Unsupported,
            format!(
                "Valkey's downloadable builds are for glibc Linux; this is {}{}. Install with the package manager instead (see planInstall()).",
                platform.os,
                platform.libc.map(|l| format!(" ({l})")).unwrap_or_default()
            ),
        ));
    }
    let arch = valkey_arch(platform.arch).ok_or_else(|| {
        StoreError::new(
            ErrorCode::Unsupported,
            format!(
                "Valkey publishes builds for x86_64 and arm64, not {}. Install with the package manager instead (see planInstall()).",
                platform.arch
            ),
        )
    })?;
    let manifest = Manifest::builtin()?;
    let version = req
        .version
        .clone()
        .unwrap_or_else(|| manifest.default_version.clone());
    let distro = req.distro.clone().unwrap_or_else(|| {
        preferred_distro(
            platform.distro.as_deref(),
            platform.distro_version.as_deref(),
            platform.codename.as_deref(),
        )
        .to_string()
    });
    let artifact = manifest.find(&version, &distro, arch)?.clone();
    let (base, origin) = match &req.mirror {
        Some((m, origin)) => (m.clone(), origin.clone()),
        None => (
            manifest.base_url.clone(),
            "the manifest's base URL".to_string(),
        ),
    };
    let url = artifact_url(&base, &artifact.file_name(), req.allow_http, &origin)?;
    let checksum_url = artifact_url(
        &base,
        &format!("{}.sha256", artifact.file_name()),
        req.allow_http,
        &origin,
    )?;
    let pinned: Option<(String, HashSource)> = match &req.sha256 {
        Some(h) => Some((normalize_hash(h)?, HashSource::Option)),
        None if artifact.pinned => {
            Some((artifact.sha256.to_ascii_lowercase(), HashSource::Manifest))
        }
        None => None,
    };

    let root = req.data_dir.join("bin").join("valkey");
    std::fs::create_dir_all(&root).map_err(|e| StoreError::io("create", &root, &e))?;
    progress(ProgressEvent::phase(
        Phase::Lock,
        format!("waiting for the install lock in {}", root.display()),
    ));
    let _lock = lock::acquire(&root.join(LOCK_FILE), req.lock_timeout).await?;
    let final_dir = root.join(&version);
    let final_binary = final_dir.join("bin").join("valkey-server");
    let mut outcome = Downloaded {
        version: version.clone(),
        distro: distro.clone(),
        arch: arch.to_string(),
        url: redact(url.as_str()),
        binary: final_binary.clone(),
        dir: final_dir.clone(),
        sha256: pinned.as_ref().map(|p| p.0.clone()),
        hash_pinned: pinned.is_some(),
        hash_source: pinned.as_ref().map_or(HashSource::Published, |p| p.1),
        bytes: None,
        already_installed: false,
        skipped_links: Vec::new(),
    };
    // Under the lock: another installer may have finished while we waited.
    if final_binary.is_file() && test_run(&final_binary, &version).await.is_ok() {
        outcome.already_installed = true;
        progress(ProgressEvent::phase(
            Phase::Done,
            format!("Valkey {version} is already installed"),
        ));
        return Ok(outcome);
    }
    sweep_stale_staging(&root);
    let staging = Staging::create(&root, &version)?;

    let client = stream_to_file::client(&url)?;
    let expected = match pinned {
        Some((hash, _)) => hash,
        None => {
            progress(ProgressEvent::phase(
                Phase::Checksum,
                format!("fetching {}", redact(checksum_url.as_str())),
            ));
            let text = stream_to_file::small_text(&client, &checksum_url, progress).await.map_err(|e| {
                StoreError::new(
                    ErrorCode::Checksum,
                    format!(
                        "no published checksum could be read, so the download cannot be verified and was not installed: {}",
                        e.message
                    ),
                )
            })?;
            let hash = stream_to_file::parse_checksum_file(&text).ok_or_else(|| {
                StoreError::new(
                    ErrorCode::Checksum,
                    format!(
                        "{} does not hold a sha256, so the download cannot be verified and was not installed.",
                        redact(checksum_url.as_str())
                    ),
                )
            })?;
            outcome.sha256 = Some(hash.clone());
            hash
        }
    };

    let archive = staging.path().join(artifact.file_name());
    let fetched = stream_to_file::to_file(&client, &url, &archive, progress).await?;
    outcome.bytes = Some(fetched.bytes);
    progress(ProgressEvent::phase(Phase::Verify, "checking the sha256"));
    if fetched.sha256 != expected {
        return Err(StoreError::new(
            ErrorCode::Checksum,
            format!(
                "{} has sha256 {} but {} was expected ({}). It was not installed. Try again; if it persists the mirror or download is corrupt or tampered with.",
                redact(url.as_str()),
                fetched.sha256,
                expected,
                match outcome.hash_source {
                    HashSource::Published => "the published .sha256",
                    HashSource::Option => "the sha256 option",
                    HashSource::Manifest => "the built-in manifest",
                }
            ),
        ));
    }

    progress(ProgressEvent::phase(
        Phase::Unpack,
        format!("unpacking {}", artifact.file_name()),
    ));
    let tree = staging.path().join("tree");
    std::fs::create_dir(&tree).map_err(|e| StoreError::io("create", &tree, &e))?;
    let (archive_c, tree_c) = (archive.clone(), tree.clone());
    let unpacked = tokio::task::spawn_blocking(move || unpack::tar_gz(&archive_c, &tree_c))
        .await
        .map_err(|_| {
            StoreError::new(
                ErrorCode::Internal,
                "the unpack task failed; please report this.",
            )
        })??;
    outcome.skipped_links = unpacked.skipped_links;
    let unpacked_root = server_root(&tree, &artifact.stem())?;

    progress(ProgressEvent::phase(
        Phase::TestRun,
        "running valkey-server --version",
    ));
    test_run(&unpacked_root.join("bin").join("valkey-server"), &version).await?;

    progress(ProgressEvent::phase(
        Phase::Install,
        format!("moving it into {}", final_dir.display()),
    ));
    if final_dir.exists() {
        // A broken earlier install (it failed the test-run above): set it aside
        // into the staging dir, which is removed below.
        let aside = staging.path().join("previous");
        std::fs::rename(&final_dir, &aside)
            .map_err(|e| StoreError::io("move aside", &final_dir, &e))?;
    }
    std::fs::rename(&unpacked_root, &final_dir)
        .map_err(|e| StoreError::io("move into place", &final_dir, &e))?;
    drop(staging);
    progress(ProgressEvent::phase(
        Phase::Done,
        format!("Valkey {version} installed in {}", final_dir.display()),
    ));
    Ok(outcome)
}

/// The directory holding `bin/valkey-server`: Valkey's `valkey-<v>-<d>-<a>/`, any
/// single top directory, or the archive's root.
fn server_root(tree: &Path, stem: &str) -> Result<PathBuf> {
    let has_server = |d: &Path| d.join("bin").join("valkey-server").is_file();
    let named = tree.join(stem);
    if has_server(&named) {
        return Ok(named);
    }
    let tops: Vec<PathBuf> = std::fs::read_dir(tree)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    if let [only] = tops.as_slice()
        && has_server(only)
    {
        return Ok(only.clone());
    }
    if has_server(tree) {
        return Ok(tree.to_path_buf());
    }
    Err(StoreError::new(
        ErrorCode::BinaryIncompatible,
        format!(
            "the archive has no {stem}/bin/valkey-server, so it is not a Valkey server build. Nothing was installed."
        ),
    ))
}

/// Runs `<binary> --version`. The loader's own words (a missing libssl.so.3, a
/// glibc too old) are the message, so the caller can fall back to the package manager.
pub async fn test_run(binary: &Path, version: &str) -> Result<()> {
    let output = run_version(binary)
        .await
        .map_err(|why| incompatible(binary, &why))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match parse_version(&stdout) {
        Some((Flavor::Valkey, v)) if v == version => Ok(()),
        Some((flavor, v)) => Err(incompatible(
            binary,
            &format!("it reports {} {v}, not Valkey {version}", flavor.as_str()),
        )),
        None => {
            let words = if stderr.trim().is_empty() {
                stdout.trim()
            } else {
                stderr.trim()
            };
            Err(incompatible(
                binary,
                &format!(
                    "{} (exit status {})",
                    tail(words, 600),
                    output
                        .status
                        .code()
                        .map_or("none".into(), |c| c.to_string())
                ),
            ))
        }
    }
}

async fn run_version(binary: &Path) -> std::result::Result<std::process::Output, String> {
    // A file just written can briefly be "busy" if another thread forked meanwhile
    // (ETXTBSY); that passes.
    let mut busy_retries = 5;
    loop {
        let child = tokio::process::Command::new(binary)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        match child {
            Ok(child) => {
                return match tokio::time::timeout(TEST_RUN_TIMEOUT, child.wait_with_output()).await
                {
                    Ok(Ok(out)) => Ok(out),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!(
                        "it did not answer --version within {} s",
                        TEST_RUN_TIMEOUT.as_secs()
                    )),
                };
            }
            Err(e) if e.raw_os_error() == Some(26) && busy_retries > 0 => {
                busy_retries -= 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(format!("it cannot be run: {e}")),
        }
    }
}

fn incompatible(binary: &Path, why: &str) -> StoreError {
    StoreError::new(
        ErrorCode::BinaryIncompatible,
        format!(
            "the downloaded server does not run on this system: {} — {why}. Nothing was installed. \
             Install with the package manager instead (planInstall() gives the command; e.g. installQueueStore({{ method: 'apt' }})).",
            binary.display()
        ),
    )
}

fn tail(s: &str, max: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= max {
        s.to_string()
    } else {
        format!("…{}", chars[chars.len() - max..].iter().collect::<String>())
    }
}

fn normalize_hash(h: &str) -> Result<String> {
    let h = h.trim();
    if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(h.to_ascii_lowercase())
    } else {
        Err(StoreError::new(
            ErrorCode::BadOption,
            "the sha256 option must be 64 hex digits (the output of sha256sum).",
        ))
    }
}

/// Removes staging dirs left by an installer that was killed. Only called under
/// the install lock, so none of them is in use.
fn sweep_stale_staging(root: &Path) {
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// A private staging dir removed when dropped, on success and on every failure.
struct Staging(PathBuf);

impl Staging {
    fn create(root: &Path, version: &str) -> Result<Staging> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = root.join(format!(
            "{STAGING_PREFIX}{version}-{}-{nanos}",
            std::process::id()
        ));
        crate::settings::paths::create_private_dir(&dir)?;
        Ok(Staging(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The mirror to use: the option, else `CLAUDE_MEM_VALKEY_MIRROR` from the
/// environment, else from settings.json. Returns (base, where it came from).
pub fn resolve_mirror(
    option: Option<String>,
    env: &crate::settings::Env,
    file: &crate::settings::file::SettingsFile,
) -> Result<Option<(String, String)>> {
    if let Some(m) = option.filter(|m| !m.is_empty()) {
        return Ok(Some((m, "the mirror option".into())));
    }
    if let Some(m) = env.get(mirror::KEY_MIRROR).filter(|m| !m.is_empty()) {
        return Ok(Some((
            m.clone(),
            format!("{} (environment)", mirror::KEY_MIRROR),
        )));
    }
    Ok(file.get(mirror::KEY_MIRROR)?.map(|m| {
        (
            m,
            format!("{} in {}", mirror::KEY_MIRROR, file.path().display()),
        )
    }))
}

#[cfg(test)]
#[path = "verified_download_tests.rs"]
mod tests;
