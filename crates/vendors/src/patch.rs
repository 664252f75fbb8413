//! `harden`: write the secure value of every control a vendor can express, changing only
//! the bytes of those values (and appending keys that are missing).

use crate::document::Slot;
use crate::keys;
use crate::observe::doc_key;
use crate::{parse, Document, Format, ParseError};
use hookswitch_controls::{config_controls, Profile, Setting};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A key and the value to write, spelled as the document writes them.
pub type KeyValue = (String, String);

/// One key changed or added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: String,
    /// Previous value; None when the key was added.
    pub old: Option<String>,
    pub new: String,
}

#[derive(Debug, Clone)]
pub struct Hardened {
    pub bytes: Vec<u8>,
    pub changes: Vec<Change>,
    /// Controls this vendor/format cannot reach by configuration, with the reason.
    pub not_expressible: Vec<(&'static str, String)>,
}

/// The empty document each format starts from when no input file is given.
pub fn skeleton(format: Format) -> &'static str {
    match format {
        Format::PolyXml => "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<polycomConfig>\n</polycomConfig>\n",
        Format::YealinkV7x | Format::YealinkV8x | Format::YealinkEncrypted => "#!version:1.0.0.1\n",
        Format::CiscoCucm => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<device>\n  <vendorConfig>\n  </vendorConfig>\n</device>\n",
        Format::CiscoMpp => "<flat-profile>\n</flat-profile>\n",
        Format::GrandstreamText => "# Grandstream P-value configuration\n",
        Format::GrandstreamXmlV1 => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gs_provision version=\"1\">\n  <config version=\"1\">\n  </config>\n</gs_provision>\n",
        Format::GrandstreamXmlV2 => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gs_provision version=\"1\">\n  <config version=\"2\">\n  </config>\n</gs_provision>\n",
        Format::SnomXml => "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<settings>\n  <phone-settings>\n  </phone-settings>\n</settings>\n",
    }
}

/// The skeleton of a new file, with a `hookswitch-model:` comment when the model is known,
/// so a later audit of the file knows its model family without `--model`
/// (`detect::model_from_marker`).
pub fn skeleton_for_model(format: Format, model: Option<&str>) -> String {
    let skel = skeleton(format);
    let Some(model) = model.filter(|m| crate::detect::is_model_token(m)) else {
        return skel.to_string();
    };
    let xml = skel.starts_with('<');
    let marker = if xml {
        format!("<!-- {}{model} -->\n", crate::detect::MODEL_MARKER)
    } else {
        format!("# {}{model}\n", crate::detect::MODEL_MARKER)
    };
    // After the XML declaration or the format's first line (Yealink's `#!version`), else first.
    match skel.split_once('\n') {
        Some((first, rest)) if !xml || first.starts_with("<?xml") => {
            format!("{first}\n{marker}{rest}")
        }
        _ => format!("{marker}{skel}"),
    }
}

fn refuse_unwritable(format: Format) -> Result<(), ParseError> {
    if format.writable() {
        return Ok(());
    }
    Err(ParseError { line: 1, col: 1, reason: format!("{format} files cannot be written: they are encrypted with a published key; provision plain files over HTTPS instead") })
}

/// CUCM keys that live directly under `<device>`; the rest go in `<vendorConfig>`.
const CUCM_DEVICE_LEVEL: &[&str] = &["deviceSecurityMode", "transportLayerProtocol"];

/// Harden `input` (or the format's skeleton) for `profile`. `family` selects
/// family-keyed rules (Grandstream).
pub fn harden(
    format: Format,
    input: Option<&[u8]>,
    profile: Profile,
    family: Option<&str>,
) -> Result<Hardened, ParseError> {
    refuse_unwritable(format)?;
    let bytes = input.unwrap_or(skeleton(format).as_bytes());
    harden_parsed(&parse(format, bytes)?, bytes, profile, family)
}

/// [`harden`] for a file the caller has already parsed: `doc` is `bytes` parsed.
pub fn harden_parsed(
    doc: &Document,
    bytes: &[u8],
    profile: Profile,
    family: Option<&str>,
) -> Result<Hardened, ParseError> {
    let format = doc.format;
    refuse_unwritable(format)?;
    if doc.config_files.is_some() {
        return Err(ParseError { line: 1, col: 1, reason: "a Poly master file lists CONFIG_FILES and holds no settings: harden the files it lists".into() });
    }
    // `<root/>` cannot take children: open it up first (only the root tag's bytes change).
    let expanded;
    let (doc, bytes) = match doc.self_closing_root.clone() {
        Some(span) => {
            let tag = String::from_utf8_lossy(&bytes[span.clone()]);
            let open = tag.trim_end_matches('>').trim_end_matches('/').trim_end();
            let root = doc.root.clone().unwrap_or_default();
            let mut v = bytes[..span.start].to_vec();
            v.extend_from_slice(format!("{open}>{}</{root}>", doc.newline).as_bytes());
            v.extend_from_slice(&bytes[span.end..]);
            expanded = v;
            (Cow::Owned(parse(format, &expanded)?), &expanded[..])
        }
        None => (Cow::Borrowed(doc), bytes),
    };
    let (wanted, not_expressible) = wanted_pairs(&doc, profile, family);
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut inserts: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
    let mut appended_kv: Vec<(String, String)> = Vec::new();
    let mut changes = Vec::new();
    for (key, value) in wanted {
        match doc.get(&key) {
            Some(entry) if entry.value == value => {}
            Some(entry) => {
                let replacement = match &entry.slot {
                    Slot::Value(_) => escape(format, &value),
                    Slot::SelfClosing(span) => {
                        expand_self_closing(&bytes[span.clone()], &key, &escape(format, &value))
                    }
                };
                let span = match &entry.slot {
                    Slot::Value(r) | Slot::SelfClosing(r) => r.clone(),
                };
                edits.push((span, replacement));
                changes.push(Change {
                    key: key.clone(),
                    old: Some(entry.value.clone()),
                    new: value,
                });
            }
            None => {
                changes.push(Change {
                    key: key.clone(),
                    old: None,
                    new: value.clone(),
                });
                match insert_point(&doc, format, &key) {
                    Some(at) => inserts.entry(at).or_default().push((key, value)),
                    None => appended_kv.push((key, value)),
                }
            }
        }
    }
    let nl = doc.newline;
    for (at, pairs) in inserts {
        let indent = indent_before(bytes, at);
        let text = match format {
            Format::PolyXml => {
                let attrs: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(format, v)))
                    .collect();
                format!("  <hookswitch {}/>{nl}{indent}", attrs.join(" "))
            }
            _ => {
                let mut s = String::new();
                for (k, v) in &pairs {
                    s.push_str("  ");
                    s.push_str(&render_element(format, k, &escape(format, v)));
                    s.push_str(nl);
                    s.push_str(&indent);
                }
                s
            }
        };
        edits.push((at..at, text));
    }
    if !appended_kv.is_empty() {
        let mut s = String::new();
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            s.push_str(nl);
        }
        s.push_str("# hookswitch hardening");
        s.push_str(nl);
        for (k, v) in appended_kv {
            s.push_str(&format!("{k} = {v}{nl}"));
        }
        edits.push((bytes.len()..bytes.len(), s));
    }
    edits.sort_by_key(|(r, _)| (r.start, r.end));
    let mut out = Vec::with_capacity(bytes.len() + 256);
    let mut pos = 0;
    for (range, text) in edits {
        out.extend_from_slice(&bytes[pos..range.start]);
        out.extend_from_slice(text.as_bytes());
        pos = range.end;
    }
    out.extend_from_slice(&bytes[pos..]);
    Ok(Hardened {
        bytes: out,
        changes,
        not_expressible,
    })
}

/// The key/value pairs to write for every config control of `profile`.
fn wanted_pairs(
    doc: &Document,
    profile: Profile,
    family: Option<&str>,
) -> (Vec<KeyValue>, Vec<(&'static str, String)>) {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut not_expressible = Vec::new();
    for control in config_controls(profile) {
        let Some(req) = control.requirement else {
            continue;
        };
        match secure_pairs(doc, req.setting, family) {
            Ok(found) => {
                for (k, v) in found {
                    if !pairs.iter().any(|(pk, _)| *pk == k) {
                        pairs.push((k, v));
                    }
                }
            }
            Err(reason) => not_expressible.push((control.id, reason)),
        }
    }
    (pairs, not_expressible)
}

/// The key/value pairs that bring `setting` to its secure state, spelled as `doc`'s
/// format writes them. Indexed keys expand to the instances `doc` has. Err says why the
/// vendor cannot express it.
pub fn secure_pairs(
    doc: &Document,
    setting: Setting,
    family: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    let rules = keys::rules_for(doc.format);
    let writable: Vec<_> = rules
        .iter()
        .filter(|r| r.setting == setting && !r.harden.is_empty())
        .collect();
    let applicable: Vec<_> = writable
        .iter()
        .filter(|r| r.families.is_empty() || family.is_some_and(|f| r.families.contains(&f)))
        .collect();
    if applicable.is_empty() {
        let known = rules.iter().find(|r| r.setting == setting);
        let shown = |r: &keys::KeyRule| {
            r.keys
                .iter()
                .filter_map(|k| doc_key(doc.format, k))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(match known {
            _ if !writable.is_empty() => match family {
                None => "the key depends on the model family; pass --model".to_string(),
                Some(f) => format!(
                    "no verified {} key for {setting} on model family {f}; not guessed",
                    doc.format.vendor()
                ),
            },
            _ if setting == Setting::AdminPassword => {
                "hookswitch never writes a password: set a unique one per site yourself".to_string()
            }
            Some(r) if matches!(r.decode, keys::Decode::Url) => format!(
                "set {} to an https:// URL of your internal server; hookswitch does not choose the server",
                shown(r)
            ),
            // Several keys decide where the phone fetches from (Cisco MPP's profile rules,
            // Snom's URL and plug-and-play).
            Some(r)
                if matches!(
                    setting,
                    Setting::ProvisioningTransport | Setting::FirmwareTransport
                ) =>
            {
                format!(
                    "set {} so that the phone fetches only over https:// from your internal server; hookswitch does not choose the server",
                    shown(r)
                )
            }
            Some(r) => format!(
                "{}: no documented value gives the secure state ({}); not guessed",
                shown(r),
                r.source
            ),
            None => crate::unsupported_reason(doc.format.vendor(), setting),
        });
    }
    let mut pairs = Vec::new();
    for rule in applicable {
        for (key, value) in rule.harden {
            let k = doc_key(doc.format, key)
                .ok_or_else(|| format!("no documented {} alias for {key}", doc.format))?;
            if k.contains('*') {
                // Indexed keys (accounts): the instances the file has, named by any of the
                // rule's keys (so Snom `user_srtp[N]` is written where only `user_savp[N]` is).
                let patterns: Vec<String> = rule
                    .keys
                    .iter()
                    .chain(rule.harden.iter().map(|(k, _)| k))
                    .filter_map(|k| doc_key(doc.format, k).map(Cow::into_owned))
                    .collect();
                let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
                pairs.extend(
                    keys::instances(&patterns, doc.keys())
                        .iter()
                        .map(|index| (keys::with_indices(&k, index), value.to_string())),
                );
                continue;
            }
            if doc.format == Format::PolyXml && k.starts_with("device.") {
                pairs.push(("device.set".to_string(), "1".to_string()));
                pairs.push((format!("{k}.set"), "1".to_string()));
            }
            pairs.push((k.into_owned(), value.to_string()));
        }
    }
    Ok(pairs)
}

/// Where a missing key is inserted (None: appended as a text line).
fn insert_point(doc: &Document, format: Format, key: &str) -> Option<usize> {
    let parent = match format {
        Format::YealinkV7x
        | Format::YealinkV8x
        | Format::YealinkEncrypted
        | Format::GrandstreamText => return None,
        Format::PolyXml => doc.root.as_deref()?,
        Format::CiscoCucm if CUCM_DEVICE_LEVEL.contains(&key) => "device",
        Format::CiscoCucm => {
            if doc.end_tags.contains_key("vendorConfig") {
                "vendorConfig"
            } else {
                "device"
            }
        }
        Format::CiscoMpp => "flat-profile",
        Format::GrandstreamXmlV1 | Format::GrandstreamXmlV2 => {
            if doc.end_tags.contains_key("config") {
                "config"
            } else {
                "gs_provision"
            }
        }
        Format::SnomXml => {
            if doc.end_tags.contains_key("phone-settings") {
                "phone-settings"
            } else {
                "settings"
            }
        }
    };
    doc.end_tags.get(parent).copied()
}

fn render_element(format: Format, key: &str, escaped: &str) -> String {
    match format {
        Format::CiscoMpp => format!("<{key} ua=\"na\">{escaped}</{key}>"),
        Format::SnomXml => format!("<{key} perm=\"\">{escaped}</{key}>"),
        Format::GrandstreamXmlV2 => format!("<item name=\"{key}\">{escaped}</item>"),
        _ => format!("<{key}>{escaped}</{key}>"),
    }
}

/// `<name attrs/>` → `<name attrs>value</name>`.
fn expand_self_closing(tag: &[u8], key: &str, escaped: &str) -> String {
    let tag = String::from_utf8_lossy(tag);
    let open = tag.trim_end_matches('>').trim_end_matches('/').trim_end();
    let name: String = open
        .trim_start_matches('<')
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let name = if name.is_empty() {
        key.split('[').next().unwrap_or(key).to_string()
    } else {
        name
    };
    format!("{open}>{escaped}</{name}>")
}

/// The whitespace that starts the line containing `at`.
fn indent_before(bytes: &[u8], at: usize) -> String {
    let line_start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    bytes[line_start..at]
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .map(|&b| b as char)
        .collect()
}

fn escape(format: Format, v: &str) -> String {
    match format {
        Format::YealinkV7x
        | Format::YealinkV8x
        | Format::YealinkEncrypted
        | Format::GrandstreamText => v.to_string(),
        _ => v
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;"),
    }
}
