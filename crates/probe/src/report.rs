//! Probe reports: JSON, human, nmap XML; SARIF and CKLB through `hookswitch-report`, with
//! each host as a [`Subject`].

use crate::model::{HostReport, State, Status};
use hookswitch_report::{Finding as ReportFinding, Subject};
use std::fmt::Write as _;
use std::io::{self, Write};

/// `{"hosts":[{"address","services":[…],"findings":[…]}]}`.
pub fn json(hosts: &[HostReport], out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(
        &mut *out,
        &serde_json::json!({"tool": {"name": "hookswitch", "version": env!("CARGO_PKG_VERSION")}, "hosts": hosts}),
    )?;
    out.write_all(b"\n")
}

pub fn human(hosts: &[HostReport], out: &mut dyn Write) -> io::Result<()> {
    for h in hosts {
        let mut s = format!("{}\n", h.address);
        for svc in &h.services {
            let _ = writeln!(
                s,
                "  {:>5}/{:<3} {:<8} {:<8} {}",
                svc.port,
                svc.proto,
                svc.service,
                svc.state.as_str(),
                // The JSON report's fields, so people and tools see the same names.
                describe(&serde_json::to_value(&svc.detail).unwrap_or_default())
            );
        }
        for f in &h.findings {
            let tag = match f.status {
                Status::Fail => "FAIL",
                Status::Pass => "pass",
                Status::NotAssessable => "n/a ",
            };
            let _ = writeln!(s, "  {tag} {:<13} {}", f.control.id, f.evidence);
        }
        out.write_all(s.as_bytes())?;
    }
    Ok(())
}

/// A service's detail for people: `key=value` pairs (nested keys dotted, lists joined
/// with commas), never raw JSON.
fn describe(detail: &serde_json::Value) -> String {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value;
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            Value::Null => {}
            _ => out.push(format!("{prefix}={}", scalar(v))),
        }
    }
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(","),
            other => other.to_string(),
        }
    }
    let mut out = Vec::new();
    walk("", detail, &mut out);
    out.join(" ")
}

/// Each host as a report subject, for the SARIF and CKLB writers (and `fails_at`).
pub fn as_subjects(hosts: &[HostReport]) -> Vec<Subject> {
    hosts
        .iter()
        .map(|h| {
            let mut r = Subject::new(h.address.clone());
            r.findings = h
                .findings
                .iter()
                .map(|f| ReportFinding {
                    control: f.control.id,
                    status: f.status,
                    severity: f.control.severity,
                    line: None,
                    key: format!("probe:{}", f.probe),
                    value: None,
                    remediation: f.control.remediation.to_string(),
                    detail: format!("{} ({})", f.evidence, f.timestamp),
                })
                .collect();
            r
        })
        .collect()
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// nmap's XML output format (`-oX`), so tools that ingest nmap can read the sweep.
pub fn nmap_xml(
    hosts: &[HostReport],
    args: &str,
    started: i64,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE nmaprun>\n");
    let _ = writeln!(s, "<nmaprun scanner=\"hookswitch\" args=\"{}\" start=\"{started}\" version=\"{}\" xmloutputversion=\"1.05\">", xml(args), env!("CARGO_PKG_VERSION"));
    for h in hosts {
        let up = h
            .services
            .iter()
            .any(|s| matches!(s.state, State::Open | State::Closed));
        let family = if h.address.contains(':') {
            "ipv6"
        } else {
            "ipv4"
        };
        let _ = writeln!(
            s,
            "<host><status state=\"{}\" reason=\"{}\"/>",
            if up { "up" } else { "unknown" },
            if up { "response" } else { "no-response" }
        );
        let _ = writeln!(
            s,
            "<address addr=\"{}\" addrtype=\"{family}\"/>\n<ports>",
            xml(&h.address)
        );
        for svc in &h.services {
            let state = match svc.state {
                State::Open => "open",
                State::Closed => "closed",
                State::Filtered => "filtered",
                State::Timeout if svc.proto == "udp" => "open|filtered",
                State::Timeout => "filtered",
            };
            let product = svc.detail.product().unwrap_or("");
            let name = match svc.service {
                "https" => "https",
                "sips" => "sip-tls",
                other => other,
            };
            let _ = writeln!(
                s,
                "<port protocol=\"{}\" portid=\"{}\"><state state=\"{state}\" reason=\"hookswitch\"/><service name=\"{name}\" product=\"{}\" method=\"probed\" conf=\"10\"/></port>",
                svc.proto,
                svc.port,
                xml(product)
            );
        }
        s.push_str("</ports>\n</host>\n");
    }
    let _ = writeln!(
        s,
        "<runstats><hosts up=\"{}\" total=\"{}\"/></runstats>\n</nmaprun>",
        hosts
            .iter()
            .filter(|h| h
                .services
                .iter()
                .any(|s| s.state == State::Open || s.state == State::Closed))
            .count(),
        hosts.len()
    );
    out.write_all(s.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn details_read_as_key_value_pairs() {
        let d = serde_json::json!({"banner": "SSH-2.0-dropbear", "tls": {"versions": ["1.2", "1.3"]}, "auth": null, "port_open": true});
        assert_eq!(
            super::describe(&d),
            "banner=SSH-2.0-dropbear port_open=true tls.versions=1.2,1.3"
        );
        assert_eq!(super::describe(&serde_json::json!({})), "");
    }
}
