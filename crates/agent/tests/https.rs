//! The agent over HTTPS (rustls on aws-lc-rs): it trusts only the CA file it is given,
//! and never negotiates below TLS 1.2.

#[path = "support/pki.rs"]
mod pki;
#[path = "support/mod.rs"]
mod support;

use hookswitch_trust::testkit::Repo;
use pki::{pki, pki_with};
use std::path::Path;
use std::process::Command;
use support::{python, workspace, Server};

/// The HTTPS test server (Python's ssl module) on a free loopback port.
fn tls_server(dir: &Path, cert: &Path, key: &Path, max: Option<&str>) -> Server {
    Server::spawn(|port| {
        let mut cmd = Command::new(python());
        cmd.arg(workspace().join("crates/agent/tests/interop/https_server.py"))
            .arg(dir)
            .arg(port.to_string())
            .arg(cert)
            .arg(key);
        if let Some(m) = max {
            cmd.arg(m);
        }
        cmd
    })
}

fn refresh(meta: &Path, port: u16, ca: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookswitch-agent"));
    cmd.args([
        "--metadata-dir",
        meta.to_str().unwrap(),
        "--metadata-url",
        &format!("https://127.0.0.1:{port}/metadata"),
    ]);
    if let Some(ca) = ca {
        cmd.arg("--ca-file").arg(ca);
    }
    cmd.arg("refresh").output().unwrap()
}

#[test]
fn https_needs_the_right_ca_and_tls_1_2() {
    let repo = Repo::new();
    let site = tempfile::tempdir().unwrap();
    for (name, bytes) in &repo.files {
        let p = if name.ends_with(".json") && !name.contains('/') {
            site.path().join("metadata").join(name)
        } else {
            site.path().join("targets").join(name)
        };
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let pki_dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = pki(pki_dir.path(), "good");
    let (other_ca, _, _) = pki(pki_dir.path(), "other");
    let server = tls_server(site.path(), &cert, &key, None);
    let meta = tempfile::tempdir().unwrap();
    std::fs::write(meta.path().join("root.json"), repo.trusted_root()).unwrap();

    let out = refresh(meta.path(), server.port, Some(&ca));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(meta.path().join("timestamp.json").exists());

    let out = refresh(meta.path(), server.port, None);
    assert_eq!(out.status.code(), Some(1), "no CA file: no https");
    let out = refresh(meta.path(), server.port, Some(&other_ca));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a certificate from another CA is refused"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("certificate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A server whose certificate (from the right CA) has expired: refused.
    drop(server);
    let (expired_ca, expired_cert, expired_key) = pki_with(pki_dir.path(), "expired", true);
    let stale = tls_server(site.path(), &expired_cert, &expired_key, None);
    let out = refresh(meta.path(), stale.port, Some(&expired_ca));
    assert_eq!(out.status.code(), Some(1), "an expired server certificate");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("expired"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(stale);

    // A server that offers only TLS 1.0/1.1 (if this OpenSSL still can): the agent refuses.
    let old = tls_server(site.path(), &cert, &key, Some("1.1"));
    let out = refresh(meta.path(), old.port, Some(&ca));
    assert_eq!(
        out.status.code(),
        Some(1),
        "TLS below 1.2 must not be negotiated"
    );
    eprintln!("tls1.1 server: {}", String::from_utf8_lossy(&out.stderr));
}
