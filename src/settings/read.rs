//! What each store export reads from its options object: the keys it accepts (one
//! [`OptionSet`] per export) and one reader per option type, turning the plain
//! JSON the binding converted into settings and flags, with every default and
//! range decided here. Each reader takes the options as JSON and the environment
//! as a map, so `cargo test` exercises it without N-API.
//!
//! Adding an option to an export is one key in its set and one field in its
//! reader's result; `cli/option-keys.json` follows (`binding::option_keys`).

use std::time::Duration;

use serde_json::Value;

use super::options::{OptionReader, OptionSet};
use super::{Env, STORE_OPTION_KEYS, Settings, StoreOptions};
use crate::error::{ErrorCode, Result, StoreError};

/// `ensureQueueStoreStarted(options?: StoreOptions)`.
pub const ENSURE: OptionSet = OptionSet {
    function: "ensureQueueStoreStarted",
    groups: &[STORE_OPTION_KEYS, &["restart"]],
};

/// `queueStoreStatus(options?: StoreOptions)`.
pub const STATUS: OptionSet = OptionSet {
    function: "queueStoreStatus",
    groups: &[STORE_OPTION_KEYS],
};

/// `stopQueueStore(options?: StoreOptions & { force })`.
pub const STOP: OptionSet = OptionSet {
    function: "stopQueueStore",
    groups: &[STORE_OPTION_KEYS, &["force"]],
};

/// `uninstallQueueStore(options?: StoreOptions & { purgeData, force })`.
pub const UNINSTALL: OptionSet = OptionSet {
    function: "uninstallQueueStore",
    groups: &[STORE_OPTION_KEYS, &["purgeData", "force"]],
};

/// `watchQueueStore(options: WatchOptions)`. `onEvent` is a function, which the
/// binding keeps aside; the key is listed so that `onEvent: null` is not unknown.
pub const WATCH: OptionSet = OptionSet {
    function: "watchQueueStore",
    groups: &[STORE_OPTION_KEYS, &["intervalMs", "onEvent"]],
};

/// `detectServerBinaries(options?: { dataDir })`.
pub const DETECT: OptionSet = OptionSet {
    function: "detectServerBinaries",
    groups: &[&["dataDir"]],
};

/// How often a watcher looks at the store unless `intervalMs` says otherwise.
pub const DEFAULT_WATCH_INTERVAL: Duration = Duration::from_millis(1000);
/// The `intervalMs` a watcher accepts, in milliseconds.
pub const WATCH_INTERVAL_MS: std::ops::RangeInclusive<u64> = 10..=3_600_000;

/// The store options of `set`'s export (ensure, status), resolved into settings:
/// option > environment > settings.json > default.
pub fn store_settings(set: &OptionSet, options: Option<&Value>, env: &Env) -> Result<Settings> {
    let reader = set.reader(options)?;
    resolve(&reader, env)
}

/// `StoreOptions` read from an options object already checked by `reader`, resolved.
pub fn resolve(reader: &OptionReader<'_>, env: &Env) -> Result<Settings> {
    Settings::resolve(&StoreOptions::read(reader)?, env)
}

/// ensureQueueStoreStarted's options.
#[derive(Debug)]
pub struct EnsureOptions {
    pub settings: Settings,
    /// Move an outdated store onto the current binary even while other clients are
    /// connected (default false: only once none is).
    pub restart: bool,
}

impl EnsureOptions {
    pub fn read(options: Option<&Value>, env: &Env) -> Result<EnsureOptions> {
        let reader = ENSURE.reader(options)?;
        let settings = resolve(&reader, env)?;
        Ok(EnsureOptions {
            settings,
            restart: reader.bool("restart")?.unwrap_or(false),
        })
    }
}

/// stopQueueStore's options.
#[derive(Debug)]
pub struct StopOptions {
    pub settings: Settings,
    /// Stop even when other clients are connected (default false).
    pub force: bool,
}

impl StopOptions {
    pub fn read(options: Option<&Value>, env: &Env) -> Result<StopOptions> {
        let reader = STOP.reader(options)?;
        let settings = resolve(&reader, env)?;
        Ok(StopOptions {
            settings,
            force: reader.bool("force")?.unwrap_or(false),
        })
    }
}

/// uninstallQueueStore's options.
#[derive(Debug)]
pub struct UninstallOptions {
    pub settings: Settings,
    /// Remove `redis/data` too (default false: the queue's data is kept).
    pub purge_data: bool,
    /// Stop the store even when other clients are connected (default false).
    pub force: bool,
}

impl UninstallOptions {
    pub fn read(options: Option<&Value>, env: &Env) -> Result<UninstallOptions> {
        let reader = UNINSTALL.reader(options)?;
        let settings = resolve(&reader, env)?;
        Ok(UninstallOptions {
            settings,
            purge_data: reader.bool("purgeData")?.unwrap_or(false),
            force: reader.bool("force")?.unwrap_or(false),
        })
    }
}

/// watchQueueStore's options, less `onEvent` (a function, kept by the binding).
#[derive(Debug)]
pub struct WatchOptions {
    pub settings: Settings,
    /// How often the store is looked at (`intervalMs`, default 1 s).
    pub interval: Duration,
}

impl WatchOptions {
    /// `intervalMs` is checked before the store settings, so its mistake is the one
    /// reported when both are wrong.
    pub fn read(options: Option<&Value>, env: &Env) -> Result<WatchOptions> {
        let reader = WATCH.reader(options)?;
        let interval = match reader.number_text("intervalMs")? {
            None => DEFAULT_WATCH_INTERVAL,
            Some(t) => t
                .parse::<u64>()
                .ok()
                .filter(|ms| WATCH_INTERVAL_MS.contains(ms))
                .map(Duration::from_millis)
                .ok_or_else(|| {
                    StoreError::new(
                        ErrorCode::BadOption,
                        format!(
                            "{}: intervalMs is {t}; use a whole number of milliseconds from {} to {}.",
                            WATCH.function,
                            WATCH_INTERVAL_MS.start(),
                            WATCH_INTERVAL_MS.end()
                        ),
                    )
                })?,
        };
        let settings = resolve(&reader, env)?;
        Ok(WatchOptions { settings, interval })
    }
}

/// detectServerBinaries' options: only `dataDir` (where downloaded servers live),
/// resolved like every store's.
pub fn detect_settings(options: Option<&Value>, env: &Env) -> Result<Settings> {
    let reader = DETECT.reader(options)?;
    let opts = StoreOptions {
        data_dir: reader.string("dataDir")?,
        ..Default::default()
    };
    Settings::resolve(&opts, env)
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
