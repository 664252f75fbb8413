//! A crash at any moment of `repo publish` leaves a repository that (a) still verifies
//! for our agent and for python-tuf, and (b) the same `repo publish` command run again
//! completes. Deterministic: the failpoint aborts the publisher right after its Nth
//! durable write, for every N of one publication; then a few real `kill -9`s.
//!
//! `HOOKSWITCH_CRASH_DEVICES` sets the release size (default 200 device configs; 1000 is the
//! long run), `HOOKSWITCH_CRASH_KILLS` the number of `kill -9` runs (default 3).

mod common;

use common::support::{agent_download, ngclient_fetch, Server};
use common::{agent, hookswitch, ok, root_fingerprint, Signer};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn device(i: usize) -> String {
    format!("0015650{i:05x}")
}

/// Stage (and write the config files for) one release of every device's config.
fn stage_release(repo: &Path, files: &Path, devices: usize, release: u32, out: &Path) {
    std::fs::create_dir_all(files).unwrap();
    let mut args: Vec<String> = vec!["repo".into(), "stage".into(), "--repo".into()];
    args.push(repo.display().to_string());
    for i in 0..devices {
        let f = files.join(format!("{}.cfg", device(i)));
        std::fs::write(&f, config_text(i, release)).unwrap();
        args.push("--device-config".into());
        args.push(format!("{}={}", device(i), f.display()));
    }
    args.extend(["-o".into(), out.display().to_string()]);
    ok(hookswitch(&args));
}

fn config_text(i: usize, release: u32) -> String {
    format!("# device {i}, release {release}\nstatic.wifi.enable = 0\n")
}

/// `repo publish` of `request`, as a command (the caller adds a failpoint or kills it).
fn publish_cmd(repo: &Path, request: &Path, signer: &Signer) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hookswitch"));
    c.args(["repo", "publish", "--repo"])
        .arg(repo)
        .arg("--request")
        .arg(request)
        .args(["--signer", &signer.1])
        .env("HOOKSWITCH_SIGNER_TOKEN", common::TOKEN);
    c
}

/// Replace `dst` with a hard-linked copy of `src` (publish never modifies a file in place).
fn reset(src: &Path, dst: &Path) {
    if dst.exists() {
        std::fs::remove_dir_all(dst).unwrap();
    }
    let st = Command::new("cp")
        .arg("-al")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(st.success());
}

struct Bed {
    tmp: tempfile::TempDir,
    base: PathBuf,
    work: PathBuf,
    enroll: PathBuf,
    request: PathBuf,
    devices: usize,
}

impl Bed {
    /// The served tree verifies with our agent, and the device sees release 1 or release 2
    /// (release 2 exactly when the timestamp changed); python-tuf too if `with_python`.
    fn served_tree_verifies(&self, server: &Server, label: &str, with_python: bool) -> u32 {
        let ts_changed = std::fs::read(self.work.join("metadata/timestamp.json")).unwrap()
            != std::fs::read(self.base.join("metadata/timestamp.json")).unwrap();
        let dev = self.devices / 2;
        let name = format!("config/{}.cfg", device(dev));
        let meta = self.tmp.path().join("agent-meta");
        let dl = self.tmp.path().join("agent-dl");
        for d in [&meta, &dl] {
            let _ = std::fs::remove_dir_all(d);
        }
        ok(Command::new(agent())
            .args(["--metadata-dir", meta.to_str().unwrap(), "init"])
            .arg(&self.enroll)
            .output()
            .unwrap());
        let out = agent_download(&agent(), &meta, server, &name, &dl);
        assert!(
            out.status.success(),
            "{label}: agent: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = std::fs::read_to_string(dl.join(format!("config/{}.cfg", device(dev)))).unwrap();
        let release = if ts_changed { 2 } else { 1 };
        assert_eq!(got, config_text(dev, release), "{label}: inconsistent tree");
        if with_python {
            let root = std::fs::read(self.base.join("metadata/1.root.json")).unwrap();
            let out = ngclient_fetch(&root, server, &[&name]);
            assert!(
                out.status.success(),
                "{label}: python-tuf: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        release
    }

    /// The same command again completes, and the device then sees release 2.
    fn next_publish_succeeds(&self, server: &Server, signer: &Signer, label: &str) {
        let out = publish_cmd(&self.work, &self.request, signer)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{label}: the re-run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            self.served_tree_verifies(server, label, false),
            2,
            "{label}: after the re-run"
        );
        let leftovers: Vec<String> = std::fs::read_dir(self.work.join("metadata"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{label}: temp files left: {leftovers:?}"
        );
    }
}

fn aborted(out: &Output) -> bool {
    out.status.signal() == Some(6)
}

#[test]
fn publish_survives_a_crash_after_every_write_and_kill_9() {
    let devices = env_count("HOOKSWITCH_CRASH_DEVICES", 200);
    let kills = env_count("HOOKSWITCH_CRASH_KILLS", 3);
    let tmp = tempfile::tempdir().unwrap();
    let (offline, online) = (tmp.path().join("offline"), tmp.path().join("online"));
    let base = tmp.path().join("base");
    common::generate_keys(&offline, &online);
    let init = tmp.path().join("init.json");
    let pin = root_fingerprint(&ok(hookswitch(&common::init_args(
        &base,
        &offline,
        &online,
        devices as u64,
        &init,
    ))));
    let mut sign: Vec<String> = vec!["repo".into(), "sign".into(), "--request".into()];
    sign.push(init.display().to_string());
    for name in ["root1", "root2", "targets", "firmware", "apps", "config"] {
        sign.push("--key".into());
        sign.push(common::key_file(&offline, name).display().to_string());
    }
    ok(hookswitch(&sign));
    let signer = Signer::start(&online);
    ok(publish_cmd(&base, &init, &signer)
        .args(["--expect-root", &pin])
        .output()
        .unwrap());
    let files = tmp.path().join("files");
    let rel1 = tmp.path().join("rel1.json");
    stage_release(&base, &files.join("1"), devices, 1, &rel1);
    ok(publish_cmd(&base, &rel1, &signer).output().unwrap());
    let request = tmp.path().join("rel2.json");
    stage_release(&base, &files.join("2"), devices, 2, &request);
    let enroll = tmp.path().join("enroll.json");
    ok(hookswitch(&[
        "enroll",
        "--repo",
        base.to_str().unwrap(),
        "--device-id",
        &device(devices / 2),
        "-o",
        enroll.to_str().unwrap(),
    ]));
    let work = tmp.path().join("work");
    reset(&base, &work);
    let server = Server::start(&work);
    let bed = Bed {
        tmp,
        base,
        work,
        enroll,
        request,
        devices,
    };

    // Abort after write N, for N = 1, 2, … until a publication completes without reaching N.
    let mut n = 1u64;
    let full_run = loop {
        assert!(n <= 4 * devices as u64 + 100, "publish never completed");
        reset(&bed.base, &bed.work);
        let t = Instant::now();
        let out = publish_cmd(&bed.work, &bed.request, &signer)
            .env("HOOKSWITCH_FAILPOINT_ABORT_AFTER_WRITES", n.to_string())
            .output()
            .unwrap();
        if out.status.success() {
            break t.elapsed();
        }
        let label = format!("abort after write {n}");
        assert!(
            aborted(&out),
            "{label}: {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        bed.served_tree_verifies(&server, &label, n.is_multiple_of(5));
        bed.next_publish_succeeds(&server, &signer, &label);
        n += 1;
    };
    let writes = n - 1;
    assert!(
        writes > devices as u64,
        "one write per device config at least, saw {writes}"
    );
    eprintln!("publish_crash: {devices} devices, {writes} writes, each one a crash point");

    // Real kill -9 at moments spread over a publication.
    for k in 0..kills {
        reset(&bed.base, &bed.work);
        let delay = full_run.mul_f64((k as f64 + 0.5) / kills as f64);
        let mut child = publish_cmd(&bed.work, &bed.request, &signer)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay.min(Duration::from_secs(30)));
        let _ = child.kill();
        let _ = child.wait();
        let label = format!("kill -9 after {delay:?}");
        bed.served_tree_verifies(&server, &label, true);
        bed.next_publish_succeeds(&server, &signer, &label);
    }
}
