//! `hookswitch probe`.

use crate::commands::SeverityArg;
use crate::output::emit_with;
use clap::ValueEnum;
use hookswitch_audit::{fails_at, report};
use hookswitch_controls::Profile;
use hookswitch_probe::scope::{resolve, Cidr};
use hookswitch_probe::{report as probe_report, ProbeOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum ProbeFormat {
    Human,
    Json,
    Sarif,
    Cklb,
    NmapXml,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Hosts, CIDR ranges, or @FILE with one per line.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Networks that may be contacted; anything outside is refused. Required.
    #[arg(long = "allow", required = true)]
    pub allow: Vec<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: ProbeFormat,
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: SeverityArg,
    /// Attempts in flight at once, for the whole sweep.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Network attempts per second, for the whole sweep.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    #[arg(long, default_value_t = 1500)]
    pub timeout_ms: u64,
    #[arg(long, default_value_t = 1)]
    pub udp_retries: u32,
    #[arg(long = "telnet-port")]
    pub telnet_ports: Vec<u16>,
    #[arg(long = "http-port")]
    pub http_ports: Vec<u16>,
    #[arg(long = "https-port")]
    pub https_ports: Vec<u16>,
    /// Send no credential guesses at all (no SNMP communities).
    #[arg(long)]
    pub lockout_safe: bool,
    /// SNMP communities to try (at most 4; default public, private).
    #[arg(long = "community")]
    pub communities: Vec<String>,
    /// Extra provisioning file names to try over TFTP (e.g. SEP<MAC>.cnf.xml).
    #[arg(long = "tftp-file")]
    pub tftp_files: Vec<String>,
    #[arg(long, default_value = "hookswitch-probe")]
    pub sip_user_agent: String,
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

fn now() -> (i64, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    (secs, hookswitch_trust::time::format(secs))
}

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
    let (started, stamp) = now();
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
    let files = probe_report::as_file_reports(&reports);
    let args = format!("hookswitch probe {}", a.targets.join(" "));
    emit_with(a.output.as_deref(), |out| match a.format {
        ProbeFormat::Human => probe_report::human(&reports, out),
        ProbeFormat::Json => probe_report::json(&reports, out),
        ProbeFormat::Sarif => report::sarif(&files, Profile::Standard, out),
        ProbeFormat::Cklb => report::cklb(&files, Profile::Standard, &a.targets.join(" "), out),
        ProbeFormat::NmapXml => probe_report::nmap_xml(&reports, &args, started, out),
    })?;
    Ok(if fails_at(&files, a.fail_on.into()) {
        1
    } else {
        0
    })
}
