//! What the installer's exports read from their options: the keys (one
//! [`OptionSet`] per export, [`INSTALL_OPTION_KEYS`] shared with
//! resolveQueueStore and the CLI) and the readers that turn the plain JSON the
//! binding converted into a [`Method`] or an [`InstallRequest`], with every
//! default, environment variable and check decided here.

use std::time::Duration;

use serde_json::Value;

use super::mirror::KEY_ALLOW_HTTP;
use super::verified_download::{DownloadRequest, resolve_mirror};
use super::{InstallRequest, Method};
use crate::error::{ErrorCode, Result, StoreError};
use crate::settings::options::{OptionReader, OptionSet};
use crate::settings::{Env, Settings, StoreOptions};

/// A package manager may take minutes (a first `apt-get install` downloads);
/// a download waits this long for another installer's lock.
pub const DEFAULT_INSTALL_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The options of an install (`InstallOptions` in index.d.ts, less the store's
/// `dataDir` and `timeoutMs`), as installQueueStore and resolveQueueStore take them.
pub const INSTALL_OPTION_KEYS: &[&str] = &[
    "method",
    "version",
    "distro",
    "allowSudo",
    "mirror",
    "allowHttp",
    "sha256",
];

/// The Ubuntu releases Valkey builds its Linux tarballs on (`distro`).
pub const DISTROS: &[&str] = &["jammy", "noble"];

/// `planInstall(options?: { method })`.
pub const PLAN: OptionSet = OptionSet {
    function: "planInstall",
    groups: &[&["method"]],
};

/// `installQueueStore(options?: InstallOptions)`.
pub const INSTALL: OptionSet = OptionSet {
    function: "installQueueStore",
    groups: &[INSTALL_OPTION_KEYS, &["dataDir", "timeoutMs"]],
};

/// planInstall's options: the method to plan for (default `auto`).
pub fn read_plan(options: Option<&Value>) -> Result<Method> {
    let reader = PLAN.reader(options)?;
    parse_method(PLAN.function, reader.string("method")?)
}

/// installQueueStore's options. The data dir and timeout resolve as a store's
/// (option > environment > settings.json), but with no `timeoutMs` an install
/// waits [`DEFAULT_INSTALL_TIMEOUT`], not the store's 15 s.
pub fn read_install(options: Option<&Value>, env: &Env) -> Result<InstallRequest> {
    let reader = INSTALL.reader(options)?;
    install_request(&reader, None, env)
}

/// The install part of an options object already checked by `reader` (keys
/// [`INSTALL_OPTION_KEYS`]): `resolved` is the store's settings when the export
/// has them (resolveQueueStore), else the data dir and timeout are resolved here.
pub fn install_request(
    reader: &OptionReader<'_>,
    resolved: Option<&Settings>,
    env: &Env,
) -> Result<InstallRequest> {
    let function = reader.function();
    let settings = match resolved {
        Some(s) => s.clone(),
        None => {
            let opts = StoreOptions {
                data_dir: reader.string("dataDir")?,
                timeout_ms: reader.number_text("timeoutMs")?,
                ..Default::default()
            };
            Settings::resolve(&opts, env)?
        }
    };
    let explicit_timeout = reader.number_text("timeoutMs")?.is_some();
    let timeout = if explicit_timeout {
        settings.timeout
    } else {
        DEFAULT_INSTALL_TIMEOUT
    };
    let method = parse_method(function, reader.string("method")?)?;
    let allow_http = reader.bool("allowHttp")?.unwrap_or(false) || allow_http_from_env(env);
    let distro = reader.string("distro")?;
    if let Some(d) = &distro
        && !DISTROS.contains(&d.as_str())
    {
        return Err(StoreError::new(
            ErrorCode::BadOption,
            format!(
                "{function}: distro must be 'jammy' or 'noble' (the Ubuntu releases Valkey builds on)."
            ),
        ));
    }
    Ok(InstallRequest {
        method,
        allow_sudo: reader.bool("allowSudo")?.unwrap_or(false),
        timeout,
        download: DownloadRequest {
            data_dir: settings.data_dir.clone(),
            version: reader.string("version")?,
            distro,
            mirror: resolve_mirror(reader.string("mirror")?, env, &settings.file)?,
            allow_http,
            sha256: reader.string("sha256")?,
            lock_timeout: timeout,
        },
    })
}

/// `CLAUDE_MEM_VALKEY_ALLOW_HTTP=1` (or `true`, any case) opts in to a plain-http
/// mirror as `allowHttp: true` does.
pub fn allow_http_from_env(env: &Env) -> bool {
    env.get(KEY_ALLOW_HTTP)
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The `method` option: absent is `auto`; anything not a method is `E_BAD_OPTION`.
pub fn parse_method(function: &str, raw: Option<String>) -> Result<Method> {
    match raw {
        None => Ok(Method::Auto),
        Some(m) => Method::parse(&m).ok_or_else(|| {
            StoreError::new(
                ErrorCode::BadOption,
                format!(
                    "{function}: method '{}' is not one of auto, download, apt, dnf, yum, apk, pacman, brew.",
                    m.chars().take(40).collect::<String>()
                ),
            )
        }),
    }
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;
