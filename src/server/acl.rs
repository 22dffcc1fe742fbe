//! The store's two ACL users.
//!
//! The client password is written to settings.json, which claude-mem's worker
//! serves unmasked and unauthenticated on loopback (`GET /api/settings`): any local
//! process can read it. So it belongs to a user that may run only what BullMQ 5
//! and 6 (through ioredis, node-redis or Bun's client) and claude-mem's queue code
//! send — its Lua scripts included, since a script's `redis.call` is checked
//! against the calling user too. That user is `default`, the one a password-only
//! `AUTH` (every `redis://:password@…` URL) logs in as, so the URL claude-mem
//! already has keeps working. The addon itself logs in as `claude-mem-store`
//! with a second secret that never leaves the data dir.
//!
//! The allow-list is derived in docs/notes/acl-client-user.md and checked by
//! __test__/acl.test.mjs on every server flavor in the matrix: BullMQ 5 and 6 run
//! real jobs through it, and every command in [`REFUSED`] answers NOPERM.

use crate::server::flavor::{Flavor, version_key};

/// The addon's own user: every command, every key.
pub const ADMIN_USER: &str = "claude-mem-store";
/// The client's user: the one a password-only `AUTH` logs in as.
pub const CLIENT_USER: &str = "default";

/// What the client user may run, each with the first Redis version that has it
/// (`ACL SETUSER` refuses a command the server does not know). Subcommands are
/// `command|sub`.
///
/// Exactly the commands BullMQ 5 and 6 send (their Lua scripts' `rcall`s and
/// their clients' own calls, BullMQ 6's Relay included), ioredis and node-redis
/// at connect, and claude-mem's queue code; nothing "just in case". `KEYS` in
/// particular stays out: an O(N) scan that blocks the server, which BullMQ never
/// sends (it uses `SCAN`). `AUTH`, `HELLO`, `QUIT` and `RESET` need no entry: a
/// server allows them to every user.
const ALLOWED: &[(&str, [u16; 2])] = &[
    // Connection: node-redis's CLIENT SETINFO at connect, BullMQ's worker names,
    // Relay's db number (CLIENT INFO).
    ("ping", [6, 2]),
    ("client|setname", [6, 2]),
    ("client|info", [6, 2]),
    ("client|list", [6, 2]),
    ("client|setinfo", [7, 2]),
    // BullMQ reads the server's version and memory policy from INFO.
    ("info", [6, 2]),
    ("time", [6, 2]),
    // Lua: BullMQ loads its scripts and runs them (ioredis's defineCommand).
    ("eval", [6, 2]),
    ("evalsha", [6, 2]),
    ("script|load", [6, 2]),
    // Transactions (ioredis's multi(); BullMQ watches nothing).
    ("multi", [6, 2]),
    ("exec", [6, 2]),
    // Keys.
    ("del", [6, 2]),
    ("unlink", [6, 2]),
    ("exists", [6, 2]),
    ("type", [6, 2]),
    ("pexpire", [6, 2]),
    ("pexpireat", [6, 2]),
    ("pttl", [6, 2]),
    ("persist", [6, 2]),
    ("rename", [6, 2]),
    ("scan", [6, 2]),
    // Strings.
    ("get", [6, 2]),
    ("set", [6, 2]),
    ("incr", [6, 2]),
    ("incrby", [6, 2]),
    // Hashes.
    ("hget", [6, 2]),
    ("hset", [6, 2]),
    ("hmset", [6, 2]),
    ("hmget", [6, 2]),
    ("hgetall", [6, 2]),
    ("hdel", [6, 2]),
    ("hexists", [6, 2]),
    ("hincrby", [6, 2]),
    ("hlen", [6, 2]),
    ("hscan", [6, 2]),
    // Lists: wait, active, paused (BullMQ 5 workers block on a marker, not a list).
    ("lpush", [6, 2]),
    ("rpush", [6, 2]),
    ("lpop", [6, 2]),
    ("rpop", [6, 2]),
    ("lrange", [6, 2]),
    ("llen", [6, 2]),
    ("lrem", [6, 2]),
    ("lindex", [6, 2]),
    ("lset", [6, 2]),
    ("ltrim", [6, 2]),
    ("lpos", [6, 2]),
    ("rpoplpush", [6, 2]),
    // Sets.
    ("sadd", [6, 2]),
    ("srem", [6, 2]),
    ("smembers", [6, 2]),
    ("sismember", [6, 2]),
    ("scard", [6, 2]),
    ("sscan", [6, 2]),
    // Sorted sets: delayed, prioritized, completed, failed, rate limits, markers.
    ("zadd", [6, 2]),
    ("zrem", [6, 2]),
    ("zcard", [6, 2]),
    ("zcount", [6, 2]),
    ("zscore", [6, 2]),
    ("zrange", [6, 2]),
    ("zrevrange", [6, 2]),
    ("zrangebyscore", [6, 2]),
    ("zrevrangebyscore", [6, 2]),
    ("zrangebylex", [6, 2]),
    ("zlexcount", [6, 2]),
    ("zremrangebyscore", [6, 2]),
    ("zremrangebyrank", [6, 2]),
    ("zpopmin", [6, 2]),
    ("bzpopmin", [6, 2]),
    // Streams: QueueEvents.
    ("xadd", [6, 2]),
    ("xread", [6, 2]),
    ("xrange", [6, 2]),
    ("xlen", [6, 2]),
    ("xtrim", [6, 2]),
    ("xdel", [6, 2]),
];

/// What the client user must never run: the commands a leaked password must not
/// reach (rewriting the server, its data as a whole, other clients, replication).
/// The test checks that each answers NOPERM. None is in [`ALLOWED`].
pub const REFUSED: &[&str] = &[
    "RESTORE",
    "MIGRATE",
    "DEBUG",
    "MODULE",
    "CONFIG SET",
    "CONFIG REWRITE",
    "CONFIG RESETSTAT",
    "CONFIG GET",
    "REPLICAOF",
    "SLAVEOF",
    "SYNC",
    "PSYNC",
    "SHUTDOWN",
    "ACL",
    "FLUSHALL",
    "FLUSHDB",
    "CLIENT KILL",
    "MONITOR",
    "SAVE",
    "BGSAVE",
    "BGREWRITEAOF",
    "SCRIPT FLUSH",
    "SCRIPT KILL",
    "FUNCTION",
    "SWAPDB",
    "FAILOVER",
    "KEYS",
];

/// The top-level commands of [`ALLOWED`] that a server of `level` has
/// (`client|setname` counts as `client`), lowercase, each once: the command set
/// BullMQ and its clients need, which a server we do not know by name must show
/// (`checks::requirements`).
pub fn commands_at(level: [u16; 2]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for (command, since) in ALLOWED {
        let top = command.split('|').next().unwrap_or(command);
        if *since <= level && !names.contains(&top) {
            names.push(top);
        }
    }
    names
}

/// Whether a server has the ACL features the two users need (`&*` channel rules:
/// Redis 6.2). Valkey and Redict descend from Redis 7.2.
pub fn supported(flavor: Flavor, version: &str) -> bool {
    level(flavor, version).is_some()
}

/// The Redis command set a server has, as `[major, minor]`; `None` below 6.2.
/// A server we do not know by name is held to 6.2's: the store runs on one only
/// once it has shown that set (`checks::requirements`), and one that does not
/// read these users from its config never starts.
fn level(flavor: Flavor, version: &str) -> Option<[u16; 2]> {
    let level = match flavor {
        Flavor::Valkey | Flavor::Redict => [7, 2],
        Flavor::Unknown => [6, 2],
        Flavor::Redis => {
            let v = version_key(version)?;
            let part = |i: usize| {
                v.get(i)
                    .map_or(0, |&n| u16::try_from(n).unwrap_or(u16::MAX))
            };
            [part(0), part(1)]
        }
        Flavor::Dragonfly => return None,
    };
    (level >= [6, 2]).then_some(level)
}

/// The client user's rules after its password: every key and channel (one
/// tenant), no command but those allowed on this server.
pub fn client_rules(flavor: Flavor, version: &str) -> Option<Vec<String>> {
    let level = level(flavor, version)?;
    let mut rules = vec!["~*".to_string(), "&*".to_string(), "-@all".to_string()];
    rules.extend(
        ALLOWED
            .iter()
            .filter(|(_, since)| *since <= level)
            .map(|(cmd, _)| format!("+{cmd}")),
    );
    Some(rules)
}

/// The admin user's rules after its password.
pub fn admin_rules() -> Vec<String> {
    ["~*", "&*", "+@all"].map(String::from).to_vec()
}

/// The config file's `user` lines for both users, or `None` when the server has
/// no ACLs fit for them (then the config sets one password with `requirepass`).
pub fn config_lines(
    flavor: Flavor,
    version: &str,
    client_secret: &str,
    admin_secret: &str,
) -> Option<String> {
    let client = client_rules(flavor, version)?;
    Some(format!(
        "user {CLIENT_USER} on >{client_secret} {}\nuser {ADMIN_USER} on >{admin_secret} {}\n",
        client.join(" "),
        admin_rules().join(" ")
    ))
}

/// `ACL SETUSER` arguments giving a running server the admin user.
pub fn setuser_admin(admin_secret: &str) -> Vec<String> {
    let mut args = vec![
        "SETUSER".to_string(),
        ADMIN_USER.to_string(),
        "reset".into(),
        "on".into(),
        format!(">{admin_secret}"),
    ];
    args.extend(admin_rules());
    args
}

/// `ACL SETUSER` arguments restricting a running server's client user. Its
/// password stays; connections logged in as it stay open and are restricted at
/// their next command.
pub fn setuser_client(flavor: Flavor, version: &str, client_secret: &str) -> Option<Vec<String>> {
    let mut args = vec![
        "SETUSER".to_string(),
        CLIENT_USER.to_string(),
        "reset".into(),
        "on".into(),
        format!(">{client_secret}"),
    ];
    args.extend(client_rules(flavor, version)?);
    Some(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_refused_is_allowed() {
        for refused in REFUSED {
            let as_rule = refused.to_lowercase().replace(' ', "|");
            let head = as_rule.split('|').next().unwrap();
            assert!(
                !ALLOWED
                    .iter()
                    .any(|(cmd, _)| *cmd == as_rule || *cmd == head),
                "{refused} is both allowed and refused"
            );
        }
    }

    #[test]
    fn rules_follow_the_server_version() {
        let redis70 = client_rules(Flavor::Redis, "7.0.15").unwrap();
        assert!(redis70.contains(&"+zlexcount".to_string()));
        assert!(!redis70.contains(&"+keys".to_string()));
        assert!(!redis70.contains(&"+client|setinfo".to_string()));
        let valkey = client_rules(Flavor::Valkey, "8.1.1").unwrap();
        assert!(valkey.contains(&"+client|setinfo".to_string()));
        assert_eq!(&valkey[..3], ["~*", "&*", "-@all"]);
        assert!(client_rules(Flavor::Redis, "6.0.16").is_none());
        assert!(client_rules(Flavor::Redis, "5.0.7").is_none());
        assert!(client_rules(Flavor::Redis, "6.2.0").is_some());
    }

    #[test]
    fn config_lines_name_both_users() {
        let lines = config_lines(Flavor::Valkey, "8.1.1", "c1", "a2").unwrap();
        let mut it = lines.lines();
        assert!(
            it.next()
                .unwrap()
                .starts_with("user default on >c1 ~* &* -@all +ping +client|setname")
        );
        assert_eq!(
            it.next().unwrap(),
            "user claude-mem-store on >a2 ~* &* +@all"
        );
        assert!(config_lines(Flavor::Redis, "6.0.16", "c", "a").is_none());
    }
}
