//! XML vendor formats, read with quick-xml while keeping the byte span of every value.

use crate::document::{Entry, LineIndex, Slot};
use crate::{Document, Format, ParseError};
use quick_xml::events::attributes::{AttrError, Attribute};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    /// Every attribute is a setting (Poly).
    Attributes,
    /// Every leaf element is a setting (Cisco, Grandstream v1, Snom).
    Leaves,
    /// `<item name="key">value</item>` (Grandstream v2).
    Items,
}

struct Open {
    key: Option<String>,
    content_start: usize,
    has_child: bool,
    value: String,
}

pub(crate) fn parse(
    format: Format,
    bytes: &[u8],
    mode: Mode,
    root: Option<&str>,
) -> Result<Document, ParseError> {
    super::utf8(bytes)?;
    let lines = LineIndex::new(bytes);
    let mut doc = Document::new(format, bytes);
    // quick-xml skips a leading BOM without counting it: read after it and add it back.
    let base = if bytes.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    if bytes[base..].starts_with(b"\xef\xbb\xbf") {
        // quick-xml would skip this one too and shift every offset; it is not XML anyway.
        return Err(lines.error(base, "a second byte-order mark before the document"));
    }
    let mut reader = Reader::from_reader(&bytes[base..]);
    let mut stack: Vec<Open> = Vec::new();
    let mut seen_root = false;
    loop {
        let before = base + reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            lines.error(
                base + reader.error_position() as usize,
                format!("malformed XML: {e}"),
            )
        })?;
        let after = base + reader.buffer_position() as usize;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = local_name(e);
                if !seen_root {
                    seen_root = true;
                    doc.root = Some(name.clone());
                    if empty {
                        doc.self_closing_root = Some(before..after);
                    }
                    if let Some(expected) = root {
                        if name != expected {
                            return Err(lines.error(
                                before,
                                format!("expected <{expected}> root element, found <{name}>"),
                            ));
                        }
                    }
                } else if stack.is_empty() {
                    return Err(lines.error(before, "more than one root element"));
                }
                if let Some(parent) = stack.last_mut() {
                    parent.has_child = true;
                }
                let key = match mode {
                    Mode::Attributes => {
                        attributes(&mut doc, &lines, bytes, e, before)?;
                        None
                    }
                    Mode::Leaves => Some(match attr(&mut doc, e, "idx", &lines, before) {
                        Some(idx) => format!("{name}[{idx}]"),
                        None => name.clone(),
                    }),
                    Mode::Items if name == "item" => attr(&mut doc, e, "name", &lines, before),
                    Mode::Items => None,
                };
                if empty {
                    if let Some(key) = key.filter(|_| !stack.is_empty()) {
                        let (line, col) = lines.position(before);
                        doc.push(Entry {
                            key,
                            value: String::new(),
                            line,
                            col,
                            slot: Slot::SelfClosing(before..after),
                        });
                    }
                } else {
                    stack.push(Open {
                        key,
                        content_start: after,
                        has_child: false,
                        value: String::new(),
                    });
                }
            }
            Event::Text(t) => {
                if let Some(open) = stack.last_mut() {
                    match t.unescape() {
                        Ok(text) => open.value.push_str(&text),
                        Err(e) => {
                            // Kept as written (a bare `&` of a template): harden can still
                            // replace these bytes, and the decoder will not know the value.
                            doc.warn(lines.error(
                                before + leading_space(&t),
                                format!("text kept unescaped: {}", escape_problem(&e)),
                            ));
                            open.value.push_str(&String::from_utf8_lossy(&t));
                        }
                    }
                } else if !t.iter().all(u8::is_ascii_whitespace) && !t.starts_with(b"\xef\xbb\xbf")
                {
                    // A template leftover such as `{""}` around the root element.
                    doc.warn(lines.error(
                        before + leading_space(&t),
                        "skipped: text outside the root element",
                    ));
                }
            }
            Event::CData(t) => {
                if let Some(open) = stack.last_mut() {
                    open.value.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(ref e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                doc.end_tags.insert(name, before);
                let Some(open) = stack.pop() else {
                    return Err(lines.error(before, "unexpected end tag"));
                };
                // A leaf below the root (or any <item>) is a setting.
                let is_setting = !open.has_child && !stack.is_empty();
                if let (true, Some(key)) = (is_setting, open.key) {
                    let (line, col) = lines.position(open.content_start);
                    doc.push(Entry {
                        key,
                        value: open.value.trim().to_string(),
                        line,
                        col,
                        slot: Slot::Value(trimmed(bytes, open.content_start..before)),
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(lines.error(
            bytes.len(),
            format!(
                "unexpected end of file: element {} is not closed",
                open.key.as_deref().unwrap_or("(root)")
            ),
        ));
    }
    if !seen_root {
        return Err(lines.error(0, "no root element"));
    }
    Ok(doc)
}

fn local_name(e: &BytesStart) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn attr(
    doc: &mut Document,
    e: &BytesStart,
    key: &str,
    lines: &LineIndex,
    tag_start: usize,
) -> Option<String> {
    for a in e.attributes().with_checks(false) {
        let a = match a {
            Ok(a) => a,
            Err(err) => {
                doc.warn(attr_warning(lines, tag_start, &err));
                continue;
            }
        };
        if a.key.local_name().as_ref() == key.as_bytes() {
            return Some(unescaped(doc, lines, tag_start, &a));
        }
    }
    None
}

/// A malformed attribute (`{""}`, `key value` without `=`, a missing quote) is skipped.
fn attr_warning(lines: &LineIndex, tag_start: usize, err: &AttrError) -> ParseError {
    // Offsets count from the byte after `<`.
    let (offset, what) = match *err {
        AttrError::ExpectedEq(o) => (o, "a name without `=`"),
        AttrError::ExpectedValue(o) => (o, "a name without a value"),
        AttrError::UnquotedValue(o) => (o, "an unquoted value"),
        AttrError::ExpectedQuote(o, _) => (o, "a value without its closing quote"),
        AttrError::Duplicated(o, _) => (o, "a duplicated name"),
    };
    lines.error(
        tag_start + 1 + offset,
        format!("skipped a malformed attribute: {what}"),
    )
}

/// An attribute's value; one that does not unescape (a bare `&`) is kept as written.
fn unescaped(doc: &mut Document, lines: &LineIndex, tag_start: usize, a: &Attribute) -> String {
    match a.unescape_value() {
        Ok(v) => v.into_owned(),
        Err(err) => {
            let key = String::from_utf8_lossy(a.key.as_ref());
            doc.warn(lines.error(
                tag_start,
                format!("value of {key} kept unescaped: {}", escape_problem(&err)),
            ));
            String::from_utf8_lossy(&a.value).into_owned()
        }
    }
}

/// Poly: each attribute is a setting; its value span is located inside the tag.
fn attributes(
    doc: &mut Document,
    lines: &LineIndex,
    bytes: &[u8],
    e: &BytesStart,
    tag_start: usize,
) -> Result<(), ParseError> {
    // Without quick-xml's duplicate check: a duplicated attribute is two entries, and the
    // later one takes effect, as a duplicated key does in every other format.
    for a in e.attributes().with_checks(false) {
        let a = match a {
            Ok(a) => a,
            Err(err) => {
                doc.warn(attr_warning(lines, tag_start, &err));
                continue;
            }
        };
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        if doc
            .get(&key)
            .is_some_and(|prev| prev_in_tag(prev, tag_start))
        {
            doc.warn(lines.error(
                tag_start,
                format!("attribute {key} is duplicated; the later value is used"),
            ));
        }
        let value = unescaped(doc, lines, tag_start, &a);
        // The reader borrows the input, so the raw value is a sub-slice of `bytes`.
        let raw: &[u8] = &a.value;
        let start = (raw.as_ptr() as usize).wrapping_sub(bytes.as_ptr() as usize);
        if start > bytes.len() || start + raw.len() > bytes.len() {
            return Err(lines.error(tag_start, format!("cannot locate the value of {key}")));
        }
        let (line, col) = lines.position(start);
        if key == "CONFIG_FILES" {
            doc.config_files = Some(
                value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            );
        }
        doc.push(Entry {
            key,
            value,
            line,
            col,
            slot: Slot::Value(start..start + raw.len()),
        });
    }
    Ok(())
}

/// Narrow a content span to its non-whitespace part (so a patch keeps indentation).
fn trimmed(bytes: &[u8], span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let s = &bytes[span.clone()];
    let lead = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    if lead == s.len() {
        return span.start..span.start;
    }
    let trail = s
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_whitespace())
        .count();
    span.start + lead..span.end - trail
}

/// Was `prev` read from the tag that starts at `tag_start` (a duplicated attribute)?
fn prev_in_tag(prev: &Entry, tag_start: usize) -> bool {
    matches!(&prev.slot, Slot::Value(r) if r.start > tag_start)
}

fn leading_space(t: &[u8]) -> usize {
    t.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

/// What is wrong with an escape, without quoting the text (it may be a secret).
fn escape_problem(e: &quick_xml::Error) -> &'static str {
    match e {
        quick_xml::Error::Escape(_) => "an `&` that starts no known entity",
        _ => "the text is not valid XML",
    }
}
