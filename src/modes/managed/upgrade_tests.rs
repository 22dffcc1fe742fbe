use super::*;

fn record(binary: &str, version: &str, sha256: Option<&str>) -> PidRecord {
    PidRecord {
        pid: 4242,
        port: 23456,
        started_at: 1,
        start_token: "1".into(),
        run_id: "abc".into(),
        binary: binary.into(),
        version: version.into(),
        log_file: None,
        sha256: sha256.map(str::to_string),
    }
}

fn choice(path: &str, flavor: Flavor, version: &str, sha256: Option<&str>) -> Choice {
    Choice {
        binary: ServerBinary::known(Path::new(path), flavor, version.into(), BinarySource::Path),
        sha256: sha256.map(str::to_string),
        notice: None,
    }
}

#[test]
fn with_both_hashes_only_the_content_counts() {
    let running = record("/pkg/valkey/valkey-server", "8.1.1", Some("aa"));
    // Replaced in place by another build of the same version (npm resets mtimes): outdated.
    let next = choice(
        "/pkg/valkey/valkey-server",
        Flavor::Valkey,
        "8.1.1",
        Some("bb"),
    );
    assert!(is_outdated(&running, &next, false));
    // The same build found at another path (a reinstall elsewhere): not outdated.
    let next = choice(
        "/other/valkey/valkey-server",
        Flavor::Valkey,
        "8.1.1",
        Some("aa"),
    );
    assert!(!is_outdated(&running, &next, false));
}

#[test]
fn without_a_hash_on_one_side_path_and_version_decide() {
    // A record from before the sha256 was kept.
    let running = record("/usr/bin/valkey-server", "8.0.1", None);
    let same = choice(
        "/usr/bin/valkey-server",
        Flavor::Valkey,
        "8.0.1",
        Some("aa"),
    );
    assert!(!is_outdated(&running, &same, false));
    let other_path = choice("/opt/valkey-server", Flavor::Valkey, "8.0.1", Some("aa"));
    assert!(is_outdated(&running, &other_path, false));
    let other_version = choice("/usr/bin/valkey-server", Flavor::Valkey, "8.1.1", None);
    assert!(is_outdated(&running, &other_version, false));
    // The same path and version, but the running image's file was replaced since
    // (npm installed another build of the same version over it).
    assert!(is_outdated(&running, &same, true));
    // With both hashes the content decides, whatever happened to the file.
    let hashed = record("/usr/bin/valkey-server", "8.0.1", Some("aa"));
    assert!(!is_outdated(&hashed, &same, true));
    // A would-start binary that could not be hashed.
    let running = record("/usr/bin/valkey-server", "8.0.1", Some("aa"));
    assert!(!is_outdated(
        &running,
        &choice("/usr/bin/valkey-server", Flavor::Valkey, "8.0.1", None),
        false
    ));
}

#[test]
fn a_store_is_moved_only_onto_the_same_kind_as_new_or_newer() {
    let next = |flavor, version| choice("/x", flavor, version, None).binary;
    assert_eq!(
        may_move(Flavor::Valkey, "8.1.1", &next(Flavor::Valkey, "8.1.1")),
        Ok(())
    );
    assert_eq!(
        may_move(Flavor::Valkey, "8.0.1", &next(Flavor::Valkey, "9.1.2")),
        Ok(())
    );
    assert_eq!(
        may_move(Flavor::Valkey, "9.1.2", &next(Flavor::Valkey, "8.1.1")),
        Err(NotMoved::Older),
        "never a downgrade: the older server may not read the newer one's data"
    );
    assert_eq!(
        may_move(Flavor::Valkey, "8.0.10", &next(Flavor::Valkey, "8.0.9")),
        Err(NotMoved::Older),
        "versions compare as numbers"
    );
    assert_eq!(
        may_move(Flavor::Redis, "7.0.15", &next(Flavor::Valkey, "8.1.1")),
        Err(NotMoved::OtherKind)
    );
    assert_eq!(
        may_move(Flavor::Valkey, "unknown", &next(Flavor::Valkey, "8.1.1")),
        Err(NotMoved::Older),
        "a version that cannot be compared is not moved"
    );
}

#[test]
fn the_notice_says_what_runs_what_would_start_and_how_to_move() {
    let next = choice(
        "/pkg/valkey/valkey-server",
        Flavor::Valkey,
        "8.1.1",
        Some(&"b".repeat(64)),
    );
    let running = describe(
        Flavor::Valkey,
        "8.1.1",
        Path::new("/old/valkey/valkey-server"),
        Some(&"a".repeat(64)),
    );
    let n = outdated_notice(&running, &next, None);
    assert!(
        n.contains("valkey 8.1.1 (/old/valkey/valkey-server, sha256 aaaaaaaaaaaa…)"),
        "{n}"
    );
    assert!(
        n.contains("/pkg/valkey/valkey-server, sha256 bbbbbbbbbbbb…"),
        "{n}"
    );
    assert!(n.contains("up --restart"), "{n}");
    assert!(n.contains("no other client"), "{n}");
    let odd = describe(
        Flavor::Valkey,
        "8.1.1",
        Path::new("/x"),
        Some("ééééééééééééé"),
    );
    assert!(odd.contains("sha256 éééééééééééé…"), "{odd}");
    let n = outdated_notice(&running, &next, Some(NotMoved::Older));
    assert!(n.contains("not moved"), "{n}");
    assert!(!n.contains("--restart"), "{n}");
}

#[test]
fn the_restart_keeps_the_stores_port() {
    let settings = |port: Option<PortSetting>| Settings {
        port,
        ..Settings::resolve(
            &crate::settings::StoreOptions {
                data_dir: Some(std::env::temp_dir().display().to_string()),
                ..Default::default()
            },
            &crate::settings::Env::new(),
        )
        .unwrap()
    };
    let explicit = PortSetting {
        port: 23456,
        source: Source::Option,
    };
    assert_eq!(same_port(&settings(Some(explicit)), 23456), explicit);
    let moved = same_port(&settings(Some(explicit)), 24000);
    assert_eq!((moved.port, moved.is_explicit()), (24000, false));
    assert_eq!(same_port(&settings(None), 24000).port, 24000);
}
