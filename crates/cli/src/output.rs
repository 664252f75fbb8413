//! Writing results: stdout, or a file written atomically (temp file, fsync, rename).

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` so that readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Stream into `path` atomically: a temp file beside it, fsync, rename, fsync the directory.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("output path has no file name"))?;
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
    }
    result
}

/// Write to `-o FILE` atomically, or to stdout.
pub fn emit(out: Option<&Path>, bytes: &[u8]) -> Result<(), String> {
    match out {
        Some(p) => write_atomic(p, bytes).map_err(|e| format!("{}: {e}", p.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|_| stdout.flush())
                .map_err(|e| format!("stdout: {e}"))
        }
    }
}

/// Stream to `-o FILE` atomically, or to stdout.
pub fn emit_with(
    out: Option<&Path>,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    match out {
        Some(p) => write_atomic_with(p, fill).map_err(|e| format!("{}: {e}", p.display())),
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            fill(&mut stdout)
                .and_then(|_| stdout.flush())
                .map_err(|e| format!("stdout: {e}"))
        }
    }
}
