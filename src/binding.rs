//! The one N-API layer: converts JavaScript options into plain Rust, runs the
//! logic, and turns results and errors back into JavaScript. No logic lives here.
//!
//! Options arrive as JSON values so that our own validation answers every mistake
//! with a stable code; results leave as JSON values shaped like index.d.ts.
//! Errors become real JS `Error`s whose `code` is one of the stable codes: napi-rs
//! cannot give an async function's error a custom code directly (napi-rs #1632), so
//! a result is wrapped in `Coded`, which builds the Error on the JS thread.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::Serialize;
use serde_json::Value;

use crate::binaries;
use crate::error::{ErrorCode, StoreError};
use crate::managed;
use crate::options::OptionReader;
use crate::settings::{self, Mode, STORE_OPTION_KEYS, Settings, StoreOptions};

/// A result or a coded error, converted to JS on the JS thread.
pub struct Coded(std::result::Result<Value, StoreError>);

impl ToNapiValue for Coded {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        match val.0 {
            // SAFETY: called by napi-rs with a valid env on the JS thread.
            Ok(v) => unsafe { Value::to_napi_value(env, v) },
            Err(e) => {
                let env = Env::from_raw(env);
                let js_error =
                    JsError::from(Error::new(e.code.as_str(), e.message)).into_unknown(env);
                Err(Error::from(js_error))
            }
        }
    }
}

/// Runs `work` on the runtime as its own task, so that even a bug that panics
/// becomes a rejected promise with code `E_INTERNAL`, never a crashed Node.
async fn run<T, F>(work: F) -> Result<Coded>
where
    T: Serialize + Send + 'static,
    F: std::future::Future<Output = crate::error::Result<T>> + Send + 'static,
{
    let result = match tokio::spawn(work).await {
        Ok(r) => r,
        Err(e) => Err(StoreError::new(
            ErrorCode::Internal,
            format!(
                "claude-mem-store hit an internal error ({}). Please report it with the steps that led here.",
                if e.is_panic() {
                    "a panic"
                } else {
                    "a cancelled task"
                }
            ),
        )),
    };
    Ok(Coded(result.and_then(|v| {
        serde_json::to_value(v).map_err(|e| StoreError::new(ErrorCode::Internal, e.to_string()))
    })))
}

fn store_settings(
    function: &'static str,
    options: Option<&Value>,
) -> crate::error::Result<Settings> {
    let reader = OptionReader::new(function, options, STORE_OPTION_KEYS)?;
    Settings::resolve(&StoreOptions::read(&reader)?, &settings::process_env())
}

fn unsupported_mode(mode: Mode) -> StoreError {
    StoreError::new(
        ErrorCode::Unsupported,
        format!(
            "mode {} is not available in this version of claude-mem-store yet. Use mode managed.",
            mode.as_str()
        ),
    )
}

/// Makes sure the queue store is running and healthy, and returns how to reach it.
///
/// Managed mode (the default): takes the store lock, adopts our running sidecar if
/// there is one, else starts one (a private Valkey/Redis under `<dataDir>/redis`
/// on a private port) and waits until it has loaded its data and answers PING.
/// Idempotent: N callers in N processes end with one server.
///
/// Rejects with `E_BAD_SETTINGS`, `E_BAD_OPTION`, `E_NO_SERVER_BINARY`,
/// `E_PORT_IN_USE`, `E_START_FAILED`, `E_TIMEOUT`, `E_LOCK_TIMEOUT`, `E_NOT_OWNED`, …
#[napi(
    ts_args_type = "options?: StoreOptions",
    ts_return_type = "Promise<QueueStoreStatus>"
)]
pub async fn ensure_queue_store_started(options: Option<Value>) -> Result<Coded> {
    run(async move {
        let settings = store_settings("ensureQueueStoreStarted", options.as_ref())?;
        match settings.mode {
            Mode::Managed => managed::ensure(&settings).await,
            other => Err(unsupported_mode(other)),
        }
    })
    .await
}

/// Reports whether the store is running, whose it is and how healthy it is.
/// Never starts, stops or writes anything.
#[napi(
    ts_args_type = "options?: StoreOptions",
    ts_return_type = "Promise<QueueStoreStatus>"
)]
pub async fn queue_store_status(options: Option<Value>) -> Result<Coded> {
    run(async move {
        let settings = store_settings("queueStoreStatus", options.as_ref())?;
        match settings.mode {
            Mode::Managed => managed::status(&settings).await,
            other => Err(unsupported_mode(other)),
        }
    })
    .await
}

/// Stops the managed store, but only a server proved to be ours (live pid, matching
/// start token, and the server's own `run_id`): `SHUTDOWN`, then SIGTERM, then
/// SIGKILL after `timeoutMs`. A pid file naming someone else's process is set aside
/// and that process is never signalled (the result's `code` is `E_NOT_OWNED`).
/// Nothing running is a result, not an error.
#[napi(
    ts_args_type = "options?: StoreOptions",
    ts_return_type = "Promise<StopResult>"
)]
pub async fn stop_queue_store(options: Option<Value>) -> Result<Coded> {
    run(async move {
        let settings = store_settings("stopQueueStore", options.as_ref())?;
        match settings.mode {
            Mode::Managed => managed::stop(&settings).await,
            other => Err(unsupported_mode(other)),
        }
    })
    .await
}

/// Lists the `valkey-server` / `redis-server` binaries on this machine, best first
/// (Valkey before Redis, newer first): on PATH, in /opt/homebrew/bin,
/// /usr/local/bin, /usr/bin and under `<dataDir>/bin/valkey/<version>/`.
#[napi(
    ts_args_type = "options?: { dataDir?: string }",
    ts_return_type = "Promise<ServerBinary[]>"
)]
pub async fn detect_server_binaries(options: Option<Value>) -> Result<Coded> {
    run(async move {
        let reader = OptionReader::new("detectServerBinaries", options.as_ref(), &["dataDir"])?;
        let opts = StoreOptions {
            data_dir: reader.string("dataDir")?,
            ..Default::default()
        };
        let settings = Settings::resolve(&opts, &settings::process_env())?;
        let path_var = std::env::var_os("PATH");
        Ok(tokio::task::spawn_blocking(move || {
            binaries::detect(&settings.data_dir, path_var.as_deref())
        })
        .await
        .unwrap_or_default())
    })
    .await
}
