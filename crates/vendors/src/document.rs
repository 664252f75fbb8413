use crate::Format;
use std::collections::HashMap;
use std::ops::Range;

/// Where a value sits in the source bytes, so a patch can replace exactly those bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// The value's bytes (raw, as escaped in the file).
    Value(Range<usize>),
    /// `<key/>`: the whole self-closing tag, to be rewritten with content.
    SelfClosing(Range<usize>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// The value, unescaped.
    pub value: String,
    pub line: u32,
    pub col: u32,
    pub slot: Slot,
}

/// Warnings kept per file: a template full of defects must not flood the report.
pub const MAX_WARNINGS: usize = 50;

/// A parsed configuration file.
#[derive(Debug, Clone)]
pub struct Document {
    pub format: Format,
    /// Entries in file order.
    pub entries: Vec<Entry>,
    /// For XML formats: byte offset of the end tag of each element name (last seen),
    /// where new children are inserted.
    pub end_tags: HashMap<String, usize>,
    /// Newline style of the file, reused for inserted lines.
    pub newline: &'static str,
    /// Polycom master files: the `CONFIG_FILES` list.
    pub config_files: Option<Vec<String>>,
    /// For XML formats: the root element's name.
    pub root: Option<String>,
    /// For XML formats whose root is `<root/>`: its span (children need it expanded).
    pub self_closing_root: Option<Range<usize>>,
    /// Lines or attributes skipped as unreadable; the rest of the file is still read.
    pub warnings: Vec<ParseError>,
    index: HashMap<String, usize>,
}

impl Document {
    pub(crate) fn new(format: Format, bytes: &[u8]) -> Self {
        let newline = if bytes.windows(2).any(|w| w == b"\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        Document {
            format,
            entries: Vec::new(),
            end_tags: HashMap::new(),
            newline,
            config_files: None,
            root: None,
            self_closing_root: None,
            warnings: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// Record a skipped defect; past [`MAX_WARNINGS`], one last warning says more were skipped.
    pub(crate) fn warn(&mut self, warning: ParseError) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        } else if self.warnings.len() == MAX_WARNINGS {
            self.warnings.push(ParseError {
                reason: "further defects skipped without a warning each".into(),
                ..warning
            });
        }
    }

    pub(crate) fn push(&mut self, entry: Entry) {
        // Later occurrences win, as in the phones' own parsers.
        self.index.insert(entry.key.clone(), self.entries.len());
        self.entries.push(entry);
    }

    /// The effective entry for a key, if present. A Yealink key is found under both of its
    /// spellings (`static.wifi.enable`, `wifi.enable`): real files mix them, and the later
    /// line wins, as between duplicates.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        let here = self.index.get(key).copied();
        let other = match self.format {
            Format::YealinkV7x | Format::YealinkV8x => {
                yealink_other_spelling(key).and_then(|k| self.index.get(k.as_ref()).copied())
            }
            _ => None,
        };
        here.max(other).map(|i| &self.entries[i])
    }

    /// Effective keys in first-seen order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(i, e)| self.index.get(&e.key) == Some(i))
            .map(|(_, e)| e.key.as_str())
    }
}

/// `static.<group>.x` ⇄ `<group>.x` for the groups V8x firmware prefixes.
fn yealink_other_spelling(key: &str) -> Option<std::borrow::Cow<'_, str>> {
    match key.strip_prefix("static.") {
        Some(rest) => crate::keys::yealink_static_group(rest).then_some(rest.into()),
        None => crate::keys::yealink_static_group(key).then(|| format!("static.{key}").into()),
    }
}

/// A file that could not be parsed, with the position of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {reason}")]
pub struct ParseError {
    pub line: u32,
    pub col: u32,
    pub reason: String,
}

/// Maps byte offsets to 1-based line and column.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(bytes: &[u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    pub fn position(&self, offset: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|&s| s <= offset);
        let col = offset - self.starts[line - 1] + 1;
        (line as u32, col as u32)
    }

    pub fn error(&self, offset: usize, reason: impl Into<String>) -> ParseError {
        let (line, col) = self.position(offset);
        ParseError {
            line,
            col,
            reason: reason.into(),
        }
    }
}
