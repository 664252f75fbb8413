//! Writing results: stdout, or a file written atomically (see `hookswitch-atomicfile`).

use std::io::Write;
use std::path::Path;

/// Write to `-o FILE` atomically, or to stdout.
pub fn emit(out: Option<&Path>, bytes: &[u8]) -> Result<(), String> {
    emit_with(out, |w| w.write_all(bytes))
}

/// Stream to `-o FILE` atomically, or to stdout.
pub fn emit_with(
    out: Option<&Path>,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    match out {
        Some(p) => {
            hookswitch_atomicfile::write_with(p, fill).map_err(|e| format!("{}: {e}", p.display()))
        }
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            fill(&mut stdout)
                .and_then(|_| stdout.flush())
                .map_err(|e| format!("stdout: {e}"))
        }
    }
}
