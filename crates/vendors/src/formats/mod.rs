//! One parser per file syntax. Each returns a [`Document`] with byte spans for every value.

mod kv;
mod xml;

use crate::{Document, Format, ParseError};

pub(crate) fn parse(format: Format, bytes: &[u8]) -> Result<Document, ParseError> {
    match format {
        Format::YealinkV7x | Format::YealinkV8x | Format::GrandstreamText => {
            kv::parse(format, bytes)
        }
        Format::YealinkEncrypted => Ok(Document::new(format, bytes)),
        Format::PolyXml => xml::parse(format, bytes, xml::Mode::Attributes, None),
        Format::CiscoCucm => xml::parse(format, bytes, xml::Mode::Leaves, Some("device")),
        Format::CiscoMpp => xml::parse(format, bytes, xml::Mode::Leaves, Some("flat-profile")),
        Format::GrandstreamXmlV1 => {
            xml::parse(format, bytes, xml::Mode::Leaves, Some("gs_provision"))
        }
        Format::GrandstreamXmlV2 => {
            xml::parse(format, bytes, xml::Mode::Items, Some("gs_provision"))
        }
        Format::SnomXml => xml::parse(format, bytes, xml::Mode::Leaves, Some("settings")),
    }
}

/// Decode UTF-8 (a leading BOM is allowed), or report where it breaks.
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let idx = crate::document::LineIndex::new(bytes);
        idx.error(e.valid_up_to(), "invalid UTF-8")
    })
}
