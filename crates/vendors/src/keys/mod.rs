//! Vendor key tables: which vendor key means which normalized setting.
//!
//! **Adding a verified key is one entry in the vendor's table.** Every entry cites its
//! source (the S-numbers of `reference/vendor-config-keys.md`). A setting with no entry
//! for a vendor is reported `not_assessable` for that vendor: keys are never guessed.

mod cisco;
mod grandstream;
mod poly;
mod snom;
mod yealink;

use crate::{Format, Vendor};
use hookswitch_controls::{FetchScheme, SecretState, Setting, Value};

pub use grandstream::family_of as grandstream_family;
pub(crate) use yealink::is_static_group as yealink_static_group;

/// How the raw value(s) of a rule's keys become a normalized value.
#[derive(Clone, Copy)]
pub enum Decode {
    /// One key; case-insensitive lookup. A value not in the table is not assessable.
    Map(&'static [(&'static str, Value)]),
    /// One key holding a URL; its scheme gives the fetch scheme.
    Url,
    /// One key holding a password; empty or a well-known factory value counts as default.
    Secret,
    /// Several keys, in the order of `keys` (None = absent).
    Composite(fn(&[Option<&str>]) -> Result<Value, String>),
}

/// One vendor key (or key group) and what it means.
#[derive(Clone, Copy)]
pub struct KeyRule {
    pub setting: Setting,
    /// Keys as written by current firmware. `*` stands for an index (one or more digits);
    /// a rule with `*` yields one observation per instance found.
    pub keys: &'static [&'static str],
    pub decode: Decode,
    /// What `harden` writes. Empty: the vendor has no verified way to reach the secure state.
    pub harden: &'static [(&'static str, &'static str)],
    /// Model families the rule holds for; empty means every model.
    pub families: &'static [&'static str],
    /// The firmware default when every key is absent, only where a source documents it.
    pub default: Option<Value>,
    pub source: &'static str,
}

pub(crate) const ON: Value = Value::Enabled(true);
pub(crate) const OFF: Value = Value::Enabled(false);
pub(crate) const BOOL_01: &[(&str, Value)] = &[("0", OFF), ("1", ON)];
/// Cisco CUCM's inverted flags: 0 = enabled, 1 = disabled.
pub(crate) const INVERTED_01: &[(&str, Value)] = &[("0", ON), ("1", OFF)];
pub(crate) const YES_NO: &[(&str, Value)] = &[("yes", ON), ("no", OFF)];
pub(crate) const ON_OFF: &[(&str, Value)] = &[("on", ON), ("off", OFF)];

/// Factory passwords we treat as "vendor default". A false alarm here is cheap; a miss is not.
pub const WELL_KNOWN_DEFAULT_PASSWORDS: &[&str] = &[
    "admin", "456", "0000", "1234", "12345", "123456", "password", "cisco", "user",
];

/// The key table of a vendor.
pub fn rules(vendor: Vendor) -> &'static [KeyRule] {
    match vendor {
        Vendor::Poly => poly::RULES,
        Vendor::Yealink => yealink::RULES,
        Vendor::Cisco => cisco::RULES,
        Vendor::Grandstream => grandstream::RULES,
        Vendor::Snom => snom::RULES,
    }
}

/// The rules of a format (Cisco's two formats use different keys).
pub fn rules_for(format: Format) -> &'static [KeyRule] {
    match format {
        Format::CiscoCucm => cisco::CUCM,
        Format::CiscoMpp => cisco::MPP,
        other => rules(other.vendor()),
    }
}

/// The model family a vendor's rules are keyed on, from a model name.
pub fn family_of(vendor: Vendor, model: &str) -> Option<&'static str> {
    match vendor {
        Vendor::Grandstream => grandstream::family_of(model),
        Vendor::Cisco => cisco::family_of(model),
        _ => None,
    }
}

/// How far a vendor's tables can assess a setting: what the control × vendor matrix shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// A verified key in every format of the vendor, for every model.
    Every,
    /// Verified keys only in these formats, each for every model (empty families) or only
    /// for the model families listed (the model must be known). `every_format`: every
    /// format of the vendor is listed.
    Partial {
        formats: Vec<(Format, Vec<&'static str>)>,
        every_format: bool,
    },
    /// No verified key: always `not_assessable`.
    None,
}

impl std::fmt::Display for Coverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Coverage::Every => f.write_str("yes"),
            Coverage::None => f.write_str("-"),
            Coverage::Partial {
                formats,
                every_format,
            } => {
                let same_families = formats.windows(2).all(|w| w[0].1 == w[1].1);
                if *every_format && same_families {
                    return write!(f, "only {}", formats[0].1.join(", "));
                }
                let shown: Vec<String> = formats
                    .iter()
                    .map(|(format, families)| match families.as_slice() {
                        [] => format.as_str().to_string(),
                        some => format!("{format} ({})", some.join(", ")),
                    })
                    .collect();
                write!(f, "only {}", shown.join(", "))
            }
        }
    }
}

/// What the vendor's key tables can tell about `setting`.
pub fn coverage(vendor: Vendor, setting: Setting) -> Coverage {
    // Formats that carry settings (an encrypted Yealink file carries none we can read).
    let formats: Vec<Format> = Format::ALL
        .into_iter()
        .filter(|f| f.vendor() == vendor && f.writable())
        .collect();
    let mut covered: Vec<(Format, Vec<&'static str>)> = Vec::new();
    for &format in &formats {
        let rules: Vec<&KeyRule> = rules_for(format)
            .iter()
            .filter(|r| r.setting == setting)
            .collect();
        if rules.is_empty() {
            continue;
        }
        // A rule without families holds for every model.
        let mut families: Vec<&'static str> = if rules.iter().any(|r| r.families.is_empty()) {
            Vec::new()
        } else {
            rules
                .iter()
                .flat_map(|r| r.families.iter().copied())
                .collect()
        };
        families.sort_unstable();
        families.dedup();
        covered.push((format, families));
    }
    if covered.is_empty() {
        Coverage::None
    } else if covered.len() == formats.len() && covered.iter().all(|(_, f)| f.is_empty()) {
        Coverage::Every
    } else {
        Coverage::Partial {
            every_format: covered.len() == formats.len(),
            formats: covered,
        }
    }
}

impl Decode {
    /// Decode the raw values of the rule's keys.
    pub fn apply(&self, raw: &[Option<&str>]) -> Result<Value, String> {
        match self {
            Decode::Map(table) => {
                let v = raw.first().copied().flatten().unwrap_or("");
                table
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(v.trim()))
                    .map(|(_, val)| *val)
                    .ok_or_else(|| format!("value {v:?} has no documented meaning"))
            }
            Decode::Url => url_scheme(raw.first().copied().flatten().unwrap_or("")),
            Decode::Secret => {
                let v = raw.first().copied().flatten().unwrap_or("");
                Ok(Value::Secret(secret_state(v)))
            }
            Decode::Composite(f) => f(raw),
        }
    }
}

pub(crate) fn secret_state(v: &str) -> SecretState {
    let v = v.trim();
    if v.is_empty() {
        SecretState::Empty
    } else if WELL_KNOWN_DEFAULT_PASSWORDS
        .iter()
        .any(|d| d.eq_ignore_ascii_case(v))
    {
        SecretState::VendorDefault
    } else {
        SecretState::Set
    }
}

/// The scheme of a provisioning URL. Options in brackets (Cisco `[--key …]`) are skipped.
pub(crate) fn url_scheme(url: &str) -> Result<Value, String> {
    let mut u = url.trim();
    while let Some(rest) = u.strip_prefix('[') {
        u = rest
            .split_once(']')
            .map(|(_, r)| r.trim_start())
            .unwrap_or("");
    }
    if u.is_empty() {
        return Err("empty URL".into());
    }
    let Some((scheme, _)) = u.split_once("://") else {
        return Err(format!(
            "{u:?} names no scheme; the transport depends on the DHCP-supplied server"
        ));
    };
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "tftp" => FetchScheme::Tftp,
        "ftp" => FetchScheme::Ftp,
        "http" => FetchScheme::Http,
        "https" => FetchScheme::Https,
        "ftps" => FetchScheme::Ftps,
        other => return Err(format!("unknown URL scheme {other:?}")),
    };
    Ok(Value::Fetch(scheme))
}

/// The indices a document key gives a pattern's `*`s (one or more digits each), if it matches.
pub(crate) fn indices<'k>(pattern: &str, key: &'k str) -> Option<Vec<&'k str>> {
    let mut p = pattern.as_bytes();
    let mut rest = key;
    let mut found = Vec::new();
    while let Some((&c, p_rest)) = p.split_first() {
        if c == b'*' {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            found.push(&rest[..digits]);
            rest = &rest[digits..];
        } else {
            rest = rest.strip_prefix(c as char)?;
        }
        p = p_rest;
    }
    rest.is_empty().then_some(found)
}

/// A pattern with its `*`s replaced by `indices`, in order.
pub(crate) fn with_indices(pattern: &str, indices: &[&str]) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut next = indices.iter();
    for c in pattern.chars() {
        match (c, next.clone().next()) {
            ('*', Some(i)) => {
                out.push_str(i);
                next.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// The instances (index tuples, in document order) of any of `patterns` among `keys`:
/// a per-account rule of several keys (Snom `user_srtp[N]` with `user_savp[N]`) sees
/// account N when either key is written.
pub(crate) fn instances<'k>(
    patterns: &[&str],
    keys: impl Iterator<Item = &'k str>,
) -> Vec<Vec<&'k str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    for key in keys {
        for p in patterns {
            if let Some(found) = indices(p, key) {
                if !out.contains(&found) {
                    out.push(found);
                }
            }
        }
    }
    out
}

/// The Grandstream XML v2 alias of a P-value key.
pub fn grandstream_alias(pkey: &str) -> Option<&'static str> {
    grandstream::ALIASES
        .iter()
        .find(|(p, _)| *p == pkey)
        .map(|(_, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern_matches(pattern: &str, key: &str) -> bool {
        indices(pattern, key).is_some()
    }

    #[test]
    fn patterns_match_indices_only() {
        assert!(pattern_matches(
            "account.*.srtp_encryption",
            "account.12.srtp_encryption"
        ));
        assert!(!pattern_matches(
            "account.*.srtp_encryption",
            "account.x.srtp_encryption"
        ));
        assert!(!pattern_matches(
            "account.*.srtp_encryption",
            "account..srtp_encryption"
        ));
        assert!(pattern_matches("SIP_Transport_*_", "SIP_Transport_1_"));
        assert!(!pattern_matches("SIP_Transport_*_", "SIP_Transport_1_x"));
        assert!(pattern_matches("plain", "plain"));
    }

    #[test]
    fn instances_of_several_keys_share_their_indices() {
        let keys = [
            "user_savp[2]",
            "user_srtp[1]",
            "user_srtp[2]",
            "user_host[3]",
        ];
        let found = instances(&["user_srtp[*]", "user_savp[*]"], keys.into_iter());
        assert_eq!(found, vec![vec!["2"], vec!["1"]]);
        assert_eq!(with_indices("user_srtp[*]", &found[0]), "user_srtp[2]");
        assert_eq!(
            with_indices("reg.*.server.*.transport", &["1", "12"]),
            "reg.1.server.12.transport"
        );
    }

    #[test]
    fn url_schemes() {
        assert_eq!(
            url_scheme("https://p.example/cfg"),
            Ok(Value::Fetch(FetchScheme::Https))
        );
        assert_eq!(
            url_scheme("[--key abc] tftp://1.2.3.4/$PSN.xml"),
            Ok(Value::Fetch(FetchScheme::Tftp))
        );
        assert!(url_scheme("/$PSN.xml").is_err());
        assert!(url_scheme("gopher://x").is_err());
    }

    #[test]
    fn coverage_names_the_formats_and_families_a_key_holds_for() {
        assert_eq!(
            coverage(Vendor::Poly, Setting::SipTransport),
            Coverage::Every
        );
        assert_eq!(coverage(Vendor::Snom, Setting::TlsMinimum), Coverage::None);
        let shown = |v, s| coverage(v, s).to_string();
        assert_eq!(shown(Vendor::Grandstream, Setting::Bluetooth), "only grp");
        assert_eq!(
            shown(Vendor::Cisco, Setting::ConfigSigning),
            "only cisco-cucm"
        );
        assert_eq!(
            shown(Vendor::Cisco, Setting::Speakerphone),
            "only cisco-cucm, cisco-mpp (spa5xx)"
        );
        assert_eq!(shown(Vendor::Yealink, Setting::Wifi), "yes");
    }

    #[test]
    fn every_rule_is_well_formed() {
        for format in Format::ALL {
            for r in rules_for(format) {
                assert!(!r.keys.is_empty(), "{format}: {:?} has no keys", r.setting);
                let patterned = r.keys.iter().any(|k| k.contains('*'));
                let stars = |k: &str| k.matches('*').count();
                assert!(
                    !patterned || r.keys.iter().all(|k| stars(k) == stars(r.keys[0])),
                    "{format}: every key of a per-instance rule has the same indices"
                );
                if !matches!(r.decode, Decode::Composite(_)) {
                    assert_eq!(r.keys.len(), 1, "{format}: {:?}", r.setting);
                }
                assert!(!r.source.is_empty());
            }
        }
    }
}
