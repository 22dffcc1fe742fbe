//! `probeRedisUrl`: checks a Redis URL for use as BullMQ's queue store.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::js_input::{JsInput, Unreadable};
use super::runtime::promise;
use crate::checks::probe::options::{self as probe_options, PROBE};
use crate::checks::probe::{self, ProbeOptions};
use crate::settings::process_env;

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
        let url = probe_options::read_url(match &url.0 {
            Ok(value) => Ok(value.as_ref()),
            // A problem under a key means the URL was an object (e.g. with a toString).
            Err(Unreadable { key: Some(_), .. }) => Err("an object"),
            Err(Unreadable { key: None, what }) => Err(what.as_str()),
        })?;
        extra.nothing(PROBE.function, "two arguments (url, options)")?;
        let options = options.options(PROBE.function)?;
        let options = ProbeOptions::read(options.as_ref(), &process_env())?;
        probe::probe_url(&url, &options).await
    })
}
