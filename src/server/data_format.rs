//! Which servers can read the store's data, told from the data itself: the first
//! bytes of the RDB files in `redis/data` (the AOF's base, `dump.rdb`).
//!
//! Every RDB file starts with a magic and a version: `REDIS0011` (Redis 7.2, Valkey
//! 7.2–8.1), `REDIS0012` (Redis 7.4–8.2, and Redict 7.3's own), `REDIS0013` (Redis
//! 8.6), `VALKEY080` (Valkey 9.0 and later; the bundled server since 9.1.2). A server refuses a version newer than its
//! own, and the forks refuse each other's: Valkey keeps 12–79 as "foreign" and Redis
//! has never heard of the `VALKEY` magic. The refusal itself changes nothing, but
//! the server's advice with it is to run `check-aof --fix`, which cuts the data it
//! could not read. So before a server is started on the data, its header is read,
//! and a server that could not read it is not started at all.
//! `last_server.rs` records which server last ran the data; this is the fallback
//! when that record is gone (an older addon, a copied data dir).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::server::flavor::{Flavor, version_key};

/// An RDB header: the magic and the format version after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdbFormat {
    /// `REDIS` + four digits: Redis and every fork before Valkey 9.
    Redis(u32),
    /// `VALKEY` + three digits: Valkey 9.0 and later.
    Valkey(u32),
}

impl RdbFormat {
    /// `REDIS0011`, `VALKEY080`: how it appears in the file.
    pub fn describe(self) -> String {
        match self {
            RdbFormat::Redis(v) => format!("REDIS{v:04} (RDB {v})"),
            RdbFormat::Valkey(v) => format!("VALKEY{v:03} (RDB {v})"),
        }
    }

    /// Who writes this version, for messages (measured: the `SAVE` of each matrix
    /// server; Redis 8.4 was not among them).
    pub fn written_by(self) -> &'static str {
        match self {
            RdbFormat::Redis(..=10) => "Redis 7.0 or older",
            RdbFormat::Redis(11) => "Redis 7.2 or Valkey 7.2–8.1",
            RdbFormat::Redis(12) => "Redis 7.4–8.2 or Redict 7.3",
            RdbFormat::Redis(13) => "a Redis newer than 8.2",
            RdbFormat::Redis(_) => "a Redis newer than any this addon knows",
            RdbFormat::Valkey(80) => "Valkey 9",
            RdbFormat::Valkey(_) => "a Valkey newer than any this addon knows",
        }
    }

    /// Orders two headers by which is harder to read: a `VALKEY` one over any
    /// `REDIS` one, then the higher version.
    fn rank(self) -> (u8, u32) {
        match self {
            RdbFormat::Redis(v) => (0, v),
            RdbFormat::Valkey(v) => (1, v),
        }
    }
}

/// Reads the magic and version from a file's first nine bytes.
pub fn parse_header(head: &[u8]) -> Option<RdbFormat> {
    let digits = |b: &[u8]| -> Option<u32> {
        if b.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(b).ok()?.parse().ok()
        } else {
            None
        }
    };
    if let Some(rest) = head.strip_prefix(b"VALKEY") {
        return digits(rest.get(..3)?).map(RdbFormat::Valkey);
    }
    if let Some(rest) = head.strip_prefix(b"REDIS") {
        return digits(rest.get(..4)?).map(RdbFormat::Redis);
    }
    None
}

/// The files whose header says what the data needs: every `*.base.rdb` /
/// `*.base.aof` of the AOF (a `.base.aof` starts with an RDB preamble when it has
/// one; a plain AOF has no header and is read by every server) and `dump.rdb`.
fn candidate_files(server_data_dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![server_data_dir.join("dump.rdb")];
    if let Ok(entries) = std::fs::read_dir(server_data_dir.join("appendonlydir")) {
        files.extend(entries.flatten().map(|e| e.path()).filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".base."))
        }));
    }
    files.sort();
    files
}

/// The hardest-to-read format among the store's data files, with the file it is
/// in; `None` when there is no data yet or nothing carries an RDB header.
pub fn newest_in(server_data_dir: &Path) -> Option<(RdbFormat, PathBuf)> {
    candidate_files(server_data_dir)
        .into_iter()
        .filter_map(|path| {
            let mut head = [0u8; 9];
            let mut file = std::fs::File::open(&path).ok()?;
            file.read_exact(&mut head).ok()?;
            parse_header(&head).map(|f| (f, path))
        })
        .max_by_key(|(f, _)| f.rank())
}

/// Whether a server can load data in `format`: `Some(false)` only where that is
/// known for certain (the server refuses it, whatever its configuration);
/// `None` where this addon cannot tell (a format or server newer than it knows),
/// in which case the server is asked by starting it.
pub fn can_read(flavor: Flavor, version: &str, format: RdbFormat) -> Option<bool> {
    let v = version_key(version)?;
    let at_least = |want: [u32; 2]| v.as_slice() >= want.as_slice();
    match (flavor, format) {
        // Redict 7.3 writes 12 of its own; whether that is Redis 7.4's 12 is unknown.
        (Flavor::Redict, RdbFormat::Redis(r)) => match r {
            ..=11 => Some(true),
            12 => None,
            _ => Some(false),
        },
        (Flavor::Redict, RdbFormat::Valkey(_)) => Some(false),
        (Flavor::Redis, RdbFormat::Redis(r)) => {
            // What each Redis writes (and so reads up to): 7.0 10, 7.2 11, 7.4–8.2 12,
            // 8.6 13. Redis 8.4 and anything after 8.6 may read more than is known here.
            let max = if at_least([8, 6]) {
                13
            } else if at_least([7, 4]) {
                12
            } else if at_least([7, 2]) {
                11
            } else {
                10
            };
            if r <= max {
                Some(true)
            } else if at_least([8, 4]) && r <= 79 {
                None
            } else {
                Some(false)
            }
        }
        (Flavor::Redis, RdbFormat::Valkey(_)) => Some(false),
        // Valkey reads Redis's open formats up to 11 and refuses 12–79 ("foreign").
        (Flavor::Valkey, RdbFormat::Redis(r)) => Some(r <= 11),
        (Flavor::Valkey, RdbFormat::Valkey(r)) => {
            if !at_least([9, 0]) {
                Some(false)
            } else if r <= 80 {
                Some(true)
            } else {
                None
            }
        }
        (Flavor::Dragonfly | Flavor::Unknown, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_from_the_first_nine_bytes() {
        assert_eq!(parse_header(b"REDIS0011\xfa"), Some(RdbFormat::Redis(11)));
        assert_eq!(parse_header(b"REDIS0012"), Some(RdbFormat::Redis(12)));
        assert_eq!(parse_header(b"VALKEY080"), Some(RdbFormat::Valkey(80)));
        assert_eq!(parse_header(b"*2\r\n$6\r\nSELECT"), None, "a plain AOF");
        assert_eq!(parse_header(b"REDIS00x1"), None);
        assert_eq!(parse_header(b"VALK"), None);
        assert_eq!(RdbFormat::Valkey(80).describe(), "VALKEY080 (RDB 80)");
        assert_eq!(RdbFormat::Redis(11).describe(), "REDIS0011 (RDB 11)");
    }

    #[test]
    fn who_reads_what_as_the_servers_do() {
        use Flavor::*;
        let v80 = RdbFormat::Valkey(80);
        // Valkey 9's data: only Valkey 9+.
        assert_eq!(can_read(Valkey, "9.1.2", v80), Some(true));
        assert_eq!(can_read(Valkey, "9.0.0", v80), Some(true));
        assert_eq!(can_read(Valkey, "8.1.1", v80), Some(false));
        assert_eq!(can_read(Redis, "8.6.0", v80), Some(false));
        assert_eq!(can_read(Redict, "7.3.6", v80), Some(false));
        assert_eq!(can_read(Valkey, "9.1.2", RdbFormat::Valkey(81)), None);
        // Redis 7.4–8.2's data: Redis 7.4+ only; Valkey calls 12 foreign.
        let r12 = RdbFormat::Redis(12);
        assert_eq!(can_read(Redis, "7.4.2", r12), Some(true));
        assert_eq!(can_read(Redis, "7.2.4", r12), Some(false));
        assert_eq!(can_read(Valkey, "9.1.2", r12), Some(false));
        assert_eq!(can_read(Redict, "7.3.6", r12), None, "Redict's own 12");
        // Redis 8.6's 13: not Redis 8.2 (writes 12); Redis 8.4 unknown.
        let r13 = RdbFormat::Redis(13);
        assert_eq!(can_read(Redis, "8.6.3", r13), Some(true));
        assert_eq!(can_read(Redis, "8.2.3", r13), Some(false));
        assert_eq!(can_read(Redis, "8.4.0", r13), None);
        assert_eq!(can_read(Valkey, "9.1.2", r13), Some(false));
        assert_eq!(can_read(Redis, "8.6.3", RdbFormat::Redis(14)), None);
        // The common format: everyone but Redis 7.0.
        let r11 = RdbFormat::Redis(11);
        assert_eq!(can_read(Redis, "7.0.15", r11), Some(false));
        for (f, v) in [
            (Valkey, "8.0.1"),
            (Valkey, "9.1.2"),
            (Redis, "7.2.4"),
            (Redict, "7.3.6"),
        ] {
            assert_eq!(can_read(f, v, r11), Some(true), "{f:?} {v}");
        }
        assert_eq!(can_read(Dragonfly, "1.0", r11), None);
    }

    #[test]
    fn the_newest_header_among_the_data_files_wins() {
        let d = std::env::temp_dir().join(format!("cms-format-{}", std::process::id()));
        let aof = d.join("appendonlydir");
        std::fs::create_dir_all(&aof).unwrap();
        assert_eq!(newest_in(&d), None, "no data yet");
        std::fs::write(d.join("dump.rdb"), b"REDIS0011\xfa\x09").unwrap();
        std::fs::write(aof.join("appendonly.aof.1.incr.aof"), b"VALKEY080").unwrap();
        assert_eq!(
            newest_in(&d).unwrap().0,
            RdbFormat::Redis(11),
            "an incr file has no header"
        );
        std::fs::write(aof.join("appendonly.aof.2.base.rdb"), b"VALKEY080\xfa").unwrap();
        let (format, file) = newest_in(&d).unwrap();
        assert_eq!(format, RdbFormat::Valkey(80));
        assert_eq!(file, aof.join("appendonly.aof.2.base.rdb"));
        std::fs::write(aof.join("appendonly.aof.2.base.rdb"), b"RED").unwrap();
        assert_eq!(
            newest_in(&d).unwrap().0,
            RdbFormat::Redis(11),
            "a short file is no header"
        );
        std::fs::remove_dir_all(d).unwrap();
    }
}
