//! What kind of server a binary or a running server is: Valkey, Redis, Redict (a
//! Redis 7.2 fork, managed like Redis) or Dragonfly, and which version — read from
//! `--version` lines here, from `INFO` in `checks::server_info`. A server we do not
//! know by name (KeyDB, say) is `Unknown`, with the name it gives itself: it is
//! used only once it has shown what the store needs (`checks::requirements`).

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

/// What the servers we know by name call themselves, lowercase.
const KNOWN_NAMES: [&str; 4] = ["valkey", "redis", "redict", "dragonfly"];

/// Whether `name` (lowercase, without `-server`) is a server we know by name.
pub fn is_known_name(name: &str) -> bool {
    KNOWN_NAMES.contains(&name)
}

/// Whether `name`, as a server gives it, may name it in our messages and results:
/// 1–64 characters of `A-Z a-z 0-9 - _ .` (nothing a terminal or a shell reads).
pub fn is_server_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// `valkey 9.1.2`; for a server we do not know by name, the name it gives itself
/// (`KeyDB 6.3.4`).
pub fn label(flavor: Flavor, name: Option<&str>, version: &str) -> String {
    let name = name.unwrap_or(flavor.as_str());
    format!("{name} {version}").trim_end().to_string()
}

/// What a server we do not know by name says it is, from `--version`: `(name,
/// version)`. Two shapes are recognised, both of which name a *server*, so that an
/// arbitrary program (`bash --version`) is never mistaken for one and started:
/// - the Redis family's `<Name> server v=<version> sha=…` (KeyDB and other forks);
/// - `<name>-server <version>` or `<name>-server v<version>` (as clap prints it,
///   e.g. `feox-server 0.7.0`).
///
/// A server that calls itself Valkey, Redis, Redict or Dragonfly is not unknown:
/// if `parse_version` could not read its line (`v=9.0.0-rc1`), it is refused.
pub fn parse_unknown_version(text: &str) -> Option<(String, String)> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut words = line.split_whitespace();
    let first = words.next()?;
    let second = words.next()?;
    let (name, version) = if second == "server" {
        let version = words.find_map(|w| w.strip_prefix("v="))?;
        (first, version)
    } else if first.len() > "-server".len() && first.to_ascii_lowercase().ends_with("-server") {
        (first, second.strip_prefix('v').unwrap_or(second))
    } else {
        return None;
    };
    // `1.2.3-rc1` and `1.2.3+build` compare as 1.2.3.
    let version = version.split(['-', '+']).next().unwrap_or_default();
    let base = name.to_ascii_lowercase();
    let known = is_known_name(base.strip_suffix("-server").unwrap_or(&base));
    (is_server_name(name) && !known && version_key(version).is_some())
        .then(|| (name.to_string(), version.to_string()))
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
    fn names_servers_we_do_not_know() {
        let keydb =
            "KeyDB server v=6.3.4 sha=7e7e5e57:0 malloc=jemalloc-5.2.1 bits=64 build=2aa1d8c4";
        assert_eq!(parse_version(keydb), None);
        assert_eq!(
            parse_unknown_version(keydb),
            Some(("KeyDB".into(), "6.3.4".into()))
        );
        assert_eq!(
            parse_unknown_version("ember-server 0.4.9\n"),
            Some(("ember-server".into(), "0.4.9".into()))
        );
        assert_eq!(
            parse_unknown_version("feox-server v0.7.0-beta.1"),
            Some(("feox-server".into(), "0.7.0".into()))
        );
        // Programs that are not servers, and servers that give no version.
        for text in [
            "GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)",
            "",
            "-server 1.0",
            "ember-server",
            "ember-server unreleased",
            "Some server without a version",
            "$(rm) server v=1.0",
            // Known names with a version parse_version cannot read: refused, not unknown.
            "Valkey server v=9.0.0-rc1 sha=0",
            "redis-server 7.2.4-custom",
        ] {
            assert_eq!(parse_unknown_version(text), None, "{text:?}");
        }
    }

    #[test]
    fn versions_order_numerically() {
        assert!(version_key("7.10.0") > version_key("7.9.9"));
        assert_eq!(version_key("x"), None);
    }
}
