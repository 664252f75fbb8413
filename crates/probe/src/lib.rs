//! Network probes of endpoints' management planes: Telnet, SSH, HTTP(S), SNMP, TFTP and
//! SIP, reported per host with the catalogue's control IDs.
//!
//! Safety: targets must fall inside an explicit allow list; every attempt is bounded by a
//! global concurrency cap, a rate cap and a timeout, and UDP retries are counted. The only
//! credentials ever sent are a capped list of default SNMP communities, and none at all in
//! lockout-safe mode.

pub mod assess;
pub mod model;
pub mod probes;
pub mod report;
pub mod scope;
pub mod wire;

pub use model::{Evidence, Finding, HostReport, Service, State, Status};
pub use probes::ProbeOptions;

use std::net::IpAddr;
use std::sync::Arc;

/// Probe one host: every service concurrently, under the shared limits.
pub async fn probe_host(
    ip: IpAddr,
    o: &ProbeOptions,
    limits: &probes::Limits,
    now: &str,
) -> HostReport {
    let telnet = in_order(
        o.telnet_ports
            .iter()
            .map(|&p| probes::telnet(limits, ip, p)),
    );
    let http = in_order(o.http_ports.iter().map(|&p| probes::http(limits, ip, p)));
    let https = in_order(o.https_ports.iter().map(|&p| probes::https(limits, ip, p)));
    let (telnet, ssh, http, https, snmp, tftp, sip) = tokio::join!(
        telnet,
        probes::ssh(limits, ip, 22),
        http,
        https,
        probes::snmp(limits, ip, o),
        probes::tftp(limits, ip, o),
        probes::sip(limits, ip, o)
    );
    let mut services: Vec<Service> = Vec::new();
    services.extend(telnet);
    services.push(ssh);
    services.extend(http);
    services.extend(https);
    services.push(snmp);
    services.push(tftp);
    services.extend(sip);
    let findings = assess::assess(&services, !o.communities.is_empty(), now);
    HostReport {
        address: ip.to_string(),
        services,
        findings,
    }
}

/// All ports of one kind concurrently (the shared limits bound the load), in port order.
async fn in_order<F: std::future::Future<Output = Service>>(
    it: impl Iterator<Item = F>,
) -> Vec<Service> {
    futures_util::future::join_all(it).await
}

/// Probe every host; `on_done` is called after each (for a progress bar). Hosts come back
/// in input order.
pub fn sweep(
    hosts: &[IpAddr],
    o: &ProbeOptions,
    now: &str,
    on_done: impl Fn() + Send + Sync + 'static,
) -> Result<Vec<HostReport>, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let limits = probes::Limits::new(o);
    let on_done = Arc::new(on_done);
    rt.block_on(async {
        let mut tasks = Vec::new();
        for &ip in hosts {
            let (o, limits, now, on_done) =
                (o.clone(), limits.clone(), now.to_string(), on_done.clone());
            tasks.push(tokio::spawn(async move {
                let r = probe_host(ip, &o, &limits, &now).await;
                on_done();
                r
            }));
        }
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            out.push(t.await.map_err(|e| format!("probe task: {e}"))?);
        }
        Ok(out)
    })
}
