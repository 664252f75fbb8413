//! A sans-IO TUF client (specification section 5), with python-tuf's semantics where the
//! spec leaves room (the conformance suite is the judge).
//!
//! The driver offers the local copies it has ([`Client::offer_cached`]), then asks
//! [`Refresh::next`] or [`Lookup::next`] what to fetch, fetches at most `max_len` bytes, and
//! hands the bytes (or "not found") back. Each file that verifies is returned as a
//! [`Persist`] at once, to be stored under [`metadata_file_name`] (spec 5.3.8, 5.4.5, 5.5.7,
//! 5.6.6): an error later in the same refresh never loses a verified file, and an
//! unverified file is never kept.

use crate::crypto::{canonical_value, verify_threshold};
use crate::digest::HashCheck;
use crate::metadata::{
    Delegations, Key, MetaFile, RoleKeys, Root, Signature, Snapshot, TargetFile, Targets,
    Timestamp, Validate,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// How many root versions one refresh may walk (python-tuf's bound).
pub const MAX_ROOT_ROTATIONS: u32 = 256;
/// How many targets roles one lookup may visit (python-tuf's bound).
pub const MAX_DELEGATIONS: usize = 32;
/// Longest role name accepted: its encoded file name must fit a file system's 255 bytes.
pub const MAX_ROLE_NAME: usize = 80;

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
    #[error("{name}: length or hash does not match the trusted metadata ({reason})")]
    Mismatch { name: String, reason: String },
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

/// A parsed document: the exact bytes it came from, the canonical form of its `signed`
/// object (what signatures cover), and the keys that last met its threshold, so a
/// document kept in memory is not verified twice against the same keys.
#[derive(Debug, Clone)]
struct Loaded<T> {
    signed: T,
    raw: Vec<u8>,
    message: Vec<u8>,
    signatures: Vec<Signature>,
    verified_by: Option<Authority>,
}

/// The keys and threshold a document's signatures were checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority {
    keys: Vec<(String, Key)>,
    threshold: u32,
}

impl Authority {
    fn new(keys: &BTreeMap<String, Key>, authorised: &RoleKeys) -> Authority {
        Authority {
            keys: authorised
                .keyids
                .iter()
                .filter_map(|id| keys.get(id).map(|k| (id.clone(), k.clone())))
                .collect(),
            threshold: authorised.threshold,
        }
    }
}

impl<T: DeserializeOwned + Validate> Loaded<T> {
    fn parse(role: &str, expected_type: &str, bytes: &[u8]) -> Result<Loaded<T>, Error> {
        let (signed, message, signatures) = parse(role, expected_type, bytes)?;
        Ok(Loaded {
            signed,
            raw: bytes.to_vec(),
            message,
            signatures,
            verified_by: None,
        })
    }

    /// Check the threshold unless these very keys already did. Returns how many
    /// signatures were checked.
    fn verify(
        &mut self,
        role: &str,
        keys: &BTreeMap<String, Key>,
        authorised: &RoleKeys,
    ) -> Result<u64, Error> {
        let authority = Authority::new(keys, authorised);
        if self.verified_by.as_ref() == Some(&authority) {
            return Ok(0);
        }
        let checked = check_signatures(role, &self.message, &self.signatures, keys, authorised)?;
        self.verified_by = Some(authority);
        Ok(checked)
    }
}

/// A local copy offered by the driver (bytes from disk) or kept from this client's last
/// refresh (already parsed).
#[derive(Debug, Clone)]
enum Local {
    Bytes(Vec<u8>),
    Timestamp(Loaded<Timestamp>),
    Snapshot(Loaded<Snapshot>),
    Targets(Loaded<Targets>),
}

/// Which [`Local`] variant holds a document of this type.
trait FromLocal: Sized {
    fn from_local(local: Local) -> Option<Loaded<Self>>;
}

impl FromLocal for Timestamp {
    fn from_local(local: Local) -> Option<Loaded<Self>> {
        match local {
            Local::Timestamp(t) => Some(t),
            _ => None,
        }
    }
}

impl FromLocal for Snapshot {
    fn from_local(local: Local) -> Option<Loaded<Self>> {
        match local {
            Local::Snapshot(t) => Some(t),
            _ => None,
        }
    }
}

impl FromLocal for Targets {
    fn from_local(local: Local) -> Option<Loaded<Self>> {
        match local {
            Local::Targets(t) => Some(t),
            _ => None,
        }
    }
}

/// A file that has just verified: store `bytes` as [`metadata_file_name`]`(role)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persist {
    pub role: String,
    pub bytes: Vec<u8>,
}

#[derive(Deserialize)]
struct Envelope {
    signatures: Vec<Signature>,
    signed: serde_json::Value,
}

/// Parse an envelope: `_type`, the document's own rules, one signature per key ID.
fn parse<T: DeserializeOwned + Validate>(
    role: &str,
    expected_type: &str,
    bytes: &[u8],
) -> Result<(T, Vec<u8>, Vec<Signature>), Error> {
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
    let mut keyids = BTreeSet::new();
    if let Some(dup) = env.signatures.iter().find(|s| !keyids.insert(&s.keyid)) {
        return Err(malformed(
            role,
            format!("two signatures by key ID {}", dup.keyid),
        ));
    }
    let message = canonical_value(&env.signed).map_err(|e| malformed(role, e))?;
    let signed: T = serde_json::from_value(env.signed).map_err(|e| malformed(role, e))?;
    signed.validate().map_err(|e| malformed(role, e))?;
    Ok((signed, message, env.signatures))
}

/// Check a parsed document's signatures against `keys` and `authorised`; returns how many
/// signatures were checked.
fn check_signatures(
    role: &str,
    message: &[u8],
    signatures: &[Signature],
    keys: &BTreeMap<String, Key>,
    authorised: &RoleKeys,
) -> Result<u64, Error> {
    let checked = signatures
        .iter()
        .filter(|s| authorised.keyids.contains(&s.keyid) && keys.contains_key(&s.keyid))
        .count() as u64;
    verify_threshold(
        message,
        signatures,
        keys,
        &authorised.keyids,
        authorised.threshold,
    )
    .map(|_| checked)
    .map_err(|valid| Error::Threshold {
        role: role.to_string(),
        valid,
        threshold: authorised.threshold,
    })
}

fn role_keys<'r>(root: &'r Root, role: &str) -> Result<&'r RoleKeys, Error> {
    root.roles
        .get(role)
        .ok_or_else(|| malformed("root", format!("no {role} role")))
}

fn is_expired(expires: &str, now: i64) -> bool {
    // Validation already refused an unparsable `expires`.
    crate::time::parse(expires).is_none_or(|t| t <= now)
}

fn expired(role: &str, expires: &str) -> Error {
    Error::Expired {
        role: role.to_string(),
        expires: expires.to_string(),
    }
}

/// Length and every listed hash, where the trusted metadata gives them.
fn check_meta(name: &str, meta: &MetaFile, bytes: &[u8]) -> Result<(), Error> {
    if let Some(len) = meta.length {
        if bytes.len() as u64 != len {
            return Err(Error::Mismatch {
                name: name.to_string(),
                reason: format!("length {} != {len}", bytes.len()),
            });
        }
    }
    if let Some(hashes) = &meta.hashes {
        crate::digest::check(hashes, bytes).map_err(|reason| Error::Mismatch {
            name: name.to_string(),
            reason,
        })?;
    }
    Ok(())
}

/// A role name (or target path) as it goes into a URL path segment or a file name:
/// percent-encoded except `A-Z a-z 0-9 _ . - ~` (python's `quote(name, safe="")`, as
/// python-tuf does), so `/` and `..` stay inside one segment.
pub fn quote(role: &str) -> String {
    let mut out = String::with_capacity(role.len());
    for b in role.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The inverse of [`quote`]; None for anything [`quote`] would not produce.
pub fn decode_role(encoded: &str) -> Option<String> {
    let b = encoded.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let role = String::from_utf8(out).ok()?;
    (quote(&role) == encoded).then_some(role)
}

/// The non-versioned file a role's trusted metadata is kept in (`root.json`,
/// `%2Fdelegatedrole.json`). Never contains `/`, and `.json` keeps it from being `.`/`..`.
pub fn metadata_file_name(role: &str) -> String {
    format!("{}.json", quote(role))
}

/// A role name the client will fetch and store: not empty, and short enough to store.
fn check_role_name(role: &str) -> Result<(), Error> {
    if role.is_empty() || role.len() > MAX_ROLE_NAME {
        return Err(Error::Protocol(format!(
            "role name {role:?} cannot be stored safely (1 to {MAX_ROLE_NAME} bytes)"
        )));
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

/// A targets role the client trusts, and the delegators whose keys it met.
#[derive(Debug, Clone)]
struct TrustedTargets {
    doc: Loaded<Targets>,
    delegators: BTreeSet<String>,
}

/// The trusted metadata of one TUF client. Follows python-tuf's `TrustedMetadataSet`: an
/// expired intermediate timestamp or snapshot stays loaded for rollback checks but stops
/// the next step; each role is checked against the role above it when it is loaded.
#[derive(Clone)]
pub struct Client {
    now: i64,
    limits: Limits,
    root: Loaded<Root>,
    timestamp: Option<Loaded<Timestamp>>,
    snapshot: Option<Loaded<Snapshot>>,
    targets: BTreeMap<String, TrustedTargets>,
    /// Local copies: untrusted until they pass the checks of the step that uses them.
    cached: BTreeMap<String, Local>,
    signature_checks: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("root", &self.root.signed.version)
            .field("timestamp", &self.timestamp().map(|t| t.version))
            .field("snapshot", &self.snapshot().map(|s| s.version))
            .field("targets", &self.targets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Client {
    /// Start from a trusted root (loaded out of band). It must carry its own threshold;
    /// its expiry is checked when the refresh has walked the root chain (5.3.10).
    pub fn new(trusted_root: &[u8], now: i64) -> Result<Self, Error> {
        let mut root: Loaded<Root> = Loaded::parse("root", "root", trusted_root)?;
        let (keys, authorised) = (
            root.signed.keys.clone(),
            role_keys(&root.signed, "root")?.clone(),
        );
        let checked = root.verify("root", &keys, &authorised)?;
        Ok(Client {
            now,
            limits: Limits::default(),
            root,
            timestamp: None,
            snapshot: None,
            targets: BTreeMap::new(),
            cached: BTreeMap::new(),
            signature_checks: checked,
        })
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The time the client judges expiry against (Unix seconds).
    pub fn set_now(&mut self, now: i64) {
        self.now = now;
    }

    /// How many signatures this client has checked (a document already verified by the
    /// same keys is not checked again).
    pub fn signature_checks(&self) -> u64 {
        self.signature_checks
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
        self.targets.get(role).map(|t| &t.doc.signed)
    }

    /// Every loaded file (role, bytes); an expired intermediate timestamp or snapshot
    /// included.
    pub fn trusted_files(&self) -> Vec<(String, &[u8])> {
        let mut out = vec![("root".to_string(), self.root.raw.as_slice())];
        if let Some(t) = &self.timestamp {
            out.push(("timestamp".into(), &t.raw));
        }
        if let Some(s) = &self.snapshot {
            out.push(("snapshot".into(), &s.raw));
        }
        for (role, t) in &self.targets {
            out.push((role.clone(), &t.doc.raw));
        }
        out
    }

    /// A local copy of `role` (not root) from an earlier run. It is used, like python-tuf's
    /// local metadata, only when it passes the same checks a download would at that point
    /// of the workflow, and otherwise ignored.
    pub fn offer_cached(&mut self, role: &str, bytes: Vec<u8>) {
        if role != "root" {
            self.cached.insert(role.to_string(), Local::Bytes(bytes));
        }
    }

    /// The local copy of `role`, parsed; None if there is none or it does not parse.
    fn take_local<T: FromLocal + DeserializeOwned + Validate>(
        &mut self,
        role: &str,
        expected_type: &str,
    ) -> Option<Loaded<T>> {
        match self.cached.remove(role)? {
            Local::Bytes(b) => Loaded::parse(role, expected_type, &b).ok(),
            other => T::from_local(other),
        }
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

    /// 5.3: one root rotation step, N to N+1, signed by both thresholds. An expired
    /// intermediate root is fine; the final one is checked before the timestamp.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.timestamp.is_some() {
            return Err(Error::Protocol(
                "root cannot change after the timestamp".into(),
            ));
        }
        Self::too_long("root", bytes, self.limits.root)?;
        let mut new: Loaded<Root> = Loaded::parse("root", "root", bytes)?;
        let old = &self.root.signed;
        self.signature_checks += new.verify("root", &old.keys, role_keys(old, "root")?)?;
        let next = old.version.saturating_add(1);
        if new.signed.version != next || old.version == u64::MAX {
            return Err(Error::Version {
                role: "root".into(),
                expected: next,
                got: new.signed.version,
            });
        }
        let (keys, authorised) = (
            new.signed.keys.clone(),
            role_keys(&new.signed, "root")?.clone(),
        );
        // And by the new root's own keys (skipped only if they are the very same).
        self.signature_checks += new.verify("root", &keys, &authorised)?;
        self.root = new;
        Ok(())
    }

    /// 5.3.10: after the last rotation the root must not be expired (freeze attack).
    pub fn check_final_root(&self) -> Result<(), Error> {
        let root = &self.root.signed;
        if is_expired(&root.expires, self.now) {
            return Err(expired("root", &root.expires));
        }
        Ok(())
    }

    /// 5.4. Ok(true): a new timestamp, to persist; Ok(false): the same version as the
    /// trusted one (nothing to do). A newer but expired timestamp is kept for rollback
    /// checks and reported as [`Error::Expired`].
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<bool, Error> {
        Self::too_long("timestamp", bytes, self.limits.timestamp)?;
        self.load_timestamp(Loaded::parse("timestamp", "timestamp", bytes)?)
    }

    fn load_timestamp(&mut self, mut new: Loaded<Timestamp>) -> Result<bool, Error> {
        if self.snapshot.is_some() {
            return Err(Error::Protocol(
                "timestamp cannot change after the snapshot".into(),
            ));
        }
        self.check_final_root()?;
        let root = &self.root.signed;
        self.signature_checks +=
            new.verify("timestamp", &root.keys, role_keys(root, "timestamp")?)?;
        if let Some(old) = &self.timestamp {
            let (old, new) = (&old.signed, &new.signed);
            if new.version < old.version {
                return Err(Error::Rollback {
                    role: "timestamp".into(),
                    got: new.version,
                    trusted: old.version,
                });
            }
            if new.version == old.version {
                return Ok(false);
            }
            let (old_snap, new_snap) = (&old.meta["snapshot.json"], &new.meta["snapshot.json"]);
            if new_snap.version < old_snap.version {
                return Err(Error::Rollback {
                    role: "snapshot".into(),
                    got: new_snap.version,
                    trusted: old_snap.version,
                });
            }
        }
        self.timestamp = Some(new);
        self.check_final_timestamp()?;
        Ok(true)
    }

    fn check_final_timestamp(&self) -> Result<&MetaFile, Error> {
        let ts = self
            .timestamp
            .as_ref()
            .ok_or_else(|| Error::Missing("no trusted timestamp".into()))?;
        if is_expired(&ts.signed.expires, self.now) {
            return Err(expired("timestamp", &ts.signed.expires));
        }
        Ok(&ts.signed.meta["snapshot.json"])
    }

    /// 5.5. A verified snapshot that is expired or not the version the timestamp names
    /// stays loaded for rollback checks, and the error says why it cannot be final.
    pub fn update_snapshot(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let meta = self.check_final_timestamp()?.clone();
        Self::too_long(
            "snapshot",
            bytes,
            meta.length.unwrap_or(self.limits.snapshot),
        )?;
        check_meta("snapshot", &meta, bytes)?;
        self.load_snapshot(Loaded::parse("snapshot", "snapshot", bytes)?)
    }

    /// A snapshot that verified before (a local copy): the current timestamp may no longer
    /// list its hashes, so only its signatures, rollback, expiry and version are checked.
    fn load_snapshot(&mut self, mut new: Loaded<Snapshot>) -> Result<(), Error> {
        if !self.targets.is_empty() {
            return Err(Error::Protocol(
                "snapshot cannot change after targets".into(),
            ));
        }
        self.check_final_timestamp()?;
        let root = &self.root.signed;
        self.signature_checks +=
            new.verify("snapshot", &root.keys, role_keys(root, "snapshot")?)?;
        if let Some(old) = &self.snapshot {
            for (name, old_meta) in &old.signed.meta {
                match new.signed.meta.get(name) {
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
        self.snapshot = Some(new);
        self.check_final_snapshot().map(|_| ())
    }

    fn check_final_snapshot(&self) -> Result<&Snapshot, Error> {
        let meta = self.check_final_timestamp()?;
        let snap = &self
            .snapshot
            .as_ref()
            .ok_or_else(|| Error::Missing("no trusted snapshot".into()))?
            .signed;
        if is_expired(&snap.expires, self.now) {
            return Err(expired("snapshot", &snap.expires));
        }
        if snap.version != meta.version {
            return Err(Error::Version {
                role: "snapshot".into(),
                expected: meta.version,
                got: snap.version,
            });
        }
        Ok(snap)
    }

    fn snapshot_request(&self) -> Result<Request, Error> {
        let meta = &self
            .timestamp
            .as_ref()
            .ok_or_else(|| Error::Missing("no trusted timestamp".into()))?
            .signed
            .meta["snapshot.json"];
        Ok(Request {
            name: self.versioned("snapshot", meta.version),
            max_len: meta.length.unwrap_or(self.limits.snapshot),
        })
    }

    fn versioned(&self, role: &str, version: u64) -> String {
        if self.root.signed.consistent_snapshot {
            format!("{version}.{}.json", quote(role))
        } else {
            metadata_file_name(role)
        }
    }

    fn targets_meta(&self, role: &str) -> Result<&MetaFile, Error> {
        let snap = &self
            .snapshot
            .as_ref()
            .ok_or_else(|| Error::Missing("no trusted snapshot".into()))?
            .signed;
        snap.meta.get(&format!("{role}.json")).ok_or_else(|| {
            Error::Missing(format!(
                "{role} is delegated but the snapshot does not list it"
            ))
        })
    }

    /// The keys and threshold `delegator` gives `role`.
    fn delegation(
        &self,
        role: &str,
        delegator: &str,
    ) -> Result<(&BTreeMap<String, Key>, RoleKeys), Error> {
        if delegator == "root" {
            let root = &self.root.signed;
            return Ok((&root.keys, role_keys(root, role)?.clone()));
        }
        let parent = self
            .targets
            .get(delegator)
            .ok_or_else(|| Error::Protocol(format!("{delegator} is not trusted")))?;
        let d: &Delegations = parent
            .doc
            .signed
            .delegations
            .as_ref()
            .ok_or_else(|| Error::Missing(format!("{delegator} delegates nothing")))?;
        if let Some(rk) = d.authority_for(role) {
            return Ok((&d.keys, rk));
        }
        Err(Error::Missing(format!(
            "{delegator} does not delegate to {role}"
        )))
    }

    /// 5.6 (and delegated targets): verify `role` as delegated by `delegator`: length and
    /// hashes from the snapshot (local copies too), signatures, version, expiry.
    pub fn update_targets(
        &mut self,
        role: &str,
        delegator: &str,
        bytes: &[u8],
    ) -> Result<(), Error> {
        check_role_name(role)?;
        let meta = self.targets_meta(role)?;
        Self::too_long(role, bytes, meta.length.unwrap_or(self.limits.targets))?;
        self.load_targets(role, delegator, Loaded::parse(role, "targets", bytes)?)
    }

    fn load_targets(
        &mut self,
        role: &str,
        delegator: &str,
        mut new: Loaded<Targets>,
    ) -> Result<(), Error> {
        self.check_final_snapshot()?;
        let meta = self.targets_meta(role)?.clone();
        check_meta(role, &meta, &new.raw)?;
        let (keys, rk) = self.delegation(role, delegator)?;
        let checked = new.verify(role, keys, &rk)?;
        self.signature_checks += checked;
        if new.signed.version != meta.version {
            return Err(Error::Version {
                role: role.into(),
                expected: meta.version,
                got: new.signed.version,
            });
        }
        if is_expired(&new.signed.expires, self.now) {
            return Err(expired(role, &new.signed.expires));
        }
        self.targets.insert(
            role.to_string(),
            TrustedTargets {
                doc: new,
                delegators: BTreeSet::from([delegator.to_string()]),
            },
        );
        Ok(())
    }

    /// Make `role` (as delegated by `delegator`) trusted without a download if possible:
    /// already loaded (and signed for this delegator too), or a local copy that passes.
    /// Otherwise the file to fetch (then `update_targets` with its bytes). Public so a
    /// server can walk every delegated role, not only those on one target's path.
    pub fn prepare_targets(
        &mut self,
        role: &str,
        delegator: &str,
    ) -> Result<Option<Request>, Error> {
        check_role_name(role)?;
        if let Some(t) = self.targets.get(role) {
            if t.delegators.contains(delegator) {
                return Ok(None);
            }
            // Reached through another delegator: its signatures must meet this one's keys.
            let (keys, rk) = self.delegation(role, delegator)?;
            let (keys, rk) = (keys.clone(), rk);
            if let Some(t) = self.targets.get_mut(role) {
                self.signature_checks += t.doc.verify(role, &keys, &rk)?;
                t.delegators.insert(delegator.to_string());
            }
            return Ok(None);
        }
        if let Some(local) = self.take_local::<Targets>(role, "targets") {
            if self.load_targets(role, delegator, local).is_ok() {
                return Ok(None);
            }
        }
        let meta = self.targets_meta(role)?;
        Ok(Some(Request {
            name: self.versioned(role, meta.version),
            max_len: meta.length.unwrap_or(self.limits.targets),
        }))
    }

    /// Start the refresh workflow (root, timestamp, snapshot, top-level targets). What this
    /// client loaded before becomes a local copy, judged again as the spec says (without
    /// parsing it again, or checking signatures the same keys already checked).
    pub fn refresh(&mut self) -> Refresh {
        if let Some(t) = self.timestamp.take() {
            self.cached.insert("timestamp".into(), Local::Timestamp(t));
        }
        if let Some(s) = self.snapshot.take() {
            self.cached.insert("snapshot".into(), Local::Snapshot(s));
        }
        for (role, t) in std::mem::take(&mut self.targets) {
            self.cached.insert(role, Local::Targets(t.doc));
        }
        Refresh {
            stage: Stage::Root,
            rotations: 0,
        }
    }

    /// Start looking a target up through the delegation graph (after a refresh).
    pub fn lookup(&self, path: &str) -> Lookup {
        Lookup {
            path: path.to_string(),
            stack: vec![("targets".into(), "root".into())],
            visited: BTreeSet::new(),
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
        let hashes = HashCheck::new(&info.hashes).map_err(|reason| Error::Target {
            path: path.into(),
            reason,
        })?;
        Ok(TargetVerifier {
            path: path.into(),
            length: info.length,
            seen: 0,
            hashes,
        })
    }

    /// The name to fetch a target under: with consistent snapshots, a hash (sha256 when
    /// listed) prefixes the file name.
    pub fn target_request(&self, path: &str, info: &TargetFile) -> Request {
        let hash = info
            .hashes
            .get("sha256")
            .or_else(|| info.hashes.values().next());
        let name = match (self.root.signed.consistent_snapshot, hash) {
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

/// Incremental length and hash check of one target (every hash its metadata lists).
pub struct TargetVerifier {
    path: String,
    length: u64,
    seen: u64,
    hashes: HashCheck,
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
        self.hashes.update(chunk);
        Ok(())
    }

    pub fn finish(self) -> Result<(), Error> {
        if self.seen != self.length {
            return Err(Error::Target {
                path: self.path,
                reason: format!("length {} != trusted {}", self.seen, self.length),
            });
        }
        self.hashes.finish().map_err(|reason| Error::Target {
            path: self.path,
            reason,
        })
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
    /// Before the timestamp download: the final root's expiry, then the local copy.
    Timestamp,
    FetchTimestamp,
    Snapshot,
    FetchSnapshot,
    Targets,
    FetchTargets,
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
    pub fn next(&mut self, client: &mut Client) -> Result<Option<Request>, Error> {
        loop {
            match self.stage {
                // A root at the last version has no successor to look for.
                Stage::Root
                    if self.rotations < MAX_ROOT_ROTATIONS
                        && client.root.signed.version < u64::MAX =>
                {
                    let v = client.root.signed.version + 1;
                    return Ok(Some(Request {
                        name: format!("{v}.root.json"),
                        max_len: client.limits.root,
                    }));
                }
                Stage::Root => self.stage = Stage::Timestamp,
                Stage::Timestamp => {
                    client.check_final_root()?;
                    if let Some(local) = client.take_local::<Timestamp>("timestamp", "timestamp") {
                        // Not valid as final (expired) still counts for rollback checks.
                        let _ = client.load_timestamp(local);
                    }
                    self.stage = Stage::FetchTimestamp;
                }
                Stage::FetchTimestamp => {
                    return Ok(Some(Request {
                        name: "timestamp.json".into(),
                        max_len: client.limits.timestamp,
                    }))
                }
                Stage::Snapshot => {
                    if let Some(local) = client.take_local::<Snapshot>("snapshot", "snapshot") {
                        if client.load_snapshot(local).is_ok() {
                            self.stage = Stage::Targets;
                            continue;
                        }
                    }
                    self.stage = Stage::FetchSnapshot;
                    return client.snapshot_request().map(Some);
                }
                Stage::FetchSnapshot => return client.snapshot_request().map(Some),
                Stage::Targets | Stage::FetchTargets => {
                    match client.prepare_targets("targets", "root")? {
                        Some(r) => {
                            self.stage = Stage::FetchTargets;
                            return Ok(Some(r));
                        }
                        None => self.stage = Stage::Done,
                    }
                }
                Stage::Done => return Ok(None),
            }
        }
    }

    /// Hand over the fetched file (None: the server has no such file). Returns the file
    /// to persist now, if it verified as new.
    pub fn deliver(
        &mut self,
        client: &mut Client,
        bytes: Option<&[u8]>,
    ) -> Result<Option<Persist>, Error> {
        let persist = |role: &str, b: &[u8]| {
            Some(Persist {
                role: role.into(),
                bytes: b.to_vec(),
            })
        };
        match (self.stage, bytes) {
            (Stage::Root, None) => {
                self.stage = Stage::Timestamp;
                Ok(None)
            }
            (Stage::Root, Some(b)) => {
                client.update_root(b)?;
                self.rotations += 1;
                Ok(persist("root", b))
            }
            (Stage::FetchTimestamp, Some(b)) => {
                // An unchanged timestamp is not persisted again; if it is expired, loading
                // the snapshot says so.
                let new = client.update_timestamp(b)?;
                self.stage = Stage::Snapshot;
                Ok(if new { persist("timestamp", b) } else { None })
            }
            (Stage::FetchSnapshot, Some(b)) => {
                client.update_snapshot(b)?;
                self.stage = Stage::Targets;
                Ok(persist("snapshot", b))
            }
            (Stage::FetchTargets, Some(b)) => {
                client.update_targets("targets", "root", b)?;
                self.stage = Stage::Done;
                Ok(persist("targets", b))
            }
            (Stage::FetchTimestamp | Stage::FetchSnapshot | Stage::FetchTargets, None) => {
                Err(Error::Missing(format!(
                    "the repository has no {} metadata",
                    match self.stage {
                        Stage::FetchTimestamp => "timestamp",
                        Stage::FetchSnapshot => "snapshot",
                        _ => "targets",
                    }
                )))
            }
            _ => Err(Error::Protocol("nothing was requested".into())),
        }
    }
}

/// A target lookup through the delegation graph: pre-order depth-first, terminating
/// delegations end the search, at most [`MAX_DELEGATIONS`] roles visited.
#[derive(Debug)]
pub struct Lookup {
    path: String,
    /// (role, delegator) still to visit; the last is next.
    stack: Vec<(String, String)>,
    visited: BTreeSet<String>,
}

/// What a lookup needs next.
#[derive(Debug, PartialEq)]
pub enum LookupStep {
    /// Fetch this targets file and `deliver` it.
    Fetch {
        role: String,
        request: Request,
    },
    Found(TargetFile),
    NotFound,
}

impl Lookup {
    pub fn next(&mut self, client: &mut Client) -> Result<LookupStep, Error> {
        while self.visited.len() <= MAX_DELEGATIONS {
            let Some((role, delegator)) = self.stack.last().cloned() else {
                break;
            };
            if self.visited.contains(&role) {
                self.stack.pop();
                continue;
            }
            if let Some(request) = client.prepare_targets(&role, &delegator)? {
                return Ok(LookupStep::Fetch { role, request });
            }
            self.stack.pop();
            let targets = client
                .targets(&role)
                .ok_or_else(|| Error::Missing(format!("{role} is not trusted")))?;
            if let Some(t) = targets.targets.get(&self.path) {
                return Ok(LookupStep::Found(t.clone()));
            }
            self.visited.insert(role.clone());
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
                    // Succinct delegations are terminating (TUF 1.0.31, 4.5).
                    self.stack.clear();
                    children.push((s.role_for(&self.path), role.clone()));
                }
                children.reverse();
                self.stack.extend(children);
            }
        }
        Ok(LookupStep::NotFound)
    }

    /// Hand over the targets file last requested; returns it to persist.
    pub fn deliver(&mut self, client: &mut Client, bytes: Option<&[u8]>) -> Result<Persist, Error> {
        let (role, delegator) = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| Error::Protocol("nothing was requested".into()))?;
        let bytes = bytes
            .ok_or_else(|| Error::Missing(format!("the repository has no {role} metadata")))?;
        client.update_targets(&role, &delegator, bytes)?;
        Ok(Persist {
            role,
            bytes: bytes.to_vec(),
        })
    }
}
