//! The one N-API layer: converts JavaScript options into plain Rust, runs the
//! logic, and turns results and errors back into JavaScript. No logic lives here.
//!
//! Options arrive as JSON values so that our own validation answers every mistake
//! with a stable code; results leave as JSON values shaped like index.d.ts.
//! Errors become real JS `Error`s whose `code` is one of the stable codes: napi-rs
//! cannot give an async function's error a custom code directly (napi-rs #1632), so
//! a result is wrapped in `Coded`, which builds the Error on the JS thread.

use napi::bindgen_prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::error::{ErrorCode, StoreError};
use crate::options::OptionReader;
use crate::settings::{self, STORE_OPTION_KEYS, Settings, StoreOptions};

pub mod install;
pub mod js_input;
pub mod probe;
pub mod store;
pub mod watch;

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
pub(crate) async fn run<T, F>(work: F) -> Result<Coded>
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

/// The store options of `function` (its one argument), resolved into settings.
pub(crate) fn store_settings(
    function: &'static str,
    options: js_input::JsInput,
    extra: js_input::JsInput,
) -> crate::error::Result<Settings> {
    extra.nothing(function, "one argument (options)")?;
    let options = options.options(function)?;
    let reader = OptionReader::new(function, options.as_ref(), STORE_OPTION_KEYS)?;
    Settings::resolve(&StoreOptions::read(&reader)?, &settings::process_env())
}

/// The runtime every async function runs on. napi-rs builds one when the addon is
/// loaded; ours names its worker count (two: the work is a few sockets and files)
/// so that building it does not probe cgroups for the CPU count on every `require`,
/// and so that a 64-core machine does not get 64 idle threads for a queue store.
#[napi_derive::module_init]
fn init_runtime() {
    if let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("claude-mem-store")
        .enable_all()
        .build()
    {
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}
