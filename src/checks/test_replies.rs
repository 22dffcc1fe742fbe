//! Replies as a server sends them, for the unit tests of the modules that read
//! them (health, requirements).

use redis::Value;

pub fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

/// `CONFIG GET name` → `[name, value]`.
pub fn pair(k: &str, v: &str) -> Value {
    Value::Array(vec![bulk(k), bulk(v)])
}

/// A server's error reply as it arrives on the wire.
pub fn error(text: &str) -> Value {
    redis::parse_redis_value(format!("-{text}\r\n").as_bytes()).unwrap()
}
