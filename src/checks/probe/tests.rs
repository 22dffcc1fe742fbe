//! Tests of this module (kept beside it so that the code reads on its own).

use super::*;

#[test]
fn hash_tags_follow_redis_rules() {
    for tagged in ["{claude-mem}", "{q}:x", "a{b}c", "{a}{b}", "x{y}"] {
        assert!(is_hash_tagged(tagged), "{tagged}");
    }
    for plain in ["claude-mem", "{}", "{}x{y}", "{open", "close}", "", "}{"] {
        assert!(!is_hash_tagged(plain), "{plain}");
    }
}

#[test]
fn cluster_check_names_the_fix() {
    assert!(cluster_check(false, "claude-mem").ok);
    assert!(cluster_check(true, "{claude-mem}").ok);
    let c = cluster_check(true, "claude_mem_37700");
    assert_eq!(c.code, Some("E_CLUSTER_PREFIX"));
    // True for claude-mem: its sanitiser removes braces, so the fix is a server
    // that is not a cluster, never a hash-tagged prefix.
    assert!(c.detail.contains("braces included"), "{}", c.detail);
    assert!(
        c.detail.contains("CLAUDE_MEM_REDIS_MODE=managed"),
        "{}",
        c.detail
    );
    assert!(!c.detail.contains("PREFIX={"), "{}", c.detail);
    assert!(
        cluster_check(true, "{q}")
            .detail
            .contains("not one claude-mem can use")
    );
}

#[test]
fn scrub_masks_the_password() {
    let ep = redis_url::parse("redis://u:hunter22@h").unwrap();
    assert_eq!(scrub("bad hunter22 x", &ep), "bad *** x");
    assert_eq!(scrub("fine", &ep), "fine");
}

#[test]
fn ca_files_must_hold_a_certificate() {
    let dir = std::env::temp_dir().join(format!("cms-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.pem");
    let e = load_ca_file(&missing, ErrorCode::BadOption).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadOption);
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a cert").unwrap();
    let e = load_ca_file(&empty, ErrorCode::BadSettings).unwrap_err();
    assert_eq!(e.code, ErrorCode::BadSettings);
    assert!(e.message.contains("no PEM certificate"), "{}", e.message);
    let good = dir.join("good.pem");
    std::fs::write(
        &good,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert!(load_ca_file(&good, ErrorCode::BadOption).is_ok());
    std::fs::remove_dir_all(dir).unwrap();
}

/// A closed port fails the tcp check at once, with the address and no password.
#[tokio::test]
async fn closed_port_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let options = ProbeOptions {
        timeout: Duration::from_secs(2),
        smoke: true,
        prefix: "claude-mem".into(),
        ca_pem: None,
    };
    let report = probe_url(&format!("redis://:hunter22@127.0.0.1:{port}"), &options)
        .await
        .unwrap();
    assert!(!report.ok);
    assert_eq!(report.checks.len(), 1);
    assert_eq!(report.checks[0].code, Some("E_UNREACHABLE"));
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("hunter22"), "{json}");
    assert!(json.contains("redis://:***@127.0.0.1"), "{json}");
}
