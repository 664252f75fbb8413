//! `key = value` lines: Yealink `.cfg` and Grandstream P-value text.

use crate::document::{Entry, Slot};
use crate::{Document, Format, ParseError};

pub(crate) fn parse(format: Format, bytes: &[u8]) -> Result<Document, ParseError> {
    let text = super::utf8(bytes)?;
    let mut doc = Document::new(format, bytes);
    let mut offset = 0usize;
    for (n, raw_line) in text.split_inclusive('\n').enumerate() {
        let line_no = n as u32 + 1;
        let line_start = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let body = line.trim_start();
        let lead = line.len() - body.len();
        if n == 0 {
            if let Some(rest) = body.strip_prefix('\u{feff}') {
                if rest.trim().is_empty() || rest.starts_with('#') {
                    continue;
                }
            }
        }
        if body.is_empty() || body.starts_with('#') || body.starts_with(';') {
            continue;
        }
        let body = body.trim_start_matches('\u{feff}');
        // A defective line (a template leftover, `key value` without `=`) is skipped with
        // a warning, and the rest of the file still counts. The line is never echoed: it
        // may hold a secret.
        let Some(eq) = body.find('=') else {
            doc.warn(ParseError {
                line: line_no,
                col: lead as u32 + 1,
                reason: "skipped: expected `key = value`".into(),
            });
            continue;
        };
        let key = body[..eq].trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            doc.warn(ParseError {
                line: line_no,
                col: lead as u32 + 1,
                reason: "skipped: a key with spaces, or no key, before `=`".into(),
            });
            continue;
        }
        let after = &body[eq + 1..];
        let value = after.trim();
        let value_start = line_start
            + lead
            + (line.len() - lead - body.len())
            + eq
            + 1
            + (after.len() - after.trim_start().len());
        doc.push(Entry {
            key: key.to_string(),
            value: value.to_string(),
            line: line_no,
            col: (value_start - line_start) as u32 + 1,
            slot: Slot::Value(value_start..value_start + value.len()),
        });
    }
    // Nothing readable at all: not a configuration file of this format.
    match doc.warnings.first() {
        Some(first) if doc.entries.is_empty() => Err(ParseError {
            reason: format!(
                "no `key = value` line in the file (first: {})",
                first.reason.trim_start_matches("skipped: ")
            ),
            ..first.clone()
        }),
        _ => Ok(doc),
    }
}
