//! Remembers what `<binary> --version` said, so that starting the store does not
//! run the server binary an extra time (5–10 ms, most of the gap between a cold
//! ensure and the bare server's own start), and a binary's sha256 once it was
//! hashed (the record of which build a store runs). Entries are keyed by path,
//! size and modification time: an upgraded binary is a new entry. The cache is a
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
    /// The file's sha256, once hashed: for the bundled server, the pin it was
    /// verified against (hash and test run); for any other, what it hashed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
}

/// What read-only caches learned in this process (see [`BinaryCache::read_only`]).
static LEARNED: std::sync::Mutex<Vec<Entry>> = std::sync::Mutex::new(Vec::new());

/// At most this many entries are remembered in memory (a machine has a handful
/// of server binaries; this only bounds a pathological case).
const MAX_LEARNED: usize = 64;

#[derive(Debug, Default)]
pub struct BinaryCache {
    file: Option<PathBuf>,
    entries: Vec<Entry>,
    dirty: bool,
    /// Never written back (status, which writes nothing).
    read_only: bool,
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
            read_only: false,
        }
    }

    /// The same cache, never written back (status writes nothing). What a
    /// read-only cache learns is remembered in this process instead, so that a
    /// process asking for status again does not run and hash the same binaries
    /// again (entries are keyed by path, size and mtime: they hold for any data dir).
    pub fn read_only(data_dir: &Path) -> BinaryCache {
        let mut cache = BinaryCache {
            read_only: true,
            ..BinaryCache::for_data_dir(data_dir)
        };
        let learned = LEARNED.lock().unwrap_or_else(|e| e.into_inner());
        for entry in learned.iter() {
            if !cache.entries.contains(entry) {
                cache.entries.push(entry.clone());
            }
        }
        cache
    }

    pub fn get(&self, path: &Path) -> Option<(Flavor, String)> {
        let (size, mtime_ns) = fingerprint(path)?;
        self.entries
            .iter()
            .find(|e| e.path == path && e.size == size && e.mtime_ns == mtime_ns)
            // A server we do not know by name is asked again: the cache keeps flavor
            // and version, not the name it gives itself (its sha256 is still kept).
            .filter(|e| e.flavor != Flavor::Unknown)
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
        self.put_hashed(path, flavor, version, sha256);
    }

    /// The sha256 this very file (path, size, mtime) hashed to, if it was hashed.
    pub fn sha256(&self, path: &Path) -> Option<String> {
        let (size, mtime_ns) = fingerprint(path)?;
        self.entries
            .iter()
            .find(|e| e.path == path && e.size == size && e.mtime_ns == mtime_ns)
            .and_then(|e| e.sha256.clone())
    }

    /// Records what `path` is and the sha256 it hashed to.
    pub fn put_hashed(&mut self, path: &Path, flavor: Flavor, version: &str, sha256: &str) {
        self.insert(path, flavor, version, Some(sha256.to_string()));
    }

    fn insert(&mut self, path: &Path, flavor: Flavor, version: &str, sha256: Option<String>) {
        let Some((size, mtime_ns)) = fingerprint(path) else {
            return;
        };
        let entry = Entry {
            path: path.to_path_buf(),
            size,
            mtime_ns,
            flavor,
            version: version.to_string(),
            sha256,
        };
        if self.read_only {
            let mut learned = LEARNED.lock().unwrap_or_else(|e| e.into_inner());
            learned.retain(|e| e.path != path);
            if learned.len() >= MAX_LEARNED {
                learned.remove(0);
            }
            learned.push(entry.clone());
        }
        self.entries.retain(|e| e.path != path);
        self.entries.push(entry);
        self.dirty = true;
    }

    /// Writes the cache back if it changed and its directory exists.
    pub fn save(&mut self) {
        let Some(file) = &self.file else { return };
        if self.read_only || !self.dirty || !file.parent().is_some_and(Path::is_dir) {
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
        let mut c = BinaryCache::for_data_dir(&d);
        assert_eq!(c.get(&bin), Some((Flavor::Valkey, "8.0.1".into())));
        std::fs::write(&bin, "v2 is longer").unwrap();
        assert_eq!(c.get(&bin), None, "a changed binary is not a hit");
        c.put_hashed(&bin, Flavor::Valkey, "8.0.1", "ab");
        assert_eq!(c.sha256(&bin).as_deref(), Some("ab"));
        let mut c = BinaryCache::read_only(&d);
        assert_eq!(c.sha256(&bin), None);
        c.put_hashed(&bin, Flavor::Valkey, "8.0.1", "ab");
        c.save();
        assert_eq!(
            BinaryCache::for_data_dir(&d).sha256(&bin),
            None,
            "a read-only cache is never written back"
        );
        assert_eq!(
            BinaryCache::read_only(&d).sha256(&bin).as_deref(),
            Some("ab"),
            "but remembered in this process"
        );
        std::fs::write(d.join("redis").join("binaries.json"), "garbage").unwrap();
        assert_eq!(BinaryCache::for_data_dir(&d).get(&bin), None);
        std::fs::remove_dir_all(d).unwrap();
    }
}
