//! Command-line front end: argument parsing, file IO and output. The work is done by the
//! pure crates (`hookswitch-controls`, `-vendors`, `-audit`).

mod commands;
pub mod output;
mod probe_cmd;
pub mod scan;
mod trust_cmds;

pub use commands::{run, Cli};
