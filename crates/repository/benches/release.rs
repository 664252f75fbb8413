//! Signed-distribution figures. Run: `cargo bench -p hookswitch-repository --bench release`
//! (add `-- quick` for 10,000 devices only and a 256 MiB hash).
//!
//! 1. Sign and publish a release with 10,000 and 100,000 per-device configs: time and bytes.
//! 2. At 100,000 devices, one device's refresh after the first (after a release that
//!    changed 1% of the configs, its own included): bytes downloaded and verify time on one core.
//!    It also counts the signatures that refresh checks and times them in the same run.
//! 3. sha256 of a 1 GiB firmware target, streaming, against `openssl dgst -sha256`, with the
//!    verifier's digest backend (aws-lc-rs: the agent's build) and RustCrypto sha2 alone.

use hookswitch_repository::testkit::{init_keys, offline_init_signers, InProcessSigner};
use hookswitch_repository::{Change, Repository};
use hookswitch_trust::driver;
use hookswitch_trust::metadata::TargetFile;
use hookswitch_trust::Client;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

const NOW: i64 = 1_900_000_000;

/// `cargo test --all-targets` runs this binary without `--bench`: a small smoke run whose
/// debug-build figures mean nothing, so targets are not printed.
fn smoke() -> bool {
    !std::env::args().any(|a| a == "--bench")
}

/// ` (target …)`, or a smoke-run label.
fn target(text: &str) -> String {
    if smoke() {
        " (debug-build smoke run: no target)".into()
    } else {
        format!(" (target {text})")
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn mac(i: usize) -> String {
    format!("0015{i:08x}")
}

fn config(i: usize, release: u32) -> Vec<u8> {
    format!("#!version:1.0.0.1\n# device {i} release {release}\nstatic.wui.http_enable = 0\nstatic.network.snmp.enable = 0\n").into_bytes()
}

fn changes(range: impl Iterator<Item = usize>, release: u32) -> Vec<Change> {
    range
        .map(|i| Change::DeviceConfig {
            device_id: mac(i),
            file_name: format!("{}.cfg", mac(i)),
            hardware: "yealink/T54W".into(),
            bytes: config(i, release),
        })
        .collect()
}

/// Every metadata file, by name, as a device would fetch it.
fn load_metadata(dir: &Path) -> HashMap<String, Vec<u8>> {
    std::fs::read_dir(dir.join("metadata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// Refresh and look one target up, counting the bytes fetched.
fn refresh_and_find(
    c: &mut Client,
    files: &HashMap<String, Vec<u8>>,
    path: &str,
) -> (u64, Option<TargetFile>) {
    let mut bytes = 0u64;
    let mut fetch = |req: &hookswitch_trust::client::Request| {
        let got = files.get(&req.name).cloned();
        bytes += got.as_ref().map_or(0, |b| b.len() as u64);
        Ok(got)
    };
    driver::refresh(c, &mut fetch).unwrap();
    let found = driver::find_target(c, path, &mut fetch, &mut driver::discard).unwrap();
    (bytes, found)
}

fn release(devices: usize) -> (tempfile::TempDir, Repository) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::open(dir.path());
    let mut req = repo.init(&init_keys(), devices as u64, NOW).unwrap();
    for k in offline_init_signers() {
        req.sign(&k).unwrap();
    }
    let pin = hookswitch_trust::ceremony::root_fingerprint(req.root().unwrap()).unwrap();
    let online = InProcessSigner::standard(true);
    repo.publish(req, Some(&pin), &online, NOW).unwrap();
    let t = Instant::now();
    let req = repo.stage(changes(0..devices, 1), NOW).unwrap();
    let staged = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let p = repo.publish(req, None, &online, NOW).unwrap();
    let published = t.elapsed().as_secs_f64();
    println!(
        "release of {devices} device configs: stage {staged:.2} s, sign + publish {published:.2} s, total {:.2} s; {} metadata files, {:.1} MiB of metadata",
        staged + published,
        p.files,
        p.metadata_bytes as f64 / 1048576.0
    );
    (dir, repo)
}

fn per_device_refresh(devices: usize) {
    let (dir, repo) = release(devices);
    let root = std::fs::read(dir.path().join("metadata/1.root.json")).unwrap();
    let before = load_metadata(dir.path());
    // Devices that have refreshed once, at the current release.
    let sample: Vec<usize> = (0..25).map(|k| k * (devices / 25)).collect();
    let mut clients: Vec<Client> = sample
        .iter()
        .map(|&i| {
            let mut c = Client::new(&root, NOW).unwrap();
            refresh_and_find(&mut c, &before, &format!("config/{}.cfg", mac(i)));
            c
        })
        .collect();
    // The next release changes 1% of the configs, the sampled devices' included.
    let changed: Vec<usize> = (0..devices)
        .step_by(100)
        .chain(sample.iter().copied())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let req = repo
        .stage(changes(changed.iter().copied(), 2), NOW)
        .unwrap();
    repo.publish(req, None, &InProcessSigner::standard(true), NOW)
        .unwrap();
    let after = load_metadata(dir.path());
    let mut bytes = Vec::new();
    let mut times = Vec::new();
    let mut checks = Vec::new();
    for (c, &i) in clients.iter_mut().zip(&sample) {
        let before = c.signature_checks();
        let t = Instant::now();
        let (b, found) = refresh_and_find(c, &after, &format!("config/{}.cfg", mac(i)));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(found.unwrap().custom.unwrap()["release"], 2);
        checks.push((c.signature_checks() - before) as f64);
        bytes.push(b as f64);
    }
    let snap = after
        .iter()
        .filter(|(n, _)| n.ends_with(".snapshot.json"))
        .map(|(_, b)| b.len())
        .max()
        .unwrap();
    println!(
        "at {devices} devices, one device's refresh after the first (its bin changed): median {:.1} KiB downloaded (max {:.1} KiB; snapshot alone {:.1} KiB), median verify {:.2} ms on one core (max {:.2} ms) over {} devices",
        median(bytes.clone()) / 1024.0,
        bytes.iter().cloned().fold(0.0, f64::max) / 1024.0,
        snap as f64 / 1024.0,
        median(times.clone()),
        times.iter().cloned().fold(0.0, f64::max),
        sample.len()
    );
    println!("  {}", target("at most 64 KiB and at most 5 ms"));
    // The signatures one such refresh checks, timed alone in this run.
    let c = &clients[0];
    let checked = median(checks);
    let ts = c.trusted_files()[1].1.to_vec();
    let doc: serde_json::Value = serde_json::from_slice(&ts).unwrap();
    let message = hookswitch_trust::crypto::canonical(&doc["signed"]).unwrap();
    let sig = doc["signatures"][0]["sig"].as_str().unwrap().to_string();
    let key_id = doc["signatures"][0]["keyid"].as_str().unwrap();
    let key = c.root().keys[key_id].clone();
    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        assert!(hookswitch_trust::crypto::verify_one(&key, &message, &sig));
    }
    let per_sig = t.elapsed().as_secs_f64() * 1000.0 / n as f64;
    let sigs = per_sig * checked;
    println!(
        "  signature checks in that refresh (median): {checked} x {per_sig:.3} ms = {sigs:.2} ms; the whole refresh costs {:.1}x its signature checks{}",
        median(times.clone()) / sigs,
        target("<= 2x")
    );
}

/// Feed a file to `sink` in 1 MiB reads; seconds taken.
fn stream_file(path: &Path, sink: &mut dyn FnMut(&[u8])) -> f64 {
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let t = Instant::now();
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            return t.elapsed().as_secs_f64();
        }
        sink(&buf[..n]);
    }
}

fn hash_vs_openssl(size: u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("firmware.rom");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut block = vec![0u8; 1 << 20];
        for (i, b) in block.iter_mut().enumerate() {
            *b = (i * 131 % 251) as u8;
        }
        for _ in 0..size >> 20 {
            f.write_all(&block).unwrap();
        }
    }
    let ours = || {
        let info = TargetFile {
            length: size,
            hashes: [("sha256".to_string(), "00".repeat(32))].into(),
            custom: None,
        };
        let client =
            Client::new(&hookswitch_trust::testkit::Repo::new().trusted_root(), NOW).unwrap();
        let mut v = client.target_verifier("firmware/x.rom", &info).unwrap();
        let took = stream_file(&path, &mut |chunk| v.update(chunk).unwrap());
        let _ = v.finish(); // the expected hash is a dummy: only the time matters here
        took
    };
    let openssl = || {
        let t = Instant::now();
        let st = std::process::Command::new("openssl")
            .args(["dgst", "-sha256"])
            .arg(&path)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        t.elapsed().as_secs_f64()
    };
    let sha2_alone = || {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let took = stream_file(&path, &mut |chunk| h.update(chunk));
        let _ = h.finalize();
        took
    };
    let _ = (ours(), openssl()); // warm the page cache
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        a.push(ours());
        b.push(openssl());
        c.push(sha2_alone());
    }
    let mib = size as f64 / 1048576.0;
    let (ma, mb, mc) = (median(a), median(b), median(c));
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let sha_ext = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags") || l.starts_with("Features"))
        .any(|l| l.split_whitespace().any(|f| f == "sha_ni" || f == "sha2"));
    println!(
        "sha256 of a {mib:.0} MiB target (CPU {} SHA extensions): verifier ({}) {:.0} MiB/s, RustCrypto sha2 alone {:.0} MiB/s, openssl dgst {:.0} MiB/s (medians of 3, same run); the verifier is {:.0}% of openssl's speed{}",
        if sha_ext { "with" } else { "without" },
        hookswitch_trust::digest::BACKEND,
        mib / ma,
        mib / mc,
        mib / mb,
        100.0 * mb / ma,
        target(">= 90%")
    );
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: a small smoke run.
    if smoke() {
        per_device_refresh(500);
        hash_vs_openssl(4 << 20);
        return;
    }
    let quick = std::env::args().any(|a| a == "quick");
    release(10_000);
    if quick {
        per_device_refresh(10_000);
        hash_vs_openssl(256 << 20);
    } else {
        per_device_refresh(100_000);
        hash_vs_openssl(1 << 30);
    }
}
