//! Resolving the store's settings: explicit option > environment variable >
//! `<dataDir>/settings.json` > default. Every value is validated here, whatever its
//! source, and a bad one is `E_BAD_SETTINGS` naming the key and where it came from.
//!
//! The settings concept lives in this folder: [`options`] (reading a JS options
//! object by type), [`read`] (what each store export reads from its options, with
//! the defaults), [`file`] (claude-mem's settings.json), [`paths`] (the data dir's
//! layout), [`secret`] (the generated password). Uses only the base modules.

pub mod claude_mem;
pub mod file;
pub mod keys;
pub mod options;
pub mod paths;
mod persist;
pub mod read;
pub mod secret;

pub use keys::*;
use persist::names_own_store;
pub use persist::{has_own_store_shape, is_own_store_url, own_store_url};

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{ErrorCode, Result, StoreError};
use crate::settings::file::SettingsFile;
use crate::settings::options::OptionReader;

/// The raw, unvalidated options a caller passed (all text, as an env var would be).
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    pub data_dir: Option<String>,
    pub mode: Option<String>,
    pub url: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub binary: Option<String>,
    pub prefix: Option<String>,
    pub timeout_ms: Option<String>,
    pub ca_file: Option<String>,
}

impl StoreOptions {
    /// Reads the `StoreOptions` keys from an options object already checked by `reader`.
    pub fn read(reader: &OptionReader<'_>) -> Result<StoreOptions> {
        Ok(StoreOptions {
            data_dir: reader.string("dataDir")?,
            mode: reader.string("mode")?,
            url: reader.string("url")?,
            host: reader.string("host")?,
            port: reader.number_text("port")?,
            binary: reader.string("binary")?,
            prefix: reader.string("prefix")?,
            timeout_ms: reader.number_text("timeoutMs")?,
            ca_file: reader.string("caFile")?,
        })
    }
}

/// A port and where it came from: only a port we allocated ourselves (persisted in
/// settings.json) may be moved when someone else holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSetting {
    pub port: u16,
    pub source: Source,
}

impl PortSetting {
    /// Chosen by the caller (option or environment): used as is, never moved or saved.
    pub fn is_explicit(&self) -> bool {
        matches!(self.source, Source::Option | Source::Environment)
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub mode: Mode,
    pub url: Option<String>,
    pub host: String,
    pub port: Option<PortSetting>,
    /// Managed/docker: settings.json held `CLAUDE_MEM_REDIS_PORT=6379`, which
    /// claude-mem ≥ 13 writes on first boot as its default for an external Redis.
    /// It is not a private port anyone chose, so `port` is `None` (one is allocated
    /// and saved) and ensure says so in a notice.
    pub seeded_port_ignored: bool,
    /// `CLAUDE_MEM_REDIS_URL` named this data dir's own store (the URL ensure
    /// writes, with our generated password): it is not a user's server, so `url`
    /// is `None`, and it is never probed or reported as an external one.
    pub own_url: bool,
    pub binary: Option<PathBuf>,
    pub prefix: String,
    pub timeout: Duration,
    /// `rediss://` only: a PEM file of the CA(s) to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// The settings file as read, kept so that a later update keeps its other keys.
    pub file: SettingsFile,
    /// Where claude-mem will read these settings differently from the addon (an
    /// exported empty variable it cannot follow, a prefix its sanitiser changes):
    /// every status and ensure passes them on.
    pub notices: Vec<String>,
}

/// The process environment, reduced to what we read. A map so tests can supply one.
pub type Env = HashMap<String, String>;

pub fn process_env() -> Env {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with("CLAUDE_MEM_") || k == "HOME" || k == "USERPROFILE")
        .collect()
}

impl Settings {
    pub fn resolve(options: &StoreOptions, env: &Env) -> Result<Settings> {
        let (data_dir, file) = resolve_data_dir_and_file(options.data_dir.as_deref(), env)?;
        // claude-mem's reader: an exported variable, even empty, else the file's key,
        // even "" (see `claude_mem`). Ours wins only when it is a non-empty option.
        let found = |key: &str| -> Result<Option<(String, Source)>> {
            if let Some(v) = env.get(key) {
                return Ok(Some((v.clone(), Source::Environment)));
            }
            Ok(file.get_as_written(key)?.map(|v| (v, Source::SettingsFile)))
        };
        let pick = |option: &Option<String>, key: &str| -> Result<Option<(String, Source)>> {
            match option.as_ref().filter(|v| !v.is_empty()) {
                Some(v) => Ok(Some((v.clone(), Source::Option))),
                None => found(key),
            }
        };
        // Mode and port: claude-mem refuses an empty one, which the addon cannot
        // follow; it says so and reads on as if the variable were not exported.
        let mut notices = Vec::new();
        let mut pick_or_tell = |option: &Option<String>,
                                key: &str|
         -> Result<Option<(String, Source)>> {
            match pick(option, key)? {
                Some((v, source)) if claude_mem::is_blank(&v) => {
                    notices.push(format!(
                        "{} is empty: claude-mem refuses to start its BullMQ queue with it (\"Invalid {key}=\"); \
                         {}. The addon reads it as not set.",
                        describe_source(key, source, file.path()),
                        if source == Source::Environment {
                            format!("unset it (`unset {key}`)")
                        } else {
                            "remove the key or give it a value".to_string()
                        }
                    ));
                    match source {
                        Source::Environment => {
                            Ok(file.get(key)?.map(|v| (v, Source::SettingsFile)))
                        }
                        _ => Ok(None),
                    }
                }
                picked => Ok(picked),
            }
        };
        let describe = |key: &str, source: Source| describe_source(key, source, file.path());

        let mode = match pick_or_tell(&options.mode, KEY_MODE)? {
            None => Mode::Managed,
            Some((v, source)) => parse_mode(&v).ok_or_else(|| {
                bad_setting(format!(
                    "{} is '{}', which is not a mode. Use managed, external or docker.",
                    describe(KEY_MODE, source),
                    short(&v)
                ))
            })?,
        };
        let port_picked = pick_or_tell(&options.port, KEY_PORT)?;
        // An empty URL is no URL to claude-mem: it connects to HOST:PORT without a
        // password, even when settings.json has a URL (an exported "" hides it).
        let url_picked = pick(&options.url, KEY_URL)?;
        if let Some((v, Source::Environment)) = &url_picked
            && claude_mem::is_blank(v)
            && mode != Mode::External
        {
            notices.push(format!(
                "{KEY_URL} is exported but empty: claude-mem takes that as set, so it connects to \
                 {KEY_HOST}:{KEY_PORT} without a password, and the {} store refuses it (NOAUTH). \
                 Unset it (`unset {KEY_URL}`), or start claude-mem with `npx claude-mem-store run -- <command>`, \
                 which sets it.",
                mode.as_str()
            ));
        }
        let mut url = url_picked
            .map(|(v, _)| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let own_url = url
            .as_deref()
            .is_some_and(|u| names_own_store(u, &data_dir));
        if own_url {
            url = None;
        }
        let host = match pick(&options.host, KEY_HOST)? {
            Some((v, source)) if !claude_mem::is_blank(&v) => (v.trim().to_string(), source),
            _ => (DEFAULT_HOST.to_string(), Source::Default),
        };
        if mode != Mode::External && !is_loopback_host(&host.0) {
            return Err(bad_setting(format!(
                "{} is '{}', but the {} store listens on loopback only. \
                 Use 127.0.0.1 (or remove the setting); for a server elsewhere use mode external with a URL.",
                describe(KEY_HOST, host.1),
                short(&host.0),
                mode.as_str()
            )));
        }
        let mut seeded_port_ignored = false;
        let port = match port_picked {
            None => None,
            // The default claude-mem wrote, not a private port anyone chose.
            Some((v, Source::SettingsFile))
                if mode != Mode::External && v.trim() == GLOBAL_REDIS_PORT.to_string() =>
            {
                seeded_port_ignored = true;
                None
            }
            // Someone else's server: any TCP port, 6379 included.
            Some((v, source)) if mode == Mode::External => Some(PortSetting {
                port: parse_external_port(&v).ok_or_else(|| {
                    bad_setting(format!(
                        "{} is '{}', which is not a port. Use a whole number from 1 to 65535.",
                        describe(KEY_PORT, source),
                        short(&v)
                    ))
                })?,
                source,
            }),
            Some((v, source)) => Some(PortSetting {
                port: parse_port(&v).ok_or_else(|| {
                    bad_setting(format!(
                        "{} is '{}', which is not a port. Use a whole number from 1024 to 65535 other than 6379, or remove it to let claude-mem pick one.",
                        describe(KEY_PORT, source),
                        short(&v)
                    ))
                })?,
                source,
            }),
        };
        // The prefix claude-mem's queues will really use, sanitised as it does.
        let prefix = match pick(&options.prefix, KEY_PREFIX)? {
            None => claude_mem::default_prefix(env),
            Some((raw, source)) => {
                let prefix = claude_mem::sanitize_prefix(&raw);
                if !claude_mem::is_blank(&raw) && prefix != raw {
                    notices.push(format!(
                        "{} is '{}'; claude-mem turns every character other than letters, digits, _ and - \
                         into _, so its queues use the prefix '{prefix}', and so does this store's smoke test",
                        describe(KEY_PREFIX, source),
                        short(&raw)
                    ));
                }
                prefix
            }
        };
        let binary = match options.binary.as_deref().filter(|b| !b.is_empty()) {
            None => None,
            Some(b) => Some(expand_home(b, env).ok_or_else(|| {
                bad_setting(format!(
                    "the binary option '{}' must be an absolute path to valkey-server or redis-server.",
                    short(b)
                ))
            })?),
        };
        let ca_file = match pick(&options.ca_file, KEY_CA_FILE)? {
            // Not claude-mem's key: empty is not set.
            None => None,
            Some((v, _)) if v.is_empty() => None,
            Some((v, source)) => Some(expand_home(&v, env).ok_or_else(|| {
                bad_setting(format!(
                    "{} is '{}'; it must be an absolute path to a PEM file of CA certificates.",
                    describe(KEY_CA_FILE, source),
                    short(&v)
                ))
            })?),
        };
        let timeout = match options.timeout_ms.as_deref() {
            None => DEFAULT_TIMEOUT,
            Some(t) => parse_timeout(t).ok_or_else(|| {
                StoreError::new(
                    ErrorCode::BadOption,
                    format!(
                        "timeoutMs is '{}'; use a whole number of milliseconds from 1 to {MAX_TIMEOUT_MS}.",
                        short(t)
                    ),
                )
            })?,
        };
        Ok(Settings {
            data_dir,
            mode,
            url,
            host: host.0,
            port,
            seeded_port_ignored,
            own_url,
            binary,
            prefix,
            timeout,
            ca_file,
            file,
            notices,
        })
    }
}

/// The data dir and its settings.json. Like claude-mem (`resolveDataDir` in its
/// `src/shared/paths.ts`), with neither the option nor `CLAUDE_MEM_DATA_DIR` set,
/// `~/.claude-mem/settings.json` may move the data dir elsewhere with its own
/// `CLAUDE_MEM_DATA_DIR` key; then that dir's settings.json is the one used.
fn resolve_data_dir_and_file(option: Option<&str>, env: &Env) -> Result<(PathBuf, SettingsFile)> {
    let chosen = option.is_some_and(|v| !v.is_empty())
        || env.get(KEY_DATA_DIR).is_some_and(|v| !v.is_empty());
    let dir = resolve_data_dir(option, env)?;
    let file = SettingsFile::load(&dir.join("settings.json"))?;
    if chosen {
        return Ok((dir, file));
    }
    let Some(raw) = file.get(KEY_DATA_DIR)? else {
        return Ok((dir, file));
    };
    let moved = expand_home(&raw, env).ok_or_else(|| {
        bad_setting(format!(
            "{} is '{}'; it must be an absolute path (for example ~/.claude-mem).",
            describe_source(KEY_DATA_DIR, Source::SettingsFile, file.path()),
            short(&raw)
        ))
    })?;
    if moved == dir {
        return Ok((dir, file));
    }
    if moved.exists() && !moved.is_dir() {
        return Err(bad_setting(format!(
            "{} is '{}', which is a file, not a directory. Point it at a directory.",
            describe_source(KEY_DATA_DIR, Source::SettingsFile, file.path()),
            short(&raw)
        )));
    }
    let file = SettingsFile::load(&moved.join("settings.json"))?;
    Ok((moved, file))
}

fn resolve_data_dir(option: Option<&str>, env: &Env) -> Result<PathBuf> {
    let (raw, source) = match option.filter(|v| !v.is_empty()) {
        Some(v) => (v.to_string(), "the dataDir option"),
        None => match env.get(KEY_DATA_DIR).filter(|v| !v.is_empty()) {
            Some(v) => (v.clone(), "CLAUDE_MEM_DATA_DIR (environment)"),
            None => {
                let home = home_dir(env).ok_or_else(|| {
                    bad_setting(
                        "no home directory is known (HOME is not set). Set CLAUDE_MEM_DATA_DIR to an absolute path."
                            .to_string(),
                    )
                })?;
                return Ok(home.join(".claude-mem"));
            }
        },
    };
    let dir = expand_home(&raw, env).ok_or_else(|| {
        bad_setting(format!(
            "{source} is '{}'; it must be an absolute path (for example ~/.claude-mem).",
            short(&raw)
        ))
    })?;
    // A missing dir is fine (ensure creates it; status and stop never do), but one
    // that is a file would otherwise fail later as an obscure I/O error.
    match std::fs::metadata(&dir) {
        Ok(meta) if !meta.is_dir() => Err(bad_setting(format!(
            "{source} is '{}', which is a file, not a directory. Point it at a directory (or a path that does not exist yet).",
            short(&raw)
        ))),
        _ => Ok(dir),
    }
}

fn home_dir(env: &Env) -> Option<PathBuf> {
    env.get("HOME")
        .or_else(|| env.get("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// `~/x` → `$HOME/x`; anything else must already be absolute.
fn expand_home(raw: &str, env: &Env) -> Option<PathBuf> {
    let path = if raw == "~" {
        home_dir(env)?
    } else if let Some(rest) = raw.strip_prefix("~/") {
        home_dir(env)?.join(rest)
    } else {
        PathBuf::from(raw)
    };
    path.is_absolute().then_some(path)
}

/// For tests here and in other modules: an environment of `pairs` whose data dir
/// is `dir` (so that nothing reads the real home).
#[cfg(test)]
pub(crate) fn test_env(dir: &std::path::Path, pairs: &[(&str, &str)]) -> Env {
    let mut env: Env = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    env.insert(KEY_DATA_DIR.into(), dir.display().to_string());
    env
}

#[cfg(test)]
mod tests;
