//! `hookswitch serve` as a process: on a repository from the real ceremony (`repo init`,
//! `sign`, `publish`, `stage`), to our agent, python-tuf and curl with device certificates;
//! and it refuses to start when private key material lies in the repository.

mod common;
#[path = "../../agent/tests/support/pki.rs"]
mod pki;

use common::support::{ngclient_fetch_from, write_repo};
use common::{hookswitch, ok, publish, root_fingerprint, Signer};
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
}

/// `hookswitch serve` running until dropped; its HTTPS base URL.
struct Serving(std::process::Child, String);

impl Serving {
    fn start(args: &[String]) -> Serving {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookswitch"))
            .args(args)
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
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Serving(child, url)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn curl_code(url: &str, ca: &Path, cert: &Path, key: &Path) -> String {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "20",
        ])
        .arg("--cacert")
        .arg(ca)
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .arg(url)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_ceremony_repository_is_served_to_the_agent_python_tuf_and_phones() {
    let tmp = tempfile::tempdir().unwrap();
    let (offline, online, repo) = (
        tmp.path().join("offline"),
        tmp.path().join("online"),
        tmp.path().join("repo"),
    );
    let s = |p: &Path| p.display().to_string();
    common::generate_keys(&offline, &online);
    let req = tmp.path().join("init.json");
    let pin = root_fingerprint(&ok(hookswitch(&common::init_args(
        &repo, &offline, &online, 100, &req,
    ))));
    let mut sign = vec![
        "repo".to_string(),
        "sign".into(),
        "--request".into(),
        s(&req),
    ];
    for name in ["root1", "root3", "targets", "firmware", "apps", "config"] {
        sign.extend(["--key".into(), s(&common::key_file(&offline, name))]);
    }
    ok(hookswitch(&sign));
    let signer = Signer::start(&online);
    ok(publish(&repo, Some(&req), &signer, Some(&pin)));
    let files = tmp.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("001565aabbcc.cfg"), b"own config\n").unwrap();
    std::fs::write(files.join("001565ddeeff.cfg"), b"other config\n").unwrap();
    std::fs::write(files.join("T54W.rom"), b"firmware 96.86").unwrap();
    let release = tmp.path().join("release.json");
    ok(hookswitch(&[
        "repo".to_string(),
        "stage".into(),
        "--repo".into(),
        s(&repo),
        "--device-config".into(),
        format!("001565aabbcc={}", s(&files.join("001565aabbcc.cfg"))),
        "--device-config".into(),
        format!("001565ddeeff={}", s(&files.join("001565ddeeff.cfg"))),
        "--target".into(),
        format!("firmware/T54W.rom={}", s(&files.join("T54W.rom"))),
        "--hardware".into(),
        "yealink/T54W".into(),
        "-o".into(),
        s(&release),
    ]));
    ok(hookswitch(&[
        "repo".to_string(),
        "sign".into(),
        "--request".into(),
        s(&release),
        "--key".into(),
        s(&common::key_file(&offline, "firmware")),
    ]));
    ok(publish(&repo, Some(&release), &signer, None));
    drop(signer);

    let root = repo.join("metadata/1.root.json");
    let (ca, cert, key) = pki::pki(tmp.path(), "server");
    let devices = pki::DeviceCa::new(tmp.path(), "enrollment");
    let mut args = vec![
        "serve".to_string(),
        "--repo".into(),
        s(&repo),
        "--root".into(),
        s(&root),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--tls-cert".into(),
        s(&cert),
        "--tls-key".into(),
        s(&key),
        "--client-ca".into(),
        s(&devices.pem),
        "--database".into(),
        format!("sqlite://{}", s(&tmp.path().join("store.db"))),
    ];
    args.extend(["--poll-ms".into(), "200".into()]);
    let serving = Serving::start(&args);
    let url = &serving.1;

    // The phone, by its vendor's file name and its own certificate.
    let (c, k, _) = pki::device_cert(tmp.path(), Some(&devices), "001565aabbcc", false);
    assert_eq!(
        curl_code(&format!("{url}/001565aabbcc.cfg"), &ca, &c, &k),
        "200"
    );
    assert_eq!(
        curl_code(&format!("{url}/001565ddeeff.cfg"), &ca, &c, &k),
        "403"
    );

    // The agent, enrolled as 001565aabbcc, over HTTPS.
    let enroll = tmp.path().join("enroll.json");
    ok(hookswitch(&[
        "enroll".to_string(),
        "--repo".into(),
        s(&repo),
        "--device-id".into(),
        "001565aabbcc".into(),
        "-o".into(),
        s(&enroll),
    ]));
    let meta = tmp.path().join("agent");
    let agent = common::agent();
    ok(Command::new(&agent)
        .arg("--metadata-dir")
        .arg(&meta)
        .arg("init")
        .arg(&enroll)
        .output()
        .unwrap());
    let dl = tmp.path().join("dl");
    let download = |name: &str| {
        Command::new(&agent)
            .arg("--metadata-dir")
            .arg(&meta)
            .arg("--ca-file")
            .arg(&ca)
            .args(["--metadata-url", &format!("{url}/metadata")])
            .args(["--target-base-url", &format!("{url}/targets")])
            .args(["--target-name", name, "--target-dir"])
            .arg(&dl)
            .arg("download")
            .output()
            .unwrap()
    };
    ok(download("firmware/T54W.rom"));
    assert_eq!(
        std::fs::read(dl.join("firmware/T54W.rom")).unwrap(),
        b"firmware 96.86"
    );
    // The agent presents no client certificate: the metadata is public, its config is not.
    let out = download("config/001565aabbcc.cfg");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // python-tuf refreshes and downloads the firmware through the server.
    let out = ngclient_fetch_from(
        &std::fs::read(&root).unwrap(),
        &format!("{url}/metadata/"),
        &format!("{url}/targets/"),
        Some(&ca),
        &["firmware/T54W.rom"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
