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
        use sha2::{Digest, Sha256};
        let h = Sha256::digest(path.as_bytes());
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

/// TUF path patterns: `/`-separated segments compared one by one with shell wildcards
/// (`*` and `?` within a segment), as python-tuf does.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let (p, t): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(p, t)| glob(p.as_bytes(), t.as_bytes()))
}

fn glob(p: &[u8], t: &[u8]) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], t) || (!t.is_empty() && glob(p, &t[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &t[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &t[1..]),
        _ => false,
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
