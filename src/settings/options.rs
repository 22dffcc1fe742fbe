//! Reading the plain option objects JavaScript passes in.
//!
//! Options arrive as JSON values (not typed N-API structs) so that every mistake a
//! caller can make — a wrong type, a misspelt key, a NUL byte — is answered with our
//! own stable `E_BAD_OPTION` code and a message naming the option, instead of a
//! generic N-API type error.
//!
//! [`OptionSet`] names the keys one export accepts; [`OptionReader`] checks an
//! options object against them and reads each value by type. What a value means
//! (its default, the environment variable behind it, its range) is decided by the
//! readers built on these: [`super::read`] for the store's exports,
//! `install::options` for the installer's.

use serde_json::{Map, Value};

use crate::error::{ErrorCode, Result, StoreError};

/// Longest string we accept in any option: paths and URLs are far shorter.
const MAX_OPTION_LEN: usize = 4096;

/// The options one export accepts: its JavaScript name (every message starts with
/// it) and its keys, in groups — a shared list such as
/// [`STORE_OPTION_KEYS`](super::STORE_OPTION_KEYS) first, then the export's own.
/// The order is the order "Known options: …" lists them in. Every export's set is
/// also written to `cli/option-keys.json` for the CLI (see `binding::option_keys`).
#[derive(Debug, Clone, Copy)]
pub struct OptionSet {
    pub function: &'static str,
    pub groups: &'static [&'static [&'static str]],
}

impl OptionSet {
    /// Every key, in order.
    pub fn keys(&self) -> Vec<&'static str> {
        self.groups.concat()
    }

    /// A reader of `value` that accepts exactly these keys.
    pub fn reader<'a>(&self, value: Option<&'a Value>) -> Result<OptionReader<'a>> {
        OptionReader::new(self.function, value, &self.keys())
    }
}

/// A validated view of one options object.
pub struct OptionReader<'a> {
    function: &'static str,
    map: Option<&'a Map<String, Value>>,
}

impl<'a> OptionReader<'a> {
    /// Accepts `undefined`/`null` (no options) or a plain object whose keys are all in
    /// `known`. Anything else is `E_BAD_OPTION`.
    pub fn new(function: &'static str, value: Option<&'a Value>, known: &[&str]) -> Result<Self> {
        let map = match value {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                return Err(bad_option(
                    function,
                    format!(
                        "options must be an object, got {}. Call {function}() or {function}({{ ... }}).",
                        type_name(other)
                    ),
                ));
            }
        };
        if let Some(map) = map {
            for key in map.keys() {
                if !known.contains(&key.as_str()) {
                    let hint = closest(key, known)
                        .map(|k| format!(" Did you mean '{k}'?"))
                        .unwrap_or_default();
                    return Err(bad_option(
                        function,
                        format!(
                            "unknown option '{}'.{hint} Known options: {}.",
                            printable(key),
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(OptionReader { function, map })
    }

    /// The export these options were given to, for messages.
    pub fn function(&self) -> &'static str {
        self.function
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        match self.map?.get(key)? {
            Value::Null => None,
            v => Some(v),
        }
    }

    /// A string option: no NUL bytes, at most 4 KiB.
    pub fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                check_text(self.function, key, s)?;
                Ok(Some(s.clone()))
            }
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    /// A number option, kept as the caller wrote it so the setting resolver can
    /// validate it the same way as a value from the environment or settings.json.
    pub fn number_text(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.wrong_type(key, "a number", other)),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(key, "true or false", other)),
        }
    }

    fn wrong_type(&self, key: &str, wanted: &str, got: &Value) -> StoreError {
        bad_option(
            self.function,
            format!("option '{key}' must be {wanted}, got {}.", type_name(got)),
        )
    }
}

/// Rejects text that cannot be a path, URL or name: NUL bytes and absurd lengths.
pub fn check_text(function: &str, key: &str, s: &str) -> Result<()> {
    if s.contains('\0') {
        return Err(bad_option(
            function,
            format!("option '{key}' contains a NUL byte."),
        ));
    }
    if s.len() > MAX_OPTION_LEN {
        return Err(bad_option(
            function,
            format!(
                "option '{key}' is {} bytes long; at most {MAX_OPTION_LEN} are accepted.",
                s.len()
            ),
        ));
    }
    Ok(())
}

fn bad_option(function: &str, message: String) -> StoreError {
    StoreError::new(ErrorCode::BadOption, format!("{function}: {message}"))
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Keys are echoed back in messages: keep them short and free of control characters.
fn printable(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(64)
        .collect();
    if s.chars().count() > 64 {
        format!("{cleaned}…")
    } else {
        cleaned
    }
}

/// The known key nearest to a misspelt one (edit distance ≤ 2), for "did you mean".
fn closest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (edit_distance(&key.to_lowercase(), &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_and_null_options_are_empty() {
        let r = OptionReader::new("f", None, &["port"]).unwrap();
        assert_eq!(r.string("port").unwrap(), None);
        let v = Value::Null;
        assert!(OptionReader::new("f", Some(&v), &["port"]).is_ok());
    }

    #[test]
    fn non_object_is_rejected() {
        for v in [json!(1), json!("x"), json!([1]), json!(true)] {
            let e = OptionReader::new("f", Some(&v), &[]).err().unwrap();
            assert_eq!(e.code, ErrorCode::BadOption);
        }
    }

    #[test]
    fn unknown_key_suggests_the_near_one() {
        let v = json!({"prot": 1});
        let e = OptionReader::new("f", Some(&v), &["port", "host"])
            .err()
            .unwrap();
        assert_eq!(e.code, ErrorCode::BadOption);
        assert!(e.message.contains("Did you mean 'port'"), "{}", e.message);
    }

    #[test]
    fn wrong_types_nul_and_huge_strings_are_rejected() {
        let v = json!({"host": 5, "port": "x", "dataDir": "a\u{0}b", "url": "u".repeat(5000)});
        let r = OptionReader::new("f", Some(&v), &["host", "port", "dataDir", "url"]).unwrap();
        assert_eq!(r.string("host").unwrap_err().code, ErrorCode::BadOption);
        assert_eq!(
            r.number_text("port").unwrap_err().code,
            ErrorCode::BadOption
        );
        assert!(r.string("dataDir").unwrap_err().message.contains("NUL"));
        assert!(r.string("url").unwrap_err().message.contains("bytes long"));
    }

    #[test]
    fn an_option_set_accepts_its_groups_in_order() {
        const SET: OptionSet = OptionSet {
            function: "f",
            groups: &[&["a", "b"], &["c"]],
        };
        assert_eq!(SET.keys(), ["a", "b", "c"]);
        assert!(SET.reader(Some(&json!({"c": true}))).is_ok());
        let e = SET.reader(Some(&json!({"d": 1}))).err().unwrap();
        assert!(
            e.message.ends_with("Known options: a, b, c."),
            "{}",
            e.message
        );
        assert!(e.message.starts_with("f: "), "{}", e.message);
    }

    #[test]
    fn numbers_keep_their_written_form() {
        let v = json!({"port": 23456, "t": 1.5, "n": -3});
        let r = OptionReader::new("f", Some(&v), &["port", "t", "n"]).unwrap();
        assert_eq!(r.number_text("port").unwrap().as_deref(), Some("23456"));
        assert_eq!(r.number_text("t").unwrap().as_deref(), Some("1.5"));
        assert_eq!(r.number_text("n").unwrap().as_deref(), Some("-3"));
    }
}
