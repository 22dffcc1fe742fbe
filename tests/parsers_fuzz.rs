//! A brief, deterministic fuzz of every parser that reads outside input: settings.json,
//! setting values, option objects, Redis URLs, the pid file, INFO replies,
//! `--version` output, server logs and the config renderer. Each gets random bytes and mutations of
//! valid inputs; none may panic, and every rejection must carry a stable code.
//!
//! Runs in `cargo test` (so in CI) in well under a second per parser. Set
//! `CMS_FUZZ_ITERATIONS` for a longer run.

use std::path::Path;

use claude_mem_store::checks::redis_url;
use claude_mem_store::checks::server_info::{ServerInfo, parse_info};
use claude_mem_store::error::ErrorCode;
use claude_mem_store::modes::managed::start::load_warnings;
use claude_mem_store::server::config::ServerConfig;
use claude_mem_store::server::flavor::{Flavor, parse_version};
use claude_mem_store::server::pidfile::{self, PidFile};
use claude_mem_store::settings::file::SettingsFile;
use claude_mem_store::settings::options::OptionReader;
use claude_mem_store::settings::secret::Secrets;
use claude_mem_store::settings::{parse_mode, parse_port};

/// xorshift64*: tiny, seeded, reproducible — a failure names its seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
    /// A valid input with a few bytes changed, inserted, cut or repeated.
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut v = seed.to_vec();
        const SPICE: &[&[u8]] = &[
            b"\0",
            b"\xff\xfe",
            b"\"",
            b"{",
            b"}",
            b"]",
            b"\\",
            b"\n",
            b"-1",
            b"99999999999999999999",
            b"1e400",
            b"\xe2\x80\xae",
        ];
        for _ in 0..=self.below(4) {
            let at = self.below(v.len() + 1);
            match self.below(5) {
                0 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v[i] = self.next() as u8;
                }
                1 => {
                    let spice = SPICE[self.below(SPICE.len())];
                    v.splice(at..at, spice.iter().copied());
                }
                2 => v.truncate(at),
                3 if !v.is_empty() => {
                    let end = (at + self.below(16)).min(v.len());
                    let piece = v[at.min(end)..end].to_vec();
                    v.splice(at..at, piece);
                }
                _ => v.extend(self.bytes(8)),
            }
        }
        v
    }
}

fn iterations() -> usize {
    std::env::var("CMS_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn cases(seed: u64, valid: &[&[u8]], mut check: impl FnMut(&[u8])) {
    let mut rng = Rng(seed);
    for v in valid {
        check(v);
    }
    for i in 0..iterations() {
        let input = if i % 3 == 0 {
            rng.bytes(256)
        } else {
            let base = valid[rng.below(valid.len())];
            rng.mutate(base)
        };
        check(&input);
    }
}

const SETTINGS: &[&[u8]] = &[
    b"{\n  \"CLAUDE_MEM_REDIS_MODE\": \"managed\",\n  \"CLAUDE_MEM_REDIS_PORT\": \"23456\"\n}\n",
    b"{\"CLAUDE_MEM_REDIS_PORT\": 23456, \"CLAUDE_MEM_MODEL\": \"x\", \"nested\": {\"a\": [1, 2]}}",
    b"{}",
];

#[test]
fn settings_json_never_panics_and_rejects_with_bad_settings() {
    let path = Path::new("/fuzz/settings.json");
    cases(0x5e77_1265, SETTINGS, |bytes| {
        match SettingsFile::parse(path, bytes) {
            Ok(file) => {
                for key in [
                    "CLAUDE_MEM_REDIS_MODE",
                    "CLAUDE_MEM_REDIS_PORT",
                    "CLAUDE_MEM_REDIS_HOST",
                ] {
                    if let Err(e) = file.get(key) {
                        assert_eq!(e.code, ErrorCode::BadSettings);
                    }
                }
            }
            Err(e) => {
                assert_eq!(e.code, ErrorCode::BadSettings, "{e}");
                assert!(e.message.contains("settings.json"));
            }
        }
    });
}

#[test]
fn setting_values_never_panic_and_ports_stay_in_range() {
    cases(
        0x0bad_9047,
        &[b"23456", b"managed", b" 1024 ", b"docker"],
        |bytes| {
            let text = String::from_utf8_lossy(bytes);
            if let Some(p) = parse_port(&text) {
                assert!(p >= 1024 && p != 6379, "{text:?} → {p}");
            }
            let _ = parse_mode(&text);
        },
    );
}

#[test]
fn option_objects_never_panic_and_reject_with_bad_option() {
    let known = ["dataDir", "mode", "port", "timeoutMs"];
    cases(
        0x0971_0175,
        &[
            b"{\"dataDir\": \"/tmp/x\", \"port\": 23456}",
            b"{\"mode\": \"managed\", \"timeoutMs\": 100}",
            b"null",
        ],
        |bytes| {
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                return;
            };
            match OptionReader::new("fuzz", Some(&value), &known) {
                Ok(r) => {
                    for k in ["dataDir", "mode"] {
                        if let Err(e) = r.string(k) {
                            assert_eq!(e.code, ErrorCode::BadOption);
                        }
                    }
                    for k in ["port", "timeoutMs"] {
                        if let Err(e) = r.number_text(k) {
                            assert_eq!(e.code, ErrorCode::BadOption);
                        }
                    }
                }
                Err(e) => assert_eq!(e.code, ErrorCode::BadOption),
            }
        },
    );
}

#[test]
fn pid_files_never_panic_and_valid_ones_are_sane() {
    cases(
        0x0091_d511,
        &[br#"{"pid":4242,"port":23456,"startedAt":1,"startToken":"99","runId":"r","binary":"/b","version":"8"}"#, b""],
        |bytes| {
            if let PidFile::Valid(r) = pidfile::parse(bytes) {
                assert!(r.pid > 1 && r.port != 0 && !r.start_token.is_empty());
            }
        },
    );
}

#[test]
fn server_answers_and_logs_never_panic() {
    cases(
        0x1f0_1f0,
        &[
            b"# Server\r\nredis_version:7.2.4\r\nvalkey_version:8.0.1\r\nprocess_id:42\r\nloading:0\r\n",
            b"Valkey server v=8.0.1 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64",
            b"# !!! Warning: short read while loading the AOF file x.aof!!!\n# !!! Truncating the AOF x.aof at offset 42 !!!\n",
        ],
        |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let _ = ServerInfo::from_info(&parse_info(&text));
            if let Some((_, v)) = parse_version(&text) {
                assert!(!v.is_empty());
            }
            let _ = load_warnings(&text);
        },
    );
}

#[test]
fn config_rendering_never_panics_and_never_breaks_a_line() {
    cases(
        0xc0_4f16,
        &[b"/home/u/.claude-mem/redis/data", b"/a b/\"c\"\\d"],
        |bytes| {
            let dir = String::from_utf8_lossy(bytes);
            let secrets = Secrets {
                client: "c".into(),
                admin: Some("a".into()),
            };
            let cfg = ServerConfig {
                port: 23456,
                ipv6: false,
                data_dir: Path::new(dir.as_ref()),
                secrets: &secrets,
                flavor: Flavor::Valkey,
                version: "8.1.1",
            };
            match cfg.render() {
                Ok(text) => {
                    let dir_line = text
                        .lines()
                        .find(|l| l.starts_with("dir "))
                        .expect("a dir line");
                    assert!(
                        dir_line.starts_with("dir \"") && dir_line.ends_with('"'),
                        "{dir_line}"
                    );
                    assert_eq!(text.lines().filter(|l| l.starts_with("port ")).count(), 1);
                }
                Err(e) => assert_eq!(e.code, ErrorCode::BadSettings),
            }
        },
    );
}

/// A password no message text could contain by chance.
const URL_PASSWORD: &str = "Qz7xPw9kVb";

#[test]
fn redis_urls_never_panic_never_leak_the_password_and_reject_with_bad_url() {
    let valid: Vec<String> = [
        "redis://127.0.0.1:6379",
        "redis://:{pw}@127.0.0.1:23456/0",
        "rediss://default:{pw}@cache.example.com:6380/3",
        "redis://user:{pw}@[::1]:6379",
        "rediss://:{pw}@[2001:db8::1]/15",
        "redis://localhost",
        "REDIS://:{pw}@LocalHost:65535",
        "redis://u%40x:{pw}%2F%3F@h:1/2",
    ]
    .iter()
    .map(|u| u.replace("{pw}", URL_PASSWORD))
    .collect();
    for u in &valid {
        assert!(redis_url::parse(u).is_ok(), "{u} should parse");
    }
    let seeds: Vec<&[u8]> = valid.iter().map(|u| u.as_bytes()).collect();
    // Any 5-character window of the password in a message would be a leak.
    let windows: Vec<&str> = (0..=URL_PASSWORD.len() - 5)
        .map(|i| &URL_PASSWORD[i..i + 5])
        .collect();
    cases(0x00c0_ffee, &seeds, |bytes| {
        let url = String::from_utf8_lossy(bytes);
        match redis_url::parse(&url) {
            Ok(endpoint) => {
                assert!(endpoint.port != 0, "{url:?}");
                if let Some(pw) = endpoint.password.as_deref().filter(|p| p.len() >= 8) {
                    let shown = redis_url::redacted(&endpoint);
                    let elsewhere = endpoint.host.contains(pw)
                        || endpoint.username.as_deref().is_some_and(|u| u.contains(pw));
                    assert!(
                        elsewhere || !shown.contains(pw),
                        "{url:?}: redacted URL shows the password: {shown}"
                    );
                }
            }
            Err(e) => {
                assert_eq!(e.code, ErrorCode::BadUrl, "{url:?}: {e}");
                for w in &windows {
                    assert!(
                        !e.message.contains(w),
                        "{url:?}: the message repeats part of the password: {}",
                        e.message
                    );
                }
                assert!(e.message.len() < 600, "{url:?}: message too long");
            }
        }
    });
}
