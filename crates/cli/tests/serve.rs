//! `hookswitch serve` as a process: it starts on a verified repository and serves it over
//! HTTPS to our agent, and refuses to start when private key material lies in the repository.

mod common;
#[path = "../../agent/tests/support/pki.rs"]
mod pki;

use common::support::{workspace, write_repo};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn serve_args(dir: &Path, cert: &Path, key: &Path) -> Vec<String> {
    let p = |name: &str| dir.join(name).display().to_string();
    vec![
        "serve".into(),
        "--repo".into(),
        p("repo"),
        "--root".into(),
        p("root.json"),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--tls-cert".into(),
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
        "--database".into(),
        format!("sqlite://{}", p("store.db")),
    ]
}

#[test]
fn serve_starts_on_a_verified_repository_and_refuses_a_planted_key() {
    let dir = tempfile::tempdir().unwrap();
    let kit = hookswitch_trust::testkit::Repo::new();
    write_repo(&kit, &dir.path().join("repo"));
    std::fs::write(dir.path().join("root.json"), kit.trusted_root()).unwrap();
    let (ca, cert, key) = pki::pki(dir.path(), "server");

    let mut child = Command::new(env!("CARGO_BIN_EXE_hookswitch"))
        .args(serve_args(dir.path(), &cert, &key))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("serve exited before listening")
            .unwrap();
        if let Some(u) = line.strip_prefix("serve: listening on ") {
            break u.to_string();
        }
    };
    let meta = dir.path().join("agent");
    let agent = common::agent();
    common::ok(
        Command::new(&agent)
            .arg("--metadata-dir")
            .arg(&meta)
            .arg("init")
            .arg(dir.path().join("root.json"))
            .output()
            .unwrap(),
    );
    let out = Command::new(&agent)
        .arg("--metadata-dir")
        .arg(&meta)
        .arg("--ca-file")
        .arg(&ca)
        .args(["--metadata-url", &format!("{url}/metadata")])
        .args(["--target-base-url", &format!("{url}/targets")])
        .args(["--target-name", "apps/directory.apk", "--target-dir"])
        .arg(dir.path().join("dl"))
        .arg("download")
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    common::ok(out);

    let planted = dir.path().join("repo/staging/old-signer/timestamp.pem");
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::copy(&key, &planted).unwrap();
    let out = common::hookswitch(&serve_args(dir.path(), &cert, &key));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&planted.display().to_string()), "{err}");
    let _ = workspace();
}
