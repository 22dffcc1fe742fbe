//! Resolving the store's settings: explicit option > environment variable >
//! `<dataDir>/settings.json` > default. Every value is validated here, whatever its
//! source, and a bad one is `E_BAD_SETTINGS` naming the key and where it came from.
//!
//! The settings concept lives in this folder: [`options`] (reading a JS options
//! object), [`file`] (claude-mem's settings.json), [`paths`] (the data dir's layout),
//! [`secret`] (the generated password). Uses only the base modules.

pub mod file;
pub mod options;
pub mod paths;
pub mod secret;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{ErrorCode, Result, StoreError};
use crate::settings::file::SettingsFile;
use crate::settings::options::OptionReader;
use crate::settings::paths::StorePaths;

pub const KEY_DATA_DIR: &str = "CLAUDE_MEM_DATA_DIR";
pub const KEY_MODE: &str = "CLAUDE_MEM_REDIS_MODE";
pub const KEY_URL: &str = "CLAUDE_MEM_REDIS_URL";
pub const KEY_HOST: &str = "CLAUDE_MEM_REDIS_HOST";
pub const KEY_PORT: &str = "CLAUDE_MEM_REDIS_PORT";
pub const KEY_PREFIX: &str = "CLAUDE_MEM_QUEUE_REDIS_PREFIX";
pub const KEY_CA_FILE: &str = "CLAUDE_MEM_REDIS_CA_FILE";

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PREFIX: &str = "claude-mem";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longer than anyone should wait, short enough that a typo (ms vs s) is caught.
const MAX_TIMEOUT_MS: u64 = 10 * 60 * 1000;
/// The port every other Redis on the machine uses; ours never does.
pub const GLOBAL_REDIS_PORT: u16 = 6379;
/// claude-mem's default mode, which its first boot writes to settings.json. With
/// an empty URL it means `HOST:PORT` (default 127.0.0.1:6379), no password.
pub const CLAUDE_MEM_DEFAULT_MODE: Mode = Mode::External;

/// The options every store function accepts (`StoreOptions` in index.d.ts).
pub const STORE_OPTION_KEYS: &[&str] = &[
    "dataDir",
    "mode",
    "url",
    "host",
    "port",
    "binary",
    "prefix",
    "timeoutMs",
    "caFile",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Managed,
    External,
    Docker,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Managed => "managed",
            Mode::External => "external",
            Mode::Docker => "docker",
        }
    }
}

/// Where a setting's value came from; named in error messages and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Option,
    Environment,
    SettingsFile,
    Default,
}

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
        let pick = |option: &Option<String>, key: &str| -> Result<Option<(String, Source)>> {
            if let Some(v) = option.as_ref().filter(|v| !v.is_empty()) {
                return Ok(Some((v.clone(), Source::Option)));
            }
            if let Some(v) = env.get(key).filter(|v| !v.is_empty()) {
                return Ok(Some((v.clone(), Source::Environment)));
            }
            Ok(file.get(key)?.map(|v| (v, Source::SettingsFile)))
        };
        let describe = |key: &str, source: Source| describe_source(key, source, file.path());

        let mode = match pick(&options.mode, KEY_MODE)? {
            None => Mode::Managed,
            Some((v, source)) => parse_mode(&v).ok_or_else(|| {
                bad_setting(format!(
                    "{} is '{}', which is not a mode. Use managed, external or docker.",
                    describe(KEY_MODE, source),
                    short(&v)
                ))
            })?,
        };
        let mut url = pick(&options.url, KEY_URL)?.map(|(v, _)| v);
        let own_url = url
            .as_deref()
            .is_some_and(|u| names_own_store(u, &data_dir));
        if own_url {
            url = None;
        }
        let host = match pick(&options.host, KEY_HOST)? {
            None => (DEFAULT_HOST.to_string(), Source::Default),
            Some((v, source)) => (v, source),
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
        let port = match pick(&options.port, KEY_PORT)? {
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
        let prefix = pick(&options.prefix, KEY_PREFIX)?
            .map(|(v, _)| v)
            .unwrap_or_else(|| DEFAULT_PREFIX.to_string());
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
            None => None,
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
        })
    }
}

impl Settings {
    /// Saves what claude-mem's own runtime needs to reach a store this call
    /// started or adopted: the mode, host, port (unless the caller chose it
    /// explicitly), and `CLAUDE_MEM_REDIS_URL` with the generated password —
    /// claude-mem builds BullMQ's connection from settings alone, and without the
    /// URL it would connect to `HOST:PORT` with no password and get `NOAUTH`. The
    /// file then holds a secret, so it is made 0600. A URL of someone else's server
    /// is never overwritten (that would lose the user's setting): a notice says
    /// claude-mem will connect there instead. settings.json is read again here,
    /// under the store lock, so that keys written since `resolve` are kept.
    /// Returns notices for the status.
    pub fn persist_store(&self, port: u16, secret: &str) -> Result<Vec<String>> {
        let mut file = SettingsFile::load(self.file.path())?;
        let mut notices = Vec::new();
        let mut updates = vec![
            (KEY_MODE, self.mode.as_str().to_string()),
            (KEY_HOST, self.host.clone()),
        ];
        if !self.port.is_some_and(|p| p.is_explicit()) {
            updates.push((KEY_PORT, port.to_string()));
            if self.seeded_port_ignored {
                notices.push(format!(
                    "{KEY_PORT}=6379 in {} is claude-mem's default for an external Redis, not a private port: \
                     the {} store uses port {port} and saved it there",
                    self.file.path().display(),
                    self.mode.as_str()
                ));
            }
        }
        match file.get(KEY_URL)? {
            Some(url) if !is_own_store_url(&url, secret) => notices.push(format!(
                "{KEY_URL} in {} names another server, so claude-mem's runtime connects there, not to this store; \
                 it was left as it is. Set it to \"\" to use this store.",
                self.file.path().display()
            )),
            _ => updates.push((KEY_URL, own_store_url(secret, port))),
        }
        file.update_private(&updates)?;
        Ok(notices)
    }
}

/// The URL of our own store on `port`, as saved in settings.json for claude-mem.
pub fn own_store_url(secret: &str, port: u16) -> String {
    format!("redis://:{secret}@{DEFAULT_HOST}:{port}")
}

/// Whether `url` is [`own_store_url`] for `secret` (on any port: it may have moved).
/// The generated password is 256 random bits, so nobody else's URL carries it.
pub fn is_own_store_url(url: &str, secret: &str) -> bool {
    url.trim()
        .strip_prefix(&format!("redis://:{secret}@{DEFAULT_HOST}:"))
        .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `url` names the store of `data_dir` (its saved password is in it).
fn names_own_store(url: &str, data_dir: &Path) -> bool {
    // Cheap test first: only a URL shaped like ours makes us read the secret.
    if !url.trim().starts_with("redis://:") {
        return false;
    }
    let secret_file = StorePaths::new(data_dir).secret_file;
    matches!(secret::load(&secret_file), Ok(Some(secret)) if is_own_store_url(url, &secret))
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

pub fn parse_mode(v: &str) -> Option<Mode> {
    match v.trim().to_ascii_lowercase().as_str() {
        "managed" => Some(Mode::Managed),
        "external" => Some(Mode::External),
        "docker" => Some(Mode::Docker),
        _ => None,
    }
}

/// A port we may use for our own server: 1024–65535 (no root needed), never 6379.
pub fn parse_port(v: &str) -> Option<u16> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 5 {
        return None;
    }
    let n: u32 = v.parse().ok()?;
    (1024..=65535)
        .contains(&n)
        .then_some(n as u16)
        .filter(|p| *p != GLOBAL_REDIS_PORT)
}

/// A port of someone else's server (external mode): any TCP port.
pub fn parse_external_port(v: &str) -> Option<u16> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 5 {
        return None;
    }
    v.parse::<u16>().ok().filter(|p| *p != 0)
}

pub fn parse_timeout(v: &str) -> Option<Duration> {
    let n: u64 = v.trim().parse().ok()?;
    (1..=MAX_TIMEOUT_MS)
        .contains(&n)
        .then(|| Duration::from_millis(n))
}

pub fn is_loopback_host(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]")
}

fn describe_source(key: &str, source: Source, file: &Path) -> String {
    match source {
        Source::Option => {
            let option = match key {
                KEY_MODE => "mode",
                KEY_URL => "url",
                KEY_HOST => "host",
                KEY_PORT => "port",
                KEY_PREFIX => "prefix",
                KEY_CA_FILE => "caFile",
                _ => key,
            };
            format!("the {option} option")
        }
        Source::Environment => format!("{key} (environment)"),
        Source::SettingsFile => format!("{key} in {}", file.display()),
        Source::Default => format!("{key} (default)"),
    }
}

fn bad_setting(message: String) -> StoreError {
    StoreError::new(ErrorCode::BadSettings, message)
}

/// Values are echoed in messages; keep them to one readable line.
fn short(v: &str) -> String {
    let s: String = v
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(80)
        .collect();
    if v.chars().count() > 80 {
        format!("{s}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cms-resolve-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn env_with(dir: &Path, pairs: &[(&str, &str)]) -> Env {
        let mut env: Env = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert(KEY_DATA_DIR.into(), dir.display().to_string());
        env
    }

    #[test]
    fn defaults() {
        let d = tmpdir("defaults");
        let s = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap();
        assert_eq!(s.data_dir, d);
        assert_eq!(s.mode, Mode::Managed);
        assert_eq!(s.host, "127.0.0.1");
        assert_eq!(s.port, None);
        assert_eq!(s.prefix, "claude-mem");
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_data_dir_that_is_a_file_is_bad_settings_and_a_missing_one_is_fine() {
        let d = tmpdir("file-as-dir");
        let file = d.join("plain-file");
        fs::write(&file, "x").unwrap();
        let e = Settings::resolve(&StoreOptions::default(), &env_with(&file, &[])).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadSettings);
        assert!(e.message.contains("not a directory"), "{}", e.message);
        let missing = d.join("not").join("yet");
        let s = Settings::resolve(&StoreOptions::default(), &env_with(&missing, &[])).unwrap();
        assert_eq!(s.data_dir, missing);
        assert!(!missing.exists(), "resolving never creates the data dir");
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn option_beats_env_beats_file() {
        let d = tmpdir("order");
        fs::write(
            d.join("settings.json"),
            r#"{"CLAUDE_MEM_REDIS_PORT":"20001","CLAUDE_MEM_REDIS_MODE":"docker","CLAUDE_MEM_QUEUE_REDIS_PREFIX":"f"}"#,
        )
        .unwrap();
        let env = env_with(&d, &[(KEY_PORT, "20002"), (KEY_MODE, "external")]);
        let s = Settings::resolve(&StoreOptions::default(), &env).unwrap();
        assert_eq!(
            s.port,
            Some(PortSetting {
                port: 20002,
                source: Source::Environment
            })
        );
        assert_eq!(s.mode, Mode::External);
        assert_eq!(s.prefix, "f");
        let opts = StoreOptions {
            port: Some("20003".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&opts, &env).unwrap();
        assert_eq!(s.port.unwrap().port, 20003);
        assert_eq!(s.port.unwrap().source, Source::Option);
        let s = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap();
        assert_eq!(s.port.unwrap().source, Source::SettingsFile);
        assert_eq!(s.mode, Mode::Docker);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn bad_values_name_their_key_and_source() {
        let d = tmpdir("bad");
        let cases: &[(&str, &str)] = &[
            (KEY_MODE, "cloud"),
            (KEY_PORT, "0"),
            (KEY_PORT, "65536"),
            (KEY_PORT, "-1"),
            (KEY_PORT, "6379"),
            (KEY_PORT, "80"),
            (KEY_PORT, "12.5"),
            (KEY_PORT, "abc"),
            (KEY_HOST, "10.0.0.5"),
        ];
        for (key, value) in cases {
            let e = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[(key, value)]))
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::BadSettings, "{key}={value}");
            assert!(e.message.contains(key), "{}", e.message);
            assert!(e.message.contains("environment"), "{}", e.message);
        }
        fs::write(d.join("settings.json"), r#"{"CLAUDE_MEM_REDIS_MODE":"x"}"#).unwrap();
        let e = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap_err();
        assert!(e.message.contains("settings.json"), "{}", e.message);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn data_dir_must_be_absolute_and_tilde_expands() {
        let mut env = Env::new();
        env.insert("HOME".into(), "/home/u".into());
        let opts = StoreOptions {
            data_dir: Some("relative/dir".into()),
            ..Default::default()
        };
        assert_eq!(
            Settings::resolve(&opts, &env).unwrap_err().code,
            ErrorCode::BadSettings
        );
        assert_eq!(
            resolve_data_dir(Some("~/x"), &env).unwrap(),
            PathBuf::from("/home/u/x")
        );
        assert_eq!(
            resolve_data_dir(None, &env).unwrap(),
            PathBuf::from("/home/u/.claude-mem")
        );
        assert_eq!(
            resolve_data_dir(None, &Env::new()).unwrap_err().code,
            ErrorCode::BadSettings
        );
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("23456"), Some(23456));
        assert_eq!(parse_port(" 1024 "), Some(1024));
        for bad in [
            "",
            "6379",
            "1023",
            "65536",
            "99999999999",
            "+5",
            "1e4",
            "0x50",
        ] {
            assert_eq!(parse_port(bad), None, "{bad}");
        }
    }

    /// What claude-mem ≥ 13 writes on first boot (the keys that matter here).
    const SEEDED: &str = r#"{
  "CLAUDE_MEM_MODEL": "claude-haiku-4-5-20251001",
  "CLAUDE_MEM_WORKER_PORT": "37700",
  "CLAUDE_MEM_QUEUE_ENGINE": "sqlite",
  "CLAUDE_MEM_REDIS_URL": "",
  "CLAUDE_MEM_REDIS_HOST": "127.0.0.1",
  "CLAUDE_MEM_REDIS_PORT": "6379",
  "CLAUDE_MEM_REDIS_MODE": "external",
  "CLAUDE_MEM_QUEUE_REDIS_PREFIX": "claude_mem_37700"
}
"#;

    #[test]
    fn claude_mems_seeded_defaults_are_not_errors() {
        let d = tmpdir("seeded");
        fs::write(d.join("settings.json"), SEEDED).unwrap();
        // As claude-mem means them: external, HOST:PORT 127.0.0.1:6379, no URL.
        let s = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap();
        assert_eq!(s.mode, Mode::External);
        assert_eq!(s.url, None);
        assert_eq!(s.port.unwrap().port, 6379);
        assert!(!s.seeded_port_ignored);
        // Managed (or docker): the seeded 6379 is "no private port chosen yet".
        for mode in ["managed", "docker"] {
            let opts = StoreOptions {
                mode: Some(mode.into()),
                ..Default::default()
            };
            let s = Settings::resolve(&opts, &env_with(&d, &[])).unwrap();
            assert_eq!(s.port, None, "{mode}");
            assert!(s.seeded_port_ignored, "{mode}");
        }
        // An explicit 6379 is still refused, as option or environment.
        let opts = StoreOptions {
            mode: Some("managed".into()),
            port: Some("6379".into()),
            ..Default::default()
        };
        let e = Settings::resolve(&opts, &env_with(&d, &[])).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadSettings);
        let env = env_with(&d, &[(KEY_MODE, "managed"), (KEY_PORT, "6379")]);
        let e = Settings::resolve(&StoreOptions::default(), &env).unwrap_err();
        assert!(e.message.contains("environment"), "{}", e.message);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_bad_port_in_settings_json_stays_an_error_and_the_file_untouched() {
        let d = tmpdir("seeded-bad");
        for bad in ["abc", "0", "65536", "80"] {
            let text = SEEDED.replace("\"6379\"", &format!("\"{bad}\""));
            fs::write(d.join("settings.json"), &text).unwrap();
            let opts = StoreOptions {
                mode: Some("managed".into()),
                ..Default::default()
            };
            let e = Settings::resolve(&opts, &env_with(&d, &[])).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadSettings, "{bad}");
            assert!(e.message.contains(KEY_PORT) && e.message.contains("settings.json"));
            assert_eq!(fs::read_to_string(d.join("settings.json")).unwrap(), text);
        }
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn persist_store_writes_what_claude_mems_reader_needs_and_keeps_the_rest() {
        let d = tmpdir("persist");
        let file = d.join("settings.json");
        fs::write(&file, SEEDED).unwrap();
        let opts = StoreOptions {
            mode: Some("managed".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&opts, &env_with(&d, &[])).unwrap();
        let secret = "ab".repeat(32);
        fs::create_dir_all(d.join("redis")).unwrap();
        fs::write(d.join("redis").join("secret"), &secret).unwrap();
        let notices = s.persist_store(23456, &secret).unwrap();
        assert!(
            notices
                .iter()
                .any(|n| n.contains("6379") && n.contains("23456")),
            "{notices:?}"
        );
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(v[KEY_MODE], "managed");
        assert_eq!(v[KEY_PORT], "23456");
        assert_eq!(v[KEY_HOST], "127.0.0.1");
        assert_eq!(v[KEY_URL], format!("redis://:{secret}@127.0.0.1:23456"));
        assert_eq!(v["CLAUDE_MEM_QUEUE_ENGINE"], "sqlite", "never flipped");
        assert_eq!(v["CLAUDE_MEM_QUEUE_REDIS_PREFIX"], "claude_mem_37700");
        assert_eq!(v.as_object().unwrap().len(), 8);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // Next time the URL is recognised as ours: not a user's server.
        let s = Settings::resolve(&StoreOptions::default(), &env_with(&d, &[])).unwrap();
        assert_eq!(s.mode, Mode::Managed);
        assert_eq!(s.url, None);
        assert!(s.own_url);
        assert_eq!(s.port.unwrap().port, 23456);
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_users_url_is_never_overwritten() {
        let d = tmpdir("user-url");
        let file = d.join("settings.json");
        fs::write(
            &file,
            r#"{"CLAUDE_MEM_REDIS_URL":"redis://:theirs@10.0.0.5:6379"}"#,
        )
        .unwrap();
        let opts = StoreOptions {
            mode: Some("managed".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&opts, &env_with(&d, &[])).unwrap();
        assert!(!s.own_url);
        let notices = s.persist_store(23457, &"cd".repeat(32)).unwrap();
        assert!(
            notices.iter().any(|n| n.contains("another server")),
            "{notices:?}"
        );
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(v[KEY_URL], "redis://:theirs@10.0.0.5:6379");
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn own_store_urls_are_told_apart() {
        let secret = "0f".repeat(32);
        assert!(is_own_store_url(&own_store_url(&secret, 20001), &secret));
        assert!(is_own_store_url(
            &format!("redis://:{secret}@127.0.0.1:31999"),
            &secret
        ));
        for other in [
            format!("redis://:{secret}@10.0.0.1:20001"),
            format!("redis://user:{secret}@127.0.0.1:20001"),
            format!("rediss://:{secret}@127.0.0.1:20001"),
            format!("redis://:{secret}@127.0.0.1:20001/2"),
            format!("redis://:{secret}@127.0.0.1:"),
            "redis://:other@127.0.0.1:20001".to_string(),
        ] {
            assert!(!is_own_store_url(&other, &secret), "{other}");
        }
    }

    #[test]
    fn external_ports_may_be_any_tcp_port() {
        assert_eq!(parse_external_port("6379"), Some(6379));
        assert_eq!(parse_external_port("80"), Some(80));
        for bad in ["0", "65536", "", "x", "-1"] {
            assert_eq!(parse_external_port(bad), None, "{bad}");
        }
    }

    #[test]
    fn claude_mems_data_dir_pointer_in_the_default_settings_is_followed() {
        let home = tmpdir("home");
        let moved = home.join("elsewhere");
        fs::create_dir_all(home.join(".claude-mem")).unwrap();
        fs::write(
            home.join(".claude-mem").join("settings.json"),
            format!(r#"{{"CLAUDE_MEM_DATA_DIR":"{}"}}"#, moved.display()),
        )
        .unwrap();
        let mut env = Env::new();
        env.insert("HOME".into(), home.display().to_string());
        let s = Settings::resolve(&StoreOptions::default(), &env).unwrap();
        assert_eq!(s.data_dir, moved);
        assert_eq!(s.file.path(), moved.join("settings.json"));
        // claude-mem's seeded value (its own default dir) changes nothing.
        fs::write(
            home.join(".claude-mem").join("settings.json"),
            r#"{"CLAUDE_MEM_DATA_DIR":"~/.claude-mem"}"#,
        )
        .unwrap();
        let s = Settings::resolve(&StoreOptions::default(), &env).unwrap();
        assert_eq!(s.data_dir, home.join(".claude-mem"));
        fs::remove_dir_all(home).unwrap();
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("250"), Some(Duration::from_millis(250)));
        for bad in ["0", "-1", "1.5", "abc", "600001"] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }
}
