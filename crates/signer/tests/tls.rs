//! The signer over TLS with a real rustls client, and its refusals.

use hookswitch_keystore::{generate, KdfCost};
use hookswitch_repository::{OnlineSigner, SignerError};
use hookswitch_signer::{serve, Error, Keys, RemoteSigner, TlsFiles};
use std::path::Path;
use std::time::Duration;

const PASS: &[u8] = b"correct horse battery staple";
const TOKEN: &str = "0123456789abcdef0123456789abcdef-test";
const FAST: KdfCost = KdfCost {
    m_kib: 256,
    t: 1,
    p: 1,
};

#[path = "../../agent/tests/support/pki.rs"]
mod pki;

fn tls_files(dir: &Path) -> (std::path::PathBuf, TlsFiles) {
    let (ca, cert, key) = pki::pki(dir, "signer");
    (ca, TlsFiles { cert, key })
}

#[test]
fn signs_over_tls_for_a_client_that_trusts_its_ca_only() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("online");
    let public = generate(&keys_dir.join("timestamp.key"), "timestamp", PASS, FAST).unwrap();
    let (ca, tls) = tls_files(dir.path());
    let keys = Keys::load(&keys_dir, PASS).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let kd = keys_dir.clone();
    std::thread::spawn(move || {
        let _ = serve("127.0.0.1:0", &kd, keys, TOKEN, Some(tls), move |addr| {
            tx.send(addr).unwrap()
        });
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("signer listening");
    let url = format!("https://127.0.0.1:{}", addr.port());
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 3600;
    let signed = serde_json::json!({"_type": "timestamp", "spec_version": "1.0.31", "version": 7, "expires": hookswitch_trust::time::format(in_an_hour), "meta": {"snapshot.json": {"version": 3}}});
    let good = RemoteSigner {
        url: url.clone(),
        token: TOKEN.into(),
        client: hookswitch_http::Client::new(Some(&ca), Duration::from_secs(10)).unwrap(),
    };
    let sigs = good.sign("timestamp", &signed).unwrap();
    assert_eq!(sigs.len(), 1);
    let msg = hookswitch_trust::crypto::canonical(&signed).unwrap();
    assert!(hookswitch_trust::crypto::verify_one(
        &public,
        &msg,
        &sigs[0].sig
    ));
    // The same version again is a rollback; a client without the CA cannot connect.
    let e = good.sign("timestamp", &signed).unwrap_err();
    assert!(matches!(e, SignerError::Refused(_)), "{e:?}");
    assert!(e.to_string().contains("403"), "{e}");
    let blind = RemoteSigner {
        url,
        token: TOKEN.into(),
        client: hookswitch_http::Client::new(None, Duration::from_secs(10)).unwrap(),
    };
    assert!(blind
        .sign(
            "timestamp",
            &serde_json::json!({"_type": "timestamp", "version": 8})
        )
        .is_err());
    // It reports what it signed, so a publisher restarting after a crash starts above it.
    assert_eq!(good.last_versions().unwrap()["timestamp"], 7);
    let stranger = RemoteSigner {
        token: "wrong-token-wrong-token-wrong-token!".into(),
        ..good
    };
    let e = stranger.last_versions().unwrap_err();
    assert!(matches!(e, SignerError::Refused(_)), "{e:?}");
    assert!(e.to_string().contains("401"), "{e}");
    // The persisted version survives a restart of the signer.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(keys_dir.join("signer-state.json")).unwrap())
            .unwrap();
    assert_eq!(state["timestamp"], 7);
}

#[test]
fn refuses_plain_http_beyond_loopback_and_offline_keys() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("online");
    generate(&keys_dir.join("snapshot.key"), "snapshot", PASS, FAST).unwrap();
    let keys = Keys::load(&keys_dir, PASS).unwrap();
    let e = serve("0.0.0.0:0", &keys_dir, keys, TOKEN, None, |_| {}).unwrap_err();
    assert!(matches!(e, Error::Listen { .. }), "{e:?}");
    assert!(e.to_string().contains("loopback only"), "{e}");
    let keys = Keys::load(&keys_dir, PASS).unwrap();
    let e = serve("127.0.0.1:0", &keys_dir, keys, "short", None, |_| {}).unwrap_err();
    assert!(matches!(e, Error::WeakToken), "{e:?}");
    assert!(e.to_string().contains("32 characters"), "{e}");
    generate(&keys_dir.join("root.key"), "root", PASS, FAST).unwrap();
    let e = Keys::load(&keys_dir, PASS).err().unwrap();
    assert!(
        matches!(&e, Error::OfflineKey { role, .. } if role == "root"),
        "{e:?}"
    );
    assert!(e.to_string().contains("offline key"), "{e}");
}

#[test]
fn a_signer_state_file_that_does_not_parse_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("online");
    generate(&keys_dir.join("timestamp.key"), "timestamp", PASS, FAST).unwrap();
    // A reset record would let the signer sign an old timestamp version again.
    std::fs::write(keys_dir.join("signer-state.json"), b"{\"timestamp\": 7").unwrap();
    let keys = Keys::load(&keys_dir, PASS).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(serve("127.0.0.1:0", &keys_dir, keys, TOKEN, None, |_| {}));
    });
    let e = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the signer started on a state file it could not read")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("signer-state.json") && e.contains("will not start"),
        "{e}"
    );
}
