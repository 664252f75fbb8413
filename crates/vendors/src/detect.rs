//! Recognise vendor and format from content, with the file name as a hint.

use crate::Format;
use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub format: Format,
    /// Model (or model code) when the file name or content gives it.
    pub model: Option<String>,
}

/// Why a file was not recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrecognised {
    Binary,
    Empty,
    /// A file that lists other files rather than holding settings.
    Index(String),
    Unknown(String),
}

impl std::fmt::Display for Unrecognised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unrecognised::Binary => f.write_str("binary file"),
            Unrecognised::Empty => f.write_str("empty file"),
            Unrecognised::Index(why) | Unrecognised::Unknown(why) => f.write_str(why),
        }
    }
}

/// Markers of Yealink's AES-encrypted configuration files.
const YEALINK_ENCRYPTED_MARKERS: [&str; 2] = ["#!key_ciphertext:", "#!---BEGIN CONFIG DATA---"];
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|&b| b == 0)
}

/// Detect the format of `bytes`; `file_name` (no directory) is a hint.
pub fn detect(file_name: &str, bytes: &[u8]) -> Result<Detected, Unrecognised> {
    if is_binary(bytes) {
        return Err(Unrecognised::Binary);
    }
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if body.is_empty() {
        return Err(Unrecognised::Empty);
    }
    if file_name.ends_with(".boot")
        || body
            .lines()
            .any(|l| l.trim_start().starts_with("include:config"))
    {
        return Err(Unrecognised::Index(
            "Yealink boot file: lists the files a phone loads (used by --layered)".into(),
        ));
    }
    let model = model_from_name(file_name).or_else(|| model_from_marker(body));
    let format = if body.starts_with('<') {
        detect_xml(bytes)?
    } else if YEALINK_ENCRYPTED_MARKERS.iter().any(|m| text.contains(m)) {
        Format::YealinkEncrypted
    } else {
        detect_kv(body, file_name)?
    };
    Ok(Detected { format, model })
}

fn detect_xml(bytes: &[u8]) -> Result<Format, Unrecognised> {
    let mut reader = Reader::from_reader(bytes);
    let mut root: Option<(String, bool)> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                match &root {
                    None => {
                        let dotted = e
                            .attributes()
                            .flatten()
                            .any(|a| a.key.as_ref().contains(&b'.'));
                        root = Some((name.clone(), dotted));
                        match name.as_str() {
                            "flat-profile" => return Ok(Format::CiscoMpp),
                            "device" => return Ok(Format::CiscoCucm),
                            "settings" => return Ok(Format::SnomXml),
                            "polycomConfig" | "PHONE_CONFIG" | "APPLICATION" => {
                                return Ok(Format::PolyXml)
                            }
                            "gs_provision" => {}
                            _ if dotted => return Ok(Format::PolyXml),
                            _ => {}
                        }
                    }
                    Some((r, _)) if r == "gs_provision" && name == "config" => {
                        let v2 = e
                            .attributes()
                            .flatten()
                            .any(|a| a.key.as_ref() == b"version" && a.value.as_ref() == b"2");
                        return Ok(if v2 {
                            Format::GrandstreamXmlV2
                        } else {
                            Format::GrandstreamXmlV1
                        });
                    }
                    Some(_) => {
                        // Poly files with a neutral root still carry dotted attribute names.
                        if e.attributes()
                            .flatten()
                            .any(|a| a.key.as_ref().contains(&b'.'))
                        {
                            return Ok(Format::PolyXml);
                        }
                    }
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            // Malformed: still name the vendor when the root told us; the parser reports where.
            Err(_) => break,
        }
    }
    match root {
        Some((r, _)) if r == "gs_provision" => Ok(Format::GrandstreamXmlV1),
        Some((r, _)) => Err(Unrecognised::Unknown(format!(
            "XML with root <{r}> is not a known vendor format"
        ))),
        None => Err(Unrecognised::Unknown("XML without a root element".into())),
    }
}

fn detect_kv(body: &str, file_name: &str) -> Result<Format, Unrecognised> {
    let mut pvalues = 0usize;
    let mut dotted = 0usize;
    let mut static_prefixed = false;
    let mut v7_keys = false;
    // The whole file is weighed: a Cisco SIP (79xx) `key : value` file with one line that
    // looks like Yealink is still not a Yealink file.
    let mut kv_lines = 0usize;
    let mut colon_lines = 0usize;
    for line in body.lines().take(5000) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line
            .split_once(':')
            .is_some_and(|(k, _)| is_word(k.trim_end()))
        {
            colon_lines += 1;
            continue;
        }
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        kv_lines += 1;
        let key = key.trim();
        if key.len() > 1 && key.starts_with('P') && key[1..].bytes().all(|b| b.is_ascii_digit()) {
            pvalues += 1;
        } else if key.contains('.') {
            dotted += 1;
            static_prefixed |= key.starts_with("static.");
            v7_keys |= crate::keys::yealink_static_group(key);
        }
    }
    let yealink_name = file_name.starts_with("y0000") || body.starts_with("#!version:");
    if colon_lines > kv_lines && !yealink_name {
        return Err(Unrecognised::Unknown(
            "text of `key : value` lines (as Cisco SIP 79xx files): not a format hookswitch reads"
                .into(),
        ));
    }
    if pvalues > 0 && pvalues >= dotted {
        Ok(Format::GrandstreamText)
    } else if dotted > 0 || yealink_name {
        Ok(if !static_prefixed && v7_keys {
            Format::YealinkV7x
        } else {
            Format::YealinkV8x
        })
    } else {
        Err(Unrecognised::Unknown(
            "text file with no vendor keys".into(),
        ))
    }
}

/// `proxy1_address`, `phone_label`: a bare key of letters, digits and `_`.
fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The comment `hookswitch harden --model` writes into a new file: `hookswitch-model: GRP2612`.
pub const MODEL_MARKER: &str = "hookswitch-model: ";

/// A model name as hookswitch accepts it in a marker: 1 to 32 of `A-Z a-z 0-9 -`.
pub fn is_model_token(m: &str) -> bool {
    (1..=32).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The model named by a `hookswitch-model:` comment in the first lines of a file.
pub fn model_from_marker(body: &str) -> Option<String> {
    body.lines().take(8).find_map(|line| {
        let rest = &line[line.find(MODEL_MARKER)? + MODEL_MARKER.len()..];
        let token: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        is_model_token(&token).then(|| token.to_ascii_lowercase())
    })
}

/// Model hints carried by vendor file names.
fn model_from_name(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    // Snom: snom<model>-<MAC>.htm or snom<model>.htm
    if let Some(rest) = lower.strip_prefix("snom") {
        let model: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if !model.is_empty() {
            return Some(format!("snom{model}"));
        }
    }
    // Yealink per-model common file y0000000000XX.cfg: XX is the model code.
    if lower.len() == 17 && lower.starts_with("y0000000000") && lower.ends_with(".cfg") {
        let code = &lower[11..13];
        if code != "00" && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Some(format!("yealink-code-{code}"));
        }
    }
    // Grandstream model files: cfg<model>.xml (e.g. cfggrp2612w.xml).
    if let Some(rest) = lower.strip_prefix("cfg") {
        let model: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if ["grp", "gxp", "gxv", "dp7", "wp8"]
            .iter()
            .any(|p| model.starts_with(p))
        {
            return Some(model);
        }
    }
    None
}
