//! `hookswitch fleet-sim` against a real `hookswitch serve`, on a repository made by the real
//! ceremony (keys, init, offline signing, the online signer process, publish): every device
//! boots and verifies; a device whose certificate leaves the store fails with the reason; and
//! a publication while devices boot costs no device anything, nor mixes two versions.

mod common;
#[path = "../../agent/tests/support/pki.rs"]
mod pki;

use common::{hookswitch, ok, publish, root_fingerprint, run_bounded, Signer};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DEVICES: u64 = 20;

struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(dir: &Path, repo: &Path, database: &str) -> Serve {
        let (_, cert, key) = pki::pki(dir, "server");
        let mut child = Command::new(env!("CARGO_BIN_EXE_hookswitch"))
            .arg("serve")
            .arg("--repo")
            .arg(repo)
            .arg("--root")
            .arg(repo.join("metadata/1.root.json"))
            .args(["--listen", "127.0.0.1:0", "--poll-ms", "50"])
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .args(["--database", database])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("serve exited early").unwrap();
            if let Some(u) = line.strip_prefix("serve: listening on ") {
                break u.to_string();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Keys, `repo init` for `devices`, offline signatures (2 of 3 roots), publish through the
/// online signer process.
fn ceremony(tmp: &Path) -> (PathBuf, Signer) {
    let (offline, online, repo) = (tmp.join("offline"), tmp.join("online"), tmp.join("repo"));
    common::generate_keys(&offline, &online);
    let req = tmp.join("init.json");
    let pin = root_fingerprint(&ok(hookswitch(&common::init_args(
        &repo, &offline, &online, DEVICES, &req,
    ))));
    let mut sign = vec![
        "repo".to_string(),
        "sign".into(),
        "--request".into(),
        s(&req),
    ];
    for k in ["root1", "root2", "targets", "firmware", "apps", "config"] {
        sign.extend(["--key".into(), s(&common::key_file(&offline, k))]);
    }
    ok(hookswitch(&sign));
    let signer = Signer::start(&online);
    ok(publish(&repo, Some(&req), &signer, Some(&pin)));
    (repo, signer)
}

/// Stage and publish a config for each of `ids` (bins are signed online: no offline key).
fn publish_configs(repo: &Path, signer: &Signer, configs: &Path, ids: &[String], req: &Path) {
    let mut stage = vec![
        "repo".to_string(),
        "stage".into(),
        "--repo".into(),
        s(repo),
        "--hardware".into(),
        "yealink/T54W".into(),
        "-o".into(),
        s(req),
    ];
    for id in ids {
        stage.extend([
            "--device-config".into(),
            format!("{id}={}", s(&configs.join(format!("{id}.cfg")))),
        ]);
    }
    ok(hookswitch(&stage));
    ok(publish(repo, Some(req), signer, None));
}

fn fleet_run(
    serve: &Serve,
    ca: &Path,
    ids: &Path,
    devices: u64,
) -> (Option<i32>, serde_json::Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookswitch"));
    cmd.args(["fleet-sim", "run", "--server", &serve.url, "--ca"])
        .arg(ca)
        .arg("--identities")
        .arg(ids)
        .args([
            "--concurrency",
            "8",
            "--format",
            "json",
            "--duration-limit",
            "60",
        ])
        .args(["--devices", &devices.to_string()]);
    let out = run_bounded(cmd, Duration::from_secs(90));
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

#[test]
fn fleet_boots_verified_a_revoked_device_fails_and_a_publication_mixes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, signer) = ceremony(tmp.path());
    let database = format!("sqlite://{}", s(&tmp.path().join("store.db")));
    let ids = tmp.path().join("fleet");
    let setup = |out: &Path| {
        hookswitch(&[
            "fleet-sim",
            "setup",
            "--out",
            &s(out),
            "--devices",
            &DEVICES.to_string(),
            "--repo",
            &s(&repo),
            "--database",
            &database,
        ])
    };
    ok(setup(&ids));
    // A second setup never mixes identities: the directory is refused, nothing changes.
    let manifest = std::fs::read(ids.join("fleet.json")).unwrap();
    let again = setup(&ids);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::read(ids.join("fleet.json")).unwrap(), manifest);
    // The same devices enrolled twice in one store: refused by name.
    let other = setup(&tmp.path().join("fleet2"));
    assert_eq!(other.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("device 020000000000 already exists"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

    let all: Vec<String> = (0..DEVICES).map(hookswitch_fleetsim::device_id).collect();
    let configs = ids.join("configs");
    publish_configs(
        &repo,
        &signer,
        &configs,
        &all,
        &tmp.path().join("configs.json"),
    );
    let serve = Serve::start(tmp.path(), &repo, &database);
    let ca = tmp.path().join("server-ca.pem");

    let (code, report) = fleet_run(&serve, &ca, &ids, DEVICES);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["succeeded"], DEVICES, "{report}");
    assert_eq!(report["failed"], 0, "{report}");

    // The last device's certificate leaves the store: it alone fails, and says why.
    let revoked = all.last().unwrap().clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = hookswitch_store::Store::open(&database).await.unwrap();
        store.remove_device(&revoked).await.unwrap();
        store.close().await;
    });
    let (code, report) = fleet_run(&serve, &ca, &ids, DEVICES);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["succeeded"], DEVICES - 1, "{report}");
    assert_eq!(report["failures"]["unauthenticated"], 1, "{report}");
    assert_eq!(
        report["failed_devices"][&revoked], "unauthenticated",
        "{report}"
    );
    let why = report["failure_examples"]["unauthenticated"]
        .as_str()
        .unwrap();
    assert!(
        why.contains(&format!("config/{revoked}.cfg")) && why.contains("HTTP 401"),
        "{why}"
    );

    // A publication (new configs for five devices) while the fleet boots again and again:
    // no device fails, none sees two versions at once, and the new version arrives.
    let changed = &all[..5];
    for id in changed {
        std::fs::write(
            configs.join(format!("{id}.cfg")),
            format!("# {id} release 2\n"),
        )
        .unwrap();
    }
    let before = std::fs::read(repo.join("metadata/timestamp.json")).unwrap();
    // Runs go back to back from before the publication starts until every device ends on
    // the new version.
    let (repo2, configs2, req) = (repo.clone(), configs.clone(), tmp.path().join("r2.json"));
    let changed = changed.to_vec();
    let versions = std::thread::scope(|scope| {
        let mut worker = None;
        let mut versions = std::collections::BTreeSet::new();
        let start = Instant::now();
        for run in 1.. {
            let done = worker
                .as_ref()
                .is_some_and(|w: &std::thread::ScopedJoinHandle<()>| w.is_finished());
            let (code, report) = fleet_run(&serve, &ca, &ids, DEVICES - 1);
            assert_eq!(code, Some(0), "run {run}: {report}");
            assert_eq!(report["failed"], 0, "run {run}: {report}");
            let seen = report["timestamp_versions"].as_object().unwrap();
            versions.extend(seen.keys().cloned());
            if worker.is_none() {
                worker = Some(
                    scope.spawn(|| publish_configs(&repo2, &signer, &configs2, &changed, &req)),
                );
                continue;
            }
            let now = std::fs::read(repo.join("metadata/timestamp.json")).unwrap();
            if done && now != before {
                let latest: serde_json::Value = serde_json::from_slice(&now).unwrap();
                let v = latest["signed"]["version"].to_string();
                if seen.len() == 1 && seen.contains_key(&v) {
                    break;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "the new version was never served to every device"
            );
        }
        versions
    });
    assert!(versions.len() >= 2, "runs saw only {versions:?}");
}
