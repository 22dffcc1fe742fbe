//! Which server last ran the store's data: `redis/data/claude-mem-server.json`,
//! written after every start. A newer server (or another fork: Valkey 9 and Redis
//! 7.4+ each write RDB versions the other cannot read) leaves data an older one
//! cannot load, and the older one's own advice then is to "fix" the file. So the
//! store prefers the binary that last ran it, and when another one cannot read the
//! data it says which server wrote it and what to run instead. The record lives
//! beside the data it describes, so it goes only when the data does.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::files::{read_capped, write_replacing_volatile};
use crate::server::binary::{BinarySource, ServerBinary};
use crate::server::flavor::Flavor;
use crate::settings::paths::StorePaths;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastServer {
    pub binary: PathBuf,
    pub flavor: Flavor,
    pub version: String,
    /// The Valkey bundled in a claude-mem-store platform package (this one's, or an
    /// earlier install's still on disk). Absent from records written before it was
    /// kept: `was_bundled` then tells by where the binary sits.
    #[serde(default)]
    pub bundled: bool,
    /// The name a server we do not know by name gave in `--version` (`KeyDB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl LastServer {
    pub fn of(binary: &ServerBinary) -> LastServer {
        LastServer {
            binary: binary.path.clone(),
            flavor: binary.flavor,
            version: binary.version.clone(),
            bundled: binary.source == BinarySource::Bundled,
            name: binary.name.clone(),
        }
    }

    /// Whether the remembered server is a bundled build: recorded so, or (a record
    /// from before the flag) a `valkey/valkey-server` with its build record
    /// `valkey-server.json` beside it, in a platform package with its `.node`.
    pub fn was_bundled(&self) -> bool {
        self.bundled || looks_bundled(&self.binary)
    }

    /// e.g. `valkey 9.1.2`, `KeyDB 6.3.4`.
    pub fn label(&self) -> String {
        crate::server::flavor::label(self.flavor, self.name.as_deref(), &self.version)
    }

    /// e.g. `valkey 9.1.2 (/usr/bin/valkey-server)`.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.label(), self.binary.display())
    }

    /// Whether `binary` is the same server (same flavor, name and version; the path
    /// may differ).
    pub fn is_same_server(&self, binary: &ServerBinary) -> bool {
        self.flavor == binary.flavor && self.name == binary.name && self.version == binary.version
    }
}

/// The record, if there is a readable one (anything else is as good as none).
pub fn read(paths: &StorePaths) -> Option<LastServer> {
    let bytes = read_capped(&paths.last_server_file, 64 * 1024).ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// Records `binary` as the server that runs the data now. Not synced: after a
/// machine crash the record of the last start may be lost, never the data.
pub fn write(paths: &StorePaths, binary: &ServerBinary) -> Result<()> {
    let json = serde_json::to_vec_pretty(&LastServer::of(binary)).unwrap_or_default();
    write_replacing_volatile(&paths.last_server_file, &json, Some(0o600))
}

/// The remembered binary, if it is still there to run.
pub fn still_installed(last: &LastServer) -> Option<&Path> {
    is_file(&last.binary).then_some(last.binary.as_path())
}

/// The layout of a platform package: `<pkg>/valkey/valkey-server` beside
/// `<pkg>/valkey/valkey-server.json`, and `<pkg>/claude-mem-store.<platform>.node`.
fn looks_bundled(binary: &Path) -> bool {
    let Some(valkey_dir) = binary.parent() else {
        return false;
    };
    let Some(package) = valkey_dir.parent() else {
        return false;
    };
    let has_addon = || {
        std::fs::read_dir(package).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("claude-mem-store.") && name.ends_with(".node")
            })
        })
    };
    binary.file_name().is_some_and(|n| n == "valkey-server")
        && valkey_dir.file_name().is_some_and(|n| n == "valkey")
        && is_file(&valkey_dir.join("valkey-server.json"))
        && has_addon()
}

fn is_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

/// What a server says when it cannot load data in a format it does not know.
/// `certain`: only an unknown format can mean this; otherwise (a "bad file format")
/// it may also be a damaged file, which only the record can tell apart.
pub fn unreadable_data(log: &str) -> Option<(bool, String)> {
    const CERTAIN: [&str; 2] = ["Can't handle RDB format version", "Unrecognized RDB"];
    const AMBIGUOUS: [&str; 2] = [
        "Bad file format reading the append only file",
        // An RDB whose magic the server does not know (Redis, Redict and Valkey < 9
        // given Valkey 9's `VALKEY080` dump.rdb), or a damaged one.
        "Wrong signature trying to load DB from file",
    ];
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .map(|l| l.trim().to_string())
    };
    CERTAIN
        .iter()
        .find_map(|n| line(n).map(|l| (true, l)))
        .or_else(|| AMBIGUOUS.iter().find_map(|n| line(n).map(|l| (false, l))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_what_servers_say_about_data_they_cannot_read() {
        // redis 7.0.15 given valkey 9.1.2's data (measured here).
        let redis70 = "2741:M 28 Nov 2026 07:48:20.102 # Bad file format reading the append only file appendonly.aof.2.base.rdb: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>";
        let (certain, line) = unreadable_data(redis70).unwrap();
        assert!(!certain);
        assert!(line.contains("appendonly.aof.2.base.rdb"));
        let rdb = "1:M 01 Jan 2026 00:00:00.000 # Can't handle RDB format version 80";
        assert!(unreadable_data(rdb).unwrap().0);
        let magic = "7:M 06 Dec 2026 04:00:00.000 # Wrong signature trying to load DB from file";
        assert!(
            !unreadable_data(magic).unwrap().0,
            "ambiguous: maybe a damaged file"
        );
        assert_eq!(unreadable_data("Ready to accept connections"), None);
    }

    #[test]
    fn the_record_round_trips_and_garbage_is_no_record() {
        let d = std::env::temp_dir().join(format!("cms-last-{}", std::process::id()));
        let paths = StorePaths::new(&d);
        std::fs::create_dir_all(&paths.server_data_dir).unwrap();
        assert_eq!(read(&paths), None);
        let b = ServerBinary::known(
            Path::new("/usr/bin/valkey-server"),
            Flavor::Valkey,
            "9.1.2".into(),
            crate::server::binary::BinarySource::System,
        );
        write(&paths, &b).unwrap();
        let last = read(&paths).unwrap();
        assert!(last.is_same_server(&b));
        assert_eq!(last.describe(), "valkey 9.1.2 (/usr/bin/valkey-server)");
        assert!(!last.was_bundled());
        std::fs::write(&paths.last_server_file, "{garbage").unwrap();
        assert_eq!(read(&paths), None);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_record_from_before_the_bundled_flag_still_reads() {
        let old = r#"{"binary":"/usr/bin/valkey-server","flavor":"valkey","version":"8.0.1"}"#;
        let last: LastServer = serde_json::from_str(old).unwrap();
        assert!(!last.bundled);
        let bundled = LastServer {
            bundled: true,
            ..last
        };
        let text = serde_json::to_string(&bundled).unwrap();
        assert!(text.contains("\"bundled\":true"), "{text}");
        assert!(
            serde_json::from_str::<LastServer>(&text)
                .unwrap()
                .was_bundled()
        );
    }

    #[test]
    fn an_older_record_of_a_bundled_server_is_told_by_its_place_in_a_platform_package() {
        let d = std::env::temp_dir().join(format!("cms-last-pkg-{}", std::process::id()));
        let valkey = d.join("valkey");
        std::fs::create_dir_all(&valkey).unwrap();
        std::fs::write(valkey.join("valkey-server"), "").unwrap();
        let last = LastServer {
            binary: valkey.join("valkey-server"),
            flavor: Flavor::Valkey,
            version: "8.1.1".into(),
            bundled: false,
            name: None,
        };
        assert!(!last.was_bundled(), "no build record, no addon");
        std::fs::write(valkey.join("valkey-server.json"), "{}").unwrap();
        assert!(!last.was_bundled(), "no addon beside it");
        std::fs::write(d.join("claude-mem-store.linux-x64-gnu.node"), "").unwrap();
        assert!(last.was_bundled());
        std::fs::remove_dir_all(d).unwrap();
    }
}
