//! The attack matrix: each case shows the client refuses, never stores an unverified file
//! and never loses a verified one.

use hookswitch_trust::client::{check_config_target, Device, Persist, Request};
use hookswitch_trust::crypto::key_id;
use hookswitch_trust::crypto::{sign_metadata, Ed25519Signer, Signer};
use hookswitch_trust::driver;
use hookswitch_trust::metadata::{DelegatedRole, Snapshot, TargetFile, Timestamp};
use hookswitch_trust::repo;
use hookswitch_trust::testkit::{key, Repo, LATER};
use hookswitch_trust::{Client, Error};
use std::collections::{BTreeMap, HashMap};

const NOW: i64 = 1_900_000_000; // 2030-03-17
const PAST: &str = "2029-01-01T00:00:00Z";

/// A server: the test's file map, read at most `max_len + 1` bytes.
fn serve(
    server: &HashMap<String, Vec<u8>>,
) -> impl FnMut(&hookswitch_trust::client::Request) -> Result<Option<Vec<u8>>, String> + '_ {
    move |req| {
        Ok(server
            .get(&req.name)
            .map(|b| b[..b.len().min(req.max_len as usize + 1)].to_vec()))
    }
}

/// An endpoint as the agent runs it: the trusted files on its "disk" (stored the moment
/// they verify), and a fresh client over them for every run.
struct Endpoint {
    disk: BTreeMap<String, Vec<u8>>,
    now: i64,
}

impl Endpoint {
    fn new(root: Vec<u8>) -> Endpoint {
        Endpoint {
            disk: BTreeMap::from([("root".to_string(), root)]),
            now: NOW,
        }
    }

    fn client(&self) -> Client {
        let mut c = Client::new(&self.disk["root"], self.now).unwrap();
        for (role, bytes) in &self.disk {
            c.offer_cached(role, bytes.clone());
        }
        c
    }

    /// One run's refresh; the client is returned for lookups in the same run.
    fn refresh(&mut self, server: &HashMap<String, Vec<u8>>) -> Result<Client, Error> {
        let mut c = self.client();
        let disk = &mut self.disk;
        driver::refresh_storing(&mut c, &mut serve(server), &mut |p: &Persist| {
            disk.insert(p.role.clone(), p.bytes.clone());
            Ok(())
        })?;
        Ok(c)
    }

    fn find(
        &mut self,
        c: &mut Client,
        server: &HashMap<String, Vec<u8>>,
        path: &str,
    ) -> Result<Option<TargetFile>, Error> {
        let disk = &mut self.disk;
        driver::find_target(c, path, &mut serve(server), &mut |p: &Persist| {
            disk.insert(p.role.clone(), p.bytes.clone());
            Ok(())
        })
    }

    fn version(&self, role: &str) -> Option<u64> {
        let doc: serde_json::Value = serde_json::from_slice(self.disk.get(role)?).unwrap();
        doc["signed"]["version"].as_u64()
    }

    /// Stored (root, timestamp, snapshot, targets) versions.
    fn state(&self) -> (Option<u64>, Option<u64>, Option<u64>, Option<u64>) {
        (
            self.version("root"),
            self.version("timestamp"),
            self.version("snapshot"),
            self.version("targets"),
        )
    }
}

fn fetch_target(
    client: &Client,
    server: &HashMap<String, Vec<u8>>,
    path: &str,
    info: &TargetFile,
) -> Result<Vec<u8>, Error> {
    let req = client.target_request(path, info);
    let bytes = server
        .get(&req.name)
        .ok_or_else(|| Error::Missing(req.name.clone()))?;
    // The driver never reads more than the trusted length (+1 to detect excess).
    let capped = &bytes[..bytes.len().min(req.max_len as usize + 1)];
    client.verify_target(path, info, capped)?;
    Ok(capped.to_vec())
}

/// A repository and an endpoint that has refreshed from it once.
fn ready() -> (Repo, Endpoint) {
    let repo = Repo::new();
    let mut dev = Endpoint::new(repo.trusted_root());
    dev.refresh(&repo.files).unwrap();
    (repo, dev)
}

#[test]
fn a_good_repository_refreshes_and_every_target_verifies() {
    let (repo, mut dev) = ready();
    let mut c = dev.refresh(&repo.files).unwrap();
    let fw = dev
        .find(&mut c, &repo.files, "firmware/T54W.rom")
        .unwrap()
        .expect("firmware target");
    assert_eq!(
        fetch_target(&c, &repo.files, "firmware/T54W.rom", &fw).unwrap(),
        b"firmware image"
    );
    let cfg = dev
        .find(&mut c, &repo.files, "config/001565aabbcc.cfg")
        .unwrap()
        .expect("config target");
    let device = Device {
        id: "001565aabbcc".into(),
    };
    assert_eq!(
        check_config_target("config/001565aabbcc.cfg", &cfg, &device, None).unwrap(),
        1
    );
    fetch_target(&c, &repo.files, "config/001565aabbcc.cfg", &cfg).unwrap();
    assert_eq!(
        dev.find(&mut c, &repo.files, "config/unknown.cfg").unwrap(),
        None
    );
    // Every delegated role on the path was stored as it verified.
    assert!(dev.disk.contains_key("firmware") && dev.disk.contains_key("config"));
    // The next run uses the stored copies and fetches only timestamp.json.
    let mut fetched = Vec::new();
    let mut c = dev.client();
    driver::refresh(&mut c, &mut |r: &Request| {
        fetched.push(r.name.clone());
        serve(&repo.files)(r)
    })
    .unwrap();
    assert_eq!(fetched, ["2.root.json", "timestamp.json"]);
}

#[test]
fn a_bad_signature_is_refused() {
    let (mut repo, mut dev) = ready();
    let before = dev.state();
    repo.publish();
    let mut ts: serde_json::Value = serde_json::from_slice(&repo.files["timestamp.json"]).unwrap();
    let sig = ts["signatures"][0]["sig"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    ts["signatures"][0]["sig"] = flipped.into();
    repo.files
        .insert("timestamp.json".into(), serde_json::to_vec(&ts).unwrap());
    let e = dev.refresh(&repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Threshold { ref role, valid: 0, threshold: 1 } if role == "timestamp"),
        "{e}"
    );
    assert_eq!(dev.state(), before);
}

#[test]
fn threshold_minus_one_root_signatures_are_refused() {
    let (mut repo, mut dev) = ready();
    // Root v2 signed by only one of the old 2-of-3 root keys.
    repo.root_threshold = 1;
    repo.publish_root(None);
    let e = dev.refresh(&repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Threshold { ref role, valid: 1, threshold: 2 } if role == "root"),
        "{e}"
    );
    assert_eq!(dev.version("root"), Some(1));
}

#[test]
fn one_key_counted_twice_does_not_meet_a_threshold() {
    let (repo, _) = ready();
    // Root v2 with two signatures under one key ID: invalid as a whole (python-tuf too).
    let mut root = repo.root.clone();
    root.version = 2;
    let k1 = key(1);
    let mut doc: serde_json::Value =
        serde_json::from_slice(&sign_metadata(&root, &[&k1]).unwrap()).unwrap();
    let sig = doc["signatures"][0].clone();
    doc["signatures"].as_array_mut().unwrap().push(sig);
    let mut files = repo.files.clone();
    files.insert("2.root.json".into(), serde_json::to_vec(&doc).unwrap());
    let mut dev = Endpoint::new(repo.trusted_root());
    let e = dev.refresh(&files).unwrap_err();
    assert!(
        matches!(e, Error::Malformed { ref reason, .. } if reason.contains("two signatures")),
        "{e}"
    );
    // The same public key under a second key ID counts once, also when the second listing
    // spells the hex in upper case.
    let mut upper = k1.public_key();
    upper.keyval.public = upper.keyval.public.to_ascii_uppercase();
    for alias_key in [k1.public_key(), upper] {
        let mut root = repo.root.clone();
        root.version = 2;
        let alias = "f".repeat(64);
        root.keys.insert(alias.clone(), alias_key);
        root.roles
            .get_mut("root")
            .unwrap()
            .keyids
            .push(alias.clone());
        let msg = hookswitch_trust::crypto::canonical(&root).unwrap();
        let sig = hex::encode(k1.sign(&msg).unwrap());
        let doc = serde_json::json!({"signatures": [{"keyid": k1.key_id(), "sig": sig}, {"keyid": alias, "sig": sig}], "signed": root});
        files.insert("2.root.json".into(), serde_json::to_vec(&doc).unwrap());
        let e = dev.refresh(&files).unwrap_err();
        assert!(matches!(e, Error::Threshold { valid: 1, .. }), "{e}");
    }
    assert_eq!(dev.version("root"), Some(1));
}

#[test]
fn a_root_at_the_last_version_asks_for_no_successor() {
    let mut repo = Repo::new();
    repo.root_version = u64::MAX - 1;
    let old: Vec<Ed25519Signer> = vec![key(1), key(2), key(3)];
    repo.publish_root(Some((&old.iter().collect::<Vec<_>>(), 2)));
    let top = repo.files[&format!("{}.root.json", u64::MAX)].clone();
    let dev = Endpoint::new(top);
    // No overflow, no request for "0.root.json": straight to the timestamp.
    let mut asked = Vec::new();
    let mut c = dev.client();
    let _ = driver::refresh(&mut c, &mut |r: &Request| {
        asked.push(r.name.clone());
        serve(&repo.files)(r)
    });
    assert_eq!(asked.first().map(String::as_str), Some("timestamp.json"));
}

#[test]
fn timestamp_rollback_is_refused() {
    let (mut repo, mut dev) = ready();
    let old_ts = repo.files["timestamp.json"].clone();
    repo.publish();
    dev.refresh(&repo.files).unwrap();
    let before = dev.state();
    repo.files.insert("timestamp.json".into(), old_ts);
    let e = dev.refresh(&repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Rollback { ref role, got: 1, trusted: 2 } if role == "timestamp"),
        "{e}"
    );
    assert_eq!(dev.state(), before);
}

#[test]
fn snapshot_rollback_is_refused() {
    let (mut repo, mut dev) = ready();
    repo.publish();
    dev.refresh(&repo.files).unwrap();
    let before = dev.state();
    // A fresh timestamp that points at the old snapshot version 1.
    let snap1 = repo.files["1.snapshot.json"].clone();
    let ts = repo::timestamp(repo.ts_version + 1, LATER, 1, &snap1);
    repo.files.insert(
        "timestamp.json".into(),
        sign_metadata(&ts, &[&repo.ts_key]).unwrap(),
    );
    let e = dev.refresh(&repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Rollback { ref role, got: 1, trusted: 2 } if role == "snapshot"),
        "{e}"
    );
    assert_eq!(dev.state(), before);
}

#[test]
fn targets_rollback_is_refused() {
    let (mut repo, mut dev) = ready();
    repo.targets
        .get_mut("targets")
        .unwrap()
        .targets
        .insert("x".into(), repo::target_file(b"x", None));
    repo.publish();
    dev.refresh(&repo.files).unwrap();
    assert_eq!(dev.version("targets"), Some(2));
    let before = dev.state();
    // A snapshot that lists targets version 1 again.
    let mut snap: Snapshot = serde_json::from_value(
        serde_json::from_slice::<serde_json::Value>(&repo.files["2.snapshot.json"]).unwrap()
            ["signed"]
            .clone(),
    )
    .unwrap();
    snap.version = 3;
    snap.meta.insert("targets.json".into(), repo::meta(1));
    let snap_bytes = sign_metadata(&snap, &[&repo.snap_key]).unwrap();
    repo.files
        .insert("3.snapshot.json".into(), snap_bytes.clone());
    let ts = repo::timestamp(repo.ts_version + 1, LATER, 3, &snap_bytes);
    repo.files.insert(
        "timestamp.json".into(),
        sign_metadata(&ts, &[&repo.ts_key]).unwrap(),
    );
    let e = dev.refresh(&repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Rollback { ref role, got: 1, trusted: 2 } if role == "targets"),
        "{e}"
    );
    // The new timestamp verified and is kept; the rolled-back snapshot is not.
    assert_eq!(dev.state().2, before.2, "snapshot unchanged");
    assert_eq!(dev.version("timestamp"), Some(repo.ts_version + 1));
    assert_eq!(dev.version("targets"), Some(2));
}

#[test]
fn config_release_rollback_is_refused() {
    let (mut repo, mut dev) = ready();
    let device = Device {
        id: "001565aabbcc".into(),
    };
    repo.put_config("001565aabbcc", 5);
    repo.publish();
    let mut c = dev.refresh(&repo.files).unwrap();
    let cfg = dev
        .find(&mut c, &repo.files, "config/001565aabbcc.cfg")
        .unwrap()
        .unwrap();
    let installed = check_config_target("config/001565aabbcc.cfg", &cfg, &device, Some(1)).unwrap();
    assert_eq!(installed, 5);
    // The repository (or an attacker holding the bin key) goes back to release 2.
    repo.put_config("001565aabbcc", 2);
    repo.publish();
    let mut c = dev.refresh(&repo.files).unwrap();
    let cfg = dev
        .find(&mut c, &repo.files, "config/001565aabbcc.cfg")
        .unwrap()
        .unwrap();
    let e =
        check_config_target("config/001565aabbcc.cfg", &cfg, &device, Some(installed)).unwrap_err();
    assert!(
        e.to_string()
            .contains("release 2 is older than the installed release 5"),
        "{e}"
    );
}

#[test]
fn an_expired_timestamp_is_refused_freeze() {
    let (mut repo, mut dev) = ready();
    let before = dev.state();
    let ts: Timestamp = repo::timestamp(
        repo.ts_version + 1,
        PAST,
        repo.snap_version,
        &repo.files[&format!("{}.snapshot.json", repo.snap_version)],
    );
    repo.files.insert(
        "timestamp.json".into(),
        sign_metadata(&ts, &[&repo.ts_key]).unwrap(),
    );
    let e = dev.refresh(&repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Expired { ref role, .. } if role == "timestamp"),
        "{e}"
    );
    assert_eq!(dev.state(), before, "an expired timestamp is not stored");
}

/// Issue 8 item 3: a targets file that expires before snapshot and timestamp. Its version
/// does not change, so the cached copy is reused, and it must still be checked for expiry.
#[test]
fn an_expired_cached_targets_file_is_refused() {
    let mut repo = Repo::new();
    let soon = "2030-06-01T00:00:00Z";
    repo.targets.get_mut("firmware").unwrap().expires = soon.into();
    repo.publish();
    let mut dev = Endpoint::new(repo.trusted_root());
    let mut c = dev.refresh(&repo.files).unwrap();
    assert!(dev
        .find(&mut c, &repo.files, "firmware/T54W.rom")
        .unwrap()
        .is_some());
    assert!(dev.disk.contains_key("firmware"));
    // Past the firmware role's expiry; snapshot and timestamp are still valid.
    dev.now = hookswitch_trust::time::parse(soon).unwrap() + 1;
    let mut c = dev.refresh(&repo.files).unwrap();
    let e = dev
        .find(&mut c, &repo.files, "firmware/T54W.rom")
        .unwrap_err();
    assert!(
        matches!(e, Error::Expired { ref role, .. } if role == "firmware"),
        "{e}"
    );
    // The same for top-level targets during the refresh itself.
    let mut repo = Repo::new();
    repo.targets.get_mut("targets").unwrap().expires = soon.into();
    repo.publish();
    let mut dev = Endpoint::new(repo.trusted_root());
    dev.refresh(&repo.files).unwrap();
    dev.now = hookswitch_trust::time::parse(soon).unwrap() + 1;
    let e = dev.refresh(&repo.files).expect_err("expired targets");
    assert!(
        matches!(e, Error::Expired { ref role, .. } if role == "targets"),
        "{e}"
    );
}

#[test]
fn an_old_targets_file_with_a_new_snapshot_is_refused_mix_and_match() {
    let (mut repo, mut dev) = ready();
    let before = dev.state();
    repo.targets
        .get_mut("targets")
        .unwrap()
        .targets
        .insert("x".into(), repo::target_file(b"x", None));
    repo.publish();
    // The mirror serves targets v1 under the v2 name.
    let old = repo.files["1.targets.json"].clone();
    repo.files.insert("2.targets.json".into(), old);
    let e = dev.refresh(&repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Version { ref role, expected: 2, got: 1 } if role == "targets"),
        "{e}"
    );
    assert_eq!(dev.version("targets"), before.3);
}

#[test]
fn endless_data_is_cut_at_the_limit() {
    let (mut repo, mut dev) = ready();
    let before = dev.state();
    let mut huge = repo.files["timestamp.json"].clone();
    huge.extend(std::iter::repeat_n(b' ', 64 * 1024));
    repo.files.insert("timestamp.json".into(), huge);
    let e = dev.refresh(&repo.files).unwrap_err();
    assert!(matches!(e, Error::TooLong { .. }), "{e}");
    assert_eq!(dev.state(), before);
    // A target longer than its trusted length.
    let (repo, mut dev) = ready();
    let mut c = dev.refresh(&repo.files).unwrap();
    let fw = dev
        .find(&mut c, &repo.files, "firmware/T54W.rom")
        .unwrap()
        .unwrap();
    let mut files = repo.files.clone();
    let name = c.target_request("firmware/T54W.rom", &fw).name;
    files
        .get_mut(&name)
        .unwrap()
        .extend(std::iter::repeat_n(0u8, 1 << 20));
    let e = fetch_target(&c, &files, "firmware/T54W.rom", &fw).unwrap_err();
    assert!(e.to_string().contains("length"), "{e}");
}

#[test]
fn device_a_refuses_device_b_config() {
    let (repo, mut dev) = ready();
    let mut c = dev.refresh(&repo.files).unwrap();
    let cfg_b = dev
        .find(&mut c, &repo.files, "config/001565ddeeff.cfg")
        .unwrap()
        .unwrap();
    let a = Device {
        id: "001565aabbcc".into(),
    };
    let e = check_config_target("config/001565ddeeff.cfg", &cfg_b, &a, None).unwrap_err();
    assert!(
        e.to_string()
            .contains("is for device 001565ddeeff, not 001565aabbcc"),
        "{e}"
    );
}

#[test]
fn root_rotation_walks_from_1_to_n_with_a_threshold_change() {
    let (mut repo, mut dev) = ready();
    // v2: same keys, threshold 3 of 3.
    let old: Vec<Ed25519Signer> = vec![key(1), key(2), key(3)];
    repo.root_threshold = 3;
    repo.publish_root(Some((&old.iter().collect::<Vec<_>>(), 2)));
    // v3: four new keys, threshold 2; signed by 3 of the v2 keys and 2 new ones.
    repo.root_keys = vec![key(21), key(22), key(23), key(24)];
    repo.root_threshold = 2;
    repo.publish_root(Some((&old.iter().collect::<Vec<_>>(), 3)));
    // v4: threshold 1 with the v3 keys.
    let v3: Vec<Ed25519Signer> = vec![key(21), key(22), key(23), key(24)];
    repo.root_threshold = 1;
    repo.publish_root(Some((&v3.iter().collect::<Vec<_>>(), 2)));
    let c = dev.refresh(&repo.files).unwrap();
    assert_eq!(c.root().version, 4);
    assert_eq!(c.root().roles["root"].threshold, 1);
    assert_eq!(dev.version("root"), Some(4));
    // v5 signed by only one of the v4 keys but not by the v5 keys it names: refused.
    let v4 = key(21);
    repo.root_keys = vec![key(31), key(32)];
    repo.root_threshold = 2;
    repo.publish_root(Some((&[&v4], 1)));
    let v5 = repo.files["5.root.json"].clone();
    let mut doc: serde_json::Value = serde_json::from_slice(&v5).unwrap();
    doc["signatures"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["keyid"] == v4.key_id());
    repo.files
        .insert("5.root.json".into(), serde_json::to_vec(&doc).unwrap());
    let e = dev.refresh(&repo.files).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Threshold {
                valid: 0,
                threshold: 2,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(dev.version("root"), Some(4));
}

/// Issue 8 item 2: a verified root rotation (one that revokes a compromised timestamp
/// key) is kept even when the timestamp step fails, so blocking the timestamp cannot keep
/// the device on the old root.
#[test]
fn a_verified_root_rotation_survives_a_failed_timestamp() {
    let (mut repo, mut dev) = ready();
    let old: Vec<Ed25519Signer> = vec![key(1), key(2), key(3)];
    repo.ts_key = key(41);
    repo.publish_root(Some((&old.iter().collect::<Vec<_>>(), 2)));
    // The attacker withholds the timestamp.
    let mut blocked = repo.files.clone();
    blocked.remove("timestamp.json");
    assert!(dev.refresh(&blocked).is_err());
    assert_eq!(
        dev.version("root"),
        Some(2),
        "root v2 was stored as it verified"
    );
    // The next run starts from root v2: a timestamp signed by the revoked key is refused.
    let mut evil = repo.files.clone();
    let snap = repo.files[&format!("{}.snapshot.json", repo.snap_version)].clone();
    let ts = repo::timestamp(repo.ts_version + 1, LATER, repo.snap_version, &snap);
    evil.insert(
        "timestamp.json".into(),
        sign_metadata(&ts, &[&key(10)]).unwrap(),
    );
    let e = dev.refresh(&evil).unwrap_err();
    assert!(
        matches!(e, Error::Threshold { ref role, .. } if role == "timestamp"),
        "{e}"
    );
}

#[test]
fn recovery_after_a_timestamp_key_rotation_fast_forward() {
    let (mut repo, mut dev) = ready();
    // A compromised timestamp key pushes version 1000.
    let snap = repo.files[&format!("{}.snapshot.json", repo.snap_version)].clone();
    let evil = repo::timestamp(1000, LATER, repo.snap_version, &snap);
    repo.files.insert(
        "timestamp.json".into(),
        sign_metadata(&evil, &[&repo.ts_key]).unwrap(),
    );
    dev.refresh(&repo.files).unwrap();
    assert_eq!(dev.version("timestamp"), Some(1000));
    // The owners rotate the timestamp key in root v2 and restart timestamp versions.
    let old: Vec<Ed25519Signer> = vec![key(1), key(2), key(3)];
    repo.ts_key = key(40);
    repo.publish_root(Some((&old.iter().collect::<Vec<_>>(), 2)));
    repo.ts_version = 1;
    repo.publish();
    dev.refresh(&repo.files).unwrap();
    assert_eq!(dev.version("root"), Some(2));
    assert_eq!(dev.version("timestamp"), Some(2));
}

#[test]
fn a_target_outside_its_delegations_paths_is_not_trusted() {
    let (mut repo, mut dev) = ready();
    // The firmware role (paths firmware/*) signs a config file.
    let evil = b"static.wui.http_enable = 1\n";
    let info = repo::target_file(
        evil,
        Some(serde_json::json!({"device_id": "001565aabbcc", "release": 99})),
    );
    repo.targets
        .get_mut("firmware")
        .unwrap()
        .targets
        .insert("config/001565aabbcc.cfg".into(), info);
    repo.publish();
    let mut c = dev.refresh(&repo.files).unwrap();
    let found = dev
        .find(&mut c, &repo.files, "config/001565aabbcc.cfg")
        .unwrap()
        .unwrap();
    assert_eq!(
        found.custom.unwrap()["release"],
        1,
        "the config role's entry, not the firmware role's"
    );
    // With no legitimate entry, the path is simply not found.
    let info = repo::target_file(evil, None);
    repo.targets
        .get_mut("firmware")
        .unwrap()
        .targets
        .insert("config/0000deadbeef.cfg".into(), info);
    repo.publish();
    let mut c = dev.refresh(&repo.files).unwrap();
    assert_eq!(
        dev.find(&mut c, &repo.files, "config/0000deadbeef.cfg")
            .unwrap(),
        None
    );
}

#[test]
fn a_wrong_bin_signature_is_refused() {
    let (mut repo, mut dev) = ready();
    repo.bin_key = key(99); // not the key the config role delegated to
    repo.put_config("001565aabbcc", 7);
    repo.publish();
    let mut c = dev.refresh(&repo.files).unwrap();
    let e = dev
        .find(&mut c, &repo.files, "config/001565aabbcc.cfg")
        .unwrap_err();
    assert!(
        matches!(e, Error::Threshold { ref role, .. } if role.starts_with("config-bin-")),
        "{e}"
    );
}

/// Add `roles` to the top-level targets' delegations at `at`, with the bin key (the key the
/// kit signs roles it has no key for with).
fn top_level_delegates<const N: usize>(repo: &mut Repo, at: usize, roles: [DelegatedRole; N]) {
    let signer = repo.bin_key.public_key();
    let d = repo
        .targets
        .get_mut("targets")
        .unwrap()
        .delegations
        .as_mut()
        .unwrap();
    d.keys.insert(key_id(&signer), signer);
    let list = d.roles.as_mut().unwrap();
    let at = at.min(list.len());
    list.splice(at..at, roles);
}

/// Issue 8 item 5: one role reached through two delegators. Loaded through the one whose
/// keys it meets, it must not be reused for the other without meeting that one's keys.
#[test]
fn a_role_shared_by_two_delegators_is_checked_against_each() {
    let mut repo = Repo::new();
    // The kit signs roles it has no key for with the bin key.
    let signer = repo.bin_key.public_key();
    let team = |name: &str| DelegatedRole {
        name: name.into(),
        keyids: vec![key_id(&signer)],
        threshold: 1,
        terminating: false,
        paths: Some(vec!["a/*".into(), "b/*".into()]),
        path_hash_prefixes: None,
    };
    top_level_delegates(&mut repo, usize::MAX, [team("team-a"), team("team-b")]);
    let delegate_shared = |key: hookswitch_trust::metadata::Key, path: &str| {
        repo::targets(
            1,
            LATER,
            BTreeMap::new(),
            Some(repo::delegations(&[repo::Delegate {
                name: "shared",
                keys: vec![key],
                threshold: 1,
                paths: vec![path.into()],
                terminating: false,
            }])),
        )
    };
    // team-a gives "shared" to the key that signs it; team-b to a key that never did.
    repo.targets
        .insert("team-a".into(), delegate_shared(signer.clone(), "a/*"));
    repo.targets.insert(
        "team-b".into(),
        delegate_shared(key(77).public_key(), "b/*"),
    );
    let files = BTreeMap::from([
        ("a/x".to_string(), repo::target_file(b"x", None)),
        ("b/y".to_string(), repo::target_file(b"y", None)),
    ]);
    repo.targets
        .insert("shared".into(), repo::targets(1, LATER, files, None));
    repo.publish();
    let mut dev = Endpoint::new(repo.trusted_root());
    let mut c = dev.refresh(&repo.files).unwrap();
    // targets → team-a → shared (signed by team-a's key): trusted.
    assert!(dev.find(&mut c, &repo.files, "a/x").unwrap().is_some());
    // targets → team-a (no match) → team-b → shared: team-b's key never signed it.
    let e = dev.find(&mut c, &repo.files, "b/y").unwrap_err();
    assert!(
        matches!(e, Error::Threshold { ref role, valid: 0, .. } if role == "shared"),
        "{e}"
    );
}

/// Issue 8 item 4: role names go into URLs and file names encoded, never raw.
#[test]
fn role_names_are_encoded_in_requests_and_file_names() {
    let mut repo = Repo::new();
    let signer = repo.bin_key.public_key();
    let role = DelegatedRole {
        name: "../x".into(),
        keyids: vec![key_id(&signer)],
        threshold: 1,
        terminating: false,
        paths: Some(vec!["*".into()]),
        path_hash_prefixes: None,
    };
    top_level_delegates(&mut repo, 0, [role]);
    repo.targets.insert(
        "../x".into(),
        repo::targets(1, LATER, BTreeMap::new(), None),
    );
    repo.publish();
    // The kit publishes under the raw name; a spec-following server under the encoded one.
    let raw = repo.files.remove("1.../x.json").unwrap();
    repo.files.insert("1...%2Fx.json".into(), raw);
    let mut dev = Endpoint::new(repo.trusted_root());
    let mut c = dev.refresh(&repo.files).unwrap();
    let mut asked = Vec::new();
    let found = driver::find_target(
        &mut c,
        "nothing",
        &mut |r: &Request| {
            asked.push(r.name.clone());
            serve(&repo.files)(r)
        },
        &mut driver::discard,
    )
    .unwrap();
    assert_eq!(found, None);
    assert_eq!(asked, ["1...%2Fx.json"]);
    assert_eq!(
        hookswitch_trust::client::metadata_file_name("../x"),
        "..%2Fx.json"
    );
    assert_eq!(
        hookswitch_trust::client::metadata_file_name("/x"),
        "%2Fx.json"
    );
    assert_eq!(
        hookswitch_trust::client::decode_role("..%2Fx").as_deref(),
        Some("../x")
    );
    assert_eq!(hookswitch_trust::client::decode_role("..%2fx"), None);
}

/// Issue 8 item 6: a target listing only sha512 verifies; one whose sha512 is wrong does not.
#[test]
fn a_sha512_only_target_is_verified() {
    let (repo, dev) = ready();
    let c = dev.client();
    let mut info = repo::target_file(b"firmware image", None);
    let sha512 = hex::encode(hookswitch_trust::digest::digest(
        hookswitch_trust::digest::Algorithm::Sha512,
        b"firmware image",
    ));
    info.hashes = BTreeMap::from([("sha512".to_string(), sha512)]);
    c.verify_target("fw", &info, b"firmware image").unwrap();
    let e = c.verify_target("fw", &info, b"firmware imagE").unwrap_err();
    assert!(e.to_string().contains("sha512 does not match"), "{e}");
    let _ = repo;
}

#[test]
fn the_async_driver_reaches_the_same_state() {
    let repo = Repo::new();
    struct Mem<'a>(&'a HashMap<String, Vec<u8>>);
    impl driver::AsyncFetch for Mem<'_> {
        async fn fetch(&mut self, req: &Request) -> Result<Option<Vec<u8>>, String> {
            tokio::task::yield_now().await;
            Ok(self.0.get(&req.name).cloned())
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut c = Client::new(&repo.trusted_root(), NOW).unwrap();
    let mut stored = BTreeMap::new();
    let mut save = |p: &Persist| {
        stored.insert(p.role.clone(), p.bytes.clone());
        Ok(())
    };
    let found = rt.block_on(async {
        driver::refresh_async(&mut c, &mut Mem(&repo.files), &mut save)
            .await
            .unwrap();
        driver::find_target_async(
            &mut c,
            "config/001565aabbcc.cfg",
            &mut Mem(&repo.files),
            &mut save,
        )
        .await
        .unwrap()
    });
    assert_eq!(found.unwrap().custom.unwrap()["release"], 1);
    let (_, mut blocking) = ready();
    let mut bc = blocking.refresh(&repo.files).unwrap();
    blocking
        .find(&mut bc, &repo.files, "config/001565aabbcc.cfg")
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        blocking
            .disk
            .keys()
            .filter(|r| *r != "root")
            .collect::<Vec<_>>()
    );
    // A failed async refresh stores nothing.
    let mut bad = repo.files.clone();
    bad.insert("timestamp.json".into(), b"{}".to_vec());
    let mut none = |_: &Persist| -> Result<(), String> { panic!("nothing verified") };
    let mut c = Client::new(&repo.trusted_root(), NOW).unwrap();
    assert!(rt
        .block_on(driver::refresh_async(&mut c, &mut Mem(&bad), &mut none))
        .is_err());
}
