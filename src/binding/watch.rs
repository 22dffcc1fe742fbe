//! `watchQueueStore`: the supervisor's JS face. A class whose `close()` stops the
//! watching (never the store), and an `onEvent` callback fed from the runtime.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::error::{ErrorCode, StoreError};
use crate::managed::watch::{self, WatchEvent};
use crate::options::OptionReader;
use crate::settings::{self, STORE_OPTION_KEYS, Settings, StoreOptions};

/// `(event) => void`, called on the JS thread, never blocking the watcher.
type EventCallback = ThreadsafeFunction<Value, (), Value, Status, false>;

const DEFAULT_INTERVAL_MS: u64 = 1000;

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
pub fn watch_queue_store(options: Object) -> Result<QueueStoreWatcher, ErrorCode> {
    let on_event: EventCallback = options
        .get::<EventCallback>("onEvent")
        .ok()
        .flatten()
        .ok_or_else(|| {
            js_error(StoreError::new(
                ErrorCode::BadOption,
                "watchQueueStore: option 'onEvent' must be a function (event) => void.",
            ))
        })?;
    let rest = plain_options(&options).map_err(js_error)?;
    let (settings, interval) = read_options(&rest).map_err(js_error)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    napi::bindgen_prelude::spawn(async move {
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
    Ok(QueueStoreWatcher { stop: Some(stop) })
}

/// The options object without its callback, as JSON for our own validation.
fn plain_options(options: &Object) -> crate::error::Result<Value> {
    let keys = Object::keys(options).map_err(|e| internal(&e))?;
    let mut map = Map::new();
    for key in keys.into_iter().filter(|k| k != "onEvent") {
        let value = options.get::<Value>(&key).map_err(|_| {
            StoreError::new(
                ErrorCode::BadOption,
                format!("watchQueueStore: option '{key}' is not a plain value."),
            )
        })?;
        map.insert(key, value.unwrap_or(Value::Null));
    }
    Ok(Value::Object(map))
}

fn read_options(value: &Value) -> crate::error::Result<(Settings, std::time::Duration)> {
    let mut known = STORE_OPTION_KEYS.to_vec();
    known.extend(["intervalMs", "onEvent"]);
    let reader = OptionReader::new("watchQueueStore", Some(value), &known)?;
    let interval = match reader.number_text("intervalMs")? {
        None => DEFAULT_INTERVAL_MS,
        Some(t) => t.parse::<u64>().ok().filter(|ms| (10..=3_600_000).contains(ms)).ok_or_else(|| {
            StoreError::new(
                ErrorCode::BadOption,
                format!("watchQueueStore: intervalMs is {t}; use a whole number of milliseconds from 10 to 3600000."),
            )
        })?,
    };
    let settings = Settings::resolve(&StoreOptions::read(&reader)?, &settings::process_env())?;
    Ok((settings, std::time::Duration::from_millis(interval)))
}

fn js_error(e: StoreError) -> Error<ErrorCode> {
    Error::new(e.code, e.message)
}

fn internal(e: &Error) -> StoreError {
    StoreError::new(ErrorCode::Internal, e.to_string())
}
