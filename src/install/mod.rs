//! Installing a server: planning (`plan`), package managers (`package`), and
//! Valkey's own Linux builds (`download`: `manifest`, `mirror`, `fetch`,
//! `unpack`). `install` picks the method and returns what it did; `options` reads
//! what the installer's exports are given.

pub mod manifest;
pub mod mirror;
pub mod options;
pub mod package;
pub mod plan;
pub mod platform;
pub mod progress;
pub mod stream_to_file;
pub mod unpack;
pub mod verified_download;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::error::{ErrorCode, Result, StoreError};
use crate::server::binary::BinarySource;
use crate::server::binary::search;
use crate::server::flavor::Flavor;
use package::ForeignService;
use plan::InstallPlan;
use platform::{PackageManager, Platform};
use progress::Progress;
use verified_download::{DownloadRequest, Downloaded};

/// `installQueueStore`'s `method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// What planInstall() recommends.
    Auto,
    Package(PackageManager),
    Download,
}

impl Method {
    pub fn parse(s: &str) -> Option<Method> {
        match s {
            "auto" => Some(Method::Auto),
            "download" => Some(Method::Download),
            other => PackageManager::parse(other).map(Method::Package),
        }
    }
}

pub struct InstallRequest {
    pub method: Method,
    pub allow_sudo: bool,
    /// How long a package manager may run.
    pub timeout: Duration,
    pub download: DownloadRequest,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct InstallResult {
    /// `apt` | `dnf` | `yum` | `apk` | `pacman` | `brew` | `download`.
    pub method: &'static str,
    pub flavor: Flavor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The server binary now available, as detectServerBinaries() would list it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<PathBuf>,
    pub already_installed: bool,
    /// Package method: the command that ran and the last lines it printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_on_6379: Option<ForeignService>,
    /// Download method: what was fetched and how it was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<Downloaded>,
    /// Download method: whether the checked hash was pinned (see download.hashSource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_pinned: Option<bool>,
    pub reason: String,
    pub notices: Vec<String>,
}

pub async fn install(
    req: InstallRequest,
    platform: &Platform,
    progress: &Progress,
) -> Result<InstallResult> {
    let chosen = match req.method {
        Method::Auto => {
            let p = plan::plan_off_worker(platform).await;
            match (p.method, PackageManager::parse(p.method)) {
                ("download", _) => (Method::Download, p),
                (_, Some(m)) => (Method::Package(m), p),
                _ => {
                    return Err(StoreError::new(
                        ErrorCode::Unsupported,
                        format!("there is nothing claude-mem can install here: {}", p.reason),
                    ));
                }
            }
        }
        Method::Package(m) => {
            if !platform.package_managers.contains(&m) {
                return Err(StoreError::new(
                    ErrorCode::Unsupported,
                    format!(
                        "method '{}' was asked for, but {} is not on this system. Call planInstall() to see what is.",
                        m.as_str(),
                        m.program()
                    ),
                ));
            }
            (
                Method::Package(m),
                plan::manager_plan_off_worker(platform, m, None).await,
            )
        }
        Method::Download => {
            let p = plan::plan_off_worker(platform).await;
            (Method::Download, p)
        }
    };
    match chosen {
        (Method::Package(m), p) => install_package(&req, m, &p, progress).await,
        (_, p) => {
            let d = verified_download::install(&req.download, platform, progress).await?;
            let mut notices = Vec::new();
            if !d.hash_pinned {
                notices.push(format!(
                    "hash not pinned: the manifest has no checked sha256 for {}, so the download was verified against the .sha256 published beside it ({}).",
                    d.url,
                    d.sha256.as_deref().unwrap_or("?")
                ));
            }
            if !d.skipped_links.is_empty() {
                notices.push(format!(
                    "{} link(s) in the archive were not created (only files and directories are unpacked): {}",
                    d.skipped_links.len(),
                    d.skipped_links.join(", ")
                ));
            }
            Ok(InstallResult {
                method: "download",
                flavor: Flavor::Valkey,
                version: Some(d.version.clone()),
                binary: Some(d.binary.clone()),
                already_installed: d.already_installed,
                command: None,
                output_tail: None,
                service_on_6379: None,
                hash_pinned: Some(d.hash_pinned),
                download: Some(d),
                reason: if p.method == "download" {
                    p.reason
                } else {
                    "the download method was asked for".into()
                },
                notices,
            })
        }
    }
}

async fn install_package(
    req: &InstallRequest,
    m: PackageManager,
    p: &InstallPlan,
    progress: &Progress,
) -> Result<InstallResult> {
    let outcome = package::install(p, m, req.allow_sudo, req.timeout, progress).await?;
    let flavor = p.flavor.unwrap_or(Flavor::Unknown);
    let data_dir = req.download.data_dir.clone();
    let found = tokio::task::spawn_blocking(move || {
        let path_var = std::env::var_os("PATH");
        search::detect(&data_dir, path_var.as_deref())
            .into_iter()
            .find(|b| b.flavor == flavor && b.source != BinarySource::Download)
    })
    .await
    .ok()
    .flatten();
    let mut notices = outcome.notices.clone();
    if found.is_none() {
        notices.push(format!(
            "{} reported success but no {}-server was found on PATH or in the usual directories.",
            outcome.command.join(" "),
            flavor.as_str()
        ));
    }
    Ok(InstallResult {
        method: m.as_str(),
        flavor,
        version: found.as_ref().map(|b| b.version.clone()),
        binary: found.map(|b| b.path),
        already_installed: false,
        command: Some(outcome.command),
        output_tail: Some(outcome.output_tail),
        service_on_6379: outcome.service_on_6379,
        download: None,
        hash_pinned: None,
        reason: p.reason.clone(),
        notices,
    })
}
