//! Streaming an artifact to a file: bytes go straight from the socket to disk and
//! into the sha256 as they arrive (memory stays flat whatever the size), with
//! progress events and retries on transient failures (connection errors,
//! timeouts, a body cut short, HTTP 5xx/408/429). A 404 or 403 is not retried.

use std::path::Path;
use std::time::Duration;

use reqwest::{Client, StatusCode, Url};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::mirror::{is_loopback, redact};
use super::progress::{Phase, Progress, ProgressEvent, Throttle};
use crate::error::{ErrorCode, Result, StoreError};
use crate::server::binary::sha256::hex;

/// Attempts per file, and the pause before each retry (doubling).
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// A connection that sends nothing for this long is dead.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A published `.sha256` is one line; anything longer is not one.
const MAX_CHECKSUM_FILE: usize = 4096;
/// Valkey's tarballs are a few MiB; refuse anything absurd before it fills a disk.
pub const MAX_ARTIFACT_BYTES: u64 = 512 * 1024 * 1024;

pub struct Fetched {
    pub bytes: u64,
    pub sha256: String,
}

pub fn client(url: &Url) -> Result<Client> {
    crate::checks::tls::install_crypto_provider();
    let mut builder = Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .user_agent(concat!("claude-mem-store/", env!("CARGO_PKG_VERSION")));
    // Mozilla's roots are built in (webpki-roots); add the OS store / SSL_CERT_FILE.
    for der in crate::checks::tls::extra_roots() {
        if let Ok(cert) = reqwest::Certificate::from_der(der) {
            builder = builder.add_root_certificate(cert);
        }
    }
    if is_loopback(url) {
        // A proxy from the environment must not intercept a loopback mirror.
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| {
        StoreError::new(
            ErrorCode::Internal,
            format!("could not set up the HTTP client: {e}"),
        )
    })
}

/// What went wrong with one attempt, and whether another may help.
struct AttemptError {
    transient: bool,
    message: String,
}

/// Downloads `url` into `dest` (created or truncated), hashing as it goes.
pub async fn to_file(
    client: &Client,
    url: &Url,
    dest: &Path,
    progress: &Progress,
) -> Result<Fetched> {
    with_retries(url, progress, || {
        attempt_to_file(client, url, dest, progress)
    })
    .await
}

/// Runs `attempt` up to `ATTEMPTS` times, with doubling pauses, while it fails in a
/// way another try may fix (`Err(Ok(e))` with `e.transient`), telling `progress`
/// about each retry. `Err(Err(_))` is a local failure no retry can fix.
async fn with_retries<T, F, Fut>(url: &Url, progress: &Progress, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
            Output = std::result::Result<T, std::result::Result<AttemptError, StoreError>>,
        >,
{
    let mut backoff = FIRST_BACKOFF;
    let mut last = String::new();
    for n in 1..=ATTEMPTS {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Ok(e)) if e.transient && n < ATTEMPTS => {
                progress(ProgressEvent::phase(
                    Phase::Retry,
                    format!("attempt {n} of {ATTEMPTS} failed ({}); retrying", e.message),
                ));
                last = e.message;
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Err(Ok(e)) => return Err(download_failed(url, n, &e.message)),
            Err(Err(fatal)) => return Err(fatal),
        }
    }
    Err(download_failed(url, ATTEMPTS, &last))
}

/// `Err(Ok(_))` is a failed attempt; `Err(Err(_))` a local failure (disk) that no
/// retry can fix.
async fn attempt_to_file(
    client: &Client,
    url: &Url,
    dest: &Path,
    progress: &Progress,
) -> std::result::Result<Fetched, std::result::Result<AttemptError, StoreError>> {
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| Ok(from_reqwest(&e)))?;
    check_status(response.status()).map_err(Ok)?;
    let total = response.content_length();
    if let Some(t) = total.filter(|t| *t > MAX_ARTIFACT_BYTES) {
        return Err(Err(too_large(url, t)));
    }
    let mut file = tokio::fs::File::create(dest)
        .await
        .map_err(|e| Err(StoreError::io("create", dest, &e)))?;
    let mut hasher = Sha256::new();
    let mut bytes: u64 = 0;
    let mut throttle = Throttle::new(Duration::from_millis(100));
    let emit = |bytes: u64| {
        progress(ProgressEvent {
            phase: Phase::Download,
            bytes: Some(bytes),
            total,
            message: None,
        })
    };
    throttle.due();
    emit(0);
    while let Some(chunk) = response.chunk().await.map_err(|e| Ok(from_reqwest(&e)))? {
        bytes += chunk.len() as u64;
        if bytes > MAX_ARTIFACT_BYTES {
            return Err(Err(too_large(url, bytes)));
        }
        hasher.update(&chunk);
        file.write_all(&chunk)
            .await
            .map_err(|e| Err(StoreError::io("write", dest, &e)))?;
        if throttle.due() {
            emit(bytes);
        }
    }
    if let Some(t) = total.filter(|t| *t != bytes) {
        // hyper reports most short bodies itself; this catches the rest.
        return Err(Ok(AttemptError {
            transient: true,
            message: format!("the body ended after {bytes} of {t} bytes"),
        }));
    }
    file.flush()
        .await
        .map_err(|e| Err(StoreError::io("write", dest, &e)))?;
    file.sync_all()
        .await
        .map_err(|e| Err(StoreError::io("sync", dest, &e)))?;
    emit(bytes);
    Ok(Fetched {
        bytes,
        sha256: hex(&hasher.finalize()),
    })
}

/// Fetches a small text file (a published `.sha256`), with the same retries.
pub async fn small_text(client: &Client, url: &Url, progress: &Progress) -> Result<String> {
    with_retries(url, progress, || async {
        attempt_small_text(client, url).await.map_err(Ok)
    })
    .await
}

async fn attempt_small_text(
    client: &Client,
    url: &Url,
) -> std::result::Result<String, AttemptError> {
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| from_reqwest(&e))?;
    check_status(response.status())?;
    if response
        .content_length()
        .is_some_and(|n| n as usize > MAX_CHECKSUM_FILE)
    {
        return Err(AttemptError {
            transient: false,
            message: "it is too large to be a checksum file".into(),
        });
    }
    let body = response.bytes().await.map_err(|e| from_reqwest(&e))?;
    if body.len() > MAX_CHECKSUM_FILE {
        return Err(AttemptError {
            transient: false,
            message: "it is too large to be a checksum file".into(),
        });
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn check_status(status: StatusCode) -> std::result::Result<(), AttemptError> {
    if status.is_success() {
        return Ok(());
    }
    let transient = status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS;
    Err(AttemptError {
        transient,
        message: format!("HTTP {status}"),
    })
}

fn from_reqwest(e: &reqwest::Error) -> AttemptError {
    // Connection, timeout and body (cut short) errors can all pass; anything else
    // (a malformed URL, a redirect loop) will not.
    let transient =
        e.is_connect() || e.is_timeout() || e.is_body() || e.is_request() || e.is_decode();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    AttemptError { transient, message }
}

fn download_failed(url: &Url, attempts: u32, why: &str) -> StoreError {
    StoreError::new(
        ErrorCode::DownloadFailed,
        format!(
            "could not download {} ({why}; {attempts} attempt{}). Check the network or the mirror \
             (mirror option / CLAUDE_MEM_VALKEY_MIRROR), or install with your package manager (see planInstall()).",
            redact(url.as_str()),
            if attempts == 1 { "" } else { "s" }
        ),
    )
}

fn too_large(url: &Url, bytes: u64) -> StoreError {
    StoreError::new(
        ErrorCode::DownloadFailed,
        format!(
            "{} is larger than {MAX_ARTIFACT_BYTES} bytes ({bytes}); that is not a Valkey release artifact. Check the mirror.",
            redact(url.as_str())
        ),
    )
}

/// The hash in a published `.sha256`: `<hex>` or `<hex>  <file>` (sha256sum's
/// format). `None` if the text holds no 64-hex-digit hash.
pub fn parse_checksum_file(text: &str) -> Option<String> {
    let first = text.split_whitespace().next()?;
    (first.len() == 64 && first.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| first.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_files_in_both_formats() {
        let h = "AB".repeat(32);
        assert_eq!(parse_checksum_file(&h), Some("ab".repeat(32)));
        assert_eq!(
            parse_checksum_file(&format!("{h}  valkey-9.0.3-jammy-x86_64.tar.gz\n")),
            Some("ab".repeat(32))
        );
        assert_eq!(parse_checksum_file(""), None);
        assert_eq!(parse_checksum_file("<html>404</html>"), None);
        assert_eq!(parse_checksum_file(&"g".repeat(64)), None);
    }

    #[test]
    fn statuses_sort_into_transient_and_final() {
        assert!(check_status(StatusCode::OK).is_ok());
        assert!(
            check_status(StatusCode::INTERNAL_SERVER_ERROR)
                .unwrap_err()
                .transient
        );
        assert!(
            check_status(StatusCode::SERVICE_UNAVAILABLE)
                .unwrap_err()
                .transient
        );
        assert!(
            check_status(StatusCode::TOO_MANY_REQUESTS)
                .unwrap_err()
                .transient
        );
        assert!(!check_status(StatusCode::NOT_FOUND).unwrap_err().transient);
        assert!(!check_status(StatusCode::FORBIDDEN).unwrap_err().transient);
    }
}
