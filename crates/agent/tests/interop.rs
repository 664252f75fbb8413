//! Interoperability with python-tuf 7 (PyPI `tuf`), both ways, over HTTP on 127.0.0.1:
//! - python-tuf's ngclient refreshes and downloads every firmware, app and config target of
//!   a repository hookswitch built, and fails on one tampered byte;
//! - hookswitch-agent refreshes and downloads from a repository built with python-tuf.
//!
//! Python comes from `HOOKSWITCH_PYTHON`, or a venv under `target/tuf-venv` that this test
//! creates with `pip install tuf cryptography` if it is missing.

use hookswitch_trust::testkit::Repo;
use std::path::Path;
use std::process::Command;

#[path = "support/mod.rs"]
mod support;
use support::{agent_download, ngclient_fetch, python, workspace, write_repo, Server};

#[test]
fn python_tuf_ngclient_downloads_everything_we_publish_and_rejects_a_tampered_byte() {
    let repo = Repo::new();
    let site = tempfile::tempdir().unwrap();
    write_repo(&repo, site.path());
    let server = Server::start(site.path());
    let targets: Vec<String> = vec![
        "firmware/T54W.rom".into(),
        "apps/directory.apk".into(),
        "config/001565aabbcc.cfg".into(),
        "config/001565ddeeff.cfg".into(),
    ];
    let run = |tag: &str| {
        let out = ngclient_fetch(&repo.trusted_root(), &server, &targets);
        eprintln!(
            "{tag}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.status.success()
    };
    assert!(run("clean"), "ngclient refused our repository");
    // One tampered byte in one target.
    let fw = repo
        .files
        .keys()
        .find(|k| k.starts_with("firmware/"))
        .unwrap();
    let p = site.path().join("targets").join(fw);
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&p, bytes).unwrap();
    assert!(!run("tampered"), "ngclient accepted a tampered target");
}

#[test]
fn our_agent_downloads_from_a_python_tuf_repository() {
    let site = tempfile::tempdir().unwrap();
    let ok = Command::new(python())
        .arg(workspace().join("crates/agent/tests/interop/make_repo.py"))
        .arg(site.path())
        .status()
        .unwrap();
    assert!(ok.success(), "make_repo.py failed");
    let server = Server::start(site.path());
    let meta = tempfile::tempdir().unwrap();
    let dl = tempfile::tempdir().unwrap();
    let agent = env!("CARGO_BIN_EXE_hookswitch-agent");
    let md = meta.path().to_str().unwrap();
    let st = Command::new(agent)
        .args(["--metadata-dir", md, "init"])
        .arg(site.path().join("metadata/1.root.json"))
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new(agent)
        .args([
            "--metadata-dir",
            md,
            "--metadata-url",
            &server.url("metadata"),
            "refresh",
        ])
        .status()
        .unwrap();
    assert!(st.success(), "refresh failed");
    for (name, want) in [
        ("firmware/phone.rom", &b"python-built firmware\n"[..]),
        ("config/001565aabbcc.cfg", b"static.wifi.enable = 0\n"),
    ] {
        let out = agent_download(Path::new(agent), meta.path(), &server, name, dl.path());
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let local = dl.path().join(name);
        assert_eq!(std::fs::read(&local).unwrap(), want);
    }
    // A tampered target is refused and never lands in the target directory.
    let blob = std::fs::read_dir(site.path().join("targets/firmware"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&blob, bytes).unwrap();
    let local = dl.path().join("firmware/phone.rom");
    std::fs::remove_file(&local).unwrap();
    let out = agent_download(
        Path::new(agent),
        meta.path(),
        &server,
        "firmware/phone.rom",
        dl.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !local.exists(),
        "a file that does not verify must not be left behind"
    );
    assert_eq!(
        std::fs::read_dir(dl.path().join("firmware"))
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.'))
            .count(),
        0,
        "no temp files left"
    );
    // The trusted metadata is stored under non-versioned names.
    for f in [
        "root.json",
        "timestamp.json",
        "snapshot.json",
        "targets.json",
        "config.json",
    ] {
        assert!(meta.path().join(f).exists(), "{f} not stored");
    }
}
