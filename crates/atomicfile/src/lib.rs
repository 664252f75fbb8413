//! Atomic file replacement: a temp file beside the target, fsync, rename, fsync the
//! directory. Used for every file hookswitch writes (reports, configs, trusted metadata).
//!
//! Only regular files are replaced. A symlink is followed and its target replaced (the link
//! stays); a device, a FIFO or a directory is never replaced: [`destination`] tells a caller
//! that may write into a stream (the CLI's `-o`) what the path is, and the writers here
//! refuse anything that is not a regular file.
//!
//! Temp files are named `.<name>.tmp-<pid>-<random>-<n>` ([`is_temp_name`]), so whoever
//! owns a directory can sweep what a killed process left behind.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// What a path names once its symlinks are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A regular file, or nothing yet: replace it atomically at this path (symlinks resolved).
    File(PathBuf),
    /// A character device, a FIFO, or one of a process's open descriptors (`/dev/stdout`,
    /// `/proc/self/fd/N`): to be written into, never replaced.
    Stream,
}

/// The kernel's own limit on symlinks in one lookup (ELOOP).
const MAX_SYMLINK_HOPS: usize = 40;

/// Follow `path`'s symlinks one at a time and say what it names. Directories, block devices
/// and sockets are errors: there is nothing sensible to write there.
pub fn destination(path: &Path) -> std::io::Result<Destination> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        let dir = parent_of(&p);
        // /dev/stdout and /dev/fd/N lead here; those links name open descriptors, and their
        // text (`pipe:[123]`, a deleted file) is not a path to replace.
        match std::fs::canonicalize(dir) {
            Ok(real) if is_descriptor_dir(&real) => return Ok(Destination::Stream),
            // A missing directory fails when the file is created, with the path in the error.
            _ => {}
        }
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Destination::File(p)),
            Err(e) => return Err(e),
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(&p)?;
            p = dir.join(target);
        } else if ft.is_file() {
            return Ok(Destination::File(p));
        } else if is_stream(&ft) {
            return Ok(Destination::Stream);
        } else {
            return Err(not_regular(&ft));
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

fn parent_of(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// `/proc/<pid>/fd` or `/proc/<pid>/task/<tid>/fd` (canonical: `self` already resolved).
fn is_descriptor_dir(dir: &Path) -> bool {
    let parts: Vec<Component> = dir.components().collect();
    let is_proc = |c: &Component| matches!(c, Component::Normal(n) if *n == "proc");
    let is_fd = |c: &Component| matches!(c, Component::Normal(n) if *n == "fd");
    matches!(parts.first(), Some(Component::RootDir))
        && parts.get(1).is_some_and(is_proc)
        && parts.last().is_some_and(is_fd)
        && (parts.len() == 4
            || (parts.len() == 6 && parts[3] == Component::Normal("task".as_ref())))
}

#[cfg(unix)]
fn is_stream(ft: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    ft.is_char_device() || ft.is_fifo()
}

#[cfg(not(unix))]
fn is_stream(_: &std::fs::FileType) -> bool {
    false
}

/// A name for a file type, for errors and reports: "a FIFO", "a block device", ….
pub fn kind_of(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

fn not_regular(ft: &std::fs::FileType) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "is {}, not a regular file; refusing to replace it",
            kind_of(ft)
        ),
    )
}

/// Why [`read_regular`] did not return a file's bytes.
#[derive(Debug)]
pub enum ReadError {
    /// A FIFO, a device, a directory, a socket: not opened for reading at all (or, if it
    /// was swapped in after the check, opened non-blocking and not read).
    NotRegular(&'static str),
    /// Larger than the caller's limit (`len` as far as it is known).
    TooLarge {
        len: u64,
        max: u64,
    },
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotRegular(kind) => write!(f, "{kind}, not a regular file; not read"),
            ReadError::TooLarge { len, max } => {
                write!(f, "{len} bytes, over the limit of {max}; not read")
            }
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// Read a regular file (following symlinks) of at most `max_len` bytes. Anything else is
/// never read as data: a FIFO would block, `/dev/zero` would never end.
pub fn read_regular(path: &Path, max_len: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let regular = |meta: &std::fs::Metadata| -> Result<(), ReadError> {
        if !meta.is_file() {
            return Err(ReadError::NotRegular(kind_of(&meta.file_type())));
        }
        if meta.len() > max_len {
            return Err(ReadError::TooLarge {
                len: meta.len(),
                max: max_len,
            });
        }
        Ok(())
    };
    regular(&std::fs::metadata(path)?)?;
    // Non-blocking, and checked again once open: a FIFO swapped in meanwhile cannot hang us.
    let f = open_nonblocking(path)?;
    regular(&f.metadata()?)?;
    let mut bytes = Vec::new();
    f.take(max_len.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_len {
        return Err(ReadError::TooLarge {
            len: bytes.len() as u64,
            max: max_len,
        });
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// The regular file that `path` names (following symlinks), or an error if it names
/// anything else.
fn regular_target(path: &Path) -> std::io::Result<PathBuf> {
    match destination(path)? {
        Destination::File(p) => Ok(p),
        Destination::Stream => {
            let ft = std::fs::metadata(path)?.file_type();
            let e = not_regular(&ft);
            Err(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            ))
        }
    }
}

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
    name.starts_with('.') && name.contains(TEMP_MARKER)
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

/// Stream into `path` atomically. If `path` is a symlink its target is replaced; a path
/// naming anything but a regular file (or nothing) is refused.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let path = &regular_target(path)?;
    let dir = parent_of(path);
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
    } else {
        failpoint::wrote();
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
        if is_temp_name(&name) && entry.file_type()?.is_file() {
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
/// Symlinks are followed and non-regular files refused, as in [`write_with`].
pub fn write_batch(files: &[(PathBuf, &[u8])]) -> std::io::Result<()> {
    let targets: Vec<PathBuf> = files
        .iter()
        .map(|(p, _)| {
            // One of many: say which.
            regular_target(p)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        })
        .collect::<Result<_, _>>()?;
    let mut temps = Vec::with_capacity(files.len());
    let result = (|| {
        for (i, (path, (_, bytes))) in targets.iter().zip(files).enumerate() {
            let dir = parent_of(path);
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
        for (tmp, path) in temps.iter().zip(&targets) {
            std::fs::rename(tmp, path)?;
            failpoint::wrote();
            dirs.insert(parent_of(path).to_path_buf());
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

    fn mkfifo(p: &Path) {
        assert!(std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap()
            .success());
    }

    #[test]
    fn a_fifo_is_refused_not_replaced_and_a_symlink_is_followed() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("state.json");
        mkfifo(&fifo);
        let e = write(&fifo, b"x").unwrap_err();
        assert!(e.to_string().contains("is a FIFO"), "{e}");
        let batch = write_batch(&[(fifo.clone(), &b"x"[..])]).unwrap_err();
        assert!(batch.to_string().contains("is a FIFO"), "{batch}");
        assert!(batch.to_string().contains("state.json"), "{batch}");
        assert!(std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo());
        let real = dir.path().join("real");
        write(&real, b"old").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("real", &link).unwrap();
        write(&link, b"new").unwrap();
        write_batch(&[(link.clone(), &b"newer"[..])]).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"newer");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
        let e = write(dir.path(), b"x").unwrap_err();
        assert!(e.to_string().contains("directory"), "{e}");
    }

    #[test]
    fn destinations_name_devices_descriptors_and_loops() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            destination(Path::new("/dev/null")).unwrap(),
            Destination::Stream
        );
        assert_eq!(
            destination(Path::new("/dev/stdout")).unwrap(),
            Destination::Stream
        );
        assert_eq!(
            destination(Path::new("/dev/fd/2")).unwrap(),
            Destination::Stream
        );
        assert_eq!(
            destination(Path::new("/proc/self/fd/1")).unwrap(),
            Destination::Stream
        );
        let new = dir.path().join("new.json");
        assert_eq!(destination(&new).unwrap(), Destination::File(new.clone()));
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let e = destination(&a).unwrap_err();
        assert!(e.to_string().contains("symbolic links"), "{e}");
        // A dangling link creates its target, keeping the link.
        let d = dir.path().join("dangling");
        std::os::unix::fs::symlink("made.json", &d).unwrap();
        write(&d, b"x").unwrap();
        assert_eq!(std::fs::read(dir.path().join("made.json")).unwrap(), b"x");
    }

    #[test]
    fn only_regular_files_are_read_and_only_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        mkfifo(&fifo);
        let e = read_regular(&fifo, 10).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular("a FIFO")), "{e}");
        let e = read_regular(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(
            matches!(e, ReadError::NotRegular("a character device")),
            "{e}"
        );
        let p = dir.path().join("r");
        write(&p, b"0123456789").unwrap();
        assert_eq!(read_regular(&p, 10).unwrap(), b"0123456789");
        assert!(matches!(
            read_regular(&p, 9),
            Err(ReadError::TooLarge { len: 10, max: 9 })
        ));
        assert!(matches!(
            read_regular(&dir.path().join("missing"), 9),
            Err(ReadError::Io(_))
        ));
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
