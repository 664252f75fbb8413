//! The `hookswitch` binary: a thin clap front end over the library crates.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = hookswitch::Cli::parse();
    match hookswitch::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hookswitch: {e}");
            ExitCode::from(2)
        }
    }
}
