//! A server must never be left to "repair" data it cannot read. Data written by a
//! newer server or another fork (Valkey 9's `VALKEY080`, Redis 7.4's `REDIS0012`)
//! makes an older server exit with advice to run `check-aof --fix`, which would cut
//! everything it did not understand. So the store's data is checked before a server
//! is started on it, and if a server still exits over its data, the error says which
//! server wrote it and what to run instead, never the server's advice alone.

use crate::error::{ErrorCode, StoreError};
use crate::server::binary::ServerBinary;
use crate::server::data_format::{self, RdbFormat};
use crate::server::flavor::{Flavor, version_key};
use crate::server::last_server::{self, LastServer};
use crate::settings::paths::StorePaths;

/// Before starting `binary`: refuses when the data's own header says it cannot
/// read it. Where that is not certain (no data yet, a server or format newer than
/// this addon knows) the server is started and asked.
pub fn check_before_start(
    paths: &StorePaths,
    binary: &ServerBinary,
    written_by: Option<&LastServer>,
) -> Result<(), StoreError> {
    if binary.flavor == Flavor::Unknown && has_data(paths) && !ran_before(binary, written_by) {
        // Which formats and files it reads is unknown: KeyDB 6.3 (a Redis 6.2 fork)
        // has no multi-part AOF and would start empty beside Valkey's appendonlydir.
        let said = "It was not started: claude-mem-store does not know which data a server it does \
                    not know by name can read, so it runs one only on data that same server (or an \
                    older version of it) wrote.";
        let format = data_format::newest_in(&paths.server_data_dir).map(|(f, _)| f);
        return Err(incompatible(paths, binary, written_by, format, said));
    }
    let Some((format, file)) = data_format::newest_in(&paths.server_data_dir) else {
        return Ok(());
    };
    if data_format::can_read(binary.flavor, &binary.version, format) != Some(false) {
        return Ok(());
    }
    let said = format!(
        "It was not started: {} begins with {}, as {} writes it.",
        file.display(),
        format.describe(),
        format.written_by()
    );
    Err(incompatible(paths, binary, written_by, Some(format), &said))
}

/// After `binary` exited while starting, with `log_tail` the end of its log: the
/// error to give if it exited because it cannot read the data. A "bad file format"
/// may also be a damaged file; it is called incompatible only when the record of
/// the last server or the data's header says another server wrote it.
pub fn explain_exit(
    paths: &StorePaths,
    binary: &ServerBinary,
    written_by: Option<&LastServer>,
    log_tail: &str,
) -> Option<StoreError> {
    let (certain, said) = last_server::unreadable_data(log_tail)?;
    let other = written_by.filter(|w| !w.is_same_server(binary));
    let format = data_format::newest_in(&paths.server_data_dir)
        .map(|(f, _)| f)
        .filter(|f| data_format::can_read(binary.flavor, &binary.version, *f) != Some(true));
    if !certain && other.is_none() && format.is_none() {
        return None;
    }
    let said = format!("The server said: {said}");
    Some(incompatible(paths, binary, written_by, format, &said))
}

/// Whether the record of the last server says `binary` ran this data: the same
/// server, at this version or an older one (a server reads what its older
/// versions wrote; the reverse is not certain).
pub fn ran_before(binary: &ServerBinary, written_by: Option<&LastServer>) -> bool {
    written_by.is_some_and(|w| {
        w.flavor == binary.flavor
            && w.name == binary.name
            && version_key(&binary.version) >= version_key(&w.version)
    })
}

/// Whether the server data dir holds anything besides the record of the last server.
pub fn has_data(paths: &StorePaths) -> bool {
    !data_entries(paths).is_empty()
}

/// What the server data dir holds besides the record of the last server: what
/// servers wrote there.
pub fn data_entries(paths: &StorePaths) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(&paths.server_data_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| *p != paths.last_server_file)
        .collect()
}

fn incompatible(
    paths: &StorePaths,
    binary: &ServerBinary,
    written_by: Option<&LastServer>,
    format: Option<RdbFormat>,
    said: &str,
) -> StoreError {
    let other = written_by.filter(|w| !w.is_same_server(binary));
    let (who, next) = match (other, format) {
        (Some(w), _) => (
            format!("was last run by {}", w.describe()),
            format!(
                "Start it with that server again: ensureQueueStoreStarted({{ binary: '{}' }}) or \
                 `npx claude-mem-store up --binary {}` (install {} again if it is gone).",
                w.binary.display(),
                w.binary.display(),
                w.label()
            ),
        ),
        (None, Some(f)) => (
            format!("was written by {} ({})", f.written_by(), f.describe()),
            format!(
                "Start it with {} (pass that server as the binary option).",
                f.written_by()
            ),
        ),
        (None, None) => (
            "was written by a newer server, or by another kind of server".to_string(),
            "Start it with the server that wrote it (pass it as the binary option).".to_string(),
        ),
    };
    StoreError::new(
        ErrorCode::DataIncompatible,
        format!(
            "{} ({}) cannot read this store's data in {}: it {who}, whose data format it does not know. \
             The data was not changed. {next} Do not run redis-check-aof --fix (or valkey-check-aof --fix) \
             on it: that would cut the data it cannot read. {said}",
            binary.label(),
            binary.path.display(),
            paths.server_data_dir.display()
        ),
    )
}
