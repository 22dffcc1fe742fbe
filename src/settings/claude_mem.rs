//! claude-mem's own reading of its queue settings (13.25.3: `getRedisQueueConfig`
//! and `SettingsDefaultsManager` in `plugin/scripts/server-service.cjs`), so that
//! the addon checks the store claude-mem will really use:
//!
//! - a key is taken from the environment when the variable is exported, **even
//!   empty** (`process.env[key] !== undefined`), else from settings.json when the
//!   key is there, even as `""`, else its default;
//! - then: an empty URL means `HOST:PORT` with no password, an empty host means
//!   `127.0.0.1`, an empty prefix means `claude_mem`, and an empty mode or port
//!   stops its queue from starting (`Invalid CLAUDE_MEM_REDIS_MODE=`);
//! - the prefix defaults to `claude_mem_<CLAUDE_MEM_WORKER_PORT or 37700 + uid % 100>`
//!   and is sanitised: every UTF-16 unit outside `[a-zA-Z0-9_-]` becomes `_`, so no
//!   `{…}` hash tag ever reaches BullMQ.

use super::Env;

/// The worker-port variable claude-mem's default prefix is built from.
pub const KEY_WORKER_PORT: &str = "CLAUDE_MEM_WORKER_PORT";
/// What an empty (or blank) prefix becomes.
pub const EMPTY_PREFIX: &str = "claude_mem";

/// claude-mem's default `CLAUDE_MEM_QUEUE_REDIS_PREFIX`: `claude_mem_` and the
/// exported `CLAUDE_MEM_WORKER_PORT` (even empty), else `37700 + uid % 100`
/// (uid 77 where there is none, as on Windows). Its default reads the worker port
/// from the environment only, never from settings.json.
pub fn default_prefix(env: &Env) -> String {
    let worker_port = match env.get(KEY_WORKER_PORT) {
        Some(port) => port.clone(),
        None => (37700 + current_uid() % 100).to_string(),
    };
    sanitize_prefix(&format!("claude_mem_{worker_port}"))
}

/// The prefix claude-mem's queues use when settings.json is not consulted: the
/// exported `CLAUDE_MEM_QUEUE_REDIS_PREFIX` (even empty), sanitised, else the default.
pub fn env_prefix(env: &Env) -> String {
    match env.get(super::KEY_PREFIX) {
        Some(prefix) => sanitize_prefix(prefix),
        None => default_prefix(env),
    }
}

/// `(prefix.trim() || "claude_mem").replace(/[^a-zA-Z0-9_-]/g, "_")`, as claude-mem
/// does: the regex has no `u` flag, so a character outside the BMP is two units and
/// becomes `__`.
pub fn sanitize_prefix(raw: &str) -> String {
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.is_empty() {
        return EMPTY_PREFIX.to_string();
    }
    trimmed
        .chars()
        .flat_map(|c| {
            let keep = c.is_ascii_alphanumeric() || c == '_' || c == '-';
            let n = if keep { 1 } else { c.len_utf16() };
            std::iter::repeat_n(if keep { c } else { '_' }, n)
        })
        .collect()
}

/// Whether claude-mem takes `value` as empty (it trims before testing).
pub fn is_blank(value: &str) -> bool {
    value
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .is_empty()
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(not(unix))]
fn current_uid() -> u32 {
    // `process.getuid?.() ?? 77` in claude-mem: Windows has no uid.
    77
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_like_claude_mem() {
        assert_eq!(sanitize_prefix("claude_mem_37742"), "claude_mem_37742");
        assert_eq!(sanitize_prefix("{claude-mem}"), "_claude-mem_");
        assert_eq!(sanitize_prefix("a b:c"), "a_b_c");
        assert_eq!(sanitize_prefix("  "), "claude_mem");
        assert_eq!(sanitize_prefix(""), "claude_mem");
        assert_eq!(sanitize_prefix(" x "), "x");
        assert_eq!(sanitize_prefix("é"), "_");
        assert_eq!(sanitize_prefix("q😀"), "q__");
    }

    #[test]
    fn default_prefix_follows_the_worker_port_or_the_uid() {
        let mut env = Env::new();
        let uid_based = default_prefix(&env);
        assert_eq!(
            uid_based,
            format!("claude_mem_{}", 37700 + current_uid() % 100)
        );
        env.insert(KEY_WORKER_PORT.into(), "38888".into());
        assert_eq!(default_prefix(&env), "claude_mem_38888");
        // Exported empty: `??` keeps it, so the prefix ends in `_`.
        env.insert(KEY_WORKER_PORT.into(), String::new());
        assert_eq!(default_prefix(&env), "claude_mem_");
    }
}
