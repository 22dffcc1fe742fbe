//! Talking to a Redis-compatible server and judging whether BullMQ can use it: the
//! client (plain or TLS, with our trust roots), `redis://`/`rediss://` URLs, `INFO`,
//! the health checks (version, eviction policy, AOF, Lua, cluster), the BullMQ
//! smoke test, and `probeRedisUrl`'s report. Each step is a [`report::Check`].
//!
//! Uses the base modules, `settings` and `server` (a flavor, a version); nothing
//! here starts, stops or configures a server.

pub mod client;
pub mod clients;
pub mod health;
pub mod probe;
pub mod redis_url;
pub mod report;
pub mod requirements;
pub mod server_info;
pub mod smoke;
#[cfg(test)]
pub mod test_replies;
pub mod tls;
