//! What a server we do not know by name must show before BullMQ's queues are put
//! on it. Valkey, Redis and Redict are vouched for by their name and version; a
//! server we do not know (KeyDB, ember, FeOx, …) only by its answers: Lua scripting
//! with cjson and cmsgpack, AOF persistence, `maxmemory-policy noeviction`, and
//! every command of the Redis 6.2 set that BullMQ and its clients send
//! (`server::acl`'s list, asked with one `COMMAND INFO`).
//!
//! The answer replaces the `server` check, so that the first failing check (the
//! root cause every caller reports) names the server and all it lacks at once.

use std::time::Instant;

use redis::Value;

use crate::checks::client::{Client, ClientResult, value_text};
use crate::checks::health::{self, Health, printable};
use crate::checks::report::Check;
use crate::checks::smoke::Target;
use crate::error::ErrorCode;
use crate::server::acl;

/// The command set asked for: Redis 6.2's, as BullMQ uses it.
const LEVEL: [u16; 2] = [6, 2];

/// `COMMAND INFO` for every command of the set.
pub fn command_info() -> redis::Cmd {
    let mut cmd = redis::cmd("COMMAND");
    cmd.arg("INFO").arg(acl::commands_at(LEVEL));
    cmd
}

/// The commands of the set that `reply` (to [`command_info`]) shows missing: a
/// server answers nil, or an empty entry, for a command it does not have. `Err`
/// when COMMAND INFO itself was not answered with one entry per command.
pub fn missing_commands(reply: &Value) -> Result<Vec<String>, String> {
    let names = acl::commands_at(LEVEL);
    let entries = match reply {
        Value::Array(entries) if entries.len() == names.len() => entries,
        Value::Array(entries) => {
            return Err(format!(
                "COMMAND INFO answered {} entries for {} commands",
                entries.len(),
                names.len()
            ));
        }
        other => {
            return Err(match value_text(other) {
                Err(e) => printable(&e),
                Ok(text) => format!("COMMAND INFO answered {:?}", printable(&text)),
            });
        }
    };
    Ok(names
        .iter()
        .zip(entries)
        .filter(|(_, entry)| match entry {
            Value::Nil => true,
            Value::Array(fields) => fields.is_empty(),
            _ => false,
        })
        .map(|(name, _)| name.to_uppercase())
        .collect())
}

/// What the server lacks, in words, from its health checks and its command set.
/// Empty when it has everything.
pub fn unmet(health: &Health, commands: &Result<Vec<String>, String>) -> Vec<String> {
    let failed = |name: &str| {
        health
            .checks
            .iter()
            .find(|c| c.name == name)
            .is_none_or(|c| !c.ok)
    };
    let mut lacks = Vec::new();
    if failed("lua") {
        lacks.push("Lua scripting with cjson and cmsgpack (EVAL)".to_string());
    }
    if health
        .persistence
        .as_deref()
        .is_none_or(|p| !p.starts_with("AOF"))
    {
        lacks.push(match health.persistence.as_deref() {
            Some(p) => format!("AOF persistence (it runs {p}; appendonly yes)"),
            None => "AOF persistence (neither CONFIG GET appendonly nor INFO persistence \
                     says it has it)"
                .to_string(),
        });
    }
    if health.policy.as_deref() != Some("noeviction") {
        lacks.push(match health.policy.as_deref() {
            Some(p) => format!("maxmemory-policy noeviction (it reports {})", printable(p)),
            None => "maxmemory-policy noeviction (neither CONFIG GET maxmemory-policy nor \
                     INFO memory tells its policy)"
                .to_string(),
        });
    }
    match commands {
        Ok(missing) if missing.is_empty() => {}
        Ok(missing) => lacks.push(format!(
            "the Redis 6.2 commands BullMQ sends (missing: {})",
            missing.join(", ")
        )),
        Err(why) => lacks.push(format!(
            "the Redis 6.2 commands BullMQ sends (COMMAND INFO, which tells them, failed: {why})"
        )),
    }
    lacks
}

/// The `server` check of a server we do not know by name, `label` being what it
/// calls itself (`KeyDB 6.3.4`).
pub fn server_check(label: &str, lacks: &[String]) -> Check {
    if lacks.is_empty() {
        return Check::pass(
            "server",
            format!(
                "{label}: not a server claude-mem-store knows by name, but it has what BullMQ needs \
                 (Lua with cjson and cmsgpack, AOF, noeviction, the Redis 6.2 commands)"
            ),
        );
    }
    Check::fail(
        "server",
        ErrorCode::ServerUnsupported,
        format!(
            "{label} is not a server claude-mem-store knows by name, and it lacks what BullMQ's \
             queues need: {}. Use Valkey or Redis 6.2 or newer.",
            lacks.join("; ")
        ),
    )
}

/// For a server we do not know by name: asks COMMAND INFO (one more round trip),
/// puts the verdict in `health`'s `server` check and returns what it lacks. A
/// broken exchange counts as COMMAND INFO not answered.
pub async fn check(client: &mut Client, label: &str, health: &mut Health) -> Vec<String> {
    let reply = match ask(client, &command_info()).await {
        Ok(reply) => reply,
        Err(e) => error_reply(&format!("the exchange broke ({e})")),
    };
    judge(health, label, &reply)
}

/// One command's reply, an error reply included: a pipeline keeps it as a value
/// ("unknown command" is an answer). Only a broken exchange is an `Err`.
async fn ask(client: &mut Client, cmd: &redis::Cmd) -> ClientResult<Value> {
    let mut pipe = redis::pipe();
    pipe.add_command(cmd.clone());
    let replies = client.pipeline(&pipe).await?;
    Ok(replies.into_iter().next().unwrap_or(Value::Nil))
}

/// Puts the verdict on `health`, given COMMAND INFO's `reply`; returns what the
/// server lacks.
fn judge(health: &mut Health, label: &str, reply: &Value) -> Vec<String> {
    let lacks = unmet(health, &missing_commands(reply));
    let verdict = server_check(label, &lacks);
    match health.checks.iter_mut().find(|c| c.name == "server") {
        Some(server) => *server = verdict,
        None => health.checks.push(verdict),
    }
    lacks
}

/// The health checks and COMMAND INFO asked one command at a time, each on a live
/// connection, for a server that closes the connection at a command it lacks
/// (FeOx 0.7.0 does at EVAL), where the one-pipeline check loses every reply.
/// `None` unless INFO names a server we do not know by name: any other server's
/// broken exchange, and a server whose INFO says nothing, is reported as it is.
/// Only called after such a break.
pub async fn one_by_one(target: &Target<'_>, deadline: Instant) -> Option<Health> {
    let mut conn: Option<Client> = None;
    let mut replies = Vec::new();
    for cmd in health::commands().into_iter().chain([command_info()]) {
        replies.push(ask_alone(&mut conn, target, &cmd, deadline).await);
    }
    let (health_replies, command_info_reply) = replies.split_at(health::COMMANDS);
    let mut health = health::evaluate(health_replies);
    // Only a server that named itself.
    health.info.name.as_ref()?;
    let label = health.info.label();
    judge(&mut health, &label, &command_info_reply[0]);
    Some(health)
}

/// One command on `conn`, connecting (again) if there is none. A broken exchange
/// becomes an error reply and drops the connection, so the next command gets a
/// new one.
async fn ask_alone(
    conn: &mut Option<Client>,
    target: &Target<'_>,
    cmd: &redis::Cmd,
    deadline: Instant,
) -> Value {
    let left = deadline.saturating_duration_since(Instant::now());
    if conn.is_none() {
        *conn = Client::connect_with_ca(target.endpoint, target.ca_pem, left)
            .await
            .ok();
    }
    let Some(client) = conn.as_mut() else {
        return error_reply("the server could not be reached again after closing the connection");
    };
    client.set_timeout(left);
    match ask(client, cmd).await {
        Ok(reply) => reply,
        Err(e) => {
            *conn = None;
            error_reply(&format!(
                "the server closed the connection at this command ({e})"
            ))
        }
    }
}

/// An error reply, as if the server had sent `-ERR <text>`.
fn error_reply(text: &str) -> Value {
    let line = format!("-ERR {}\r\n", text.replace(['\r', '\n'], " "));
    redis::parse_redis_value(line.as_bytes()).unwrap_or(Value::Nil)
}

#[cfg(test)]
mod tests;
