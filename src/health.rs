//! The health checks every store answers to: PING, `INFO` (flavor, version,
//! loading), `CONFIG GET maxmemory-policy`, `CONFIG GET appendonly`/`appendfsync`,
//! all in one round trip. BullMQ needs Redis ≥ 5 (recommends ≥ 6.2) and `noeviction`.

use crate::binaries::{Flavor, version_key};
use crate::client::{Client, ClientResult, config_value, value_text};
use crate::error::ErrorCode;
use crate::server_info::{ServerInfo, parse_info};
use crate::status::Check;

#[derive(Debug, Clone)]
pub struct Health {
    pub info: ServerInfo,
    pub checks: Vec<Check>,
    /// `AOF everysec`, `RDB only`, …
    pub persistence: Option<String>,
    pub policy: Option<String>,
}

impl Health {
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok || c.code.is_none())
    }
}

/// Runs the checks on an authenticated connection. Only a failed exchange is an
/// `Err`; a server that answers badly yields failing checks.
pub async fn check(client: &mut Client) -> ClientResult<Health> {
    let mut pipe = redis::pipe();
    pipe.cmd("PING")
        .cmd("INFO")
        .cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .cmd("CONFIG")
        .arg("GET")
        .arg("appendonly")
        .cmd("CONFIG")
        .arg("GET")
        .arg("appendfsync");
    let replies = client.pipeline(&pipe).await?;
    Ok(evaluate(&replies))
}

/// Turns the five replies into checks. Separate from I/O so it is unit-tested.
pub fn evaluate(replies: &[redis::Value]) -> Health {
    let reply = |i: usize| replies.get(i).cloned().unwrap_or(redis::Value::Nil);
    let mut checks = Vec::new();

    match value_text(&reply(0)) {
        Ok(p) if p == "PONG" => checks.push(Check::pass("ping", "PONG")),
        Ok(other) => checks.push(Check::fail(
            "ping",
            ErrorCode::Unreachable,
            format!("PING answered {other:?}"),
        )),
        Err(e) if e.starts_with("LOADING") => checks.push(Check::fail(
            "ping",
            ErrorCode::Timeout,
            "the server is still loading its data",
        )),
        Err(e) => checks.push(Check::fail("ping", ErrorCode::Unreachable, e)),
    }

    let fields = value_text(&reply(1))
        .map(|t| parse_info(&t))
        .unwrap_or_default();
    let info = ServerInfo::from_info(&fields);
    checks.push(version_check(&info));

    let policy = config_value(&reply(2)).ok();
    checks.push(match policy.as_deref() {
        Some("noeviction") => Check::pass("maxmemory-policy", "noeviction"),
        Some(p) => Check::fail(
            "maxmemory-policy",
            ErrorCode::EvictionPolicy,
            format!(
                "maxmemory-policy is {p}; BullMQ needs noeviction or it may silently lose jobs. \
                 Run CONFIG SET maxmemory-policy noeviction (and set it in the server's config)."
            ),
        ),
        None => Check::warn(
            "maxmemory-policy",
            "CONFIG GET maxmemory-policy was refused; the policy could not be read",
        ),
    });

    let appendonly = config_value(&reply(3)).ok();
    let fsync = config_value(&reply(4)).ok();
    let persistence = match (appendonly.as_deref(), fsync.as_deref()) {
        (Some("yes"), Some(f)) => Some(format!("AOF {f}")),
        (Some("yes"), None) => Some("AOF".to_string()),
        (Some(_), _) => Some("RDB only".to_string()),
        (None, _) => None,
    };
    checks.push(match appendonly.as_deref() {
        Some("yes") => Check::pass("appendonly", persistence.clone().unwrap_or_default()),
        Some(_) => Check::warn(
            "appendonly",
            "appendonly is off: a crash can lose every job since the last RDB snapshot. \
             Run CONFIG SET appendonly yes.",
        ),
        None => Check::warn("appendonly", "CONFIG GET appendonly was refused"),
    });

    Health {
        info,
        checks,
        persistence,
        policy,
    }
}

fn version_check(info: &ServerInfo) -> Check {
    let label = format!("{} {}", info.flavor.as_str(), info.version);
    match version_key(&info.version) {
        None => Check::warn("server", "INFO did not say which server or version this is"),
        Some(v) if v[0] < 5 => Check::fail(
            "server",
            ErrorCode::VersionTooOld,
            format!("{label} is too old: BullMQ needs Redis 5.0 or newer (6.2+ recommended)."),
        ),
        Some(v) if info.flavor == Flavor::Redis && v < vec![6, 2] => Check::warn(
            "server",
            format!("{label}: BullMQ works but recommends Redis 6.2 or newer."),
        ),
        Some(_) => Check::pass("server", label),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }
    fn pair(k: &str, v: &str) -> Value {
        Value::Array(vec![bulk(k), bulk(v)])
    }

    #[test]
    fn a_good_store_passes_every_check() {
        let h = evaluate(&[
            Value::SimpleString("PONG".into()),
            bulk("redis_version:7.2.4\r\nvalkey_version:8.0.1\r\nrun_id:r\r\n"),
            pair("maxmemory-policy", "noeviction"),
            pair("appendonly", "yes"),
            pair("appendfsync", "everysec"),
        ]);
        assert!(h.all_ok(), "{:?}", h.checks);
        assert_eq!(h.persistence.as_deref(), Some("AOF everysec"));
        assert_eq!(h.policy.as_deref(), Some("noeviction"));
        assert_eq!(h.info.flavor, Flavor::Valkey);
    }

    #[test]
    fn eviction_old_versions_and_no_aof_are_reported() {
        let h = evaluate(&[
            Value::SimpleString("PONG".into()),
            bulk("redis_version:4.0.9\r\n"),
            pair("maxmemory-policy", "allkeys-lru"),
            pair("appendonly", "no"),
            pair("appendfsync", "everysec"),
        ]);
        let code = |n: &str| h.checks.iter().find(|c| c.name == n).unwrap().code;
        assert_eq!(code("maxmemory-policy"), Some("E_EVICTION_POLICY"));
        assert_eq!(code("server"), Some("E_VERSION_TOO_OLD"));
        let aof = h.checks.iter().find(|c| c.name == "appendonly").unwrap();
        assert!(!aof.ok && aof.code.is_none());
        assert_eq!(h.persistence.as_deref(), Some("RDB only"));
        assert!(!h.all_ok());
    }

    #[test]
    fn redis_below_6_2_is_a_warning_not_an_error() {
        let h = evaluate(&[
            Value::SimpleString("PONG".into()),
            bulk("redis_version:6.0.16\r\n"),
            pair("maxmemory-policy", "noeviction"),
            pair("appendonly", "yes"),
            pair("appendfsync", "always"),
        ]);
        let server = h.checks.iter().find(|c| c.name == "server").unwrap();
        assert!(!server.ok && server.code.is_none());
        assert!(h.all_ok());
    }
}
