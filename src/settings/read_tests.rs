//! Tests of `read.rs` (kept beside it so that the code reads on its own).

use super::*;
use crate::settings::{DEFAULT_TIMEOUT, KEY_DATA_DIR, KEY_MODE, Mode};
use serde_json::json;
use std::path::PathBuf;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cms-read-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn env_for(dir: &std::path::Path) -> Env {
    Env::from([(KEY_DATA_DIR.to_string(), dir.display().to_string())])
}

#[test]
fn store_settings_resolve_option_over_environment() {
    let d = tmpdir("store");
    let mut env = env_for(&d);
    env.insert(KEY_MODE.into(), "docker".into());
    let s = store_settings(&ENSURE, None, &env).unwrap();
    assert_eq!(s.mode, Mode::Docker);
    assert_eq!(s.timeout, DEFAULT_TIMEOUT);
    let s = store_settings(
        &STATUS,
        Some(&json!({"mode": "managed", "timeoutMs": 250})),
        &env,
    )
    .unwrap();
    assert_eq!(s.mode, Mode::Managed);
    assert_eq!(s.timeout, Duration::from_millis(250));
}

#[test]
fn every_store_export_names_itself_and_its_keys() {
    let d = tmpdir("keys");
    let env = env_for(&d);
    let bad = json!({"forse": true});
    let e = store_settings(&ENSURE, Some(&bad), &env).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadOption);
    assert_eq!(
        e.message,
        "ensureQueueStoreStarted: unknown option 'forse'. Known options: dataDir, mode, url, host, port, binary, prefix, timeoutMs, caFile, restart."
    );
    let restart = EnsureOptions::read(Some(&json!({"restart": true})), &env).unwrap();
    assert!(restart.restart);
    assert!(!EnsureOptions::read(None, &env).unwrap().restart);
    let e = StopOptions::read(Some(&bad), &env).unwrap_err();
    assert_eq!(
        e.message,
        "stopQueueStore: unknown option 'forse'. Did you mean 'force'? Known options: dataDir, mode, url, host, port, binary, prefix, timeoutMs, caFile, force."
    );
    let e = UninstallOptions::read(Some(&bad), &env).unwrap_err();
    assert!(
        e.message
            .ends_with("Known options: dataDir, mode, url, host, port, binary, prefix, timeoutMs, caFile, purgeData, force."),
        "{}",
        e.message
    );
    let e = detect_settings(Some(&json!({"mode": "managed"})), &env).unwrap_err();
    assert_eq!(
        e.message,
        "detectServerBinaries: unknown option 'mode'. Known options: dataDir."
    );
}

#[test]
fn stop_and_uninstall_flags_default_to_false() {
    let d = tmpdir("flags");
    let env = env_for(&d);
    let stop = StopOptions::read(None, &env).unwrap();
    assert!(!stop.force);
    assert!(
        StopOptions::read(Some(&json!({"force": true})), &env)
            .unwrap()
            .force
    );
    let e = StopOptions::read(Some(&json!({"force": "yes"})), &env).unwrap_err();
    assert_eq!(
        e.message,
        "stopQueueStore: option 'force' must be true or false, got a string."
    );
    let u = UninstallOptions::read(None, &env).unwrap();
    assert!(!u.purge_data && !u.force);
    let u = UninstallOptions::read(Some(&json!({"purgeData": true})), &env).unwrap();
    assert!(u.purge_data && !u.force);
}

#[test]
fn watch_interval_defaults_and_bounds() {
    let d = tmpdir("watch");
    let env = env_for(&d);
    let w = WatchOptions::read(Some(&json!({"onEvent": null})), &env).unwrap();
    assert_eq!(w.interval, DEFAULT_WATCH_INTERVAL);
    for ok in [10, 3_600_000] {
        let w = WatchOptions::read(Some(&json!({ "intervalMs": ok })), &env).unwrap();
        assert_eq!(w.interval, Duration::from_millis(ok));
    }
    for bad in [json!(9), json!(3_600_001), json!(1.5), json!(-1)] {
        let e = WatchOptions::read(Some(&json!({ "intervalMs": bad })), &env).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadOption);
        assert_eq!(
            e.message,
            format!(
                "watchQueueStore: intervalMs is {bad}; use a whole number of milliseconds from 10 to 3600000."
            )
        );
    }
    // The interval is read first: its mistake wins over a bad setting.
    let e = WatchOptions::read(Some(&json!({"intervalMs": 1, "mode": "nope"})), &env).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadOption);
    let e = WatchOptions::read(Some(&json!({"mode": "nope"})), &env).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadSettings);
}

#[test]
fn detect_reads_only_the_data_dir() {
    let d = tmpdir("detect");
    let s = detect_settings(
        Some(&json!({ "dataDir": d.display().to_string() })),
        &Env::new(),
    )
    .unwrap();
    assert_eq!(s.data_dir, d);
    let e = detect_settings(Some(&json!({"dataDir": "relative"})), &Env::new()).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadSettings);
}
