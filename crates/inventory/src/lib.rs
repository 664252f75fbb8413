//! The endpoint inventory: which device (by MAC) is which vendor and model, and, for the
//! fleet, where it is. One CSV format and one parser, shared by `audit --inventory` and
//! (later) `inventory import`.
//!
//! Pure: the caller reads the file and hands in its text. Every bad row is reported with its
//! line and column, so a whole file can be fixed in one pass.
//!
//! The format: RFC 4180 CSV, UTF-8, a header row naming the columns in any order.
//!
//! | column | required | value |
//! |---|---|---|
//! | `id` | yes | the device's identifier, unique in the file |
//! | `mac` | yes | 12 hex digits, with or without `:`, `-` or `.` separators; unique |
//! | `vendor` | yes | `poly` (or `polycom`), `yealink`, `cisco`, `grandstream`, `snom` |
//! | `model` | yes | the model as the vendor names it, e.g. `GRP2612`, `CP-8861`, `T54W` |
//! | `kind` | no | `desk_phone`, `video_phone`, `conference_unit`, `desktop_vtc`, `softphone` |
//! | `site` | no | free text |
//! | `office` | no | free text |
//! | `zone` | no | `normal` or `sensitive` (the sensitive profile applies) |
//! | `remote` | no | `yes`/`no` (also `true`/`false`, `1`/`0`) |
//! | `address` | no | an IPv4 or IPv6 address |
//!
//! An empty optional cell means "not given". Unknown columns are refused (a misspelt
//! column would otherwise be silently ignored).

use hookswitch_vendors::Vendor;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// A MAC address, normalised to 12 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Mac(String);

impl Mac {
    /// Parse `00:0B:82:AA:BB:CC`, `00-0b-82-aa-bb-cc`, `000b.82aa.bbcc` or `000b82aabbcc`.
    pub fn parse(text: &str) -> Option<Mac> {
        let hex: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ':' | '-' | '.'))
            .collect();
        (hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Mac(hex.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The MAC in a vendor file name: Grandstream `cfg<mac>.xml` (or `cfg<mac>`), Yealink and
    /// Poly `<mac>.cfg`, Cisco CUCM `SEP<MAC>.cnf.xml`, Snom and Cisco MPP `<MAC>.xml`.
    pub fn in_file_name(name: &str) -> Option<Mac> {
        let lower = name.to_ascii_lowercase();
        let stem = if let Some(rest) = lower.strip_prefix("sep") {
            rest.strip_suffix(".cnf.xml")?
        } else if let Some(rest) = lower.strip_prefix("cfg") {
            rest.strip_suffix(".xml").unwrap_or(rest)
        } else {
            lower
                .strip_suffix(".cfg")
                .or_else(|| lower.strip_suffix(".xml"))?
        };
        // Separators are not part of these names: exactly 12 hex digits.
        (stem.len() == 12 && stem.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Mac(stem.to_string()))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of endpoint a device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    DeskPhone,
    VideoPhone,
    ConferenceUnit,
    DesktopVtc,
    Softphone,
}

/// The security zone a device sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    Normal,
    /// The sensitive profile applies.
    Sensitive,
}

/// One row of the inventory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub mac: Mac,
    pub vendor: Vendor,
    pub model: String,
    pub kind: Option<Kind>,
    pub site: Option<String>,
    pub office: Option<String>,
    pub zone: Option<Zone>,
    pub remote: Option<bool>,
    pub address: Option<IpAddr>,
    /// The line of the file the row starts on.
    pub line: usize,
}

/// A bad row (or header): where, which column, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    /// The column at fault, when one is.
    pub column: Option<String>,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "{}: column {c:?}: {}", self.line, self.reason),
            None => write!(f, "{}: {}", self.line, self.reason),
        }
    }
}

/// Every column the format knows, required ones first.
pub const COLUMNS: [&str; 10] = [
    "id", "mac", "vendor", "model", "kind", "site", "office", "zone", "remote", "address",
];
const REQUIRED: usize = 4;

/// A parsed inventory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    pub devices: Vec<Device>,
    by_mac: HashMap<Mac, usize>,
}

impl Inventory {
    /// Parse CSV text. Err lists every bad row (or a bad header), in file order.
    pub fn parse_csv(text: &str) -> Result<Inventory, Vec<RowError>> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let records = records(text).map_err(|e| vec![e])?;
        let mut records = records.into_iter().filter(|r| !r.is_blank());
        let Some(header) = records.next() else {
            return Err(vec![RowError {
                line: 1,
                column: None,
                reason: format!(
                    "empty file: expected a header naming {}",
                    COLUMNS.join(", ")
                ),
            }]);
        };
        let columns = header_columns(&header)?;
        let mut inventory = Inventory::default();
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut errors = Vec::new();
        for record in records {
            match device(&columns, &record) {
                Ok(d) => {
                    if let Some(first) = ids.get(&d.id) {
                        errors.push(err(
                            d.line,
                            "id",
                            format!("{:?} is already used on line {first}", d.id),
                        ));
                    } else if let Some(&i) = inventory.by_mac.get(&d.mac) {
                        let first = inventory.devices[i].line;
                        errors.push(err(
                            d.line,
                            "mac",
                            format!("{} is already used on line {first}", d.mac),
                        ));
                    } else {
                        ids.insert(d.id.clone(), d.line);
                        inventory
                            .by_mac
                            .insert(d.mac.clone(), inventory.devices.len());
                        inventory.devices.push(d);
                    }
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(inventory)
        } else {
            Err(errors)
        }
    }

    /// The device with this MAC.
    pub fn by_mac(&self, mac: &Mac) -> Option<&Device> {
        self.by_mac.get(mac).map(|&i| &self.devices[i])
    }
}

fn err(line: usize, column: &str, reason: String) -> RowError {
    RowError {
        line,
        column: Some(column.to_string()),
        reason,
    }
}

/// Which of `COLUMNS` each field of a row is.
fn header_columns(header: &Record) -> Result<Vec<usize>, Vec<RowError>> {
    let mut columns = Vec::with_capacity(header.fields.len());
    let mut errors = Vec::new();
    for name in &header.fields {
        let name = name.trim().to_ascii_lowercase();
        match COLUMNS.iter().position(|c| *c == name) {
            Some(i) if columns.contains(&i) => {
                errors.push(err(header.line, &name, "named twice in the header".into()))
            }
            Some(i) => columns.push(i),
            None => errors.push(err(
                header.line,
                &name,
                format!("unknown column (the columns are {})", COLUMNS.join(", ")),
            )),
        }
    }
    for (i, required) in COLUMNS.iter().enumerate().take(REQUIRED) {
        if !columns.contains(&i) {
            errors.push(err(
                header.line,
                required,
                "required column missing from the header".into(),
            ));
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

fn device(columns: &[usize], record: &Record) -> Result<Device, Vec<RowError>> {
    let line = record.line;
    if record.fields.len() != columns.len() {
        return Err(vec![RowError {
            line,
            column: None,
            reason: format!(
                "{} fields, but the header names {} columns",
                record.fields.len(),
                columns.len()
            ),
        }]);
    }
    let mut cells: [Option<&str>; 10] = [None; 10];
    for (&c, value) in columns.iter().zip(&record.fields) {
        let v = value.trim();
        cells[c] = (!v.is_empty()).then_some(v);
    }
    let mut errors = Vec::new();
    let mut required = |i: usize| {
        let v = cells[i];
        if v.is_none() {
            errors.push(err(
                line,
                COLUMNS[i],
                "empty; this column is required".into(),
            ));
        }
        v
    };
    let (id, mac, vendor, model) = (required(0), required(1), required(2), required(3));
    let mut parsed = |i: usize, what: &str, ok: Option<()>| {
        if ok.is_none() {
            errors.push(err(
                line,
                COLUMNS[i],
                format!("{:?} is not {what}", cells[i].unwrap_or("")),
            ));
        }
    };
    let mac = mac.and_then(|m| {
        let parsed_mac = Mac::parse(m);
        parsed(
            1,
            "a MAC address (12 hex digits)",
            parsed_mac.as_ref().map(|_| ()),
        );
        parsed_mac
    });
    let vendor = vendor.and_then(|v| {
        let parsed_vendor = v.parse::<Vendor>().ok();
        parsed(
            2,
            "a vendor (poly, yealink, cisco, grandstream or snom)",
            parsed_vendor.map(|_| ()),
        );
        parsed_vendor
    });
    let optional = |i: usize| cells[i];
    let kind = optional(4).and_then(|k| {
        let v = match k.to_ascii_lowercase().as_str() {
            "desk_phone" => Some(Kind::DeskPhone),
            "video_phone" => Some(Kind::VideoPhone),
            "conference_unit" => Some(Kind::ConferenceUnit),
            "desktop_vtc" => Some(Kind::DesktopVtc),
            "softphone" => Some(Kind::Softphone),
            _ => None,
        };
        parsed(
            4,
            "a kind (desk_phone, video_phone, conference_unit, desktop_vtc, softphone)",
            v.map(|_| ()),
        );
        v
    });
    let zone = optional(7).and_then(|z| {
        let v = match z.to_ascii_lowercase().as_str() {
            "normal" => Some(Zone::Normal),
            "sensitive" => Some(Zone::Sensitive),
            _ => None,
        };
        parsed(7, "a zone (normal or sensitive)", v.map(|_| ()));
        v
    });
    let remote = optional(8).and_then(|r| {
        let v = match r.to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" => Some(true),
            "no" | "false" | "0" => Some(false),
            _ => None,
        };
        parsed(8, "yes or no", v.map(|_| ()));
        v
    });
    let address = optional(9).and_then(|a| {
        let v = a.parse::<IpAddr>().ok();
        parsed(9, "an IPv4 or IPv6 address", v.map(|_| ()));
        v
    });
    match (id, mac, vendor, model) {
        (Some(id), Some(mac), Some(vendor), Some(model)) if errors.is_empty() => Ok(Device {
            id: id.to_string(),
            mac,
            vendor,
            model: model.to_string(),
            kind,
            site: optional(5).map(str::to_string),
            office: optional(6).map(str::to_string),
            zone,
            remote,
            address,
            line,
        }),
        _ => Err(errors),
    }
}

/// One CSV record and the line it starts on.
struct Record {
    line: usize,
    fields: Vec<String>,
}

impl Record {
    fn is_blank(&self) -> bool {
        self.fields.iter().all(|f| f.trim().is_empty())
    }
}

/// RFC 4180 records: `,` separated, `"` quoted (`""` inside quotes is a quote), CRLF or LF.
fn records(text: &str) -> Result<Vec<Record>, RowError> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut start = 1;
    let mut quoted = false;
    let mut quote_line = 0;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
                quote_line = line;
            }
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                out.push(Record {
                    line: start,
                    fields: std::mem::take(&mut fields),
                });
                line += 1;
                start = line;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(RowError {
            line: quote_line,
            column: None,
            reason: "a quoted field is never closed".into(),
        });
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        out.push(Record {
            line: start,
            fields,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_normalise() {
        for text in [
            "00:0B:82:AA:BB:CC",
            "00-0b-82-aa-bb-cc",
            "000b.82aa.bbcc",
            "000B82AABBCC",
        ] {
            assert_eq!(Mac::parse(text).unwrap().as_str(), "000b82aabbcc", "{text}");
        }
        assert_eq!(Mac::parse("000b82aabbc"), None);
        assert_eq!(Mac::parse("000b82aabbcg"), None);
    }

    #[test]
    fn macs_in_vendor_file_names() {
        let mac = |n: &str| Mac::in_file_name(n).map(|m| m.0);
        assert_eq!(mac("cfg000b82aabbcc.xml").as_deref(), Some("000b82aabbcc"));
        assert_eq!(mac("cfg000B82AABBCC").as_deref(), Some("000b82aabbcc"));
        assert_eq!(mac("805ec0aabbcc.cfg").as_deref(), Some("805ec0aabbcc"));
        assert_eq!(
            mac("SEP001122AABBCC.cnf.xml").as_deref(),
            Some("001122aabbcc")
        );
        assert_eq!(mac("000413AABBCC.xml").as_deref(), Some("000413aabbcc"));
        for other in [
            "cfggrp2612.xml",
            "y000000000044.cfg",
            "site.cfg",
            "SEP001122AABBCC.xml",
            "0004f2aabbcc-user.cfg",
        ] {
            assert_eq!(mac(other), None, "{other}");
        }
    }

    #[test]
    fn a_full_inventory_parses() {
        let csv = "id,mac,vendor,model,kind,site,office,zone,remote,address\r\n\
                   lobby-1,00:0B:82:AA:BB:CC,grandstream,GRP2612,desk_phone,HQ,\"Lobby, east\",normal,no,192.0.2.10\r\n\
                   \r\n\
                   ceo,80-5E-C0-11-22-33,Yealink,T54W,,HQ,,sensitive,yes,2001:db8::1\r\n";
        let inv = Inventory::parse_csv(csv).unwrap();
        assert_eq!(inv.devices.len(), 2);
        let lobby = inv.by_mac(&Mac::parse("000b82aabbcc").unwrap()).unwrap();
        assert_eq!(lobby.vendor, Vendor::Grandstream);
        assert_eq!(lobby.office.as_deref(), Some("Lobby, east"));
        assert_eq!(lobby.kind, Some(Kind::DeskPhone));
        assert_eq!(lobby.remote, Some(false));
        let ceo = &inv.devices[1];
        assert_eq!(
            (ceo.line, ceo.zone, ceo.kind),
            (4, Some(Zone::Sensitive), None)
        );
        // Only the required columns, in another order.
        let inv =
            Inventory::parse_csv("model,vendor,mac,id\nCP-8861,cisco,001122aabbcc,a\n").unwrap();
        assert_eq!(inv.devices[0].model, "CP-8861");
    }

    #[test]
    fn every_bad_row_names_its_line_and_column() {
        let csv = "id,mac,vendor,model,zone\n\
                   a,000b82aabbcc,grandstream,GRP2612,normal\n\
                   b,not-a-mac,grandstream,GRP2612,\n\
                   c,000b82aabbcd,avaya,9608,secret\n\
                   a,000b82aabbce,snom,D785,\n\
                   d,000B82AABBCC,snom,D785,\n\
                   e,000b82aabbcf,snom\n";
        let errors = Inventory::parse_csv(csv).unwrap_err();
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            shown,
            vec![
                "3: column \"mac\": \"not-a-mac\" is not a MAC address (12 hex digits)",
                "4: column \"vendor\": \"avaya\" is not a vendor (poly, yealink, cisco, grandstream or snom)",
                "4: column \"zone\": \"secret\" is not a zone (normal or sensitive)",
                "5: column \"id\": \"a\" is already used on line 2",
                "6: column \"mac\": 000b82aabbcc is already used on line 2",
                "7: 3 fields, but the header names 5 columns",
            ]
        );
    }

    #[test]
    fn a_bad_header_is_refused() {
        let errors = Inventory::parse_csv("id,mac,vendor,modle\n").unwrap_err();
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 2);
        assert!(
            shown[0].starts_with("1: column \"modle\": unknown column"),
            "{shown:?}"
        );
        assert_eq!(
            shown[1],
            "1: column \"model\": required column missing from the header"
        );
        assert!(Inventory::parse_csv("").is_err());
        assert!(Inventory::parse_csv("id,mac,vendor,model\n\"a,000b82aabbcc,snom,D785\n").is_err());
    }

    #[test]
    fn quoted_fields_span_lines_and_rows_keep_their_first_line() {
        let csv = "id,mac,vendor,model,site\n\"x\",000b82aabbcc,snom,D785,\"two\nlines\"\ny,000b82aabbcd,snom,D785,\"say \"\"hi\"\"\"\n";
        let inv = Inventory::parse_csv(csv).unwrap();
        assert_eq!(inv.devices[0].site.as_deref(), Some("two\nlines"));
        assert_eq!(inv.devices[1].line, 4);
        assert_eq!(inv.devices[1].site.as_deref(), Some("say \"hi\""));
    }
}
