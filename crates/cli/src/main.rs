//! The `hookswitch` binary: a thin clap front end over the library crates.

use clap::Parser;
use std::process::ExitCode;

/// Crash tests: abort right after the Nth durable file write (see `hookswitch_atomicfile::failpoint`).
const FAILPOINT_ENV: &str = "HOOKSWITCH_FAILPOINT_ABORT_AFTER_WRITES";

fn main() -> ExitCode {
    if let Ok(n) = std::env::var(FAILPOINT_ENV) {
        match n.parse::<u64>() {
            Ok(n) if n > 0 => hookswitch_atomicfile::failpoint::abort_after_writes(n),
            _ => {
                eprintln!("hookswitch: {FAILPOINT_ENV}={n:?}: expected a whole number from 1");
                return ExitCode::from(2);
            }
        }
    }
    let cli = hookswitch::Cli::parse();
    match hookswitch::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hookswitch: {e}");
            ExitCode::from(2)
        }
    }
}
