//! `hookswitch probe` against real services (snmpd, telnetd, sshd, lighttpd, tftpd-hpa,
//! sipp) in network namespaces on 192.0.2.0/24, built by `scripts/testbed.sh`. Needs root.

use std::path::PathBuf;
use std::process::{Command, Output};

fn testbed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/testbed.sh")
}

/// Brings the test bed up, and always down again.
struct Bed;

impl Bed {
    fn up() -> Bed {
        let out = Command::new(testbed()).arg("up").output().unwrap();
        assert!(
            out.status.success(),
            "testbed up (needs root and the Debian packages it installs): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Bed
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = Command::new(testbed()).arg("down").output();
    }
}

fn probe(args: &[&str]) -> Output {
    Command::new(testbed())
        .arg("exec")
        .arg(env!("CARGO_BIN_EXE_hookswitch"))
        .arg("probe")
        .args(args)
        .output()
        .unwrap()
}

fn findings(v: &serde_json::Value, host: &str) -> Vec<(String, String)> {
    let h = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["address"] == host)
        .unwrap();
    let mut f: Vec<(String, String)> = h["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["control"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    f.sort();
    f
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = list
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn weak_hardened_and_silent_phones() {
    let _bed = Bed::up();
    let out = probe(&[
        "192.0.2.10",
        "192.0.2.11",
        "192.0.2.12",
        "192.0.2.13",
        "--allow",
        "192.0.2.0/24",
        "--timeout-ms",
        "1000",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        findings(&v, "192.0.2.10"),
        pairs(&[
            ("HS-CRYPTO-01", "fail"),
            ("HS-PROV-02", "fail"),
            ("HS-SNMP-01", "fail"),
            ("HS-SNMP-02", "fail"),
            ("HS-SW-01", "fail"),
            ("HS-TEL-01", "fail"),
            ("HS-TEL-02", "pass"),
            ("HS-TEL-03", "fail"),
            ("HS-WEB-01", "fail"),
            ("HS-WEB-02", "fail"),
        ])
    );
    assert_eq!(
        findings(&v, "192.0.2.11"),
        pairs(&[
            ("HS-SNMP-01", "fail"),
            ("HS-SNMP-02", "not_assessable"),
            ("HS-SW-01", "fail"),
            ("HS-TEL-01", "pass"),
            ("HS-TEL-03", "pass"),
            ("HS-WEB-01", "pass")
        ])
    );
    // HTTPS-only web UI (443 refuses TLS < 1.2, 8443 still accepts 1.0 and 1.1) and SIP only over TLS.
    assert_eq!(
        findings(&v, "192.0.2.13"),
        pairs(&[
            ("HS-CRYPTO-01", "pass"),
            ("HS-CRYPTO-03", "fail"),
            ("HS-SNMP-01", "pass"),
            ("HS-SW-01", "fail"),
            ("HS-TEL-01", "pass"),
            ("HS-TEL-03", "pass"),
            ("HS-WEB-01", "fail"),
            ("HS-WEB-02", "pass"),
        ])
    );
    let tls = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["address"] == "192.0.2.13")
        .unwrap();
    let port = |p: u64| {
        tls["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["port"] == p && s["proto"] == "tcp")
            .unwrap()["detail"]
            .clone()
    };
    assert_eq!(port(443)["legacy_tls_accepted"], serde_json::json!([]));
    assert_eq!(
        port(8443)["legacy_tls_accepted"],
        serde_json::json!(["TLSv1.0", "TLSv1.1"])
    );
    assert_eq!(port(5061)["status"], 200);
    // Nothing false on a host with no services: every port closed, every finding a pass.
    let empty = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["address"] == "192.0.2.12")
        .unwrap();
    assert!(
        empty["services"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "closed"),
        "{empty}"
    );
    assert!(findings(&v, "192.0.2.12").iter().all(|(_, s)| s == "pass"));
    // Evidence: banners, versions and the files read.
    let weak = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["address"] == "192.0.2.10")
        .unwrap();
    let svc = |name: &str, proto: &str| {
        weak["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == name && s["proto"] == proto)
            .unwrap()
            .clone()
    };
    assert!(svc("ssh", "tcp")["detail"]["ident"]
        .as_str()
        .unwrap()
        .starts_with("SSH-2.0-OpenSSH"));
    assert!(svc("ssh", "tcp")["detail"]["kex"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k == "curve25519-sha256"));
    assert_eq!(svc("http", "tcp")["detail"]["title"], "Phone Web UI");
    assert_eq!(
        svc("tftp", "udp")["detail"]["readable"],
        serde_json::json!(["SEPDefault.cnf", "y000000000000.cfg"])
    );
    assert_eq!(
        svc("sip", "udp")["detail"]["user_agent"],
        "Yealink SIP-T54W 96.86.0.70"
    );
    assert!(svc("snmp", "udp")["detail"]["community_accepted"][0]
        .as_str()
        .unwrap()
        .contains("hookswitch testbed weak phone"));

    // Lockout-safe: no community is sent, so SNMP-02 cannot be judged.
    let out = probe(&[
        "192.0.2.10",
        "--allow",
        "192.0.2.0/24",
        "--lockout-safe",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(findings(&v, "192.0.2.10")
        .contains(&("HS-SNMP-02".to_string(), "not_assessable".to_string())));

    // nmap XML for tools that read it.
    let out = probe(&[
        "192.0.2.10",
        "--allow",
        "192.0.2.0/24",
        "--format",
        "nmap-xml",
    ]);
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(
        xml.contains("<nmaprun scanner=\"hookswitch\"")
            && xml.contains("<port protocol=\"tcp\" portid=\"23\"><state state=\"open\""),
        "{xml}"
    );

    // Scope: anything outside --allow is refused before a packet is sent.
    let out = probe(&["192.0.2.10", "198.51.100.1", "--allow", "192.0.2.0/24"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("198.51.100.1 is outside every --allow range"));
}
