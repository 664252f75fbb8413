//! Shared by the agent's and the CLI's end-to-end tests (included with `#[path]`):
//! python-tuf in a venv, and a real static HTTP server on loopback.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn python() -> PathBuf {
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
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// `python3 -m http.server` serving `dir`.
    pub fn start(dir: &Path) -> Server {
        Server::spawn(|port| {
            let mut c = Command::new(python());
            c.args(["-m", "http.server", "--bind", "127.0.0.1", "--directory"])
                .arg(dir)
                .arg(port.to_string());
            c
        })
    }

    /// Run the command `make(port)` builds on a free loopback port; wait until it listens.
    pub fn spawn(make: impl FnOnce(u16) -> Command) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = make(port)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "server on port {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hookswitch-agent … download` of one target from `server` (metadata/ and targets/).
pub fn agent_download(
    agent: &Path,
    meta: &Path,
    server: &Server,
    name: &str,
    dir: &Path,
) -> std::process::Output {
    Command::new(agent)
        .args([
            "--metadata-dir",
            meta.to_str().unwrap(),
            "--metadata-url",
            &server.url("metadata"),
            "--target-name",
            name,
        ])
        .args([
            "--target-base-url",
            &server.url("targets"),
            "--target-dir",
            dir.to_str().unwrap(),
            "download",
        ])
        .output()
        .unwrap()
}

/// Lay the testkit repository out as a static site: metadata/ and targets/. As a publisher
/// does, `timestamp.json` comes last and replaces the old one in one rename.
pub fn write_repo(repo: &hookswitch_trust::testkit::Repo, dir: &Path) {
    let timestamp = "timestamp.json";
    for (name, bytes) in repo.files.iter().filter(|(n, _)| *n != timestamp) {
        let p = if name.ends_with(".json") && !name.contains('/') {
            dir.join("metadata").join(name)
        } else {
            dir.join("targets").join(name)
        };
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    if let Some(bytes) = repo.files.get(timestamp) {
        let meta = dir.join("metadata");
        std::fs::create_dir_all(&meta).unwrap();
        let temp = meta.join(".timestamp.json.tmp");
        std::fs::write(&temp, bytes).unwrap();
        std::fs::rename(temp, meta.join(timestamp)).unwrap();
    }
}

/// python-tuf's ngclient (`interop/ngclient_fetch.py`): trust `root`, refresh from
/// `server`'s metadata/ and download each of `targets` from its targets/.
pub fn ngclient_fetch<S: AsRef<std::ffi::OsStr>>(
    root: &[u8],
    server: &Server,
    targets: &[S],
) -> std::process::Output {
    ngclient_fetch_from(
        root,
        &server.url("metadata/"),
        &server.url("targets/"),
        None,
        targets,
    )
}

/// [`ngclient_fetch`] from any base URLs; https:// ones trusted through `ca_file`.
pub fn ngclient_fetch_from<S: AsRef<std::ffi::OsStr>>(
    root: &[u8],
    metadata_url: &str,
    targets_url: &str,
    ca_file: Option<&Path>,
    targets: &[S],
) -> std::process::Output {
    let meta = tempfile::tempdir().unwrap();
    let dl = tempfile::tempdir().unwrap();
    std::fs::write(meta.path().join("root.json"), root).unwrap();
    let mut cmd = Command::new(python());
    cmd.arg(workspace().join("crates/agent/tests/interop/ngclient_fetch.py"))
        .args([metadata_url, targets_url])
        .arg(meta.path())
        .arg(dl.path())
        .args(targets);
    if let Some(ca) = ca_file {
        cmd.env("SSL_CERT_FILE", ca);
    }
    cmd.output().unwrap()
}
