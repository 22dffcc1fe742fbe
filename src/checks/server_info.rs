//! Reading `INFO` replies: which server this is, which version, and the facts we
//! check ownership and readiness against.

use std::collections::HashMap;

use crate::server::flavor::Flavor;

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
        } else if let Some(v) = fields.get("redis_version") {
            (Flavor::Redis, v.clone())
        } else {
            (Flavor::Unknown, String::new())
        };
        ServerInfo {
            flavor,
            version,
            run_id: get("run_id"),
            process_id: fields.get("process_id").and_then(|p| p.parse().ok()),
            config_file: get("config_file"),
            executable: get("executable"),
            loading: get("loading") == "1",
        }
    }
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
}
