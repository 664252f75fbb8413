//! Interoperability with python-tuf 7 (PyPI `tuf`), both ways, over HTTP on 127.0.0.1:
//! - python-tuf's ngclient refreshes and downloads every firmware, app and config target of
//!   a repository hookswitch built, and fails on one tampered byte;
//! - hookswitch-agent refreshes and downloads from a repository built with python-tuf.
//!
//! Python comes from `HOOKSWITCH_PYTHON`, or a venv under `target/tuf-venv` that this test
//! creates with `pip install tuf cryptography` if it is missing.

use hookswitch_trust::testkit::Repo;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("HOOKSWITCH_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace().join("target/tuf-venv");
    let py = venv.join("bin/python");
    let ready = Command::new(&py)
        .args(["-c", "import tuf.ngclient, cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "python3 -m venv failed (on Debian: apt-get install python3-venv)"
        );
        let ok = Command::new(&py)
            .args(["-m", "pip", "install", "-q", "tuf==7.*", "cryptography"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "pip install tuf cryptography failed");
    }
    py
}

/// `python3 -m http.server` on a free loopback port, stopped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python())
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "http.server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lay the testkit repository out as a static site: metadata/ and targets/.
fn write_repo(repo: &Repo, dir: &Path) {
    for (name, bytes) in &repo.files {
        let p = if name.ends_with(".json") && !name.contains('/') {
            dir.join("metadata").join(name)
        } else {
            dir.join("targets").join(name)
        };
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

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
        let meta = tempfile::tempdir().unwrap();
        let dl = tempfile::tempdir().unwrap();
        std::fs::write(meta.path().join("root.json"), repo.trusted_root()).unwrap();
        let out = Command::new(python())
            .arg(workspace().join("crates/agent/tests/interop/ngclient_fetch.py"))
            .args([server.url("metadata/"), server.url("targets/")])
            .arg(meta.path())
            .arg(dl.path())
            .args(&targets)
            .output()
            .unwrap();
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
        let out = Command::new(agent)
            .args([
                "--metadata-dir",
                md,
                "--metadata-url",
                &server.url("metadata"),
                "--target-name",
                name,
                "--target-base-url",
                &server.url("targets"),
                "--target-dir",
            ])
            .arg(dl.path())
            .arg("download")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let local = dl.path().join(name.replace('/', "%2F"));
        assert_eq!(std::fs::read(&local).unwrap(), want);
    }
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
