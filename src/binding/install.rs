//! Installing, resolving and uninstalling: planInstall, installQueueStore,
//! resolveQueueStore, uninstallQueueStore.
//!
//! installQueueStore and resolveQueueStore take an `onProgress` function inside
//! their options. A function cannot travel as JSON, so these two are sync entry
//! points that split the options on the JS thread — `onProgress` becomes a
//! threadsafe function, everything else a JSON value for the usual strict
//! `OptionReader` — and then return the promise of the async work.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::Value;

use super::js_input::{self, JsInput};
use super::runtime::promise;
use crate::error::{ErrorCode, StoreError};
use crate::install::download::{DownloadRequest, resolve_mirror};
use crate::install::mirror::KEY_ALLOW_HTTP;
use crate::install::platform::Platform;
use crate::install::progress::{Progress, ProgressEvent};
use crate::install::{self, InstallRequest, Method, plan};
use crate::lifecycle::resolve::{self, ResolveRequest};
use crate::lifecycle::uninstall;
use crate::settings::options::OptionReader;
use crate::settings::{self, STORE_OPTION_KEYS, Settings, StoreOptions};

/// A package manager may take minutes (a first `apt-get install` downloads);
/// a download waits this long for another installer's lock.
const DEFAULT_INSTALL_TIMEOUT: Duration = Duration::from_secs(10 * 60);

const INSTALL_KEYS: &[&str] = &[
    "method",
    "version",
    "distro",
    "allowSudo",
    "mirror",
    "allowHttp",
    "sha256",
    "dataDir",
    "timeoutMs",
];

/// `(event) => void`, called on the JS thread; what it returns is ignored and
/// what it throws is caught (see `progress_sink`).
type ProgressFn = ThreadsafeFunction<Value, Unknown<'static>, Value, Status, false>;

/// Returns the install method this machine would use: the package manager (brew,
/// apt, dnf, yum, apk, pacman) with Valkey where it has a candidate, else Redis;
/// Valkey's own Linux build where no manager fits; Windows → Docker or an
/// existing server. Gives the exact command, whether it needs root, and why.
/// Runs nothing but local package-index queries.
#[napi(
    ts_args_type = "options?: { method?: InstallMethod }",
    ts_return_type = "Promise<InstallPlan>"
)]
pub fn plan_install(env: &Env, options: JsInput, extra: JsInput) -> Result<Object<'_>> {
    promise(env, async move {
        extra.nothing("planInstall", "one argument (options)")?;
        let options = options.options("planInstall")?;
        let reader = OptionReader::new("planInstall", options.as_ref(), &["method"])?;
        let method = parse_method("planInstall", reader.string("method")?)?;
        let platform = Platform::detect();
        Ok(match method {
            Method::Package(m) => {
                let download = plan::download_plan(&platform);
                plan::manager_plan_off_worker(&platform, m, download).await
            }
            _ => plan::plan_off_worker(&platform).await,
        })
    })
}

/// Installs a server. `method` `auto` (default) follows planInstall(); a package
/// manager runs only when allowed — already root, or `allowSudo: true` — and never
/// `brew services`/`systemctl`; otherwise it rejects with `E_NEEDS_SUDO` and the
/// exact command. `download` fetches Valkey's Linux build named by the built-in
/// manifest (from `mirror` / `CLAUDE_MEM_VALKEY_MIRROR` when set), verifies its
/// sha256 (pinned, or the published `.sha256` — then the result says
/// `hashPinned: false`), unpacks it safely, test-runs it and renames it into
/// `<dataDir>/bin/valkey/<version>/`; nothing is left behind on failure.
///
/// `onProgress(event)` is called with `{phase, bytes?, total?, message?}`. An
/// exception it throws is caught and ignored: it never reaches
/// `uncaughtException` and never fails the install. Events are queued, so the
/// last ones (`done`) may arrive just after the promise settles.
///
/// Rejects with `E_NEEDS_SUDO`, `E_INSTALL_FAILED`, `E_DOWNLOAD_FAILED`,
/// `E_CHECKSUM`, `E_UNSAFE_ARCHIVE`, `E_BINARY_INCOMPATIBLE`, `E_UNSUPPORTED`,
/// `E_LOCK_TIMEOUT`, `E_BAD_OPTION`, …
#[napi(
    catch_unwind,
    ts_args_type = "options?: InstallOptions",
    ts_return_type = "Promise<InstallResult>"
)]
pub fn install_queue_store<'a>(
    env: &'a Env,
    options: Unknown<'a>,
    extra: JsInput,
) -> Result<Object<'a>> {
    let split = split_options(env, "installQueueStore", options);
    promise(env, async move {
        extra.nothing("installQueueStore", "one argument (options)")?;
        let (json, on_progress) = split?;
        let progress = progress_sink(on_progress);
        let reader = OptionReader::new("installQueueStore", json.as_ref(), INSTALL_KEYS)?;
        let req = install_request("installQueueStore", &reader, None)?;
        let platform = Platform::detect();
        install::install(req, &platform, &progress).await
    })
}

/// The seed's decision tree. Non-interactive: a working `CLAUDE_MEM_REDIS_URL` →
/// `external`; else a local valkey-server/redis-server → `managed`; else, only
/// with `installRedis: true`, install one (as installQueueStore) → `install`;
/// else `fail` with the precise command. With `interactive: true` nothing is
/// decided: `decision: 'prompt'` and `choices` for claude-mem's prompt.
/// Starts nothing: call ensureQueueStoreStarted() for managed/install.
#[napi(
    catch_unwind,
    ts_args_type = "options?: ResolveOptions",
    ts_return_type = "Promise<Resolution>"
)]
pub fn resolve_queue_store<'a>(
    env: &'a Env,
    options: Unknown<'a>,
    extra: JsInput,
) -> Result<Object<'a>> {
    let split = split_options(env, "resolveQueueStore", options);
    promise(env, async move {
        extra.nothing("resolveQueueStore", "one argument (options)")?;
        let (json, on_progress) = split?;
        let progress = progress_sink(on_progress);
        let keys: Vec<&str> = STORE_OPTION_KEYS
            .iter()
            .copied()
            .chain([
                "installRedis",
                "interactive",
                "method",
                "version",
                "distro",
                "allowSudo",
                "mirror",
                "allowHttp",
                "sha256",
            ])
            .collect();
        let reader = OptionReader::new("resolveQueueStore", json.as_ref(), &keys)?;
        let settings = Settings::resolve(&StoreOptions::read(&reader)?, &settings::process_env())?;
        let req = ResolveRequest {
            install_redis: reader.bool("installRedis")?.unwrap_or(false),
            interactive: reader.bool("interactive")?.unwrap_or(false),
            install: install_request("resolveQueueStore", &reader, Some(&settings))?,
        };
        resolve::resolve(&settings, req, &progress).await
    })
}

/// Stops our store (only a server proved ours) and removes what claude-mem-store
/// wrote: config, pid file, secret, lock, its `logs/redis-*.log`, downloaded
/// binaries under `bin/valkey/`, and its keys in settings.json (every other key is
/// kept). `redis/data` is kept unless `purgeData: true`. Says what it removed and
/// what it kept. If the store cannot be stopped, nothing is removed; a store that
/// other clients still use is not stopped (`E_STORE_IN_USE`) unless `force: true`.
#[napi(
    ts_args_type = "options?: StoreOptions & { purgeData?: boolean; force?: boolean }",
    ts_return_type = "Promise<UninstallResult>"
)]
pub fn uninstall_queue_store(env: &Env, options: JsInput, extra: JsInput) -> Result<Object<'_>> {
    promise(env, async move {
        extra.nothing("uninstallQueueStore", "one argument (options)")?;
        let options = options.options("uninstallQueueStore")?;
        let keys: Vec<&str> = STORE_OPTION_KEYS
            .iter()
            .copied()
            .chain(["purgeData", "force"])
            .collect();
        let reader = OptionReader::new("uninstallQueueStore", options.as_ref(), &keys)?;
        let settings = Settings::resolve(&StoreOptions::read(&reader)?, &settings::process_env())?;
        uninstall::uninstall(
            &settings,
            reader.bool("purgeData")?.unwrap_or(false),
            reader.bool("force")?.unwrap_or(false),
        )
        .await
    })
}

fn parse_method(function: &str, raw: Option<String>) -> crate::error::Result<Method> {
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

/// The install part of installQueueStore's / resolveQueueStore's options.
fn install_request(
    function: &'static str,
    reader: &OptionReader<'_>,
    resolved: Option<&Settings>,
) -> crate::error::Result<InstallRequest> {
    let env = settings::process_env();
    let settings = match resolved {
        Some(s) => s.clone(),
        None => {
            let opts = StoreOptions {
                data_dir: reader.string("dataDir")?,
                timeout_ms: reader.number_text("timeoutMs")?,
                ..Default::default()
            };
            Settings::resolve(&opts, &env)?
        }
    };
    let explicit_timeout = reader.number_text("timeoutMs")?.is_some();
    let timeout = if explicit_timeout {
        settings.timeout
    } else {
        DEFAULT_INSTALL_TIMEOUT
    };
    let method = parse_method(function, reader.string("method")?)?;
    let allow_http = reader.bool("allowHttp")?.unwrap_or(false)
        || env
            .get(KEY_ALLOW_HTTP)
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    let distro = reader.string("distro")?;
    if let Some(d) = &distro
        && d != "jammy"
        && d != "noble"
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
            mirror: resolve_mirror(reader.string("mirror")?, &env, &settings.file)?,
            allow_http,
            sha256: reader.string("sha256")?,
            lock_timeout: timeout,
        },
    })
}

/// Splits JS options into (JSON without `onProgress`, the `onProgress` function).
/// Runs on the JS thread and never throws: any problem (see `js_input`) becomes
/// the promise's coded rejection.
fn split_options(
    env: &Env,
    function: &'static str,
    options: Unknown<'_>,
) -> crate::error::Result<(Option<Value>, Option<ProgressFn>)> {
    // SAFETY: both handles come from the current call, on the JS thread.
    let flat = unsafe { js_input::read_argument(env.raw(), options.raw(), &["onProgress"]) }
        .map_err(|u| js_input::bad_option(function, &u))?;
    let mut json = flat.json;
    if let Some(Value::Object(map)) = &mut json
        && let Some(Value::Null) = map.get("onProgress")
    {
        map.remove("onProgress");
    }
    if let Some(Value::Object(map)) = &json
        && map.contains_key("onProgress")
    {
        return Err(StoreError::new(
            ErrorCode::BadOption,
            format!("{function}: option 'onProgress' must be a function (event) => void."),
        ));
    }
    let on_progress = match flat.callbacks.into_iter().next() {
        None => None,
        Some((_, raw)) => {
            // SAFETY: js_input saw this handle's typeof as "function", in this call.
            let f: Function<'_, Value, Unknown<'static>> =
                unsafe { Function::from_napi_value(env.raw(), raw) }.map_err(|e| {
                    StoreError::new(ErrorCode::BadOption, format!("{function}: {}", e.reason))
                })?;
            let tsfn = f
                .build_threadsafe_function::<Value>()
                .callee_handled::<false>()
                .build()
                .map_err(|e| {
                    StoreError::new(
                        ErrorCode::BadOption,
                        format!("{function}: onProgress could not be kept ({})", e.reason),
                    )
                })?;
            Some(tsfn)
        }
    };
    Ok((json, on_progress))
}

/// A [`Progress`] that forwards events to the JS callback without ever blocking
/// the install. What the callback throws is caught here and dropped, so it never
/// becomes an `uncaughtException` (napi-rs would raise one for a plain `call`).
/// Events are queued: some may reach the callback just after the promise settles.
fn progress_sink(on_progress: Option<ProgressFn>) -> Progress {
    let Some(tsfn) = on_progress else {
        return crate::install::progress::silent();
    };
    let tsfn = Arc::new(tsfn);
    Arc::new(move |event: ProgressEvent| {
        let Ok(value) = serde_json::to_value(&event) else {
            return;
        };
        tsfn.call_with_return_value(
            value,
            ThreadsafeFunctionCallMode::NonBlocking,
            // Ok even when the callback threw: the exception has been taken out of
            // the JS environment and is deliberately ignored.
            |_result, _env| Ok(()),
        );
    })
}
