//! The store's lifecycle functions: ensure, status, stop, detect.

use super::js_input::JsInput;
use super::only_options;
use super::runtime::promise;
use crate::modes;
use crate::server::binary::search;
use crate::settings::process_env;
use crate::settings::read::{self, DETECT, ENSURE, STATUS, STOP, StopOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Makes sure the queue store is running and healthy, and returns how to reach it.
///
/// Managed mode (the default): takes the store lock, adopts our running sidecar if
/// there is one, else starts one (a private Valkey/Redis under `<dataDir>/redis`
/// on a private port) and waits until it has loaded its data and answers PING.
/// Idempotent: N callers in N processes end with one server.
///
/// Docker mode: adopts, starts or runs this data dir's container from the pinned
/// `valkey/valkey` image (named volume for `/data`, published on 127.0.0.1 only),
/// found by its `com.claude-mem.*` labels; no `docker` on PATH or its engine down
/// is `E_DOCKER_UNAVAILABLE` with the next step. Docker is never installed.
/// External mode: probes `url` (`CLAUDE_MEM_REDIS_URL`; empty: `host:port` with no
/// password, as claude-mem's runtime connects) with every check and the
/// BullMQ smoke test, and returns its status; it never starts anything. A URL that
/// fails rejects with the failing check's code (`E_UNREACHABLE`, `E_AUTH`,
/// `E_EVICTION_POLICY`, `E_CLUSTER_PREFIX`, …) and its fix: there is no fallback
/// to a managed store.
///
/// Managed and docker mode save `CLAUDE_MEM_REDIS_MODE`, `_HOST`, `_PORT` and
/// `_URL` (with the password: the file is made 0600) to settings.json, which is
/// where claude-mem's own runtime reads its connection. Without a `binary`, the
/// managed store runs the server that last ran its data.
///
/// Upgrades reach running stores: when the managed store runs another binary than
/// the one this call would start (an older bundled build, another sha256), it is
/// moved onto it — stopped with `SHUTDOWN` (the AOF flushed), started again on the
/// same port with the same data and passwords, so the URL in settings.json stays
/// right and queued jobs are kept — when no other client is connected, or at once
/// with `restart: true` (their connections drop; BullMQ reconnects). Never onto an
/// older server or another kind; otherwise a notice says why it was left running,
/// and `server.outdated` stays true.
///
/// Rejects with `E_BAD_SETTINGS`, `E_BAD_OPTION`, `E_NO_SERVER_BINARY`,
/// `E_PORT_IN_USE`, `E_START_FAILED`, `E_DATA_INCOMPATIBLE` (the server cannot read
/// data a newer one wrote: the message names that one), `E_TIMEOUT`,
/// `E_LOCK_TIMEOUT`, `E_NOT_OWNED`, `E_DOCKER_UNAVAILABLE`, …
#[napi(
    ts_args_type = "options?: StoreOptions & { restart?: boolean }",
    ts_return_type = "Promise<QueueStoreStatus>"
)]
pub fn ensure_queue_store_started(
    env: &Env,
    options: JsInput,
    extra: JsInput,
) -> Result<Object<'_>> {
    promise(env, async move {
        let options = only_options(ENSURE.function, options, extra)?;
        let o = read::EnsureOptions::read(options.as_ref(), &process_env())?;
        modes::ensure(&o.settings, o.restart).await
    })
}

/// Reports whether the store is running, whose it is and how healthy it is.
/// Managed mode: `server.outdated` says whether the running server is another
/// binary than ensure would start now, with a notice on how to move it.
/// Never starts, stops or writes anything. Docker mode: Docker missing or down is
/// `running: false` with a failing `docker` check (`E_DOCKER_UNAVAILABLE`).
/// Never starts, stops or writes anything. External mode: probes the URL and
/// reports its checks (a failing server is a status, not a rejection).
#[napi(
    ts_args_type = "options?: StoreOptions",
    ts_return_type = "Promise<QueueStoreStatus>"
)]
pub fn queue_store_status(env: &Env, options: JsInput, extra: JsInput) -> Result<Object<'_>> {
    promise(env, async move {
        let options = only_options(STATUS.function, options, extra)?;
        let settings = read::store_settings(&STATUS, options.as_ref(), &process_env())?;
        modes::status(&settings).await
    })
}

/// Stops the managed store, but only a server proved to be ours (live pid, matching
/// start token, and the server's own `run_id`): `SHUTDOWN`, then SIGTERM, then
/// SIGKILL after `timeoutMs`. A pid file naming someone else's process is set aside
/// and that process is never signalled (the result's `code` is `E_NOT_OWNED`).
/// Nothing running is a result, not an error.
///
/// Several claude-mem processes share one store: when other clients are connected
/// (the server's own client list, less this call's connection) the store is left
/// running and the result says so — `stopped: false`, `code: 'E_STORE_IN_USE'`,
/// `clients` = how many — unless `force: true`.
///
/// Docker mode: `docker stop` of our labelled container only; the container and its
/// volume are kept. Docker missing or down: nothing can run, and the result's
/// `code` is `E_DOCKER_UNAVAILABLE`.
/// Nothing running is a result, not an error. External mode stops nothing (the
/// server is not claude-mem's) and says so, with `code` `E_NOT_OWNED`.
#[napi(
    ts_args_type = "options?: StoreOptions & { force?: boolean }",
    ts_return_type = "Promise<StopResult>"
)]
pub fn stop_queue_store(env: &Env, options: JsInput, extra: JsInput) -> Result<Object<'_>> {
    promise(env, async move {
        let options = only_options(STOP.function, options, extra)?;
        let stop = StopOptions::read(options.as_ref(), &process_env())?;
        modes::stop(&stop.settings, stop.force).await
    })
}

/// Lists the `valkey-server` / `redis-server` / `redict-server` binaries on this
/// machine, best first (Valkey, then Redis, then Redict; newer first): on PATH, in /opt/homebrew/bin,
/// /usr/local/bin, /usr/bin and under `<dataDir>/bin/valkey/<version>/`.
#[napi(
    ts_args_type = "options?: { dataDir?: string }",
    ts_return_type = "Promise<ServerBinary[]>"
)]
pub fn detect_server_binaries(env: &Env, options: JsInput, extra: JsInput) -> Result<Object<'_>> {
    promise(env, async move {
        let options = only_options(DETECT.function, options, extra)?;
        let settings = read::detect_settings(options.as_ref(), &process_env())?;
        Ok(search::detect_off_worker(settings.data_dir).await)
    })
}
