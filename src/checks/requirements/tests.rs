use redis::Value;

use super::*;
use crate::checks::health::evaluate;
use crate::checks::test_replies::{bulk, error, pair};
use crate::server::flavor::Flavor;

/// COMMAND INFO's reply where every command of the set exists but `missing`.
fn command_info_reply(missing: &[&str]) -> Value {
    Value::Array(
        acl::commands_at(LEVEL)
            .iter()
            .map(|name| {
                if missing.contains(name) {
                    Value::Nil
                } else {
                    Value::Array(vec![bulk(name), Value::Int(-1)])
                }
            })
            .collect(),
    )
}

/// Health replies of a server that answers INFO with `info`.
fn health(info: &str, policy: Value, appendonly: Value, lua: Value) -> Health {
    evaluate(&[
        Value::SimpleString("PONG".into()),
        bulk(info),
        policy,
        appendonly,
        pair("appendfsync", "everysec"),
        lua,
    ])
}

#[test]
fn the_command_set_is_redis_6_2s_top_level_commands() {
    let names = acl::commands_at(LEVEL);
    for name in [
        "eval", "evalsha", "script", "client", "xadd", "lpos", "bzpopmin",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    // client|setinfo is Redis 7.2: `client` is there once, for 6.2's subcommands.
    assert_eq!(names.iter().filter(|n| **n == "client").count(), 1);
    assert!(names.iter().all(|n| !n.contains('|')));
}

#[test]
fn missing_commands_are_read_from_command_info() {
    assert_eq!(missing_commands(&command_info_reply(&[])), Ok(vec![]));
    assert_eq!(
        missing_commands(&command_info_reply(&["lpos", "xtrim"])),
        Ok(vec!["LPOS".to_string(), "XTRIM".to_string()])
    );
    let refused = missing_commands(&error("ERR unknown command 'COMMAND'")).unwrap_err();
    assert!(refused.contains("unknown command"), "{refused}");
    let short = missing_commands(&Value::Array(vec![Value::Nil])).unwrap_err();
    assert!(short.contains("1 entries"), "{short}");
}

#[test]
fn a_server_with_everything_is_used() {
    let h = health(
        "redis_version:6.3.4\r\n",
        pair("maxmemory-policy", "noeviction"),
        pair("appendonly", "yes"),
        bulk(r#"["ok"]"#),
    );
    let lacks = unmet(&h, &Ok(vec![]));
    assert!(lacks.is_empty(), "{lacks:?}");
    let check = server_check("KeyDB 6.3.4", &lacks);
    assert!(check.ok);
    assert!(
        check.detail.starts_with("KeyDB 6.3.4: not a server"),
        "{}",
        check.detail
    );
}

#[test]
fn a_server_that_lacks_things_is_refused_naming_each() {
    // As ember-server 0.4.9 answers: no Lua, AOF off, LRU eviction, no LPOS.
    let h = health(
        "# Server\r\nember_version:0.4.9\r\n",
        pair("maxmemory-policy", "allkeys-lru"),
        pair("appendonly", "no"),
        error("ERR unknown command 'EVAL'"),
    );
    assert_eq!(h.info.flavor, Flavor::Unknown);
    let lacks = unmet(&h, &Ok(vec!["LPOS".to_string()]));
    assert_eq!(lacks.len(), 4, "{lacks:?}");
    assert!(lacks[0].starts_with("Lua scripting"));
    assert!(lacks[1].contains("it runs RDB only"), "{}", lacks[1]);
    assert!(lacks[2].contains("it reports allkeys-lru"), "{}", lacks[2]);
    assert!(lacks[3].contains("missing: LPOS"), "{}", lacks[3]);
    let check = server_check("ember 0.4.9", &lacks);
    assert!(!check.ok);
    assert_eq!(check.code, Some(ErrorCode::ServerUnsupported.as_str()));
    assert!(
        check
            .detail
            .starts_with("ember 0.4.9 is not a server claude-mem-store knows by name"),
        "{}",
        check.detail
    );
}

#[test]
fn what_a_server_does_not_tell_counts_as_lacking() {
    // CONFIG refused and INFO silent: neither AOF nor the policy can be told.
    let h = health(
        "redis_version:feox-0.7.0\r\n",
        error("ERR unknown command 'CONFIG'"),
        error("ERR unknown command 'CONFIG'"),
        bulk(r#"["ok"]"#),
    );
    let lacks = unmet(&h, &Err("ERR unknown command 'COMMAND'".into()));
    assert_eq!(lacks.len(), 3, "{lacks:?}");
    assert!(lacks[0].contains("neither CONFIG GET appendonly"));
    assert!(lacks[1].contains("neither CONFIG GET maxmemory-policy"));
    assert!(lacks[2].contains("COMMAND INFO, which tells them, failed"));
}
