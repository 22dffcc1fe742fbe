//! Probing a Redis-compatible server for use as BullMQ's queue store, one check
//! per step: TCP connect, TLS, AUTH, PING, `INFO` (flavor, version), the
//! maxmemory policy, AOF, Lua, cluster mode and prefix, and (on request) the
//! BullMQ smoke test.
//!
//! Server-side problems are failing checks in the report; only a malformed URL is
//! an error. The whole probe keeps to one deadline, so an address that never
//! answers costs the caller `timeout`, not a hang. No check, detail or field ever
//! carries the password. The connect steps (TCP, and what a failed connect, TLS
//! handshake or AUTH means) are in `connect.rs`; what `probeRedisUrl` reads from
//! its arguments is in `options.rs`.

mod connect;
pub mod options;

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::checks::client::{Client, ClientError, ClientResult, Endpoint};
use crate::checks::clients;
use crate::checks::health::{self, Health, printable};
use crate::checks::redis_url;
use crate::checks::report::{Check, ConnectionOptions};
use crate::checks::requirements;
use crate::checks::smoke::{self, Target};
use crate::error::{ErrorCode, Result, StoreError};
use crate::server::flavor::Flavor;
use connect::*;

/// How long a probe may take unless the caller says otherwise.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// A CA bundle is a few KiB; anything this large is the wrong file.
const MAX_CA_FILE: u64 = 1 << 20;

#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub timeout: Duration,
    /// Run the BullMQ smoke test (it writes, then deletes, a few keys).
    pub smoke: bool,
    /// The queue key prefix (`CLAUDE_MEM_QUEUE_REDIS_PREFIX`).
    pub prefix: String,
    /// PEM certificates to trust for `rediss://` instead of the system's roots.
    pub ca_pem: Option<Vec<u8>>,
}

/// What `probeRedisUrl` returns (`ProbeReport` in index.d.ts).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// No check failed with an error code (warnings allowed).
    pub ok: bool,
    /// The URL with its password masked (the same as `redacted_url`).
    pub url: String,
    pub redacted_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<Flavor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The name a server we do not know by name gives itself (`flavor` is
    /// `unknown`), e.g. `ember`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub cluster: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    pub checks: Vec<Check>,
    /// Host, port, user, db and TLS for ioredis; the password is left out.
    pub connection: ConnectionOptions,
}

impl ProbeReport {
    /// The first check that failed with an error code: the root cause.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.ok && c.code.is_some())
    }
}

/// Parses and probes `url`; only a malformed URL is an `Err` (`E_BAD_URL`).
pub async fn probe_url(url: &str, options: &ProbeOptions) -> Result<ProbeReport> {
    let endpoint = redis_url::parse(url)?;
    Ok(probe(&endpoint, options).await)
}

/// Reads a CA bundle for `caFile`. `code` says whose mistake a bad file is
/// (`E_BAD_OPTION` for an option, `E_BAD_SETTINGS` for a setting).
pub fn load_ca_file(path: &Path, code: ErrorCode) -> Result<Vec<u8>> {
    let bad = |why: String| {
        StoreError::new(
            code,
            format!(
                "caFile {}: {why}. Give the path of a PEM file holding the CA certificate(s) that signed \
                 the server's certificate.",
                path.display()
            ),
        )
    };
    let size = std::fs::metadata(path)
        .map_err(|e| bad(format!("cannot be read ({e})")))?
        .len();
    if size > MAX_CA_FILE {
        return Err(bad(format!("is {size} bytes, too large for a CA bundle")));
    }
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot be read ({e})")))?;
    if !pem
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(bad("holds no PEM certificate".to_string()));
    }
    Ok(pem)
}

/// The time left of one deadline shared by every step.
struct Budget {
    deadline: Instant,
    total: Duration,
}

impl Budget {
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
    fn ms(&self) -> u128 {
        self.total.as_millis()
    }
}

pub async fn probe(endpoint: &Endpoint, options: &ProbeOptions) -> ProbeReport {
    let budget = Budget {
        deadline: Instant::now() + options.timeout,
        total: options.timeout,
    };
    let mut checks = Vec::new();
    let health = run_checks(endpoint, options, &budget, &mut checks).await;
    for check in &mut checks {
        check.detail = scrub(&check.detail, endpoint);
    }
    let mut connection = ConnectionOptions::from_endpoint(endpoint);
    connection.password = None;
    let redacted = redis_url::redacted(endpoint);
    let known = health.as_ref().filter(|h| !h.info.version.is_empty());
    ProbeReport {
        ok: checks.iter().all(|c| c.ok || c.code.is_none()),
        url: redacted.clone(),
        redacted_url: redacted,
        flavor: known.map(|h| h.info.flavor),
        version: known.map(|h| h.info.version.clone()),
        name: known.and_then(|h| h.info.name.clone()),
        cluster: health.as_ref().is_some_and(|h| h.cluster),
        persistence: health.as_ref().and_then(|h| h.persistence.clone()),
        policy: health.as_ref().and_then(|h| h.policy.clone()),
        checks,
        connection,
    }
}

/// Runs the steps in order, stopping at the first one that makes the rest moot.
async fn run_checks(
    endpoint: &Endpoint,
    options: &ProbeOptions,
    budget: &Budget,
    checks: &mut Vec<Check>,
) -> Option<Health> {
    let address = address(endpoint);
    let tcp = tcp_check(endpoint, &address, budget).await;
    let reachable = tcp.ok;
    checks.push(tcp);
    if !reachable {
        return None;
    }

    let ca = options.ca_pem.as_deref();
    let mut client = match Client::connect_with_ca(endpoint, ca, budget.left()).await {
        Ok(client) => client,
        Err(e) => {
            checks.push(connect_failure(endpoint, &address, &e, budget));
            return None;
        }
    };
    if endpoint.tls {
        checks.push(Check::pass(
            "tls",
            if ca.is_some() {
                "the certificate was verified against caFile"
            } else {
                "the certificate was verified against the system's trusted roots"
            },
        ));
    }

    let target = Target {
        endpoint,
        ca_pem: ca,
    };
    let health = match server_checks(
        &mut client,
        &target,
        &options.prefix,
        options.smoke,
        budget.deadline,
    )
    .await
    {
        Ok(h) => h,
        Err(e) => {
            // With a password, AUTH was answered while connecting; without one,
            // nothing was asked yet, so there is nothing to report about it.
            if endpoint.password.is_some() {
                checks.push(auth_check(endpoint, None));
            }
            checks.push(silent_server(&address, &e, budget));
            return None;
        }
    };
    // A missing password shows up as PING's NOAUTH: report it as the auth step.
    let noauth = health
        .checks
        .iter()
        .find(|c| c.name == "ping" && c.code == Some(ErrorCode::Auth.as_str()));
    checks.push(auth_check(endpoint, noauth));
    if noauth.is_some() {
        return None;
    }
    checks.extend(health.checks.iter().cloned());
    Some(health)
}

/// The checks the probe and the managed store's health share: PING, INFO,
/// policy, AOF, Lua, cluster prefix, and the smoke test when `smoke` is set
/// (skipped when the server does not even answer PING). All of it by `deadline`.
pub async fn server_checks(
    client: &mut Client,
    target: &Target<'_>,
    prefix: &str,
    smoke: bool,
    deadline: Instant,
) -> ClientResult<Health> {
    let left = || deadline.saturating_duration_since(Instant::now());
    client.set_timeout(left());
    let mut health = match health::check(client).await {
        Ok(health) => health,
        // A server we do not know by name may close the connection at a command it
        // lacks: ask again one command at a time, to say what it lacks.
        // (A silent server, one that times out, is reported as it is.)
        Err(e) if matches!(e, ClientError::Timeout) => return Err(e),
        // Only a verdict that it lacks something is kept: a server that breaks the
        // exchange and yet has everything is reported as the broken exchange it is.
        Err(e) => match requirements::one_by_one(target, deadline).await {
            Some(health) if !health.all_ok() => return Ok(health),
            _ => return Err(e),
        },
    };
    let answered = health.checks.first().is_some_and(|c| c.ok);
    if !answered {
        return Ok(health);
    }
    // A server that names itself but not as one we know. (One whose INFO says nothing,
    // e.g. a cloud service that disables INFO, keeps the version warning.)
    if health.info.name.is_some() {
        let label = health.info.label();
        let lacks = requirements::check(client, &label, &mut health).await;
        if !lacks.is_empty() {
            // The server check says all of it; a smoke test would only repeat it.
            return Ok(health);
        }
    }
    health.checks.push(cluster_check(health.cluster, prefix));
    if smoke {
        if left().is_zero() {
            health.checks.push(Check::fail(
                "smoke",
                ErrorCode::Timeout,
                "the time allowed (timeoutMs) ran out before the smoke test; give the probe more time",
            ));
        } else {
            let smoke_checks = smoke::run(client, target, health.cluster, prefix, left()).await;
            health.checks.extend(smoke_checks);
        }
    }
    Ok(health)
}

/// The checks of a store we run ourselves (the managed sidecar or our Docker
/// container: a standalone server on loopback). Health and smoke test go out in one
/// pipeline — one round trip instead of two — which matters because ensure and
/// status run them every time. A server that turns out to be a cluster (it never is
/// with our config) gets the general path, which routes the smoke test.
///
/// `client` must already be authenticated: `AUTH` is never sent inside this pipeline,
/// because a server without a password answers it with an error and then runs the
/// rest, smoke-test writes included, on a server that is not ours.
pub async fn own_store_checks(
    client: &mut Client,
    target: &Target<'_>,
    prefix: &str,
    deadline: Instant,
) -> ClientResult<Health> {
    let left = || deadline.saturating_duration_since(Instant::now());
    client.set_timeout(left());
    let plan = smoke::Plan::new(prefix);
    let mut pipe = redis::pipe();
    health::add_commands(&mut pipe);
    clients::add_commands(&mut pipe);
    plan.add_to(&mut pipe);
    let replies = match client.pipeline(&pipe).await {
        Ok(replies) => replies,
        Err(e) => {
            // Some smoke commands may have run before the exchange broke.
            let _ = plan.after_broken_exchange(target, &e, left()).await;
            return Err(e);
        }
    };
    let (health_replies, rest) = replies.split_at(health::COMMANDS.min(replies.len()));
    let (client_replies, smoke_replies) = rest.split_at(clients::COMMANDS.min(rest.len()));
    let mut health = health::evaluate(health_replies);
    health.other_clients = clients::evaluate(client_replies);
    if health.cluster {
        return server_checks(client, target, prefix, true, deadline).await;
    }
    health.checks.push(cluster_check(false, prefix));
    // Unanswered (NOAUTH, LOADING): the smoke commands were refused the same way.
    if health.checks.first().is_some_and(|c| c.ok) {
        health.checks.extend(plan.evaluate(smoke_replies));
    }
    Ok(health)
}

/// Whether `prefix` puts every key of a queue in one cluster slot: Redis hashes
/// only the part between the first `{` and the next `}`, if that part is not empty.
pub fn is_hash_tagged(prefix: &str) -> bool {
    let Some(open) = prefix.find('{') else {
        return false;
    };
    match prefix[open + 1..].find('}') {
        Some(len) => len > 0,
        None => false,
    }
}

fn cluster_check(cluster: bool, prefix: &str) -> Check {
    let shown = printable(prefix);
    if !cluster {
        return Check::pass("cluster", "a standalone server (not a cluster)");
    }
    if is_hash_tagged(prefix) {
        return Check::pass(
            "cluster",
            format!(
                "a Redis Cluster; the prefix '{shown}' is hash-tagged, so each queue's keys share one slot \
                 (for BullMQ used directly: claude-mem turns braces in its prefix into _, so this prefix is \
                 not one claude-mem can use)"
            ),
        );
    }
    Check::fail(
        "cluster",
        ErrorCode::ClusterPrefix,
        format!(
            "this is a Redis Cluster and the prefix '{shown}' is not hash-tagged, so a queue's keys would \
             spread over slots and BullMQ's scripts fail with CROSSSLOT. claude-mem cannot hash-tag its \
             prefix (it turns every character other than letters, digits, _ and - in \
             CLAUDE_MEM_QUEUE_REDIS_PREFIX into _, braces included), so its queues need a server that is \
             not a cluster: the managed store (CLAUDE_MEM_REDIS_MODE=managed), a standalone Redis or \
             Valkey (a primary with replicas is fine), or a cloud service with cluster mode off."
        ),
    )
}

#[cfg(test)]
mod tests;
