//! Remembers what `<binary> --version` said, so that starting the store does not
//! run the server binary an extra time (5–10 ms, most of the gap between a cold
//! ensure and the bare server's own start). Entries are keyed by path, size and
//! modification time: an upgraded binary is a new entry. The cache is a
//! convenience, never a source of truth: an unreadable one is simply empty.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::files::write_replacing_volatile;
use crate::server::flavor::Flavor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    path: PathBuf,
    size: u64,
    mtime_ns: u128,
    flavor: Flavor,
    version: String,
    /// The bundled server only: the pinned sha256 this file was verified against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

#[derive(Debug, Default)]
pub struct BinaryCache {
    file: Option<PathBuf>,
    entries: Vec<Entry>,
    dirty: bool,
}

/// The identity of a file as far as the cache cares: size and mtime.
fn fingerprint(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((meta.len(), mtime))
}

impl BinaryCache {
    /// The cache of `<dataDir>/redis/binaries.json`; it is only written back if
    /// `redis/` already exists (reading binaries must not create our dirs).
    pub fn for_data_dir(data_dir: &Path) -> BinaryCache {
        let file = crate::settings::paths::StorePaths::new(data_dir).binary_cache_file;
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        BinaryCache {
            file: Some(file),
            entries,
            dirty: false,
        }
    }

    pub fn get(&self, path: &Path) -> Option<(Flavor, String)> {
        let (size, mtime_ns) = fingerprint(path)?;
        self.entries
            .iter()
            .find(|e| e.path == path && e.size == size && e.mtime_ns == mtime_ns)
            .map(|e| (e.flavor, e.version.clone()))
    }

    pub fn put(&mut self, path: &Path, flavor: Flavor, version: &str) {
        self.insert(path, flavor, version, None);
    }

    /// Whether this very file (path, size, mtime) was verified against `sha256`.
    pub fn verified(&self, path: &Path, sha256: &str) -> bool {
        let Some((size, mtime_ns)) = fingerprint(path) else {
            return false;
        };
        self.entries.iter().any(|e| {
            e.path == path
                && e.size == size
                && e.mtime_ns == mtime_ns
                && e.sha256.as_deref() == Some(sha256)
        })
    }

    /// Records `path` as verified against `sha256` (and what it said it is).
    pub fn put_verified(&mut self, path: &Path, flavor: Flavor, version: &str, sha256: &str) {
        self.insert(path, flavor, version, Some(sha256.to_string()));
    }

    fn insert(&mut self, path: &Path, flavor: Flavor, version: &str, sha256: Option<String>) {
        let Some((size, mtime_ns)) = fingerprint(path) else {
            return;
        };
        self.entries.retain(|e| e.path != path);
        self.entries.push(Entry {
            path: path.to_path_buf(),
            size,
            mtime_ns,
            flavor,
            version: version.to_string(),
            sha256,
        });
        self.dirty = true;
    }

    /// Writes the cache back if it changed and its directory exists.
    pub fn save(&mut self) {
        let Some(file) = &self.file else { return };
        if !self.dirty || !file.parent().is_some_and(Path::is_dir) {
            return;
        }
        if let Ok(text) = serde_json::to_vec_pretty(&self.entries)
            && write_replacing_volatile(file, &text, Some(0o600)).is_ok()
        {
            self.dirty = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_only_for_the_same_file_and_survives_a_reload() {
        let d = std::env::temp_dir().join(format!("cms-bincache-{}", std::process::id()));
        std::fs::create_dir_all(d.join("redis")).unwrap();
        let bin = d.join("fake-server");
        std::fs::write(&bin, "v1").unwrap();
        let mut c = BinaryCache::for_data_dir(&d);
        assert_eq!(c.get(&bin), None);
        c.put(&bin, Flavor::Valkey, "8.0.1");
        c.save();
        let c = BinaryCache::for_data_dir(&d);
        assert_eq!(c.get(&bin), Some((Flavor::Valkey, "8.0.1".into())));
        std::fs::write(&bin, "v2 is longer").unwrap();
        assert_eq!(c.get(&bin), None, "a changed binary is not a hit");
        std::fs::write(d.join("redis").join("binaries.json"), "garbage").unwrap();
        assert_eq!(BinaryCache::for_data_dir(&d).get(&bin), None);
        std::fs::remove_dir_all(d).unwrap();
    }
}
