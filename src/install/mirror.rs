//! Where artifacts are fetched from: Valkey's download host, or a mirror that
//! replaces it (air-gapped installs, and the tests, which serve artifacts on
//! loopback). Plain http is allowed only for loopback or with an explicit opt-in:
//! the checksum protects the bytes, but an unpinned checksum travels the same
//! channel as the artifact, so the channel must be trustworthy.

use std::net::IpAddr;

use reqwest::Url;

use crate::error::{ErrorCode, Result, StoreError};

pub const KEY_MIRROR: &str = "CLAUDE_MEM_VALKEY_MIRROR";
pub const KEY_ALLOW_HTTP: &str = "CLAUDE_MEM_VALKEY_ALLOW_HTTP";

/// The URL of `file` under `base` (the manifest's host or a mirror), after the
/// scheme policy. `origin` names where `base` came from, for the error message.
pub fn artifact_url(base: &str, file: &str, allow_http: bool, origin: &str) -> Result<Url> {
    let with_slash = if base.ends_with('/') {
        base.to_string()
    } else {
        format!("{base}/")
    };
    let base_url = Url::parse(&with_slash).map_err(|e| {
        bad(format!(
            "{origin} '{}' is not a URL ({e}). Use e.g. https://mirror.example.com/valkey/.",
            redact(base)
        ))
    })?;
    match base_url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&base_url) => {}
        "http" => {
            return Err(bad(format!(
                "{origin} '{}' uses plain http to a host that is not loopback. Use https, or opt in with \
                 allowHttp: true (or {KEY_ALLOW_HTTP}=1) if this network is trusted.",
                redact(base)
            )));
        }
        other => {
            return Err(bad(format!(
                "{origin} '{}' has scheme '{other}'; only https (and http for loopback) are supported.",
                redact(base)
            )));
        }
    }
    if base_url.query().is_some() || base_url.fragment().is_some() {
        return Err(bad(format!(
            "{origin} '{}' must be a plain base URL without ?query or #fragment.",
            redact(base)
        )));
    }
    base_url
        .join(file)
        .map_err(|e| bad(format!("could not join {file} to {origin}: {e}")))
}

/// `http://localhost`, `http://127.x.y.z`, `http://[::1]`.
pub fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A URL for messages: any password is masked.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        // Unparseable, so nothing can be trusted to be where a parser expects it:
        // mask everything between the scheme and the last '@' (any user:password).
        Err(_) => {
            let masked = match (url.find("://"), url.rfind('@')) {
                (Some(scheme_end), Some(at)) if at > scheme_end => {
                    format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
                }
                _ => url.to_string(),
            };
            masked.chars().take(200).collect()
        }
    }
}

fn bad(message: String) -> StoreError {
    StoreError::new(ErrorCode::BadOption, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "valkey-9.0.3-jammy-x86_64.tar.gz";

    #[test]
    fn redaction_masks_credentials_even_in_an_unparseable_url() {
        let r = redact("redis://user:s3cret@host:notaport");
        assert!(!r.contains("s3cret"), "{r}");
        assert_eq!(r, "redis://***@host:notaport");
        assert_eq!(redact("https://u:p@h/x"), "https://u:***@h/x");
    }

    #[test]
    fn https_and_loopback_http_are_accepted() {
        let u = artifact_url("https://download.valkey.io/releases/", F, false, "m").unwrap();
        assert_eq!(
            u.as_str(),
            format!("https://download.valkey.io/releases/{F}")
        );
        let u = artifact_url("http://127.0.0.1:8080/v", F, false, "m").unwrap();
        assert_eq!(u.as_str(), format!("http://127.0.0.1:8080/v/{F}"));
        assert!(artifact_url("http://[::1]:9/", F, false, "m").is_ok());
        assert!(artifact_url("http://localhost/", F, false, "m").is_ok());
    }

    #[test]
    fn remote_http_needs_the_opt_in_and_other_schemes_are_refused() {
        let e = artifact_url("http://mirror.example.com/", F, false, "m").unwrap_err();
        assert_eq!(e.code, ErrorCode::BadOption);
        assert!(e.message.contains("allowHttp"));
        assert!(artifact_url("http://mirror.example.com/", F, true, "m").is_ok());
        for bad in ["ftp://x/", "file:///etc/", "not a url", "https://x/?a=1"] {
            assert!(artifact_url(bad, F, true, "m").is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_masked_in_messages() {
        let e = artifact_url("http://u:secret@example.com/", F, false, "m").unwrap_err();
        assert!(!e.message.contains("secret"), "{}", e.message);
    }
}
