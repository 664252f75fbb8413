//! Report writers. Each streams its document into a writer, so memory stays flat in
//! the number of findings beyond the findings themselves.

mod cklb;
mod human;
mod sarif;

pub use cklb::cklb;
pub use human::human;
pub use sarif::sarif;

use crate::{summarize, FileReport};
use hookswitch_controls::Profile;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    tool: Tool,
    profile: Profile,
    files: &'a [FileReport],
    summary: crate::Summary,
}

/// `{"tool":…,"profile":…,"files":[…],"summary":{…}}`.
pub fn json(files: &[FileReport], profile: Profile, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonReport {
        tool: Tool {
            name: "hookswitch",
            version: env!("CARGO_PKG_VERSION"),
        },
        profile,
        files,
        summary: summarize(files),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}
