//! `hookswitch-server` against real clients on 127.0.0.1: curl over HTTPS (client
//! certificates, HTTP Basic), our agent and python-tuf's ngclient, with the device store in
//! a real SQLite file.

#[path = "../../agent/tests/support/pki.rs"]
mod pki;
#[path = "../../agent/tests/support/mod.rs"]
mod support;

use hookswitch_server::{start, Config, Running};
use hookswitch_store::{CertFingerprint, NewDevice, Store};
use hookswitch_trust::testkit;
use pki::{device_cert, DeviceCa};
use rcgen::KeyPair;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const OWN: &str = "001565aabbcc";
const OTHER: &str = "001565ddeeff";
const PASSWORD: &str = "a long device password";

struct Fixture {
    dir: tempfile::TempDir,
    repo: PathBuf,
    kit: testkit::Repo,
    root: PathBuf,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    devices: DeviceCa,
    database: String,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let kit = testkit::Repo::new();
        support::write_repo(&kit, &repo);
        let root = dir.path().join("root.json");
        std::fs::write(&root, kit.trusted_root()).unwrap();
        let (ca, cert, key) = pki::pki(dir.path(), "server");
        let devices = DeviceCa::new(dir.path(), "enrollment");
        let database = format!("sqlite://{}", dir.path().join("store.db").display());
        Fixture {
            dir,
            repo,
            kit,
            root,
            ca,
            cert,
            key,
            devices,
            database,
        }
    }

    fn config(&self) -> Config {
        Config {
            repo: self.repo.clone(),
            trusted_root: self.root.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            tls_cert: self.cert.clone(),
            tls_key: self.key.clone(),
            client_cas: vec![self.devices.pem.display().to_string().parse().unwrap()],
            metrics: Some("127.0.0.1:0".parse().unwrap()),
            plain_http: Some("127.0.0.1:0".parse().unwrap()),
            tftp: Some("127.0.0.1:0".parse().unwrap()),
            poll: Duration::from_millis(50),
            store: None,
        }
    }

    fn publish(&mut self) {
        support::write_repo(&self.kit, &self.repo);
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The server on its own runtime; stopped (fetch log flushed) on drop.
struct Served {
    rt: tokio::runtime::Runtime,
    running: Option<Running>,
    store: Option<Store>,
}

impl Served {
    fn start(config: Config) -> Result<Served, String> {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let store = config.store.clone();
        let running = rt.block_on(start(config))?;
        Ok(Served {
            rt,
            running: Some(running),
            store,
        })
    }

    fn url(&self, path: &str) -> String {
        let r = self.running.as_ref().unwrap();
        format!("https://127.0.0.1:{}/{path}", r.addr.port())
    }

    fn plain_url(&self, path: &str) -> String {
        let r = self.running.as_ref().unwrap();
        format!("http://127.0.0.1:{}/{path}", r.plain_addr.unwrap().port())
    }

    fn metrics(&self) -> String {
        let r = self.running.as_ref().unwrap();
        let url = format!(
            "http://127.0.0.1:{}/metrics",
            r.metrics_addr.unwrap().port()
        );
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20", &url])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.shutdown());
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}

fn open_store(rt: &tokio::runtime::Runtime, url: &str) -> Store {
    rt.block_on(Store::open(url)).unwrap()
}

/// How curl authenticates.
enum Auth<'a> {
    None,
    Cert(&'a Path, &'a Path),
    Basic(&'a str),
}

/// `curl` over HTTPS trusting the server's CA: (curl's exit code, HTTP status, body).
fn curl(url: &str, ca: &Path, auth: Auth) -> (i32, String, Vec<u8>) {
    let body = tempfile::NamedTempFile::new().unwrap();
    let mut c = Command::new("curl");
    c.args([
        "-sS",
        "--path-as-is",
        "--max-time",
        "20",
        "-w",
        "%{http_code}",
    ])
    .arg("--cacert")
    .arg(ca)
    .arg("-o")
    .arg(body.path());
    match auth {
        Auth::None => {}
        Auth::Cert(cert, key) => {
            c.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        Auth::Basic(user) => {
            c.args(["-u", user]);
        }
    }
    let out = c.arg(url).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        std::fs::read(body.path()).unwrap_or_default(),
    )
}

fn config_name(kit: &testkit::Repo, mac: &str) -> String {
    let bytes = testkit::Repo::config_bytes(mac, 1);
    let name = format!(
        "config/{}.{mac}.cfg",
        hookswitch_trust::crypto::sha256_hex(&bytes)
    );
    assert!(kit.files.contains_key(&name), "{name}");
    format!("targets/{name}")
}

#[test]
fn a_device_certificate_gets_its_own_config_and_nothing_else() {
    let f = Fixture::new();
    let served = Served::start(f.config()).unwrap();
    let own = config_name(&f.kit, OWN);
    let other = config_name(&f.kit, OTHER);
    let (c, k, _) = device_cert(f.dir.path(), Some(&f.devices), OWN, false);

    let (rc, code, body) = curl(&served.url(&own), &f.ca, Auth::Cert(&c, &k));
    assert_eq!((rc, code.as_str()), (0, "200"));
    assert_eq!(body, testkit::Repo::config_bytes(OWN, 1));
    // The same config under the name a Yealink phone asks for.
    let (_, code, body) = curl(
        &served.url(&format!("{OWN}.cfg")),
        &f.ca,
        Auth::Cert(&c, &k),
    );
    assert_eq!(code, "200");
    assert_eq!(body, testkit::Repo::config_bytes(OWN, 1));

    for path in [other.clone(), format!("{OTHER}.cfg")] {
        let (_, code, _) = curl(&served.url(&path), &f.ca, Auth::Cert(&c, &k));
        assert_eq!(code, "403", "{path}");
    }
    let (_, code, _) = curl(&served.url(&own), &f.ca, Auth::None);
    assert_eq!(code, "401");

    // Issued by a CA the server does not trust, and not enrolled: no device.
    let stranger = DeviceCa::new(f.dir.path(), "stranger");
    let (sc, sk, _) = device_cert(f.dir.path(), Some(&stranger), OWN, false);
    let (_, code, _) = curl(&served.url(&own), &f.ca, Auth::Cert(&sc, &sk));
    assert_eq!(code, "401");
    // Expired, from the trusted CA: the handshake fails.
    let (ec, ek, _) = device_cert(f.dir.path(), Some(&f.devices), OWN, true);
    let (rc, code, _) = curl(&served.url(&own), &f.ca, Auth::Cert(&ec, &ek));
    assert_ne!(rc, 0);
    assert_eq!(code, "000");

    // Public files need no credentials.
    let (_, code, _) = curl(&served.url("metadata/timestamp.json"), &f.ca, Auth::None);
    assert_eq!(code, "200");
    let m = served.metrics();
    assert!(
        m.contains("hookswitch_auth_failures_total{reason=\"wrong_device\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("hookswitch_auth_failures_total{reason=\"no_credentials\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("hookswitch_auth_failures_total{reason=\"unknown_certificate\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("hookswitch_tls_handshakes_total{result=\"failed\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("hookswitch_version_served{role=\"timestamp\"} 1"),
        "{m}"
    );
    assert!(m.contains("hookswitch_metadata_expiry_seconds{role=\"config-bin-*\"}"));
}

#[test]
fn enrolled_fingerprints_and_passwords_come_from_the_store_and_fetches_are_logged() {
    let f = Fixture::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = open_store(&rt, &f.database);
    // A self-signed factory certificate, enrolled by fingerprint for OWN.
    let (c, k, der) = device_cert(f.dir.path(), None, "factory-cert", false);
    rt.block_on(async {
        for id in [OWN, OTHER] {
            let d = NewDevice::new(id, "yealink", "T54W", Some(id)).unwrap();
            store.add_device(&d).await.unwrap();
        }
        store
            .add_certificate(OWN, &CertFingerprint::of_der(&der))
            .await
            .unwrap();
        store.set_password(OTHER, PASSWORD).await.unwrap();
    });
    let mut config = f.config();
    config.store = Some(store.clone());
    let mut served = Served::start(config).unwrap();
    let own = config_name(&f.kit, OWN);

    let (_, code, body) = curl(&served.url(&own), &f.ca, Auth::Cert(&c, &k));
    assert_eq!(code, "200");
    assert_eq!(body, testkit::Repo::config_bytes(OWN, 1));

    let right = format!("{OTHER}:{PASSWORD}");
    let (_, code, body) = curl(
        &served.url(&format!("{OTHER}.cfg")),
        &f.ca,
        Auth::Basic(&right),
    );
    assert_eq!(code, "200");
    assert_eq!(body, testkit::Repo::config_bytes(OTHER, 1));
    let (_, code, _) = curl(&served.url(&own), &f.ca, Auth::Basic(&right));
    assert_eq!(code, "403");

    // Five wrong guesses from one address, then even the right password waits.
    let wrong = format!("{OTHER}:not the password");
    for _ in 0..5 {
        let (_, code, _) = curl(&served.url(&own), &f.ca, Auth::Basic(&wrong));
        assert_eq!(code, "401");
    }
    let (_, code, _) = curl(
        &served.url(&format!("{OTHER}.cfg")),
        &f.ca,
        Auth::Basic(&right),
    );
    assert_eq!(code, "429");
    // The certificate is not throttled.
    let (_, code, _) = curl(&served.url(&own), &f.ca, Auth::Cert(&c, &k));
    assert_eq!(code, "200");

    served.stop();
    let log = rt
        .block_on(served.store.as_ref().unwrap().recent_fetches(None, 100))
        .unwrap();
    let count = |result: &str, device: Option<&str>| {
        log.iter()
            .filter(|r| {
                r.result.as_str() == result && r.device.as_ref().map(|d| d.as_str()) == device
            })
            .count()
    };
    assert_eq!(count("served", Some(OWN)), 2, "{log:?}");
    assert_eq!(count("served", Some(OTHER)), 1, "{log:?}");
    assert_eq!(count("forbidden", Some(OTHER)), 1, "{log:?}");
    assert_eq!(count("unauthenticated", None), 5, "{log:?}");
    assert_eq!(count("throttled", None), 1, "{log:?}");
    assert!(log.iter().all(|r| r.version == Some(1)));
}

#[path = "../../store/tests/support/postgres.rs"]
mod postgres;

/// Two servers sharing one PostgreSQL store: a device enrolled through either is served by
/// both, and both fetch logs land in the one table.
#[test]
fn two_replicas_on_one_postgresql_share_devices_and_the_fetch_log() {
    let f = Fixture::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = rt.block_on(postgres::fresh_database("replicas")) else {
        return;
    };
    let (store_a, store_b) = (open_store(&rt, &url), open_store(&rt, &url));
    let (ca, ka, der_a) = device_cert(f.dir.path(), None, "factory-a", false);
    let (cb, kb, der_b) = device_cert(f.dir.path(), None, "factory-b", false);
    rt.block_on(async {
        // OWN enrolled through replica A's handle, OTHER through B's.
        for (store, id, der) in [(&store_a, OWN, &der_a), (&store_b, OTHER, &der_b)] {
            let d = NewDevice::new(id, "yealink", "T54W", Some(id)).unwrap();
            store.add_device(&d).await.unwrap();
            store
                .add_certificate(id, &CertFingerprint::of_der(der))
                .await
                .unwrap();
        }
    });
    let replica = |store: &Store| {
        let mut config = f.config();
        config.store = Some(store.clone());
        Served::start(config).unwrap()
    };
    let (mut a, mut b) = (replica(&store_a), replica(&store_b));
    for served in [&a, &b] {
        for (id, c, k) in [(OWN, &ca, &ka), (OTHER, &cb, &kb)] {
            let (_, code, body) = curl(&served.url(&format!("{id}.cfg")), &f.ca, Auth::Cert(c, k));
            assert_eq!(code, "200", "{id}");
            assert_eq!(body, testkit::Repo::config_bytes(id, 1));
        }
    }
    a.stop();
    b.stop();
    let log = rt.block_on(store_a.recent_fetches(None, 100)).unwrap();
    for id in [OWN, OTHER] {
        let served = log
            .iter()
            .filter(|r| {
                r.result.as_str() == "served" && r.device.as_ref().map(|d| d.as_str()) == Some(id)
            })
            .count();
        assert_eq!(
            served, 2,
            "{id}: one fetch through each replica, in one table: {log:?}"
        );
    }
}

#[test]
fn nothing_outside_the_verified_files_is_served() {
    let f = Fixture::new();
    for (name, bytes) in [
        ("staging/firmware/abc.T54W.rom", &b"unpublished"[..]),
        ("requests/init.json", b"{}"),
        ("signer-state.json", b"{}"),
        ("metadata/unsigned.json", b"{}"),
        ("targets/firmware/unlisted.rom", b"x"),
    ] {
        let p = f.repo.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let served = Served::start(f.config()).unwrap();
    for path in [
        "staging/firmware/abc.T54W.rom",
        "requests/init.json",
        "signer-state.json",
        "metadata/unsigned.json",
        "targets/firmware/unlisted.rom",
        "metadata/../staging/firmware/abc.T54W.rom",
        "targets/../signer-state.json",
        "targets/%2e%2e/signer-state.json",
        "metadata/",
        "metadata",
        "",
        "/etc/passwd",
        ".publish.lock",
    ] {
        let (_, code, _) = curl(&served.url(path), &f.ca, Auth::None);
        assert_eq!(code, "404", "{path}");
    }
    let (_, code, _) = curl(&served.url("metadata/1.root.json"), &f.ca, Auth::None);
    assert_eq!(code, "200");
    // Plain HTTP: public files only, never a config, whatever the credentials.
    let own = config_name(&f.kit, OWN);
    let plain = |path: &str| {
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
            .arg(served.plain_url(path))
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(plain("metadata/timestamp.json"), "200");
    assert_eq!(plain(&own), "404");
    assert_eq!(plain(&format!("{OWN}.cfg")), "404");

    // TFTP (curl as the client): the verified public files, byte for byte; never a
    // config, nothing unsigned, nothing outside the tree.
    let tftp_port = served.running.as_ref().unwrap().tftp_addr.unwrap().port();
    let tftp = |path: &str| {
        let out = Command::new("curl")
            .args(["-sS", "--tftp-blksize", "1428", "--max-time", "20"])
            .arg(format!("tftp://127.0.0.1:{tftp_port}/{path}"))
            .output()
            .unwrap();
        (out.status.code().unwrap_or(-1), out.stdout)
    };
    let (rc, body) = tftp("metadata/1.root.json");
    assert_eq!(rc, 0);
    assert_eq!(
        body,
        std::fs::read(f.repo.join("metadata/1.root.json")).unwrap()
    );
    for path in [
        own.as_str(),
        &format!("{OWN}.cfg"),
        "staging/firmware/abc.T54W.rom",
        "targets/firmware/unlisted.rom",
        "metadata/../signer-state.json",
    ] {
        let (rc, body) = tftp(path);
        assert_ne!(rc, 0, "{path}: served over TFTP");
        assert!(body.is_empty(), "{path}");
    }
}

#[test]
fn private_key_material_in_the_repository_stops_the_server() {
    let f = Fixture::new();
    let pem = KeyPair::generate().unwrap().serialize_pem();
    let planted = f.repo.join("staging/leftover/tls.pem");
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, pem).unwrap();
    let err = Served::start(f.config()).err().expect("refused");
    assert!(err.contains(&planted.display().to_string()), "{err}");
    std::fs::remove_file(&planted).unwrap();

    let keystore = f.repo.join("metadata/timestamp.key");
    std::fs::write(
        &keystore,
        br#"{"format":"hookswitch-ed25519-key-v1","role":"timestamp"}"#,
    )
    .unwrap();
    let err = Served::start(f.config()).err().expect("refused");
    assert!(err.contains("hookswitch key file"), "{err}");
    std::fs::remove_file(&keystore).unwrap();

    // The TLS key itself may not live in the repository either.
    let mut config = f.config();
    let inside = f.repo.join("server-key.pem");
    std::fs::copy(&f.key, &inside).unwrap();
    config.tls_key = inside;
    let err = Served::start(config).err().expect("refused");
    assert!(err.contains("inside the repository"), "{err}");
}

fn agent() -> PathBuf {
    let p = support::workspace().join("target/debug/hookswitch-agent");
    if !p.exists() {
        let st = Command::new(env!("CARGO"))
            .args(["build", "-p", "hookswitch-agent"])
            .current_dir(support::workspace())
            .status()
            .unwrap();
        assert!(st.success());
    }
    p
}

/// `hookswitch-agent download` of `name` through the server over HTTPS.
fn agent_download(f: &Fixture, served: &Served, meta: &Path, name: &str) -> std::process::Output {
    agent_download_to(&f.ca, &f.path("downloads"), served, meta, name)
}

fn agent_download_to(
    ca: &Path,
    downloads: &Path,
    served: &Served,
    meta: &Path,
    name: &str,
) -> std::process::Output {
    Command::new(agent())
        .arg("--metadata-dir")
        .arg(meta)
        .arg("--ca-file")
        .arg(ca)
        .args(["--metadata-url", &served.url("metadata")])
        .args(["--target-base-url", &served.url("targets")])
        .args(["--target-name", name, "--target-dir"])
        .arg(downloads)
        .arg("download")
        .output()
        .unwrap()
}

fn agent_init(f: &Fixture, meta: &Path) {
    let out = Command::new(agent())
        .arg("--metadata-dir")
        .arg(meta)
        .arg("init")
        .arg(&f.root)
        .output()
        .unwrap();
    assert_succeeded(&out);
}

#[test]
fn our_agent_and_python_tuf_refresh_and_download_through_the_server() {
    let f = Fixture::new();
    let served = Served::start(f.config()).unwrap();
    let meta = f.path("agent-meta");
    agent_init(&f, &meta);
    let out = agent_download(&f, &served, &meta, "firmware/T54W.rom");
    assert_succeeded(&out);
    assert_eq!(
        std::fs::read(f.path("downloads/firmware/T54W.rom")).unwrap(),
        b"firmware image"
    );

    let out = support::ngclient_fetch_from(
        &f.kit.trusted_root(),
        &served.url("metadata/"),
        &served.url("targets/"),
        Some(&f.ca),
        &["firmware/T54W.rom", "apps/directory.apk"],
    );
    assert_succeeded(&out);
}

#[test]
fn a_publication_while_clients_fetch_gives_no_mixed_version_and_a_bad_one_is_not_served() {
    let mut f = Fixture::new();
    let served = Served::start(f.config()).unwrap();
    let meta = f.path("agent-meta");
    agent_init(&f, &meta);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let publications = 3;
    let (ca, downloads) = (f.ca.clone(), f.path("downloads"));
    std::thread::scope(|s| {
        let client = s.spawn(|| {
            // Bounded: at most 300 refreshes or 120 s.
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut runs = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed)
                && runs < 300
                && Instant::now() < deadline
            {
                let out = agent_download_to(&ca, &downloads, &served, &meta, "firmware/T54W.rom");
                assert!(
                    out.status.success(),
                    "run {runs}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                runs += 1;
            }
            runs
        });
        for i in 0..publications {
            std::thread::sleep(Duration::from_millis(300));
            let fw = format!("firmware image {i}").into_bytes();
            let info = hookswitch_trust::repo::target_file(&fw, None);
            f.kit
                .files
                .insert(format!("firmware/{}.T54W.rom", info.hashes["sha256"]), fw);
            f.kit
                .targets
                .get_mut("firmware")
                .unwrap()
                .targets
                .insert("firmware/T54W.rom".into(), info);
            f.kit.publish();
            f.publish();
        }
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(client.join().unwrap() > 0);
    });
    // The previous version's snapshot stays servable for clients in the middle of a refresh.
    let previous = format!("metadata/{}.snapshot.json", f.kit.snap_version - 1);
    let (_, code, _) = curl(&served.url(&previous), &f.ca, Auth::None);
    assert_eq!(code, "200", "{previous}");
    let newest = format!("firmware image {}", publications - 1).into_bytes();
    let out = agent_download(&f, &served, &meta, "firmware/T54W.rom");
    assert_succeeded(&out);
    assert_eq!(
        std::fs::read(f.path("downloads/firmware/T54W.rom")).unwrap(),
        newest
    );

    // A timestamp signed by the wrong key: logged, counted, and the old version stays.
    let (_, _, good) = curl(&served.url("metadata/timestamp.json"), &f.ca, Auth::None);
    f.kit.ts_key = testkit::key(99);
    f.kit.publish();
    f.publish();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !served
        .metrics()
        .contains("hookswitch_reloads_total{result=\"failed\"} 1")
    {
        assert!(Instant::now() < deadline, "{}", served.metrics());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, code, now) = curl(&served.url("metadata/timestamp.json"), &f.ca, Auth::None);
    assert_eq!(code, "200");
    assert_eq!(now, good);
    let out = agent_download(&f, &served, &meta, "firmware/T54W.rom");
    assert_succeeded(&out);
}

#[test]
fn tls_1_3_and_1_2_with_http_2_and_1_1_and_nothing_older() {
    let f = Fixture::new();
    let served = Served::start(f.config()).unwrap();
    let url = served.url("metadata/timestamp.json");
    let probe = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "--max-time", "20"])
            .args(["-w", "%{http_version} %{http_code}", "--cacert"])
            .arg(&f.ca)
            .args(args)
            .arg(&url)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(probe(&["--http2"]), (true, "2 200".to_string()));
    assert_eq!(probe(&["--http1.1"]), (true, "1.1 200".to_string()));
    assert_eq!(probe(&["--tls-max", "1.2"]).1, "2 200");
    assert_eq!(probe(&["--tlsv1.3"]).1, "2 200");
    // SECLEVEL=0 lets OpenSSL's curl really offer TLS 1.0/1.1 (it fetches from an
    // `openssl s_server -tls1_1` so); ours refuses the handshake.
    let legacy = [
        "--tlsv1.0",
        "--tls-max",
        "1.1",
        "--ciphers",
        "DEFAULT:@SECLEVEL=0",
    ];
    let (ok, _) = probe(&legacy);
    assert!(!ok, "TLS 1.1 accepted");
}

#[test]
fn a_new_version_reuses_files_already_verified_and_checks_every_new_one() {
    use hookswitch_server::index::Index;
    let mut f = Fixture::new();
    let root = f.kit.trusted_root();
    let now = hookswitch_clock::unix_now().unwrap();
    let first = Index::load(&f.repo, &root, now, None).unwrap();
    let app = f
        .kit
        .files
        .keys()
        .find(|k| k.starts_with("apps/"))
        .unwrap()
        .clone();
    // The unchanged app's file is damaged on disk after it was verified: the verified
    // bytes are served on, and the next version does not read it again.
    f.kit.put_config(OWN, 2);
    f.kit.publish();
    f.publish();
    std::fs::write(f.repo.join("targets").join(&app), b"damaged").unwrap();
    let second = Index::load(&f.repo, &root, now, Some(&first)).unwrap();
    assert_eq!(second.version().timestamp, 2);
    assert_eq!(
        &second.get(&format!("targets/{app}")).unwrap().bytes[..],
        b"approved directory app"
    );
    // Without the verified copy, the damaged file fails the version.
    let Err(err) = Index::load(&f.repo, &root, now, None) else {
        panic!("a version with a damaged file loaded");
    };
    assert!(err.contains(&app), "{err}");
    // A new file is always verified: a changed config whose bytes on disk are wrong fails.
    f.kit.put_config(OWN, 3);
    f.kit.publish();
    let newest = f
        .kit
        .files
        .iter()
        .find(|(_, b)| **b == testkit::Repo::config_bytes(OWN, 3))
        .map(|(k, _)| k.clone())
        .unwrap();
    f.publish();
    std::fs::write(f.repo.join("targets").join(&newest), b"tampered").unwrap();
    let Err(err) = Index::load(&f.repo, &root, now, Some(&second)) else {
        panic!("a version with a damaged file loaded");
    };
    assert!(err.contains(&newest), "{err}");
}

#[test]
fn tls_sessions_resume_with_tickets() {
    let f = Fixture::new();
    let served = Served::start(f.config()).unwrap();
    let port = served.running.as_ref().unwrap().addr.port();
    let session = f.path("session.pem");
    // One HTTP/1.0 request, and s_client reads until the server closes: a TLS 1.3 ticket
    // comes after the handshake, so it must not hang up first.
    let s_client = |extra: &[&std::ffi::OsStr]| {
        use std::io::Write;
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-ign_eof",
                "-connect",
                &format!("127.0.0.1:{port}"),
            ])
            .arg("-CAfile")
            .arg(&f.ca)
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"GET /metadata/timestamp.json HTTP/1.0\r\n\r\n")
            .unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for version in ["-tls1_3", "-tls1_2"] {
        let _ = std::fs::remove_file(&session);
        let first = s_client(&[version.as_ref(), "-sess_out".as_ref(), session.as_os_str()]);
        assert!(first.contains("New, TLSv1."), "{first}");
        // A ticket, not only a server-side session ID (TLS 1.2 shows the difference).
        assert!(first.contains("TLS session ticket:"), "{version}: {first}");
        let again = s_client(&[version.as_ref(), "-sess_in".as_ref(), session.as_os_str()]);
        assert!(again.contains("Reused, TLSv1."), "{version}: {again}");
    }
}

/// Wait (bounded) until `done` holds; false if it never did.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn a_rollback_of_the_repository_to_an_older_version_is_refused() {
    let mut f = Fixture::new();
    let served = Served::start(f.config()).unwrap();
    let timestamp = f.repo.join("metadata/timestamp.json");
    let old = std::fs::read(&timestamp).unwrap();
    f.kit.publish();
    f.publish();
    let new = std::fs::read(&timestamp).unwrap();
    assert_ne!(old, new);
    let now_served = || curl(&served.url("metadata/timestamp.json"), &f.ca, Auth::None).2;
    assert!(
        eventually(|| now_served() == new),
        "the new version is served"
    );

    // The older version's files are all still there, validly signed and unexpired: only
    // the versions tell it is a rollback.
    std::fs::write(&timestamp, &old).unwrap();
    assert!(
        eventually(|| served
            .metrics()
            .contains("hookswitch_reloads_total{result=\"failed\"} 1")),
        "{}",
        served.metrics()
    );
    assert_eq!(now_served(), new, "the rolled-back version is not served");
}

#[test]
fn an_expired_certificate_enrolled_by_fingerprint_is_refused() {
    let f = Fixture::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = open_store(&rt, &f.database);
    let (c, k, der) = device_cert(f.dir.path(), None, "factory-cert", true);
    rt.block_on(async {
        let d = NewDevice::new(OWN, "yealink", "T54W", Some(OWN)).unwrap();
        store.add_device(&d).await.unwrap();
        store
            .add_certificate(OWN, &CertFingerprint::of_der(&der))
            .await
            .unwrap();
    });
    // With a --client-ca and without: its dates are judged either way.
    let mut without_ca = f.config();
    without_ca.client_cas.clear();
    for config in [f.config(), without_ca] {
        let served = Served::start(Config {
            store: Some(store.clone()),
            ..config
        })
        .unwrap();
        let url = served.url(&format!("{OWN}.cfg"));
        let (_, code, body) = curl(&url, &f.ca, Auth::Cert(&c, &k));
        assert_ne!(code, "200");
        assert!(body.is_empty());
    }
}

#[test]
fn concurrent_password_guesses_from_one_address_are_throttled_like_sequential_ones() {
    let f = Fixture::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = open_store(&rt, &f.database);
    rt.block_on(async {
        let d = NewDevice::new(OWN, "yealink", "T54W", Some(OWN)).unwrap();
        store.add_device(&d).await.unwrap();
        store.set_password(OWN, PASSWORD).await.unwrap();
    });
    let mut config = f.config();
    config.store = Some(store);
    let served = Served::start(config).unwrap();
    // 40 wrong guesses on one HTTP/2 connection at once, before any has failed.
    let guesses = 40;
    let mut c = Command::new("curl");
    c.args(["-sS", "--http2", "--parallel", "--parallel-immediate"])
        .args(["--parallel-max", "50", "--max-time", "60", "--cacert"])
        .arg(&f.ca)
        .args(["-u", &format!("{OWN}:not the password")])
        .args(["-w", "%{http_code}\n"]);
    for _ in 0..guesses {
        c.args(["-o", "/dev/null", &served.url(&format!("{OWN}.cfg"))]);
    }
    let out = c.output().unwrap();
    let codes = String::from_utf8(out.stdout).unwrap();
    let checked = codes.lines().filter(|c| *c == "401").count();
    assert_eq!(codes.lines().count(), guesses, "{codes}");
    assert!(checked <= 5, "{checked} guesses checked at once: {codes}");
    let right = format!("{OWN}:{PASSWORD}");
    let (_, code, _) = curl(
        &served.url(&format!("{OWN}.cfg")),
        &f.ca,
        Auth::Basic(&right),
    );
    assert_eq!(code, "429");
}

#[test]
fn a_connection_that_sends_nothing_after_the_handshake_does_not_hold_its_slot() {
    let f = Fixture::new();
    let served = Served::start(f.config()).unwrap();
    let port = served.running.as_ref().unwrap().addr.port();
    // HTTP/1.1 with no request, and HTTP/2 idle after its preface: each must be closed by
    // the server (or the MAX_CONNECTIONS slots can all be held by silent clients).
    let script = r#"
import socket, ssl, sys, threading
def idle(alpn, preface):
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    ctx.set_alpn_protocols([alpn])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
    s.sendall(preface)
    s.settimeout(60)
    try:
        while s.recv(65536):
            pass
        out[alpn] = "closed"
    except TimeoutError:
        out[alpn] = "open"
out = {}
h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
ts = [threading.Thread(target=idle, args=a) for a in [("http/1.1", b""), ("h2", h2)]]
[t.start() for t in ts]
[t.join() for t in ts]
print(sorted(out.items()))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &port.to_string()])
        .arg(&f.ca)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[('h2', 'closed'), ('http/1.1', 'closed')]",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_key_with_bytes_after_it_or_in_a_pkcs12_bundle_stops_the_server_and_a_fifo_does_not_hang_it() {
    let f = Fixture::new();
    let staging = f.repo.join("staging/bundle");
    std::fs::create_dir_all(&staging).unwrap();
    let fifo = staging.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // A FIFO is not read (opening it would block until a writer came).
    Served::start(f.config()).unwrap();

    let key = KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["device".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    // The key and its certificate in one DER file: OpenSSL reads the key and ignores the rest.
    let mut bundle = key.serialize_der();
    bundle.extend_from_slice(cert.der());
    let planted = staging.join("device.bin");
    std::fs::write(&planted, &bundle).unwrap();
    let err = Served::start(f.config()).err().expect("refused");
    assert!(err.contains("PKCS#8 DER"), "{err}");
    std::fs::remove_file(&planted).unwrap();

    let (pem_key, pem_cert) = (f.path("p12-key.pem"), f.path("p12-cert.pem"));
    std::fs::write(&pem_key, key.serialize_pem()).unwrap();
    std::fs::write(&pem_cert, cert.pem()).unwrap();
    let p12 = staging.join("device.p12");
    let out = Command::new("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:device", "-inkey"])
        .arg(&pem_key)
        .arg("-in")
        .arg(&pem_cert)
        .arg("-out")
        .arg(&p12)
        .output()
        .unwrap();
    assert_succeeded(&out);
    let err = Served::start(f.config()).err().expect("refused");
    assert!(err.contains("PKCS#12"), "{err}");
}

#[test]
fn a_new_timestamp_key_in_a_new_root_recovers_from_a_fast_forwarded_timestamp() {
    let mut f = Fixture::new();
    let served = Served::start(f.config()).unwrap();
    let timestamp = f.repo.join("metadata/timestamp.json");
    let ca = f.ca.clone();
    let now_served = || curl(&served.url("metadata/timestamp.json"), &ca, Auth::None).2;
    // The stolen timestamp key signs a far-future version.
    f.kit.ts_version = 1_000_000;
    f.kit.publish();
    f.publish();
    let forwarded = std::fs::read(&timestamp).unwrap();
    assert!(eventually(|| now_served() == forwarded));
    // TUF 5.3.11: a root that rotates the timestamp key voids the old versions.
    f.kit.ts_key = testkit::key(77);
    f.kit.publish_root(None);
    f.kit.ts_version = 0;
    f.kit.publish();
    f.publish();
    let recovered = std::fs::read(&timestamp).unwrap();
    assert!(
        eventually(|| now_served() == recovered),
        "{}",
        served.metrics()
    );
}

/// The command succeeded; otherwise fail with what it said.
fn assert_succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
