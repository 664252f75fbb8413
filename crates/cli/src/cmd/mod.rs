//! One module per command; each takes its flags (see `flags`) and returns the exit code, or
//! an error message for exit code 2.

mod audit;
mod controls;
mod device;
mod enroll;
mod harden;
mod keys;
mod probe;
mod repo;
mod serve;
mod signer;

use crate::flags::{Cli, Command};

/// Run a command; Ok(exit code) or Err(message) for exit code 2.
pub fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Probe(args) => probe::run(args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Repo(cmd) => repo::run(cmd),
        Command::Signer(args) => signer::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Enroll(args) => enroll::run(args),
        Command::Controls(args) => controls::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Harden(args) => harden::run(args),
        Command::Device(cmd) => device::run(cmd),
    }
}
