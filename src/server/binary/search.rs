//! Finding server binaries: `valkey-server`, `redis-server` and `redict-server` on
//! PATH, in the well-known Homebrew and Linux package paths, and under our own
//! `bin/valkey/<version>/` downloads. Valkey is preferred; Redict (a Redis 7.2
//! fork) is managed like Redis.

use std::path::{Path, PathBuf};

use crate::error::{ErrorCode, Result, StoreError};
use crate::files::same_file;
use crate::server::binary::cache::BinaryCache;
use crate::server::binary::sha256::sha256_file;
use crate::server::binary::{BinarySource, ServerBinary, inspect};
use crate::server::flavor::{Flavor, version_key};

const NAMES: [&str; 3] = ["valkey-server", "redis-server", "redict-server"];
const HOMEBREW_DIRS: [&str; 2] = ["/opt/homebrew/bin", "/usr/local/bin"];
const SYSTEM_DIRS: [&str; 1] = ["/usr/bin"];

/// Every usable server binary, best first: the bundled Valkey (verified), then
/// Valkey before Redis, newer before older, then by where it was found (our
/// download, PATH, Homebrew, system). A file that does not answer `--version` like
/// a server is left out, and so is a bundled one that does not match its pin.
pub fn detect(data_dir: &Path, path_var: Option<&std::ffi::OsStr>) -> Vec<ServerBinary> {
    detect_with_bundled(data_dir, path_var).0
}

/// `detect` on this process's `PATH`, on tokio's blocking pool (each candidate is
/// run with `--version`, which must not stall the runtime's one worker).
/// detectServerBinaries: a failure of the blocking task is an empty list.
pub async fn detect_off_worker(data_dir: PathBuf) -> Vec<ServerBinary> {
    let path_var = std::env::var_os("PATH");
    tokio::task::spawn_blocking(move || detect(&data_dir, path_var.as_deref()))
        .await
        .unwrap_or_default()
}

/// [`detect`], and why the bundled server was rejected, if it was.
pub fn detect_with_bundled(
    data_dir: &Path,
    path_var: Option<&std::ffi::OsStr>,
) -> (Vec<ServerBinary>, Option<StoreError>) {
    let mut cache = BinaryCache::for_data_dir(data_dir);
    let found = detect_in(&mut cache, data_dir, path_var);
    cache.save();
    found
}

/// [`detect_with_bundled`], answering from (and adding to) `cache`, which the
/// caller saves or not.
fn detect_in(
    cache: &mut BinaryCache,
    data_dir: &Path,
    path_var: Option<&std::ffi::OsStr>,
) -> (Vec<ServerBinary>, Option<StoreError>) {
    let (bundled, rejected) = match crate::server::binary::bundled::find(cache) {
        Some(Ok(b)) => (Some(b), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let mut candidates: Vec<(PathBuf, BinarySource)> = Vec::new();
    candidates.extend(downloaded(data_dir));
    if let Some(path_var) = path_var {
        for dir in std::env::split_paths(path_var) {
            for name in NAMES {
                candidates.push((dir.join(name), BinarySource::Path));
            }
        }
    }
    for (dirs, source) in [
        (&HOMEBREW_DIRS[..], BinarySource::Homebrew),
        (&SYSTEM_DIRS[..], BinarySource::System),
    ] {
        for dir in dirs {
            for name in NAMES {
                candidates.push((Path::new(dir).join(name), source));
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(b) = &bundled {
        seen.insert(std::fs::canonicalize(&b.path).unwrap_or_else(|_| b.path.clone()));
    }
    let mut found: Vec<ServerBinary> = candidates
        .into_iter()
        .filter(|(p, _)| is_executable(p))
        // The same file reached twice (PATH and /usr/bin, or a symlink) is one binary.
        .filter(|(p, _)| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())))
        .filter_map(|(p, source)| inspect_cached(&p, source, cache).ok())
        // A server we do not know by name is run only when given as the binary
        // option, on purpose (a KeyDB linked as redis-server is not picked up).
        .filter(|b| b.flavor != Flavor::Unknown)
        .collect();
    found.sort_by(|a, b| {
        rank(a.flavor)
            .cmp(&rank(b.flavor))
            .then_with(|| version_key(&b.version).cmp(&version_key(&a.version)))
    });
    found.splice(0..0, bundled);
    (found, rejected)
}

/// The server that last ran the store's data, as [`choose`] weighs it.
#[derive(Debug, Clone, Copy)]
pub struct Remembered<'a> {
    pub path: &'a Path,
    /// A bundled build: this package's own, or an earlier install's still on disk.
    pub bundled: bool,
}

/// The binary to run, what it hashes to, and a notice when a better one was
/// passed over.
#[derive(Debug, Clone)]
pub struct Choice {
    pub binary: ServerBinary,
    /// `None` only when the file could not be read to hash it.
    pub sha256: Option<String>,
    pub notice: Option<String>,
}

/// The binary to run: the explicit one if given (it must work); else the server
/// that last ran the store's data (a different or older one may not be able to
/// read it) if it still works — unless it is an earlier bundled build and this
/// package's own bundled server is the same kind and as new or newer; else the
/// best found. Answers from `cache` and adds to it; the caller saves it (ensure)
/// or not (status).
pub fn choose(
    cache: &mut BinaryCache,
    explicit: Option<&Path>,
    remembered: Option<Remembered<'_>>,
    data_dir: &Path,
    path_var: Option<&std::ffi::OsStr>,
) -> Result<Choice> {
    let (binary, notice) = choose_binary(cache, explicit, remembered, data_dir, path_var)?;
    let sha256 = sha256_of(&binary, cache);
    Ok(Choice {
        binary,
        sha256,
        notice,
    })
}

fn choose_binary(
    cache: &mut BinaryCache,
    explicit: Option<&Path>,
    remembered: Option<Remembered<'_>>,
    data_dir: &Path,
    path_var: Option<&std::ffi::OsStr>,
) -> Result<(ServerBinary, Option<String>)> {
    if let Some(path) = explicit {
        return inspect_cached(path, BinarySource::Option, cache).map(|b| (b, None));
    }
    let (found, bundled_rejected) = detect_in(cache, data_dir, path_var);
    let best = found.first().cloned();
    let last = remembered.and_then(|r| {
        let same = |b: &&ServerBinary| same_file(&b.path, r.path);
        found
            .iter()
            .find(same)
            .cloned()
            .or_else(|| inspect_cached(r.path, BinarySource::Option, cache).ok())
            .map(|b| (b, r.bundled))
    });
    let chosen = match weigh(last, best) {
        Some(chosen) => Ok(chosen),
        // The only server there is failed its verification: that is the error.
        None => Err(bundled_rejected.clone().unwrap_or_else(no_server_binary)),
    };
    // A bundled server that failed its verification is never run, and never silently
    // passed over either.
    match (chosen, bundled_rejected) {
        (Ok((b, notice)), Some(rejected)) => {
            let said = format!(
                "{} [{}]; {} ({}) runs instead",
                rejected.message,
                rejected.code,
                b.label(),
                b.path.display()
            );
            Ok((
                b,
                Some(notice.map_or(said.clone(), |n| format!("{n}; {said}"))),
            ))
        }
        (chosen, _) => chosen,
    }
}

/// Between the server that last ran the data (`last`, and whether it is a bundled
/// build) and the best one found: the last one, unless it is an earlier bundled
/// build and the best is this package's bundled server of the same kind, as new or
/// newer (an upgrade of this package; an old plugin dir still on disk must not pin
/// the store to its build). A newer server of another origin is named in a
/// notice, never switched to unasked (afterwards the older one may not read the
/// data).
fn weigh(
    last: Option<(ServerBinary, bool)>,
    best: Option<ServerBinary>,
) -> Option<(ServerBinary, Option<String>)> {
    match (last, best) {
        (Some((r, true)), Some(b))
            if b.source == BinarySource::Bundled
                && r.flavor == b.flavor
                && version_key(&b.version) >= version_key(&r.version) =>
        {
            Some((b, None))
        }
        (Some((r, _)), Some(b))
            if r.flavor == b.flavor && version_key(&b.version) > version_key(&r.version) =>
        {
            let notice = format!(
                "the store runs {} {} ({}), the server that last ran its data; {} {} is installed too \
                 ({}). To move the store to it, pass it as the binary option: it reads this data, but \
                 afterwards the older one may not",
                r.flavor.as_str(),
                r.version,
                r.path.display(),
                b.flavor.as_str(),
                b.version,
                b.path.display()
            );
            Some((r, Some(notice)))
        }
        (Some((r, _)), _) => Some((r, None)),
        (None, best) => best.map(|b| (b, None)),
    }
}

/// The sha256 of `binary`'s file: for the bundled server, the pin it was just
/// verified against; for any other, hashed once per path, size and mtime (the
/// cache). `None` when the file cannot be read.
fn sha256_of(binary: &ServerBinary, cache: &mut BinaryCache) -> Option<String> {
    if binary.source == BinarySource::Bundled
        && let Some(pin) = crate::server::binary::bundled::pin()
    {
        return Some(pin.sha256);
    }
    if let Some(sha) = cache.sha256(&binary.path) {
        return Some(sha);
    }
    let sha = sha256_file(&binary.path).ok()?;
    cache.put_hashed(&binary.path, binary.flavor, &binary.version, &sha);
    Some(sha)
}

/// `inspect`, answered from the cache when this exact file was inspected before.
fn inspect_cached(
    path: &Path,
    source: BinarySource,
    cache: &mut BinaryCache,
) -> Result<ServerBinary> {
    if let Some((flavor, version)) = cache.get(path) {
        return Ok(ServerBinary::known(path, flavor, version, source));
    }
    let found = inspect(path, source)?;
    cache.put(path, found.flavor, &found.version);
    Ok(found)
}

fn rank(flavor: Flavor) -> u8 {
    match flavor {
        Flavor::Valkey => 0,
        Flavor::Redis => 1,
        Flavor::Redict => 2,
        _ => 3,
    }
}

fn downloaded(data_dir: &Path) -> Vec<(PathBuf, BinarySource)> {
    let root = data_dir.join("bin").join("valkey");
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .flat_map(|e| {
            [
                e.path().join("bin").join("valkey-server"),
                e.path().join("valkey-server"),
            ]
        })
        .map(|p| (p, BinarySource::Download))
        .collect()
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// The install command for this platform, for messages that must say what to run.
pub fn install_hint() -> String {
    if cfg!(target_os = "macos") {
        "Install one with `brew install valkey`, or run `npx claude-mem-store install`.".into()
    } else if cfg!(target_os = "linux") {
        let managers: [(&str, &str); 6] = [
            (
                "apt-get",
                "sudo apt-get install -y valkey-server (Debian 12: redis-server, or valkey-server from bookworm-backports)",
            ),
            ("dnf", "sudo dnf install -y valkey"),
            ("yum", "sudo yum install -y redis"),
            ("apk", "sudo apk add valkey"),
            ("pacman", "sudo pacman -S --noconfirm valkey"),
            ("brew", "brew install valkey"),
        ];
        managers
            .iter()
            .find(|(tool, _)| which::which(tool).is_ok())
            .map(|(_, cmd)| {
                format!("Install one with `{cmd}`, or run `npx claude-mem-store install`.")
            })
            .unwrap_or_else(|| {
                "Run `npx claude-mem-store install` to download Valkey into ~/.claude-mem/bin."
                    .into()
            })
    } else {
        "On Windows use Docker (mode docker) or an existing server (mode external with CLAUDE_MEM_REDIS_URL).".into()
    }
}

pub fn no_server_binary() -> StoreError {
    StoreError::new(
        ErrorCode::NoServerBinary,
        format!(
            "no valkey-server or redis-server was found on PATH, in /opt/homebrew/bin, /usr/local/bin, /usr/bin or ~/.claude-mem/bin. {}",
            install_hint()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_search_finds_nothing_in_an_empty_dir() {
        let d = std::env::temp_dir().join(format!("cms-bin-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let found: Vec<_> = detect(&d, Some(d.as_os_str()))
            .into_iter()
            .filter(|b| b.source == BinarySource::Path || b.source == BinarySource::Download)
            .collect();
        assert!(found.is_empty());
        std::fs::remove_dir_all(d).unwrap();
    }

    fn server(path: &str, flavor: Flavor, version: &str, source: BinarySource) -> ServerBinary {
        ServerBinary::known(Path::new(path), flavor, version.into(), source)
    }

    #[test]
    fn this_packages_bundled_server_takes_over_from_an_earlier_bundled_build() {
        let old = server(
            "/old/valkey/valkey-server",
            Flavor::Valkey,
            "8.1.1",
            BinarySource::Option,
        );
        let ours = server(
            "/new/valkey/valkey-server",
            Flavor::Valkey,
            "8.1.1",
            BinarySource::Bundled,
        );
        // Same version (another build, e.g. with more security fixes): ours.
        let (b, notice) = weigh(Some((old.clone(), true)), Some(ours.clone())).unwrap();
        assert_eq!((b, notice), (ours.clone(), None));
        // Newer: ours.
        let newer = ServerBinary {
            version: "9.1.2".into(),
            ..ours.clone()
        };
        assert_eq!(
            weigh(Some((old.clone(), true)), Some(newer.clone()))
                .unwrap()
                .0,
            newer
        );
        // Older than what last ran the data: never (it may not read it).
        let older = ServerBinary {
            version: "8.0.1".into(),
            ..ours.clone()
        };
        assert_eq!(
            weigh(Some((old.clone(), true)), Some(older)).unwrap().0,
            old
        );
    }

    #[test]
    fn a_server_that_is_not_a_bundled_build_keeps_the_data() {
        let system = server(
            "/usr/bin/valkey-server",
            Flavor::Valkey,
            "8.0.1",
            BinarySource::System,
        );
        let ours = server(
            "/new/valkey/valkey-server",
            Flavor::Valkey,
            "8.1.1",
            BinarySource::Bundled,
        );
        // The user's (or system's) server that last ran the data stays; the newer
        // bundled one is named in a notice, as before.
        let (b, notice) = weigh(Some((system.clone(), false)), Some(ours.clone())).unwrap();
        assert_eq!(b, system);
        assert!(notice.unwrap().contains("8.1.1"));
        // A remembered bundled build is not replaced by a server that is not bundled.
        let other = server(
            "/usr/bin/valkey-9",
            Flavor::Valkey,
            "9.1.2",
            BinarySource::Path,
        );
        let old = server(
            "/old/valkey/valkey-server",
            Flavor::Valkey,
            "8.1.1",
            BinarySource::Option,
        );
        assert_eq!(
            weigh(Some((old.clone(), true)), Some(other)).unwrap().0,
            old
        );
        // Nothing remembered: the best found.
        assert_eq!(weigh(None, Some(ours.clone())).unwrap().0, ours);
        assert_eq!(weigh(None, None), None);
    }
}
