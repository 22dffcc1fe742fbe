//! The BullMQ smoke test: does this server do what BullMQ's queues need?
//!
//! In a namespace of its own (`{<prefix>:smoke}:<unique>:…`, hash-tagged so that
//! every key lands in one cluster slot) it runs, like BullMQ does: SCRIPT LOAD +
//! EVALSHA of a script using `cjson` and `cmsgpack`, hashes, sorted sets, lists
//! with LMOVE, streams with XADD/XTRIM, and MULTI/EXEC; then it deletes every key
//! it made and checks that none is left.
//!
//! All of it goes out as one pipeline, which the server runs command by command:
//! a step that fails does not stop the rest, so the final DEL runs whatever
//! happened before it, in the same round trip. Only when the exchange itself
//! breaks (a timeout, a dropped connection) is the cleanup repeated on a fresh
//! connection. The plan (keys, steps, expected replies) is in `steps.rs`; this file
//! runs it, follows a cluster redirect and cleans up.

use std::time::Duration;
pub use steps::Plan;
use steps::*;

use redis::Value;

use crate::checks::client::{Client, Endpoint};
use crate::checks::health::printable;
use crate::checks::report::Check;
use crate::error::ErrorCode;

/// The cleanup after a broken exchange gets at least this long, even when the
/// caller's deadline has passed: leaving keys behind is worse than a late answer.
const CLEANUP_GRACE: Duration = Duration::from_secs(2);

/// Where the smoke test runs, so it can follow a cluster redirect or clean up on a
/// new connection with the same credentials and TLS roots.
pub struct Target<'a> {
    pub endpoint: &'a Endpoint,
    pub ca_pem: Option<&'a [u8]>,
}

/// Runs the smoke test; every step yields a check. `timeout` bounds a redirect's
/// connect and each exchange (the fallback cleanup gets at least `CLEANUP_GRACE`).
pub async fn run(
    client: &mut Client,
    target: &Target<'_>,
    cluster: bool,
    prefix: &str,
    timeout: Duration,
) -> Vec<Check> {
    let plan = Plan::new(prefix);
    let mut redirected = None;
    let mut endpoint = target.endpoint.clone();
    if cluster {
        match route(client, target, &plan.keys, timeout).await {
            Ok(Some((node, node_client))) => {
                endpoint = node;
                redirected = Some(node_client);
            }
            Ok(None) => {}
            Err(check) => return vec![check],
        }
    }
    let conn = match redirected.as_mut() {
        Some(c) => c,
        None => client,
    };
    conn.set_timeout(timeout);

    let mut pipe = redis::pipe();
    plan.add_to(&mut pipe);
    match conn.pipeline(&pipe).await {
        Ok(replies) => plan.evaluate(&replies),
        Err(e) => {
            let here = Target {
                endpoint: &endpoint,
                ca_pem: target.ca_pem,
            };
            plan.after_broken_exchange(&here, &e, timeout).await
        }
    }
}

/// On a cluster, the smoke test's slot may live on another node: ask with one
/// keyed command and follow a `MOVED` to that node.
async fn route(
    client: &mut Client,
    target: &Target<'_>,
    keys: &Keys,
    timeout: Duration,
) -> Result<Option<(Endpoint, Client)>, Check> {
    let mut pipe = redis::pipe();
    pipe.cmd("EXISTS").arg(keys.key("job"));
    let replies = client.pipeline(&pipe).await.map_err(|e| {
        Check::fail(
            "smoke",
            ErrorCode::Unreachable,
            format!("could not ask the cluster where the smoke test's slot lives: {e}"),
        )
    })?;
    let Some(Value::ServerError(e)) = replies.first() else {
        return Ok(None);
    };
    let node = (e.code() == "MOVED")
        .then(|| e.details().and_then(|d| moved_target(d, target.endpoint)))
        .flatten()
        .ok_or_else(|| {
            Check::fail(
                "smoke",
                ErrorCode::SmokeFailed,
                format!(
                    "the cluster answered {} {}; the smoke test could not be routed",
                    printable(e.code()),
                    printable(e.details().unwrap_or_default())
                ),
            )
        })?;
    let node_client = Client::connect_with_ca(&node, target.ca_pem, timeout)
        .await
        .map_err(|e| {
            Check::fail(
                "smoke",
                ErrorCode::Unreachable,
                format!(
                    "the cluster node {}:{} that holds the smoke test's slot did not answer: {e}. \
                     Every node must be reachable from here.",
                    node.host, node.port
                ),
            )
        })?;
    Ok(Some((node, node_client)))
}

/// `MOVED <slot> <host>:<port>` → the same endpoint (credentials, TLS) on that node.
/// An empty host means "the host you already talk to".
fn moved_target(details: &str, seed: &Endpoint) -> Option<Endpoint> {
    let address = details.split_whitespace().nth(1)?;
    let (host, port) = address.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut node = seed.clone();
    if !host.is_empty() && host != "?" {
        node.host = host.to_string();
    }
    node.port = port;
    Some(node)
}

/// After a broken exchange: delete the keys over a new connection, so nothing is
/// left behind even when the first connection died midway.
async fn cleanup_again(target: &Target<'_>, keys: &Keys, timeout: Duration) -> Check {
    let timeout = timeout.max(CLEANUP_GRACE);
    let all = keys.all();
    let result = async {
        let mut client = Client::connect_with_ca(target.endpoint, target.ca_pem, timeout).await?;
        let mut pipe = redis::pipe();
        pipe.add_command(cmd(
            "DEL",
            &all.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        pipe.add_command(cmd(
            "EXISTS",
            &all.iter().map(String::as_str).collect::<Vec<_>>(),
        ));
        client.pipeline(&pipe).await
    }
    .await;
    match result {
        Ok(replies) if matches!(replies.get(1), Some(Value::Int(0))) => Check::pass(
            "smoke:cleanup",
            format!(
                "deleted the keys it made under {} (over a new connection)",
                keys.namespace
            ),
        ),
        Ok(_) | Err(_) => Check::fail(
            "smoke:cleanup",
            ErrorCode::SmokeFailed,
            format!(
                "the smoke test may have left keys under {}; when the server answers again, delete \
                 them with: DEL {}",
                keys.namespace,
                all.join(" ")
            ),
        ),
    }
}

/// Compares one reply with what its command should answer.
mod steps;

#[cfg(test)]
mod tests;
