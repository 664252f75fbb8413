//! Shared by the CLI's end-to-end tests: the real `hookswitch` binary, its signer process,
//! and the agent binary beside it.
#![allow(dead_code)]

#[path = "../../../agent/tests/support/mod.rs"]
pub mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::workspace;

pub const PASS: &str = "correct horse battery staple";
pub const TOKEN: &str = "0123456789abcdef0123456789abcdef-test-token";

pub fn hookswitch<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hookswitch"))
        .args(args)
        .env("HOOKSWITCH_KEY_PASSPHRASE", PASS)
        .env("HOOKSWITCH_SIGNER_TOKEN", TOKEN)
        .output()
        .unwrap()
}

pub fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The agent binary lives beside ours; build it if this test runs alone.
pub fn agent() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_hookswitch")).with_file_name("hookswitch-agent");
    if !p.exists() {
        let st = Command::new(env!("CARGO"))
            .args(["build", "-p", "hookswitch-agent"])
            .current_dir(workspace())
            .status()
            .unwrap();
        assert!(st.success());
    }
    p
}

pub struct Signer(pub Child, pub String);

impl Signer {
    pub fn start(key_dir: &Path) -> Signer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookswitch"))
            .args([
                "signer",
                "--key-dir",
                key_dir.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .env("HOOKSWITCH_KEY_PASSPHRASE", PASS)
            .env("HOOKSWITCH_SIGNER_TOKEN", TOKEN)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split_whitespace()
            .find(|w| w.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| panic!("signer said {line:?}"))
            .to_string();
        Signer(child, format!("http://{addr}"))
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `repo publish` of `request` (or, without one, a re-signing of snapshot and timestamp),
/// pinned to `expect_root` when given.
pub fn publish(
    repo: &Path,
    request: Option<&Path>,
    signer: &Signer,
    expect_root: Option<&str>,
) -> Output {
    let mut args: Vec<String> = vec!["repo".into(), "publish".into(), "--repo".into()];
    args.push(repo.display().to_string());
    if let Some(r) = request {
        args.extend(["--request".into(), r.display().to_string()]);
    }
    args.extend(["--signer".into(), signer.1.clone()]);
    if let Some(pin) = expect_root {
        args.extend(["--expect-root".into(), pin.to_string()]);
    }
    hookswitch(&args)
}

/// The fingerprint `repo init` / `repo sign` print for the administrator to carry.
pub fn root_fingerprint(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("root v1 fingerprint"))
        .unwrap_or_else(|| panic!("no fingerprint in {err}"));
    line.rsplit(' ').next().unwrap().to_string()
}

/// `dir/<name>.key`.
pub fn key_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.key"))
}

/// The offline keys (root1..3, targets, firmware, apps, config) and the online ones
/// (snapshot, timestamp, bins), through `hookswitch keys generate`.
pub fn generate_keys(offline: &Path, online: &Path) {
    let offline_names = [
        "root1", "root2", "root3", "targets", "firmware", "apps", "config",
    ];
    let all = offline_names.iter().map(|n| (offline, *n)).chain(
        ["snapshot", "timestamp", "bins"]
            .iter()
            .map(|n| (online, *n)),
    );
    for (dir, name) in all {
        let role = name.trim_end_matches(char::is_numeric);
        let out = key_file(dir, name);
        ok(hookswitch(&[
            "keys",
            "generate",
            "--role",
            role,
            "--out",
            out.to_str().unwrap(),
        ]));
    }
}

/// `repo init` arguments for the keys of [`generate_keys`].
pub fn init_args(
    repo: &Path,
    offline: &Path,
    online: &Path,
    devices: u64,
    out: &Path,
) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "repo".into(),
        "init".into(),
        "--repo".into(),
        repo.display().to_string(),
    ];
    let keys = [
        ("--root-key", offline, "root1"),
        ("--root-key", offline, "root2"),
        ("--root-key", offline, "root3"),
        ("--targets-key", offline, "targets"),
        ("--firmware-key", offline, "firmware"),
        ("--apps-key", offline, "apps"),
        ("--config-key", offline, "config"),
        ("--bins-key", online, "bins"),
        ("--snapshot-key", online, "snapshot"),
        ("--timestamp-key", online, "timestamp"),
    ];
    for (flag, dir, name) in keys {
        args.push(flag.into());
        args.push(key_file(dir, name).display().to_string());
    }
    args.extend([
        "--devices".into(),
        devices.to_string(),
        "-o".into(),
        out.display().to_string(),
    ]);
    args
}

/// Run to completion, or kill it after `limit` and fail: a hang (a FIFO read, an endless
/// device) must not hang the test suite.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hookswitch");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect");
            panic!(
                "hookswitch still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect")
}
