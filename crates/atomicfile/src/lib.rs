//! Atomic file replacement: a temp file beside the target, fsync, rename, fsync the
//! directory. Used for every file hookswitch writes (reports, configs, trusted metadata).

use std::io::Write;
use std::path::Path;

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
    let tmp = temp_path(dir, name, 0);
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
    }
    result
}

/// Marks hookswitch's temp files: `.<name>.tmp-<pid>-<random>-<n>`.
const TEMP_MARKER: &str = ".tmp-";

/// A temp name beside the target. The random part keeps a leftover of a killed process
/// from blocking a later one that gets the same PID.
fn temp_path(dir: &Path, name: &std::ffi::OsStr, n: usize) -> std::path::PathBuf {
    let mut random = [0u8; 8];
    // Without randomness the PID and counter still separate live processes.
    let _ = getrandom::fill(&mut random);
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!(
        ".{}{TEMP_MARKER}{}-{random}-{n}",
        name.to_string_lossy(),
        std::process::id()
    ))
}

/// Remove temp files that a killed writer left in `dir` (regular files named like ours;
/// nothing else is touched). Returns how many were removed. Call it only where no other
/// writer is active in `dir`.
pub fn remove_stale_temps(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(TEMP_MARKER) && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
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
            let tmp = temp_path(dir, name, i);
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
    fn stale_temps_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let stale = temp_path(dir.path(), std::ffi::OsStr::new("fw.bin"), 0);
        std::fs::write(&stale, b"partial").unwrap();
        std::fs::write(dir.path().join("fw.bin"), b"kept").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"kept").unwrap();
        std::fs::create_dir(dir.path().join(".dir.tmp-1")).unwrap();
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 1);
        assert!(!stale.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
        // Two temp names for one target never collide, even in one process.
        let a = temp_path(dir.path(), std::ffi::OsStr::new("x"), 0);
        assert_ne!(a, temp_path(dir.path(), std::ffi::OsStr::new("x"), 0));
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
}
