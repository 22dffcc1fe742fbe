//! The addon's own async runtime, and the bridge from its tasks to JS promises.
//!
//! napi-rs can run `#[napi] async fn`s on a tokio runtime of its own, but it builds
//! that runtime (and starts its threads) while the addon is loaded, so every
//! `require('claude-mem-store')` paid for it, including in processes that never
//! call an async function; and it spawns two tasks per call (the work, and a
//! second one watching it for panics). Here the runtime is built on the first
//! call, and each call is one task whose panics are caught where it runs.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use napi::bindgen_prelude::*;
use serde::Serialize;

use super::Coded;
use crate::error::{ErrorCode, StoreError};

/// Built on first use; `None` if the OS refused its threads (then every async
/// call rejects with `E_INTERNAL` rather than aborting Node).
static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();

fn runtime() -> Option<&'static tokio::runtime::Runtime> {
    RUNTIME
        .get_or_init(|| {
            // Our threads outlive any one Node environment (a worker thread may load
            // the addon and exit), so the image they run from must never be unloaded.
            #[cfg(not(target_family = "wasm"))]
            napi::bindgen_prelude::retain_current_module_for_unload_safety();
            // One worker: the work is a few sockets, files and child processes, and
            // on one thread a call, its connection's driver task and the I/O driver
            // never hand off to each other (with two workers the idle one steals the
            // driver task, and every reply crosses threads: about 0.15 ms of a
            // 0.5 ms status). Blocking work (unpacking, `--version` runs, package
            // queries) must go to the blocking pool (`spawn_blocking`), or it would
            // stall the worker and with it every other call and the watcher.
            // Naming the count also skips tokio's probing of cgroups for CPUs, and
            // keeps a 64-core machine from getting 64 idle threads for a queue store.
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("claude-mem-store")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
}

pub(crate) fn no_runtime() -> StoreError {
    StoreError::new(
        ErrorCode::Internal,
        "claude-mem-store could not start its worker threads (the OS refused them). \
         Free some memory or raise the process/thread limit, then try again.",
    )
}

/// Runs `work` in the background; `false` if there is no runtime to run it on.
pub(crate) fn spawn(work: impl Future<Output = ()> + Send + 'static) -> bool {
    match runtime() {
        Some(rt) => {
            rt.spawn(work);
            true
        }
        None => false,
    }
}

/// Starts `work` and returns the promise of its result. An `Err` rejects with a JS
/// `Error` whose `code` is the stable code; a bug that panics rejects with
/// `E_INTERNAL`, never a crashed Node.
pub(crate) fn promise<'env, T, F>(env: &'env Env, work: F) -> Result<Object<'env>>
where
    T: Serialize + Send + 'static,
    F: Future<Output = crate::error::Result<T>> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    let Some(rt) = runtime() else {
        deferred.resolve(settle_with(Err(no_runtime())));
        return Ok(promise);
    };
    // Everything that could panic (the work, dropping it, serializing its result)
    // happens inside `CatchUnwind`, so the deferred is always settled.
    let work = async move {
        work.await.and_then(|v| {
            serde_json::to_value(v).map_err(|e| StoreError::new(ErrorCode::Internal, e.to_string()))
        })
    };
    rt.spawn(async move {
        let result = match CatchUnwind(Box::pin(work)).await {
            Ok(result) => result,
            Err(()) => Err(StoreError::new(
                ErrorCode::Internal,
                "claude-mem-store hit an internal error (a panic). Please report it with the steps that led here.",
            )),
        };
        deferred.resolve(settle_with(result));
    });
    Ok(promise)
}

/// The resolver a deferred runs on the JS thread (one function, so that both of
/// `promise`'s paths hand the deferred the same resolver type).
fn settle_with(
    result: std::result::Result<serde_json::Value, StoreError>,
) -> impl FnOnce(Env) -> Result<Coded> {
    move |_| Ok(Coded(result))
}

/// Polls a future inside `catch_unwind`: a panic ends it with `Err(())`.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::result::Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}
