//! The agent's own state and its network limits (issue 7 items 4 and 9, and its temp
//! files): identity and release counters fail closed, live outside the metadata names,
//! several targets download in order, and a silent or trickling server cannot hold it.

use hookswitch_trust::testkit::Repo;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{write_repo, Server};

const AGENT: &str = env!("CARGO_BIN_EXE_hookswitch-agent");

/// A repository served over HTTP, and an agent enrolled as device 001565aabbcc.
struct Setup {
    _site: tempfile::TempDir,
    server: Server,
    meta: tempfile::TempDir,
    dl: tempfile::TempDir,
}

fn setup() -> Setup {
    let repo = Repo::new();
    let site = tempfile::tempdir().unwrap();
    write_repo(&repo, site.path());
    let server = Server::start(site.path());
    let meta = tempfile::tempdir().unwrap();
    let root: serde_json::Value = serde_json::from_slice(&repo.trusted_root()).unwrap();
    let bundle = serde_json::json!({
        "format": "hookswitch-enrollment-v1", "device_id": "001565aabbcc", "root": root,
    });
    let enroll = site.path().join("enroll.json");
    std::fs::write(&enroll, bundle.to_string()).unwrap();
    let st = Command::new(AGENT)
        .arg("--metadata-dir")
        .arg(meta.path())
        .arg("init")
        .arg(&enroll)
        .status()
        .unwrap();
    assert!(st.success());
    Setup {
        _site: site,
        server,
        meta,
        dl: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn download(&self, names: &[&str]) -> Output {
        let mut c = Command::new(AGENT);
        c.arg("--metadata-dir")
            .arg(self.meta.path())
            .args(["--metadata-url", &self.server.url("metadata")]);
        for n in names {
            c.args(["--target-name", n]);
        }
        c.args(["--target-base-url", &self.server.url("targets")])
            .arg("--target-dir")
            .arg(self.dl.path())
            .arg("download")
            .output()
            .unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn damaged_identity_or_release_counters_fail_closed() {
    let s = setup();
    let out = s.download(&["config/001565aabbcc.cfg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let releases = s.meta.path().join("state/releases.json");
    assert_eq!(
        std::fs::read_to_string(&releases).unwrap(),
        r#"{"config/001565aabbcc.cfg":1}"#
    );
    // A corrupt counter file must not reset rollback protection to "nothing installed".
    std::fs::write(&releases, b"{\"config/001565aabbcc.cfg\": ").unwrap();
    let out = s.download(&["config/001565aabbcc.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("releases.json") && stderr(&out).contains("re-enroll"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&releases, br#"{"config/001565aabbcc.cfg":1}"#).unwrap();
    // An unreadable identity must not skip the device check.
    let device = s.meta.path().join("state/device.json");
    std::fs::write(&device, b"\x00garbage").unwrap();
    let out = s.download(&["config/001565aabbcc.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("device.json"), "{}", stderr(&out));
    // A directory where the identity file belongs: not "no identity" either.
    std::fs::remove_file(&device).unwrap();
    std::fs::create_dir(&device).unwrap();
    let out = s.download(&["config/001565aabbcc.cfg"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn only_tuf_metadata_uses_the_json_names() {
    let s = setup();
    let out = s.download(&["config/001565aabbcc.cfg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut roles = Vec::new();
    for e in std::fs::read_dir(s.meta.path()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(role) = name.strip_suffix(".json") {
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(s.meta.path().join(&name)).unwrap()).unwrap();
            assert!(doc["signed"]["_type"].is_string(), "{name} is not metadata");
            roles.push(role.to_string());
        }
    }
    roles.sort();
    assert_eq!(
        roles,
        [
            "config",
            "config-bin-8",
            "root",
            "snapshot",
            "targets",
            "timestamp"
        ]
    );
}

#[test]
fn several_targets_download_in_order_and_the_first_failure_stops() {
    let s = setup();
    let out = s.download(&["firmware/T54W.rom", "apps/directory.apk"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(s.dl.path().join("firmware/T54W.rom").is_file());
    assert!(s.dl.path().join("apps/directory.apk").is_file());
    let out = s.download(&[
        "config/001565aabbcc.cfg",
        "firmware/none.rom",
        "config/001565ddeeff.cfg",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(s.dl.path().join("config/001565aabbcc.cfg").is_file());
    assert!(
        !s.dl.path().join("config/001565ddeeff.cfg").exists(),
        "nothing after the failure"
    );
}

#[test]
fn targets_are_stored_under_their_paths_and_never_outside() {
    let s = setup();
    // Something in the way of config/: not followed, not replaced.
    std::os::unix::fs::symlink("/tmp", s.dl.path().join("config")).unwrap();
    let out = s.download(&["config/001565aabbcc.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a directory"), "{}", stderr(&out));
    assert!(!Path::new("/tmp/001565aabbcc.cfg").exists());
    std::fs::remove_file(s.dl.path().join("config")).unwrap();
    // A link where the file goes: not written through either.
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"untouched").unwrap();
    std::fs::create_dir(s.dl.path().join("config")).unwrap();
    let leaf = s.dl.path().join("config/001565aabbcc.cfg");
    std::os::unix::fs::symlink(&victim, &leaf).unwrap();
    let out = s.download(&["config/001565aabbcc.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
    std::fs::remove_file(&leaf).unwrap();
    // The same for the metadata the agent stores.
    let ts = s.meta.path().join("timestamp.json");
    std::fs::remove_file(&ts).unwrap();
    std::os::unix::fs::symlink(&victim, &ts).unwrap();
    let out = s.download(&["config/001565aabbcc.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
    std::fs::remove_file(&ts).unwrap();
    let out = s.download(&["config/001565aabbcc.cfg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("config/001565aabbcc.cfg:") && said.contains("sha256 verified, release 1"),
        "{said}"
    );
    assert!(s.dl.path().join("config/001565aabbcc.cfg").is_file());
}

#[test]
fn missing_flags_are_reported_together() {
    let meta = tempfile::tempdir().unwrap();
    let out = Command::new(AGENT)
        .arg("--metadata-dir")
        .arg(meta.path())
        .arg("download")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "missing --metadata-url URL, --target-name PATH, --target-base-url URL, --target-dir DIR"
        ),
        "{}",
        stderr(&out)
    );
    let help = Command::new(AGENT)
        .args(["download", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--target-base-url") && help.contains("--min-rate"),
        "{help}"
    );
}

#[test]
fn a_killed_download_leaves_no_temp_file_behind() {
    let s = setup();
    let stale =
        s.dl.path()
            .join("firmware/.T54W.rom.tmp-4242-0011223344556677-0");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, b"half a firmware").unwrap();
    let out = s.download(&["firmware/T54W.rom"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale.exists());
}

/// Run `agent refresh` against `url`; it must end by itself (the wait is bounded).
fn refresh_must_end(meta: &Path, url: &str, extra: &[&str]) -> Output {
    let mut child = Command::new(AGENT)
        .arg("--metadata-dir")
        .arg(meta)
        .args(["--metadata-url", url])
        .args(extra)
        .arg("refresh")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the agent hung on a hostile server");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A loopback server that answers each connection with `respond` (bounded: it stops with
/// the test process, and serves at most 8 connections).
fn hostile_server(respond: fn(std::net::TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metadata", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8).flatten() {
            std::thread::spawn(move || respond(stream));
        }
    });
    url
}

#[test]
fn a_silent_server_times_out() {
    let s = setup();
    let url = hostile_server(|mut stream| {
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf);
        std::thread::sleep(Duration::from_secs(30));
    });
    let out = refresh_must_end(s.meta.path(), &url, &["--idle-timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("timeout"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_trickling_server_is_cut_off() {
    let s = setup();
    // Headers at once, then one byte every 200 ms: never idle for a second, but at that
    // rate 16 KiB would take an hour.
    let url = hostile_server(|mut stream| {
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 16000\r\n\r\n");
        for _ in 0..150 {
            if stream.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let out = refresh_must_end(
        s.meta.path(),
        &url,
        &[
            "--idle-timeout",
            "1",
            "--connect-timeout",
            "1",
            "--min-rate",
            "100000",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("timeout"),
        "{}",
        stderr(&out)
    );
}
