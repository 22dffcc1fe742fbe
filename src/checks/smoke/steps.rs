//! The smoke test's plan: its keys (one hash tag, a unique namespace), the
//! commands BullMQ needs in order, what each must answer, and how a reply is
//! checked against it.

use std::time::Duration;

use redis::Value;

use super::*;
use crate::checks::client::{ClientError, value_text};
use crate::checks::health::printable;
use crate::checks::report::Check;
use crate::error::ErrorCode;

/// Decodes a job with cjson, stores it packed with cmsgpack, reads it back: the
/// two libraries BullMQ's scripts depend on, through SCRIPT LOAD + EVALSHA.
pub(super) const SCRIPT: &str = "local job = cjson.decode(ARGV[1]) \
redis.call('HSET', KEYS[1], 'name', job.name, 'packed', cmsgpack.pack(job)) \
local back = cmsgpack.unpack(redis.call('HGET', KEYS[1], 'packed')) \
return cjson.encode({back.name, back.attempts})";
const SCRIPT_ARG: &str = r#"{"name":"smoke","attempts":3}"#;
const SCRIPT_RESULT: &str = r#"["smoke",3]"#;

/// The smoke test's keys, all under one hash tag.
pub(super) struct Keys {
    pub(super) namespace: String,
}

impl Keys {
    const NAMES: [&'static str; 7] = [
        "job",
        "wait",
        "active",
        "delayed",
        "completed",
        "events",
        "meta",
    ];

    pub(super) fn new(prefix: &str) -> Keys {
        // Braces in the prefix would change which part of the key is hashed.
        let tag: String = prefix
            .chars()
            .filter(|c| !matches!(c, '{' | '}') && !c.is_control())
            .take(64)
            .collect();
        let tag = if tag.is_empty() { "claude-mem" } else { &tag };
        Keys {
            namespace: format!("{{{tag}:smoke}}:{}", unique_suffix()),
        }
    }

    pub(super) fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.namespace)
    }

    pub(super) fn all(&self) -> Vec<String> {
        Self::NAMES.iter().map(|n| self.key(n)).collect()
    }
}

/// Unique per run, so concurrent smoke tests (several processes, several
/// machines on one server) never touch each other's keys.
pub(super) fn unique_suffix() -> String {
    let mut random = [0u8; 6];
    // Without randomness the pid and clock still make the name unique enough.
    let _ = getrandom::fill(&mut random);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{nanos:x}-{hex}", std::process::id())
}

/// What a reply must be for its step to pass.
pub(super) enum Expect {
    /// Any reply that is not an error.
    Any,
    Int(i64),
    Text(String),
    Texts(Vec<&'static str>),
    Ints(Vec<i64>),
}

pub(super) struct Step {
    name: &'static str,
    /// What the step exercised, for a passing check.
    what: &'static str,
    code: ErrorCode,
    commands: Vec<(redis::Cmd, Expect)>,
}

pub(super) fn cmd(name: &str, args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(name);
    for a in args {
        c.arg(*a);
    }
    c
}

pub(super) fn steps(keys: &Keys) -> Vec<Step> {
    let k = |n: &str| keys.key(n);
    let (job, wait, active) = (k("job"), k("wait"), k("active"));
    let (delayed, completed, events, meta) = (k("delayed"), k("completed"), k("events"), k("meta"));
    let sha = redis::Script::new(SCRIPT).get_hash().to_string();
    let all = keys.all();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    vec![
        Step {
            name: "smoke:script",
            what: "SCRIPT LOAD + EVALSHA with cjson and cmsgpack",
            code: ErrorCode::LuaUnavailable,
            commands: vec![
                (cmd("SCRIPT", &["LOAD", SCRIPT]), Expect::Text(sha.clone())),
                (
                    cmd("EVALSHA", &[&sha, "1", &job, SCRIPT_ARG]),
                    Expect::Text(SCRIPT_RESULT.into()),
                ),
            ],
        },
        Step {
            name: "smoke:hash",
            what: "HSET, HINCRBY, HGET",
            code: ErrorCode::SmokeFailed,
            commands: vec![
                (
                    cmd("HSET", &[&job, "data", "{}", "attemptsMade", "0"]),
                    Expect::Int(2),
                ),
                (cmd("HINCRBY", &[&job, "attemptsMade", "1"]), Expect::Int(1)),
                (cmd("HGET", &[&job, "data"]), Expect::Text("{}".into())),
            ],
        },
        Step {
            name: "smoke:zset",
            what: "ZADD, ZRANGEBYSCORE",
            code: ErrorCode::SmokeFailed,
            commands: vec![
                (
                    cmd("ZADD", &[&delayed, "1700000000000", "j1"]),
                    Expect::Int(1),
                ),
                (
                    cmd("ZRANGEBYSCORE", &[&delayed, "-inf", "+inf"]),
                    Expect::Texts(vec!["j1"]),
                ),
            ],
        },
        Step {
            name: "smoke:list",
            what: "RPUSH, LMOVE, LLEN",
            code: ErrorCode::SmokeFailed,
            commands: vec![
                (cmd("RPUSH", &[&wait, "j1"]), Expect::Int(1)),
                (
                    cmd("LMOVE", &[&wait, &active, "RIGHT", "LEFT"]),
                    Expect::Text("j1".into()),
                ),
                (cmd("LLEN", &[&wait]), Expect::Int(0)),
            ],
        },
        Step {
            name: "smoke:stream",
            what: "XADD, XTRIM, XLEN",
            code: ErrorCode::SmokeFailed,
            commands: vec![
                (
                    cmd(
                        "XADD",
                        &[&events, "MAXLEN", "~", "100", "*", "event", "added"],
                    ),
                    Expect::Any,
                ),
                (cmd("XTRIM", &[&events, "MAXLEN", "0"]), Expect::Int(1)),
                (cmd("XLEN", &[&events]), Expect::Int(0)),
            ],
        },
        Step {
            name: "smoke:multi",
            what: "MULTI/EXEC",
            code: ErrorCode::SmokeFailed,
            commands: vec![
                (cmd("MULTI", &[]), Expect::Any),
                (
                    cmd("HSET", &[&meta, "paused", "1"]),
                    Expect::Text("QUEUED".into()),
                ),
                (
                    cmd("ZADD", &[&completed, "1", "j1"]),
                    Expect::Text("QUEUED".into()),
                ),
                (cmd("EXEC", &[]), Expect::Ints(vec![1, 1])),
            ],
        },
        // Last, so that it runs whatever failed before it.
        Step {
            name: "smoke:cleanup",
            what: "DEL of every key the smoke test made",
            code: ErrorCode::SmokeFailed,
            commands: vec![
                (cmd("DEL", &all), Expect::Any),
                (cmd("EXISTS", &all), Expect::Int(0)),
            ],
        },
    ]
}

/// The smoke test as commands, so that a caller can send them in the same
/// pipeline as its other checks, and how to judge their replies.
pub struct Plan {
    pub(super) keys: Keys,
    steps: Vec<Step>,
}

impl Plan {
    pub fn new(prefix: &str) -> Plan {
        let keys = Keys::new(prefix);
        let steps = steps(&keys);
        Plan { keys, steps }
    }

    /// Appends every command, in order; the cleanup (DEL) comes last, so the server
    /// runs it even when an earlier step fails.
    pub fn add_to(&self, pipe: &mut redis::Pipeline) {
        for step in &self.steps {
            for (c, _) in &step.commands {
                pipe.add_command(c.clone());
            }
        }
    }

    /// How many replies `add_to`'s commands produce.
    pub fn len(&self) -> usize {
        self.steps.iter().map(|s| s.commands.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One check per step, from the replies to `add_to`'s commands.
    pub fn evaluate(&self, replies: &[Value]) -> Vec<Check> {
        let mut checks = Vec::new();
        let mut replies = replies.iter();
        for step in &self.steps {
            let mut failure = None;
            for (c, expect) in &step.commands {
                let reply = replies.next().unwrap_or(&Value::Nil);
                if failure.is_none() {
                    failure = verify(c, reply, expect).err();
                }
            }
            checks.push(match failure {
                None if step.name == "smoke:cleanup" => Check::pass(
                    step.name,
                    format!(
                        "deleted the {} keys it made under {}",
                        Keys::NAMES.len(),
                        self.keys.namespace
                    ),
                ),
                None => Check::pass(step.name, step.what),
                Some(why) => {
                    Check::fail(step.name, step.code, step_failure(step, &self.keys, &why))
                }
            });
        }
        checks
    }

    /// When the exchange itself broke (no replies): a failing check, and the keys
    /// deleted over a new connection so that nothing is left behind.
    pub async fn after_broken_exchange(
        &self,
        target: &Target<'_>,
        e: &ClientError,
        timeout: Duration,
    ) -> Vec<Check> {
        let code = match e {
            ClientError::Timeout => ErrorCode::Timeout,
            _ => ErrorCode::Unreachable,
        };
        let failed = Check::fail(
            "smoke",
            code,
            format!("the smoke test's commands got no answer: {e}"),
        );
        vec![failed, cleanup_again(target, &self.keys, timeout).await]
    }
}

/// The detail of a failing step: what to run or what the server must allow.
fn step_failure(step: &Step, keys: &Keys, why: &str) -> String {
    if step.name == "smoke:cleanup" {
        format!(
            "the smoke test could not delete its keys ({why}). Delete them with: DEL {}",
            keys.all().join(" ")
        )
    } else {
        format!(
            "{} failed: {why}. BullMQ needs these commands; use a server that supports them \
             (Redis 6.2+, Valkey, Dragonfly) and allow them for this user.",
            step.what
        )
    }
}

pub(super) fn verify(command: &redis::Cmd, reply: &Value, expect: &Expect) -> Result<(), String> {
    let name = command_name(command);
    if let Value::ServerError(e) = reply {
        return Err(format!(
            "{name} was refused: {} {}",
            printable(e.code()),
            printable(e.details().unwrap_or_default())
        ));
    }
    let matches = match expect {
        Expect::Any => true,
        Expect::Int(n) => matches!(reply, Value::Int(v) if v == n),
        Expect::Text(t) => value_text(reply).is_ok_and(|v| &v == t),
        Expect::Texts(t) => {
            redis::from_redis_value_ref::<Vec<String>>(reply).is_ok_and(|v| v == *t)
        }
        Expect::Ints(n) => redis::from_redis_value_ref::<Vec<i64>>(reply).is_ok_and(|v| v == *n),
    };
    if matches {
        Ok(())
    } else {
        Err(format!(
            "{name} answered {}, not {}",
            describe(reply),
            describe_expect(expect)
        ))
    }
}

pub(super) fn command_name(command: &redis::Cmd) -> String {
    command
        .args_iter()
        .next()
        .and_then(|a| match a {
            redis::Arg::Simple(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        })
        .map(str::to_string)
        .unwrap_or_else(|| "a command".into())
}

pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(n) => n.to_string(),
        other => match value_text(other) {
            Ok(t) => format!("{:?}", printable(&t)),
            Err(_) => printable(&format!("{other:?}")),
        },
    }
}

pub(super) fn describe_expect(e: &Expect) -> String {
    match e {
        Expect::Any => "a reply".into(),
        Expect::Int(n) => n.to_string(),
        Expect::Text(t) => format!("{t:?}"),
        Expect::Texts(t) => format!("{t:?}"),
        Expect::Ints(n) => format!("{n:?}"),
    }
}
