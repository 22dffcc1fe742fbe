//! Tests of this module (kept beside it so that the code reads on its own).

use super::*;

const SECRET: &str = "s3cr3tPW";

fn ok(url: &str) -> Endpoint {
    parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

#[test]
fn plain_urls() {
    let e = ok("redis://127.0.0.1:6380");
    assert_eq!(
        (e.host.as_str(), e.port, e.db, e.tls),
        ("127.0.0.1", 6380, 0, false)
    );
    assert_eq!((e.username, e.password), (None, None));
    let e = ok("redis://localhost");
    assert_eq!((e.host.as_str(), e.port), ("localhost", DEFAULT_PORT));
    let e = ok("REDIS://Cache.Example.COM:7000/3");
    assert_eq!(
        (e.host.as_str(), e.port, e.db),
        ("cache.example.com", 7000, 3)
    );
    assert_eq!(ok("redis://host/").db, 0);
    assert_eq!(ok("redis://my_redis:6379").host, "my_redis");
    assert_eq!(ok("redis://host.example.com.:1").host, "host.example.com.");
}

#[test]
fn tls_and_credentials() {
    let e = ok("rediss://:pw@host:6380/0");
    assert!(e.tls);
    assert_eq!((e.username, e.password.as_deref()), (None, Some("pw")));
    let e = ok("redis://alice:p%40ss%2Fw%25rd@host");
    assert_eq!(e.username.as_deref(), Some("alice"));
    assert_eq!(e.password.as_deref(), Some("p@ss/w%rd"));
    // The last '@' ends the credentials, so an unencoded '@' in a password works.
    assert_eq!(ok("redis://:p@ss@host").password.as_deref(), Some("p@ss"));
    assert_eq!(ok("redis://:pä:ss@host").password.as_deref(), Some("pä:ss"));
    let e = ok("redis://u%20x:y@h");
    assert_eq!(e.username.as_deref(), Some("u x"));
}

#[test]
fn ipv6_hosts() {
    let e = ok("redis://[::1]:7000/2");
    assert_eq!((e.host.as_str(), e.port, e.db), ("::1", 7000, 2));
    assert_eq!(ok("redis://[0:0::1]").host, "::1");
    assert_eq!(ok("redis://[::1]").port, DEFAULT_PORT);
    assert_eq!(
        redacted(&ok("rediss://u:pw@[::1]:7000")),
        "rediss://u:***@[::1]:7000"
    );
}

#[test]
fn redacted_urls_never_show_the_password() {
    let e = ok(&format!("redis://bob:{SECRET}@h:1/4"));
    let r = redacted(&e);
    assert_eq!(r, "redis://bob:***@h:1/4");
    assert!(!r.contains(SECRET));
}

/// Every malformed URL is `E_BAD_URL`, never a panic, and no message repeats the
/// password (or any other part of the URL that could hide it).
#[test]
fn malformed_urls_are_rejected_with_a_next_step() {
    let huge = "x".repeat(1 << 20);
    let long_host = format!("redis://{}", "a".repeat(300));
    let long_label = format!("redis://{}.com", "a".repeat(64));
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty", String::new(), "is empty"),
        ("only spaces", "   ".into(), "space"),
        ("no scheme", format!("{SECRET}@localhost:6379"), "no scheme"),
        ("host:port only", "localhost:6379".into(), "no scheme"),
        (
            "plus sign escape",
            format!("redis://:{SECRET}%+4@localhost"),
            "%25",
        ),
        ("http scheme", "http://localhost:6379".into(), "'http'"),
        ("missing //", "redis:/localhost".into(), "no scheme"),
        ("missing colon", "rediss//localhost".into(), "no scheme"),
        ("empty scheme", "://localhost".into(), "no scheme"),
        (
            "unix socket",
            "unix:///tmp/redis.sock".into(),
            "Unix socket",
        ),
        ("no host", "redis://".into(), "no host"),
        ("port, no host", "redis://:6379".into(), "no host"),
        ("creds, no host", format!("redis://u:{SECRET}@"), "no host"),
        ("empty port", "redis://localhost:".into(), "no port"),
        (
            "port not a number",
            "redis://localhost:abc".into(),
            "not a number",
        ),
        ("port zero", "redis://localhost:0".into(), "out of range"),
        (
            "port too big",
            "redis://localhost:65536".into(),
            "out of range",
        ),
        (
            "huge port",
            "redis://localhost:99999999999999999999".into(),
            "out of range",
        ),
        (
            "negative port",
            "redis://localhost:-1".into(),
            "not a number",
        ),
        (
            "db not a number",
            "redis://localhost/abc".into(),
            "database number",
        ),
        (
            "negative db",
            "redis://localhost/-1".into(),
            "database number",
        ),
        (
            "nested path",
            "redis://localhost/1/2".into(),
            "database number",
        ),
        (
            "huge db",
            "redis://localhost/99999999999".into(),
            "too large",
        ),
        (
            "query",
            format!("redis://localhost?password={SECRET}"),
            "query",
        ),
        (
            "fragment",
            format!("redis://:{SECRET}#x@localhost"),
            "'@' after",
        ),
        ("bare fragment", "redis://localhost/0#x".into(), "'#'"),
        (
            "unencoded /",
            format!("redis://:{SECRET}/x@localhost"),
            "%2F",
        ),
        (
            "user, no password",
            format!("redis://{SECRET}@localhost"),
            "no password",
        ),
        (
            "empty credentials",
            "redis://:@localhost".into(),
            "empty password",
        ),
        ("bare @", "redis://@localhost".into(), "no password"),
        (
            "user, empty password",
            "redis://bob:@localhost".into(),
            "empty password",
        ),
        (
            "bad escape",
            format!("redis://:{SECRET}%zz@localhost"),
            "%25",
        ),
        (
            "truncated escape",
            format!("redis://:{SECRET}%4@localhost"),
            "%25",
        ),
        ("not UTF-8", "redis://:%FF%FE@localhost".into(), "UTF-8"),
        (
            "escaped NUL",
            format!("redis://:{SECRET}%00@localhost"),
            "control",
        ),
        ("NUL byte", format!("redis://:{SECRET}\0@localhost"), "NUL"),
        (
            "newline",
            format!("redis://:{SECRET}@localhost\n"),
            "line break",
        ),
        ("tab", format!("redis://:{SECRET}\t@localhost"), "control"),
        ("space in host", "redis://exa mple.com".into(), "space"),
        (
            "IPv6 without brackets",
            "redis://::1:6379".into(),
            "brackets",
        ),
        ("unclosed bracket", "redis://[::1:6379".into(), "closing"),
        ("invalid IPv6", "redis://[::g]:6379".into(), "IPv6"),
        ("empty brackets", "redis://[]:6379".into(), "IPv6"),
        ("IPv6 zone", "redis://[fe80::1%25eth0]:6379".into(), "zone"),
        (
            "junk after ]",
            "redis://[::1]x:6379".into(),
            "after the IPv6",
        ),
        ("invalid IPv4", "redis://256.1.1.1:6379".into(), "IPv4"),
        ("short IPv4", "redis://127.1:6379".into(), "IPv4"),
        (
            "bad host character",
            "redis://bad!host:6379".into(),
            "characters",
        ),
        ("non-ASCII host", "redis://ünïcode.example".into(), "xn--"),
        ("percent in host", "redis://ho%41st".into(), "percent"),
        ("empty label", "redis://a..b:6379".into(), "empty part"),
        ("leading hyphen", "redis://-a.example".into(), "'-'"),
        ("long host", long_host, "at most"),
        ("long label", long_label, "longer"),
        ("huge string", huge, "bytes long"),
    ];
    assert!(cases.len() >= 20);
    for (kind, url, hint) in &cases {
        let e = match parse(url) {
            Err(e) => e,
            Ok(ep) => panic!("{kind}: accepted as {ep:?}"),
        };
        assert_eq!(e.code, ErrorCode::BadUrl, "{kind}");
        assert!(e.message.contains(hint), "{kind}: {}", e.message);
        assert!(!e.message.contains(SECRET), "{kind} leaks: {}", e.message);
        assert!(e.message.len() < 400, "{kind}: message too long");
    }
}

/// Arbitrary bytes never panic the parser.
#[test]
fn noise_never_panics() {
    let alphabet = b"redis:/@[]%:?#.0123456789abcdefg-_\\ \0\xc3\xa9";
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20_000 {
        let mut s = Vec::new();
        for _ in 0..(seed % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let text = String::from_utf8_lossy(&s);
        let _ = parse(&format!("redis://{text}"));
        let _ = parse(&text);
    }
}
