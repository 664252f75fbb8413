//! Vendor configuration formats mapped to the normalized settings model.
//!
//! Pure: every function works on bytes the caller hands in. One module per format parses
//! the real file into a [`Document`] (keys, values, lines and byte spans); one table per
//! vendor in [`keys`] says which vendor key means which normalized [`Setting`]. Adding a
//! verified key is one entry in that table. Hardening ([`patch`]) rewrites only the bytes
//! of the values it changes.

mod detect;
mod document;
mod formats;
pub mod keys;
pub mod layered;
mod load;
mod observe;
pub mod patch;

pub use detect::{detect, is_binary, Detected, Unrecognised};
pub use document::{Document, Entry, ParseError, Slot, MAX_WARNINGS};
pub use load::{load, load_as, Loaded};
pub use observe::{observe, Observation, Observed};

use hookswitch_controls::Setting;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// Files larger than this are not parsed (a phone config is kilobytes).
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vendor {
    Poly,
    Yealink,
    Cisco,
    Grandstream,
    Snom,
}

impl Vendor {
    pub const ALL: [Vendor; 5] = [
        Vendor::Poly,
        Vendor::Yealink,
        Vendor::Cisco,
        Vendor::Grandstream,
        Vendor::Snom,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Poly => "poly",
            Vendor::Yealink => "yealink",
            Vendor::Cisco => "cisco",
            Vendor::Grandstream => "grandstream",
            Vendor::Snom => "snom",
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Vendor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "poly" | "polycom" => Ok(Vendor::Poly),
            "yealink" => Ok(Vendor::Yealink),
            "cisco" => Ok(Vendor::Cisco),
            "grandstream" => Ok(Vendor::Grandstream),
            "snom" => Ok(Vendor::Snom),
            _ => Err(format!(
                "unknown vendor {s:?} (expected poly, yealink, cisco, grandstream or snom)"
            )),
        }
    }
}

/// A concrete file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Poly/Polycom UC Software `.cfg`: settings are XML attributes.
    PolyXml,
    /// Yealink `key = value`, firmware V7x (no `static.` prefix).
    YealinkV7x,
    /// Yealink `key = value`, firmware V8x and later (`static.` prefix).
    YealinkV8x,
    /// Yealink AES-encrypted configuration: not auditable.
    YealinkEncrypted,
    /// Cisco CUCM `SEP<MAC>.cnf.xml`.
    CiscoCucm,
    /// Cisco MPP/3PCC `<flat-profile>`.
    CiscoMpp,
    /// Grandstream P-value text (`P276 = 0`).
    GrandstreamText,
    /// Grandstream `<gs_provision><config version="1">` with `<Pnnn>` elements.
    GrandstreamXmlV1,
    /// Grandstream `<config version="2">` with `<item name="alias">`.
    GrandstreamXmlV2,
    /// Snom `<settings><phone-settings>` XML.
    SnomXml,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::PolyXml,
        Format::YealinkV7x,
        Format::YealinkV8x,
        Format::YealinkEncrypted,
        Format::CiscoCucm,
        Format::CiscoMpp,
        Format::GrandstreamText,
        Format::GrandstreamXmlV1,
        Format::GrandstreamXmlV2,
        Format::SnomXml,
    ];

    pub fn vendor(self) -> Vendor {
        match self {
            Format::PolyXml => Vendor::Poly,
            Format::YealinkV7x | Format::YealinkV8x | Format::YealinkEncrypted => Vendor::Yealink,
            Format::CiscoCucm | Format::CiscoMpp => Vendor::Cisco,
            Format::GrandstreamText | Format::GrandstreamXmlV1 | Format::GrandstreamXmlV2 => {
                Vendor::Grandstream
            }
            Format::SnomXml => Vendor::Snom,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::PolyXml => "poly-xml",
            Format::YealinkV7x => "yealink-v7x",
            Format::YealinkV8x => "yealink-v8x",
            Format::YealinkEncrypted => "yealink-encrypted",
            Format::CiscoCucm => "cisco-cucm",
            Format::CiscoMpp => "cisco-mpp",
            Format::GrandstreamText => "grandstream-text",
            Format::GrandstreamXmlV1 => "grandstream-xml-v1",
            Format::GrandstreamXmlV2 => "grandstream-xml-v2",
            Format::SnomXml => "snom-xml",
        }
    }

    /// Formats that `harden` can write.
    pub fn writable(self) -> bool {
        self != Format::YealinkEncrypted
    }

    /// The default format written for a vendor.
    pub fn default_for(vendor: Vendor) -> Format {
        match vendor {
            Vendor::Poly => Format::PolyXml,
            Vendor::Yealink => Format::YealinkV8x,
            Vendor::Cisco => Format::CiscoCucm,
            Vendor::Grandstream => Format::GrandstreamXmlV1,
            Vendor::Snom => Format::SnomXml,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown format {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Parse a file whose format is already known.
pub fn parse(format: Format, bytes: &[u8]) -> Result<Document, ParseError> {
    formats::parse(format, bytes)
}

/// Why a control cannot be assessed for a vendor: no verified key in our sources.
pub fn unsupported_reason(vendor: Vendor, setting: Setting) -> String {
    format!(
        "no verified {vendor} key for {setting} in reference/vendor-config-keys.md; not guessed"
    )
}
