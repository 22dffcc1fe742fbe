//! `watchQueueStore`: the supervisor's JS face. A class whose `close()` stops the
//! watching (never the store), and an `onEvent` callback fed from the runtime.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::Value;

use super::js_input::{self, JsInput};
use crate::error::{ErrorCode, StoreError};
use crate::modes::managed::watch::{self, WatchEvent};
use crate::settings::process_env;
use crate::settings::read::{WATCH, WatchOptions};

/// `(event) => void`, called on the JS thread, never blocking the watcher.
type EventCallback = ThreadsafeFunction<Value, (), Value, Status, false>;

const FUNCTION: &str = WATCH.function;

/// A running watch. `close()` ends it; the store keeps running.
#[napi]
pub struct QueueStoreWatcher {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

#[napi]
impl QueueStoreWatcher {
    /// Stops watching. The store is left as it is (running or not). Safe to call twice.
    #[napi]
    pub fn close(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Whether `close()` has been called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.stop.is_none()
    }
}

/// Watches the managed store and starts it again, with backoff (100 ms doubling
/// to 30 s), when its process dies without having been stopped. Every check and
/// action is reported to `onEvent`: `watching`, `died`, `restarting`, `restarted`,
/// `restartFailed`, `stopped`. A store stopped on purpose (`stopQueueStore`) is
/// left stopped. Two watchers in two processes never start two servers: restarts
/// go through `ensureQueueStoreStarted`'s lock. Throws `E_BAD_OPTION` /
/// `E_BAD_SETTINGS` for bad options.
#[napi(catch_unwind, ts_args_type = "options: WatchOptions")]
pub fn watch_queue_store(
    env: &Env,
    options: Unknown<'_>,
    extra: JsInput,
) -> Result<QueueStoreWatcher, ErrorCode> {
    extra
        .nothing(FUNCTION, "one argument (options)")
        .map_err(js_error)?;
    // SAFETY: both handles come from the current call, on the JS thread.
    let flat = unsafe { js_input::read_argument(env.raw(), options.raw(), &["onEvent"]) }
        .map_err(|u| js_error(js_input::bad_option(FUNCTION, &u)))?;
    let WatchOptions { settings, interval } =
        WatchOptions::read(flat.json.as_ref(), &process_env()).map_err(js_error)?;
    let no_callback = || {
        js_error(StoreError::new(
            ErrorCode::BadOption,
            "watchQueueStore: option 'onEvent' must be a function (event) => void.",
        ))
    };
    let Some((_, raw)) = flat.callbacks.into_iter().next() else {
        // Also for no options at all: there is nothing to watch for without onEvent.
        return Err(no_callback());
    };
    // SAFETY: js_input saw this handle's typeof as "function", in this call.
    let on_event: EventCallback = unsafe { Function::<Value, ()>::from_napi_value(env.raw(), raw) }
        .and_then(|f| {
            f.build_threadsafe_function::<Value>()
                .callee_handled::<false>()
                .build()
        })
        .map_err(|_| no_callback())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = super::runtime::spawn(async move {
        let emit = |event: WatchEvent| {
            if let Ok(v) = serde_json::to_value(event) {
                on_event.call(v, ThreadsafeFunctionCallMode::NonBlocking);
            }
        };
        watch::watch(settings, interval, emit, async {
            let _ = stopped.await;
        })
        .await;
    });
    if !started {
        return Err(js_error(super::runtime::no_runtime()));
    }
    Ok(QueueStoreWatcher { stop: Some(stop) })
}

fn js_error(e: StoreError) -> Error<ErrorCode> {
    Error::new(e.code, e.message)
}
