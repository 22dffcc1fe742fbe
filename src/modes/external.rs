//! External mode: a server the user runs (Redis, Valkey, Dragonfly, a cloud
//! service, a cluster), given as `CLAUDE_MEM_REDIS_URL` — or, with the URL empty,
//! at `CLAUDE_MEM_REDIS_HOST:CLAUDE_MEM_REDIS_PORT` with no password, which is what
//! claude-mem's own runtime connects to then. claude-mem validates it
//! with the probe and never starts, stops or writes to anything but the smoke
//! test's own keys. A URL that fails is an error naming the failing check and its
//! fix: there is no silent fallback to a managed store (claude-mem's rule: fail
//! loudly when BullMQ is the engine).

use crate::checks::client::Endpoint;
use crate::checks::probe::{self, ProbeOptions, ProbeReport};
use crate::checks::redis_url;
use crate::checks::report::{ConnectionOptions, endpoint_urls};
use crate::error::{ErrorCode, Result, StoreError};
use crate::modes::results::{QueueStoreStatus, ServerDescription, StatusPaths, StopResult};
use crate::settings::paths::StorePaths;
use crate::settings::{KEY_HOST, KEY_PORT, KEY_URL, Settings};

/// Probes the URL (smoke test included) and fails loudly if it is not usable.
pub async fn ensure(settings: &Settings) -> Result<QueueStoreStatus> {
    let (address, report) = probe_configured(settings).await?;
    if let Some(failed) = report.first_failure() {
        let code = failed
            .code
            .and_then(ErrorCode::from_code)
            .unwrap_or(ErrorCode::Unreachable);
        let next = match address.from {
            AddressFrom::Url => format!(
                "claude-mem does not fall back to a managed store: fix the server or {KEY_URL}, or switch to \
                 CLAUDE_MEM_REDIS_MODE=managed."
            ),
            // claude-mem's seeded defaults (mode external, empty URL) land here on
            // every machine that never chose a queue store.
            AddressFrom::HostPort => format!(
                "{KEY_URL} is empty, so this is {KEY_HOST}:{KEY_PORT} with no password, as claude-mem's runtime \
                 connects. To have claude-mem run its own private store, run the installer \
                 (`npx claude-mem install`, which calls resolveQueueStore()) or ensureQueueStoreStarted({{ mode: 'managed' }}); \
                 to use a server of yours, start it there or set {KEY_URL}."
            ),
        };
        return Err(StoreError::new(
            code,
            format!(
                "the external Redis at {} failed its {} check: {} {next}",
                report.redacted_url,
                failed.name,
                sentence(&failed.detail)
            ),
        ));
    }
    Ok(status_from(settings, &address, report))
}

/// Probes the URL and reports what it found; a failing server is a status with
/// failing checks, not an error. Starts nothing.
pub async fn status(settings: &Settings) -> Result<QueueStoreStatus> {
    let (address, report) = probe_configured(settings).await?;
    Ok(status_from(settings, &address, report))
}

/// Stops nothing: an external server belongs to whoever runs it.
pub fn stop(settings: &Settings) -> StopResult {
    let server = settings
        .url
        .as_deref()
        .and_then(|u| redis_url::parse(u).ok())
        .map(|e| format!("the server at {}", redis_url::redacted(&e)))
        .unwrap_or_else(|| "the external server".to_string());
    StopResult {
        code: Some(ErrorCode::NotOwned.as_str()),
        ..StopResult::nothing(format!(
            "mode external: {server} is not run by claude-mem, so nothing was stopped. Stop it where it is \
             run (its service manager, container or cloud console)."
        ))
    }
}

/// Where external mode's server is, as claude-mem's runtime finds it
/// (`QueueStoreStatus.addressFrom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum AddressFrom {
    /// `CLAUDE_MEM_REDIS_URL`.
    Url,
    /// The URL is empty: `CLAUDE_MEM_REDIS_HOST:CLAUDE_MEM_REDIS_PORT`, no password.
    HostPort,
}

struct Address {
    endpoint: Endpoint,
    from: AddressFrom,
}

/// claude-mem's default port for an external Redis.
const DEFAULT_EXTERNAL_PORT: u16 = 6379;

fn configured_address(settings: &Settings) -> Result<Address> {
    if let Some(url) = settings.url.as_deref() {
        return Ok(Address {
            endpoint: redis_url::parse(url)?,
            from: AddressFrom::Url,
        });
    }
    if settings.own_url {
        return Err(StoreError::new(
            ErrorCode::BadSettings,
            format!(
                "mode is external, but {KEY_URL} is this data dir's own managed store (written by \
                 ensureQueueStoreStarted), not a server of yours. Use mode managed (or docker) for that store, \
                 or set {KEY_URL} to your server's redis:// or rediss:// URL."
            ),
        ));
    }
    let host = settings.host.trim_start_matches('[').trim_end_matches(']');
    Ok(Address {
        endpoint: Endpoint {
            host: host.to_string(),
            port: settings.port.map_or(DEFAULT_EXTERNAL_PORT, |p| p.port),
            username: None,
            password: None,
            db: 0,
            tls: false,
        },
        from: AddressFrom::HostPort,
    })
}

async fn probe_configured(settings: &Settings) -> Result<(Address, ProbeReport)> {
    let address = configured_address(settings)?;
    let ca_pem = match &settings.ca_file {
        Some(path) => Some(probe::load_ca_file(path, ErrorCode::BadSettings)?),
        None => None,
    };
    let options = ProbeOptions {
        timeout: settings.timeout,
        smoke: true,
        prefix: settings.prefix.clone(),
        ca_pem,
    };
    let report = probe::probe(&address.endpoint, &options).await;
    Ok((address, report))
}

fn status_from(settings: &Settings, address: &Address, report: ProbeReport) -> QueueStoreStatus {
    let endpoint = &address.endpoint;
    let (url, redacted) = endpoint_urls(endpoint);
    let answered = report.checks.iter().any(|c| c.name == "ping" && c.ok);
    let mut notices = Vec::new();
    if let Some(ca) = &settings.ca_file {
        notices.push(format!(
            "the server's certificate is checked against {}; give ioredis/BullMQ the same CA: \
             connection.tls = {{ ca: fs.readFileSync(caFile) }}",
            ca.display()
        ));
    }
    QueueStoreStatus {
        running: answered,
        url: Some(url),
        redacted_url: Some(redacted),
        connection: Some(ConnectionOptions::from_endpoint(endpoint)),
        server: report.flavor.map(|flavor| ServerDescription {
            flavor,
            version: report.version.clone().unwrap_or_default(),
            name: report.name.clone(),
            binary: None,
            bundled: false,
            outdated: None,
        }),
        persistence: report.persistence,
        policy: report.policy,
        checks: report.checks,
        address_from: Some(address.from),
        notices,
        ..QueueStoreStatus::not_running(
            settings.mode,
            StatusPaths::new(&StorePaths::new(&settings.data_dir), None),
        )
    }
}

/// Details are clauses; end one as a sentence before the next one starts.
fn sentence(detail: &str) -> String {
    let d = detail.trim_end();
    if d.ends_with('.') {
        d.to_string()
    } else {
        format!("{d}.")
    }
}
