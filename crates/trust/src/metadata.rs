//! TUF metadata as serde types. Signatures are always checked over the canonical form of
//! the `signed` object as received (see [`crate::client`]), so fields these types do not
//! know are still covered by the signature.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    pub public: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyVal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub consistent_snapshot: bool,
    pub keys: BTreeMap<String, Key>,
    pub roles: BTreeMap<String, RoleKeys>,
}

/// A metadata file as listed in timestamp or snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub meta: BTreeMap<String, MetaFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub meta: BTreeMap<String, MetaFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    pub length: u64,
    pub hashes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    pub name: String,
    pub keyids: Vec<String>,
    pub threshold: u32,
    #[serde(default)]
    pub terminating: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
}

/// TUF 1.0.31 succinct hashed bins: `2^bit_length` roles named `<prefix>-<hex>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccinctRoles {
    pub keyids: Vec<String>,
    pub threshold: u32,
    pub bit_length: u32,
    pub name_prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    pub keys: BTreeMap<String, Key>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<DelegatedRole>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succinct_roles: Option<SuccinctRoles>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub targets: BTreeMap<String, TargetFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
}

impl SuccinctRoles {
    /// The bin a target path belongs to (sha256 of the path, top `bit_length` bits).
    pub fn role_for(&self, path: &str) -> String {
        let h = crate::digest::sha256(path.as_bytes());
        let top = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let bits = self.bit_length.clamp(1, 32);
        let bin = if bits == 32 { top } else { top >> (32 - bits) };
        self.bin_name(bin)
    }

    pub fn bin_name(&self, bin: u32) -> String {
        let width = self.bit_length.div_ceil(4) as usize;
        format!("{}-{:0width$x}", self.name_prefix, bin)
    }

    pub fn bins(&self) -> u32 {
        1u32 << self.bit_length.clamp(1, 31)
    }

    /// Is `role` one of the bins (the exact name [`Self::bin_name`] gives)?
    pub fn is_bin(&self, role: &str) -> bool {
        role.strip_prefix(self.name_prefix.as_str())
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .is_some_and(|bin| {
                u64::from(bin) < 1u64 << self.bit_length.min(32) && self.bin_name(bin) == role
            })
    }
}

impl Delegations {
    /// The key IDs and threshold these delegations give `role` (a named role, or one of the
    /// succinct bins); None if they do not delegate to it.
    pub fn authority_for(&self, role: &str) -> Option<RoleKeys> {
        if let Some(r) = self.roles.iter().flatten().find(|r| r.name == role) {
            return Some(RoleKeys {
                keyids: r.keyids.clone(),
                threshold: r.threshold,
            });
        }
        self.succinct_roles
            .as_ref()
            .filter(|s| s.is_bin(role))
            .map(|s| RoleKeys {
                keyids: s.keyids.clone(),
                threshold: s.threshold,
            })
    }
}

impl DelegatedRole {
    /// Is `path` delegated to this role (paths patterns or hash prefixes)?
    pub fn matches(&self, path: &str) -> bool {
        if let Some(patterns) = &self.paths {
            return patterns.iter().any(|p| path_matches(p, path));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let h = crate::crypto::sha256_hex(path.as_bytes());
            return prefixes.iter().any(|p| h.starts_with(p.as_str()));
        }
        false
    }
}

/// Longest path pattern that can match anything: longer ones match nothing, which bounds
/// the work a hostile delegation can ask for.
pub const MAX_PATTERN_LEN: usize = 4096;

/// TUF path patterns as python-tuf matches them: pattern and path must have the same number
/// of `/`-separated parts, and each part matches as a shell glob (`fnmatch`: `*`, `?`,
/// `[seq]`, `[!seq]`), so `*` never crosses `/`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    if pattern.len() > MAX_PATTERN_LEN || pattern.split('/').count() != path.split('/').count() {
        return false;
    }
    pattern
        .split('/')
        .zip(path.split('/'))
        .all(|(p, t)| glob_matches(p, t))
}

/// One pattern element other than `*`.
#[derive(Debug)]
enum Atom {
    Char(char),
    Any,
    /// `[...]`: (negated, ranges).
    Class(bool, Vec<(char, char)>),
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Atom::Char(a) => *a == c,
            Atom::Any => true,
            Atom::Class(negated, ranges) => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// Split a glob into the atom runs between `*`s (fnmatch's translation: a `[` without a
/// closing `]` is a literal `[`; `]` first in a class is literal; `a-z` is a range).
fn parse_glob(pattern: &str) -> Vec<Vec<Atom>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut runs: Vec<Vec<Atom>> = vec![Vec::new()];
    let mut i = 0;
    while i < chars.len() {
        let atom = match chars[i] {
            '*' => {
                runs.push(Vec::new());
                i += 1;
                continue;
            }
            '?' => {
                i += 1;
                Atom::Any
            }
            '[' => {
                let negated = chars.get(i + 1) == Some(&'!');
                let first = i + 1 + usize::from(negated);
                let mut j = first;
                let mut ranges = Vec::new();
                while j < chars.len() && !(chars[j] == ']' && j > first) {
                    if chars.get(j + 1) == Some(&'-') && chars.get(j + 2).is_some_and(|&c| c != ']')
                    {
                        ranges.push((chars[j], chars[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((chars[j], chars[j]));
                        j += 1;
                    }
                }
                if j < chars.len() {
                    i = j + 1;
                    Atom::Class(negated, ranges)
                } else {
                    i += 1;
                    Atom::Char('[')
                }
            }
            c => {
                i += 1;
                Atom::Char(c)
            }
        };
        if let Some(run) = runs.last_mut() {
            run.push(atom);
        }
    }
    runs
}

fn run_matches_at(run: &[Atom], text: &[char], at: usize) -> bool {
    at + run.len() <= text.len() && run.iter().zip(&text[at..]).all(|(a, &c)| a.matches(c))
}

/// Glob match without backtracking: the run before the first `*` is anchored at the start,
/// the run after the last `*` at the end, and every run between is taken at its leftmost
/// match (always safe between `*`s). At most O(pattern × text) steps, no recursion.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let runs = parse_glob(pattern);
    let text: Vec<char> = text.chars().collect();
    let (first, last) = (&runs[0], &runs[runs.len() - 1]);
    if runs.len() == 1 {
        return first.len() == text.len() && run_matches_at(first, &text, 0);
    }
    if first.len() + last.len() > text.len() || !run_matches_at(first, &text, 0) {
        return false;
    }
    let end = text.len() - last.len();
    if !run_matches_at(last, &text, end) {
        return false;
    }
    let mut pos = first.len();
    for run in &runs[1..runs.len() - 1] {
        match (pos..=end.saturating_sub(run.len())).find(|&at| run_matches_at(run, &text, at)) {
            Some(at) if at + run.len() <= end => pos = at + run.len(),
            _ => return false,
        }
    }
    true
}

/// Checks python-tuf makes when it loads metadata, beyond the types: a document that fails
/// them is invalid as a whole.
pub trait Validate {
    fn validate(&self) -> Result<(), String>;
}

fn check_common(spec_version: &str, version: u64, expires: &str) -> Result<(), String> {
    let parts: Vec<&str> = spec_version.split('.').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("spec_version {spec_version:?} is not N.N[.N]"));
    }
    if parts[0] != "1" {
        return Err(format!("unsupported spec_version {spec_version:?}"));
    }
    if version == 0 {
        return Err("version must be 1 or more".into());
    }
    if crate::time::parse(expires).is_none() {
        return Err(format!("expires {expires:?} is not YYYY-MM-DDTHH:MM:SSZ"));
    }
    Ok(())
}

fn check_keyids(what: &str, keyids: &[String], threshold: u32) -> Result<(), String> {
    let unique: std::collections::BTreeSet<&String> = keyids.iter().collect();
    if unique.len() != keyids.len() {
        return Err(format!("{what}: a key ID is listed twice"));
    }
    if threshold == 0 {
        return Err(format!("{what}: threshold must be 1 or more"));
    }
    Ok(())
}

fn check_meta(name: &str, m: &MetaFile) -> Result<(), String> {
    if m.version == 0 {
        return Err(format!("meta {name}: version must be 1 or more"));
    }
    if m.hashes.as_ref().is_some_and(|h| h.is_empty()) {
        return Err(format!("meta {name}: hashes is empty"));
    }
    Ok(())
}

/// The top-level role names (a delegated role may not take one).
pub const TOP_LEVEL_ROLES: [&str; 4] = ["root", "snapshot", "targets", "timestamp"];

impl Validate for Root {
    fn validate(&self) -> Result<(), String> {
        check_common(&self.spec_version, self.version, &self.expires)?;
        let names: Vec<&str> = self.roles.keys().map(String::as_str).collect();
        if names != TOP_LEVEL_ROLES {
            return Err(format!(
                "roles must be exactly {TOP_LEVEL_ROLES:?}, got {names:?}"
            ));
        }
        for (name, r) in &self.roles {
            check_keyids(name, &r.keyids, r.threshold)?;
        }
        Ok(())
    }
}

impl Validate for Timestamp {
    fn validate(&self) -> Result<(), String> {
        check_common(&self.spec_version, self.version, &self.expires)?;
        let snap = self
            .meta
            .get("snapshot.json")
            .ok_or("meta has no snapshot.json")?;
        check_meta("snapshot.json", snap)
    }
}

impl Validate for Snapshot {
    fn validate(&self) -> Result<(), String> {
        check_common(&self.spec_version, self.version, &self.expires)?;
        self.meta.iter().try_for_each(|(n, m)| check_meta(n, m))
    }
}

impl Validate for Targets {
    fn validate(&self) -> Result<(), String> {
        check_common(&self.spec_version, self.version, &self.expires)?;
        for (path, t) in &self.targets {
            if t.hashes.is_empty() {
                return Err(format!("target {path:?}: hashes is empty"));
            }
        }
        let Some(d) = &self.delegations else {
            return Ok(());
        };
        match (&d.roles, &d.succinct_roles) {
            (Some(roles), None) => {
                let mut seen = std::collections::BTreeSet::new();
                for r in roles {
                    if !seen.insert(r.name.as_str()) {
                        return Err(format!("delegated role {:?} is listed twice", r.name));
                    }
                    if TOP_LEVEL_ROLES.contains(&r.name.as_str()) {
                        return Err(format!("a delegated role may not be named {:?}", r.name));
                    }
                    if r.paths.is_some() == r.path_hash_prefixes.is_some() {
                        return Err(format!(
                            "delegated role {:?}: exactly one of paths and path_hash_prefixes",
                            r.name
                        ));
                    }
                    check_keyids(&r.name, &r.keyids, r.threshold)?;
                }
                Ok(())
            }
            (None, Some(s)) => {
                if !(1..=32).contains(&s.bit_length) {
                    return Err("succinct_roles: bit_length must be 1 to 32".into());
                }
                check_keyids("succinct_roles", &s.keyids, s.threshold)
            }
            _ => Err("delegations: exactly one of roles and succinct_roles".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns_are_segment_wise() {
        assert!(path_matches("config/*", "config/001565aabbcc.cfg"));
        assert!(!path_matches("config/*", "config/sub/x.cfg"));
        assert!(!path_matches("config/*", "firmware/x.rom"));
        assert!(path_matches("firmware/*.rom", "firmware/T54W-96.rom"));
        assert!(path_matches("a/?/c", "a/b/c"));
        assert!(!path_matches("*", "a/b"));
        assert!(path_matches("*", ""));
        assert!(!path_matches("a*", ""));
        assert!(path_matches("*.tgz", "x.tgz"));
        assert!(!path_matches("*.tgz", "x.tg"));
        assert!(path_matches("a*b*c", "abc"));
        assert!(path_matches("a*b*c", "aXbYbZc"));
        assert!(!path_matches("a*b*c", "aXcYb"));
        assert!(!path_matches("ab*ba", "aba"));
        assert!(path_matches("ab*ba", "abba"));
        assert!(path_matches("file[0-9].txt", "file7.txt"));
        assert!(!path_matches("file[!0-9].txt", "file7.txt"));
        assert!(path_matches("file[!0-9].txt", "fileX.txt"));
        assert!(path_matches("[]]", "]"));
        assert!(path_matches("[", "["));
        assert!(path_matches("a[b", "a[b"));
        assert!(path_matches("??", "éx"));
        assert!(!path_matches("?", ""));
    }

    /// Issue 7 item 8: the old backtracking matcher ran for minutes on this and overflowed
    /// the stack on a million stars (so this test hung or aborted).
    #[test]
    fn hostile_patterns_are_cheap() {
        let pattern = "*a".repeat(16) + "*b";
        let name = "a".repeat(40);
        assert!(!path_matches(&pattern, &name));
        let stars = "*".repeat(1_000_000);
        assert!(
            !path_matches(&stars, "x"),
            "over-long patterns match nothing"
        );
        assert!(path_matches(&"*".repeat(MAX_PATTERN_LEN), "anything"));
    }

    #[test]
    fn succinct_bins_match_python_tuf_naming() {
        let s = SuccinctRoles {
            keyids: vec![],
            threshold: 1,
            bit_length: 8,
            name_prefix: "config-bin".into(),
        };
        assert_eq!(s.bin_name(0), "config-bin-00");
        assert_eq!(s.bin_name(255), "config-bin-ff");
        assert_eq!(s.bins(), 256);
        // sha256("x") = 2d711642…: top 8 bits 0x2d.
        assert_eq!(s.role_for("x"), "config-bin-2d");
        let s3 = SuccinctRoles { bit_length: 3, ..s };
        assert_eq!(s3.role_for("x"), "config-bin-1");
    }
}
