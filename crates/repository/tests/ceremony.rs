//! init → offline signatures → publish → a client refreshes; then stage, sign, publish again.

use hookswitch_repository::testkit::{self, InProcessSigner};
use hookswitch_repository::{Change, Error, OnlineSigner, Repository, SignerError};
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

/// A firmware target change (signed by the offline firmware key).
fn firmware_x() -> Change {
    Change::Target {
        path: "firmware/x.rom".into(),
        bytes: b"x".to_vec(),
        custom: None,
    }
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
    let e = repo
        .publish(req.clone(), Some(&pin(&req)), &online(true), NOW)
        .unwrap_err();
    assert!(matches!(e, Error::Threshold(_)), "{e:?}");
    assert!(e.to_string().contains("root"), "{e}");
    assert!(!dir.path().join("metadata").exists());
    for k in [key(1), key(3), key(4), key(5), key(6), key(7)] {
        req.sign(&k).unwrap();
    }
    let published = repo
        .publish(req.clone(), Some(&pin(&req)), &online(true), NOW)
        .unwrap();
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
    repo.publish(req, None, &online(true), NOW).unwrap();
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
    repo.publish(req, None, &online(true), NOW).unwrap();
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
    repo.publish(req.clone(), Some(&pin(&req)), &online(true), NOW)
        .unwrap();
    let before = std::fs::read(dir.path().join("metadata/timestamp.json")).unwrap();
    // Firmware staged but not signed by the (offline) firmware key.
    let req = repo.stage(vec![firmware_x()], NOW).unwrap();
    let e = repo
        .publish(req.clone(), None, &online(true), NOW)
        .unwrap_err();
    assert!(matches!(e, Error::Threshold(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("firmware: 0 valid signature(s), threshold is 1"),
        "{e}"
    );
    // Signed by the wrong key (targets instead of firmware): still refused.
    let mut wrong = req.clone();
    let msg = canonical(&wrong.documents[0].signed).unwrap();
    wrong.documents[0].signatures.push(Signature {
        keyid: key(5).key_id(),
        sig: hex_encode(&key(4).sign(&msg).unwrap()),
    });
    assert!(repo.publish(wrong, None, &online(true), NOW).is_err());
    // An online signer that lacks the snapshot key: refused.
    let mut ok = req.clone();
    ok.sign(&key(5)).unwrap();
    let e = repo
        .publish(
            ok,
            None,
            &InProcessSigner::with_keys(vec![("timestamp".into(), key(10))]),
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(e, Error::OnlineSigner(SignerError::BadAnswer(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains("online signer: snapshot"), "{e}");
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
    repo.publish(req.clone(), Some(&pin(&req)), &online(true), NOW)
        .unwrap();
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
            None,
            &InProcessSigner::with_keys(vec![
                ("snapshot".into(), key(9)),
                ("timestamp".into(), new_ts),
            ]),
            NOW,
        )
        .unwrap_err();
    assert!(matches!(e, Error::Threshold(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("root: 1 valid signature(s), threshold is 2"),
        "{e}"
    );
    req.sign(&key(2)).unwrap();
    let p = repo
        .publish(
            req,
            None,
            &InProcessSigner::with_keys(vec![
                ("snapshot".into(), key(9)),
                ("timestamp".into(), key(20)),
            ]),
            NOW,
        )
        .unwrap();
    assert_eq!(p.root_version, 2);
    let c = client_for(dir.path());
    assert_eq!(c.root().version, 2);
}

/// The root fingerprint `repo init` prints, as the administrator carries it to publish.
fn pin(req: &hookswitch_trust::ceremony::Request) -> String {
    hookswitch_trust::ceremony::root_fingerprint(req.root().unwrap()).unwrap()
}

/// A properly signed init request, as it leaves the air-gapped host.
fn signed_init(dir: &Path) -> hookswitch_trust::ceremony::Request {
    let mut req = Repository::open(dir).init(&keys(), 100, NOW).unwrap();
    for k in testkit::offline_init_signers() {
        req.sign(&k).unwrap();
    }
    req
}

#[test]
fn a_second_root_appended_to_a_signed_init_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open(dir.path());
    let mut req = signed_init(dir.path());
    // The attacker's root v1: every role held by one new key, signed by that key only.
    let evil = key(30);
    let mut root: hookswitch_trust::metadata::Root =
        serde_json::from_value(req.documents[0].signed.clone()).unwrap();
    let id = evil.key_id();
    root.keys = [(id.clone(), evil.public_key())].into();
    for r in root.roles.values_mut() {
        r.keyids = vec![id.clone()];
        r.threshold = 1;
    }
    let mut extra = hookswitch_trust::ceremony::Request::new(0);
    extra
        .push("root", "root", &root, &root.roles["root"])
        .unwrap();
    extra.sign(&evil).unwrap();
    req.documents.push(extra.documents.remove(0));
    let e = repo
        .publish(req.clone(), Some(&pin(&req)), &online(true), NOW)
        .unwrap_err()
        .to_string();
    assert!(e.contains("root"), "{e}");
    assert!(
        !dir.path().join("metadata").exists(),
        "nothing is written for a refused request"
    );
}

#[test]
fn a_duplicate_targets_role_document_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open(dir.path());
    let req = signed_init(dir.path());
    repo.publish(req.clone(), Some(&pin(&req)), &online(true), NOW)
        .unwrap();
    let before = std::fs::read(dir.path().join("metadata/timestamp.json")).unwrap();
    let files_before = std::fs::read_dir(dir.path().join("metadata"))
        .unwrap()
        .count();
    // Two properly signed firmware documents at the same version: which one is live?
    let stage = |name: &str| {
        let mut r = repo
            .stage(
                vec![Change::Target {
                    path: format!("firmware/{name}"),
                    bytes: name.as_bytes().to_vec(),
                    custom: None,
                }],
                NOW,
            )
            .unwrap();
        r.sign(&key(5)).unwrap();
        r
    };
    let mut req = stage("a.rom");
    let other = stage("b.rom");
    req.documents.extend(other.documents);
    req.blobs.extend(other.blobs);
    // Refused before any check: the online signer is never asked.
    let counting = Counting(online(true), std::cell::Cell::new(0));
    let e = repo.publish(req, None, &counting, NOW).unwrap_err();
    assert!(matches!(e, Error::Ceremony(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("firmware v2: more than one document"),
        "{e}"
    );
    assert_eq!(counting.1.get(), 0, "the signer was asked to sign");
    assert_eq!(
        std::fs::read(dir.path().join("metadata/timestamp.json")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("metadata"))
            .unwrap()
            .count(),
        files_before,
        "no versioned file was written"
    );
}

/// An online signer that counts what it is asked.
struct Counting(InProcessSigner, std::cell::Cell<usize>);

impl OnlineSigner for Counting {
    fn sign(&self, role: &str, signed: &serde_json::Value) -> Result<Vec<Signature>, SignerError> {
        self.1.set(self.1.get() + 1);
        self.0.sign(role, signed)
    }
    fn last_versions(&self) -> Result<std::collections::BTreeMap<String, u64>, SignerError> {
        self.1.set(self.1.get() + 1);
        self.0.last_versions()
    }
}

#[test]
fn the_first_publication_needs_the_fingerprint_of_the_root_that_was_signed() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open(dir.path());
    let req = signed_init(dir.path());
    let honest = pin(&req);
    // Swapped on the way: a root v1 of the attacker's own keys, carrying its own threshold.
    let other = tempfile::tempdir().unwrap();
    let mut keys = keys();
    keys.root = vec![
        key(31).public_key(),
        key(32).public_key(),
        key(33).public_key(),
    ];
    let mut swapped = Repository::open(other.path())
        .init(&keys, 100, NOW)
        .unwrap();
    for k in [key(31), key(32), key(4), key(5), key(6), key(7)] {
        swapped.sign(&k).unwrap();
    }
    let e = repo
        .publish(swapped.clone(), Some(&honest), &online(true), NOW)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("not the expected {honest}")),
        "{e}"
    );
    match e {
        Error::RootPin {
            version,
            expected,
            found,
        } => {
            assert_eq!((version, &expected), (1, &honest));
            assert_eq!(found, pin(&swapped));
        }
        e => panic!("a wrong --expect-root is not a RootPin error: {e:?}"),
    }
    let e = repo.publish(swapped, None, &online(true), NOW).unwrap_err();
    assert!(matches!(e, Error::Ceremony(_)), "{e:?}");
    assert!(e.to_string().contains("needs --expect-root"), "{e}");
    assert!(!dir.path().join("metadata").exists(), "nothing written");
    let p = repo
        .publish(req, Some(&honest), &online(true), NOW)
        .unwrap();
    assert_eq!(p.root_version, 1);
}

#[test]
fn a_publication_restarts_over_what_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path().join("metadata");
    let repo = Repository::open(dir.path());
    let signer = online(true);
    let req = signed_init(dir.path());
    repo.publish(req.clone(), Some(&pin(&req)), &signer, NOW)
        .unwrap();
    let config = |body: &[u8]| {
        vec![Change::DeviceConfig {
            device_id: "001565aabbcc".into(),
            file_name: "001565aabbcc.cfg".into(),
            hardware: "yealink/T54W".into(),
            bytes: body.to_vec(),
        }]
    };
    let release = repo.stage(config(b"release 1\n"), NOW).unwrap();
    // What a run killed before its timestamp leaves: the signer signed snapshot and
    // timestamp v2, its bin file (identical to what a re-run writes), a snapshot v2 the
    // clients never saw, and a temp file.
    let mut killed = release.clone();
    let bin = killed.documents.iter_mut().next().unwrap();
    bin.signatures = signer.sign(&bin.role, &bin.signed).unwrap();
    let bin_name = format!("{}.{}.json", bin.signed["version"], bin.role);
    std::fs::write(
        meta.join(&bin_name),
        hookswitch_trust::ceremony::envelope(bin).unwrap(),
    )
    .unwrap();
    let live_ts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta.join("timestamp.json")).unwrap()).unwrap();
    for role in ["snapshot", "timestamp"] {
        let mut signed = live_ts["signed"].clone();
        signed["_type"] = role.into();
        signed["version"] = 2.into();
        signer.sign(role, &signed).unwrap();
    }
    std::fs::write(
        meta.join("2.snapshot.json"),
        b"{\"half\": \"a killed run's\"}",
    )
    .unwrap();
    std::fs::write(meta.join(".2.snapshot.json.tmp-99999-0"), b"partial").unwrap();
    let before = std::fs::read(meta.join("timestamp.json")).unwrap();
    assert_eq!(
        client_for(dir.path()).root().version,
        1,
        "still serves the old tree"
    );

    // The same command again just works: new versions go above everything seen.
    let p = repo.publish(release.clone(), None, &signer, NOW).unwrap();
    assert_eq!((p.snapshot_version, p.timestamp_version), (3, 3));
    assert_ne!(std::fs::read(meta.join("timestamp.json")).unwrap(), before);
    assert!(!meta.join("2.snapshot.json").exists(), "leftover deleted");
    assert!(
        !meta.join(".2.snapshot.json.tmp-99999-0").exists(),
        "temp file swept"
    );
    let mut c = client_for(dir.path());
    let cfg = find(&mut c, dir.path(), "config/001565aabbcc.cfg").unwrap();
    assert_eq!(cfg.custom.unwrap()["release"], 1);
    // Killed after its timestamp: the re-run finds everything live and writes nothing.
    let live = std::fs::read(meta.join("timestamp.json")).unwrap();
    let again = repo.publish(release, None, &signer, NOW).unwrap();
    assert!(again.already_live);
    assert_eq!(std::fs::read(meta.join("timestamp.json")).unwrap(), live);
    // A change staged after the crash takes a version above every file on disk.
    std::fs::write(meta.join("9.firmware.json"), b"left by a killed run").unwrap();
    let fw = repo.stage(vec![firmware_x()], NOW).unwrap();
    assert_eq!(fw.documents[0].signed["version"], 10);
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open(dir.path());
    let req = signed_init(dir.path());
    let held = hookswitch_atomicfile::lock(&dir.path().join(".publish.lock")).unwrap();
    let e = repo
        .publish(req.clone(), Some(&pin(&req)), &online(true), NOW)
        .unwrap_err();
    assert!(
        matches!(&e, Error::Locked { path, .. } if path.ends_with(".publish.lock")),
        "{e:?}"
    );
    assert!(e.to_string().contains("another stage or publish"), "{e}");
    assert!(!dir.path().join("metadata").exists());
    drop(held);
    repo.publish(req.clone(), Some(&pin(&req)), &online(true), NOW)
        .unwrap();
}

#[test]
fn errors_say_what_the_caller_can_act_on() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open(dir.path());
    let e = repo.stage(vec![firmware_x()], NOW).unwrap_err();
    assert!(
        matches!(&e, Error::NotInitialised { dir: d } if d == &dir.path().join("metadata")),
        "{e:?}"
    );
    let req = signed_init(dir.path());
    repo.publish(req.clone(), Some(&pin(&req)), &online(true), NOW)
        .unwrap();
    let e = repo.init(&keys(), 100, NOW).err().unwrap();
    assert!(matches!(e, Error::AlreadyInitialised { .. }), "{e:?}");
    let escape = Change::Target {
        path: "firmware/../../etc/passwd".into(),
        bytes: b"x".to_vec(),
        custom: None,
    };
    let e = repo.stage(vec![escape], NOW).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidTarget { path } if path == "firmware/../../etc/passwd"),
        "{e:?}"
    );
    assert!(
        !dir.path().join("staging").exists(),
        "nothing staged for a refused change"
    );
}
