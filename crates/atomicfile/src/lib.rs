//! Atomic file replacement: a temp file beside the target, fsync, rename, fsync the
//! directory. Used for every file hookswitch writes (reports, configs, trusted metadata).
//!
//! Temp files are named `.<name>.tmp-<pid>[-<i>]` ([`is_temp_name`]), so whoever owns a
//! directory can sweep what a killed process left behind.

use std::io::Write;
use std::path::Path;

/// A crash-test failpoint: abort the process right after the Nth durable write.
///
/// Armed only by a binary's edge (the `hookswitch` CLI reads
/// `HOOKSWITCH_FAILPOINT_ABORT_AFTER_WRITES`); disarmed it costs one relaxed atomic load
/// per file written. A "write" is one file made durable and visible: each [`write`], each
/// file renamed by [`write_batch`], each [`link_or_copy`].
pub mod failpoint {
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Writes left before the abort; 0 = disarmed.
    static LEFT: AtomicU64 = AtomicU64::new(0);

    /// Abort the process right after the `n`th durable write from now (`n` ≥ 1).
    pub fn abort_after_writes(n: u64) {
        LEFT.store(n, Ordering::SeqCst);
    }

    pub(crate) fn wrote() {
        if LEFT.load(Ordering::Relaxed) == 0 {
            return;
        }
        if LEFT.fetch_sub(1, Ordering::SeqCst) == 1 {
            std::process::abort();
        }
    }
}

/// Whether `name` is one of our temp files (a leftover if its writer is gone).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// An exclusive advisory lock (flock) on `path`, held until dropped. Fails at once with
/// `WouldBlock` if another process holds it.
pub struct Lock(#[allow(dead_code)] std::fs::File);

pub fn lock(path: &Path) -> std::io::Result<Lock> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive)?;
    Ok(Lock(f))
}

/// Publish `src`'s content at a new name `dest`: a hard link (no copy; `src` must never
/// be modified in place, which holds for files this crate wrote), or an atomic copy across
/// filesystems. An existing `dest` is an `AlreadyExists` error. The caller syncs `dest`'s
/// directory.
pub fn link_or_copy(src: &Path, dest: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(src, dest) {
        Ok(()) => {
            failpoint::wrote();
            Ok(())
        }
        // Never replace what is there; the caller decides what an existing file means.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => {
            // Another filesystem (or no hard links): copy; write_with counts the write.
            let mut from = std::fs::File::open(src)?;
            write_with(dest, |w| std::io::copy(&mut from, w).map(|_| ()))
        }
    }
}

/// Stream into `path` atomically.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut w = std::io::BufWriter::new(f);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else {
        failpoint::wrote();
    }
    result
}

/// Write `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Above this many files, `write_batch` syncs the whole filesystem once.
const SYNCFS_THRESHOLD: usize = 32;

/// Write many files durably with one pass of fsyncs: all temp files are written first,
/// then synced, then renamed, then each directory is synced once. Each file is still
/// replaced atomically; far cheaper than `write` per file for thousands of small files.
pub fn write_batch(files: &[(std::path::PathBuf, &[u8])]) -> std::io::Result<()> {
    let mut temps = Vec::with_capacity(files.len());
    let result = (|| {
        for (i, (path, bytes)) in files.iter().enumerate() {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let name = path
                .file_name()
                .ok_or_else(|| std::io::Error::other("path has no file name"))?;
            let tmp = dir.join(format!(
                ".{}.tmp-{}-{i}",
                name.to_string_lossy(),
                std::process::id()
            ));
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            temps.push(tmp);
            f.write_all(bytes)?;
        }
        // Thousands of small files: one syncfs of the filesystem beats one fsync each.
        if temps.len() > SYNCFS_THRESHOLD {
            if let Some(first) = temps.first() {
                rustix::fs::syncfs(std::fs::File::open(first)?)?;
            }
        } else {
            for tmp in &temps {
                std::fs::File::open(tmp)?.sync_all()?;
            }
        }
        let mut dirs = std::collections::BTreeSet::new();
        for (tmp, (path, _)) in temps.iter().zip(files) {
            std::fs::rename(tmp, path)?;
            failpoint::wrote();
            dirs.insert(
                path.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf(),
            );
        }
        temps.clear();
        for d in dirs {
            std::fs::File::open(d)?.sync_all()?;
        }
        Ok(())
    })();
    for tmp in &temps {
        let _ = std::fs::remove_file(tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write(&p, b"old").unwrap();
        write(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        let failed = write_with(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(failed.is_err());
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b"new contents",
            "a failed write changes nothing"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn batches_write_every_file_and_clean_up_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<(std::path::PathBuf, &[u8])> = (0..20)
            .map(|i| (dir.path().join(format!("f{i}")), &b"x"[..]))
            .collect();
        write_batch(&files).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 20);
        let bad = vec![
            (dir.path().join("ok"), &b"y"[..]),
            (dir.path().join("missing-dir/f"), &b"z"[..]),
        ];
        assert!(write_batch(&bad).is_err());
        assert!(
            !dir.path().join("ok").exists(),
            "nothing renamed when a write fails"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            20,
            "no temp files left"
        );
    }

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let held = lock(&p).unwrap();
        let e = lock(&p).err().expect("a second holder");
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        drop(held);
        lock(&p).unwrap();
    }

    #[test]
    fn link_or_copy_publishes_the_content_and_temp_names_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("staged");
        write(&src, b"blob").unwrap();
        let dest = dir.path().join("published");
        link_or_copy(&src, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"blob");
        assert!(link_or_copy(&src, &dest).is_err(), "never replaces a file");
        assert!(is_temp_name(".1.snapshot.json.tmp-42-3"));
        assert!(is_temp_name(".timestamp.json.tmp-42"));
        assert!(!is_temp_name("1.snapshot.json"));
    }
}
