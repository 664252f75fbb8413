//! From observations to control findings: one function per service, pure.
//!
//! Every control a finding names is a catalogue entry looked up at compile time
//! ([`catalogued`]), so a finding for an unknown control ID cannot be built.

use crate::model::{Evidence, Finding, Service, Ssh, State, Status};
use hookswitch_controls::{Control, CATALOGUE};

/// The catalogue entry for `id`. Evaluated at compile time for the constants below: an
/// ID that is not in the catalogue stops the build.
const fn catalogued(id: &str) -> &'static Control {
    let mut i = 0;
    while i < CATALOGUE.len() {
        if same(CATALOGUE[i].id.as_bytes(), id.as_bytes()) {
            return &CATALOGUE[i];
        }
        i += 1;
    }
    panic!("a probe names a control ID that is not in the catalogue")
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const TEL_01: &Control = catalogued("HS-TEL-01");
const TEL_02: &Control = catalogued("HS-TEL-02");
const TEL_03: &Control = catalogued("HS-TEL-03");
const WEB_01: &Control = catalogued("HS-WEB-01");
const WEB_02: &Control = catalogued("HS-WEB-02");
const CRYPTO_01: &Control = catalogued("HS-CRYPTO-01");
const CRYPTO_03: &Control = catalogued("HS-CRYPTO-03");
const SNMP_01: &Control = catalogued("HS-SNMP-01");
const SNMP_02: &Control = catalogued("HS-SNMP-02");
const PROV_02: &Control = catalogued("HS-PROV-02");
const SW_01: &Control = catalogued("HS-SW-01");

/// Every control the probe can report on.
pub const PROBED: [&Control; 11] = [
    TEL_01, TEL_02, TEL_03, WEB_01, WEB_02, CRYPTO_01, CRYPTO_03, SNMP_01, SNMP_02, PROV_02, SW_01,
];

/// A judgement before it is stamped with the time of the sweep.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub control: &'static Control,
    pub status: Status,
    pub evidence: String,
    pub probe: &'static str,
}

fn verdict(
    control: &'static Control,
    status: Status,
    evidence: impl Into<String>,
    probe: &'static str,
) -> Verdict {
    Verdict {
        control,
        status,
        evidence: evidence.into(),
        probe,
    }
}

/// Findings for one host. `community_tried` is false in lockout-safe mode.
pub fn assess(services: &[Service], community_tried: bool, at: &str) -> Vec<Finding> {
    [
        telnet(services),
        ssh(services),
        web(services),
        https(services),
        snmp(services, community_tried),
        tftp(services),
        sip(services),
        remote_access(services),
    ]
    .into_iter()
    .flatten()
    .map(|v| Finding {
        control: v.control,
        status: v.status,
        evidence: v.evidence,
        probe: v.probe,
        timestamp: at.to_string(),
    })
    .collect()
}

fn open<'a>(services: &'a [Service], service: &str) -> Vec<&'a Service> {
    services
        .iter()
        .filter(|s| s.service == service && s.state == State::Open)
        .collect()
}

fn describe(s: &Service) -> String {
    format!("{}/{} {}", s.port, s.proto, s.service)
}

/// HS-TEL-01: no Telnet.
pub fn telnet(services: &[Service]) -> Vec<Verdict> {
    vec![match open(services, "telnet").first() {
        Some(s) => {
            let banner = match &s.detail {
                Evidence::Telnet { banner, .. } => banner.as_str(),
                _ => "",
            };
            verdict(
                TEL_01,
                Status::Fail,
                format!("Telnet answers on {}: {banner}", describe(s)),
                "telnet",
            )
        }
        None => verdict(TEL_01, Status::Pass, "no Telnet service answered", "telnet"),
    }]
}

/// HS-TEL-03: no SSH server; HS-TEL-02: if there is one, SSHv2 only.
pub fn ssh(services: &[Service]) -> Vec<Verdict> {
    let Some(s) = open(services, "ssh").first().copied() else {
        return vec![verdict(
            TEL_03,
            Status::Pass,
            "no SSH service answered",
            "ssh",
        )];
    };
    let (ident, ssh1) = match &s.detail {
        Evidence::Ssh(Ssh::Identified { ident, ssh1, .. }) => (ident.as_str(), *ssh1),
        _ => ("", false),
    };
    let mut out = vec![verdict(
        TEL_03,
        Status::Fail,
        format!("SSH server on {}: {ident}", describe(s)),
        "ssh",
    )];
    if ssh1 {
        out.push(verdict(
            TEL_02,
            Status::Fail,
            format!("SSH protocol 1 offered: {ident}"),
            "ssh",
        ));
    } else if !ident.is_empty() {
        out.push(verdict(
            TEL_02,
            Status::Pass,
            format!("SSHv2 only: {ident}"),
            "ssh",
        ));
    }
    out
}

/// HS-WEB-01: no web UI; HS-WEB-02: if there is one, not over plain HTTP.
pub fn web(services: &[Service]) -> Vec<Verdict> {
    let http = open(services, "http");
    let https = open(services, "https");
    if http.is_empty() && https.is_empty() {
        return vec![verdict(
            WEB_01,
            Status::Pass,
            "no web server answered",
            "http",
        )];
    }
    let all: Vec<String> = http.iter().chain(&https).map(|s| describe(s)).collect();
    let reachable = verdict(
        WEB_01,
        Status::Fail,
        format!("web server reachable: {}", all.join(", ")),
        "http",
    );
    let plain = match http.first() {
        Some(s) => {
            let (status, title) = match &s.detail {
                Evidence::Http(page) => {
                    (page.status.to_string(), page.title.as_deref().unwrap_or(""))
                }
                _ => ("unknown".to_string(), ""),
            };
            verdict(
                WEB_02,
                Status::Fail,
                format!(
                    "plain HTTP on {} (status {status}, title {title:?})",
                    describe(s)
                ),
                "http",
            )
        }
        None => verdict(WEB_02, Status::Pass, "web UI only over HTTPS", "https"),
    };
    vec![reachable, plain]
}

/// HS-CRYPTO-03: HTTPS refuses TLS 1.0 and 1.1 (nothing to say without HTTPS).
pub fn https(services: &[Service]) -> Vec<Verdict> {
    let https = open(services, "https");
    let weak: Vec<String> = https
        .iter()
        .flat_map(|s| match &s.detail {
            Evidence::Https(h) => h
                .legacy_tls_accepted
                .iter()
                .map(|v| format!("{} accepts {v}", describe(s)))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    if !weak.is_empty() {
        vec![verdict(CRYPTO_03, Status::Fail, weak.join("; "), "https")]
    } else if !https.is_empty() {
        vec![verdict(
            CRYPTO_03,
            Status::Pass,
            "HTTPS refuses TLS 1.0 and 1.1",
            "https",
        )]
    } else {
        Vec::new()
    }
}

/// HS-SNMP-01: no SNMP; HS-SNMP-02: if there is, no default community.
pub fn snmp(services: &[Service], community_tried: bool) -> Vec<Verdict> {
    let snmp: Vec<_> = services.iter().filter(|s| s.service == "snmp").collect();
    let Some(s) = snmp.iter().find(|s| s.state == State::Open) else {
        return snmp
            .first()
            .map(|s| {
                verdict(
                    SNMP_01,
                    Status::Pass,
                    format!("SNMP 161/udp {}", s.state.as_str()),
                    "snmp",
                )
            })
            .into_iter()
            .collect();
    };
    let (v1, v2c, v3, accepted) = match &s.detail {
        Evidence::Snmp(d) => (d.v1, d.v2c, d.v3, d.community_accepted.as_slice()),
        _ => (false, false, false, &[][..]),
    };
    let answers = verdict(
        SNMP_01,
        Status::Fail,
        format!("SNMP answers on 161/udp (v1 {v1}, v2c {v2c}, v3 {v3})"),
        "snmp",
    );
    let community = if !accepted.is_empty() {
        verdict(
            SNMP_02,
            Status::Fail,
            format!(
                "default community accepted with a real value: {}",
                accepted.join("; ")
            ),
            "snmp",
        )
    } else if !community_tried {
        verdict(
            SNMP_02,
            Status::NotAssessable,
            "lockout-safe mode: no community tried",
            "snmp",
        )
    } else {
        verdict(
            SNMP_02,
            Status::NotAssessable,
            "no default community accepted; whether v3 allows noPriv needs a user name",
            "snmp",
        )
    };
    vec![answers, community]
}

/// HS-PROV-02: provisioning files are not readable without authentication.
pub fn tftp(services: &[Service]) -> Vec<Verdict> {
    let Some(s) = open(services, "tftp").first().copied() else {
        return Vec::new();
    };
    let readable: &[String] = match &s.detail {
        Evidence::Tftp(t) => &t.readable,
        _ => &[],
    };
    vec![if readable.is_empty() {
        verdict(
            PROV_02,
            Status::NotAssessable,
            "TFTP answers but none of the well-known provisioning files is readable",
            "tftp",
        )
    } else {
        verdict(
            PROV_02,
            Status::Fail,
            format!(
                "provisioning files readable over TFTP without authentication: {}",
                readable.join(", ")
            ),
            "tftp",
        )
    }]
}

/// HS-CRYPTO-01: SIP only over TLS (nothing to say without SIP).
pub fn sip(services: &[Service]) -> Vec<Verdict> {
    let clear: Vec<String> = open(services, "sip").into_iter().map(describe).collect();
    if !clear.is_empty() {
        vec![verdict(
            CRYPTO_01,
            Status::Fail,
            format!("SIP without TLS: {}", clear.join(", ")),
            "sip",
        )]
    } else if !open(services, "sips").is_empty() {
        vec![verdict(
            CRYPTO_01,
            Status::Pass,
            "SIP only over TLS (5061)",
            "sip",
        )]
    } else {
        Vec::new()
    }
}

/// HS-SW-01: no unnecessary remote-access service.
pub fn remote_access(services: &[Service]) -> Vec<Verdict> {
    const REMOTE: [&str; 6] = ["telnet", "ssh", "http", "https", "snmp", "tftp"];
    let remote: Vec<String> = services
        .iter()
        .filter(|s| s.state == State::Open && REMOTE.contains(&s.service))
        .map(describe)
        .collect();
    vec![if remote.is_empty() {
        verdict(
            SW_01,
            Status::Pass,
            "no management service answered",
            "sweep",
        )
    } else {
        verdict(
            SW_01,
            Status::Fail,
            format!("remote-access services: {}", remote.join(", ")),
            "sweep",
        )
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Https, Snmp, Tftp};
    use crate::wire::{HttpReply, KexInit, SipReply};

    fn closed(port: u16, proto: &'static str, service: &'static str) -> Service {
        Service::new(port, proto, service, State::Closed, Evidence::Empty {})
    }

    /// (control ID, status) of each verdict, in order.
    fn judged(v: Vec<Verdict>) -> Vec<(&'static str, Status)> {
        v.into_iter().map(|v| (v.control.id, v.status)).collect()
    }

    use Status::{Fail, NotAssessable, Pass};

    #[test]
    fn an_id_outside_the_catalogue_is_refused() {
        let refused = std::panic::catch_unwind(|| catalogued("HS-NOPE-01"));
        assert!(refused.is_err());
        assert_eq!(catalogued("HS-TEL-01").id, "HS-TEL-01");
    }

    #[test]
    fn every_probed_control_is_in_the_catalogue_once() {
        for (i, c) in PROBED.iter().enumerate() {
            assert!(hookswitch_controls::control(c.id).is_some(), "{}", c.id);
            assert!(!PROBED[..i].iter().any(|d| d.id == c.id), "{} twice", c.id);
        }
    }

    #[test]
    fn telnet_pass_and_fail() {
        assert_eq!(
            judged(telnet(&[closed(23, "tcp", "telnet")])),
            [("HS-TEL-01", Pass)]
        );
        let open = Service::new(
            2323,
            "tcp",
            "telnet",
            State::Open,
            Evidence::Telnet {
                banner: "login:".into(),
                options: vec!["DO 24".into()],
            },
        );
        let v = telnet(&[closed(23, "tcp", "telnet"), open]);
        assert_eq!(judged(v.clone()), [("HS-TEL-01", Fail)]);
        assert_eq!(v[0].evidence, "Telnet answers on 2323/tcp telnet: login:");
    }

    fn ssh_service(ident: &str, ssh1: bool) -> Service {
        Service::new(
            22,
            "tcp",
            "ssh",
            State::Open,
            Evidence::Ssh(Ssh::Identified {
                ident: ident.into(),
                ssh1,
                algorithms: Some(KexInit::default()),
            }),
        )
    }

    #[test]
    fn ssh_absent_v2_only_v1_and_unidentified() {
        assert_eq!(
            judged(ssh(&[closed(22, "tcp", "ssh")])),
            [("HS-TEL-03", Pass)]
        );
        assert_eq!(
            judged(ssh(&[ssh_service("SSH-2.0-OpenSSH_9.2", false)])),
            [("HS-TEL-03", Fail), ("HS-TEL-02", Pass)]
        );
        assert_eq!(
            judged(ssh(&[ssh_service("SSH-1.99-Cisco-1.25", true)])),
            [("HS-TEL-03", Fail), ("HS-TEL-02", Fail)]
        );
        // No identification line: an SSH port is open, but the protocol version is unknown.
        let odd = Service::new(
            22,
            "tcp",
            "ssh",
            State::Open,
            Evidence::Ssh(Ssh::Unidentified {
                banner: "HTTP/1.0 400".into(),
                no_ident: (),
            }),
        );
        assert_eq!(judged(ssh(&[odd])), [("HS-TEL-03", Fail)]);
    }

    fn http_service(port: u16) -> Service {
        Service::new(
            port,
            "tcp",
            "http",
            State::Open,
            Evidence::Http(HttpReply {
                status: 200,
                server: None,
                title: Some("Phone".into()),
            }),
        )
    }

    fn https_service(port: u16, legacy: Vec<&'static str>) -> Service {
        Service::new(
            port,
            "tcp",
            "https",
            State::Open,
            Evidence::Https(Https {
                tls: Some("TLSv1.3".into()),
                legacy_tls_accepted: legacy,
                page: Some(HttpReply::default()),
            }),
        )
    }

    #[test]
    fn web_none_plain_and_https_only() {
        assert_eq!(
            judged(web(&[closed(80, "tcp", "http")])),
            [("HS-WEB-01", Pass)]
        );
        let v = web(&[http_service(80), https_service(443, vec![])]);
        assert_eq!(
            judged(v.clone()),
            [("HS-WEB-01", Fail), ("HS-WEB-02", Fail)]
        );
        assert_eq!(
            v[1].evidence,
            "plain HTTP on 80/tcp http (status 200, title \"Phone\")"
        );
        assert_eq!(
            judged(web(&[https_service(443, vec![])])),
            [("HS-WEB-01", Fail), ("HS-WEB-02", Pass)]
        );
    }

    #[test]
    fn https_legacy_versions() {
        assert!(
            https(&[closed(443, "tcp", "https")]).is_empty(),
            "nothing to judge"
        );
        assert_eq!(
            judged(https(&[https_service(443, vec![])])),
            [("HS-CRYPTO-03", Pass)]
        );
        let v = https(&[
            https_service(443, vec![]),
            https_service(8443, vec!["TLSv1.0", "TLSv1.1"]),
        ]);
        assert_eq!(judged(v.clone()), [("HS-CRYPTO-03", Fail)]);
        assert_eq!(
            v[0].evidence,
            "8443/tcp https accepts TLSv1.0; 8443/tcp https accepts TLSv1.1"
        );
    }

    fn snmp_service(state: State, accepted: &[&str]) -> Service {
        Service::new(
            161,
            "udp",
            "snmp",
            state,
            Evidence::Snmp(Snmp {
                v1: !accepted.is_empty(),
                v2c: false,
                v3: true,
                community_accepted: accepted.iter().map(|s| s.to_string()).collect(),
                engine_id: None,
            }),
        )
    }

    #[test]
    fn snmp_closed_open_community_and_lockout_safe() {
        assert!(snmp(&[], true).is_empty(), "not probed: nothing to say");
        assert_eq!(
            judged(snmp(&[snmp_service(State::Timeout, &[])], true)),
            [("HS-SNMP-01", Pass)]
        );
        assert_eq!(
            judged(snmp(
                &[snmp_service(State::Open, &["v1 community \"public\""])],
                true
            )),
            [("HS-SNMP-01", Fail), ("HS-SNMP-02", Fail)]
        );
        assert_eq!(
            judged(snmp(&[snmp_service(State::Open, &[])], true)),
            [("HS-SNMP-01", Fail), ("HS-SNMP-02", NotAssessable)]
        );
        let safe = snmp(&[snmp_service(State::Open, &[])], false);
        assert_eq!(safe[1].evidence, "lockout-safe mode: no community tried");
    }

    fn tftp_service(state: State, readable: &[&str]) -> Service {
        Service::new(
            69,
            "udp",
            "tftp",
            state,
            Evidence::Tftp(Tftp {
                readable: readable.iter().map(|s| s.to_string()).collect(),
                not_readable: vec![],
            }),
        )
    }

    #[test]
    fn tftp_silent_nothing_readable_and_readable() {
        assert!(tftp(&[tftp_service(State::Timeout, &[])]).is_empty());
        assert_eq!(
            judged(tftp(&[tftp_service(State::Open, &[])])),
            [("HS-PROV-02", NotAssessable)]
        );
        assert_eq!(
            judged(tftp(&[tftp_service(State::Open, &["SEPDefault.cnf"])])),
            [("HS-PROV-02", Fail)]
        );
    }

    #[test]
    fn sip_clear_tls_only_and_none() {
        let clear = Service::new(
            5060,
            "udp",
            "sip",
            State::Open,
            Evidence::Sip {
                fingerprint: Default::default(),
                reply: SipReply::default(),
            },
        );
        let tls = Service::new(
            5061,
            "tcp",
            "sips",
            State::Open,
            Evidence::SipTls {
                tls: "TLSv1.3".into(),
                status: Some(200),
                user_agent: None,
            },
        );
        assert!(sip(&[closed(5060, "udp", "sip"), closed(5061, "tcp", "sips")]).is_empty());
        assert_eq!(
            judged(sip(std::slice::from_ref(&tls))),
            [("HS-CRYPTO-01", Pass)]
        );
        assert_eq!(judged(sip(&[clear, tls])), [("HS-CRYPTO-01", Fail)]);
    }

    #[test]
    fn remote_access_counts_management_services_only() {
        let sip_only = Service::new(5060, "udp", "sip", State::Open, Evidence::Empty {});
        assert_eq!(judged(remote_access(&[sip_only])), [("HS-SW-01", Pass)]);
        let v = remote_access(&[closed(23, "tcp", "telnet"), tftp_service(State::Open, &[])]);
        assert_eq!(judged(v.clone()), [("HS-SW-01", Fail)]);
        assert_eq!(v[0].evidence, "remote-access services: 69/udp tftp");
    }

    #[test]
    fn assess_stamps_every_verdict_and_names_only_probed_controls() {
        let services = [
            ssh_service("SSH-2.0-x", false),
            http_service(80),
            https_service(443, vec!["TLSv1.0"]),
            snmp_service(State::Open, &[]),
            tftp_service(State::Open, &["a"]),
            closed(5061, "tcp", "sips"),
        ];
        let found = assess(&services, true, "2026-01-01T00:00:00Z");
        assert!(found.iter().all(|f| f.timestamp == "2026-01-01T00:00:00Z"));
        assert!(found
            .iter()
            .all(|f| PROBED.iter().any(|c| c.id == f.control.id)));
        assert_eq!(found.len(), 10);
    }
}
