//! Resolving the store's settings: explicit option > environment variable >
//! `<dataDir>/settings.json` > default. Every value is validated here, whatever its
//! source, and a bad one is `E_BAD_SETTINGS` naming the key and where it came from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{ErrorCode, Result, StoreError};
use crate::options::OptionReader;
use crate::settings_file::SettingsFile;

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
        let data_dir = resolve_data_dir(options.data_dir.as_deref(), env)?;
        let file = SettingsFile::load(&data_dir.join("settings.json"))?;
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
        let url = pick(&options.url, KEY_URL)?.map(|(v, _)| v);
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
        let port = match pick(&options.port, KEY_PORT)? {
            None => None,
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
            binary,
            prefix,
            timeout,
            ca_file,
            file,
        })
    }
}

impl Settings {
    /// Saves the mode, host and (unless the caller chose it explicitly) the port of
    /// a store this call started or adopted. settings.json is read again here, under
    /// the store lock, so that keys written since `resolve` are kept.
    pub fn persist_store(&self, port: u16) -> Result<()> {
        let mut file = SettingsFile::load(self.file.path())?;
        let mut updates = vec![
            (KEY_MODE, self.mode.as_str().to_string()),
            (KEY_HOST, self.host.clone()),
        ];
        if !self.port.is_some_and(|p| p.is_explicit()) {
            updates.push((KEY_PORT, port.to_string()));
        }
        file.update(&updates)?;
        Ok(())
    }
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

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("250"), Some(Duration::from_millis(250)));
        for bad in ["0", "-1", "1.5", "abc", "600001"] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }
}
