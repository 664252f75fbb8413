//! The attack matrix: each case shows the client refuses and keeps its last good state.

use hookswitch_trust::client::{check_config_target, Device};
use hookswitch_trust::crypto::{sign_metadata, Ed25519Signer, Signer};
use hookswitch_trust::driver;
use hookswitch_trust::metadata::{Snapshot, TargetFile, Timestamp};
use hookswitch_trust::repo;
use hookswitch_trust::testkit::{key, Repo, LATER};
use hookswitch_trust::{Client, Error};
use std::collections::HashMap;

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

fn refresh(client: &mut Client, server: &HashMap<String, Vec<u8>>) -> Result<(), Error> {
    driver::refresh(client, &mut serve(server))
}

fn find(
    client: &mut Client,
    server: &HashMap<String, Vec<u8>>,
    path: &str,
) -> Result<Option<TargetFile>, Error> {
    driver::find_target(client, path, &mut serve(server), &mut driver::discard)
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

fn ready() -> (Repo, Client) {
    let repo = Repo::new();
    let mut c = Client::new(&repo.trusted_root(), NOW).unwrap();
    refresh(&mut c, &repo.files).unwrap();
    (repo, c)
}

fn state(c: &Client) -> (u64, u64, Option<u64>, Option<u64>) {
    (
        c.root().version,
        c.timestamp().unwrap().version,
        c.snapshot().map(|s| s.version),
        c.targets("targets").map(|t| t.version),
    )
}

#[test]
fn a_good_repository_refreshes_and_every_target_verifies() {
    let (repo, mut c) = ready();
    let fw = find(&mut c, &repo.files, "firmware/T54W.rom")
        .unwrap()
        .expect("firmware target");
    assert_eq!(
        fetch_target(&c, &repo.files, "firmware/T54W.rom", &fw).unwrap(),
        b"firmware image"
    );
    let cfg = find(&mut c, &repo.files, "config/001565aabbcc.cfg")
        .unwrap()
        .expect("config target");
    let dev = Device {
        id: "001565aabbcc".into(),
    };
    assert_eq!(
        check_config_target("config/001565aabbcc.cfg", &cfg, &dev, None).unwrap(),
        1
    );
    fetch_target(&c, &repo.files, "config/001565aabbcc.cfg", &cfg).unwrap();
    assert_eq!(
        find(&mut c, &repo.files, "config/unknown.cfg").unwrap(),
        None
    );
}

#[test]
fn a_bad_signature_is_refused() {
    let (mut repo, mut c) = ready();
    let before = state(&c);
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
    let e = refresh(&mut c, &repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Threshold { ref role, valid: 0, threshold: 1 } if role == "timestamp"),
        "{e}"
    );
    assert_eq!(state(&c), before);
}

#[test]
fn threshold_minus_one_root_signatures_are_refused() {
    let (mut repo, mut c) = ready();
    // Root v2 signed by only one of the old 2-of-3 root keys.
    repo.root_threshold = 1;
    repo.publish_root(None);
    let e = refresh(&mut c, &repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Threshold { ref role, valid: 1, threshold: 2 } if role == "root"),
        "{e}"
    );
    assert_eq!(c.root().version, 1);
}

#[test]
fn one_key_counted_twice_does_not_meet_a_threshold() {
    let (repo, _) = ready();
    // Re-sign root v2 with key 1 twice (same key ID listed twice).
    let mut root = repo.root.clone();
    root.version = 2;
    let k1 = key(1);
    let doc = sign_metadata(&root, &[&k1, &k1]).unwrap();
    let mut files = repo.files.clone();
    files.insert("2.root.json".into(), doc);
    let mut c = Client::new(&repo.trusted_root(), NOW).unwrap();
    let e = refresh(&mut c, &files).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Threshold {
                valid: 1,
                threshold: 2,
                ..
            }
        ),
        "{e}"
    );
    // The same public key under a second key ID counts once too.
    let mut root = repo.root.clone();
    root.version = 2;
    let alias = "f".repeat(64);
    root.keys.insert(alias.clone(), k1.public_key());
    root.roles
        .get_mut("root")
        .unwrap()
        .keyids
        .push(alias.clone());
    let msg = hookswitch_trust::crypto::canonical(&root).unwrap();
    let sig = hex::encode(k1.sign(&msg).unwrap());
    let doc = serde_json::json!({"signatures": [{"keyid": k1.key_id(), "sig": sig}, {"keyid": alias, "sig": sig}], "signed": root});
    files.insert("2.root.json".into(), serde_json::to_vec(&doc).unwrap());
    let e = refresh(&mut c, &files).unwrap_err();
    assert!(matches!(e, Error::Threshold { valid: 1, .. }), "{e}");
    assert_eq!(c.root().version, 1);
}

#[test]
fn timestamp_rollback_is_refused() {
    let (mut repo, mut c) = ready();
    let old_ts = repo.files["timestamp.json"].clone();
    repo.publish();
    refresh(&mut c, &repo.files).unwrap();
    let before = state(&c);
    repo.files.insert("timestamp.json".into(), old_ts);
    let e = refresh(&mut c, &repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Rollback { ref role, got: 1, trusted: 2 } if role == "timestamp"),
        "{e}"
    );
    assert_eq!(state(&c), before);
}

#[test]
fn snapshot_rollback_is_refused() {
    let (mut repo, mut c) = ready();
    repo.publish();
    refresh(&mut c, &repo.files).unwrap();
    let before = state(&c);
    // A fresh timestamp that points at the old snapshot version 1.
    let snap1 = repo.files["1.snapshot.json"].clone();
    let ts = repo::timestamp(repo.ts_version + 1, LATER, 1, &snap1);
    repo.files.insert(
        "timestamp.json".into(),
        sign_metadata(&ts, &[&repo.ts_key]).unwrap(),
    );
    let e = refresh(&mut c, &repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Rollback { ref role, got: 1, trusted: 2 } if role == "snapshot"),
        "{e}"
    );
    assert_eq!(state(&c), before);
}

#[test]
fn targets_rollback_is_refused() {
    let (mut repo, mut c) = ready();
    repo.targets
        .get_mut("targets")
        .unwrap()
        .targets
        .insert("x".into(), repo::target_file(b"x", None));
    repo.publish();
    refresh(&mut c, &repo.files).unwrap();
    assert_eq!(c.targets("targets").unwrap().version, 2);
    let before = state(&c);
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
    let e = refresh(&mut c, &repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Rollback { ref role, got: 1, trusted: 2 } if role == "targets"),
        "{e}"
    );
    assert_eq!(state(&c).2, before.2, "snapshot unchanged");
    assert_eq!(c.targets("targets").unwrap().version, 2);
}

#[test]
fn config_release_rollback_is_refused() {
    let (mut repo, mut c) = ready();
    let dev = Device {
        id: "001565aabbcc".into(),
    };
    repo.put_config("001565aabbcc", 5);
    repo.publish();
    refresh(&mut c, &repo.files).unwrap();
    let cfg = find(&mut c, &repo.files, "config/001565aabbcc.cfg")
        .unwrap()
        .unwrap();
    let installed = check_config_target("config/001565aabbcc.cfg", &cfg, &dev, Some(1)).unwrap();
    assert_eq!(installed, 5);
    // The repository (or an attacker holding the bin key) goes back to release 2.
    repo.put_config("001565aabbcc", 2);
    repo.publish();
    refresh(&mut c, &repo.files).unwrap();
    let cfg = find(&mut c, &repo.files, "config/001565aabbcc.cfg")
        .unwrap()
        .unwrap();
    let e =
        check_config_target("config/001565aabbcc.cfg", &cfg, &dev, Some(installed)).unwrap_err();
    assert!(
        e.to_string()
            .contains("release 2 is older than the installed release 5"),
        "{e}"
    );
}

#[test]
fn an_expired_timestamp_is_refused_freeze() {
    let (mut repo, mut c) = ready();
    let before = state(&c);
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
    let e = refresh(&mut c, &repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Expired { ref role, .. } if role == "timestamp"),
        "{e}"
    );
    assert_eq!(state(&c), before);
}

#[test]
fn an_old_targets_file_with_a_new_snapshot_is_refused_mix_and_match() {
    let (mut repo, mut c) = ready();
    let before = state(&c);
    repo.targets
        .get_mut("targets")
        .unwrap()
        .targets
        .insert("x".into(), repo::target_file(b"x", None));
    repo.publish();
    // The mirror serves targets v1 under the v2 name.
    let old = repo.files["1.targets.json"].clone();
    repo.files.insert("2.targets.json".into(), old);
    let e = refresh(&mut c, &repo.files).unwrap_err();
    assert!(
        matches!(e, Error::Version { ref role, expected: 2, got: 1 } if role == "targets"),
        "{e}"
    );
    assert_eq!(c.targets("targets").map(|t| t.version), before.3);
}

#[test]
fn endless_data_is_cut_at_the_limit() {
    let (mut repo, mut c) = ready();
    let before = state(&c);
    let mut huge = repo.files["timestamp.json"].clone();
    huge.extend(std::iter::repeat_n(b' ', 64 * 1024));
    repo.files.insert("timestamp.json".into(), huge);
    let e = refresh(&mut c, &repo.files).unwrap_err();
    assert!(matches!(e, Error::TooLong { .. }), "{e}");
    assert_eq!(state(&c), before);
    // A target longer than its trusted length.
    let (repo, mut c) = ready();
    let fw = find(&mut c, &repo.files, "firmware/T54W.rom")
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
    let (repo, mut c) = ready();
    let cfg_b = find(&mut c, &repo.files, "config/001565ddeeff.cfg")
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
    let (mut repo, mut c) = ready();
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
    refresh(&mut c, &repo.files).unwrap();
    assert_eq!(c.root().version, 4);
    assert_eq!(c.root().roles["root"].threshold, 1);
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
    let e = refresh(&mut c, &repo.files).unwrap_err();
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
    assert_eq!(c.root().version, 4);
}

#[test]
fn recovery_after_a_timestamp_key_rotation_fast_forward() {
    let (mut repo, mut c) = ready();
    // A compromised timestamp key pushes version 1000.
    let snap = repo.files[&format!("{}.snapshot.json", repo.snap_version)].clone();
    let evil = repo::timestamp(1000, LATER, repo.snap_version, &snap);
    repo.files.insert(
        "timestamp.json".into(),
        sign_metadata(&evil, &[&repo.ts_key]).unwrap(),
    );
    refresh(&mut c, &repo.files).unwrap();
    assert_eq!(c.timestamp().unwrap().version, 1000);
    // The owners rotate the timestamp key in root v2 and restart timestamp versions.
    let old: Vec<Ed25519Signer> = vec![key(1), key(2), key(3)];
    repo.ts_key = key(40);
    repo.publish_root(Some((&old.iter().collect::<Vec<_>>(), 2)));
    repo.ts_version = 1;
    repo.publish();
    refresh(&mut c, &repo.files).unwrap();
    assert_eq!(c.root().version, 2);
    assert_eq!(c.timestamp().unwrap().version, 2);
}

#[test]
fn a_target_outside_its_delegations_paths_is_not_trusted() {
    let (mut repo, mut c) = ready();
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
    refresh(&mut c, &repo.files).unwrap();
    let found = find(&mut c, &repo.files, "config/001565aabbcc.cfg")
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
    refresh(&mut c, &repo.files).unwrap();
    assert_eq!(
        find(&mut c, &repo.files, "config/0000deadbeef.cfg").unwrap(),
        None
    );
}

#[test]
fn a_wrong_bin_signature_is_refused() {
    let (mut repo, mut c) = ready();
    repo.bin_key = key(99); // not the key the config role delegated to
    repo.put_config("001565aabbcc", 7);
    repo.publish();
    refresh(&mut c, &repo.files).unwrap();
    let e = find(&mut c, &repo.files, "config/001565aabbcc.cfg").unwrap_err();
    assert!(
        matches!(e, Error::Threshold { ref role, .. } if role.starts_with("config-bin-")),
        "{e}"
    );
}

#[test]
fn the_async_driver_reaches_the_same_state() {
    let repo = Repo::new();
    struct Mem<'a>(&'a HashMap<String, Vec<u8>>);
    impl driver::AsyncFetch for Mem<'_> {
        async fn fetch(
            &mut self,
            req: &hookswitch_trust::client::Request,
        ) -> Result<Option<Vec<u8>>, String> {
            tokio::task::yield_now().await;
            Ok(self.0.get(&req.name).cloned())
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut c = Client::new(&repo.trusted_root(), NOW).unwrap();
    let found = rt.block_on(async {
        driver::refresh_async(&mut c, &mut Mem(&repo.files), &mut driver::discard)
            .await
            .unwrap();
        driver::find_target_async(&mut c, "config/001565aabbcc.cfg", &mut Mem(&repo.files), &mut driver::discard)
            .await
            .unwrap()
    });
    assert_eq!(found.unwrap().custom.unwrap()["release"], 1);
    let (_, mut blocking) = ready();
    assert_eq!(state(&c), state(&blocking));
    assert!(find(&mut blocking, &repo.files, "config/001565aabbcc.cfg")
        .unwrap()
        .is_some());
    // An async refresh that fails leaves the client as it was.
    let mut bad = repo.files.clone();
    bad.insert("timestamp.json".into(), b"{}".to_vec());
    let before = state(&c);
    assert!(rt
        .block_on(driver::refresh_async(&mut c, &mut Mem(&bad), &mut driver::discard))
        .is_err());
    assert_eq!(state(&c), before);
}
