//! Reading `INFO` replies: which server this is, which version, and the facts we
//! check ownership and readiness against. A server we do not know by name is
//! named from what its INFO says about itself: a `server_name` line, a
//! `<name>_version` line (`ember_version:0.4.9`), or a `redis_version` that is not
//! a number (`redis_version:feox-0.7.0`).

use std::collections::HashMap;

use crate::server::flavor::{Flavor, is_known_name, is_server_name, label, version_key};

pub fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub flavor: Flavor,
    pub version: String,
    /// The name a server we do not know by name gives itself; set only then
    /// (`flavor` is `Unknown`), so `name.is_some()` is the test for such a server. A server whose INFO carries nothing but a numeric
    /// `redis_version` (KeyDB does this) reads as Redis of that version.
    pub name: Option<String>,
    pub run_id: String,
    pub process_id: Option<u32>,
    pub config_file: String,
    /// The server's binary (`executable`, Redis ≥ 5).
    pub executable: String,
    /// `INFO persistence` → `loading:1` while the AOF/RDB is still being read.
    pub loading: bool,
}

impl ServerInfo {
    pub fn from_info(fields: &HashMap<String, String>) -> ServerInfo {
        let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
        // Valkey reports `redis_version` too (for compatibility) plus its own fields.
        let (flavor, version) = if let Some(v) = fields.get("valkey_version") {
            (Flavor::Valkey, v.clone())
        } else if fields.get("server_name").map(String::as_str) == Some("valkey") {
            (Flavor::Valkey, get("redis_version"))
        } else if let Some(v) = fields.get("redict_version") {
            // Redict also reports `redis_version:7.2.4`, the Redis it forked from.
            (Flavor::Redict, v.clone())
        } else if let Some(v) = fields.get("dragonfly_version") {
            (Flavor::Dragonfly, v.trim_start_matches("df-v").to_string())
        } else if let Some((name, v)) = unknown_server(fields) {
            return ServerInfo {
                name: Some(name),
                ..ServerInfo::with(Flavor::Unknown, v, fields)
            };
        } else if let Some(v) = fields.get("redis_version") {
            (Flavor::Redis, v.clone())
        } else {
            (Flavor::Unknown, String::new())
        };
        ServerInfo::with(flavor, version, fields)
    }

    /// `valkey 9.1.2`; for a server we do not know by name, the name it gives
    /// itself (`ember 0.4.9`).
    pub fn label(&self) -> String {
        label(self.flavor, self.name.as_deref(), &self.version)
    }

    fn with(flavor: Flavor, version: String, fields: &HashMap<String, String>) -> ServerInfo {
        let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
        ServerInfo {
            flavor,
            version,
            name: None,
            run_id: get("run_id"),
            process_id: fields.get("process_id").and_then(|p| p.parse().ok()),
            config_file: get("config_file"),
            executable: get("executable"),
            loading: get("loading") == "1",
        }
    }
}

/// Fields that end in `_version` without naming the server.
const NOT_A_SERVER_NAME: [&str; 9] = [
    "redis", "gcc", "lua", "openssl", "ssl", "tls", "glibc", "jemalloc", "rdb",
];

/// `(name, version)` of a server we do not know by name, from its INFO. Only when
/// `redis_version` is missing or not a number: a numeric one makes it Redis of
/// that version, whatever else its INFO says (a cloud service's own `*_version`
/// field must not put a Redis under a stranger's rules).
fn unknown_server(fields: &HashMap<String, String>) -> Option<(String, String)> {
    let redis_version = fields.get("redis_version");
    if redis_version.is_some_and(|v| version_key(v).is_some()) {
        return None;
    }
    let own_version = || {
        let mut named: Vec<(&String, &String)> = fields
            .iter()
            .filter_map(|(k, v)| Some((k, v)).filter(|_| k.ends_with("_version")))
            .filter(|(k, _)| !NOT_A_SERVER_NAME.contains(&k.trim_end_matches("_version")))
            .collect();
        named.sort();
        named
            .first()
            .map(|(k, v)| (k.trim_end_matches("_version").to_string(), v.to_string()))
    };
    let (name, version) = match fields.get("server_name").filter(|n| !is_known_name(n)) {
        Some(name) => (
            name.clone(),
            fields
                .get(&format!("{name}_version"))
                .or(fields.get("redis_version"))?
                .clone(),
        ),
        None => match own_version() {
            Some(found) => found,
            // `redis_version:feox-0.7.0`: a name before the number.
            None => {
                let (name, version) = redis_version?.rsplit_once('-')?;
                (name.to_string(), version.to_string())
            }
        },
    };
    let version = version.trim_start_matches('v').to_string();
    (is_server_name(&name) && version_key(&version).is_some()).then_some((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_valkey_redis_and_dragonfly() {
        let valkey = "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\nrun_id:abc\r\nprocess_id:42\r\nconfig_file:/d/redis.conf\r\n# Persistence\r\nloading:0\r\n";
        let i = ServerInfo::from_info(&parse_info(valkey));
        assert_eq!((i.flavor, i.version.as_str()), (Flavor::Valkey, "8.0.1"));
        assert_eq!(i.run_id, "abc");
        assert_eq!(i.process_id, Some(42));
        assert_eq!(i.config_file, "/d/redis.conf");
        assert!(!i.loading);

        let redis = "redis_version:7.0.15\r\nrun_id:x\r\nloading:1\r\n";
        let i = ServerInfo::from_info(&parse_info(redis));
        assert_eq!((i.flavor, i.version.as_str()), (Flavor::Redis, "7.0.15"));
        assert!(i.loading);

        let df = "redis_version:7.4.0\r\ndragonfly_version:df-v1.21.2\r\n";
        let i = ServerInfo::from_info(&parse_info(df));
        assert_eq!(
            (i.flavor, i.version.as_str()),
            (Flavor::Dragonfly, "1.21.2")
        );

        // Redict 7.3.6 (Debian sid), as it answers: no server_name line.
        let redict = "# Server\r\nredict_version:7.3.6\r\nredict_git_sha1:00000000\r\nredict_mode:standalone\r\nredis_version:7.2.4\r\nprocess_id:7\r\n";
        let i = ServerInfo::from_info(&parse_info(redict));
        assert_eq!((i.flavor, i.version.as_str()), (Flavor::Redict, "7.3.6"));
        // Redis 8 has no server_name line either: redis_version alone says it.
        let redis8 = "# Server\r\nredis_version:8.6.3\r\nredis_mode:standalone\r\n";
        let i = ServerInfo::from_info(&parse_info(redis8));
        assert_eq!((i.flavor, i.version.as_str()), (Flavor::Redis, "8.6.3"));

        let i = ServerInfo::from_info(&parse_info("garbage"));
        assert_eq!(i.flavor, Flavor::Unknown);
    }

    #[test]
    fn names_servers_we_do_not_know_from_their_info() {
        let named = |text: &str| {
            let i = ServerInfo::from_info(&parse_info(text));
            (i.flavor, i.name, i.version)
        };
        // As ember-server 0.4.9 and feox-server 0.7.0 answer (crates.io builds).
        assert_eq!(
            named("# Server\r\nember_version:0.4.9\r\nprocess_id:9\r\n"),
            (Flavor::Unknown, Some("ember".into()), "0.4.9".into())
        );
        assert_eq!(
            named("# Server\r\nredis_version:feox-0.7.0\r\nredis_mode:standalone\r\n"),
            (Flavor::Unknown, Some("feox".into()), "0.7.0".into())
        );
        assert_eq!(
            named("server_name:kiwi\r\nkiwi_version:2.1\r\n"),
            (Flavor::Unknown, Some("kiwi".into()), "2.1".into())
        );
        // A numeric redis_version is Redis, whatever else INFO says.
        assert_eq!(
            named("redis_version:7.2.4\r\nvendor_version:1.0\r\nserver_name:kiwi\r\n"),
            (Flavor::Redis, None, "7.2.4".into())
        );
        // A gcc_version line names no server; KeyDB's INFO reads as Redis.
        assert_eq!(
            named("redis_version:6.3.4\r\ngcc_version:12.2.0\r\n"),
            (Flavor::Redis, None, "6.3.4".into())
        );
        // A name that is not one, or no version: not named.
        assert_eq!(named("redis_version:$(x)-1.0\r\n").1, None);
        assert_eq!(named("foo_version:soon\r\n").1, None);
    }
}
