//! Read normalized settings out of a parsed document through the vendor key tables.

use crate::keys::{self, instances, with_indices, KeyRule};
use crate::{unsupported_reason, Document, Entry, Format};
use hookswitch_controls::{Setting, Value};
use serde::Serialize;
use std::borrow::Cow;

/// What is known about one setting of one file (or one instance, e.g. one SIP account).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub setting: Setting,
    pub observed: Observed,
    /// The vendor key(s) consulted, as they appear in this file's format.
    pub key: String,
    /// The raw value as found (None when absent). Secrets are never copied.
    pub raw: Option<String>,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Observed {
    /// Set in the file.
    Set { value: Value },
    /// Absent; the documented firmware default applies.
    Default { value: Value },
    /// Cannot be told; the reason says why.
    Unknown { reason: String },
}

/// The key as this document's format writes it, or None when the format cannot express it.
pub(crate) fn doc_key(format: Format, key: &str) -> Option<Cow<'static, str>> {
    let owned = |s: &str| Some(Cow::Owned(s.to_string()));
    match format {
        Format::YealinkV7x => match key.strip_prefix("static.") {
            Some(rest) if keys::yealink_static_group(rest) => owned(rest),
            _ => owned(key),
        },
        Format::GrandstreamXmlV2 => keys::grandstream_alias(key).map(Cow::Borrowed),
        _ => owned(key),
    }
}

/// A key's entry if it takes effect (Poly `device.*` keys need their `.set` flags).
fn effective<'d>(doc: &'d Document, key: &str) -> Result<Option<&'d Entry>, String> {
    let Some(entry) = doc.get(key) else {
        return Ok(None);
    };
    if doc.format == Format::PolyXml && key.starts_with("device.") && !key.ends_with(".set") {
        let flag = |k: &str| doc.get(k).map(|e| e.value.trim() == "1").unwrap_or(false);
        if !flag("device.set") || !flag(&format!("{key}.set")) {
            return Err(format!(
                "{key} is present but ignored by the phone: device.set and {key}.set must be \"1\""
            ));
        }
    }
    Ok(Some(entry))
}

fn is_secret(setting: Setting) -> bool {
    setting == Setting::AdminPassword
}

/// Every observation of `setting` in `doc`. `family` selects family-keyed rules.
pub fn observe(doc: &Document, setting: Setting, family: Option<&str>) -> Vec<Observation> {
    let vendor = doc.format.vendor();
    if doc.format == Format::YealinkEncrypted {
        return vec![unknown(
            setting,
            "",
            "file is AES-encrypted: weakly protected (the vendor key is public) and not auditable"
                .into(),
        )];
    }
    let all: Vec<&KeyRule> = keys::rules_for(doc.format)
        .iter()
        .filter(|r| r.setting == setting)
        .collect();
    if all.is_empty() {
        return vec![unknown(setting, "", unsupported_reason(vendor, setting))];
    }
    let needs_family = all.iter().all(|r| !r.families.is_empty());
    let applicable: Vec<&KeyRule> = all
        .iter()
        .copied()
        .filter(|r| r.families.is_empty() || family.is_some_and(|f| r.families.contains(&f)))
        .collect();
    if applicable.is_empty() {
        let families: Vec<&str> = all
            .iter()
            .flat_map(|r| r.families.iter().copied())
            .collect();
        let reason = match family {
            None if needs_family => format!(
                "{vendor} keys for {setting} differ by model family ({}); model unknown, pass --model",
                families.join(", ")
            ),
            _ => format!("no verified {vendor} key for {setting} on model family {}", family.unwrap_or("?")),
        };
        return vec![unknown(setting, all[0].keys[0], reason)];
    }
    let mut found = Vec::new();
    let mut fallback: Option<Observation> = None;
    for rule in applicable {
        let Some(keys) = rule
            .keys
            .iter()
            .map(|k| doc_key(doc.format, k))
            .collect::<Option<Vec<_>>>()
        else {
            fallback.get_or_insert_with(|| {
                unknown(
                    setting,
                    rule.keys[0],
                    format!(
                        "no documented {} alias for {}",
                        doc.format,
                        rule.keys.join(", ")
                    ),
                )
            });
            continue;
        };
        let shown = keys.join(", ");
        if keys[0].contains('*') {
            let before = found.len();
            // One observation per instance (account), whichever of the rule's keys names it;
            // `doc.get` gives the last of duplicated keys, as the phone reads them.
            let patterns: Vec<&str> = keys.iter().map(|k| k.as_ref()).collect();
            for index in instances(&patterns, doc.entries.iter().map(|e| e.key.as_str())) {
                let concrete: Vec<String> =
                    patterns.iter().map(|p| with_indices(p, &index)).collect();
                let entries: Vec<Option<&Entry>> = concrete.iter().map(|k| doc.get(k)).collect();
                found.push(decoded(setting, rule, &concrete.join(", "), &entries));
            }
            // No instance (no account sets it): still an observation, never silence.
            if found.len() == before && fallback.is_none() {
                fallback = Some(match rule.default {
                    Some(value) => Observation {
                        setting,
                        observed: Observed::Default { value },
                        key: shown,
                        raw: None,
                        line: None,
                    },
                    None => unknown(
                        setting,
                        &shown,
                        format!("no instance of {shown} in this file (no account or line sets it); the firmware default is not documented"),
                    ),
                });
            }
            continue;
        }
        let mut entries = Vec::with_capacity(keys.len());
        let mut ignored = None;
        for k in &keys {
            match effective(doc, k) {
                Ok(e) => entries.push(e),
                Err(why) => {
                    ignored.get_or_insert(why);
                    entries.push(None);
                }
            }
        }
        if entries.iter().any(Option::is_some) {
            found.push(decoded(setting, rule, &shown, &entries));
        } else if fallback.is_none() {
            fallback = Some(match (rule.default, ignored) {
                (Some(value), None) => Observation {
                    setting,
                    observed: Observed::Default { value },
                    key: shown,
                    raw: None,
                    line: None,
                },
                (_, Some(why)) => unknown(setting, &shown, why),
                (None, None) => unknown(
                    setting,
                    &shown,
                    "not set in this file; the firmware default is not documented".into(),
                ),
            });
        }
    }
    if found.is_empty() {
        found.extend(fallback);
    }
    if let [Observation {
        observed: Observed::Unknown { .. },
        ..
    }] = found.as_slice()
    {
        if let Some(implied) = implied(doc, setting, family) {
            return vec![implied];
        }
    }
    found
}

/// Settings that follow from another one's value: `(if, is, then, is)`. Used only where
/// the setting's own key tells nothing.
const IMPLIED: &[(Setting, Value, Setting, Value)] = &[
    // A plain-HTTP listener that is on serves the web UI.
    (
        Setting::WebPlainHttp,
        Value::Enabled(true),
        Setting::WebUi,
        Value::Enabled(true),
    ),
];

fn implied(doc: &Document, setting: Setting, family: Option<&str>) -> Option<Observation> {
    IMPLIED
        .iter()
        .filter(|(_, _, then, _)| *then == setting)
        .find_map(|&(cause, cause_value, _, value)| {
            observe(doc, cause, family).into_iter().find_map(|o| {
                // Set in the file, or a documented default: the implied value is the same kind.
                let observed = match o.observed {
                    Observed::Set { value: v } if v == cause_value => Observed::Set { value },
                    Observed::Default { value: v } if v == cause_value => {
                        Observed::Default { value }
                    }
                    _ => return None,
                };
                Some(Observation {
                    setting,
                    observed,
                    key: format!("{} (implied: {cause} is {cause_value})", o.key),
                    raw: o.raw,
                    line: o.line,
                })
            })
        })
}

fn decoded(setting: Setting, rule: &KeyRule, key: &str, entries: &[Option<&Entry>]) -> Observation {
    let raw: Vec<Option<&str>> = entries
        .iter()
        .map(|e| e.map(|e| e.value.as_str()))
        .collect();
    let first = entries.iter().flatten().next();
    let observed = match rule.decode.apply(&raw) {
        Ok(value) => Observed::Set { value },
        Err(reason) => Observed::Unknown { reason },
    };
    let shown_raw = if is_secret(setting) {
        Some("(secret withheld)".to_string())
    } else {
        Some(raw.iter().filter_map(|v| *v).collect::<Vec<_>>().join(", "))
    };
    Observation {
        setting,
        observed,
        key: key.to_string(),
        raw: shown_raw,
        line: first.map(|e| e.line),
    }
}

fn unknown(setting: Setting, key: &str, reason: String) -> Observation {
    Observation {
        setting,
        observed: Observed::Unknown { reason },
        key: key.to_string(),
        raw: None,
        line: None,
    }
}
