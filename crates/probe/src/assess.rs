//! From observations to control findings. Pure.

use crate::model::{Finding, Service, State, Status};

fn open<'a>(services: &'a [Service], service: &str) -> impl Iterator<Item = &'a Service> {
    let service = service.to_string();
    services
        .iter()
        .filter(move |s| s.service == service && s.state == State::Open)
}

fn describe(s: &Service) -> String {
    format!("{}/{} {}", s.port, s.proto, s.service)
}

/// Findings for one host. `community_tried` is false in lockout-safe mode.
pub fn assess(services: &[Service], community_tried: bool, at: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push =
        |control: &'static str, status: Status, evidence: String, probe: &'static str| {
            out.push(Finding {
                control,
                status,
                evidence,
                probe,
                timestamp: at.to_string(),
            });
        };
    // Telnet.
    let telnet: Vec<_> = open(services, "telnet").collect();
    match telnet.first() {
        Some(s) => push(
            "HS-TEL-01",
            Status::Fail,
            format!(
                "Telnet answers on {}: {}",
                describe(s),
                s.detail["banner"].as_str().unwrap_or("")
            ),
            "telnet",
        ),
        None => push(
            "HS-TEL-01",
            Status::Pass,
            "no Telnet service answered".into(),
            "telnet",
        ),
    }
    // SSH.
    let ssh: Vec<_> = open(services, "ssh").collect();
    match ssh.first() {
        Some(s) => {
            let ident = s.detail["ident"].as_str().unwrap_or("").to_string();
            push(
                "HS-TEL-03",
                Status::Fail,
                format!("SSH server on {}: {ident}", describe(s)),
                "ssh",
            );
            if s.detail["ssh1"].as_bool() == Some(true) {
                push(
                    "HS-TEL-02",
                    Status::Fail,
                    format!("SSH protocol 1 offered: {ident}"),
                    "ssh",
                );
            } else if !ident.is_empty() {
                push(
                    "HS-TEL-02",
                    Status::Pass,
                    format!("SSHv2 only: {ident}"),
                    "ssh",
                );
            }
        }
        None => push(
            "HS-TEL-03",
            Status::Pass,
            "no SSH service answered".into(),
            "ssh",
        ),
    }
    // Web UI.
    let http: Vec<_> = open(services, "http").collect();
    let https: Vec<_> = open(services, "https").collect();
    if http.is_empty() && https.is_empty() {
        push(
            "HS-WEB-01",
            Status::Pass,
            "no web server answered".into(),
            "http",
        );
    } else {
        let all: Vec<String> = http.iter().chain(&https).map(|s| describe(s)).collect();
        push(
            "HS-WEB-01",
            Status::Fail,
            format!("web server reachable: {}", all.join(", ")),
            "http",
        );
        match http.first() {
            Some(s) => push(
                "HS-WEB-02",
                Status::Fail,
                format!(
                    "plain HTTP on {} (status {}, title {:?})",
                    describe(s),
                    s.detail["status"],
                    s.detail["title"].as_str().unwrap_or("")
                ),
                "http",
            ),
            None => push(
                "HS-WEB-02",
                Status::Pass,
                "web UI only over HTTPS".into(),
                "https",
            ),
        }
    }
    let weak: Vec<String> = https
        .iter()
        .flat_map(|s| {
            s.detail["legacy_tls_accepted"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |v| format!("{} accepts {}", describe(s), v.as_str().unwrap_or("")))
        })
        .collect();
    if !weak.is_empty() {
        push("HS-CRYPTO-03", Status::Fail, weak.join("; "), "https");
    } else if !https.is_empty() {
        push(
            "HS-CRYPTO-03",
            Status::Pass,
            "HTTPS refuses TLS 1.0 and 1.1".into(),
            "https",
        );
    }
    // SNMP.
    let snmp: Vec<_> = services.iter().filter(|s| s.service == "snmp").collect();
    if let Some(s) = snmp.iter().find(|s| s.state == State::Open) {
        let d = &s.detail;
        let accepted: Vec<String> = d["community_accepted"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        push(
            "HS-SNMP-01",
            Status::Fail,
            format!(
                "SNMP answers on 161/udp (v1 {}, v2c {}, v3 {})",
                d["v1"], d["v2c"], d["v3"]
            ),
            "snmp",
        );
        if !accepted.is_empty() {
            push(
                "HS-SNMP-02",
                Status::Fail,
                format!(
                    "default community accepted with a real value: {}",
                    accepted.join("; ")
                ),
                "snmp",
            );
        } else if !community_tried {
            push(
                "HS-SNMP-02",
                Status::NotAssessable,
                "lockout-safe mode: no community tried".into(),
                "snmp",
            );
        } else {
            push(
                "HS-SNMP-02",
                Status::NotAssessable,
                "no default community accepted; whether v3 allows noPriv needs a user name".into(),
                "snmp",
            );
        }
    } else if let Some(s) = snmp.first() {
        push(
            "HS-SNMP-01",
            Status::Pass,
            format!("SNMP 161/udp {}", s.state.as_str()),
            "snmp",
        );
    }
    // TFTP.
    if let Some(s) = services
        .iter()
        .find(|s| s.service == "tftp" && s.state == State::Open)
    {
        let readable: Vec<String> = s.detail["readable"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        if readable.is_empty() {
            push(
                "HS-PROV-02",
                Status::NotAssessable,
                "TFTP answers but none of the well-known provisioning files is readable".into(),
                "tftp",
            );
        } else {
            push(
                "HS-PROV-02",
                Status::Fail,
                format!(
                    "provisioning files readable over TFTP without authentication: {}",
                    readable.join(", ")
                ),
                "tftp",
            );
        }
    }
    // SIP.
    let clear: Vec<String> = services
        .iter()
        .filter(|s| (s.service == "sip") && s.state == State::Open)
        .map(describe)
        .collect();
    let tls = services
        .iter()
        .any(|s| s.service == "sips" && s.state == State::Open);
    if !clear.is_empty() {
        push(
            "HS-CRYPTO-01",
            Status::Fail,
            format!("SIP without TLS: {}", clear.join(", ")),
            "sip",
        );
    } else if tls {
        push(
            "HS-CRYPTO-01",
            Status::Pass,
            "SIP only over TLS (5061)".into(),
            "sip",
        );
    }
    // Unnecessary remote-access services.
    let remote: Vec<String> = services
        .iter()
        .filter(|s| {
            s.state == State::Open
                && ["telnet", "ssh", "http", "https", "snmp", "tftp"].contains(&s.service)
        })
        .map(describe)
        .collect();
    if remote.is_empty() {
        push(
            "HS-SW-01",
            Status::Pass,
            "no management service answered".into(),
            "sweep",
        );
    } else {
        push(
            "HS-SW-01",
            Status::Fail,
            format!("remote-access services: {}", remote.join(", ")),
            "sweep",
        );
    }
    out
}
