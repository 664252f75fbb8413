//! A complete in-memory repository with every key at hand, for tests, benchmarks and the
//! fleet simulator. Not for production keys: they are derived from small seeds.

use crate::crypto::{sign_metadata, Ed25519Signer, Signer};
use crate::metadata::{Root, Targets};
use crate::repo::{self, RoleSpec};
use std::collections::{BTreeMap, HashMap};

/// Expiry used for everything the kit signs.
pub const LATER: &str = "2031-01-01T00:00:00Z";

/// A deterministic test key (seed `[n; 32]`).
pub fn key(n: u8) -> Ed25519Signer {
    Ed25519Signer::from_seed(&[n; 32])
}

/// A repository on an in-memory "server", with every key in reach of the test.
pub struct Repo {
    pub files: HashMap<String, Vec<u8>>,
    pub root_keys: Vec<Ed25519Signer>,
    pub root_threshold: u32,
    pub root_version: u64,
    pub root: Root,
    pub ts_key: Ed25519Signer,
    pub snap_key: Ed25519Signer,
    pub targets_key: Ed25519Signer,
    pub fw_key: Ed25519Signer,
    pub apps_key: Ed25519Signer,
    pub config_key: Ed25519Signer,
    pub bin_key: Ed25519Signer,
    pub ts_version: u64,
    pub snap_version: u64,
    pub versions: BTreeMap<String, u64>,
    pub targets: BTreeMap<String, Targets>,
}

impl Repo {
    /// Root v1 (2 of 3), firmware and config delegations, 16 hashed config bins, two devices.
    pub fn new() -> Repo {
        let mut r = Repo {
            files: HashMap::new(),
            root_keys: vec![key(1), key(2), key(3)],
            root_threshold: 2,
            root_version: 0,
            root: repo::root(0, LATER, &[]),
            ts_key: key(10),
            snap_key: key(11),
            targets_key: key(12),
            fw_key: key(13),
            apps_key: key(16),
            config_key: key(14),
            bin_key: key(15),
            ts_version: 0,
            snap_version: 0,
            versions: BTreeMap::new(),
            targets: BTreeMap::new(),
        };
        r.publish_root(None);
        let fw = b"firmware image".to_vec();
        r.files.insert(
            format!("firmware/{}.T54W.rom", crate::crypto::sha256_hex(&fw)),
            fw.clone(),
        );
        let dele = repo::delegations(&[
            repo::Delegate {
                name: "firmware",
                keys: vec![r.fw_key.public_key()],
                threshold: 1,
                paths: vec!["firmware/*".into()],
                terminating: true,
            },
            repo::Delegate {
                name: "apps",
                keys: vec![r.apps_key.public_key()],
                threshold: 1,
                paths: vec!["apps/*".into()],
                terminating: true,
            },
            repo::Delegate {
                name: "config",
                keys: vec![r.config_key.public_key()],
                threshold: 1,
                paths: vec!["config/*".into()],
                terminating: true,
            },
        ]);
        r.targets.insert(
            "targets".into(),
            repo::targets(1, LATER, BTreeMap::new(), Some(dele)),
        );
        r.targets.insert(
            "firmware".into(),
            repo::targets(
                1,
                LATER,
                BTreeMap::from([("firmware/T54W.rom".into(), repo::target_file(&fw, None))]),
                None,
            ),
        );
        let app = b"approved directory app".to_vec();
        let app_info = repo::target_file(&app, None);
        r.files.insert(
            format!("apps/{}.directory.apk", app_info.hashes["sha256"]),
            app,
        );
        r.targets.insert(
            "apps".into(),
            repo::targets(
                1,
                LATER,
                BTreeMap::from([("apps/directory.apk".into(), app_info)]),
                None,
            ),
        );
        r.targets.insert(
            "config".into(),
            repo::targets(
                1,
                LATER,
                BTreeMap::new(),
                Some(repo::hashed_bins(
                    "config-bin",
                    4,
                    vec![r.bin_key.public_key()],
                    1,
                )),
            ),
        );
        // Every bin exists (empty or not), as clients expect.
        for bin in 0..16 {
            r.targets.insert(
                format!("config-bin-{bin:x}"),
                repo::targets(1, LATER, BTreeMap::new(), None),
            );
        }
        for mac in ["001565aabbcc", "001565ddeeff"] {
            r.put_config(mac, 1);
        }
        r.publish();
        r
    }

    pub fn config_bytes(mac: &str, release: u64) -> Vec<u8> {
        format!("# config for {mac}, release {release}\nstatic.wifi.enable = 0\n").into_bytes()
    }

    pub fn put_config(&mut self, mac: &str, release: u64) {
        let path = format!("config/{mac}.cfg");
        let bytes = Self::config_bytes(mac, release);
        let info = repo::target_file(
            &bytes,
            Some(
                serde_json::json!({"device_id": mac, "hardware": "yealink/T54W", "release": release}),
            ),
        );
        self.files
            .insert(format!("config/{}.{mac}.cfg", info.hashes["sha256"]), bytes);
        let bins = self.targets["config"]
            .delegations
            .as_ref()
            .unwrap()
            .succinct_roles
            .clone()
            .unwrap();
        let bin = bins.role_for(&path);
        self.targets
            .entry(bin)
            .or_insert_with(|| repo::targets(1, LATER, BTreeMap::new(), None))
            .targets
            .insert(path, info);
    }

    pub fn signer_for(&self, role: &str) -> &Ed25519Signer {
        match role {
            "targets" => &self.targets_key,
            "firmware" => &self.fw_key,
            "apps" => &self.apps_key,
            "config" => &self.config_key,
            _ => &self.bin_key,
        }
    }

    /// Sign and publish every targets role whose content changed, then snapshot and timestamp.
    pub fn publish(&mut self) {
        let mut meta = BTreeMap::new();
        let roles: Vec<String> = self.targets.keys().cloned().collect();
        for role in roles {
            let mut t = self.targets[&role].clone();
            let v = self.versions.get(&role).copied().unwrap_or(0);
            let prev = self.files.get(&format!("{v}.{role}.json")).cloned();
            t.version = v.max(1);
            let mut bytes = sign_metadata(&t, &[self.signer_for(&role)]).unwrap();
            if prev.as_ref() != Some(&bytes) {
                t.version = v + 1;
                bytes = sign_metadata(&t, &[self.signer_for(&role)]).unwrap();
                self.files
                    .insert(format!("{}.{role}.json", t.version), bytes);
                self.versions.insert(role.clone(), t.version);
            }
            meta.insert(format!("{role}.json"), repo::meta(self.versions[&role]));
        }
        self.snap_version += 1;
        let snap = repo::snapshot(self.snap_version, LATER, meta);
        let snap_bytes = sign_metadata(&snap, &[&self.snap_key]).unwrap();
        self.files.insert(
            format!("{}.snapshot.json", self.snap_version),
            snap_bytes.clone(),
        );
        self.ts_version += 1;
        let ts = repo::timestamp(self.ts_version, LATER, self.snap_version, &snap_bytes);
        self.files.insert(
            "timestamp.json".into(),
            sign_metadata(&ts, &[&self.ts_key]).unwrap(),
        );
    }

    /// Publish root N+1, signed by the previous root keys (`old`) and the new ones.
    pub fn publish_root(&mut self, old: Option<(&[&Ed25519Signer], u32)>) {
        self.root_version += 1;
        let pk = |ks: &[&Ed25519Signer]| ks.iter().map(|k| k.public_key()).collect::<Vec<_>>();
        let root_keys: Vec<&Ed25519Signer> = self.root_keys.iter().collect();
        self.root = repo::root(
            self.root_version,
            LATER,
            &[
                RoleSpec {
                    name: "root",
                    keys: pk(&root_keys),
                    threshold: self.root_threshold,
                },
                RoleSpec {
                    name: "timestamp",
                    keys: pk(&[&self.ts_key]),
                    threshold: 1,
                },
                RoleSpec {
                    name: "snapshot",
                    keys: pk(&[&self.snap_key]),
                    threshold: 1,
                },
                RoleSpec {
                    name: "targets",
                    keys: pk(&[&self.targets_key]),
                    threshold: 1,
                },
            ],
        );
        let mut signers: Vec<&dyn Signer> = root_keys
            .iter()
            .take(self.root_threshold as usize)
            .map(|k| *k as &dyn Signer)
            .collect();
        if let Some((old_keys, n)) = old {
            signers.extend(old_keys.iter().take(n as usize).map(|k| *k as &dyn Signer));
        }
        let bytes = sign_metadata(&self.root, &signers).unwrap();
        self.files
            .insert(format!("{}.root.json", self.root_version), bytes);
    }

    pub fn trusted_root(&self) -> Vec<u8> {
        self.files["1.root.json"].clone()
    }
}

impl Default for Repo {
    fn default() -> Self {
        Self::new()
    }
}
