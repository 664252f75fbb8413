//! `hookswitch probe`: endpoints' management planes, over the network.

use crate::flags::{ProbeArgs as Args, ProbeFormat};
use crate::output::emit_with;
use hookswitch_controls::Profile;
use hookswitch_probe::scope::{resolve, Cidr};
use hookswitch_probe::{report as probe_report, ProbeOptions};
use hookswitch_report::{cklb, fails_at, sarif};
use std::io::IsTerminal;
use std::time::Duration;

pub fn run(a: Args) -> Result<u8, String> {
    let allow: Vec<Cidr> = a
        .allow
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let hosts = resolve(&a.targets, &allow)?;
    if a.udp_retries > 5
        || a.concurrency == 0
        || a.concurrency > 4096
        || a.rate == 0
        || a.timeout_ms == 0
        || a.timeout_ms > 60_000
    {
        return Err("bounds: --udp-retries ≤ 5, 1 ≤ --concurrency ≤ 4096, --rate ≥ 1, 1 ≤ --timeout-ms ≤ 60000".into());
    }
    let mut o = ProbeOptions {
        concurrency: a.concurrency,
        rate: a.rate,
        timeout: Duration::from_millis(a.timeout_ms),
        udp_retries: a.udp_retries,
        sip_user_agent: a.sip_user_agent.clone(),
        ..ProbeOptions::default()
    };
    if !a.telnet_ports.is_empty() {
        o.telnet_ports = a.telnet_ports.clone();
    }
    if !a.http_ports.is_empty() {
        o.http_ports = a.http_ports.clone();
    }
    if !a.https_ports.is_empty() {
        o.https_ports = a.https_ports.clone();
    }
    if !a.communities.is_empty() {
        o.communities = a.communities.iter().take(4).cloned().collect();
    }
    if a.lockout_safe {
        o.communities.clear();
    }
    o.tftp_files.extend(a.tftp_files.iter().cloned());
    let started = hookswitch_clock::unix_now()?;
    let stamp = hookswitch_trust::time::format(started);
    let bar = (std::io::stderr().is_terminal() && hosts.len() > 1)
        .then(|| indicatif::ProgressBar::new(hosts.len() as u64));
    let tick = bar.clone();
    let reports = hookswitch_probe::sweep(&hosts, &o, &stamp, move || {
        if let Some(b) = &tick {
            b.inc(1);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let subjects = probe_report::as_subjects(&reports);
    let args = format!("hookswitch probe {}", a.targets.join(" "));
    emit_with(a.output.as_deref(), |out| match a.format {
        ProbeFormat::Human => probe_report::human(&reports, out),
        ProbeFormat::Json => probe_report::json(&reports, out),
        ProbeFormat::Sarif => sarif(&subjects, Profile::Standard, out),
        ProbeFormat::Cklb => cklb(&subjects, Profile::Standard, &a.targets.join(" "), out),
        ProbeFormat::NmapXml => probe_report::nmap_xml(&reports, &args, started, out),
    })?;
    Ok(if fails_at(&subjects, a.fail_on.into()) {
        1
    } else {
        0
    })
}
