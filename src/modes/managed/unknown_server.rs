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
use crate::server::binary::ServerBinary;

/// What every refusal ends with: what to do instead.
const NEXT_STEP: &str = "The managed store needs a server that reads a redis.conf (port, bind, \
    dir, appendonly, maxmemory-policy and ACL `user` lines) and has Lua with cjson and cmsgpack, \
    AOF, noeviction and the Redis 6.2 commands. Use Valkey or Redis: without the binary option \
    the bundled Valkey runs.";

/// Asks the just-started server what it has; `Err` is the refusal (the caller
/// stops the server).
pub async fn vet(
    client: &mut Client,
    binary: &ServerBinary,
    deadline: Instant,
) -> Result<(), StoreError> {
    client.set_timeout(deadline.saturating_duration_since(Instant::now()));
    let asked = async {
        let mut health = health::check(client).await?;
        requirements::check(client, &binary.label(), &mut health).await
    };
    let lacks = asked.await.map_err(|e| {
        refusal(
            binary,
            format!("it started, but closed the connection or stopped answering when asked what it has ({e})"),
        )
    })?;
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
