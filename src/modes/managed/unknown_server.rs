//! Starting a server we do not know by name (the `binary` option naming, say,
//! KeyDB): it gets the same config as any server, with the two users held to the
//! Redis 6.2 command set, and once it answers it must show what BullMQ's queues
//! need (`checks::requirements`) before it holds them. One that does not start with
//! that config, or lacks anything, is stopped by its pid and refused with
//! `E_BINARY_INCOMPATIBLE`, naming it and what it lacks.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::checks::client::Client;
use crate::checks::health;
use crate::checks::requirements;
use crate::error::{ErrorCode, StoreError};
use crate::modes::managed::unreadable_data;
use crate::server::binary::ServerBinary;
use crate::server::last_server::LastServer;
use crate::settings::paths::StorePaths;

/// What every refusal ends with: what to do instead.
const NEXT_STEP: &str = "The managed store needs a server that reads a redis.conf (port, bind, \
    dir, appendonly, maxmemory-policy and ACL `user` lines) and has Lua with cjson and cmsgpack, \
    AOF, noeviction and the Redis 6.2 commands. Use Valkey or Redis: without the binary option \
    the bundled Valkey runs.";

/// An unknown server about to run this store for the first time (the record of the
/// last server does not name it). Its exit or silence then means it cannot hold
/// the store at all; and if the data dir was empty, what it wrote there is removed
/// when it is refused, so that the next start finds the store as it was.
pub struct FirstStart {
    data_dir_was_empty: bool,
}

/// Taken before the spawn: `None` for a known server, or one that ran this data.
pub fn first_start(
    paths: &StorePaths,
    binary: &ServerBinary,
    written_by: Option<&LastServer>,
) -> Option<FirstStart> {
    (binary.flavor == crate::server::flavor::Flavor::Unknown
        && !unreadable_data::ran_before(binary, written_by))
    .then(|| FirstStart {
        data_dir_was_empty: !unreadable_data::has_data(paths),
    })
}

/// After a refused first start: removes what the server wrote into the data dir
/// it found empty (its AOF or RDB of nothing; the record of the last server
/// stays). Best effort: a file that cannot be removed is left.
pub fn undo(paths: &StorePaths, first: Option<&FirstStart>) {
    if !first.is_some_and(|f| f.data_dir_was_empty) {
        return;
    }
    for path in unreadable_data::data_entries(paths) {
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// Asks the just-started server what it has; `Err` is the refusal (the caller
/// stops the server).
pub async fn vet(
    client: &mut Client,
    binary: &ServerBinary,
    deadline: Instant,
) -> Result<(), StoreError> {
    client.set_timeout(deadline.saturating_duration_since(Instant::now()));
    let mut health = health::check(client).await.map_err(|e| {
        refusal(
            binary,
            format!("it started, but closed the connection or stopped answering when asked what it has ({e})"),
        )
    })?;
    let lacks = requirements::check(client, &binary.label(), &mut health).await;
    if lacks.is_empty() {
        return Ok(());
    }
    Err(refusal(
        binary,
        format!(
            "it started, but lacks what BullMQ's queues need: {}",
            lacks.join("; ")
        ),
    ))
}

/// The server exited while starting: most likely it does not read a redis.conf.
pub fn exited(binary: &ServerBinary, log: &Path, tail: &str) -> StoreError {
    let refused = refusal(
        binary,
        "it exited when started with the store's configuration file: it does not read a \
         redis.conf, or not all of it"
            .to_string(),
    );
    with_log(refused, log, tail)
}

/// The server never answered on the store's port with the store's password.
pub fn never_answered(
    binary: &ServerBinary,
    waited: Duration,
    log: &Path,
    tail: &str,
) -> StoreError {
    let refused = refusal(
        binary,
        format!(
            "it did not answer on the configured port with the configured password within {} ms \
             (it was stopped): it may not read a redis.conf",
            waited.as_millis()
        ),
    );
    with_log(refused, log, tail)
}

/// The refusal, then the server's own words.
fn with_log(mut refused: StoreError, log: &Path, tail: &str) -> StoreError {
    refused.message = format!(
        "{} Last lines of {}:\n{tail}",
        refused.message,
        log.display()
    );
    refused
}

fn refusal(binary: &ServerBinary, why: String) -> StoreError {
    StoreError::new(
        ErrorCode::BinaryIncompatible,
        format!(
            "{} ({}) is not a server claude-mem-store knows by name, and {why}. {NEXT_STEP}",
            binary.label(),
            binary.path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::binary::BinarySource;
    use crate::server::flavor::Flavor;

    fn keydb(version: &str) -> ServerBinary {
        ServerBinary {
            path: "/opt/keydb/keydb-server".into(),
            flavor: Flavor::Unknown,
            version: version.into(),
            source: BinarySource::Option,
            name: Some("KeyDB".into()),
        }
    }

    #[test]
    fn a_first_start_is_one_the_record_does_not_name() {
        let dir = std::env::temp_dir().join(format!("cms-first-start-{}", std::process::id()));
        let paths = StorePaths::new(&dir);
        let ran = |v: &str| Some(LastServer::of(&keydb(v)));
        // No record, another server's, or a newer version's: a first start.
        assert!(first_start(&paths, &keydb("6.3.4"), None).is_some());
        let valkey = ServerBinary {
            flavor: Flavor::Valkey,
            name: None,
            ..keydb("9.1.2")
        };
        let by_valkey = Some(LastServer::of(&valkey));
        assert!(first_start(&paths, &keydb("6.3.4"), by_valkey.as_ref()).is_some());
        assert!(first_start(&paths, &keydb("6.3.4"), ran("6.3.5").as_ref()).is_some());
        // Itself, or an older version of itself: not.
        assert!(first_start(&paths, &keydb("6.3.4"), ran("6.3.4").as_ref()).is_none());
        assert!(first_start(&paths, &keydb("6.3.5"), ran("6.3.4").as_ref()).is_none());
        // A known server never is.
        assert!(first_start(&paths, &valkey, None).is_none());
    }

    #[test]
    fn a_refused_first_start_on_an_empty_dir_leaves_it_empty() {
        let dir = std::env::temp_dir().join(format!("cms-undo-{}", std::process::id()));
        let paths = StorePaths::new(&dir);
        std::fs::create_dir_all(&paths.server_data_dir).unwrap();
        std::fs::write(&paths.last_server_file, "{}").unwrap();
        let first = first_start(&paths, &keydb("6.3.4"), None);
        assert!(first.as_ref().is_some_and(|f| f.data_dir_was_empty));
        // What the refused server wrote.
        std::fs::write(paths.server_data_dir.join("appendonly.aof"), "").unwrap();
        std::fs::create_dir_all(paths.server_data_dir.join("appendonlydir")).unwrap();
        undo(&paths, first.as_ref());
        let left: Vec<_> = std::fs::read_dir(&paths.server_data_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(left, vec![paths.last_server_file.clone()]);

        // A dir that held data is never cleared.
        std::fs::write(paths.server_data_dir.join("dump.rdb"), "REDIS0011").unwrap();
        let first = first_start(&paths, &keydb("6.3.4"), None);
        assert!(first.as_ref().is_some_and(|f| !f.data_dir_was_empty));
        undo(&paths, first.as_ref());
        assert!(paths.server_data_dir.join("dump.rdb").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
