//! Writing results: stdout, or `-o PATH`. A regular file (or a new one) is replaced
//! atomically (see `hookswitch-atomicfile`), through any symlinks, which stay. A character
//! device, a FIFO or an open descriptor (`/dev/null`, `/dev/stdout`) is written into, never
//! replaced. Anything else (a directory, a block device) is refused.

use hookswitch_atomicfile::{destination, kind_of, Destination};
use std::io::Write;
use std::path::Path;

/// Write to `-o PATH`, or to stdout.
pub fn emit(out: Option<&Path>, bytes: &[u8]) -> Result<(), String> {
    emit_with(out, |w| w.write_all(bytes))
}

/// Stream to `-o PATH`, or to stdout.
pub fn emit_with(
    out: Option<&Path>,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    let Some(p) = out else {
        let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
        return fill(&mut stdout)
            .and_then(|_| stdout.flush())
            .map_err(|e| format!("stdout: {e}"));
    };
    let located = |e: std::io::Error| format!("{}: {e}", p.display());
    match destination(p).map_err(located)? {
        Destination::File(file) => hookswitch_atomicfile::write_with(&file, fill).map_err(located),
        Destination::Stream => write_into(p, fill).map_err(located),
    }
}

/// Write into a device, FIFO or descriptor: opened without creating or truncating (append,
/// so `>>` redirections keep their contents), and checked again once open.
fn write_into(
    p: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new().append(true).open(p)?;
    let ft = f.metadata()?.file_type();
    if ft.is_dir() || std::os::unix::fs::FileTypeExt::is_block_device(&ft) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("is {}; refusing to write to it", kind_of(&ft)),
        ));
    }
    let mut w = std::io::BufWriter::new(f);
    fill(&mut w)?;
    w.flush()
}
