//! Building metadata. Pure: the caller supplies versions, expiry times and signers; the
//! `hookswitch repo` commands and the tests compose these.

use crate::crypto::{key_id, sha256_hex};
use crate::metadata::{
    Delegations, Key, MetaFile, RoleKeys, Root, Snapshot, SuccinctRoles, TargetFile, Targets,
    Timestamp,
};
use crate::SPEC_VERSION;
use std::collections::BTreeMap;

/// One role's public keys and threshold.
pub struct RoleSpec<'a> {
    pub name: &'a str,
    pub keys: Vec<Key>,
    pub threshold: u32,
}

pub fn root(version: u64, expires: &str, roles: &[RoleSpec]) -> Root {
    let mut keys = BTreeMap::new();
    let mut out = BTreeMap::new();
    for r in roles {
        let ids: Vec<String> = r.keys.iter().map(key_id).collect();
        for (id, k) in ids.iter().zip(&r.keys) {
            keys.insert(id.clone(), k.clone());
        }
        out.insert(
            r.name.to_string(),
            RoleKeys {
                keyids: ids,
                threshold: r.threshold,
            },
        );
    }
    Root {
        type_: "root".into(),
        spec_version: SPEC_VERSION.into(),
        version,
        expires: expires.into(),
        consistent_snapshot: true,
        keys,
        roles: out,
    }
}

pub fn target_file(bytes: &[u8], custom: Option<serde_json::Value>) -> TargetFile {
    TargetFile {
        length: bytes.len() as u64,
        hashes: BTreeMap::from([("sha256".to_string(), sha256_hex(bytes))]),
        custom,
    }
}

pub fn targets(
    version: u64,
    expires: &str,
    files: BTreeMap<String, TargetFile>,
    delegations: Option<Delegations>,
) -> Targets {
    Targets {
        type_: "targets".into(),
        spec_version: SPEC_VERSION.into(),
        version,
        expires: expires.into(),
        targets: files,
        delegations,
    }
}

/// A delegated targets role with path patterns.
pub struct Delegate<'a> {
    pub name: &'a str,
    pub keys: Vec<Key>,
    pub threshold: u32,
    pub paths: Vec<String>,
    pub terminating: bool,
}

pub fn delegations(roles: &[Delegate]) -> Delegations {
    let mut keys = BTreeMap::new();
    let mut out = Vec::new();
    for d in roles {
        let ids: Vec<String> = d.keys.iter().map(key_id).collect();
        for (id, k) in ids.iter().zip(&d.keys) {
            keys.insert(id.clone(), k.clone());
        }
        out.push(crate::metadata::DelegatedRole {
            name: d.name.to_string(),
            keyids: ids,
            threshold: d.threshold,
            terminating: d.terminating,
            paths: Some(d.paths.clone()),
            path_hash_prefixes: None,
        });
    }
    Delegations {
        keys,
        roles: Some(out),
        succinct_roles: None,
    }
}

/// Succinct hashed bins: `2^bit_length` roles `<prefix>-<hex>` sharing one key set.
pub fn hashed_bins(prefix: &str, bit_length: u32, keys: Vec<Key>, threshold: u32) -> Delegations {
    let ids: Vec<String> = keys.iter().map(key_id).collect();
    Delegations {
        keys: ids.iter().cloned().zip(keys).collect(),
        roles: None,
        succinct_roles: Some(SuccinctRoles {
            keyids: ids,
            threshold,
            bit_length,
            name_prefix: prefix.to_string(),
        }),
    }
}

/// Bins for `devices` config targets: the bit length that minimises what one device
/// downloads after a change, `snapshot_entry * 2^b + target_entry * devices / 2^b`,
/// i.e. `2^b ≈ sqrt(devices * target_entry / snapshot_entry)`. With ~190-byte target
/// entries and ~36-byte snapshot entries: 10,000 devices → 256 bins, 100,000 → 1,024.
pub fn bin_bit_length(devices: u64) -> u32 {
    const TARGET_ENTRY: f64 = 190.0;
    const SNAPSHOT_ENTRY: f64 = 36.0;
    let ideal = ((devices.max(1) as f64) * TARGET_ENTRY / SNAPSHOT_ENTRY).sqrt();
    (ideal.log2().round() as u32).clamp(1, 16)
}

pub fn snapshot(version: u64, expires: &str, meta: BTreeMap<String, MetaFile>) -> Snapshot {
    Snapshot {
        type_: "snapshot".into(),
        spec_version: SPEC_VERSION.into(),
        version,
        expires: expires.into(),
        meta,
    }
}

/// A timestamp naming the snapshot by version, length and hash.
pub fn timestamp(
    version: u64,
    expires: &str,
    snapshot_version: u64,
    snapshot_bytes: &[u8],
) -> Timestamp {
    let meta = MetaFile {
        version: snapshot_version,
        length: Some(snapshot_bytes.len() as u64),
        hashes: Some(BTreeMap::from([(
            "sha256".to_string(),
            sha256_hex(snapshot_bytes),
        )])),
    };
    Timestamp {
        type_: "timestamp".into(),
        spec_version: SPEC_VERSION.into(),
        version,
        expires: expires.into(),
        meta: BTreeMap::from([("snapshot.json".to_string(), meta)]),
    }
}

/// A snapshot entry for a targets file (version only: hashes and lengths are optional).
pub fn meta(version: u64) -> MetaFile {
    MetaFile {
        version,
        length: None,
        hashes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_counts_follow_the_arithmetic() {
        assert_eq!(1u32 << bin_bit_length(10_000), 256);
        assert_eq!(1u32 << bin_bit_length(100_000), 1024);
        assert_eq!(bin_bit_length(1), 1);
    }
}
