//! Command-line front end: flags (`flags`), one module per command (`cmd`), file IO and
//! output. The work is done by the library crates.

mod cmd;
pub mod flags;
pub mod output;
pub mod scan;

pub use cmd::run;
pub use flags::Cli;
