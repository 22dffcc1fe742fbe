//! The pid file `redis/redis.pid`: JSON that lets any later process find, verify and
//! stop the sidecar we started. A pid alone is never trusted (pids are recycled):
//! the start token and the server's `run_id` must match too (see `ownership`).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::files::{read_capped, write_replacing_volatile};

/// A real pid file is ~300 bytes; we never read more than this.
const MAX_PID_FILE_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PidRecord {
    pub pid: u32,
    pub port: u16,
    /// Milliseconds since the epoch.
    pub started_at: u64,
    /// The OS's record of when `pid` started (Linux: /proc starttime; macOS: lstart).
    pub start_token: String,
    /// The server's `run_id` from `INFO server`; empty until the server was ready.
    #[serde(default)]
    pub run_id: String,
    pub binary: PathBuf,
    #[serde(default)]
    pub version: String,
    /// The log file the server writes to (named by the day it started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<PathBuf>,
    /// The sha256 of the binary the server was started from (npm resets mtimes, so
    /// only the content tells a binary replaced in place from the one running).
    /// Absent in records from before it was kept, and for an adopted orphan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// What we found at the pid file's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidFile {
    Absent,
    Valid(PidRecord),
    /// Empty, truncated, huge or not ours: to be set aside, never acted on.
    Invalid(String),
}

pub fn read(path: &Path) -> Result<PidFile> {
    Ok(match read_capped(path, MAX_PID_FILE_BYTES)? {
        Some(bytes) => parse(&bytes),
        None => PidFile::Absent,
    })
}

pub fn parse(bytes: &[u8]) -> PidFile {
    if bytes.len() as u64 > MAX_PID_FILE_BYTES {
        return PidFile::Invalid("the pid file is larger than 64 KiB".into());
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return PidFile::Invalid("the pid file is empty".into());
    }
    match serde_json::from_slice::<PidRecord>(bytes) {
        Ok(r) if r.pid > 1 && r.port != 0 && !r.start_token.is_empty() => PidFile::Valid(r),
        Ok(_) => PidFile::Invalid("the pid file names no usable pid, port or start token".into()),
        Err(e) => PidFile::Invalid(format!("the pid file is not valid ({e})")),
    }
}

pub fn write(path: &Path, record: &PidRecord) -> Result<()> {
    let text = serde_json::to_string_pretty(record)
        .map_err(|e| StoreError::new(crate::error::ErrorCode::Internal, e.to_string()))?;
    // Not fsynced: after a machine crash no process it could name is alive.
    write_replacing_volatile(path, text.as_bytes(), Some(0o600))
}

/// Moves a pid file we will not act on out of the way, keeping it for the user to
/// read: `redis.pid` → `redis.pid.stale-<millis>`. Returns the new path.
pub fn set_aside(path: &Path) -> Result<PathBuf> {
    let aside = path.with_extension(format!(
        "pid.stale-{}",
        crate::server::process::now_millis()
    ));
    fs::rename(path, &aside).map_err(|e| StoreError::io("move aside", path, &e))?;
    Ok(aside)
}

pub fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("remove", path, &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> PidRecord {
        PidRecord {
            pid: 4242,
            port: 23456,
            started_at: 1_700_000_000_000,
            start_token: "123456".into(),
            run_id: "abc".into(),
            binary: "/usr/bin/valkey-server".into(),
            version: "8.0.1".into(),
            log_file: None,
            sha256: Some("ab".repeat(32)),
        }
    }

    #[test]
    fn round_trips_as_camel_case_json() {
        let text = serde_json::to_string(&record()).unwrap();
        assert!(text.contains("\"startToken\":\"123456\""), "{text}");
        assert!(text.contains("\"runId\""));
        assert!(text.contains("\"startedAt\""));
        assert_eq!(parse(text.as_bytes()), PidFile::Valid(record()));
    }

    #[test]
    fn a_record_from_before_the_sha256_was_kept_still_reads() {
        let old = br#"{"pid":4242,"port":23456,"startedAt":1,"startToken":"123456","runId":"abc","binary":"/usr/bin/valkey-server","version":"8.0.1"}"#;
        match parse(old) {
            PidFile::Valid(r) => assert_eq!(r.sha256, None),
            other => panic!("{other:?}"),
        }
        let text = serde_json::to_string(&record()).unwrap();
        assert!(text.contains("\"sha256\":\"abab"), "{text}");
    }

    #[test]
    fn garbage_empty_huge_and_nonsense_are_invalid() {
        let huge = vec![b'{'; 70 * 1024];
        let cases: Vec<&[u8]> = vec![
            b"",
            b"  \n",
            b"4242",
            b"{\"pid\": 4242}",
            b"\xff\xfe",
            b"{\"pid\":0,\"port\":1,\"startedAt\":0,\"startToken\":\"x\",\"binary\":\"/b\"}",
            b"{\"pid\":-5,\"port\":1,\"startedAt\":0,\"startToken\":\"x\",\"binary\":\"/b\"}",
            b"{\"pid\":99,\"port\":1,\"startedAt\":0,\"startToken\":\"\",\"binary\":\"/b\"}",
            &huge,
        ];
        for c in cases {
            assert!(
                matches!(parse(c), PidFile::Invalid(_)),
                "{:?}",
                String::from_utf8_lossy(&c[..c.len().min(40)])
            );
        }
    }

    #[test]
    fn write_read_set_aside() {
        let d = std::env::temp_dir().join(format!("cms-pid-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        let p = d.join("redis.pid");
        assert_eq!(read(&p).unwrap(), PidFile::Absent);
        write(&p, &record()).unwrap();
        assert_eq!(read(&p).unwrap(), PidFile::Valid(record()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let aside = set_aside(&p).unwrap();
        assert!(aside.to_string_lossy().contains("redis.pid.stale-"));
        assert_eq!(read(&p).unwrap(), PidFile::Absent);
        fs::remove_dir_all(d).unwrap();
    }
}
