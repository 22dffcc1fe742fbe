//! The shapes every check reports in: one [`Check`] per step of a probe or a
//! health check, and how to reach the server it checked (ioredis connection
//! options, and the URL with and without its password).

use serde::Serialize;

use crate::checks::client::Endpoint;
use crate::error::ErrorCode;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

impl Check {
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: true,
            detail: detail.into(),
            code: None,
        }
    }
    pub fn fail(name: &'static str, code: ErrorCode, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            code: Some(code.as_str()),
        }
    }
    /// A problem worth showing that is not an error (e.g. a warning).
    pub fn warn(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok: false,
            detail: detail.into(),
            code: None,
        }
    }
}

/// Connection options ready for ioredis / BullMQ's `connection`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionOptions {
    pub host: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<i64>,
    /// Present only for TLS: ioredis takes TLS options as an object (`tls: {}`),
    /// and `tls: false` is not a valid ioredis option type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsOptions>,
}

/// TLS options in ioredis's shape (`tls.connect` options).
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct TlsOptions {
    /// The name to verify the certificate against (SNI), when the host is a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servername: Option<String>,
}

impl ConnectionOptions {
    pub fn from_endpoint(e: &Endpoint) -> ConnectionOptions {
        ConnectionOptions {
            host: e.host.clone(),
            port: e.port,
            username: e.username.clone(),
            password: e.password.clone(),
            db: (e.db != 0).then_some(e.db),
            tls: e.tls.then(|| TlsOptions {
                servername: e
                    .host
                    .parse::<std::net::IpAddr>()
                    .is_err()
                    .then(|| e.host.clone()),
            }),
        }
    }
}

/// `redis://[user]:password@host:port[/db]`, and the same with the password masked.
pub fn endpoint_urls(e: &Endpoint) -> (String, String) {
    let scheme = if e.tls { "rediss" } else { "redis" };
    let host = if e.host.contains(':') {
        format!("[{}]", e.host)
    } else {
        e.host.clone()
    };
    let db = if e.db != 0 {
        format!("/{}", e.db)
    } else {
        String::new()
    };
    let user = e
        .username
        .as_deref()
        .map(percent_encode)
        .unwrap_or_default();
    match &e.password {
        Some(p) => (
            format!(
                "{scheme}://{user}:{}@{host}:{}{db}",
                percent_encode(p),
                e.port
            ),
            format!("{scheme}://{user}:***@{host}:{}{db}", e.port),
        ),
        None if !user.is_empty() => {
            let url = format!("{scheme}://{user}@{host}:{}{db}", e.port);
            (url.clone(), url)
        }
        None => {
            let url = format!("{scheme}://{host}:{}{db}", e.port);
            (url.clone(), url)
        }
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(password: Option<&str>) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port: 23456,
            username: None,
            password: password.map(str::to_string),
            db: 0,
            tls: false,
        }
    }

    #[test]
    fn urls_carry_and_mask_the_password() {
        let (url, redacted) = endpoint_urls(&ep(Some("ab/c@d")));
        assert_eq!(url, "redis://:ab%2Fc%40d@127.0.0.1:23456");
        assert_eq!(redacted, "redis://:***@127.0.0.1:23456");
        let (url, redacted) = endpoint_urls(&ep(None));
        assert_eq!(url, redacted);
        let mut v6 = ep(None);
        v6.host = "::1".into();
        v6.db = 2;
        v6.tls = true;
        assert_eq!(endpoint_urls(&v6).0, "rediss://[::1]:23456/2");
    }

    #[test]
    fn connection_options_serialize_for_ioredis() {
        let v = serde_json::to_value(ConnectionOptions::from_endpoint(&ep(Some("p")))).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"host":"127.0.0.1","port":23456,"password":"p"})
        );
        let mut tls = ep(None);
        tls.tls = true;
        tls.host = "cache.example.com".into();
        let v = serde_json::to_value(ConnectionOptions::from_endpoint(&tls)).unwrap();
        assert_eq!(
            v["tls"],
            serde_json::json!({"servername": "cache.example.com"})
        );
    }
}
