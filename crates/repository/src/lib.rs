//! The repository directory: `metadata/` (consistent-snapshot TUF metadata, every root
//! version kept), `targets/` (`dir/<sha256>.<name>`) and `staging/` (target files staged but
//! not yet published). Any static web server, CDN or object store can carry `metadata/`
//! and `targets/`: every file is signed end to end.
//!
//! This crate never sees a private key. Signatures arrive inside a ceremony
//! [`Request`] (offline roles) or from an [`OnlineSigner`] (snapshot, timestamp, and the
//! config bins where the deployment chooses so).

#[cfg(feature = "testkit")]
pub mod testkit;

use hookswitch_trust::ceremony::{self, check, check_root, delegated_authority, Document, Request};
use hookswitch_trust::metadata::Key;
use hookswitch_trust::metadata::{RoleKeys, Root, Signature, Snapshot, Targets, Timestamp};
use hookswitch_trust::repo::{self, Delegate, RoleSpec};
use hookswitch_trust::time;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default lifetimes (seconds). Offline roles live long because signing them needs the
/// ceremony; online roles short, so a frozen mirror is noticed quickly.
pub mod expiry {
    pub const DAY: i64 = 86_400;
    pub const ROOT: i64 = 365 * DAY;
    pub const TARGETS: i64 = 180 * DAY;
    pub const FIRMWARE: i64 = 180 * DAY;
    pub const APPS: i64 = 180 * DAY;
    pub const CONFIG: i64 = 180 * DAY;
    pub const BINS: i64 = 90 * DAY;
    pub const SNAPSHOT: i64 = 7 * DAY;
    pub const TIMESTAMP: i64 = DAY;
}

/// The roles a hookswitch repository has keys for (`keys generate --role`).
pub const KEY_ROLES: [&str; 8] = [
    "root",
    "targets",
    "firmware",
    "apps",
    "config",
    "bins",
    "snapshot",
    "timestamp",
];

/// Name prefix of the per-device config bins.
pub const BIN_PREFIX: &str = "config-bin";

/// Why the repository refused or failed an operation. Each variant says what a caller may
/// act on; the message names the file, role or request part concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading, writing or parsing a repository file failed.
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    /// Nothing is published yet under `dir` (the metadata directory).
    #[error("{}: no published root (run repo init and publish first)", dir.display())]
    NotInitialised { dir: PathBuf },
    #[error("{}: already initialised", dir.display())]
    AlreadyInitialised { dir: PathBuf },
    /// Another `stage` or `publish` holds the lock (or the lock file cannot be taken).
    #[error("{}: {reason} (is another stage or publish running?)", path.display())]
    Locked { path: PathBuf, reason: String },
    /// The request is malformed or does not fit this repository: its shape, a role or
    /// delegation it names, a version, the root rules.
    #[error("{0}")]
    Ceremony(String),
    /// A document lacks valid signatures up to its threshold: collect more in the ceremony.
    #[error("{0}")]
    Threshold(String),
    /// The request's root v`version` is not the one `--expect-root` pinned.
    #[error(
        "root v{version} in the request has fingerprint {found}, not the expected {expected}: \
         the request was changed on its way from the ceremony"
    )]
    RootPin {
        version: u64,
        expected: String,
        found: String,
    },
    /// The live repository moved past the request (or a killed run left other content under
    /// its versions): stage the change again.
    #[error("{0}")]
    Outdated(String),
    /// The published metadata lacks a role or delegation every hookswitch repository has.
    #[error("{0}")]
    Inconsistent(String),
    /// A target path that could escape its directory.
    #[error("target path {path:?} is not a clean relative path")]
    InvalidTarget { path: String },
    /// A staged target file is missing, unreadable, or not the content its name hashes.
    #[error("staged {blob}: {reason}")]
    Staged { blob: String, reason: String },
    /// The online signer failed, refused, or answered with something unusable.
    #[error(transparent)]
    OnlineSigner(#[from] SignerError),
}

impl Error {
    fn file(path: &Path, reason: impl std::fmt::Display) -> Error {
        Error::File {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

impl From<Error> for String {
    fn from(e: Error) -> String {
        e.to_string()
    }
}

/// What the online signer said, by what the publisher can do about it.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// It could not do it: unreachable, TLS, a timeout, or an error on its side.
    #[error("{0}")]
    Failed(String),
    /// It refused: its reason (a version that does not advance, an expiry beyond its
    /// policy, a wrong token, a document it does not sign).
    #[error("{0}")]
    Refused(String),
    /// Its answer is unusable: unreadable, or signatures that do not meet the threshold.
    #[error("{0}")]
    BadAnswer(String),
}

impl From<SignerError> for String {
    fn from(e: SignerError) -> String {
        e.to_string()
    }
}

/// Signs snapshot and timestamp (and bins, if it holds that key) from another process.
pub trait OnlineSigner {
    /// Signatures over the canonical form of `signed` for `role`.
    fn sign(&self, role: &str, signed: &serde_json::Value) -> Result<Vec<Signature>, SignerError>;
    /// The highest version it has signed per role (`snapshot`, `timestamp`): it refuses
    /// anything not above, so a publisher restarting after a crash starts from there.
    fn last_versions(&self) -> Result<BTreeMap<String, u64>, SignerError>;
}

pub struct Repository {
    dir: PathBuf,
}

/// Public keys for `repo init`.
pub struct InitKeys {
    pub root: Vec<Key>,
    pub root_threshold: u32,
    pub targets: Vec<Key>,
    pub firmware: Vec<Key>,
    pub apps: Vec<Key>,
    pub config: Vec<Key>,
    pub bins: Vec<Key>,
    pub snapshot: Vec<Key>,
    pub timestamp: Vec<Key>,
}

/// One change to stage.
pub enum Change {
    /// A firmware, app or other target (role chosen by its path).
    Target {
        path: String,
        bytes: Vec<u8>,
        custom: Option<serde_json::Value>,
    },
    /// Per-device configuration: `config/<device_id>.<ext>`, release counted up.
    DeviceConfig {
        device_id: String,
        file_name: String,
        hardware: String,
        bytes: Vec<u8>,
    },
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<(T, Vec<u8>), Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::file(path, e))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::file(path, e))?;
    let signed = serde_json::from_value(v["signed"].clone()).map_err(|e| Error::file(path, e))?;
    Ok((signed, bytes))
}

/// sha256 of a file, streamed.
fn hash_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect());
        }
        h.update(&buf[..n]);
    }
}

/// `dir/<sha256>.<name>` for a target path.
pub fn blob_name(path: &str, sha256: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, base)) => format!("{dir}/{sha256}.{base}"),
        None => format!("{sha256}.{path}"),
    }
}

fn check_target_path(path: &str) -> Result<(), Error> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || path.contains('\\')
        || path.chars().any(|c| c.is_control());
    if bad {
        return Err(Error::InvalidTarget { path: path.into() });
    }
    Ok(())
}

impl Repository {
    pub fn open(dir: &Path) -> Repository {
        Repository {
            dir: dir.to_path_buf(),
        }
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.dir.join("metadata")
    }
    pub fn targets_dir(&self) -> PathBuf {
        self.dir.join("targets")
    }
    fn staging_dir(&self) -> PathBuf {
        self.dir.join("staging")
    }

    /// The latest published root and its bytes.
    pub fn latest_root(&self) -> Result<(Root, Vec<u8>), Error> {
        let mut n = 0u64;
        while self
            .metadata_dir()
            .join(format!("{}.root.json", n + 1))
            .exists()
        {
            n += 1;
        }
        if n == 0 {
            return Err(Error::NotInitialised {
                dir: self.metadata_dir(),
            });
        }
        read_json(&self.metadata_dir().join(format!("{n}.root.json")))
    }

    fn published_snapshot(&self) -> Result<Option<Snapshot>, Error> {
        let p = self.metadata_dir().join("timestamp.json");
        if !p.exists() {
            return Ok(None);
        }
        let (ts, _): (Timestamp, _) = read_json(&p)?;
        let v = ts
            .meta
            .get("snapshot.json")
            .ok_or_else(|| Error::file(&p, "timestamp has no snapshot.json"))?
            .version;
        Ok(Some(
            read_json(&self.metadata_dir().join(format!("{v}.snapshot.json")))?.0,
        ))
    }

    /// The live timestamp, if anything was ever published.
    fn live_timestamp(&self) -> Result<Option<Timestamp>, Error> {
        let p = self.metadata_dir().join("timestamp.json");
        if !p.exists() {
            return Ok(None);
        }
        Ok(Some(read_json::<Timestamp>(&p)?.0))
    }

    /// A targets role at the version `snapshot` names.
    fn targets_in(
        &self,
        snapshot: Option<&Snapshot>,
        role: &str,
    ) -> Result<Option<Targets>, Error> {
        let Some(meta) = snapshot.and_then(|s| s.meta.get(&format!("{role}.json"))) else {
            return Ok(None);
        };
        Ok(Some(
            read_json(
                &self
                    .metadata_dir()
                    .join(format!("{}.{role}.json", meta.version)),
            )?
            .0,
        ))
    }

    /// The request that creates the repository: root v1 and every targets role v1, unsigned.
    pub fn init(&self, keys: &InitKeys, devices: u64, now: i64) -> Result<Request, Error> {
        if self.metadata_dir().join("1.root.json").exists() {
            return Err(Error::AlreadyInitialised {
                dir: self.dir.clone(),
            });
        }
        let at = |secs: i64| time::format(now + secs);
        let root = repo::root(
            1,
            &at(expiry::ROOT),
            &[
                RoleSpec {
                    name: "root",
                    keys: keys.root.clone(),
                    threshold: keys.root_threshold,
                },
                RoleSpec {
                    name: "targets",
                    keys: keys.targets.clone(),
                    threshold: 1,
                },
                RoleSpec {
                    name: "snapshot",
                    keys: keys.snapshot.clone(),
                    threshold: 1,
                },
                RoleSpec {
                    name: "timestamp",
                    keys: keys.timestamp.clone(),
                    threshold: 1,
                },
            ],
        );
        let dele = repo::delegations(&[
            Delegate {
                name: "firmware",
                keys: keys.firmware.clone(),
                threshold: 1,
                paths: vec!["firmware/*".into()],
                terminating: true,
            },
            Delegate {
                name: "apps",
                keys: keys.apps.clone(),
                threshold: 1,
                paths: vec!["apps/*".into()],
                terminating: true,
            },
            Delegate {
                name: "config",
                keys: keys.config.clone(),
                threshold: 1,
                paths: vec!["config/*".into()],
                terminating: true,
            },
        ]);
        let bits = repo::bin_bit_length(devices);
        let bins = repo::hashed_bins(BIN_PREFIX, bits, keys.bins.clone(), 1);
        let succinct = bins
            .succinct_roles
            .clone()
            .ok_or_else(|| Error::Inconsistent("no bins".into()))?;
        let mut req = Request::new(0);
        req.push("root", "root", &root, &root.roles["root"])
            .map_err(Error::Ceremony)?;
        let targets = repo::targets(1, &at(expiry::TARGETS), BTreeMap::new(), Some(dele.clone()));
        req.push("targets", "root", &targets, &root.roles["targets"])
            .map_err(Error::Ceremony)?;
        for (name, life) in [("firmware", expiry::FIRMWARE), ("apps", expiry::APPS)] {
            let (_, auth) = delegated_authority(&targets, name)
                .ok_or_else(|| Error::Inconsistent(format!("targets does not delegate {name}")))?;
            req.push(
                name,
                "targets",
                &repo::targets(1, &at(life), BTreeMap::new(), None),
                &auth,
            )
            .map_err(Error::Ceremony)?;
        }
        let config = repo::targets(1, &at(expiry::CONFIG), BTreeMap::new(), Some(bins));
        let (_, auth) = delegated_authority(&targets, "config")
            .ok_or_else(|| Error::Inconsistent("targets does not delegate config".into()))?;
        req.push("config", "targets", &config, &auth)
            .map_err(Error::Ceremony)?;
        let bin_auth = RoleKeys {
            keyids: succinct.keyids.clone(),
            threshold: succinct.threshold,
        };
        for b in 0..succinct.bins() {
            req.push(
                &succinct.bin_name(b),
                "config",
                &repo::targets(1, &at(expiry::BINS), BTreeMap::new(), None),
                &bin_auth,
            )
            .map_err(Error::Ceremony)?;
        }
        Ok(req)
    }

    /// Stage changes: copy target files into `staging/` and put every role they change,
    /// at its next version, into a request.
    pub fn stage(&self, changes: Vec<Change>, now: i64) -> Result<Request, Error> {
        let _lock = self.lock()?;
        let (root, _) = self.latest_root()?;
        let mut req = Request::new(root.version);
        let mut updated: BTreeMap<String, Targets> = BTreeMap::new();
        let snapshot = self.published_snapshot()?;
        let snapshot = snapshot.as_ref();
        let top = self
            .targets_in(snapshot, "targets")?
            .ok_or_else(|| Error::Inconsistent("no published targets".into()))?;
        let config = self
            .targets_in(snapshot, "config")?
            .ok_or_else(|| Error::Inconsistent("no published config role".into()))?;
        let mut blobs: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let succinct = config
            .delegations
            .as_ref()
            .and_then(|d| d.succinct_roles.clone())
            .ok_or_else(|| Error::Inconsistent("config role has no bins".into()))?;
        for change in changes {
            let (path, bytes, custom) = match change {
                Change::Target {
                    path,
                    bytes,
                    custom,
                } => (path, bytes, custom),
                Change::DeviceConfig {
                    device_id,
                    file_name,
                    hardware,
                    bytes,
                } => {
                    let path = format!("config/{file_name}");
                    let bin = succinct.role_for(&path);
                    if !updated.contains_key(&bin) {
                        let t = self.targets_in(snapshot, &bin)?.ok_or_else(|| {
                            Error::Inconsistent(format!("role {bin} is not published"))
                        })?;
                        updated.insert(bin.clone(), t);
                    }
                    let release = updated
                        .get(&bin)
                        .and_then(|t| t.targets.get(&path))
                        .and_then(|t| t.custom.as_ref()?.get("release")?.as_u64())
                        .unwrap_or(0)
                        + 1;
                    let custom = serde_json::json!({"device_id": device_id, "hardware": hardware, "release": release});
                    (path, bytes, Some(custom))
                }
            };
            check_target_path(&path)?;
            let role = if path.starts_with("config/") {
                succinct.role_for(&path)
            } else {
                ["firmware", "apps"]
                    .into_iter()
                    .find(|r| path.starts_with(&format!("{r}/")))
                    .unwrap_or("targets")
                    .to_string()
            };
            let info = repo::target_file(&bytes, custom);
            let blob = blob_name(&path, &info.hashes["sha256"]);
            let staged = self.staging_dir().join(&blob);
            std::fs::create_dir_all(staged.parent().unwrap_or(&self.staging_dir()))
                .map_err(|e| Error::file(&staged, e))?;
            blobs.push((staged, bytes));
            req.blobs.push(blob);
            let mut t = match updated.remove(&role) {
                Some(t) => t,
                None => self
                    .targets_in(snapshot, &role)?
                    .ok_or_else(|| Error::Inconsistent(format!("role {role} is not published")))?,
            };
            t.targets.insert(path, info);
            updated.insert(role, t);
        }
        let batch: Vec<(PathBuf, &[u8])> = blobs
            .iter()
            .map(|(p, b)| (p.clone(), b.as_slice()))
            .collect();
        hookswitch_atomicfile::write_batch(&batch)
            .map_err(|e| Error::file(&self.staging_dir(), e))?;
        // Above the live version and above anything an interrupted publication left on disk:
        // a version number, once written, never names other content.
        let on_disk = self.versioned_files()?;
        for (role, mut t) in updated {
            t.version = on_disk
                .iter()
                .filter(|(r, _)| *r == role)
                .map(|(_, v)| *v)
                .fold(t.version, u64::max)
                + 1;
            let life = if role.starts_with(BIN_PREFIX) {
                expiry::BINS
            } else {
                expiry::TARGETS
            };
            t.expires = time::format(now + life);
            let (delegator, auth) = if role == "targets" {
                ("root".to_string(), root.roles["targets"].clone())
            } else if role.starts_with(BIN_PREFIX) {
                (
                    "config".to_string(),
                    delegated_authority(&config, &role)
                        .ok_or_else(|| {
                            Error::Inconsistent(format!("config does not delegate {role}"))
                        })?
                        .1,
                )
            } else {
                (
                    "targets".to_string(),
                    delegated_authority(&top, &role)
                        .ok_or_else(|| {
                            Error::Inconsistent(format!("targets does not delegate {role}"))
                        })?
                        .1,
                )
            };
            req.push(&role, &delegator, &t, &auth)
                .map_err(Error::Ceremony)?;
        }
        Ok(req)
    }

    /// Check every signature in `req` against the trusted root (and delegations), have
    /// the online signer sign what it holds keys for, add snapshot and timestamp, and
    /// write the new repository version. The old version stays complete until the new
    /// `timestamp.json` replaces it in one rename.
    ///
    /// The first publication must name the fingerprint of the request's root v1
    /// (`expect_root`, see [`ceremony::root_fingerprint`]); later ones may, to pin a new root.
    ///
    /// Restartable: after a crash at any point, publishing the same request again finishes
    /// the job (or reports it already live). Versioned files a killed run left are reused
    /// when identical; snapshot and timestamp versions go above everything the signer has
    /// signed or the disk holds, so no versioned file is ever rewritten with other content.
    pub fn publish(
        &self,
        mut req: Request,
        expect_root: Option<&str>,
        online: &dyn OnlineSigner,
        now: i64,
    ) -> Result<Published, Error> {
        req.validate().map_err(Error::Ceremony)?;
        let _lock = self.lock()?;
        self.sweep_temp_files()?;
        let live_ts = self.live_timestamp()?;
        let root_plan = self.trusted_root_for(&req, live_ts.is_none(), expect_root)?;
        let root = root_plan.trusted;
        // Online roles sign first, so the checks below see their signatures.
        for d in req
            .documents
            .iter_mut()
            .filter(|d| d.role.starts_with(BIN_PREFIX) && d.signatures.len() < d.threshold as usize)
        {
            let sigs = online.sign(&d.role, &d.signed)?;
            d.signatures.extend(sigs);
        }
        // Read the live snapshot once: delegators, versions and the next snapshot version come from it.
        let published = self.published_snapshot()?;
        let lookup = |role: &str, req: &Request| -> Result<Option<Targets>, Error> {
            match req.documents.iter().find(|d| d.role == role) {
                Some(d) => serde_json::from_value(d.signed.clone())
                    .map(Some)
                    .map_err(|e| Error::Ceremony(format!("{role}: {e}"))),
                None => self.targets_in(published.as_ref(), role),
            }
        };
        let live_snap_version = published.as_ref().map_or(0, |s| s.version);
        let mut snapshot_meta = published
            .as_ref()
            .map(|s| s.meta.clone())
            .unwrap_or_default();
        // (role, live version before, new version) of every targets role this request moves.
        let mut advanced: Vec<(String, u64, u64)> = Vec::new();
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut already_live = 0;
        for d in req.documents.iter().filter(|d| d.role != "root") {
            let bytes = ceremony::envelope(d).map_err(Error::Ceremony)?;
            let (keys, auth) = if d.delegator == "root" {
                (
                    root.keys.clone(),
                    root.roles
                        .get(&d.role)
                        .ok_or_else(|| Error::Ceremony(format!("root has no {} role", d.role)))?
                        .clone(),
                )
            } else {
                let parent = lookup(&d.delegator, &req)?.ok_or_else(|| {
                    Error::Ceremony(format!("{}: delegator {} not found", d.role, d.delegator))
                })?;
                delegated_authority(&parent, &d.role).ok_or_else(|| {
                    Error::Ceremony(format!("{} does not delegate {}", d.delegator, d.role))
                })?
            };
            check(d, &keys, &auth).map_err(Error::Threshold)?;
            let t: Targets = serde_json::from_value(d.signed.clone())
                .map_err(|e| Error::Ceremony(format!("{}: {e}", d.role)))?;
            let name = format!("{}.{}.json", t.version, d.role);
            let live = snapshot_meta
                .get(&format!("{}.json", d.role))
                .map_or(0, |m| m.version);
            if t.version == live
                && std::fs::read(self.metadata_dir().join(&name)).ok() == Some(bytes.clone())
            {
                // Published by an earlier run of this same request.
                already_live += 1;
                continue;
            }
            if t.version <= live {
                return Err(Error::Outdated(format!(
                    "{}: version {} does not advance the published {live}",
                    d.role, t.version
                )));
            }
            snapshot_meta.insert(format!("{}.json", d.role), repo::meta(t.version));
            advanced.push((d.role.clone(), live, t.version));
            files.push((name, bytes));
        }
        if already_live > 0 && (!files.is_empty() || root_plan.new_root.is_some()) {
            return Err(Error::Outdated(
                "part of this request is live and part is not: stage the change again".into(),
            ));
        }
        if already_live > 0 {
            let ts = live_ts.ok_or_else(|| Error::Inconsistent("no live timestamp".into()))?;
            return Ok(Published {
                root_version: root.version,
                snapshot_version: live_snap_version,
                timestamp_version: ts.version,
                files: 0,
                metadata_bytes: 0,
                targets: 0,
                already_live: true,
            });
        }
        // Staged targets must match the hash their name carries (which the signed metadata lists).
        for blob in &req.blobs {
            check_target_path(blob)?;
            let staged = |reason: String| Error::Staged {
                blob: blob.clone(),
                reason,
            };
            let got =
                hash_file(&self.staging_dir().join(blob)).map_err(|e| staged(e.to_string()))?;
            let (_, base) = blob.rsplit_once('/').unwrap_or(("", blob));
            if !base.starts_with(&got) {
                return Err(staged("content does not match its hash".into()));
            }
        }
        // A versioned file a killed run left is reused only if identical.
        let mut fresh: Vec<(PathBuf, &[u8])> = Vec::new();
        for (name, bytes) in &files {
            let p = self.metadata_dir().join(name);
            match std::fs::read(&p) {
                Ok(existing) if existing != *bytes => {
                    return Err(Error::Outdated(format!(
                        "{}: left by an interrupted publication with other content; a versioned \
                         file is never rewritten: stage the change again (stage takes versions above it)",
                        p.display()
                    )))
                }
                Ok(_) => {}
                Err(_) => fresh.push((p, bytes.as_slice())),
            }
        }

        // New online versions go above the live ones, what the signer already signed (a killed
        // run may have had it sign), and any file a killed run left.
        let signed_before = online.last_versions()?;
        let on_disk = self.versioned_files()?;
        let highest_snapshot = on_disk
            .iter()
            .filter(|(r, _)| r == "snapshot")
            .map(|(_, v)| *v)
            .max()
            .unwrap_or(0);
        let snapshot_version = live_snap_version
            .max(signed_before.get("snapshot").copied().unwrap_or(0))
            .max(highest_snapshot)
            + 1;
        let timestamp_version = live_ts
            .as_ref()
            .map_or(0, |t| t.version)
            .max(signed_before.get("timestamp").copied().unwrap_or(0))
            + 1;
        let snapshot = repo::snapshot(
            snapshot_version,
            &time::format(now + expiry::SNAPSHOT),
            snapshot_meta,
        );
        let snap_doc = signed_online(online, "snapshot", &snapshot, &root)?;
        let snap_bytes = ceremony::envelope(&snap_doc).map_err(Error::Ceremony)?;
        let ts = repo::timestamp(
            timestamp_version,
            &time::format(now + expiry::TIMESTAMP),
            snapshot.version,
            &snap_bytes,
        );
        let ts_doc = signed_online(online, "timestamp", &ts, &root)?;
        let snap_name = format!("{}.snapshot.json", snapshot.version);
        fresh.push((self.metadata_dir().join(&snap_name), &snap_bytes));
        advanced.push(("snapshot".into(), live_snap_version, snapshot.version));

        // Write: targets, then versioned metadata, then the new root, then the timestamp that makes them live.
        let mut dirs = std::collections::BTreeSet::new();
        for blob in &req.blobs {
            let dest = self.targets_dir().join(blob);
            let parent = dest.parent().unwrap_or(&self.targets_dir()).to_path_buf();
            std::fs::create_dir_all(&parent).map_err(|e| Error::file(&parent, e))?;
            if !dest.exists() {
                // Staged files were synced at stage time; a hard link publishes them without a copy.
                hookswitch_atomicfile::link_or_copy(&self.staging_dir().join(blob), &dest)
                    .map_err(|e| Error::file(&dest, e))?;
            }
            dirs.insert(parent);
        }
        for d in dirs {
            std::fs::File::open(&d)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::file(&d, e))?;
        }
        std::fs::create_dir_all(self.metadata_dir())
            .map_err(|e| Error::file(&self.metadata_dir(), e))?;
        hookswitch_atomicfile::write_batch(&fresh)
            .map_err(|e| Error::file(&self.metadata_dir(), e))?;
        // What killed runs left between the live and the new versions is referenced by
        // nothing and, below the new version, can never be chosen again.
        for (role, version) in &on_disk {
            let jumped = advanced
                .iter()
                .any(|(r, live, new)| r == role && version > live && version < new);
            if jumped {
                let p = self.metadata_dir().join(format!("{version}.{role}.json"));
                std::fs::remove_file(&p).map_err(|e| Error::file(&p, e))?;
            }
        }
        if let Some((version, bytes)) = &root_plan.new_root {
            let p = self.metadata_dir().join(format!("{version}.root.json"));
            hookswitch_atomicfile::write(&p, bytes).map_err(|e| Error::file(&p, e))?;
        }
        let ts_bytes = ceremony::envelope(&ts_doc).map_err(Error::Ceremony)?;
        let ts_path = self.metadata_dir().join("timestamp.json");
        hookswitch_atomicfile::write(&ts_path, &ts_bytes).map_err(|e| Error::file(&ts_path, e))?;
        let root_bytes = root_plan
            .new_root
            .as_ref()
            .map_or(0, |(_, b)| b.len() as u64);
        Ok(Published {
            root_version: root.version,
            snapshot_version: snapshot.version,
            timestamp_version: ts.version,
            files: files.len() + 2 + usize::from(root_plan.new_root.is_some()),
            metadata_bytes: files.iter().map(|(_, b)| b.len() as u64).sum::<u64>()
                + snap_bytes.len() as u64
                + ts_bytes.len() as u64
                + root_bytes,
            targets: req.blobs.len(),
            already_live: false,
        })
    }

    /// The root every other document is checked against, and the root file to write.
    /// First publication: the request's root v1, pinned by `expect_root` and carrying its
    /// own threshold. Later: the highest root on disk; a root in the request must be the
    /// next version and meet both thresholds, or be byte-identical to one on disk (a
    /// re-run after a crash).
    fn trusted_root_for(
        &self,
        req: &Request,
        first: bool,
        expect_root: Option<&str>,
    ) -> Result<RootPlan, Error> {
        let doc = req.root();
        if let (Some(want), Some(d)) = (expect_root, doc) {
            let found = ceremony::root_fingerprint(d).map_err(Error::Ceremony)?;
            if !want.eq_ignore_ascii_case(&found) {
                return Err(Error::RootPin {
                    version: ceremony::document_version(d).map_err(Error::Ceremony)?,
                    expected: want.to_string(),
                    found,
                });
            }
        }
        if expect_root.is_some() && doc.is_none() {
            return Err(Error::Ceremony(
                "--expect-root was given but the request carries no root".into(),
            ));
        }
        let on_disk = |d: &Document| -> Result<Option<Vec<u8>>, Error> {
            let v = ceremony::document_version(d).map_err(Error::Ceremony)?;
            let p = self.metadata_dir().join(format!("{v}.root.json"));
            let bytes = ceremony::envelope(d).map_err(Error::Ceremony)?;
            match std::fs::read(&p) {
                Ok(existing) if existing == bytes => Ok(None),
                Ok(_) => Err(Error::file(
                    &p,
                    "exists with other content; a published root is never rewritten",
                )),
                Err(_) => Ok(Some(bytes)),
            }
        };
        let ceremony = |m: &str| Error::Ceremony(m.into());
        if first {
            expect_root.ok_or_else(|| {
                ceremony("the first publication needs --expect-root SHA256 (printed by repo init and repo sign)")
            })?;
            let d = doc.ok_or_else(|| ceremony("the first publication needs root v1"))?;
            let r: Root = serde_json::from_value(d.signed.clone())
                .map_err(|e| Error::Ceremony(format!("root: {e}")))?;
            if r.version != 1 {
                return Err(Error::Ceremony(format!(
                    "root: the first publication needs v1, not v{}",
                    r.version
                )));
            }
            let authority = r.roles.get("root").ok_or_else(|| ceremony("root role"))?;
            check(d, &r.keys, authority).map_err(|e| {
                Error::Threshold(format!("{e} (root v1 must carry its own threshold)"))
            })?;
            let new_root = on_disk(d)?.map(|b| (1, b));
            return Ok(RootPlan {
                trusted: r,
                new_root,
            });
        }
        let (trusted, _) = self.latest_root()?;
        let Some(d) = doc else {
            return Ok(RootPlan {
                trusted,
                new_root: None,
            });
        };
        let version = ceremony::document_version(d).map_err(Error::Ceremony)?;
        let does_not_follow = || {
            Error::Ceremony(format!(
                "root: version {version} does not follow the trusted version {}",
                trusted.version
            ))
        };
        if version <= trusted.version {
            // Only a re-run may carry a root that is already on disk, and only the same one.
            return match on_disk(d)? {
                None => Ok(RootPlan {
                    trusted,
                    new_root: None,
                }),
                Some(_) => Err(does_not_follow()),
            };
        }
        if version != trusted.version + 1 {
            return Err(does_not_follow());
        }
        // The version follows, so what check_root refuses is a missing signature.
        let new = check_root(d, &trusted).map_err(Error::Threshold)?;
        let bytes = ceremony::envelope(d).map_err(Error::Ceremony)?;
        Ok(RootPlan {
            new_root: Some((new.version, bytes)),
            trusted: new,
        })
    }

    /// One writer at a time (`stage` or `publish`): an flock on `<repo>/.publish.lock`.
    fn lock(&self) -> Result<hookswitch_atomicfile::Lock, Error> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::file(&self.dir, e))?;
        let path = self.dir.join(".publish.lock");
        hookswitch_atomicfile::lock(&path).map_err(|e| Error::Locked {
            reason: e.to_string(),
            path,
        })
    }

    /// Delete temp files killed writers left under `metadata/`, `targets/` and `staging/`.
    /// Called with the lock held, so no live writer owns one.
    fn sweep_temp_files(&self) -> Result<(), Error> {
        let mut dirs = vec![self.metadata_dir(), self.targets_dir(), self.staging_dir()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let e = e.map_err(|e| Error::file(&dir, e))?;
                let ty = e.file_type().map_err(|e| Error::file(&dir, e))?;
                if ty.is_dir() {
                    dirs.push(e.path());
                } else if ty.is_file()
                    && hookswitch_atomicfile::is_temp_name(&e.file_name().to_string_lossy())
                {
                    std::fs::remove_file(e.path()).map_err(|err| Error::file(&e.path(), err))?;
                }
            }
        }
        Ok(())
    }

    /// Every `N.<role>.json` under `metadata/` (roots included), as (role, N).
    fn versioned_files(&self) -> Result<Vec<(String, u64)>, Error> {
        let dir = self.metadata_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::file(&dir, e)),
        };
        let mut out = Vec::new();
        for e in entries {
            let name = e.map_err(|e| Error::file(&dir, e))?.file_name();
            let name = name.to_string_lossy();
            let parsed = name.strip_suffix(".json").and_then(|stem| {
                let (v, role) = stem.split_once('.')?;
                Some((role.to_string(), v.parse::<u64>().ok()?))
            });
            out.extend(parsed);
        }
        Ok(out)
    }
}

/// The root a publication checks against, and the root file it adds (version, bytes).
struct RootPlan {
    trusted: Root,
    new_root: Option<(u64, Vec<u8>)>,
}

/// What a publication wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub root_version: u64,
    pub snapshot_version: u64,
    pub timestamp_version: u64,
    pub files: usize,
    pub metadata_bytes: u64,
    pub targets: usize,
    /// Every document in the request was already live (an earlier run finished): nothing written.
    pub already_live: bool,
}

/// Have the online signer sign a top-level online role, and check it against the root.
fn signed_online<T: serde::Serialize>(
    online: &dyn OnlineSigner,
    role: &str,
    signed: &T,
    root: &Root,
) -> Result<Document, Error> {
    let value =
        serde_json::to_value(signed).map_err(|e| Error::Ceremony(format!("{role}: {e}")))?;
    let auth = root
        .roles
        .get(role)
        .ok_or_else(|| Error::Inconsistent(format!("root has no {role} role")))?
        .clone();
    let doc = Document {
        role: role.into(),
        delegator: "root".into(),
        signatures: online.sign(role, &value)?,
        signed: value,
        authorised: auth.keyids.clone(),
        threshold: auth.threshold,
    };
    check(&doc, &root.keys, &auth)
        .map_err(|e| SignerError::BadAnswer(format!("online signer: {e}")))?;
    Ok(doc)
}

/// Key changes for a root rotation; `None` keeps the current keys.
#[derive(Default)]
pub struct Rotation {
    pub root: Option<(Vec<Key>, u32)>,
    pub targets: Option<Vec<Key>>,
    pub snapshot: Option<Vec<Key>>,
    pub timestamp: Option<Vec<Key>>,
}

impl Repository {
    /// Stage root N+1 with new keys. It must be signed by the threshold of root N and of
    /// root N+1, so the request names the union of both key sets.
    pub fn rotate(&self, rotation: &Rotation, now: i64) -> Result<Request, Error> {
        let (old, _) = self.latest_root()?;
        let mut new = old.clone();
        new.version = old.version + 1;
        new.expires = time::format(now + expiry::ROOT);
        let mut set = |role: &str, keys: &[Key], threshold: u32| {
            let ids: Vec<String> = keys.iter().map(hookswitch_trust::crypto::key_id).collect();
            for (id, k) in ids.iter().zip(keys) {
                new.keys.insert(id.clone(), k.clone());
            }
            new.roles.insert(
                role.to_string(),
                RoleKeys {
                    keyids: ids,
                    threshold,
                },
            );
        };
        if let Some((keys, threshold)) = &rotation.root {
            if *threshold == 0 || keys.len() < *threshold as usize {
                return Err(Error::Ceremony(format!(
                    "a root threshold of {threshold} needs at least that many keys"
                )));
            }
            set("root", keys, *threshold);
        }
        for (role, keys) in [
            ("targets", &rotation.targets),
            ("snapshot", &rotation.snapshot),
            ("timestamp", &rotation.timestamp),
        ] {
            if let Some(k) = keys {
                set(role, k, 1);
            }
        }
        // Drop keys no role uses any more.
        let used: std::collections::BTreeSet<String> =
            new.roles.values().flat_map(|r| r.keyids.clone()).collect();
        new.keys.retain(|id, _| used.contains(id));
        let mut authority = new.roles["root"].clone();
        for id in &old.roles["root"].keyids {
            if !authority.keyids.contains(id) {
                authority.keyids.push(id.clone());
            }
        }
        // The larger threshold is what the ceremony must at least collect.
        authority.threshold = authority.threshold.max(old.roles["root"].threshold);
        let mut req = Request::new(old.version);
        req.push("root", "root", &new, &authority)
            .map_err(Error::Ceremony)?;
        Ok(req)
    }
}
