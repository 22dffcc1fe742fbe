//! claude-mem's `settings.json`: a flat JSON object of `CLAUDE_MEM_*` strings that
//! belongs to claude-mem, not to us.
//!
//! We read it, and we add or update only our own `CLAUDE_MEM_REDIS_*` keys. Every
//! other key, the key order and the 2-space layout are kept; a write goes to a temp
//! file that is renamed over the original, so a crash never leaves half a file. A
//! file we cannot understand is never written. It is read as claude-mem reads it
//! (`SettingsDefaultsManager.loadFromFile` and `atomic-json.ts`): a leading UTF-8
//! BOM is ignored, the legacy `{"env": {…}}` layout holds the keys under `env`,
//! and a symlinked settings.json is written through to the file it points at.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{ErrorCode, Result, StoreError};
use crate::files::{read_capped, write_atomically};

/// claude-mem's settings are a few hundred bytes; anything this large is not them.
const MAX_SETTINGS_BYTES: u64 = 4 * 1024 * 1024;

/// The mode of a settings.json that holds a password: readable by its owner only.
const PRIVATE_MODE: u32 = 0o600;

#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
    /// The whole JSON object as read (in the legacy layout, `env` is a placeholder
    /// here: its object is in `env`, and goes back in its place when written).
    root: Map<String, Value>,
    /// The legacy layout's settings: the object under `"env"`.
    env: Option<Map<String, Value>>,
    /// Whether the file existed when read (an absent file is an empty object).
    existed: bool,
    ends_with_newline: bool,
}

impl SettingsFile {
    /// Reads `path`. Absent → empty. Not a JSON object → `E_BAD_SETTINGS`.
    pub fn load(path: &Path) -> Result<SettingsFile> {
        match read_capped(path, MAX_SETTINGS_BYTES)? {
            Some(bytes) => Self::parse(path, &bytes),
            None => Ok(Self::empty(path, false)),
        }
    }

    fn empty(path: &Path, existed: bool) -> SettingsFile {
        SettingsFile {
            path: path.to_path_buf(),
            root: Map::new(),
            env: None,
            existed,
            ends_with_newline: true,
        }
    }

    /// Parses the bytes of a settings file read from `path` (named in errors).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<SettingsFile> {
        if bytes.len() as u64 > MAX_SETTINGS_BYTES {
            return Err(bad_file(path, "is larger than 4 MiB"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad_file(path, "is not UTF-8 text"))?;
        // Editors on Windows write a BOM; claude-mem strips it (parseJsonWithBom).
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim().is_empty() {
            // claude-mem may create the file empty; treat it as no settings yet.
            return Ok(Self::empty(path, true));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| bad_file(path, &format!("is not valid JSON ({e})")))?;
        let Value::Object(mut root) = value else {
            return Err(bad_file(path, "is JSON but not an object of settings"));
        };
        let env = match root.get_mut("env") {
            Some(Value::Object(env)) => Some(std::mem::take(env)),
            _ => None,
        };
        Ok(SettingsFile {
            path: path.to_path_buf(),
            root,
            env,
            existed: true,
            ends_with_newline: text.ends_with('\n'),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings: the whole object, or the one under `env` (legacy layout).
    fn values(&self) -> &Map<String, Value> {
        self.env.as_ref().unwrap_or(&self.root)
    }

    fn values_mut(&mut self) -> &mut Map<String, Value> {
        self.env.as_mut().unwrap_or(&mut self.root)
    }

    /// A setting as text. Numbers are accepted (a port written as `23456`); any
    /// other JSON type for one of our keys is `E_BAD_SETTINGS`.
    pub fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.get_as_written(key)?.filter(|v| !v.is_empty()))
    }

    /// Like [`get`](Self::get), but a key written as `""` is `Some("")`: claude-mem's
    /// reader takes a key that is there, even empty, over its default.
    pub fn get_as_written(&self, key: &str) -> Result<Option<String>> {
        match self.values().get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(StoreError::new(
                ErrorCode::BadSettings,
                format!(
                    "{} in {} must be a string. Fix or remove that key; the file was not changed.",
                    key,
                    self.path.display()
                ),
            )),
        }
    }

    /// Sets `updates` (key, value) and writes the file if anything changed,
    /// keeping its mode. Returns whether it wrote.
    pub fn update(&mut self, updates: &[(&str, String)]) -> Result<bool> {
        self.update_with_mode(updates, None)
    }

    /// [`update`](Self::update) for values that include a password: the file is
    /// made 0600 (also when nothing else changed), and claude-mem, which keeps a
    /// file's mode when it rewrites it, keeps it 0600.
    pub fn update_private(&mut self, updates: &[(&str, String)]) -> Result<bool> {
        let wrote = self.update_with_mode(updates, Some(PRIVATE_MODE))?;
        if !wrote {
            restrict_mode(&self.write_target(), PRIVATE_MODE)?;
        }
        Ok(wrote)
    }

    fn update_with_mode(&mut self, updates: &[(&str, String)], mode: Option<u32>) -> Result<bool> {
        let mut changed = false;
        let values = self.values_mut();
        for (key, value) in updates {
            let new = Value::String(value.clone());
            if values.get(*key) != Some(&new) {
                values.insert((*key).to_string(), new);
                changed = true;
            }
        }
        if changed {
            self.write(mode)?;
        }
        Ok(changed)
    }

    /// Removes `keys` and writes the file if any was present.
    pub fn remove(&mut self, keys: &[&str]) -> Result<bool> {
        let mut changed = false;
        let values = self.values_mut();
        for key in keys {
            changed |= values.shift_remove(*key).is_some();
        }
        if changed {
            self.write(None)?;
        }
        Ok(changed)
    }

    /// The file a write replaces: the target of a symlinked settings.json (as
    /// claude-mem's writer does), so the link itself survives.
    fn write_target(&self) -> PathBuf {
        match fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone())
            }
            _ => self.path.clone(),
        }
    }

    /// Writes the file; `mode` replaces the file's own mode (else it is kept).
    fn write(&mut self, mode: Option<u32>) -> Result<()> {
        let whole = match &self.env {
            Some(env) => {
                let mut root = self.root.clone();
                root.insert("env".into(), Value::Object(env.clone()));
                root
            }
            None => self.root.clone(),
        };
        let mut text = serde_json::to_string_pretty(&whole)
            .map_err(|e| StoreError::new(ErrorCode::Internal, e.to_string()))?;
        if self.ends_with_newline {
            text.push('\n');
        }
        let target = self.write_target();
        let dir = target.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, &e))?;
        let mode = mode.or_else(|| existing_mode(&target));
        write_atomically(&target, text.as_bytes(), mode)?;
        self.existed = true;
        Ok(())
    }
}

/// Takes group and other permissions off `path` if it has any.
#[cfg(unix)]
fn restrict_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match existing_mode(path) {
        Some(current) if current & !mode != 0 => {
            fs::set_permissions(path, fs::Permissions::from_mode(mode))
                .map_err(|e| StoreError::io("set permissions on", path, &e))
        }
        _ => Ok(()),
    }
}

#[cfg(not(unix))]
fn restrict_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

fn bad_file(path: &Path, why: &str) -> StoreError {
    StoreError::new(
        ErrorCode::BadSettings,
        format!(
            "{} {why}. It must be a JSON object such as {{\"CLAUDE_MEM_REDIS_MODE\": \"managed\"}}. \
             Fix or move that file aside; it was not changed.",
            path.display()
        ),
    )
}

#[cfg(unix)]
fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn existing_mode(_path: &Path) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "cms-settings-{tag}-{}-{}",
            std::process::id(),
            crate::files::unique_suffix()
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn absent_file_is_empty_and_is_created_on_update() {
        let d = tmpdir("absent");
        let p = d.join("settings.json");
        let mut s = SettingsFile::load(&p).unwrap();
        assert_eq!(s.get("CLAUDE_MEM_REDIS_PORT").unwrap(), None);
        assert!(
            s.update(&[("CLAUDE_MEM_REDIS_PORT", "23456".into())])
                .unwrap()
        );
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "{\n  \"CLAUDE_MEM_REDIS_PORT\": \"23456\"\n}\n"
        );
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn update_keeps_other_keys_their_order_and_types() {
        let d = tmpdir("keep");
        let p = d.join("settings.json");
        fs::write(
            &p,
            "{\n  \"CLAUDE_MEM_MODEL\": \"x\",\n  \"CLAUDE_MEM_WORKER_PORT\": 37777,\n  \"nested\": {\"a\": [1, 2]}\n}",
        )
        .unwrap();
        let mut s = SettingsFile::load(&p).unwrap();
        s.update(&[("CLAUDE_MEM_REDIS_MODE", "managed".into())])
            .unwrap();
        let text = fs::read_to_string(&p).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "CLAUDE_MEM_MODEL",
                "CLAUDE_MEM_WORKER_PORT",
                "nested",
                "CLAUDE_MEM_REDIS_MODE"
            ]
        );
        assert_eq!(v["CLAUDE_MEM_WORKER_PORT"], 37777);
        assert_eq!(v["nested"]["a"][1], 2);
        assert!(!text.ends_with('\n'), "kept the original's lack of newline");
        assert!(text.contains("\n  \"CLAUDE_MEM_MODEL\""), "2-space indent");
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn unchanged_update_does_not_write() {
        let d = tmpdir("same");
        let p = d.join("settings.json");
        fs::write(&p, "{\"CLAUDE_MEM_REDIS_PORT\":\"1\"}").unwrap();
        let mut s = SettingsFile::load(&p).unwrap();
        assert!(!s.update(&[("CLAUDE_MEM_REDIS_PORT", "1".into())]).unwrap());
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "{\"CLAUDE_MEM_REDIS_PORT\":\"1\"}"
        );
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn garbage_is_rejected_and_left_untouched() {
        let d = tmpdir("garbage");
        let p = d.join("settings.json");
        for garbage in ["{not json", "[1,2]", "42", "\"str\"", "{\"a\":1}}"] {
            fs::write(&p, garbage).unwrap();
            let e = SettingsFile::load(&p).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadSettings, "{garbage}");
            assert!(e.message.contains("settings.json"));
            assert_eq!(fs::read_to_string(&p).unwrap(), garbage);
        }
        fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
        assert_eq!(
            SettingsFile::load(&p).unwrap_err().code,
            ErrorCode::BadSettings
        );
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn wrong_type_for_our_key_is_bad_settings() {
        let d = tmpdir("type");
        let p = d.join("settings.json");
        fs::write(&p, "{\"CLAUDE_MEM_REDIS_PORT\": [1]}").unwrap();
        let s = SettingsFile::load(&p).unwrap();
        let e = s.get("CLAUDE_MEM_REDIS_PORT").unwrap_err();
        assert_eq!(e.code, ErrorCode::BadSettings);
        assert!(e.message.contains("CLAUDE_MEM_REDIS_PORT"));
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_bom_and_the_legacy_env_layout_are_read_as_claude_mem_reads_them() {
        let d = tmpdir("bom");
        let p = d.join("settings.json");
        fs::write(&p, "\u{feff}{\"CLAUDE_MEM_REDIS_PORT\":\"23456\"}\n").unwrap();
        let s = SettingsFile::load(&p).unwrap();
        assert_eq!(
            s.get("CLAUDE_MEM_REDIS_PORT").unwrap().as_deref(),
            Some("23456")
        );
        fs::write(
            &p,
            "{\"env\": {\"CLAUDE_MEM_MODEL\": \"m\"}, \"other\": 1}\n",
        )
        .unwrap();
        let mut s = SettingsFile::load(&p).unwrap();
        assert_eq!(s.get("CLAUDE_MEM_MODEL").unwrap().as_deref(), Some("m"));
        s.update(&[("CLAUDE_MEM_REDIS_MODE", "managed".into())])
            .unwrap();
        let v: Value = serde_json::from_str(&fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["env"]["CLAUDE_MEM_REDIS_MODE"], "managed");
        assert_eq!(v["env"]["CLAUDE_MEM_MODEL"], "m");
        assert_eq!(v["other"], 1);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["env", "other"], "env kept in its place");
        fs::remove_dir_all(d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_settings_file_is_written_through_and_private_updates_are_0600() {
        use std::os::unix::fs::PermissionsExt;
        let d = tmpdir("symlink");
        let real = d.join("real.json");
        let link = d.join("settings.json");
        fs::write(&real, "{}").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut s = SettingsFile::load(&link).unwrap();
        s.update_private(&[("K", "v".into())]).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(fs::read_to_string(&real).unwrap().contains("\"K\""));
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Unchanged values still take group/other permissions away.
        fs::set_permissions(&real, fs::Permissions::from_mode(0o644)).unwrap();
        let mut s = SettingsFile::load(&link).unwrap();
        assert!(!s.update_private(&[("K", "v".into())]).unwrap());
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::remove_dir_all(d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_keeps_the_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let d = tmpdir("mode");
        let p = d.join("settings.json");
        fs::write(&p, "{}").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let mut s = SettingsFile::load(&p).unwrap();
        s.update(&[("K", "v".into())]).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = fs::read_dir(&d).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
        fs::remove_dir_all(d).unwrap();
    }
}
