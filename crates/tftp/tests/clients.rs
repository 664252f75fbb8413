//! The server against real TFTP clients: curl (blksize, tsize), tftp-hpa (plain RFC 1350),
//! atftp (windowsize, RFC 7440). scripts/setup.sh installs the Debian packages.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hookswitch_tftp::{Limits, PublicFiles};
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

/// Deterministic bytes that no block-size pattern repeats in (xorshift64).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

struct Files(HashMap<&'static str, Bytes>);

impl PublicFiles for Files {
    fn get(&self, name: &str) -> Option<Bytes> {
        self.0.get(name).cloned()
    }
}

/// Start a server on an ephemeral loopback port, on its own tokio runtime; the thread lives
/// as long as the test process.
fn start(serve: impl FnOnce(tokio::net::UdpSocket) -> ServeFuture + Send + 'static) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(socket.local_addr().expect("addr")).expect("send");
            // Spawned, so the serve future must be Send (hookswitch serve spawns it).
            tokio::spawn(serve(socket))
                .await
                .expect("join")
                .expect("serve");
        });
    });
    rx.recv().expect("server started")
}

type ServeFuture = std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>;

fn start_files(files: Vec<(&'static str, Vec<u8>)>, limits: Limits) -> SocketAddr {
    let files = Files(
        files
            .into_iter()
            .map(|(n, b)| (n, Bytes::from(b)))
            .collect(),
    );
    let files: Arc<dyn PublicFiles> = Arc::new(files);
    start(move |socket| Box::pin(hookswitch_tftp::serve(socket, files, limits)))
}

fn start_dir(root: &Path) -> SocketAddr {
    let root = root.to_owned();
    start(move |socket| {
        Box::pin(async move { hookswitch_tftp::serve_dir(socket, &root, Limits::default()).await })
    })
}

fn curl(addr: SocketAddr, name: &str, args: &[&str], out: &Path) -> Output {
    Command::new("curl")
        .args(["-sS", "-v", "--path-as-is", "--max-time", "60", "-o"])
        .arg(out)
        .args(args)
        .arg(format!("tftp://{addr}/{name}"))
        .output()
        .expect("curl is installed (scripts/setup.sh)")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn curl_fetches_a_mebibyte_intact_at_each_blksize_and_sees_tsize() {
    let data = noise(MIB, 1);
    let addr = start_files(vec![("firmware.bin", data.clone())], Limits::default());
    let dir = tempfile::tempdir().unwrap();
    for blksize in ["512", "1428", "8192"] {
        let out_path = dir.path().join(format!("got-{blksize}"));
        let out = curl(
            addr,
            "firmware.bin",
            &["--tftp-blksize", blksize],
            &out_path,
        );
        assert!(out.status.success(), "blksize {blksize}: {}", stderr(&out));
        let got = std::fs::read(&out_path).unwrap();
        assert_eq!(got.len(), data.len(), "blksize {blksize}");
        assert_eq!(sha256(&got), sha256(&data), "blksize {blksize}");
        let log = stderr(&out);
        assert!(
            log.contains("got option=(blksize) value=(")
                && log.contains(&format!("value=({blksize})")),
            "blksize {blksize} not acknowledged: {log}"
        );
        assert!(
            log.contains(&format!("got option=(tsize) value=({})", MIB)),
            "tsize not reported: {log}"
        );
    }
}

#[test]
fn blksize_above_the_limit_is_granted_at_the_limit() {
    let data = noise(100_000, 2);
    let limits = Limits {
        max_block_size: 1024,
        ..Limits::default()
    };
    let addr = start_files(vec![("big-blocks", data.clone())], limits);
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("got");
    let out = curl(addr, "big-blocks", &["--tftp-blksize", "8192"], &out_path);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("got option=(blksize) value=(1024)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sha256(&std::fs::read(&out_path).unwrap()), sha256(&data));
}

#[test]
fn block_numbers_roll_over_past_65535() {
    // blksize 8: 65,537 full blocks and a short one, so block 65535 is followed by 0.
    let data = noise(8 * 65_537 + 3, 3);
    let addr = start_files(vec![("rollover", data.clone())], Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("got");
    let out = curl(addr, "rollover", &["--tftp-blksize", "8"], &out_path);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sha256(&std::fs::read(&out_path).unwrap()), sha256(&data));
}

#[test]
fn tftp_hpa_fetches_without_options() {
    let data = noise(300_000, 4);
    let addr = start_files(
        vec![("boot/y000000000000.cfg", data.clone())],
        Limits::default(),
    );
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("got");
    let out = Command::new("tftp")
        .args([
            "-m",
            "binary",
            "127.0.0.1",
            &addr.port().to_string(),
            "-c",
            "get",
        ])
        .arg("boot/y000000000000.cfg")
        .arg(&out_path)
        .output()
        .expect("tftp (tftp-hpa) is installed (scripts/setup.sh)");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sha256(&std::fs::read(&out_path).unwrap()), sha256(&data));
}

#[test]
fn atftp_negotiates_windowsize() {
    let data = noise(MIB, 5);
    let addr = start_files(vec![("firmware.bin", data.clone())], Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("got");
    let out = Command::new("atftp")
        .args([
            "--option",
            "windowsize 8",
            "--option",
            "blksize 1428",
            "--trace",
            "-g",
            "-r",
        ])
        .arg("firmware.bin")
        .arg("-l")
        .arg(&out_path)
        .args(["127.0.0.1", &addr.port().to_string()])
        .output()
        .expect("atftp is installed (scripts/setup.sh)");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success(), "{log}");
    let oack = log
        .lines()
        .find(|l| l.starts_with("received OACK"))
        .unwrap_or_default();
    assert!(
        oack.contains("windowsize: 8"),
        "windowsize not acknowledged: {log}"
    );
    // One ACK per window of eight blocks, not per block.
    assert!(log.contains("sent ACK <block: 8>"), "{log}");
    assert!(!log.contains("sent ACK <block: 1>"), "{log}");
    assert_eq!(sha256(&std::fs::read(&out_path).unwrap()), sha256(&data));
}

#[test]
fn names_outside_the_set_and_climbing_names_get_error_packets() {
    let addr = start_files(vec![("root.json", b"{}".to_vec())], Limits::default());
    let dir = tempfile::tempdir().unwrap();
    // curl's exit codes: 68 = TFTP file not found, 69 = TFTP access violation.
    for (name, code) in [
        ("device-0001.cfg", 68),
        ("../root.json", 69),
        ("a/../../etc/passwd", 69),
        ("/etc/passwd", 69),
    ] {
        let out_path = dir.path().join("got");
        let out = curl(addr, name, &[], &out_path);
        assert_eq!(out.status.code(), Some(code), "{name}: {}", stderr(&out));
        assert!(!out_path.exists(), "{name}: something was written");
    }
}

#[test]
fn write_requests_are_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("root.json"), b"{}").unwrap();
    let addr = start_dir(root.path());
    let upload = root.path().join("root.json");
    for name in ["root.json", "new.cfg"] {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "60", "-T"])
            .arg(&upload)
            .arg(format!("tftp://{addr}/{name}"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(69), "{name}: {}", stderr(&out));
    }
    assert_eq!(std::fs::read(root.path().join("root.json")).unwrap(), b"{}");
    assert!(!root.path().join("new.cfg").exists());
}

#[test]
fn serve_dir_serves_regular_files_and_refuses_what_escapes_the_root() {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("public");
    let outside = base.path().join("private");
    std::fs::create_dir_all(root.join("boot")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("boot/bootstrap.cfg"), b"server=https://x\n").unwrap();
    std::fs::write(outside.join("secret.cfg"), b"sip_password=hunter2\n").unwrap();
    std::os::unix::fs::symlink("../private/secret.cfg", root.join("escape.cfg")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("escape-dir")).unwrap();
    std::os::unix::fs::symlink("boot/bootstrap.cfg", root.join("inside.cfg")).unwrap();
    let addr = start_dir(&root);
    let dir = tempfile::tempdir().unwrap();

    for name in ["boot/bootstrap.cfg", "inside.cfg"] {
        let out_path = dir.path().join("got");
        let out = curl(addr, name, &[], &out_path);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(std::fs::read(&out_path).unwrap(), b"server=https://x\n");
        std::fs::remove_file(&out_path).unwrap();
    }
    for name in [
        "escape.cfg",
        "escape-dir/secret.cfg",
        "../private/secret.cfg",
        "boot",
        "missing.cfg",
    ] {
        let out_path = dir.path().join("got");
        let out = curl(addr, name, &[], &out_path);
        assert!(
            matches!(out.status.code(), Some(68 | 69)),
            "{name} was not refused: {}",
            stderr(&out)
        );
        assert!(!out_path.exists(), "{name}: something was written");
    }
}

#[test]
fn transfers_past_the_limit_are_refused_until_a_slot_frees() {
    let limits = Limits {
        max_transfers: 1,
        ..Limits::default()
    };
    let addr = start_files(vec![("small", b"hello".to_vec())], limits);
    // Hold the one slot: a plain RRQ whose only DATA block we have not acknowledged yet.
    let holder = UdpSocket::bind("127.0.0.1:0").unwrap();
    holder
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    holder.send_to(b"\0\x01small\0octet\0", addr).unwrap();
    let mut buf = [0u8; 600];
    let (len, tid) = holder.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..len], b"\0\x03\0\x01hello", "DATA block 1");
    assert_ne!(tid, addr, "the transfer answers from its own port");

    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("got");
    let out = curl(addr, "small", &[], &out_path);
    assert!(!out.status.success(), "a second transfer was served");
    assert!(stderr(&out).contains("busy"), "{}", stderr(&out));

    holder.send_to(b"\0\x04\0\x01", tid).unwrap();
    // The slot is given back once the server has read that ACK: bounded wait for it.
    let served = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        curl(addr, "small", &[], &out_path).status.success()
    });
    assert!(served, "the freed slot was not reused");
    assert_eq!(std::fs::read(&out_path).unwrap(), b"hello");
}

#[test]
fn an_unacknowledged_block_is_resent_a_bounded_number_of_times_then_abandoned() {
    let limits = Limits {
        timeout: Duration::from_millis(50),
        max_retries: 2,
        ..Limits::default()
    };
    let addr = start_files(vec![("small", b"hello".to_vec())], limits);
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client.send_to(b"\0\x01small\0octet\0", addr).unwrap();
    let mut buf = [0u8; 600];
    let mut packets = Vec::new();
    // The first send, two resends, then an ERROR: nothing more is ever sent.
    for _ in 0..4 {
        let (len, _) = client.recv_from(&mut buf).unwrap();
        packets.push(buf[..len].to_vec());
    }
    assert_eq!(&packets[..3], vec![b"\0\x03\0\x01hello".to_vec(); 3]);
    assert_eq!(
        &packets[3][..4],
        b"\0\x05\0\x00",
        "an ERROR closes the transfer"
    );
    client
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert!(client.recv_from(&mut buf).is_err(), "sent after giving up");
}

#[test]
fn netascii_is_converted_so_tftp_hpa_gets_the_bytes_back() {
    // tftp-hpa turns CR LF into LF and CR NUL into CR; an unconverted "\r\n" would come back
    // as "\n".
    let data = b"server=https://x\r\nmode=tls\n\rend".to_vec();
    let addr = start_files(vec![("bootstrap.cfg", data.clone())], Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("got");
    let out = Command::new("tftp")
        .args([
            "-m",
            "netascii",
            "127.0.0.1",
            &addr.port().to_string(),
            "-c",
            "get",
        ])
        .arg("bootstrap.cfg")
        .arg(&out_path)
        .output()
        .expect("tftp (tftp-hpa) is installed (scripts/setup.sh)");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&out_path).unwrap(), data);
}

#[test]
fn malformed_datagrams_get_no_answer_and_do_not_stop_the_server() {
    let addr = start_files(vec![("small", b"hello".to_vec())], Limits::default());
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 600];
    for garbage in [
        &b""[..],
        b"\0",
        b"\0\x09xx",
        b"\0\x01small",
        b"\0\x01small\0binary\0",
    ] {
        client.send_to(garbage, addr).unwrap();
        assert!(client.recv_from(&mut buf).is_err(), "answered {garbage:?}");
    }
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    client.send_to(b"\0\x01small\0octet\0", addr).unwrap();
    let (len, _) = client.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..len], b"\0\x03\0\x01hello");
}
