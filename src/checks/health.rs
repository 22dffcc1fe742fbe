//! The health checks every store answers to, in one round trip: PING, `INFO`
//! (flavor, version, cluster mode, and the memory/persistence facts CONFIG may
//! refuse), `CONFIG GET maxmemory-policy`, `CONFIG GET appendonly`/`appendfsync`,
//! and a Lua script using `cjson` and `cmsgpack`. BullMQ needs Redis ≥ 5
//! (recommends ≥ 6.2), `noeviction`, and Lua with both libraries.

use std::collections::HashMap;

use crate::checks::client::{Client, ClientResult, config_value, value_text};
use crate::checks::report::Check;
use crate::checks::server_info::{ServerInfo, parse_info};
use crate::error::ErrorCode;
use crate::server::flavor::{Flavor, version_key};

#[derive(Debug, Clone)]
pub struct Health {
    pub info: ServerInfo,
    pub checks: Vec<Check>,
    /// `AOF everysec`, `RDB only`, …
    pub persistence: Option<String>,
    pub policy: Option<String>,
    /// `INFO cluster` says `cluster_enabled:1`.
    pub cluster: bool,
    /// Our own store's checks only: the clients connected besides the asking one
    /// (`checks::clients`); `None` where not asked or refused.
    pub other_clients: Option<u32>,
}

impl Health {
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok || c.code.is_none())
    }
}

/// Uses both libraries BullMQ's scripts load; answers `["ok"]` where they work.
const LUA_CHECK: &str = "return cjson.encode({cmsgpack.unpack(cmsgpack.pack('ok'))})";
const LUA_EXPECTED: &str = r#"["ok"]"#;

/// Where managed cloud services keep CONFIG disabled, say where a value came from.
const FROM_INFO: &str =
    "read from INFO because CONFIG GET was refused, as on managed cloud services";

/// Runs the checks on an authenticated connection. Only a failed exchange is an
/// `Err`; a server that answers badly yields failing checks.
pub async fn check(client: &mut Client) -> ClientResult<Health> {
    let mut pipe = redis::pipe();
    add_commands(&mut pipe);
    let replies = client.pipeline(&pipe).await?;
    Ok(evaluate(&replies))
}

/// How many replies `add_commands` produces (they come first in a shared pipeline).
pub const COMMANDS: usize = 6;

/// Appends the health commands, so a caller can share one pipeline (one round
/// trip) between them and other checks.
pub fn add_commands(pipe: &mut redis::Pipeline) {
    for cmd in commands() {
        pipe.add_command(cmd);
    }
}

/// The health commands, in the order `evaluate` reads their replies.
pub fn commands() -> [redis::Cmd; COMMANDS] {
    let config_get = |name: &str| {
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("GET").arg(name);
        cmd
    };
    let mut eval = redis::cmd("EVAL");
    eval.arg(LUA_CHECK).arg(0);
    [
        redis::cmd("PING"),
        redis::cmd("INFO"),
        config_get("maxmemory-policy"),
        config_get("appendonly"),
        config_get("appendfsync"),
        eval,
    ]
}

/// Turns the six replies into checks. Separate from I/O so it is unit-tested.
pub fn evaluate(replies: &[redis::Value]) -> Health {
    let reply = |i: usize| replies.get(i).cloned().unwrap_or(redis::Value::Nil);
    let mut checks = Vec::new();

    checks.push(ping_check(&reply(0)));

    let fields = value_text(&reply(1))
        .map(|t| parse_info(&t))
        .unwrap_or_default();
    let info = ServerInfo::from_info(&fields);
    checks.push(version_check(&info, &fields));

    let (policy, policy_source) = match config_value(&reply(2)) {
        Ok(p) => (Some(p), None),
        Err(_) => (fields.get("maxmemory_policy").cloned(), Some(FROM_INFO)),
    };
    checks.push(policy_check(policy.as_deref(), policy_source));

    let (appendonly, fsync) = match config_value(&reply(3)) {
        Ok(a) => (Some(a), config_value(&reply(4)).ok()),
        Err(_) => (
            fields.get("aof_enabled").map(|v| {
                if v == "1" {
                    "yes".to_string()
                } else {
                    "no".to_string()
                }
            }),
            None,
        ),
    };
    let from_info = appendonly.is_some() && config_value(&reply(3)).is_err();
    let persistence = match (appendonly.as_deref(), fsync.as_deref()) {
        (Some("yes"), Some(f)) => Some(format!("AOF {f}")),
        (Some("yes"), None) => Some("AOF".to_string()),
        (Some(_), _) => Some("RDB only".to_string()),
        (None, _) => None,
    };
    checks.push(appendonly_check(
        appendonly.as_deref(),
        persistence.as_deref(),
        from_info,
    ));
    checks.push(lua_check(&reply(5)));

    Health {
        info,
        checks,
        persistence,
        policy,
        cluster: fields.get("cluster_enabled").map(String::as_str) == Some("1"),
        other_clients: None,
    }
}

fn ping_check(reply: &redis::Value) -> Check {
    match value_text(reply) {
        Ok(p) if p == "PONG" => Check::pass("ping", "PONG"),
        Ok(other) => Check::fail(
            "ping",
            ErrorCode::Unreachable,
            format!(
                "PING answered {:?}; this does not look like a Redis-compatible server",
                printable(&other)
            ),
        ),
        Err(e) if e.starts_with("LOADING") => Check::fail(
            "ping",
            ErrorCode::Timeout,
            "the server is still loading its data; try again when it has finished",
        ),
        Err(e) if e.starts_with("NOAUTH") => Check::fail(
            "ping",
            ErrorCode::Auth,
            "the server requires a password and none was given. Put it in the URL: \
             redis://:password@host:port (or redis://user:password@host:port for an ACL user)",
        ),
        Err(e) => Check::fail("ping", ErrorCode::Unreachable, printable(&e)),
    }
}

fn policy_check(policy: Option<&str>, source: Option<&str>) -> Check {
    let note = source.map(|s| format!(" ({s})")).unwrap_or_default();
    match policy {
        Some("noeviction") => Check::pass("maxmemory-policy", format!("noeviction{note}")),
        Some(p) => Check::fail(
            "maxmemory-policy",
            ErrorCode::EvictionPolicy,
            format!(
                "maxmemory-policy is {}{note}; BullMQ needs noeviction or it may silently lose jobs. \
                 Run CONFIG SET maxmemory-policy noeviction and set it in the server's config \
                 (on a managed cloud service, in its parameter group or settings).",
                printable(p)
            ),
        ),
        None => Check::warn(
            "maxmemory-policy",
            "neither CONFIG GET maxmemory-policy nor INFO memory told the policy; make sure it is noeviction",
        ),
    }
}

fn appendonly_check(appendonly: Option<&str>, persistence: Option<&str>, from_info: bool) -> Check {
    let note = if from_info {
        format!(" ({FROM_INFO})")
    } else {
        String::new()
    };
    match appendonly {
        Some("yes") => Check::pass(
            "appendonly",
            format!("{}{note}", persistence.unwrap_or("AOF")),
        ),
        Some(_) => Check::warn(
            "appendonly",
            format!(
                "appendonly is off{note}: a crash can lose every job since the last RDB snapshot. \
                 Run CONFIG SET appendonly yes (and set it in the server's config)."
            ),
        ),
        None => Check::warn(
            "appendonly",
            "neither CONFIG GET appendonly nor INFO persistence told whether AOF is on",
        ),
    }
}

fn lua_check(reply: &redis::Value) -> Check {
    match value_text(reply) {
        Ok(r) if r == LUA_EXPECTED => Check::pass("lua", "EVAL works, with cjson and cmsgpack"),
        Ok(other) => Check::fail(
            "lua",
            ErrorCode::LuaUnavailable,
            format!(
                "a Lua script using cjson and cmsgpack answered {:?} instead of {LUA_EXPECTED}; \
                 BullMQ's scripts need both libraries",
                printable(&other)
            ),
        ),
        Err(e) => Check::fail(
            "lua",
            ErrorCode::LuaUnavailable,
            format!(
                "Lua scripting failed ({}); BullMQ runs all its work as Lua scripts. Allow EVAL, EVALSHA \
                 and SCRIPT for this user (ACL: +@scripting) or use a server with Lua and cjson/cmsgpack.",
                printable(&e)
            ),
        ),
    }
}

fn version_check(info: &ServerInfo, fields: &HashMap<String, String>) -> Check {
    let label = info.label();
    // Dragonfly numbers its own releases 1.x; its Redis compatibility level is what
    // BullMQ's minimum is about.
    let compared = match info.flavor {
        Flavor::Dragonfly => fields.get("redis_version").cloned().unwrap_or_default(),
        // Its own version says nothing of its Redis command set, which
        // `checks::requirements` asks for and then puts in this check (the probe,
        // and the managed store when it starts one; an adopted store passed then).
        Flavor::Unknown if info.name.is_some() => return Check::pass("server", label),
        _ => info.version.clone(),
    };
    match version_key(&compared) {
        None => Check::warn("server", "INFO did not say which server or version this is"),
        Some(v) if v[0] < 5 => Check::fail(
            "server",
            ErrorCode::VersionTooOld,
            format!(
                "{label} is too old: BullMQ needs Redis 5.0 or newer (6.2+ recommended). Upgrade the server."
            ),
        ),
        Some(v) if info.flavor == Flavor::Redis && v < vec![6, 2] => Check::warn(
            "server",
            format!("{label}: BullMQ works but recommends Redis 6.2 or newer."),
        ),
        Some(_) => Check::pass("server", label),
    }
}

/// Server text echoed in a check: one line, bounded.
pub fn printable(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if s.chars().count() > 200 {
        format!("{cleaned}…")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_replies::{bulk, error, pair};
    use redis::Value;

    fn lua_ok() -> Value {
        bulk(LUA_EXPECTED)
    }
    fn check<'h>(h: &'h Health, name: &str) -> &'h Check {
        h.checks.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn a_good_store_passes_every_check() {
        let h = evaluate(&[
            Value::SimpleString("PONG".into()),
            bulk(
                "redis_version:7.2.4\r\nvalkey_version:8.0.1\r\nrun_id:r\r\ncluster_enabled:0\r\n",
            ),
            pair("maxmemory-policy", "noeviction"),
            pair("appendonly", "yes"),
            pair("appendfsync", "everysec"),
            lua_ok(),
        ]);
        assert!(h.all_ok(), "{:?}", h.checks);
        assert_eq!(h.persistence.as_deref(), Some("AOF everysec"));
        assert_eq!(h.policy.as_deref(), Some("noeviction"));
        assert_eq!(h.info.flavor, Flavor::Valkey);
        assert!(!h.cluster);
        assert_eq!(
            check(&h, "lua").detail,
            "EVAL works, with cjson and cmsgpack"
        );
    }

    #[test]
    fn eviction_old_versions_and_no_aof_are_reported() {
        let h = evaluate(&[
            Value::SimpleString("PONG".into()),
            bulk("redis_version:4.0.9\r\n"),
            pair("maxmemory-policy", "allkeys-lru"),
            pair("appendonly", "no"),
            pair("appendfsync", "everysec"),
            lua_ok(),
        ]);
        assert_eq!(
            check(&h, "maxmemory-policy").code,
            Some("E_EVICTION_POLICY")
        );
        assert_eq!(check(&h, "server").code, Some("E_VERSION_TOO_OLD"));
        let aof = check(&h, "appendonly");
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
            lua_ok(),
        ]);
        let server = check(&h, "server");
        assert!(!server.ok && server.code.is_none());
        assert!(h.all_ok());
    }

    #[test]
    fn refused_config_falls_back_to_info_and_says_so() {
        let refused = error("ERR unknown command 'CONFIG', with args beginning with: 'GET'");
        let h = evaluate(&[
            Value::SimpleString("PONG".into()),
            bulk(
                "redis_version:7.0.15\r\nmaxmemory_policy:volatile-lru\r\naof_enabled:1\r\ncluster_enabled:1\r\n",
            ),
            refused.clone(),
            refused.clone(),
            refused,
            lua_ok(),
        ]);
        let policy = check(&h, "maxmemory-policy");
        assert_eq!(policy.code, Some("E_EVICTION_POLICY"));
        assert!(
            policy.detail.contains("read from INFO"),
            "{}",
            policy.detail
        );
        let aof = check(&h, "appendonly");
        assert!(
            aof.ok && aof.detail.contains("read from INFO"),
            "{}",
            aof.detail
        );
        assert_eq!(h.persistence.as_deref(), Some("AOF"));
        assert!(h.cluster);
    }

    #[test]
    fn missing_password_lua_and_dragonfly() {
        let noauth = error("NOAUTH Authentication required.");
        let h = evaluate(&[
            noauth.clone(),
            noauth.clone(),
            noauth.clone(),
            noauth.clone(),
            noauth.clone(),
            noauth,
        ]);
        assert_eq!(check(&h, "ping").code, Some("E_AUTH"));
        assert_eq!(check(&h, "lua").code, Some("E_LUA_UNAVAILABLE"));

        let h = evaluate(&[
            Value::SimpleString("PONG".into()),
            bulk("redis_version:7.4.0\r\ndragonfly_version:df-v1.21.2\r\n"),
            pair("maxmemory-policy", "noeviction"),
            pair("appendonly", "yes"),
            pair("appendfsync", "everysec"),
            error("NOPERM this user has no permissions to run the 'eval' command"),
        ]);
        assert!(check(&h, "server").ok, "{:?}", check(&h, "server"));
        let lua = check(&h, "lua");
        assert_eq!(lua.code, Some("E_LUA_UNAVAILABLE"));
        assert!(lua.detail.contains("NOPERM"), "{}", lua.detail);
    }
}
