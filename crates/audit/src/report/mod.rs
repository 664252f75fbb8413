//! Report writers. Each takes the file reports and returns the document as a string.

mod cklb;
mod human;
mod sarif;

pub use cklb::cklb;
pub use human::human;
pub use sarif::sarif;

use crate::{summarize, FileReport};
use hookswitch_controls::Profile;

/// `{"files":[…],"summary":{…}}`.
pub fn json(files: &[FileReport], profile: Profile) -> String {
    let doc = serde_json::json!({
        "tool": {"name": "hookswitch", "version": env!("CARGO_PKG_VERSION")},
        "profile": profile,
        "files": files,
        "summary": summarize(files),
    });
    // Serializing plain data cannot fail.
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}
