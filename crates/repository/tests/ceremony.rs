//! init → offline signatures → publish → a client refreshes; then stage, sign, publish again.

use hookswitch_repository::testkit::{self, InProcessSigner};
use hookswitch_repository::{Change, Repository};
use hookswitch_trust::client::{check_config_target, Device};
use hookswitch_trust::crypto::{canonical, Signer};
use hookswitch_trust::driver;
use hookswitch_trust::metadata::Signature;
use hookswitch_trust::testkit::key;
use hookswitch_trust::Client;
use std::path::Path;

const NOW: i64 = 1_900_000_000;

fn keys() -> hookswitch_repository::InitKeys {
    testkit::init_keys()
}

fn online(with_bins: bool) -> InProcessSigner {
    InProcessSigner::standard(with_bins)
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Read the published files straight from disk.
fn disk(
    dir: &Path,
) -> impl FnMut(&hookswitch_trust::client::Request) -> Result<Option<Vec<u8>>, String> + '_ {
    move |req| Ok(std::fs::read(dir.join("metadata").join(&req.name)).ok())
}

fn client_for(dir: &Path) -> Client {
    let meta = dir.join("metadata");
    let mut c = Client::new(&std::fs::read(meta.join("1.root.json")).unwrap(), NOW).unwrap();
    driver::refresh(&mut c, &mut disk(dir)).unwrap();
    c
}

fn find(c: &mut Client, dir: &Path, path: &str) -> Option<hookswitch_trust::metadata::TargetFile> {
    driver::find_target(c, path, &mut disk(dir), &mut driver::discard).unwrap()
}

#[test]
fn init_sign_publish_stage_and_publish_again() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open(dir.path());
    let mut req = repo.init(&keys(), 10_000, NOW).unwrap();
    assert_eq!(
        req.documents
            .iter()
            .filter(|d| d.role.starts_with("config-bin-"))
            .count(),
        256,
        "10,000 devices → 256 bins"
    );
    // Without the offline signatures, publish refuses and writes nothing.
    let e = repo.publish(req.clone(), &online(true), NOW).unwrap_err();
    assert!(e.contains("root"), "{e}");
    assert!(!dir.path().join("metadata").exists());
    for k in [key(1), key(3), key(4), key(5), key(6), key(7)] {
        req.sign(&k).unwrap();
    }
    let published = repo.publish(req, &online(true), NOW).unwrap();
    assert_eq!(
        (
            published.root_version,
            published.snapshot_version,
            published.timestamp_version
        ),
        (1, 1, 1)
    );
    let mut c = client_for(dir.path());
    assert_eq!(find(&mut c, dir.path(), "config/001565aabbcc.cfg"), None);

    // A firmware release and two device configs; bins signed online, firmware offline.
    let changes = vec![
        Change::Target {
            path: "firmware/T54W-96.86.rom".into(),
            bytes: b"firmware v96.86".to_vec(),
            custom: None,
        },
        Change::DeviceConfig {
            device_id: "001565aabbcc".into(),
            file_name: "001565aabbcc.cfg".into(),
            hardware: "yealink/T54W".into(),
            bytes: b"static.wifi.enable = 0\n".to_vec(),
        },
        Change::DeviceConfig {
            device_id: "001565ddeeff".into(),
            file_name: "001565ddeeff.cfg".into(),
            hardware: "yealink/T54W".into(),
            bytes: b"static.wifi.enable = 0\n".to_vec(),
        },
    ];
    let mut req = repo.stage(changes, NOW).unwrap();
    req.sign(&key(5)).unwrap();
    repo.publish(req, &online(true), NOW).unwrap();
    let mut c = client_for(dir.path());
    let cfg = find(&mut c, dir.path(), "config/001565aabbcc.cfg").unwrap();
    assert_eq!(
        check_config_target(
            "config/001565aabbcc.cfg",
            &cfg,
            &Device {
                id: "001565aabbcc".into()
            },
            None
        )
        .unwrap(),
        1
    );
    let name = c.target_request("config/001565aabbcc.cfg", &cfg).name;
    let bytes = std::fs::read(dir.path().join("targets").join(name)).unwrap();
    c.verify_target("config/001565aabbcc.cfg", &cfg, &bytes)
        .unwrap();
    assert!(find(&mut c, dir.path(), "firmware/T54W-96.86.rom").is_some());

    // The next release of one device's config counts up.
    let req = repo
        .stage(
            vec![Change::DeviceConfig {
                device_id: "001565aabbcc".into(),
                file_name: "001565aabbcc.cfg".into(),
                hardware: "yealink/T54W".into(),
                bytes: b"static.wifi.enable = 0\nstatic.wui.http_enable = 0\n".to_vec(),
            }],
            NOW,
        )
        .unwrap();
    repo.publish(req, &online(true), NOW).unwrap();
    let mut c = client_for(dir.path());
    let cfg = find(&mut c, dir.path(), "config/001565aabbcc.cfg").unwrap();
    assert_eq!(cfg.custom.unwrap()["release"], 2);
}

#[test]
fn an_unmet_threshold_or_a_bad_signature_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open(dir.path());
    let mut req = repo.init(&keys(), 100, NOW).unwrap();
    for k in [key(1), key(2), key(4), key(5), key(6), key(7)] {
        req.sign(&k).unwrap();
    }
    repo.publish(req, &online(true), NOW).unwrap();
    let before = std::fs::read(dir.path().join("metadata/timestamp.json")).unwrap();
    // Firmware staged but not signed by the (offline) firmware key.
    let req = repo
        .stage(
            vec![Change::Target {
                path: "firmware/x.rom".into(),
                bytes: b"x".to_vec(),
                custom: None,
            }],
            NOW,
        )
        .unwrap();
    let e = repo.publish(req.clone(), &online(true), NOW).unwrap_err();
    assert!(
        e.contains("firmware: 0 valid signature(s), threshold is 1"),
        "{e}"
    );
    // Signed by the wrong key (targets instead of firmware): still refused.
    let mut wrong = req.clone();
    let msg = canonical(&wrong.documents[0].signed).unwrap();
    wrong.documents[0].signatures.push(Signature {
        keyid: key(5).key_id(),
        sig: hex_encode(&key(4).sign(&msg).unwrap()),
    });
    assert!(repo.publish(wrong, &online(true), NOW).is_err());
    // An online signer that lacks the snapshot key: refused.
    let mut ok = req.clone();
    ok.sign(&key(5)).unwrap();
    let e = repo
        .publish(
            ok,
            &InProcessSigner {
                keys: vec![("timestamp".into(), key(10))],
            },
            NOW,
        )
        .unwrap_err();
    assert!(e.contains("online signer: snapshot"), "{e}");
    assert_eq!(
        std::fs::read(dir.path().join("metadata/timestamp.json")).unwrap(),
        before,
        "the live version is untouched"
    );
}

#[test]
fn root_rotation_needs_both_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open(dir.path());
    let mut req = repo.init(&keys(), 100, NOW).unwrap();
    for k in [key(1), key(2), key(4), key(5), key(6), key(7)] {
        req.sign(&k).unwrap();
    }
    repo.publish(req, &online(true), NOW).unwrap();
    let (mut root, _) = repo.latest_root().unwrap();
    root.version = 2;
    // Rotate the timestamp key (fast-forward recovery) and the root keys.
    let new_ts = key(20);
    let ts_id = hookswitch_trust::crypto::key_id(&new_ts.public_key());
    root.keys.insert(ts_id.clone(), new_ts.public_key());
    root.roles.get_mut("timestamp").unwrap().keyids = vec![ts_id];
    let mut req = hookswitch_trust::ceremony::Request::new(1);
    let mut auth = root.roles["root"].clone();
    auth.keyids
        .extend(repo.latest_root().unwrap().0.roles["root"].keyids.clone());
    req.push("root", "root", &root, &auth).unwrap();
    req.sign(&key(1)).unwrap();
    let e = repo
        .publish(
            req.clone(),
            &InProcessSigner {
                keys: vec![("snapshot".into(), key(9)), ("timestamp".into(), new_ts)],
            },
            NOW,
        )
        .unwrap_err();
    assert!(
        e.contains("root: 1 valid signature(s), threshold is 2"),
        "{e}"
    );
    req.sign(&key(2)).unwrap();
    let p = repo
        .publish(
            req,
            &InProcessSigner {
                keys: vec![("snapshot".into(), key(9)), ("timestamp".into(), key(20))],
            },
            NOW,
        )
        .unwrap();
    assert_eq!(p.root_version, 2);
    let c = client_for(dir.path());
    assert_eq!(c.root().version, 2);
}
