//! Tests of this module (kept beside it so that the code reads on its own).

use super::test_env as env_with;
use super::*;
use std::fs;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cms-resolve-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn defaults() {
    let d = tmpdir("defaults");
    let s = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap();
    assert_eq!(s.data_dir, d);
    assert_eq!(s.mode, Mode::Managed);
    assert_eq!(s.host, "127.0.0.1");
    assert_eq!(s.port, None);
    // claude-mem's own default: claude_mem_<37700 + uid % 100>.
    assert!(s.prefix.starts_with("claude_mem_377"), "{}", s.prefix);
    assert_eq!(s.timeout, DEFAULT_TIMEOUT);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_data_dir_that_is_a_file_is_bad_settings_and_a_missing_one_is_fine() {
    let d = tmpdir("file-as-dir");
    let file = d.join("plain-file");
    fs::write(&file, "x").unwrap();
    let e = Settings::resolve(&StoreOptions::default(), &env_with(&file, &[])).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadSettings);
    assert!(e.message.contains("not a directory"), "{}", e.message);
    let missing = d.join("not").join("yet");
    let s = Settings::resolve(&StoreOptions::default(), &env_with(&missing, &[])).unwrap();
    assert_eq!(s.data_dir, missing);
    assert!(!missing.exists(), "resolving never creates the data dir");
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn option_beats_env_beats_file() {
    let d = tmpdir("order");
    fs::write(
        d.join("settings.json"),
        r#"{"CLAUDE_MEM_REDIS_PORT":"20001","CLAUDE_MEM_REDIS_MODE":"docker","CLAUDE_MEM_QUEUE_REDIS_PREFIX":"f"}"#,
    )
    .unwrap();
    let env = env_with(&d, &[(KEY_PORT, "20002"), (KEY_MODE, "external")]);
    let s = Settings::resolve(&StoreOptions::default(), &env).unwrap();
    assert_eq!(
        s.port,
        Some(PortSetting {
            port: 20002,
            source: Source::Environment
        })
    );
    assert_eq!(s.mode, Mode::External);
    assert_eq!(s.prefix, "f");
    let opts = StoreOptions {
        port: Some("20003".into()),
        ..Default::default()
    };
    let s = Settings::resolve(&opts, &env).unwrap();
    assert_eq!(s.port.unwrap().port, 20003);
    assert_eq!(s.port.unwrap().source, Source::Option);
    let s = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap();
    assert_eq!(s.port.unwrap().source, Source::SettingsFile);
    assert_eq!(s.mode, Mode::Docker);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn bad_values_name_their_key_and_source() {
    let d = tmpdir("bad");
    let cases: &[(&str, &str)] = &[
        (KEY_MODE, "cloud"),
        (KEY_PORT, "0"),
        (KEY_PORT, "65536"),
        (KEY_PORT, "-1"),
        (KEY_PORT, "6379"),
        (KEY_PORT, "80"),
        (KEY_PORT, "12.5"),
        (KEY_PORT, "abc"),
        (KEY_HOST, "10.0.0.5"),
    ];
    for (key, value) in cases {
        let e = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[(key, value)]))
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::BadSettings, "{key}={value}");
        assert!(e.message.contains(key), "{}", e.message);
        assert!(e.message.contains("environment"), "{}", e.message);
    }
    fs::write(d.join("settings.json"), r#"{"CLAUDE_MEM_REDIS_MODE":"x"}"#).unwrap();
    let e = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap_err();
    assert!(e.message.contains("settings.json"), "{}", e.message);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn data_dir_must_be_absolute_and_tilde_expands() {
    let mut env = Env::new();
    env.insert("HOME".into(), "/home/u".into());
    let opts = StoreOptions {
        data_dir: Some("relative/dir".into()),
        ..Default::default()
    };
    assert_eq!(
        Settings::resolve(&opts, &env).unwrap_err().code,
        ErrorCode::BadSettings
    );
    assert_eq!(
        resolve_data_dir(Some("~/x"), &env).unwrap(),
        PathBuf::from("/home/u/x")
    );
    assert_eq!(
        resolve_data_dir(None, &env).unwrap(),
        PathBuf::from("/home/u/.claude-mem")
    );
    assert_eq!(
        resolve_data_dir(None, &Env::new()).unwrap_err().code,
        ErrorCode::BadSettings
    );
}

#[test]
fn ports() {
    assert_eq!(parse_port("23456"), Some(23456));
    assert_eq!(parse_port(" 1024 "), Some(1024));
    for bad in [
        "",
        "6379",
        "1023",
        "65536",
        "99999999999",
        "+5",
        "1e4",
        "0x50",
    ] {
        assert_eq!(parse_port(bad), None, "{bad}");
    }
}

/// What claude-mem ≥ 13 writes on first boot (the keys that matter here).
const SEEDED: &str = r#"{
  "CLAUDE_MEM_MODEL": "claude-haiku-4-5-20251001",
  "CLAUDE_MEM_WORKER_PORT": "37700",
  "CLAUDE_MEM_QUEUE_ENGINE": "sqlite",
  "CLAUDE_MEM_REDIS_URL": "",
  "CLAUDE_MEM_REDIS_HOST": "127.0.0.1",
  "CLAUDE_MEM_REDIS_PORT": "6379",
  "CLAUDE_MEM_REDIS_MODE": "external",
  "CLAUDE_MEM_QUEUE_REDIS_PREFIX": "claude_mem_37700"
}
"#;

#[test]
fn claude_mems_seeded_defaults_are_not_errors() {
    let d = tmpdir("seeded");
    fs::write(d.join("settings.json"), SEEDED).unwrap();
    // As claude-mem means them: external, HOST:PORT 127.0.0.1:6379, no URL.
    let s = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap();
    assert_eq!(s.mode, Mode::External);
    assert_eq!(s.url, None);
    assert_eq!(s.port.unwrap().port, 6379);
    assert!(!s.seeded_port_ignored);
    // Managed (or docker): the seeded 6379 is "no private port chosen yet".
    for mode in ["managed", "docker"] {
        let opts = StoreOptions {
            mode: Some(mode.into()),
            ..Default::default()
        };
        let s = Settings::resolve(&opts, &env_with(&d, &[])).unwrap();
        assert_eq!(s.port, None, "{mode}");
        assert!(s.seeded_port_ignored, "{mode}");
    }
    // An explicit 6379 is still refused, as option or environment.
    let opts = StoreOptions {
        mode: Some("managed".into()),
        port: Some("6379".into()),
        ..Default::default()
    };
    let e = Settings::resolve(&opts, &env_with(&d, &[])).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadSettings);
    let env = env_with(&d, &[(KEY_MODE, "managed"), (KEY_PORT, "6379")]);
    let e = Settings::resolve(&StoreOptions::default(), &env).unwrap_err();
    assert!(e.message.contains("environment"), "{}", e.message);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_bad_port_in_settings_json_stays_an_error_and_the_file_untouched() {
    let d = tmpdir("seeded-bad");
    for bad in ["abc", "0", "65536", "80"] {
        let text = SEEDED.replace("\"6379\"", &format!("\"{bad}\""));
        fs::write(d.join("settings.json"), &text).unwrap();
        let opts = StoreOptions {
            mode: Some("managed".into()),
            ..Default::default()
        };
        let e = Settings::resolve(&opts, &env_with(&d, &[])).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadSettings, "{bad}");
        assert!(e.message.contains(KEY_PORT) && e.message.contains("settings.json"));
        assert_eq!(fs::read_to_string(d.join("settings.json")).unwrap(), text);
    }
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn persist_store_writes_what_claude_mems_reader_needs_and_keeps_the_rest() {
    let d = tmpdir("persist");
    let file = d.join("settings.json");
    fs::write(&file, SEEDED).unwrap();
    let opts = StoreOptions {
        mode: Some("managed".into()),
        ..Default::default()
    };
    let s = Settings::resolve(&opts, &env_with(&d, &[])).unwrap();
    let secret = "ab".repeat(32);
    fs::create_dir_all(d.join("redis")).unwrap();
    fs::write(d.join("redis").join("secret"), &secret).unwrap();
    let notices = s.persist_store(23456, &secret).unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("6379") && n.contains("23456")),
        "{notices:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v[KEY_MODE], "managed");
    assert_eq!(v[KEY_PORT], "23456");
    assert_eq!(v[KEY_HOST], "127.0.0.1");
    assert_eq!(v[KEY_URL], format!("redis://:{secret}@127.0.0.1:23456"));
    assert_eq!(v["CLAUDE_MEM_QUEUE_ENGINE"], "sqlite", "never flipped");
    assert_eq!(v["CLAUDE_MEM_QUEUE_REDIS_PREFIX"], "claude_mem_37700");
    assert_eq!(v.as_object().unwrap().len(), 8);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Next time the URL is recognised as ours: not a user's server.
    let s = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap();
    assert_eq!(s.mode, Mode::Managed);
    assert_eq!(s.url, None);
    assert!(s.own_url);
    assert_eq!(s.port.unwrap().port, 23456);
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_users_url_is_never_overwritten() {
    let d = tmpdir("user-url");
    let file = d.join("settings.json");
    fs::write(
        &file,
        r#"{"CLAUDE_MEM_REDIS_URL":"redis://:theirs@10.0.0.5:6379"}"#,
    )
    .unwrap();
    let opts = StoreOptions {
        mode: Some("managed".into()),
        ..Default::default()
    };
    let s = Settings::resolve(&opts, &env_with(&d, &[])).unwrap();
    assert!(!s.own_url);
    let notices = s.persist_store(23457, &"cd".repeat(32)).unwrap();
    assert!(
        notices.iter().any(|n| n.contains("another server")),
        "{notices:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v[KEY_URL], "redis://:theirs@10.0.0.5:6379");
    fs::remove_dir_all(d).unwrap();
}

#[test]
fn own_store_urls_are_told_apart() {
    let secret = "0f".repeat(32);
    assert!(is_own_store_url(&own_store_url(&secret, 20001), &secret));
    assert!(is_own_store_url(
        &format!("redis://:{secret}@127.0.0.1:31999"),
        &secret
    ));
    for other in [
        format!("redis://:{secret}@10.0.0.1:20001"),
        format!("redis://user:{secret}@127.0.0.1:20001"),
        format!("rediss://:{secret}@127.0.0.1:20001"),
        format!("redis://:{secret}@127.0.0.1:20001/2"),
        format!("redis://:{secret}@127.0.0.1:"),
        "redis://:other@127.0.0.1:20001".to_string(),
    ] {
        assert!(!is_own_store_url(&other, &secret), "{other}");
    }
}

#[test]
fn external_ports_may_be_any_tcp_port() {
    assert_eq!(parse_external_port("6379"), Some(6379));
    assert_eq!(parse_external_port("80"), Some(80));
    for bad in ["0", "65536", "", "x", "-1"] {
        assert_eq!(parse_external_port(bad), None, "{bad}");
    }
}

#[test]
fn claude_mems_data_dir_pointer_in_the_default_settings_is_followed() {
    let home = tmpdir("home");
    let moved = home.join("elsewhere");
    fs::create_dir_all(home.join(".claude-mem")).unwrap();
    fs::write(
        home.join(".claude-mem").join("settings.json"),
        format!(r#"{{"CLAUDE_MEM_DATA_DIR":"{}"}}"#, moved.display()),
    )
    .unwrap();
    let mut env = Env::new();
    env.insert("HOME".into(), home.display().to_string());
    let s = Settings::resolve(&StoreOptions::default(), &env).unwrap();
    assert_eq!(s.data_dir, moved);
    assert_eq!(s.file.path(), moved.join("settings.json"));
    // claude-mem's seeded value (its own default dir) changes nothing.
    fs::write(
        home.join(".claude-mem").join("settings.json"),
        r#"{"CLAUDE_MEM_DATA_DIR":"~/.claude-mem"}"#,
    )
    .unwrap();
    let s = Settings::resolve(&StoreOptions::default(), &env).unwrap();
    assert_eq!(s.data_dir, home.join(".claude-mem"));
    fs::remove_dir_all(home).unwrap();
}

#[test]
fn timeouts() {
    assert_eq!(parse_timeout("250"), Some(Duration::from_millis(250)));
    for bad in ["0", "-1", "1.5", "abc", "600001"] {
        assert_eq!(parse_timeout(bad), None, "{bad}");
    }
}

#[test]
fn exported_empty_variables_mean_what_they_mean_to_claude_mem() {
    let d = tmpdir("empty-vars");
    fs::write(
        d.join("settings.json"),
        r#"{"CLAUDE_MEM_REDIS_URL":"redis://:pw@127.0.0.1:20001","CLAUDE_MEM_REDIS_HOST":"localhost","CLAUDE_MEM_REDIS_PORT":"20001"}"#,
    )
    .unwrap();
    // An exported "" URL hides the file's: claude-mem connects to HOST:PORT.
    let env = env_with(&d, &[(KEY_URL, ""), (KEY_HOST, ""), (KEY_PREFIX, " ")]);
    let s = Settings::resolve(&StoreOptions::default(), &env).unwrap();
    assert_eq!(s.url, None);
    assert_eq!(
        s.host, "127.0.0.1",
        "an empty host is 127.0.0.1 to claude-mem"
    );
    assert_eq!(s.prefix, "claude_mem", "an empty prefix is claude_mem");
    assert!(
        s.notices
            .iter()
            .any(|n| n.contains(KEY_URL) && n.contains("NOAUTH")),
        "{:?}",
        s.notices
    );
    // Mode and port: claude-mem refuses them; the addon says so and reads on.
    let env = env_with(&d, &[(KEY_PORT, ""), (KEY_MODE, "")]);
    let s = Settings::resolve(&StoreOptions::default(), &env).unwrap();
    assert_eq!(s.port.unwrap().port, 20001);
    assert_eq!(s.mode, Mode::Managed);
    for key in [KEY_PORT, KEY_MODE] {
        assert!(
            s.notices
                .iter()
                .any(|n| n.contains(key) && n.contains("refuses")),
            "{key}: {:?}",
            s.notices
        );
    }
    // A prefix claude-mem's sanitiser changes is told.
    let env = env_with(&d, &[(KEY_PREFIX, "{q}")]);
    let s = Settings::resolve(&StoreOptions::default(), &env).unwrap();
    assert_eq!(s.prefix, "_q_");
    assert!(
        s.notices.iter().any(|n| n.contains("'_q_'")),
        "{:?}",
        s.notices
    );
    fs::remove_dir_all(d).unwrap();
}
