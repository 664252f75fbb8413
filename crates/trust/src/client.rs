//! A sans-IO TUF client (specification section 5).
//!
//! The driver asks [`Refresh::next`] or [`Lookup::next`] what to fetch, fetches at most
//! `max_len` bytes, and hands the bytes (or "not found") back. The client verifies and
//! keeps the new state only when every check passes; on any error the trusted state is
//! what it was, and the driver persists [`Client::trusted_files`] only after success.

use crate::crypto::{canonical, sha256_hex, verify_threshold};
use crate::metadata::{
    Delegations, MetaFile, RoleKeys, Root, Signature, Snapshot, TargetFile, Targets, Timestamp,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// How many root versions one refresh may walk (python-tuf uses the same bound).
pub const MAX_ROOT_ROTATIONS: u32 = 32;
/// How many targets roles one lookup may visit.
pub const MAX_DELEGATIONS: u32 = 32;

/// Length limits for files whose length the trusted metadata does not give.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub root: u64,
    pub timestamp: u64,
    pub snapshot: u64,
    pub targets: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            root: 512 * 1024,
            timestamp: 16 * 1024,
            snapshot: 16 * 1024 * 1024,
            targets: 16 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{role}: malformed metadata: {reason}")]
    Malformed { role: String, reason: String },
    #[error("{role}: {valid} valid signature(s), threshold is {threshold}")]
    Threshold {
        role: String,
        valid: u32,
        threshold: u32,
    },
    #[error("{role}: version {got} is older than the trusted version {trusted} (rollback)")]
    Rollback {
        role: String,
        got: u64,
        trusted: u64,
    },
    #[error("{role}: expected version {expected}, got {got}")]
    Version {
        role: String,
        expected: u64,
        got: u64,
    },
    #[error("{role}: expired at {expires}")]
    Expired { role: String, expires: String },
    #[error("{name}: {len} bytes exceeds the limit of {max}")]
    TooLong { name: String, len: u64, max: u64 },
    #[error("{name}: length or hash does not match the trusted metadata")]
    Mismatch { name: String },
    #[error("{0}")]
    Missing(String),
    #[error("target {path}: {reason}")]
    Target { path: String, reason: String },
    #[error("protocol error: {0}")]
    Protocol(String),
}

fn malformed(role: &str, reason: impl ToString) -> Error {
    Error::Malformed {
        role: role.to_string(),
        reason: reason.to_string(),
    }
}

/// A verified metadata document and the exact bytes it came from.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    pub signed: T,
    pub raw: Vec<u8>,
}

#[derive(Deserialize)]
struct Envelope {
    signatures: Vec<Signature>,
    signed: serde_json::Value,
}

/// Parse an envelope, check `_type`, and check the signature threshold.
fn open<T: DeserializeOwned>(
    role: &str,
    expected_type: &str,
    bytes: &[u8],
    keys: &BTreeMap<String, crate::metadata::Key>,
    authorised: &RoleKeys,
) -> Result<T, Error> {
    let env: Envelope = serde_json::from_slice(bytes).map_err(|e| malformed(role, e))?;
    let ty = env
        .signed
        .get("_type")
        .and_then(|t| t.as_str())
        .unwrap_or("");
    if ty != expected_type {
        return Err(malformed(
            role,
            format!("_type is {ty:?}, expected {expected_type:?}"),
        ));
    }
    let message = canonical(&env.signed).map_err(|e| malformed(role, e))?;
    verify_threshold(
        &message,
        &env.signatures,
        keys,
        &authorised.keyids,
        authorised.threshold,
    )
    .map_err(|valid| Error::Threshold {
        role: role.to_string(),
        valid,
        threshold: authorised.threshold,
    })?;
    serde_json::from_value(env.signed).map_err(|e| malformed(role, e))
}

fn role_keys<'r>(root: &'r Root, role: &str) -> Result<&'r RoleKeys, Error> {
    root.roles
        .get(role)
        .ok_or_else(|| malformed("root", format!("no {role} role")))
}

fn check_expiry(role: &str, expires: &str, now: i64) -> Result<(), Error> {
    let t = crate::time::parse(expires)
        .ok_or_else(|| malformed(role, format!("bad expires {expires:?}")))?;
    if t <= now {
        return Err(Error::Expired {
            role: role.to_string(),
            expires: expires.to_string(),
        });
    }
    Ok(())
}

fn check_meta(name: &str, meta: &MetaFile, bytes: &[u8]) -> Result<(), Error> {
    if let Some(len) = meta.length {
        if bytes.len() as u64 != len {
            return Err(Error::Mismatch {
                name: name.to_string(),
            });
        }
    }
    if let Some(hashes) = &meta.hashes {
        check_hashes(name, hashes, bytes)?;
    }
    Ok(())
}

fn check_hashes(name: &str, hashes: &BTreeMap<String, String>, bytes: &[u8]) -> Result<(), Error> {
    let sha = hashes.get("sha256").ok_or_else(|| Error::Mismatch {
        name: format!("{name} (no sha256 hash)"),
    })?;
    if !sha.eq_ignore_ascii_case(&sha256_hex(bytes)) {
        return Err(Error::Mismatch {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// A file to fetch, relative to the metadata (or target) base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub name: String,
    pub max_len: u64,
}

/// The device identity a config target must carry (Uptane's director idea).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
}

/// Clone it before a refresh and put the clone back on error to keep the last good state
/// whole (the agent does this).
#[derive(Clone)]
pub struct Client {
    now: i64,
    limits: Limits,
    root: Verified<Root>,
    timestamp: Option<Verified<Timestamp>>,
    snapshot: Option<Verified<Snapshot>>,
    targets: BTreeMap<String, Verified<Targets>>,
}

impl Client {
    /// Start from a trusted root (loaded out of band). It must carry its own threshold.
    pub fn new(trusted_root: &[u8], now: i64) -> Result<Self, Error> {
        let probe: Envelope =
            serde_json::from_slice(trusted_root).map_err(|e| malformed("root", e))?;
        let unverified: Root =
            serde_json::from_value(probe.signed).map_err(|e| malformed("root", e))?;
        let rk = role_keys(&unverified, "root")?.clone();
        let root: Root = open("root", "root", trusted_root, &unverified.keys, &rk)?;
        Ok(Client {
            now,
            limits: Limits::default(),
            root: Verified {
                signed: root,
                raw: trusted_root.to_vec(),
            },
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
        })
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn root(&self) -> &Root {
        &self.root.signed
    }
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref().map(|v| &v.signed)
    }
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref().map(|v| &v.signed)
    }
    pub fn targets(&self, role: &str) -> Option<&Targets> {
        self.targets.get(role).map(|v| &v.signed)
    }

    /// Every trusted file, by the non-versioned name a driver stores it under.
    pub fn trusted_files(&self) -> Vec<(String, &[u8])> {
        let mut out = vec![("root.json".to_string(), self.root.raw.as_slice())];
        if let Some(t) = &self.timestamp {
            out.push(("timestamp.json".into(), &t.raw));
        }
        if let Some(s) = &self.snapshot {
            out.push(("snapshot.json".into(), &s.raw));
        }
        for (role, t) in &self.targets {
            out.push((format!("{role}.json"), &t.raw));
        }
        out
    }

    /// Load a previously trusted file from local storage. Signatures must still verify;
    /// expiry is not checked here (the refresh that follows checks it).
    pub fn load_cached(&mut self, role: &str, bytes: &[u8]) -> Result<(), Error> {
        match role {
            "timestamp" => {
                let t: Timestamp = open(
                    role,
                    "timestamp",
                    bytes,
                    &self.root.signed.keys,
                    role_keys(&self.root.signed, role)?,
                )?;
                self.timestamp = Some(Verified {
                    signed: t,
                    raw: bytes.to_vec(),
                });
            }
            "snapshot" => {
                let s: Snapshot = open(
                    role,
                    "snapshot",
                    bytes,
                    &self.root.signed.keys,
                    role_keys(&self.root.signed, role)?,
                )?;
                self.snapshot = Some(Verified {
                    signed: s,
                    raw: bytes.to_vec(),
                });
            }
            "targets" => {
                let t: Targets = open(
                    role,
                    "targets",
                    bytes,
                    &self.root.signed.keys,
                    role_keys(&self.root.signed, role)?,
                )?;
                self.targets.insert(
                    "targets".into(),
                    Verified {
                        signed: t,
                        raw: bytes.to_vec(),
                    },
                );
            }
            _ => return Err(Error::Protocol(format!("cannot load cached {role}"))),
        }
        Ok(())
    }

    fn too_long(name: &str, bytes: &[u8], max: u64) -> Result<(), Error> {
        if bytes.len() as u64 > max {
            return Err(Error::TooLong {
                name: name.to_string(),
                len: bytes.len() as u64,
                max,
            });
        }
        Ok(())
    }

    /// 5.3: one root rotation step, N to N+1, signed by both thresholds.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), Error> {
        Self::too_long("root", bytes, self.limits.root)?;
        let old = &self.root.signed;
        let new: Root = open("root", "root", bytes, &old.keys, role_keys(old, "root")?)?;
        let _: Root = open("root", "root", bytes, &new.keys, role_keys(&new, "root")?)?;
        if new.version != old.version + 1 {
            return Err(Error::Version {
                role: "root".into(),
                expected: old.version + 1,
                got: new.version,
            });
        }
        // 5.3.11: a rotated timestamp or snapshot key invalidates what they signed.
        let rotated =
            |r: &str| old.roles.get(r).map(|k| &k.keyids) != new.roles.get(r).map(|k| &k.keyids);
        if rotated("timestamp") || rotated("snapshot") {
            self.timestamp = None;
            self.snapshot = None;
        }
        self.root = Verified {
            signed: new,
            raw: bytes.to_vec(),
        };
        Ok(())
    }

    /// 5.3.10: after the last rotation the root must not be expired (freeze attack).
    pub fn finish_root(&self) -> Result<(), Error> {
        check_expiry("root", &self.root.signed.expires, self.now)
    }

    /// 5.4. Returns false when the new timestamp equals the trusted one (nothing changed).
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<bool, Error> {
        Self::too_long("timestamp", bytes, self.limits.timestamp)?;
        let root = &self.root.signed;
        let new: Timestamp = open(
            "timestamp",
            "timestamp",
            bytes,
            &root.keys,
            role_keys(root, "timestamp")?,
        )?;
        let new_snap = new
            .meta
            .get("snapshot.json")
            .ok_or_else(|| malformed("timestamp", "no snapshot.json in meta"))?;
        if let Some(old) = &self.timestamp {
            if new.version < old.signed.version {
                return Err(Error::Rollback {
                    role: "timestamp".into(),
                    got: new.version,
                    trusted: old.signed.version,
                });
            }
            if let Some(old_snap) = old.signed.meta.get("snapshot.json") {
                if new_snap.version < old_snap.version {
                    return Err(Error::Rollback {
                        role: "snapshot".into(),
                        got: new_snap.version,
                        trusted: old_snap.version,
                    });
                }
            }
            if new.version == old.signed.version {
                check_expiry("timestamp", &old.signed.expires, self.now)?;
                return Ok(false);
            }
        }
        check_expiry("timestamp", &new.expires, self.now)?;
        self.timestamp = Some(Verified {
            signed: new,
            raw: bytes.to_vec(),
        });
        Ok(true)
    }

    fn snapshot_meta(&self) -> Result<&MetaFile, Error> {
        let ts = self
            .timestamp
            .as_ref()
            .ok_or_else(|| Error::Missing("no trusted timestamp".into()))?;
        check_expiry("timestamp", &ts.signed.expires, self.now)?;
        ts.signed
            .meta
            .get("snapshot.json")
            .ok_or_else(|| malformed("timestamp", "no snapshot.json"))
    }

    /// The snapshot file to fetch, or None when the trusted one is current.
    pub fn snapshot_request(&self) -> Result<Option<Request>, Error> {
        let meta = self.snapshot_meta()?;
        if let Some(s) = &self.snapshot {
            if s.signed.version == meta.version && check_meta("snapshot", meta, &s.raw).is_ok() {
                return Ok(None);
            }
        }
        let name = self.versioned("snapshot", meta.version);
        Ok(Some(Request {
            name,
            max_len: meta.length.unwrap_or(self.limits.snapshot),
        }))
    }

    fn versioned(&self, role: &str, version: u64) -> String {
        if self.root.signed.consistent_snapshot {
            format!("{version}.{role}.json")
        } else {
            format!("{role}.json")
        }
    }

    /// 5.5.
    pub fn update_snapshot(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let meta = self.snapshot_meta()?.clone();
        Self::too_long(
            "snapshot",
            bytes,
            meta.length.unwrap_or(self.limits.snapshot),
        )?;
        check_meta("snapshot", &meta, bytes)?;
        let root = &self.root.signed;
        let new: Snapshot = open(
            "snapshot",
            "snapshot",
            bytes,
            &root.keys,
            role_keys(root, "snapshot")?,
        )?;
        if new.version != meta.version {
            return Err(Error::Version {
                role: "snapshot".into(),
                expected: meta.version,
                got: new.version,
            });
        }
        if let Some(old) = &self.snapshot {
            for (name, old_meta) in &old.signed.meta {
                match new.meta.get(name) {
                    None => return Err(Error::Missing(format!("snapshot: {name} was removed"))),
                    Some(m) if m.version < old_meta.version => {
                        return Err(Error::Rollback {
                            role: name.trim_end_matches(".json").into(),
                            got: m.version,
                            trusted: old_meta.version,
                        })
                    }
                    _ => {}
                }
            }
        }
        check_expiry("snapshot", &new.expires, self.now)?;
        self.snapshot = Some(Verified {
            signed: new,
            raw: bytes.to_vec(),
        });
        // Targets the new snapshot no longer vouches for must be fetched again.
        let snap = &self.snapshot.as_ref().map(|s| &s.signed);
        self.targets.retain(|role, t| {
            snap.and_then(|s| s.meta.get(&format!("{role}.json")))
                .is_some_and(|m| m.version == t.signed.version)
        });
        Ok(())
    }

    fn targets_meta(&self, role: &str) -> Result<&MetaFile, Error> {
        let snap = self
            .snapshot
            .as_ref()
            .ok_or_else(|| Error::Missing("no trusted snapshot".into()))?;
        check_expiry("snapshot", &snap.signed.expires, self.now)?;
        snap.signed
            .meta
            .get(&format!("{role}.json"))
            .ok_or_else(|| Error::Missing(format!("snapshot lists no {role}.json")))
    }

    /// The targets file to fetch for `role`, or None when the trusted one is current.
    pub fn targets_request(&self, role: &str) -> Result<Option<Request>, Error> {
        let meta = self.targets_meta(role)?;
        if let Some(t) = self.targets.get(role) {
            if t.signed.version == meta.version {
                return Ok(None);
            }
        }
        Ok(Some(Request {
            name: self.versioned(role, meta.version),
            max_len: meta.length.unwrap_or(self.limits.targets),
        }))
    }

    /// The keys and threshold `delegator` gives `role`.
    fn delegation(
        &self,
        role: &str,
        delegator: &str,
    ) -> Result<(BTreeMap<String, crate::metadata::Key>, RoleKeys), Error> {
        if delegator == "root" {
            let root = &self.root.signed;
            return Ok((root.keys.clone(), role_keys(root, role)?.clone()));
        }
        let parent = self
            .targets
            .get(delegator)
            .ok_or_else(|| Error::Missing(format!("{delegator} is not trusted")))?;
        let d: &Delegations = parent
            .signed
            .delegations
            .as_ref()
            .ok_or_else(|| Error::Missing(format!("{delegator} delegates nothing")))?;
        if let Some(r) = d.roles.iter().flatten().find(|r| r.name == role) {
            return Ok((
                d.keys.clone(),
                RoleKeys {
                    keyids: r.keyids.clone(),
                    threshold: r.threshold,
                },
            ));
        }
        if let Some(s) = &d.succinct_roles {
            let valid = role
                .strip_prefix(&format!("{}-", s.name_prefix))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .is_some_and(|bin| bin < s.bins() && s.bin_name(bin) == role);
            if valid {
                return Ok((
                    d.keys.clone(),
                    RoleKeys {
                        keyids: s.keyids.clone(),
                        threshold: s.threshold,
                    },
                ));
            }
        }
        Err(Error::Missing(format!(
            "{delegator} does not delegate to {role}"
        )))
    }

    /// 5.6 (and delegated targets): verify `role` as delegated by `delegator`.
    pub fn update_targets(
        &mut self,
        role: &str,
        delegator: &str,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let meta = self.targets_meta(role)?.clone();
        Self::too_long(role, bytes, meta.length.unwrap_or(self.limits.targets))?;
        check_meta(role, &meta, bytes)?;
        let (keys, rk) = self.delegation(role, delegator)?;
        let new: Targets = open(role, "targets", bytes, &keys, &rk)?;
        if new.version != meta.version {
            return Err(Error::Version {
                role: role.into(),
                expected: meta.version,
                got: new.version,
            });
        }
        check_expiry(role, &new.expires, self.now)?;
        self.targets.insert(
            role.to_string(),
            Verified {
                signed: new,
                raw: bytes.to_vec(),
            },
        );
        Ok(())
    }

    /// Start the refresh workflow (root, timestamp, snapshot, top-level targets).
    pub fn refresh(&self) -> Refresh {
        Refresh {
            stage: Stage::Root,
            rotations: 0,
        }
    }

    /// Start looking a target up through the delegation graph.
    pub fn lookup(&self, path: &str) -> Lookup {
        Lookup {
            path: path.to_string(),
            stack: vec![("targets".into(), "root".into())],
            visited: Vec::new(),
        }
    }

    /// Check a downloaded target against its trusted info.
    pub fn verify_target(&self, path: &str, info: &TargetFile, bytes: &[u8]) -> Result<(), Error> {
        let mut v = self.target_verifier(path, info)?;
        v.update(bytes)?;
        v.finish()
    }

    /// Verify a target as it streams in (firmware images need not fit in memory).
    pub fn target_verifier(&self, path: &str, info: &TargetFile) -> Result<TargetVerifier, Error> {
        let sha = info.hashes.get("sha256").ok_or_else(|| Error::Target {
            path: path.into(),
            reason: "no sha256 hash".into(),
        })?;
        let expected = hex::decode(sha).map_err(|_| Error::Target {
            path: path.into(),
            reason: "bad sha256 hash".into(),
        })?;
        Ok(TargetVerifier {
            path: path.into(),
            length: info.length,
            expected,
            seen: 0,
            hasher: Sha256::new(),
        })
    }

    /// The name to fetch a target under (consistent snapshots prefix the hash).
    pub fn target_request(&self, path: &str, info: &TargetFile) -> Request {
        let name = match (
            self.root.signed.consistent_snapshot,
            info.hashes.get("sha256"),
        ) {
            (true, Some(h)) => match path.rsplit_once('/') {
                Some((dir, base)) => format!("{dir}/{h}.{base}"),
                None => format!("{h}.{path}"),
            },
            _ => path.to_string(),
        };
        Request {
            name,
            max_len: info.length,
        }
    }
}

/// Incremental length and sha256 check of one target.
pub struct TargetVerifier {
    path: String,
    length: u64,
    expected: Vec<u8>,
    seen: u64,
    hasher: Sha256,
}

impl TargetVerifier {
    /// Feed the next chunk; fails as soon as the data exceeds the trusted length.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.seen += chunk.len() as u64;
        if self.seen > self.length {
            return Err(Error::Target {
                path: self.path.clone(),
                reason: format!("longer than the trusted length {}", self.length),
            });
        }
        self.hasher.update(chunk);
        Ok(())
    }

    pub fn finish(self) -> Result<(), Error> {
        if self.seen != self.length {
            return Err(Error::Target {
                path: self.path,
                reason: format!("length {} != trusted {}", self.seen, self.length),
            });
        }
        if self.hasher.finalize().as_slice() != self.expected.as_slice() {
            return Err(Error::Target {
                path: self.path,
                reason: "hash does not match".into(),
            });
        }
        Ok(())
    }
}

/// Per-device configuration targets (`config/…`) must name this device and never go back.
pub fn check_config_target(
    path: &str,
    info: &TargetFile,
    device: &Device,
    last_release: Option<u64>,
) -> Result<u64, Error> {
    let err = |reason: String| Error::Target {
        path: path.into(),
        reason,
    };
    let custom = info
        .custom
        .as_ref()
        .ok_or_else(|| err("config target has no custom".into()))?;
    let id = custom
        .get("device_id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| err("no custom.device_id".into()))?;
    if !id.eq_ignore_ascii_case(&device.id) {
        return Err(err(format!("is for device {id}, not {}", device.id)));
    }
    let release = custom
        .get("release")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| err("no custom.release".into()))?;
    if let Some(last) = last_release {
        if release < last {
            return Err(err(format!(
                "release {release} is older than the installed release {last} (rollback)"
            )));
        }
    }
    Ok(release)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Root,
    Timestamp,
    Snapshot,
    Targets,
    Done,
}

/// The refresh workflow as a state machine.
#[derive(Debug)]
pub struct Refresh {
    stage: Stage,
    rotations: u32,
}

impl Refresh {
    /// What to fetch next; None when the refresh is complete.
    pub fn next(&mut self, client: &Client) -> Result<Option<Request>, Error> {
        loop {
            match self.stage {
                Stage::Root => {
                    if self.rotations >= MAX_ROOT_ROTATIONS {
                        client.finish_root()?;
                        self.stage = Stage::Timestamp;
                        continue;
                    }
                    let v = client.root.signed.version + 1;
                    return Ok(Some(Request {
                        name: format!("{v}.root.json"),
                        max_len: client.limits.root,
                    }));
                }
                Stage::Timestamp => {
                    return Ok(Some(Request {
                        name: "timestamp.json".into(),
                        max_len: client.limits.timestamp,
                    }))
                }
                Stage::Snapshot => match client.snapshot_request()? {
                    Some(r) => return Ok(Some(r)),
                    None => self.stage = Stage::Targets,
                },
                Stage::Targets => match client.targets_request("targets")? {
                    Some(r) => return Ok(Some(r)),
                    None => self.stage = Stage::Done,
                },
                Stage::Done => return Ok(None),
            }
        }
    }

    /// Hand over the fetched file (None: the server has no such file).
    pub fn deliver(&mut self, client: &mut Client, bytes: Option<&[u8]>) -> Result<(), Error> {
        match (self.stage, bytes) {
            (Stage::Root, None) => {
                client.finish_root()?;
                self.stage = Stage::Timestamp;
            }
            (Stage::Root, Some(b)) => {
                client.update_root(b)?;
                self.rotations += 1;
            }
            (Stage::Timestamp, Some(b)) => {
                client.update_timestamp(b)?;
                self.stage = Stage::Snapshot;
            }
            (Stage::Snapshot, Some(b)) => {
                client.update_snapshot(b)?;
                self.stage = Stage::Targets;
            }
            (Stage::Targets, Some(b)) => {
                client.update_targets("targets", "root", b)?;
                self.stage = Stage::Done;
            }
            (stage, None) => {
                return Err(Error::Missing(format!(
                    "the repository has no {stage:?} metadata"
                )))
            }
            (Stage::Done, Some(_)) => {
                return Err(Error::Protocol("refresh is already complete".into()))
            }
        }
        Ok(())
    }
}

/// A target lookup through the delegation graph (pre-order depth-first, as the spec says).
#[derive(Debug)]
pub struct Lookup {
    path: String,
    /// (role, delegator) still to visit; the last is next.
    stack: Vec<(String, String)>,
    visited: Vec<String>,
}

/// What a lookup needs next.
#[derive(Debug, PartialEq)]
pub enum LookupStep {
    /// Fetch this delegated targets file and `deliver` it.
    Fetch {
        role: String,
        request: Request,
    },
    Found(TargetFile),
    NotFound,
}

impl Lookup {
    pub fn next(&mut self, client: &Client) -> Result<LookupStep, Error> {
        while let Some((role, delegator)) = self.stack.last().cloned() {
            if self.visited.contains(&role) {
                self.stack.pop();
                continue;
            }
            if self.visited.len() as u32 >= MAX_DELEGATIONS {
                break;
            }
            if let Some(request) = client.targets_request(&role)? {
                let _ = delegator;
                return Ok(LookupStep::Fetch { role, request });
            }
            self.stack.pop();
            let targets = client
                .targets(&role)
                .ok_or_else(|| Error::Missing(format!("{role} is not trusted")))?;
            if let Some(t) = targets.targets.get(&self.path) {
                return Ok(LookupStep::Found(t.clone()));
            }
            self.visited.push(role.clone());
            if let Some(d) = &targets.delegations {
                let mut children = Vec::new();
                for r in d.roles.iter().flatten() {
                    if r.matches(&self.path) {
                        children.push((r.name.clone(), role.clone()));
                        if r.terminating {
                            self.stack.clear();
                            break;
                        }
                    }
                }
                if let Some(s) = &d.succinct_roles {
                    self.stack.clear();
                    children.push((s.role_for(&self.path), role.clone()));
                }
                children.reverse();
                self.stack.extend(children);
            }
        }
        Ok(LookupStep::NotFound)
    }

    /// Hand over the delegated targets file last requested.
    pub fn deliver(&mut self, client: &mut Client, bytes: Option<&[u8]>) -> Result<(), Error> {
        let (role, delegator) = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| Error::Protocol("nothing was requested".into()))?;
        let bytes = bytes
            .ok_or_else(|| Error::Missing(format!("the repository has no {role} metadata")))?;
        client.update_targets(&role, &delegator, bytes)
    }
}
