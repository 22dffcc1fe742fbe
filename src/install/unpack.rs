//! Unpacking a `.tar.gz` without trusting it: only regular files and directories
//! are written, only under the target, and only into directories this function
//! created. `..`, absolute paths and links that point outside are `E_UNSAFE_ARCHIVE`;
//! links that stay inside are skipped (the server needs none), and so is nothing
//! else: devices and FIFOs are refused. Sizes and entry counts are bounded.
//!
//! flate2 + tar earn their place: Valkey publishes `.tar.gz` only, and unpacking by
//! hand-rolled code (or by shelling out to a `tar` whose flags differ per OS) is
//! where path-escape bugs live. The `tar` crate is used as a parser only — its own
//! `unpack` is not, so every write is decided here.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use tar::{Archive, EntryType};

use crate::error::{ErrorCode, Result, StoreError};

const MAX_ENTRIES: usize = 10_000;
const MAX_TOTAL_BYTES: u64 = 2 * 1024 * 1024 * 1024;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unpacked {
    pub files: usize,
    pub dirs: usize,
    /// Links inside the target that were not created.
    pub skipped_links: Vec<String>,
    pub bytes: u64,
}

/// Unpacks `archive` into `target`, which must exist and be empty.
pub fn tar_gz(archive: &Path, target: &Path) -> Result<Unpacked> {
    let file = File::open(archive).map_err(|e| StoreError::io("open", archive, &e))?;
    let mut tar = Archive::new(GzDecoder::new(io::BufReader::new(file)));
    let mut report = Unpacked::default();
    let entries = tar.entries().map_err(|e| corrupt(archive, &e))?;
    for (index, entry) in entries.enumerate() {
        if index >= MAX_ENTRIES {
            return Err(unsafe_archive(format!(
                "it has more than {MAX_ENTRIES} entries"
            )));
        }
        let mut entry = entry.map_err(|e| corrupt(archive, &e))?;
        let raw_path = entry.path().map_err(|e| corrupt(archive, &e))?.into_owned();
        let Some(relative) = safe_relative(&raw_path)? else {
            continue; // "./" itself
        };
        let kind = entry.header().entry_type();
        let dest = target.join(&relative);
        match kind {
            EntryType::Directory => {
                create_dirs(target, &relative)?;
                report.dirs += 1;
            }
            EntryType::Regular | EntryType::Continuous => {
                if let Some(parent) = relative.parent() {
                    create_dirs(target, parent)?;
                }
                let mode = entry.header().mode().unwrap_or(0o644);
                report.bytes +=
                    write_file(&mut entry, &dest, mode, MAX_TOTAL_BYTES - report.bytes)?;
                report.files += 1;
            }
            EntryType::Symlink | EntryType::Link => {
                let link = entry
                    .link_name()
                    .map_err(|e| corrupt(archive, &e))?
                    .map(|l| l.into_owned())
                    .unwrap_or_default();
                // A symlink resolves from its own directory; a hard link names a
                // path from the archive's root.
                let base = if kind == EntryType::Symlink {
                    relative.parent().map(Path::to_path_buf).unwrap_or_default()
                } else {
                    PathBuf::new()
                };
                if !stays_inside(&base, &link) {
                    return Err(unsafe_archive(format!(
                        "the link {} points to {}, outside the directory it unpacks into",
                        raw_path.display(),
                        link.display()
                    )));
                }
                report.skipped_links.push(relative.display().to_string());
            }
            EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => {}
            other => {
                return Err(unsafe_archive(format!(
                    "{} is a {other:?} entry; only files and directories are unpacked",
                    raw_path.display()
                )));
            }
        }
    }
    Ok(report)
}

/// The entry's path as plain components under the target, or `E_UNSAFE_ARCHIVE`.
fn safe_relative(path: &Path) -> Result<Option<PathBuf>> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(unsafe_archive(format!("{} contains '..'", path.display())));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_archive(format!(
                    "{} is an absolute path",
                    path.display()
                )));
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

/// Whether `link`, read from `base` (a path under the target), stays under it.
fn stays_inside(base: &Path, link: &Path) -> bool {
    let mut depth: usize = 0;
    for c in base.components().chain(link.components()) {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    !link.as_os_str().is_empty()
}

/// `mkdir -p target/relative`, refusing to pass through anything that is not a
/// directory we made (a file of the same name, or a link).
fn create_dirs(target: &Path, relative: &Path) -> Result<()> {
    let mut dir = target.to_path_buf();
    for part in relative.components() {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => {
                return Err(unsafe_archive(format!(
                    "{} is both a file and a directory in the archive",
                    relative.display()
                )));
            }
            Err(_) => fs::create_dir(&dir).map_err(|e| StoreError::io("create", &dir, &e))?,
        }
    }
    Ok(())
}

fn write_file(reader: &mut impl Read, dest: &Path, mode: u32, budget: u64) -> Result<u64> {
    let mut opts = OpenOptions::new();
    // create_new: a second entry of the same name (or anything already there) is
    // refused instead of overwritten or followed.
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Executable bits are kept; setuid/setgid/sticky and write-for-others are not.
        opts.mode(mode & 0o755);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut out = opts.open(dest).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            unsafe_archive(format!("{} appears twice in the archive", dest.display()))
        } else {
            StoreError::io("create", dest, &e)
        }
    })?;
    let mut limited = reader.take(budget + 1);
    let n = io::copy(&mut limited, &mut out).map_err(|e| StoreError::io("write", dest, &e))?;
    if n > budget {
        return Err(unsafe_archive(format!(
            "it unpacks to more than {MAX_TOTAL_BYTES} bytes"
        )));
    }
    Ok(n)
}

fn unsafe_archive(why: String) -> StoreError {
    StoreError::new(
        ErrorCode::UnsafeArchive,
        format!(
            "the archive was not unpacked: {why}. Nothing was installed; the artifact (or the mirror serving it) is not trustworthy."
        ),
    )
}

fn corrupt(archive: &Path, e: &io::Error) -> StoreError {
    unsafe_archive(format!(
        "{} is not a valid .tar.gz ({e})",
        archive.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_relative_and_plain() {
        assert_eq!(
            safe_relative(Path::new("./a/b")).unwrap(),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(safe_relative(Path::new("./")).unwrap(), None);
        for bad in ["../x", "a/../../x", "/etc/passwd", "a/.."] {
            assert_eq!(
                safe_relative(Path::new(bad)).unwrap_err().code,
                ErrorCode::UnsafeArchive,
                "{bad}"
            );
        }
    }

    #[test]
    fn links_are_judged_from_their_directory() {
        assert!(stays_inside(Path::new("v/bin"), Path::new("valkey-server")));
        assert!(stays_inside(Path::new("v/bin"), Path::new("../lib/x")));
        assert!(!stays_inside(
            Path::new("v/bin"),
            Path::new("../../../etc/passwd")
        ));
        assert!(!stays_inside(Path::new("v"), Path::new("/etc/passwd")));
        assert!(!stays_inside(Path::new(""), Path::new("..")));
        assert!(!stays_inside(Path::new("v"), Path::new("")));
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("cms-unpack-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    /// (name, type, contents, link target)
    type TestEntry<'a> = (&'a str, EntryType, &'a [u8], Option<&'a str>);

    /// A .tar.gz written with raw headers, so hostile names can be built.
    fn archive(dir: &Path, entries: &[TestEntry<'_>]) -> PathBuf {
        let path = dir.join("a.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut builder = tar::Builder::new(gz);
        for (name, kind, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            // set_path refuses `..`; write the raw name like a hostile archiver would.
            let raw = &mut h.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o4755);
            if let Some(l) = link {
                h.set_link_name(l).unwrap();
            }
            h.set_cksum();
            builder.append(&h, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        path
    }

    #[test]
    fn a_good_archive_unpacks_files_and_dirs_and_skips_inner_links() {
        let d = tmp("good");
        let a = archive(
            &d,
            &[
                ("v/", EntryType::Directory, b"", None),
                (
                    "v/bin/valkey-server",
                    EntryType::Regular,
                    b"#!/bin/sh\n",
                    None,
                ),
                (
                    "v/bin/redis-server",
                    EntryType::Symlink,
                    b"",
                    Some("valkey-server"),
                ),
            ],
        );
        let target = d.join("t");
        fs::create_dir(&target).unwrap();
        let r = tar_gz(&a, &target).unwrap();
        assert_eq!(r.files, 1);
        assert_eq!(r.skipped_links, vec!["v/bin/redis-server".to_string()]);
        assert_eq!(
            fs::read(target.join("v/bin/valkey-server")).unwrap(),
            b"#!/bin/sh\n"
        );
        assert!(!target.join("v/bin/redis-server").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(target.join("v/bin/valkey-server"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o7777, 0o755, "setuid dropped, exec kept");
        }
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn hostile_archives_are_refused() {
        let cases: Vec<Vec<TestEntry<'_>>> = vec![
            vec![("../evil", EntryType::Regular, b"x", None)],
            vec![("/tmp/cms-unpack-abs-evil", EntryType::Regular, b"x", None)],
            vec![("v/link", EntryType::Symlink, b"", Some("../../etc/passwd"))],
            vec![("v/link", EntryType::Symlink, b"", Some("/etc/passwd"))],
            vec![("v/hard", EntryType::Link, b"", Some("../outside"))],
            vec![("v/dev", EntryType::Char, b"", None)],
            vec![
                ("v/f", EntryType::Regular, b"1", None),
                ("v/f", EntryType::Regular, b"2", None),
            ],
            vec![
                ("v", EntryType::Regular, b"1", None),
                ("v/f", EntryType::Regular, b"2", None),
            ],
        ];
        for (i, entries) in cases.iter().enumerate() {
            let d = tmp(&format!("bad{i}"));
            let a = archive(&d, entries);
            let target = d.join("t");
            fs::create_dir(&target).unwrap();
            let e = tar_gz(&a, &target).unwrap_err();
            assert_eq!(e.code, ErrorCode::UnsafeArchive, "case {i}: {}", e.message);
            assert!(!d.join("evil").exists() && !Path::new("/tmp/cms-unpack-abs-evil").exists());
            fs::remove_dir_all(d).unwrap();
        }
    }

    #[test]
    fn garbage_is_not_an_archive() {
        let d = tmp("garbage");
        let a = d.join("a.tar.gz");
        fs::write(&a, b"this is not gzip").unwrap();
        let target = d.join("t");
        fs::create_dir(&target).unwrap();
        assert_eq!(
            tar_gz(&a, &target).unwrap_err().code,
            ErrorCode::UnsafeArchive
        );
        fs::remove_dir_all(d).unwrap();
    }
}
