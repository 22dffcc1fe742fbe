//! The probe's first steps, which decide whether there is anything to talk to: the
//! TCP connect, and what a failed connect, TLS handshake or AUTH means, as checks
//! with their codes and fixes (never repeating the password).

use super::*;
use crate::checks::client::{ClientError, Endpoint};
use crate::checks::health::printable;
use crate::checks::report::Check;
use crate::error::ErrorCode;

pub(super) fn address(endpoint: &Endpoint) -> String {
    if endpoint.host.contains(':') {
        format!("[{}]:{}", endpoint.host, endpoint.port)
    } else {
        format!("{}:{}", endpoint.host, endpoint.port)
    }
}

pub(super) async fn tcp_check(endpoint: &Endpoint, address: &str, budget: &Budget) -> Check {
    let connect = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port));
    match tokio::time::timeout(budget.left(), connect).await {
        Ok(Ok(_stream)) => Check::pass("tcp", format!("connected to {address}")),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Check::fail(
            "tcp",
            ErrorCode::Unreachable,
            format!(
                "nothing listens on {address} (connection refused). Start the server, or fix the host \
                 and port in the URL."
            ),
        ),
        Ok(Err(e)) => Check::fail(
            "tcp",
            ErrorCode::Unreachable,
            format!(
                "could not connect to {address}: {e}. Check the host name and that this machine can \
                 reach it."
            ),
        ),
        Err(_) => Check::fail(
            "tcp",
            ErrorCode::Unreachable,
            format!(
                "no TCP connection to {address} within {} ms (a wrong host, a firewall dropping packets, \
                 or a server that is down).",
                budget.ms()
            ),
        ),
    }
}

pub(super) fn auth_check(endpoint: &Endpoint, noauth: Option<&Check>) -> Check {
    if let Some(failed) = noauth {
        return Check::fail("auth", ErrorCode::Auth, failed.detail.clone());
    }
    match (&endpoint.username, &endpoint.password) {
        (Some(user), Some(_)) => Check::pass("auth", format!("authenticated as user '{user}'")),
        (None, Some(_)) => Check::pass("auth", "authenticated with the password in the URL"),
        _ => Check::pass("auth", "no password in the URL, and none asked for"),
    }
}

/// The TLS handshake, AUTH and SELECT happen while connecting: sort out which one
/// failed.
pub(super) fn connect_failure(
    endpoint: &Endpoint,
    address: &str,
    e: &ClientError,
    budget: &Budget,
) -> Check {
    match e {
        ClientError::Auth(why) => Check::fail(
            "auth",
            ErrorCode::Auth,
            format!(
                "the server refused the credentials in the URL ({}). Check the password{}.",
                printable(why),
                if endpoint.username.is_some() {
                    " and that the ACL user exists and is enabled (ACL LIST)"
                } else {
                    "; for an ACL user write redis://user:password@host"
                }
            ),
        ),
        ClientError::Timeout if endpoint.tls => Check::fail(
            "tls",
            ErrorCode::Timeout,
            format!(
                "connected to {address}, but the TLS handshake did not finish within {} ms. Is this a \
                 TLS port?",
                budget.ms()
            ),
        ),
        ClientError::Timeout => Check::fail(
            "auth",
            ErrorCode::Timeout,
            format!(
                "connected to {address}, but nothing answered within {} ms. Is this a Redis-compatible \
                 server? (A TLS-only port needs rediss://.)",
                budget.ms()
            ),
        ),
        other => {
            let text = other.to_string();
            if text.contains("DB index") || text.contains("SELECT") {
                Check::fail(
                    "select",
                    ErrorCode::BadUrl,
                    format!(
                        "the server refused database {} from the URL ({}). Use a database the server has \
                         (0 to databases-1); a Redis Cluster has only database 0.",
                        endpoint.db,
                        printable(&text)
                    ),
                )
            } else if endpoint.tls {
                Check::fail(
                    "tls",
                    ErrorCode::Tls,
                    format!(
                        "the TLS handshake with {address} failed ({}). If a private CA signed the server's \
                         certificate, pass its PEM file as caFile (CLAUDE_MEM_REDIS_CA_FILE); the \
                         certificate must name the host in the URL; a port without TLS needs redis://.",
                        printable(&text)
                    ),
                )
            } else {
                Check::fail(
                    "auth",
                    ErrorCode::Unreachable,
                    format!(
                        "{address} closed the connection ({}). If the server only speaks TLS, use rediss://.",
                        printable(&text)
                    ),
                )
            }
        }
    }
}

/// Connected, but the first commands got no (or no usable) answer.
pub(super) fn silent_server(address: &str, e: &ClientError, budget: &Budget) -> Check {
    match e {
        ClientError::Timeout => Check::fail(
            "ping",
            ErrorCode::Timeout,
            format!(
                "connected to {address}, but nothing answered PING within {} ms. Is this a \
                 Redis-compatible server? (A TLS-only port needs rediss://.)",
                budget.ms()
            ),
        ),
        ClientError::Auth(why) => Check::fail(
            "ping",
            ErrorCode::Auth,
            format!("the server refused us ({})", printable(why)),
        ),
        other => Check::fail(
            "ping",
            ErrorCode::Unreachable,
            format!(
                "{address} did not answer PING ({}). If the server only speaks TLS, use rediss://.",
                printable(&other.to_string())
            ),
        ),
    }
}

/// A last safety net: no detail may carry the password, whatever a server or
/// library put in its error text. Very short passwords are skipped (masking every
/// "a" would garble the text, and they are no secret anyway).
pub(super) fn scrub(detail: &str, endpoint: &Endpoint) -> String {
    match &endpoint.password {
        Some(p) if p.len() >= 4 && detail.contains(p.as_str()) => detail.replace(p.as_str(), "***"),
        _ => detail.to_string(),
    }
}
