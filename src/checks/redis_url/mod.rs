//! Parsing and checking `redis://` / `rediss://` URLs into an [`Endpoint`].
//!
//! Hand-written rather than delegated to a general URL parser so that every
//! mistake a user can make gets its own message with the fix, and so that no
//! message ever repeats the URL: a malformed URL cannot be reliably redacted, and
//! any fragment of it might be part of the password. Pure: no I/O.
//!
//! Accepted: `redis[s]://[[user]:password@]host[:port][/db]` with `host` a name,
//! an IPv4 address or a bracketed IPv6 address, and percent-encoding in the user
//! name and password.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::checks::client::Endpoint;
use crate::checks::report::endpoint_urls;
use crate::error::{ErrorCode, Result, StoreError};

/// Longer than any real URL; a longer one is a mistake (or an attack on our memory).
pub const MAX_URL_LEN: usize = 4096;
/// The port Redis listens on when a URL names none.
pub const DEFAULT_PORT: u16 = 6379;
/// Larger than any `databases` setting anyone uses; keeps the number in range.
const MAX_DB_DIGITS: usize = 9;
const MAX_HOST_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// Parses `url`; a malformed one is `E_BAD_URL` with a message that never repeats it.
pub fn parse(url: &str) -> Result<Endpoint> {
    check_characters(url)?;
    let (scheme, rest) = split_scheme(url)?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "redis" => false,
        "rediss" => true,
        "unix" | "redis+unix" | "redis+socket" => {
            return Err(bad(
                "names a Unix socket, which claude-mem-store does not support. Use redis://host:port.",
            ));
        }
        other => {
            return Err(bad(format!(
                "{}. Use redis:// or rediss:// (TLS).",
                scheme_text(other)
            )));
        }
    };

    // The authority ends at the first '/', '?' or '#'. An '@' after that point means
    // a password with one of those characters in it, unencoded.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if tail.contains('@') {
        return Err(bad(
            "has an '@' after a '/', '?' or '#'. If the password contains /, ? or #, percent-encode them \
             as %2F, %3F and %23.",
        ));
    }
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        Some(u) => parse_userinfo(u)?,
        None => (None, None),
    };
    let (host, port) = parse_host_port(hostport)?;
    let db = parse_tail(tail)?;
    Ok(Endpoint {
        host,
        port,
        username,
        password,
        db,
        tls,
    })
}

/// The URL with the password masked, for reports and logs. Only for a parsed URL.
pub fn redacted(endpoint: &Endpoint) -> String {
    endpoint_urls(endpoint).1
}

fn bad(detail: impl AsRef<str>) -> StoreError {
    StoreError::new(
        ErrorCode::BadUrl,
        format!("the Redis URL {}", detail.as_ref()),
    )
}

fn check_characters(url: &str) -> Result<()> {
    if url.is_empty() {
        return Err(bad(
            "is empty. Use redis://host:port (or rediss://host:port for TLS).",
        ));
    }
    if url.len() > MAX_URL_LEN {
        return Err(bad(format!(
            "is {} bytes long; at most {MAX_URL_LEN} are accepted.",
            url.len()
        )));
    }
    if url.contains('\0') {
        return Err(bad("contains a NUL byte."));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(
            "contains a space, line break or control character (a stray one from copying?). Remove it; \
             in a password write a space as %20.",
        ));
    }
    Ok(())
}

fn split_scheme(url: &str) -> Result<(&str, &str)> {
    match url.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() => Ok((scheme, rest)),
        _ => Err(bad(
            "has no scheme. Write it as redis://host:port (or rediss://host:port for TLS).",
        )),
    }
}

/// Names an unknown scheme only when it is clearly just a scheme (never text that
/// could be part of a password).
fn scheme_text(scheme: &str) -> String {
    let plain = scheme.len() <= 16
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if plain {
        format!("has the scheme '{scheme}', which is not a Redis scheme")
    } else {
        "has a scheme that is not a Redis scheme".to_string()
    }
}

fn parse_userinfo(userinfo: &str) -> Result<(Option<String>, Option<String>)> {
    let Some((user, password)) = userinfo.split_once(':') else {
        return Err(bad(if userinfo.is_empty() {
            "has an '@' but no password before it. Write redis://:password@host, or drop the '@'."
        } else {
            "has a user name but no password. Write redis://user:password@host for an ACL user, \
             or redis://:password@host for the default user."
        }));
    };
    if password.is_empty() {
        return Err(bad(
            "has an empty password. Write redis://user:password@host (or drop the user part if the \
             server needs no password).",
        ));
    }
    let user = decode("user name", user)?;
    let password = decode("password", password)?;
    Ok(((!user.is_empty()).then_some(user), Some(password)))
}

/// Percent-decodes `text`; the result must be UTF-8 without control characters.
fn decode(what: &str, text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
            match hex {
                Some(b) => out.push(b),
                None => {
                    return Err(bad(format!(
                        "has a '%' in its {what} that is not followed by two hex digits. Write a literal % \
                         as %25."
                    )));
                }
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).map_err(|_| {
        bad(format!(
            "has a {what} that is not UTF-8 text once percent-decoded."
        ))
    })?;
    if decoded.chars().any(char::is_control) {
        return Err(bad(format!(
            "has a {what} that decodes to a control character (such as %00 or %0A)."
        )));
    }
    Ok(decoded)
}

fn parse_host_port(hostport: &str) -> Result<(String, u16)> {
    let (host, port_text) = if let Some(inner) = hostport.strip_prefix('[') {
        let Some((v6, after)) = inner.split_once(']') else {
            return Err(bad(
                "has an IPv6 address without its closing ']'. Write redis://[::1]:6379.",
            ));
        };
        let port_text = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(p),
                None => {
                    return Err(bad(
                        "has text after the IPv6 address's ']' that is not ':port'.",
                    ));
                }
            },
        };
        (parse_ipv6(v6)?, port_text)
    } else {
        let colons = hostport.matches(':').count();
        if colons > 1 {
            return Err(bad(
                "looks like it has an IPv6 address without brackets. Write redis://[::1]:6379.",
            ));
        }
        let (host, port_text) = match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        };
        (parse_host(host)?, port_text)
    };
    let port = match port_text {
        None => DEFAULT_PORT,
        Some(p) => parse_port(p)?,
    };
    Ok((host, port))
}

fn parse_ipv6(text: &str) -> Result<String> {
    if text.contains('%') {
        return Err(bad(
            "has an IPv6 zone id (%…), which is not supported. Use an address without a zone.",
        ));
    }
    text.parse::<Ipv6Addr>()
        .map(|a| a.to_string())
        .map_err(|_| bad("has a bracketed host that is not a valid IPv6 address."))
}

fn parse_host(host: &str) -> Result<String> {
    if host.is_empty() {
        return Err(bad(
            "has no host. Write redis://host:port, for example redis://127.0.0.1:6379.",
        ));
    }
    if host.len() > MAX_HOST_LEN {
        return Err(bad(format!(
            "has a host name of {} characters; at most {MAX_HOST_LEN} are allowed.",
            host.len()
        )));
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        // All digits and dots: an IPv4 address, written out in full (no `127.1`).
        return host
            .parse::<Ipv4Addr>()
            .map(|a| a.to_string())
            .map_err(|_| bad("has a host that is not a valid IPv4 address (four numbers 0–255)."));
    }
    if host.contains('%') {
        return Err(bad(
            "has a percent-encoded host; write the host name as plain text.",
        ));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        return Err(bad(
            "has a host with characters a host name cannot have (only letters, digits, '-', '_' and '.'; \
             write an international name in its xn-- form).",
        ));
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    for label in name.split('.') {
        if label.is_empty() {
            return Err(bad("has a host name with an empty part ('..')."));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(bad(format!(
                "has a host name part longer than {MAX_LABEL_LEN} characters."
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("has a host name part that starts or ends with '-'."));
        }
    }
    Ok(host.to_ascii_lowercase())
}

fn parse_port(text: &str) -> Result<u16> {
    if text.is_empty() {
        return Err(bad(
            "has a ':' but no port after it. Write host:port, e.g. 127.0.0.1:6379, or drop the ':'.",
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("has a port that is not a number."));
    }
    match text.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        Ok(n) => Err(bad(format!(
            "has port {n}, which is out of range (1–65535)."
        ))),
        Err(_) => Err(bad("has a port that is out of range (1–65535).")),
    }
}

/// The path, query and fragment: only `/<db>` is meaningful to us.
fn parse_tail(tail: &str) -> Result<i64> {
    if tail.contains('#') {
        return Err(bad(
            "contains a '#'. If it is part of the password, percent-encode it as %23.",
        ));
    }
    if tail.contains('?') {
        return Err(bad(
            "has query parameters (?…), which claude-mem-store does not read. Put the database in the \
             path (redis://host:6379/2) and use rediss:// for TLS.",
        ));
    }
    let db = match tail.strip_prefix('/') {
        None | Some("") => return Ok(0),
        Some(db) => db,
    };
    if db.is_empty() || !db.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "has a path that is not a database number. Write the database as /0, /1, … or leave it out.",
        ));
    }
    if db.len() > MAX_DB_DIGITS {
        return Err(bad("has a database number that is far too large."));
    }
    db.parse::<i64>()
        .map_err(|_| bad("has a database number that is far too large."))
}

#[cfg(test)]
mod tests;
