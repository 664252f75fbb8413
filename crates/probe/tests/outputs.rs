//! Every probe output format, byte for byte, for a fixed set of hosts that covers each
//! kind of evidence (open, closed, unrecognised, partial answers). The expected files in
//! `tests/golden/` were written before the evidence was typed, so they pin the JSON
//! shape, the human and nmap text, and the SARIF document; for CKLB, the parts that come
//! from the findings (the rest is the embedded STIG text).

use hookswitch_probe::model::{Evidence, Https, Snmp, Ssh, Tftp};
use hookswitch_probe::wire::{Fingerprint, HttpReply, KexInit, SipReply};
use hookswitch_probe::{assess::assess, report, HostReport, Service, State};
use serde_json::json;

const AT: &str = "2026-11-28T12:00:00Z";

fn host(address: &str, services: Vec<Service>, community_tried: bool) -> HostReport {
    let findings = assess(&services, community_tried, AT);
    HostReport {
        address: address.into(),
        services,
        findings,
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

fn fingerprint(vendor: &str, model: &str, firmware: &str) -> Fingerprint {
    Fingerprint {
        vendor: some(vendor),
        model: some(model),
        firmware: some(firmware),
    }
}

fn snmp(v1: bool, v3: bool, accepted: &[&str], engine_id: Option<String>) -> Evidence {
    Evidence::Snmp(Snmp {
        v1,
        v2c: v1,
        v3,
        community_accepted: strings(accepted),
        engine_id,
    })
}

fn tftp(readable: &[&str], not_readable: &[&str]) -> Evidence {
    Evidence::Tftp(Tftp {
        readable: strings(readable),
        not_readable: strings(not_readable),
    })
}

fn hosts() -> Vec<HostReport> {
    use Evidence::Empty;
    use State::*;
    vec![
        host(
            "192.0.2.10",
            vec![
                Service::new(
                    23,
                    "tcp",
                    "telnet",
                    Open,
                    Evidence::Telnet {
                        banner: "Welcome to the phone login:".into(),
                        options: strings(&["DO 24", "WILL 1"]),
                    },
                ),
                Service::new(
                    22,
                    "tcp",
                    "ssh",
                    Open,
                    Evidence::Ssh(Ssh::Identified {
                        ident: "SSH-2.0-OpenSSH_9.2p1".into(),
                        ssh1: false,
                        algorithms: Some(KexInit {
                            kex: strings(&["curve25519-sha256"]),
                            host_key: strings(&["ssh-ed25519"]),
                            ciphers: strings(&["aes128-ctr", "chacha20-poly1305@openssh.com"]),
                        }),
                    }),
                ),
                Service::new(
                    80,
                    "tcp",
                    "http",
                    Open,
                    Evidence::Http(HttpReply {
                        status: 200,
                        server: some("lighttpd/1.4"),
                        title: some("Phone Web UI"),
                    }),
                ),
                Service::new(8080, "tcp", "http", Closed, Empty {}),
                Service::new(
                    443,
                    "tcp",
                    "https",
                    Open,
                    Evidence::Https(Https {
                        tls: None,
                        legacy_tls_accepted: vec!["TLSv1.0"],
                        page: None,
                    }),
                ),
                Service::new(8443, "tcp", "https", Timeout, Empty {}),
                Service::new(
                    161,
                    "udp",
                    "snmp",
                    Open,
                    snmp(
                        true,
                        false,
                        &[
                            "v1 community \"public\": sysDescr \"weak phone\"",
                            "v2c community \"public\": sysDescr \"weak phone\"",
                        ],
                        None,
                    ),
                ),
                Service::new(
                    69,
                    "udp",
                    "tftp",
                    Open,
                    tftp(
                        &["SEPDefault.cnf", "y000000000000.cfg"],
                        &["000000000000.cfg: File not found"],
                    ),
                ),
                Service::new(
                    5060,
                    "udp",
                    "sip",
                    Open,
                    Evidence::Sip {
                        fingerprint: fingerprint("Yealink", "T54W", "96.86.0.70"),
                        reply: SipReply {
                            status: 200,
                            user_agent: some("Yealink SIP-T54W 96.86.0.70"),
                            server: None,
                        },
                    },
                ),
                Service::new(5060, "tcp", "unknown", Open, Empty {}),
                Service::new(5061, "tcp", "sips", Closed, Empty {}),
            ],
            true,
        ),
        host(
            "192.0.2.13",
            vec![
                Service::new(23, "tcp", "telnet", Closed, Empty {}),
                Service::new(
                    22,
                    "tcp",
                    "ssh",
                    Open,
                    Evidence::Ssh(Ssh::Unidentified {
                        banner: "HTTP/1.0 400 Bad Request".into(),
                        no_ident: (),
                    }),
                ),
                Service::new(
                    80,
                    "tcp",
                    "unknown",
                    Open,
                    Evidence::Unrecognised {
                        banner: "binary junk <&>\"".into(),
                    },
                ),
                Service::new(
                    443,
                    "tcp",
                    "https",
                    Open,
                    Evidence::Https(Https {
                        tls: some("TLSv1.3"),
                        legacy_tls_accepted: vec![],
                        page: Some(HttpReply {
                            status: 200,
                            server: None,
                            title: some("Login"),
                        }),
                    }),
                ),
                Service::new(
                    161,
                    "udp",
                    "snmp",
                    Open,
                    snmp(false, true, &[], some("80001f8880")),
                ),
                Service::new(
                    69,
                    "udp",
                    "tftp",
                    Open,
                    tftp(&[], &["SEPDefault.cnf: File not found"]),
                ),
                Service::new(5060, "udp", "sip", Timeout, Empty {}),
                Service::new(5060, "tcp", "sip", Filtered, Empty {}),
                Service::new(
                    5061,
                    "tcp",
                    "sips",
                    Open,
                    Evidence::SipTls {
                        tls: "TLSv1.2".into(),
                        status: Some(200),
                        user_agent: some("PolycomVVX-VVX_450-UA/6.3.0.14929"),
                    },
                ),
            ],
            true,
        ),
        host(
            "192.0.2.14",
            vec![
                Service::new(
                    22,
                    "tcp",
                    "ssh",
                    Open,
                    Evidence::Ssh(Ssh::Identified {
                        ident: "SSH-1.99-Cisco-1.25".into(),
                        ssh1: true,
                        algorithms: None,
                    }),
                ),
                Service::new(
                    8443,
                    "tcp",
                    "unknown",
                    Open,
                    Evidence::Https(Https {
                        tls: None,
                        legacy_tls_accepted: vec![],
                        page: None,
                    }),
                ),
                Service::new(161, "udp", "snmp", Open, snmp(false, false, &[], None)),
                Service::new(
                    5060,
                    "tcp",
                    "sip",
                    Open,
                    Evidence::Sip {
                        fingerprint: fingerprint("Cisco", "CP8865", "14.1.1"),
                        reply: SipReply {
                            status: 404,
                            user_agent: None,
                            server: some("Cisco-CP8865/14.1.1"),
                        },
                    },
                ),
                Service::new(
                    5061,
                    "tcp",
                    "unknown",
                    Open,
                    Evidence::SipTls {
                        tls: "TLSv1.3".into(),
                        status: None,
                        user_agent: None,
                    },
                ),
            ],
            false,
        ),
        host(
            "2001:db8::1",
            vec![
                Service::new(23, "tcp", "telnet", Closed, Empty {}),
                Service::new(22, "tcp", "ssh", Closed, Empty {}),
                Service::new(80, "tcp", "http", Closed, Empty {}),
                Service::new(443, "tcp", "https", Closed, Empty {}),
                Service::new(161, "udp", "snmp", Closed, snmp(false, false, &[], None)),
                Service::new(69, "udp", "tftp", Closed, tftp(&[], &[])),
                Service::new(5060, "udp", "sip", Closed, Empty {}),
                Service::new(5061, "tcp", "sips", Closed, Empty {}),
            ],
            true,
        ),
    ]
}

fn render(write: impl Fn(&mut dyn std::io::Write) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// The parts of a checklist that come from the findings (the rest is the embedded STIG
/// text): its title, id and target, and each rule's status and evidence where there is any.
fn cklb_evidence(text: &str) -> String {
    let d: serde_json::Value = serde_json::from_str(text).unwrap();
    let rules: Vec<serde_json::Value> = d["stigs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["rules"].as_array().unwrap())
        .filter(|r| r["finding_details"] != "")
        .map(|r| json!({"stig_uuid": r["stig_uuid"], "uuid": r["uuid"], "group_id": r["group_id"], "status": r["status"], "finding_details": r["finding_details"]}))
        .collect();
    let rule_count: usize = d["stigs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["rules"].as_array().unwrap().len())
        .sum();
    let summary = json!({"title": d["title"], "id": d["id"], "target_data": d["target_data"], "stigs": d["stigs"].as_array().unwrap().len(), "rules": rule_count, "rules_with_evidence": rules});
    serde_json::to_string_pretty(&summary).unwrap() + "\n"
}

#[test]
fn every_format_matches_the_output_from_before_the_evidence_was_typed() {
    use hookswitch_controls::Profile;
    let hosts = hosts();
    let subjects = report::as_subjects(&hosts);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let outputs = [
        ("probe.json", render(|o| report::json(&hosts, o))),
        ("probe.txt", render(|o| report::human(&hosts, o))),
        (
            "probe.nmap.xml",
            render(|o| report::nmap_xml(&hosts, "hookswitch probe 192.0.2.0/24", 1796000000, o)),
        ),
        (
            "probe.sarif",
            render(|o| hookswitch_report::sarif(&subjects, Profile::Standard, o)),
        ),
        (
            "probe.cklb-evidence.json",
            cklb_evidence(&render(|o| {
                hookswitch_report::cklb(&subjects, Profile::Standard, "192.0.2.0/24", o)
            })),
        ),
    ];
    // After an intended change: rewrite the files, then review their diff.
    let bless = std::env::var_os("HOOKSWITCH_BLESS").is_some();
    for (name, got) in outputs {
        if bless {
            std::fs::write(dir.join(name), &got).unwrap();
        }
        let want = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            got == want,
            "{name} differs from tests/golden/{name}:\n{got}"
        );
    }
}
