//! Reading JavaScript arguments without ever failing.
//!
//! napi-rs converts a `serde_json::Value` argument synchronously and, when it
//! cannot (a function, a Symbol, NaN, a cyclic object, a getter or Proxy trap that
//! throws), throws its own `InvalidArg` error — or lets the JS exception escape —
//! before our code runs, so the caller gets no stable `code`. [`JsInput`] is the
//! argument type every export uses instead: its conversion always succeeds and
//! carries either the value or a description of what was wrong, which the export
//! then reports as `E_BAD_OPTION` / `E_BAD_URL` like any other bad input.
//!
//! Options objects are flat (every option is a string, number or boolean), so only
//! their own enumerable keys are read, one level deep: a nested object or array is
//! never walked, only noted as "an object"/"an array" for the type error. A cyclic,
//! huge or hostile nested value therefore costs nothing. A JS exception raised
//! while reading (a throwing getter, a Proxy trap) is taken out of the engine here,
//! so it never surfaces in place of our coded error.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;
use serde_json::{Map, Number, Value};

use crate::error::{ErrorCode, StoreError};

/// More keys than any options object has; bounds the work before validation.
const MAX_KEYS: u32 = 64;
/// Longest exception message quoted back to the caller.
const MAX_QUOTE: usize = 160;

/// What could not be read, and where: `key` is `None` for the argument itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub key: Option<String>,
    pub what: String,
}

impl Unreadable {
    fn at(key: Option<&str>, what: impl Into<String>) -> Self {
        Unreadable {
            key: key.map(printable),
            what: what.into(),
        }
    }
}

/// One argument as plain JSON (`None` for `undefined`/`null`), or why it is not.
pub struct JsInput(pub std::result::Result<Option<Value>, Unreadable>);

impl FromNapiValue for JsInput {
    /// Never fails: a problem is carried in the value, to be reported with our code.
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let reader = Reader { env };
        Ok(JsInput(reader.argument(value, &[]).map(|flat| flat.json)))
    }
}

/// A flat options object read into JSON, with the function-valued keys that the
/// caller asked for (`onProgress`, `onEvent`) kept aside as raw JS values.
pub struct Flat {
    pub json: Option<Value>,
    pub callbacks: Vec<(String, sys::napi_value)>,
}

/// Reads `value` (an argument of the current call) on the JS thread. Functions
/// are accepted only under the keys in `callbacks`.
///
/// # Safety
/// `env` and `value` must come from the current N-API call, on the JS thread.
pub unsafe fn read_argument(
    env: sys::napi_env,
    value: sys::napi_value,
    callbacks: &[&str],
) -> std::result::Result<Flat, Unreadable> {
    Reader { env }.argument(value, callbacks)
}

struct Reader {
    env: sys::napi_env,
}

type Read<T> = std::result::Result<T, Unreadable>;

impl Reader {
    fn argument(&self, value: sys::napi_value, callbacks: &[&str]) -> Read<Flat> {
        let mut found = Vec::new();
        let json = match self.type_of(value, None)? {
            ValueType::Undefined | ValueType::Null => None,
            ValueType::Object => Some(self.top_object(value, callbacks, &mut found)?),
            _ => Some(self.scalar(value, None)?),
        };
        Ok(Flat {
            json,
            callbacks: found,
        })
    }

    /// An object argument: a plain object's own keys, or a typed placeholder for
    /// an array (so that the option reader says "got an array").
    fn top_object(
        &self,
        value: sys::napi_value,
        callbacks: &[&str],
        found: &mut Vec<(String, sys::napi_value)>,
    ) -> Read<Value> {
        if self.is_array(value, None)? {
            return Ok(Value::Array(Vec::new()));
        }
        self.check_plain(value)?;
        let mut map = Map::new();
        for key in self.own_keys(value)? {
            let v = self.property(value, &key)?;
            match self.type_of(v, Some(&key))? {
                ValueType::Undefined => {}
                ValueType::Function if callbacks.contains(&key.as_str()) => found.push((key, v)),
                ValueType::Object if self.is_array(v, Some(&key))? => {
                    map.insert(key, Value::Array(Vec::new()));
                }
                ValueType::Object => {
                    map.insert(key, Value::Object(Map::new()));
                }
                _ => {
                    let json = self.scalar(v, Some(&key))?;
                    map.insert(key, json);
                }
            }
        }
        Ok(Value::Object(map))
    }

    /// A primitive as JSON: strings, booleans, finite numbers. Everything that JSON
    /// cannot hold is named instead.
    fn scalar(&self, value: sys::napi_value, key: Option<&str>) -> Read<Value> {
        match self.type_of(value, key)? {
            ValueType::Undefined | ValueType::Null => Ok(Value::Null),
            ValueType::Boolean => {
                let mut b = false;
                self.status(
                    unsafe { sys::napi_get_value_bool(self.env, value, &mut b) },
                    key,
                )?;
                Ok(Value::Bool(b))
            }
            ValueType::Number => {
                let mut n = 0f64;
                self.status(
                    unsafe { sys::napi_get_value_double(self.env, value, &mut n) },
                    key,
                )?;
                number(n).map(Value::Number).ok_or_else(|| {
                    let what = if n.is_nan() {
                        "NaN"
                    } else if n > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    };
                    Unreadable::at(key, what)
                })
            }
            ValueType::String => self.string(value, key).map(Value::String),
            ValueType::BigInt => Err(Unreadable::at(key, "a BigInt")),
            ValueType::Symbol => Err(Unreadable::at(key, "a Symbol")),
            ValueType::Function => Err(Unreadable::at(key, "a function")),
            ValueType::External => Err(Unreadable::at(key, "a native external value")),
            ValueType::Object => Ok(Value::Object(Map::new())),
            _ => Err(Unreadable::at(key, "a value of an unknown kind")),
        }
    }

    fn string(&self, value: sys::napi_value, key: Option<&str>) -> Read<String> {
        let mut len = 0usize;
        self.status(
            unsafe {
                sys::napi_get_value_string_utf8(self.env, value, ptr::null_mut(), 0, &mut len)
            },
            key,
        )?;
        let mut buf = vec![0u8; len + 1];
        let mut written = 0usize;
        self.status(
            unsafe {
                sys::napi_get_value_string_utf8(
                    self.env,
                    value,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    &mut written,
                )
            },
            key,
        )?;
        buf.truncate(written);
        // V8 writes lone surrogates as U+FFFD, so this is valid UTF-8; be safe anyway.
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Plain objects only: `{...}` or `Object.create(null)`, from any realm (their
    /// prototype is null or has a null prototype). A Map, Date, Promise or class
    /// instance would otherwise read as `{}` and silently mean "no options".
    fn check_plain(&self, value: sys::napi_value) -> Read<()> {
        let proto = self.prototype(value)?;
        if self.type_of(proto, None)? == ValueType::Null {
            return Ok(());
        }
        let grand = self.prototype(proto)?;
        if self.type_of(grand, None)? == ValueType::Null {
            return Ok(());
        }
        Err(Unreadable::at(
            None,
            "an object that is not a plain { ... } object (a Map, Date, Promise or class instance)",
        ))
    }

    fn prototype(&self, value: sys::napi_value) -> Read<sys::napi_value> {
        let mut proto = ptr::null_mut();
        self.status(
            unsafe { sys::napi_get_prototype(self.env, value, &mut proto) },
            None,
        )?;
        Ok(proto)
    }

    /// Own, enumerable, string keys (what `Object.keys` returns), at most `MAX_KEYS`.
    fn own_keys(&self, object: sys::napi_value) -> Read<Vec<String>> {
        let mut names = ptr::null_mut();
        self.status(
            unsafe {
                sys::napi_get_all_property_names(
                    self.env,
                    object,
                    sys::KeyCollectionMode::own_only,
                    sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                    sys::KeyConversion::numbers_to_strings,
                    &mut names,
                )
            },
            None,
        )?;
        let mut len = 0u32;
        self.status(
            unsafe { sys::napi_get_array_length(self.env, names, &mut len) },
            None,
        )?;
        if len > MAX_KEYS {
            return Err(Unreadable::at(
                None,
                format!("an object with {len} keys (options have at most a dozen)"),
            ));
        }
        let mut keys = Vec::with_capacity(len as usize);
        for i in 0..len {
            let mut name = ptr::null_mut();
            self.status(
                unsafe { sys::napi_get_element(self.env, names, i, &mut name) },
                None,
            )?;
            keys.push(self.string(name, None)?);
        }
        Ok(keys)
    }

    fn property(&self, object: sys::napi_value, key: &str) -> Read<sys::napi_value> {
        let mut name = ptr::null_mut();
        self.status(
            unsafe {
                sys::napi_create_string_utf8(
                    self.env,
                    key.as_ptr().cast(),
                    key.len() as isize,
                    &mut name,
                )
            },
            Some(key),
        )?;
        let mut value = ptr::null_mut();
        self.status(
            unsafe { sys::napi_get_property(self.env, object, name, &mut value) },
            Some(key),
        )?;
        Ok(value)
    }

    fn is_array(&self, value: sys::napi_value, key: Option<&str>) -> Read<bool> {
        let mut is = false;
        self.status(unsafe { sys::napi_is_array(self.env, value, &mut is) }, key)?;
        Ok(is)
    }

    fn type_of(&self, value: sys::napi_value, key: Option<&str>) -> Read<ValueType> {
        let mut t = 0;
        self.status(unsafe { sys::napi_typeof(self.env, value, &mut t) }, key)?;
        Ok(ValueType::from(t))
    }

    /// A failed N-API call becomes an [`Unreadable`]; a JS exception it left pending
    /// (a throwing getter or Proxy trap) is cleared and quoted.
    fn status(&self, status: sys::napi_status, key: Option<&str>) -> Read<()> {
        if status == sys::Status::napi_ok {
            return Ok(());
        }
        let what = match self.take_exception() {
            Some(message) => format!("a value whose reading threw {message}"),
            None => format!("a value N-API could not read (status {status})"),
        };
        Err(Unreadable::at(key, what))
    }

    /// Clears a pending JS exception and describes it, so that it cannot replace the
    /// coded error we report. Reading the exception's `message` may itself throw
    /// (a hostile getter): that one is cleared too and the message left out.
    fn take_exception(&self) -> Option<String> {
        let mut pending = false;
        unsafe { sys::napi_is_exception_pending(self.env, &mut pending) };
        if !pending {
            return None;
        }
        let mut exception = ptr::null_mut();
        unsafe { sys::napi_get_and_clear_last_exception(self.env, &mut exception) };
        let message = self.exception_text(exception);
        // Whatever describing it raised must not stay pending either.
        let mut again = false;
        unsafe { sys::napi_is_exception_pending(self.env, &mut again) };
        if again {
            let mut ignored = ptr::null_mut();
            unsafe { sys::napi_get_and_clear_last_exception(self.env, &mut ignored) };
        }
        Some(match message {
            Some(m) => format!("'{}'", quote(&m)),
            None => "an exception".to_string(),
        })
    }

    fn exception_text(&self, exception: sys::napi_value) -> Option<String> {
        if exception.is_null() {
            return None;
        }
        let quiet = Reader { env: self.env };
        match quiet.type_of(exception, None).ok()? {
            ValueType::String => quiet.string(exception, None).ok(),
            ValueType::Object => {
                let mut name = ptr::null_mut();
                let key = "message";
                let ok = unsafe {
                    sys::napi_create_string_utf8(
                        self.env,
                        key.as_ptr().cast(),
                        key.len() as isize,
                        &mut name,
                    )
                } == sys::Status::napi_ok;
                let mut message = ptr::null_mut();
                if !ok
                    || unsafe { sys::napi_get_property(self.env, exception, name, &mut message) }
                        != sys::Status::napi_ok
                {
                    return None;
                }
                (quiet.type_of(message, None).ok()? == ValueType::String)
                    .then(|| quiet.string(message, None).ok())
                    .flatten()
            }
            _ => None,
        }
    }
}

impl JsInput {
    /// The options argument of `function`; anything unreadable is `E_BAD_OPTION`.
    pub fn options(self, function: &str) -> crate::error::Result<Option<Value>> {
        self.0.map_err(|u| bad_option(function, &u))
    }

    /// A trailing argument no export takes: only `undefined` is accepted, so that
    /// `f(a, b)` meant as `f({a, b})` is not silently half-ignored.
    pub fn nothing(self, function: &str, takes: &str) -> crate::error::Result<()> {
        match self.0 {
            Ok(None) => Ok(()),
            Ok(Some(_)) | Err(_) => Err(StoreError::new(
                ErrorCode::BadOption,
                format!(
                    "{function} takes {takes}; an extra argument was passed. Put every option in one object."
                ),
            )),
        }
    }
}

/// `E_BAD_OPTION` naming the option (or the whole argument) and what it was.
pub fn bad_option(function: &str, u: &Unreadable) -> StoreError {
    let message = match &u.key {
        None => format!(
            "{function}: options must be a plain object, got {}. Call {function}() or {function}({{ ... }}).",
            u.what
        ),
        Some(key) => format!(
            "{function}: option '{key}' is {}; options are strings, numbers or booleans.",
            u.what
        ),
    };
    StoreError::new(ErrorCode::BadOption, message)
}

/// A finite JS number as JSON, whole numbers as integers (so `5000` reads "5000",
/// as napi-rs's own conversion does); `None` for NaN and ±Infinity.
fn number(n: f64) -> Option<Number> {
    if !n.is_finite() {
        return None;
    }
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        return Some(Number::from(n as i64));
    }
    Number::from_f64(n)
}

/// Echoed text: no control characters, bounded length.
fn quote(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_QUOTE)
        .collect();
    if s.chars().count() > MAX_QUOTE {
        out.push('…');
    }
    out
}

fn printable(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(64)
        .collect();
    if key.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[path = "js_input_tests.rs"]
mod tests;
