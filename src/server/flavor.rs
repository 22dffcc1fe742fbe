//! What kind of server a binary or a running server is: Valkey, Redis, Redict (a
//! Redis 7.2 fork, managed like Redis) or Dragonfly, and which version — read from
//! `--version` lines here, from `INFO` in `checks::server_info`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Valkey,
    Redis,
    Redict,
    Dragonfly,
    Unknown,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Valkey => "valkey",
            Flavor::Redis => "redis",
            Flavor::Redict => "redict",
            Flavor::Dragonfly => "dragonfly",
            Flavor::Unknown => "unknown",
        }
    }
}

/// `Valkey server v=8.0.1 sha=…` / `Redis server v=7.0.15 sha=…` /
/// `Redict server v=7.3.6 sha=…`.
pub fn parse_version(text: &str) -> Option<(Flavor, String)> {
    let line = text.lines().find(|l| l.contains(" v="))?;
    let flavor = if line.starts_with("Valkey") {
        Flavor::Valkey
    } else if line.starts_with("Redis") {
        Flavor::Redis
    } else if line.starts_with("Redict") {
        Flavor::Redict
    } else {
        return None;
    };
    let version = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("v="))?
        .to_string();
    version_key(&version).map(|_| (flavor, version))
}

/// `"7.0.15"` → `[7, 0, 15]` for ordering; `None` if it is not a version.
pub fn version_key(v: &str) -> Option<Vec<u32>> {
    let parts: Option<Vec<u32>> = v.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_version_lines() {
        assert_eq!(
            parse_version(
                "Valkey server v=8.0.1 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=1"
            ),
            Some((Flavor::Valkey, "8.0.1".into()))
        );
        assert_eq!(
            parse_version("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0"),
            Some((Flavor::Redis, "7.0.15".into()))
        );
        assert_eq!(
            parse_version(
                "Redict server v=7.3.6 sha=00000000:0 malloc=jemalloc-5.3.1 bits=64 build=1"
            ),
            Some((Flavor::Redict, "7.3.6".into()))
        );
        assert_eq!(parse_version("bash, version 5"), None);
        assert_eq!(parse_version("Redis server v=garbage"), None);
    }

    #[test]
    fn versions_order_numerically() {
        assert!(version_key("7.10.0") > version_key("7.9.9"));
        assert_eq!(version_key("x"), None);
    }
}
