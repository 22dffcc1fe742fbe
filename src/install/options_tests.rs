//! Tests of `options.rs` (kept beside it so that the code reads on its own).

use super::*;
use crate::install::mirror::KEY_MIRROR;
use crate::install::platform::PackageManager;
use crate::settings::test_env as env_for;
use serde_json::json;
use std::path::PathBuf;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cms-install-opts-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn plan_method_defaults_to_auto_and_names_the_methods() {
    assert_eq!(read_plan(None).unwrap(), Method::Auto);
    assert_eq!(
        read_plan(Some(&json!({"method": "apt"}))).unwrap(),
        Method::Package(PackageManager::Apt)
    );
    assert_eq!(
        read_plan(Some(&json!({"method": "download"}))).unwrap(),
        Method::Download
    );
    let e = read_plan(Some(&json!({"method": "snap"}))).err().unwrap();
    assert_eq!(e.code, ErrorCode::BadOption);
    assert_eq!(
        e.message,
        "planInstall: method 'snap' is not one of auto, download, apt, dnf, yum, apk, pacman, brew."
    );
    let e = read_plan(Some(&json!({"dataDir": "/x"}))).err().unwrap();
    assert_eq!(
        e.message,
        "planInstall: unknown option 'dataDir'. Known options: method."
    );
}

#[test]
fn install_defaults() {
    let d = tmpdir("defaults");
    let req = read_install(None, &env_for(&d, &[])).unwrap();
    assert_eq!(req.method, Method::Auto);
    assert!(!req.allow_sudo);
    assert_eq!(req.timeout, DEFAULT_INSTALL_TIMEOUT);
    assert_eq!(req.download.lock_timeout, DEFAULT_INSTALL_TIMEOUT);
    assert_eq!(req.download.data_dir, d);
    assert!(!req.download.allow_http);
    assert_eq!(req.download.mirror, None);
    assert_eq!(req.download.distro, None);
}

#[test]
fn an_explicit_timeout_replaces_the_install_default() {
    let d = tmpdir("timeout");
    let req = read_install(Some(&json!({"timeoutMs": 1234})), &env_for(&d, &[])).unwrap();
    assert_eq!(req.timeout, Duration::from_millis(1234));
    assert_eq!(req.download.lock_timeout, Duration::from_millis(1234));
    let e = read_install(Some(&json!({"timeoutMs": 0})), &env_for(&d, &[]))
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::BadOption);
}

#[test]
fn allow_http_comes_from_the_option_or_the_environment() {
    let d = tmpdir("http");
    let with = |pairs: &[(&str, &str)], options: Value| {
        read_install(Some(&options), &env_for(&d, pairs))
            .unwrap()
            .download
            .allow_http
    };
    assert!(with(&[], json!({"allowHttp": true})));
    assert!(!with(&[], json!({"allowHttp": false})));
    for yes in ["1", "true", "TRUE", "True"] {
        assert!(with(&[(KEY_ALLOW_HTTP, yes)], json!({})), "{yes}");
        // An explicit false does not override the environment's opt-in.
        assert!(
            with(&[(KEY_ALLOW_HTTP, yes)], json!({"allowHttp": false})),
            "{yes}"
        );
    }
    for no in ["0", "", "yes", "false"] {
        assert!(!with(&[(KEY_ALLOW_HTTP, no)], json!({})), "{no:?}");
    }
}

#[test]
fn mirror_option_over_environment() {
    let d = tmpdir("mirror");
    let env = env_for(&d, &[(KEY_MIRROR, "http://127.0.0.1:1/env/")]);
    let req = read_install(None, &env).unwrap();
    assert_eq!(
        req.download.mirror,
        Some((
            "http://127.0.0.1:1/env/".to_string(),
            format!("{KEY_MIRROR} (environment)")
        ))
    );
    let req = read_install(Some(&json!({"mirror": "http://127.0.0.1:2/opt/"})), &env).unwrap();
    assert_eq!(
        req.download.mirror,
        Some((
            "http://127.0.0.1:2/opt/".to_string(),
            "the mirror option".to_string()
        ))
    );
}

#[test]
fn distro_is_jammy_or_noble() {
    let d = tmpdir("distro");
    for ok in DISTROS {
        let req = read_install(Some(&json!({ "distro": ok })), &env_for(&d, &[])).unwrap();
        assert_eq!(req.download.distro.as_deref(), Some(*ok));
    }
    let e = read_install(Some(&json!({"distro": "focal"})), &env_for(&d, &[]))
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::BadOption);
    assert_eq!(
        e.message,
        "installQueueStore: distro must be 'jammy' or 'noble' (the Ubuntu releases Valkey builds on)."
    );
}

#[test]
fn install_keys_are_the_shared_list_then_data_dir_and_timeout() {
    assert_eq!(
        INSTALL.keys(),
        [
            "method",
            "version",
            "distro",
            "allowSudo",
            "mirror",
            "allowHttp",
            "sha256",
            "dataDir",
            "timeoutMs"
        ]
    );
    let d = tmpdir("keys");
    let e = read_install(Some(&json!({"mirorr": "x"})), &env_for(&d, &[]))
        .err()
        .unwrap();
    assert!(
        e.message.contains("Did you mean 'mirror'?"),
        "{}",
        e.message
    );
}

#[test]
fn resolved_settings_are_used_as_given() {
    let d = tmpdir("resolved");
    let other = tmpdir("resolved-other");
    let settings = Settings::resolve(
        &StoreOptions {
            timeout_ms: Some("777".into()),
            ..Default::default()
        },
        &env_for(&other, &[]),
    )
    .unwrap();
    let v = json!({"timeoutMs": 777, "allowSudo": true});
    let reader =
        OptionReader::new("resolveQueueStore", Some(&v), &["timeoutMs", "allowSudo"]).unwrap();
    let req = install_request(&reader, Some(&settings), &env_for(&d, &[])).unwrap();
    assert_eq!(req.download.data_dir, other);
    assert_eq!(req.timeout, Duration::from_millis(777));
    assert!(req.allow_sudo);
}
