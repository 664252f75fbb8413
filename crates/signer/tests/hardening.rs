//! What a stolen token, an unauthenticated peer, or a damaged state file can get from the
//! signer: real signer threads on loopback, a raw TcpStream as the hostile client.

use hookswitch_keystore::{generate, KdfCost};
use hookswitch_repository::{OnlineSigner, SignerError};
use hookswitch_signer::{serve, Error, Keys, RemoteSigner, HEADER_TIMEOUT};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PASS: &[u8] = b"correct horse battery staple";
const TOKEN: &str = "0123456789abcdef0123456789abcdef-test";
const FAST: KdfCost = KdfCost {
    m_kib: 256,
    t: 1,
    p: 1,
};

fn online_keys(dir: &Path) -> PathBuf {
    let keys_dir = dir.join("online");
    generate(&keys_dir.join("timestamp.key"), "timestamp", PASS, FAST).unwrap();
    generate(&keys_dir.join("snapshot.key"), "snapshot", PASS, FAST).unwrap();
    keys_dir
}

/// Start a signer on loopback: Ok(address) once it listens, or Err(what serve returned).
fn start(keys_dir: &Path) -> Result<SocketAddr, Error> {
    let keys = Keys::load(keys_dir, PASS).unwrap();
    let (tx, rx) = mpsc::channel();
    let done = tx.clone();
    let kd = keys_dir.to_path_buf();
    std::thread::spawn(move || {
        let r = serve("127.0.0.1:0", &kd, keys, TOKEN, None, move |addr| {
            let _ = tx.send(Ok(addr));
        });
        if let Err(e) = r {
            let _ = done.send(Err(e));
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the signer neither listened nor failed")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn remote(url: String) -> RemoteSigner {
    RemoteSigner {
        url,
        token: TOKEN.into(),
        client: hookswitch_http::Client::new(None, Duration::from_secs(10)).unwrap(),
    }
}

fn timestamp(version: u64, expires_in: i64) -> serde_json::Value {
    serde_json::json!({"_type": "timestamp", "spec_version": "1.0.31", "version": version,
        "expires": hookswitch_trust::time::format(now() + expires_in),
        "meta": {"snapshot.json": {"version": 1}}})
}

/// Send `head` (and no body), then read what the server says within `wait`.
fn raw(addr: SocketAddr, head: &str, wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn a_corrupt_state_file_stops_the_signer_until_an_operator_acts() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = online_keys(dir.path());
    let state = keys_dir.join("signer-state.json");
    std::fs::write(&state, b"{\"timestamp\": 41, \"snap").unwrap();
    let e = start(&keys_dir).expect_err("a signer with a corrupt state file must not start");
    assert!(
        matches!(&e, Error::State { path, .. } if path == &state),
        "a corrupt state file is the fail-closed State error: {e:?}"
    );
    let e = e.to_string();
    assert!(e.contains(&*state.to_string_lossy()), "{e}");
    assert!(e.contains("rollback"), "says what is at stake: {e}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"{\"timestamp\": 41, \"snap",
        "left for the operator to inspect"
    );
    // Not a regular file: refused, not read (a FIFO would block the start forever).
    std::fs::remove_file(&state).unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(&state)
        .status()
        .unwrap()
        .success());
    let e = start(&keys_dir).expect_err("a FIFO is not a state file");
    assert!(matches!(e, Error::State { .. }), "{e:?}");
    assert!(e.to_string().contains("FIFO"), "{e}");
    // The first start, with no state file yet, is fine, and the state it writes is read back.
    std::fs::remove_file(&state).unwrap();
    let addr = start(&keys_dir).unwrap();
    remote(format!("http://{addr}"))
        .sign("timestamp", &timestamp(5, 3600))
        .unwrap();
    let addr = start(&keys_dir).unwrap();
    let e = remote(format!("http://{addr}"))
        .sign("timestamp", &timestamp(5, 3600))
        .unwrap_err();
    assert!(matches!(e, SignerError::Refused(_)), "{e:?}");
    assert!(e.to_string().contains("rollback refused"), "{e}");
}

#[test]
fn the_token_is_checked_before_any_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(&online_keys(dir.path())).unwrap();
    // 64 MiB announced, nothing sent: the answer must come without waiting for the body.
    let head = "POST /v1/sign HTTP/1.1\r\nHost: signer\r\nContent-Type: application/json\r\nContent-Length: 67108864\r\n\r\n";
    // A server that waited for the body would still be silent when `raw` gives up.
    let reply = raw(addr, head, Duration::from_secs(5));
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply:?}");
    // A wrong token, same.
    let head = format!(
        "POST /v1/sign HTTP/1.1\r\nHost: signer\r\nAuthorization: Bearer {}x\r\nContent-Length: 1000000\r\n\r\n",
        &TOKEN[..TOKEN.len() - 1]
    );
    assert!(raw(addr, &head, Duration::from_secs(5)).starts_with("HTTP/1.1 401"));
    // With the token, a body larger than the largest snapshot is refused before it is read.
    let head = format!(
        "POST /v1/sign HTTP/1.1\r\nHost: signer\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        hookswitch_signer::MAX_BODY + 1
    );
    let reply = raw(addr, &head, Duration::from_secs(5));
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply:?}");
    // A chunked body (no length) is cut off at the limit too.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(format!("POST /v1/sign HTTP/1.1\r\nHost: signer\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes()).unwrap();
    let chunk = vec![b' '; 1 << 20];
    let mut reply = String::new();
    for _ in 0..(hookswitch_signer::MAX_BODY >> 20) + 2 {
        let sent = s
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|_| s.write_all(&chunk))
            .and_then(|_| s.write_all(b"\r\n"));
        if sent.is_err() {
            break;
        }
    }
    let _ = s.read_to_string(&mut reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply:?}");
}

#[test]
fn slow_headers_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(&online_keys(dir.path())).unwrap();
    let limit = HEADER_TIMEOUT + Duration::from_secs(5);
    let closed_within = move |mut s: TcpStream| {
        s.set_read_timeout(Some(limit)).unwrap();
        let t = Instant::now();
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return t.elapsed(),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return t.elapsed(),
                Err(e) => panic!("still open after {:?}: {e}", t.elapsed()),
            }
        }
    };
    // Half a request line, then nothing (slowloris).
    let slow = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"POST /v1/sign HTTP/1.1\r\nHost: sig").unwrap();
        closed_within(s)
    });
    // A connection that never says anything.
    let silent = std::thread::spawn(move || closed_within(TcpStream::connect(addr).unwrap()));
    // An idle keep-alive connection after one answered request.
    let idle = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /v1/status HTTP/1.1\r\nHost: signer\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 404"),
            "answered, kept alive"
        );
        closed_within(s)
    });
    for (what, t) in [("slow", slow), ("silent", silent), ("idle", idle)] {
        let took = t.join().unwrap();
        assert!(
            took <= limit && took + Duration::from_secs(1) >= HEADER_TIMEOUT,
            "{what}: closed after {took:?}"
        );
    }
}

#[test]
fn a_stolen_token_cannot_buy_a_long_freeze() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(&online_keys(dir.path())).unwrap();
    let signer = remote(format!("http://{addr}"));
    const YEAR: i64 = 365 * 86_400;
    let e = signer
        .sign("timestamp", &timestamp(10, 10 * YEAR))
        .unwrap_err()
        .to_string();
    assert!(e.contains("403") && e.contains("expires"), "{e}");
    let snapshot = |version: u64, expires_in: i64| {
        serde_json::json!({"_type": "snapshot", "spec_version": "1.0.31", "version": version,
            "expires": hookswitch_trust::time::format(now() + expires_in), "meta": {}})
    };
    let e = signer.sign("snapshot", &snapshot(10, YEAR)).unwrap_err();
    assert!(matches!(e, SignerError::Refused(_)), "{e:?}");
    assert!(e.to_string().contains("403"), "{e}");
    // A timestamp just over its lifetime (1 day) is refused; the usual one is signed.
    let day = hookswitch_repository::expiry::TIMESTAMP;
    assert!(signer
        .sign("timestamp", &timestamp(11, day + 2 * 3600))
        .is_err());
    signer.sign("timestamp", &timestamp(12, day)).unwrap();
    signer
        .sign(
            "snapshot",
            &snapshot(12, hookswitch_repository::expiry::SNAPSHOT),
        )
        .unwrap();
    // No expiry, or one that does not parse: refused.
    let mut bad = timestamp(13, 60);
    bad.as_object_mut().unwrap().remove("expires");
    let refusal = |bad: &serde_json::Value| signer.sign("timestamp", bad).unwrap_err().to_string();
    assert!(refusal(&bad).contains("400"));
    bad["expires"] = "9999-99-99".into();
    assert!(refusal(&bad).contains("400"));
}

#[test]
fn the_token_never_travels_over_plain_http_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(&online_keys(dir.path())).unwrap();
    // 0.0.0.0 is not a loopback address, though Linux delivers it locally: the old code
    // sent the token in the clear (and got a signature); nothing leaves this host.
    let e = remote(format!("http://0.0.0.0:{}", addr.port()))
        .sign("timestamp", &timestamp(1, 3600))
        .unwrap_err()
        .to_string();
    assert!(e.contains("https"), "{e}");
    for url in [
        "http://localhost:1",
        "http://signer.example:8790",
        "ftp://127.0.0.1:1",
    ] {
        assert!(remote(url.into())
            .sign("timestamp", &timestamp(1, 3600))
            .unwrap_err()
            .to_string()
            .contains("https"));
    }
    // Loopback, v4 (any of 127/8) and v6, stays allowed.
    remote(format!("http://127.0.0.1:{}", addr.port()))
        .sign("timestamp", &timestamp(2, 3600))
        .unwrap();
}

#[test]
fn the_body_limit_fits_a_snapshot_of_the_largest_repository() {
    // 2^16 config bins (`trust::repo::bin_bit_length` is at most 16) at the highest
    // versions, plus the top-level targets roles: signed, not refused.
    let mut meta = std::collections::BTreeMap::new();
    for role in ["targets", "firmware", "apps", "config"] {
        meta.insert(
            format!("{role}.json"),
            hookswitch_trust::repo::meta(u64::MAX),
        );
    }
    for bin in 0..1u32 << 16 {
        meta.insert(
            format!("{}-{bin:04x}.json", hookswitch_repository::BIN_PREFIX),
            hookswitch_trust::repo::meta(u64::MAX),
        );
    }
    let expires = hookswitch_trust::time::format(now() + 3600);
    let snapshot =
        serde_json::to_value(hookswitch_trust::repo::snapshot(2, &expires, meta)).unwrap();
    let body =
        serde_json::to_vec(&serde_json::json!({"role": "snapshot", "signed": snapshot})).unwrap();
    assert!(
        body.len() <= hookswitch_signer::MAX_BODY,
        "{} bytes",
        body.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let addr = start(&online_keys(dir.path())).unwrap();
    let sigs = remote(format!("http://{addr}"))
        .sign("snapshot", &snapshot)
        .unwrap();
    assert_eq!(sigs.len(), 1);
}
