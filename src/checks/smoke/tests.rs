//! Tests of this module (kept beside it so that the code reads on its own).

use super::*;

fn seed() -> Endpoint {
    Endpoint {
        host: "10.0.0.1".into(),
        port: 7000,
        username: Some("u".into()),
        password: Some("p".into()),
        db: 0,
        tls: true,
    }
}

#[test]
fn keys_share_one_hash_tag_whatever_the_prefix() {
    for prefix in ["claude-mem", "{claude-mem}", "a{b}c", "", "{}", "x\u{0}y"] {
        let keys = Keys::new(prefix);
        for key in keys.all() {
            let tag = &key[1..key.find('}').unwrap()];
            assert!(
                tag.ends_with(":smoke") && !tag.contains('{'),
                "{prefix:?}: {key}"
            );
        }
    }
    assert!(Keys::new("q").namespace.starts_with("{q:smoke}:"));
    assert_ne!(Keys::new("q").namespace, Keys::new("q").namespace);
}

#[test]
fn moved_redirects_keep_credentials_and_tls() {
    let n = moved_target("3999 127.0.0.1:7002", &seed()).unwrap();
    assert_eq!((n.host.as_str(), n.port), ("127.0.0.1", 7002));
    assert_eq!(n.password.as_deref(), Some("p"));
    assert!(n.tls);
    let n = moved_target("3999 :7003", &seed()).unwrap();
    assert_eq!((n.host.as_str(), n.port), ("10.0.0.1", 7003));
    let n = moved_target("3999 ::1:7004", &seed()).unwrap();
    assert_eq!((n.host.as_str(), n.port), ("::1", 7004));
    for bad in ["", "3999", "3999 host", "3999 host:x", "3999 host:0"] {
        assert!(moved_target(bad, &seed()).is_none(), "{bad}");
    }
}

#[test]
fn replies_are_checked_against_expectations() {
    let c = cmd("LMOVE", &["a", "b", "RIGHT", "LEFT"]);
    assert!(
        verify(
            &c,
            &Value::BulkString(b"j1".to_vec()),
            &Expect::Text("j1".into())
        )
        .is_ok()
    );
    let e = verify(&c, &Value::Nil, &Expect::Text("j1".into())).unwrap_err();
    assert!(e.starts_with("LMOVE answered nil"), "{e}");
    let refused = redis::parse_redis_value(b"-ERR unknown command 'LMOVE'\r\n").unwrap();
    let e = verify(&c, &refused, &Expect::Any).unwrap_err();
    assert!(
        e.contains("refused") && e.contains("unknown command"),
        "{e}"
    );
    assert!(verify(&c, &Value::Int(1), &Expect::Int(1)).is_ok());
    let exec = Value::Array(vec![Value::Int(1), Value::Int(1)]);
    assert!(verify(&c, &exec, &Expect::Ints(vec![1, 1])).is_ok());
}

#[test]
fn the_script_hash_matches_what_script_load_returns() {
    // SHA-1 of the script text, as the server computes it.
    assert_eq!(redis::Script::new(SCRIPT).get_hash().len(), 40);
}
