//! `probeRedisUrl`: checks a Redis URL for use as BullMQ's queue store.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;

use super::js_input::{JsInput, Unreadable};
use super::runtime::promise;
use crate::checks::probe::{self, DEFAULT_PROBE_TIMEOUT, ProbeOptions};
use crate::error::{ErrorCode, StoreError};
use crate::settings::options::{OptionReader, type_name};
use crate::settings::{self, KEY_CA_FILE, claude_mem, parse_timeout};

const FUNCTION: &str = "probeRedisUrl";

/// Checks whether `url` (`redis://` or `rediss://`, with `user:password@` and
/// `/db` as needed) can serve as BullMQ's queue store, one check per step: TCP
/// connect, TLS, AUTH, PING, `INFO` (flavor, version), maxmemory policy, AOF,
/// Lua with cjson/cmsgpack, cluster mode and prefix, and with `smoke: true` the
/// BullMQ smoke test (it writes a few keys in its own namespace and deletes them).
///
/// Server-side problems are failing checks in the report (`ok: false`, each with
/// its `code`); the promise rejects only for a malformed URL (`E_BAD_URL`) or a bad
/// option (`E_BAD_OPTION`). The whole probe keeps to `timeoutMs` (default 5000).
/// The password never appears in the report.
#[napi(
    ts_args_type = "url: string, options?: ProbeOptions",
    ts_return_type = "Promise<ProbeReport>"
)]
pub fn probe_redis_url(
    env: &Env,
    url: JsInput,
    options: JsInput,
    extra: JsInput,
) -> Result<Object<'_>> {
    promise(env, async move {
        let url = match url.0 {
            Ok(Some(Value::String(u))) => u,
            Ok(None) => {
                return Err(StoreError::new(
                    ErrorCode::BadUrl,
                    "probeRedisUrl needs a URL: probeRedisUrl('redis://host:port').",
                ));
            }
            Ok(Some(other)) => return Err(not_a_url(type_name(&other))),
            // A problem under a key means the URL was an object (e.g. with a toString).
            Err(Unreadable { key: Some(_), .. }) => return Err(not_a_url("an object")),
            Err(Unreadable { key: None, what }) => return Err(not_a_url(&what)),
        };
        extra.nothing(FUNCTION, "two arguments (url, options)")?;
        let options = options.options(FUNCTION)?;
        let options = probe_options(options.as_ref())?;
        probe::probe_url(&url, &options).await
    })
}

fn not_a_url(what: &str) -> StoreError {
    StoreError::new(
        ErrorCode::BadUrl,
        format!("probeRedisUrl's URL must be a string such as 'redis://host:port', got {what}."),
    )
}

/// Options: explicit > environment (`CLAUDE_MEM_QUEUE_REDIS_PREFIX`,
/// `CLAUDE_MEM_REDIS_CA_FILE`) > default.
fn probe_options(value: Option<&Value>) -> crate::error::Result<ProbeOptions> {
    let reader = OptionReader::new(FUNCTION, value, &["timeoutMs", "smoke", "prefix", "caFile"])?;
    let timeout = match reader.number_text("timeoutMs")? {
        None => DEFAULT_PROBE_TIMEOUT,
        Some(t) => parse_timeout(&t).ok_or_else(|| {
            StoreError::new(
                ErrorCode::BadOption,
                format!(
                    "{FUNCTION}: timeoutMs is {t}; use a whole number of milliseconds from 1 to 600000."
                ),
            )
        })?,
    };
    let env = settings::process_env();
    let from_env = |key: &str| env.get(key).filter(|v| !v.is_empty()).cloned();
    // An explicit prefix is probed as given (BullMQ used directly may hash-tag it);
    // otherwise the one claude-mem's queues will use.
    let prefix = match reader.string("prefix")?.filter(|p| !p.is_empty()) {
        Some(prefix) => prefix,
        None => claude_mem::env_prefix(&env),
    };
    let ca_pem = match reader.string("caFile")?.filter(|p| !p.is_empty()) {
        Some(path) => Some(probe::load_ca_file(path.as_ref(), ErrorCode::BadOption)?),
        None => match from_env(KEY_CA_FILE) {
            Some(path) => Some(probe::load_ca_file(path.as_ref(), ErrorCode::BadSettings)?),
            None => None,
        },
    };
    Ok(ProbeOptions {
        timeout,
        smoke: reader.bool("smoke")?.unwrap_or(false),
        prefix,
        ca_pem,
    })
}
