//! The one N-API layer: converts JavaScript options into plain Rust, runs the
//! logic, and turns results and errors back into JavaScript. No logic lives here.
//!
//! Options arrive as JSON values (`js_input`) so that our own validation answers
//! every mistake with a stable code; what they mean — keys, defaults, environment
//! variables, ranges — is decided by the plain-Rust readers (`settings::read`,
//! `install::options`, `checks::probe::options`, `ResolveRequest::read`), which
//! the exports call with that JSON and the process environment. Results leave as
//! JSON values shaped like index.d.ts.
//! Errors become real JS `Error`s whose `code` is one of the stable codes: napi-rs
//! cannot give an async result's error a custom code directly (napi-rs #1632), so
//! a result is wrapped in `Coded`, which builds the Error on the JS thread.
//! Async functions return promises settled from our own runtime (`runtime.rs`).

use napi::bindgen_prelude::*;
use serde_json::Value;

use crate::error::StoreError;

pub mod install;
pub mod js_input;
#[cfg(test)]
mod option_keys;
pub mod probe;
pub mod runtime;
#[cfg(test)]
mod shapes;
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

/// The options of an export that takes one argument, as JSON (`None`: none given);
/// a second argument or an unreadable value is `E_BAD_OPTION`.
pub(crate) fn only_options(
    function: &str,
    options: js_input::JsInput,
    extra: js_input::JsInput,
) -> crate::error::Result<Option<Value>> {
    extra.nothing(function, "one argument (options)")?;
    options.options(function)
}
