//! The whole signed-distribution path with the real binaries and processes:
//! keys → repo init → offline signing → online signer process → publish from a process
//! that cannot reach the offline keys → enroll over a serial-console form → the reference
//! agent and python-tuf's ngclient download and verify over HTTP on 127.0.0.1.

mod common;

use common::support::{self, ngclient_fetch, Server};
use common::{agent, hookswitch, ok, publish, root_fingerprint, Signer, TOKEN};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn agent_download(meta: &Path, server: &Server, name: &str, dir: &Path) -> Output {
    support::agent_download(&agent(), meta, server, name, dir)
}

#[test]
fn ceremony_publish_enroll_and_download() {
    let tmp = tempfile::tempdir().unwrap();
    let offline = tmp.path().join("offline");
    let online = tmp.path().join("online");
    let repo = tmp.path().join("repo");
    let k = |dir: &Path, name: &str| dir.join(format!("{name}.key"));
    common::generate_keys(&offline, &online);
    // Keys are never printed; the public half is.
    let out = ok(hookswitch(&[
        "keys",
        "public",
        k(&offline, "root1").to_str().unwrap(),
    ]));
    let public: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(public["keytype"], "ed25519");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ciphertext"));

    let req = tmp.path().join("init.json");
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    let init = hookswitch(&common::init_args(&repo, &offline, &online, 100, &req));
    let pin = root_fingerprint(&ok(init));
    // The ceremony: only 1 of 2 root signatures first, and publish refuses.
    let signed = ok(hookswitch(&[
        "repo",
        "sign",
        "--request",
        &s(req.clone()),
        "--key",
        &s(k(&offline, "root1")),
        "--key",
        &s(k(&offline, "targets")),
        "--key",
        &s(k(&offline, "firmware")),
        "--key",
        &s(k(&offline, "apps")),
        "--key",
        &s(k(&offline, "config")),
    ]));
    assert_eq!(
        root_fingerprint(&signed),
        pin,
        "init and sign print the same fingerprint"
    );
    let signer = Signer::start(&online);
    let out = publish(&repo, Some(&req), &signer, Some(&pin));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("root: 1 valid signature(s), threshold is 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!repo.join("metadata/timestamp.json").exists());
    ok(hookswitch(&[
        "repo",
        "sign",
        "--request",
        &s(req.clone()),
        "--key",
        &s(k(&offline, "root3")),
    ]));

    // Tampered on the way to the online host: a second root v1 appended (the attacker's
    // copy: other content, no valid signature), or the request's root differing from the
    // fingerprint written down at the ceremony. Refused; nothing written.
    let tampered = tmp.path().join("tampered.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&req).unwrap()).unwrap();
    let mut evil = doc["documents"][0].clone();
    evil["signed"]["expires"] = "2099-01-01T00:00:00Z".into();
    doc["documents"].as_array_mut().unwrap().push(evil);
    std::fs::write(&tampered, serde_json::to_vec(&doc).unwrap()).unwrap();
    let wrong_pin = "0".repeat(64);
    for (request, expect, says) in [
        (
            &tampered,
            Some(pin.as_str()),
            "root v1: more than one document",
        ),
        (&req, Some(wrong_pin.as_str()), "not the expected 0000"),
        (&req, None, "needs --expect-root"),
    ] {
        let out = publish(&repo, Some(request), &signer, expect);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!repo.join("metadata").exists(), "nothing written: {err}");
    }

    // Key custody: the offline keys go away before publishing.
    let vault = tmp.path().join("vault");
    std::fs::rename(&offline, &vault).unwrap();
    ok(publish(&repo, Some(&req), &signer, Some(&pin)));

    // A firmware release (offline firmware key, fetched from the vault) and two device configs (bins signed online).
    let files = tmp.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("T54W.rom"), b"firmware 96.86").unwrap();
    std::fs::write(files.join("001565aabbcc.cfg"), b"static.wifi.enable = 0\n").unwrap();
    std::fs::write(
        files.join("001565ddeeff.cfg"),
        b"static.wifi.enable = 0\nstatic.wui.http_enable = 0\n",
    )
    .unwrap();
    let req2 = tmp.path().join("release.json");
    ok(hookswitch(&[
        "repo",
        "stage",
        "--repo",
        &s(repo.clone()),
        "--target",
        &format!("firmware/T54W.rom={}", s(files.join("T54W.rom"))),
        "--device-config",
        &format!("001565aabbcc={}", s(files.join("001565aabbcc.cfg"))),
        "--device-config",
        &format!("001565ddeeff={}", s(files.join("001565ddeeff.cfg"))),
        "--hardware",
        "yealink/T54W",
        "-o",
        &s(req2.clone()),
    ]));
    ok(hookswitch(&[
        "repo",
        "sign",
        "--request",
        &s(req2.clone()),
        "--key",
        &s(k(&vault, "firmware")),
    ]));
    ok(publish(&repo, Some(&req2), &signer, None));
    // Republishing the same request (as after a crash right after it went live) finds it
    // live and changes nothing.
    let before = std::fs::read(repo.join("metadata/timestamp.json")).unwrap();
    let again = ok(publish(&repo, Some(&req2), &signer, None));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already published"));
    assert_eq!(
        std::fs::read(repo.join("metadata/timestamp.json")).unwrap(),
        before
    );

    // Enrollment over a serial console, then the agent.
    let enroll = tmp.path().join("enroll.txt");
    ok(hookswitch(&[
        "enroll",
        "--repo",
        &s(repo.clone()),
        "--device-id",
        "001565aabbcc",
        "--serial",
        "-o",
        &s(enroll.clone()),
    ]));
    let text = std::fs::read_to_string(&enroll).unwrap();
    assert!(
        text.starts_with("HOOKSWITCH-ENROLL v1\ndevice_id 001565aabbcc\n")
            && text.lines().all(|l| l.len() <= 80 && l.is_ascii())
    );
    let server = Server::start(&repo);
    let meta = tmp.path().join("device-meta");
    let dl = tmp.path().join("device-files");
    ok(Command::new(agent())
        .args([
            "--metadata-dir",
            meta.to_str().unwrap(),
            "init",
            enroll.to_str().unwrap(),
        ])
        .output()
        .unwrap());
    ok(agent_download(
        &meta,
        &server,
        "config/001565aabbcc.cfg",
        &dl,
    ));
    assert_eq!(
        std::fs::read(dl.join("config/001565aabbcc.cfg")).unwrap(),
        b"static.wifi.enable = 0\n"
    );
    ok(agent_download(&meta, &server, "firmware/T54W.rom", &dl));
    // Device A is offered device B's config: refused.
    let out = agent_download(&meta, &server, "config/001565ddeeff.cfg", &dl);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("is for device 001565ddeeff, not 001565aabbcc"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // python-tuf's ngclient accepts the published repository too.
    let out = ngclient_fetch(
        &std::fs::read(repo.join("metadata/1.root.json")).unwrap(),
        &server,
        &[
            "firmware/T54W.rom",
            "config/001565aabbcc.cfg",
            "config/001565ddeeff.cfg",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Rotate the timestamp key: root v2, signed by 2 of the 3 root keys from the vault.
    ok(hookswitch(&[
        "keys",
        "generate",
        "--role",
        "timestamp",
        "--out",
        k(&online, "timestamp2").to_str().unwrap(),
    ]));
    let rot = tmp.path().join("rotate.json");
    ok(hookswitch(&[
        "repo",
        "rotate",
        "--repo",
        &s(repo.clone()),
        "--timestamp-key",
        &s(k(&online, "timestamp2")),
        "-o",
        &s(rot.clone()),
    ]));
    ok(hookswitch(&[
        "repo",
        "sign",
        "--request",
        &s(rot.clone()),
        "--key",
        &s(k(&vault, "root1")),
        "--key",
        &s(k(&vault, "root3")),
    ]));
    drop(signer);
    std::fs::remove_file(k(&online, "timestamp")).unwrap();
    let signer = Signer::start(&online);
    ok(publish(&repo, Some(&rot), &signer, None));
    assert!(
        repo.join("metadata/2.root.json").exists() && repo.join("metadata/1.root.json").exists(),
        "every root version stays published"
    );
    // A publication without a request re-signs snapshot and timestamp only.
    ok(publish(&repo, None, &signer, None));
    // The enrolled device walks root 1 → 2 and keeps working.
    ok(agent_download(
        &meta,
        &server,
        "config/001565aabbcc.cfg",
        &dl,
    ));
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta.join("root.json")).unwrap()).unwrap();
    assert_eq!(stored["signed"]["version"], 2);

    // The signer refuses a rollback of the timestamp and an unauthenticated caller.
    let ts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo.join("metadata/timestamp.json")).unwrap())
            .unwrap();
    let signer_http = curl::Post::new(&signer.1);
    assert_eq!(
        signer_http.sign("timestamp", &ts["signed"], TOKEN),
        403,
        "same version again is a rollback"
    );
    assert_eq!(
        signer_http.sign(
            "timestamp",
            &ts["signed"],
            "wrong-token-wrong-token-wrong-token!"
        ),
        401
    );
    assert_eq!(
        signer_http.sign("root", &ts["signed"], TOKEN),
        403,
        "never signs offline roles"
    );
}

/// A minimal HTTP POST with curl (a real client, from Debian), to poke the signer directly.
mod curl {
    pub struct Post(String);
    impl Post {
        pub fn new(url: &str) -> Post {
            Post(format!("{url}/v1/sign"))
        }
        pub fn sign(&self, role: &str, signed: &serde_json::Value, token: &str) -> u16 {
            let body = serde_json::json!({"role": role, "signed": signed}).to_string();
            let out = std::process::Command::new("curl")
                .args([
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "-X",
                    "POST",
                    "-H",
                    "content-type: application/json",
                    "-H",
                ])
                .arg(format!("authorization: Bearer {token}"))
                .args(["--data-binary", &body, &self.0])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or(0)
        }
    }
}
