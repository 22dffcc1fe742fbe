//! Installing, resolving and uninstalling: planInstall, installQueueStore,
//! resolveQueueStore, uninstallQueueStore.
//!
//! installQueueStore and resolveQueueStore take an `onProgress` function inside
//! their options. A function cannot travel as JSON, so these two are sync entry
//! points that split the options on the JS thread — `onProgress` becomes a
//! threadsafe function, everything else a JSON value for the plain-Rust readers
//! (`install::options`, `ResolveRequest::read`) — and then return the promise of
//! the async work.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::Value;

use super::js_input::{self, JsInput};
use super::only_options;
use super::runtime::promise;
use crate::error::{ErrorCode, StoreError};
use crate::install::options::{self as install_options, INSTALL, PLAN};
use crate::install::platform::Platform;
use crate::install::progress::{Progress, ProgressEvent};
use crate::install::{self, plan};
use crate::lifecycle::resolve::{self, RESOLVE, ResolveRequest};
use crate::lifecycle::uninstall;
use crate::settings::process_env;
use crate::settings::read::{UNINSTALL, UninstallOptions};

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
        let options = only_options(PLAN.function, options, extra)?;
        let method = install_options::read_plan(options.as_ref())?;
        Ok(plan::plan_for_method(&Platform::detect(), method).await)
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
    let split = split_options(env, INSTALL.function, options);
    promise(env, async move {
        extra.nothing(INSTALL.function, "one argument (options)")?;
        let (json, on_progress) = split?;
        let progress = progress_sink(on_progress);
        let req = install_options::read_install(json.as_ref(), &process_env())?;
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
    let split = split_options(env, RESOLVE.function, options);
    promise(env, async move {
        extra.nothing(RESOLVE.function, "one argument (options)")?;
        let (json, on_progress) = split?;
        let progress = progress_sink(on_progress);
        let (settings, req) = ResolveRequest::read(json.as_ref(), &process_env())?;
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
        let options = only_options(UNINSTALL.function, options, extra)?;
        let o = UninstallOptions::read(options.as_ref(), &process_env())?;
        uninstall::uninstall(&o.settings, o.purge_data, o.force).await
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
