use crate::{summarize, Subject, Summary};
use hookswitch_controls::Profile;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonReport<'a, I: Serialize> {
    tool: Tool,
    profile: Profile,
    files: &'a [Subject<I>],
    summary: Summary,
}

/// `{"tool":…,"profile":…,"files":[…],"summary":{…}}`.
pub fn json<I: Serialize>(
    subjects: &[Subject<I>],
    profile: Profile,
    out: &mut dyn Write,
) -> io::Result<()> {
    let doc = JsonReport {
        tool: Tool {
            name: "hookswitch",
            version: env!("CARGO_PKG_VERSION"),
        },
        profile,
        files: subjects,
        summary: summarize(subjects),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}
