//! What `probeRedisUrl` reads from its arguments: the URL (a string, else
//! `E_BAD_URL`) and its options, with their defaults and the environment behind
//! them (`CLAUDE_MEM_QUEUE_REDIS_PREFIX`, `CLAUDE_MEM_REDIS_CA_FILE`). Plain JSON
//! in, so `cargo test` reads them without N-API.

use serde_json::Value;

use super::{DEFAULT_PROBE_TIMEOUT, ProbeOptions, load_ca_file};
use crate::error::{ErrorCode, Result, StoreError};
use crate::settings::options::{OptionSet, type_name};
use crate::settings::{Env, KEY_CA_FILE, claude_mem, parse_timeout};

/// `probeRedisUrl(url, options?: ProbeOptions)`.
pub const PROBE: OptionSet = OptionSet {
    function: "probeRedisUrl",
    groups: &[&["timeoutMs", "smoke", "prefix", "caFile"]],
};

/// The URL argument as the binding converted it: absent, a JSON value, or what
/// it was when it could not be read (`"an object"`, `"a Symbol"`, …).
pub fn read_url(arg: std::result::Result<Option<&Value>, &str>) -> Result<String> {
    match arg {
        Ok(Some(Value::String(u))) => Ok(u.clone()),
        Ok(None | Some(Value::Null)) => Err(StoreError::new(
            ErrorCode::BadUrl,
            "probeRedisUrl needs a URL: probeRedisUrl('redis://host:port').",
        )),
        Ok(Some(other)) => Err(not_a_url(type_name(other))),
        Err(what) => Err(not_a_url(what)),
    }
}

fn not_a_url(what: &str) -> StoreError {
    StoreError::new(
        ErrorCode::BadUrl,
        format!("probeRedisUrl's URL must be a string such as 'redis://host:port', got {what}."),
    )
}

impl ProbeOptions {
    /// Options: explicit > environment (`CLAUDE_MEM_QUEUE_REDIS_PREFIX`,
    /// `CLAUDE_MEM_REDIS_CA_FILE`) > default.
    pub fn read(options: Option<&Value>, env: &Env) -> Result<ProbeOptions> {
        let reader = PROBE.reader(options)?;
        let timeout = match reader.number_text("timeoutMs")? {
            None => DEFAULT_PROBE_TIMEOUT,
            Some(t) => parse_timeout(&t).ok_or_else(|| {
                StoreError::new(
                    ErrorCode::BadOption,
                    format!(
                        "{}: timeoutMs is {t}; use a whole number of milliseconds from 1 to 600000.",
                        PROBE.function
                    ),
                )
            })?,
        };
        let from_env = |key: &str| env.get(key).filter(|v| !v.is_empty()).cloned();
        // An explicit prefix is probed as given (BullMQ used directly may hash-tag it);
        // otherwise the one claude-mem's queues will use.
        let prefix = match reader.string("prefix")?.filter(|p| !p.is_empty()) {
            Some(prefix) => prefix,
            None => claude_mem::env_prefix(env),
        };
        let ca_pem = match reader.string("caFile")?.filter(|p| !p.is_empty()) {
            Some(path) => Some(load_ca_file(path.as_ref(), ErrorCode::BadOption)?),
            None => match from_env(KEY_CA_FILE) {
                Some(path) => Some(load_ca_file(path.as_ref(), ErrorCode::BadSettings)?),
                None => None,
            },
        };
        Ok(ProbeOptions {
            timeout,
            smoke: reader.bool("smoke")?.unwrap_or(false),
            prefix,
            ca_pem,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::KEY_PREFIX;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn the_url_must_be_a_string() {
        assert_eq!(
            read_url(Ok(Some(&json!("redis://h:1")))).unwrap(),
            "redis://h:1"
        );
        let e = read_url(Ok(None)).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadUrl);
        assert_eq!(
            e.message,
            "probeRedisUrl needs a URL: probeRedisUrl('redis://host:port')."
        );
        let e = read_url(Ok(Some(&json!(5)))).unwrap_err();
        assert_eq!(
            e.message,
            "probeRedisUrl's URL must be a string such as 'redis://host:port', got a number."
        );
        let e = read_url(Err("a Symbol")).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadUrl);
        assert!(e.message.ends_with("got a Symbol."), "{}", e.message);
    }

    #[test]
    fn defaults_and_the_environment() {
        let o = ProbeOptions::read(None, &Env::new()).unwrap();
        assert_eq!(o.timeout, DEFAULT_PROBE_TIMEOUT);
        assert!(!o.smoke);
        assert_eq!(o.prefix, claude_mem::env_prefix(&Env::new()));
        assert!(o.ca_pem.is_none());
        let env = Env::from([(KEY_PREFIX.to_string(), "from env".to_string())]);
        assert_eq!(ProbeOptions::read(None, &env).unwrap().prefix, "from_env");
        // An explicit prefix is probed as given, unsanitised.
        let o = ProbeOptions::read(
            Some(&json!({"prefix": "{q}", "smoke": true, "timeoutMs": 42})),
            &env,
        )
        .unwrap();
        assert_eq!(o.prefix, "{q}");
        assert!(o.smoke);
        assert_eq!(o.timeout, Duration::from_millis(42));
    }

    #[test]
    fn a_bad_timeout_or_ca_file_is_named_by_where_it_came_from() {
        let e = ProbeOptions::read(Some(&json!({"timeoutMs": 0})), &Env::new()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadOption);
        assert_eq!(
            e.message,
            "probeRedisUrl: timeoutMs is 0; use a whole number of milliseconds from 1 to 600000."
        );
        let missing = "/nonexistent/cms-probe-ca.pem";
        let e = ProbeOptions::read(Some(&json!({ "caFile": missing })), &Env::new()).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadOption);
        let env = Env::from([(KEY_CA_FILE.to_string(), missing.to_string())]);
        let e = ProbeOptions::read(None, &env).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadSettings);
        // An empty variable is not set.
        let env = Env::from([(KEY_CA_FILE.to_string(), String::new())]);
        assert!(ProbeOptions::read(None, &env).unwrap().ca_pem.is_none());
    }
}
