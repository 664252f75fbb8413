//! The probes. Every network operation goes through [`Limits`]: a global concurrency cap,
//! a rate cap and a per-attempt timeout; UDP probes retry a bounded number of times.

use crate::model::{Evidence, Https, Service, Snmp, Ssh, State, Tftp};
use crate::wire;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::{sleep_until, timeout, Instant};

#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub concurrency: usize,
    /// Network attempts per second, across all hosts.
    pub rate: u32,
    pub timeout: Duration,
    pub udp_retries: u32,
    pub telnet_ports: Vec<u16>,
    pub http_ports: Vec<u16>,
    pub https_ports: Vec<u16>,
    /// Default SNMP communities to try (capped at 4); empty in lockout-safe mode.
    pub communities: Vec<String>,
    pub tftp_files: Vec<String>,
    pub sip_user_agent: String,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            concurrency: 256,
            rate: 1000,
            timeout: Duration::from_millis(1500),
            udp_retries: 1,
            telnet_ports: vec![23],
            http_ports: vec![80, 8080],
            https_ports: vec![443, 8443],
            communities: vec!["public".into(), "private".into()],
            tftp_files: ["SEPDefault.cnf", "y000000000000.cfg", "000000000000.cfg"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            sip_user_agent: "hookswitch-probe".into(),
        }
    }
}

/// Concurrency, rate and timeout, shared by every probe of a sweep.
pub struct Limits {
    sem: Semaphore,
    next: Mutex<Instant>,
    interval: Duration,
    pub timeout: Duration,
}

impl Limits {
    pub fn new(o: &ProbeOptions) -> Arc<Limits> {
        Arc::new(Limits {
            sem: Semaphore::new(o.concurrency.max(1)),
            next: Mutex::new(Instant::now()),
            interval: Duration::from_secs_f64(1.0 / o.rate.max(1) as f64),
            timeout: o.timeout,
        })
    }

    /// Wait for a rate slot, then hold a concurrency permit for the attempt.
    async fn slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        sleep_until(at).await;
        // The semaphore is never closed, so acquire cannot fail.
        self.sem.acquire().await.expect("semaphore open")
    }
}

/// Connect with the limits; the state says what happened.
async fn connect(l: &Limits, addr: SocketAddr) -> (State, Option<TcpStream>) {
    let _p = l.slot().await;
    match timeout(l.timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => (State::Open, Some(s)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => (State::Closed, None),
        Ok(Err(_)) => (State::Filtered, None),
        Err(_) => (State::Timeout, None),
    }
}

/// Read until `enough` says so, the peer closes, `max` bytes, or the timeout.
async fn read_some<S: AsyncReadExt + Unpin>(
    s: &mut S,
    max: usize,
    t: Duration,
    enough: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    let mut buf = Vec::new();
    let deadline = Instant::now() + t;
    let mut chunk = [0u8; 4096];
    while buf.len() < max && !enough(&buf) {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n.min(max - buf.len())]),
            _ => break,
        }
    }
    buf
}

pub async fn telnet(l: &Limits, ip: IpAddr, port: u16) -> Service {
    let (state, stream) = connect(l, SocketAddr::new(ip, port)).await;
    let Some(mut s) = stream else {
        return Service::new(port, "tcp", "telnet", state, Evidence::Empty {});
    };
    // Refuse each round of option requests until the server shows its banner (a few rounds at most).
    let mut all_options = Vec::new();
    let mut banner = String::new();
    for _ in 0..4 {
        let got = read_some(&mut s, 4096, l.timeout, |b| {
            let g = wire::parse_telnet(b);
            g.banner.len() > 8 || (!g.options.is_empty() && !b.ends_with(&[255]))
        })
        .await;
        if got.is_empty() {
            break;
        }
        let g = wire::parse_telnet(&got);
        if !g.banner.is_empty() {
            banner = format!("{banner} {}", g.banner).trim().to_string();
        }
        let refusals = wire::telnet_refusals(&g.options);
        all_options.extend(g.options);
        if banner.len() > 8 || refusals.is_empty() || s.write_all(&refusals).await.is_err() {
            break;
        }
    }
    let g = wire::TelnetGreeting {
        options: all_options,
        banner: banner.clone(),
    };
    let options: Vec<String> = g
        .options
        .iter()
        .map(|(c, o)| {
            format!(
                "{} {o}",
                match c {
                    251 => "WILL",
                    252 => "WONT",
                    253 => "DO",
                    _ => "DONT",
                }
            )
        })
        .collect();
    Service::new(
        port,
        "tcp",
        "telnet",
        State::Open,
        Evidence::Telnet { banner, options },
    )
}

pub async fn ssh(l: &Limits, ip: IpAddr, port: u16) -> Service {
    let (state, stream) = connect(l, SocketAddr::new(ip, port)).await;
    let Some(mut s) = stream else {
        return Service::new(port, "tcp", "ssh", state, Evidence::Empty {});
    };
    let first = read_some(&mut s, 4096, l.timeout, |b| {
        b.windows(2).any(|w| w == b"\r\n") || b.contains(&b'\n')
    })
    .await;
    let Some(id) = wire::parse_ssh_ident(&first) else {
        return Service::new(
            port,
            "tcp",
            "ssh",
            State::Open,
            Evidence::Ssh(Ssh::Unidentified {
                banner: wire::printable(&first, 120),
                no_ident: (),
            }),
        );
    };
    let mut algorithms = None;
    if s.write_all(b"SSH-2.0-hookswitch_probe\r\n").await.is_ok() {
        // The server's KEXINIT may already follow its identification line.
        let line_end = first
            .iter()
            .position(|&b| b == b'\n')
            .map_or(first.len(), |p| p + 1);
        let mut rest = first[line_end..].to_vec();
        rest.extend(
            read_some(&mut s, 65536, l.timeout, |b| {
                b.len() >= 4 && b.len() >= u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize + 4
            })
            .await,
        );
        algorithms = wire::parse_kexinit(&rest);
    }
    let detail = Ssh::Identified {
        ident: format!("SSH-{}-{}", id.proto, id.software),
        ssh1: id.offers_ssh1(),
        algorithms,
    };
    Service::new(port, "tcp", "ssh", State::Open, Evidence::Ssh(detail))
}

fn http_request(ip: IpAddr) -> Vec<u8> {
    format!(
        "GET / HTTP/1.0\r\nHost: {ip}\r\nUser-Agent: hookswitch-probe\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

pub async fn http(l: &Limits, ip: IpAddr, port: u16) -> Service {
    let (state, stream) = connect(l, SocketAddr::new(ip, port)).await;
    let Some(mut s) = stream else {
        return Service::new(port, "tcp", "http", state, Evidence::Empty {});
    };
    let _ = s.write_all(&http_request(ip)).await;
    let reply = read_some(&mut s, 65536, l.timeout, |_| false).await;
    match wire::parse_http(&reply) {
        Some(r) => Service::new(port, "tcp", "http", State::Open, Evidence::Http(r)),
        // Something else listens here (maybe TLS): report the port, not a web UI.
        None => Service::new(
            port,
            "tcp",
            "unknown",
            State::Open,
            Evidence::Unrecognised {
                banner: wire::printable(&reply, 80),
            },
        ),
    }
}

/// rustls verifier that accepts any certificate: the probe observes a server, it does not
/// trust it or send it anything secret.
#[derive(Debug)]
struct Observe(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Observe {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_connector() -> Option<tokio_rustls::TlsConnector> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Observe(provider)))
        .with_no_client_auth();
    Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// TLS handshake (1.2/1.3) to `addr`; returns the negotiated version and the stream.
async fn tls(
    l: &Limits,
    ip: IpAddr,
    port: u16,
) -> (
    State,
    Option<(String, tokio_rustls::client::TlsStream<TcpStream>)>,
) {
    let (state, stream) = connect(l, SocketAddr::new(ip, port)).await;
    let (Some(s), Some(c)) = (stream, tls_connector()) else {
        return (state, None);
    };
    let name = rustls::pki_types::ServerName::IpAddress(ip.into());
    match timeout(l.timeout, c.connect(name, s)).await {
        Ok(Ok(t)) => {
            let v = match t.get_ref().1.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
                _ => "unknown",
            };
            (State::Open, Some((v.to_string(), t)))
        }
        _ => (State::Open, None),
    }
}

/// Does the server accept a ClientHello offering only `version`?
async fn accepts_legacy(l: &Limits, ip: IpAddr, port: u16, version: u16) -> bool {
    let (_, stream) = connect(l, SocketAddr::new(ip, port)).await;
    let Some(mut s) = stream else { return false };
    if s.write_all(&wire::legacy_client_hello(version, None))
        .await
        .is_err()
    {
        return false;
    }
    let reply = read_some(&mut s, 16384, l.timeout, |b| b.len() >= 11).await;
    wire::server_hello_version(&reply) == Some(version)
}

pub async fn https(l: &Limits, ip: IpAddr, port: u16) -> Service {
    let (state, tls_stream) = tls(l, ip, port).await;
    if state != State::Open {
        return Service::new(port, "tcp", "https", state, Evidence::Empty {});
    }
    let mut legacy = Vec::new();
    for (v, name) in [(0x0301u16, "TLSv1.0"), (0x0302, "TLSv1.1")] {
        if accepts_legacy(l, ip, port, v).await {
            legacy.push(name);
        }
    }
    let Some((version, mut t)) = tls_stream else {
        let service = if legacy.is_empty() {
            "unknown"
        } else {
            "https"
        };
        return Service::new(
            port,
            "tcp",
            service,
            State::Open,
            Evidence::Https(Https {
                tls: None,
                legacy_tls_accepted: legacy,
                page: None,
            }),
        );
    };
    let _ = t.write_all(&http_request(ip)).await;
    let reply = read_some(&mut t, 65536, l.timeout, |_| false).await;
    let page = wire::parse_http(&reply).unwrap_or_default();
    Service::new(
        port,
        "tcp",
        "https",
        State::Open,
        Evidence::Https(Https {
            tls: Some(version),
            legacy_tls_accepted: legacy,
            page: Some(page),
        }),
    )
}

/// Send `msg` to `addr` on a fresh connected UDP socket and wait for one reply, retrying.
async fn udp_ask(l: &Limits, retries: u32, addr: SocketAddr, msg: &[u8]) -> Result<Vec<u8>, State> {
    let bind: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    let Ok(sock) = UdpSocket::bind(bind).await else {
        return Err(State::Filtered);
    };
    if sock.connect(addr).await.is_err() {
        return Err(State::Filtered);
    }
    let mut buf = vec![0u8; 65536];
    for _ in 0..=retries {
        let _p = l.slot().await;
        if sock.send(msg).await.is_err() {
            return Err(State::Filtered);
        }
        match timeout(l.timeout, sock.recv(&mut buf)).await {
            Ok(Ok(n)) => return Ok(buf[..n].to_vec()),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Err(State::Closed)
            }
            Ok(Err(_)) => return Err(State::Filtered),
            Err(_) => continue,
        }
    }
    Err(State::Timeout)
}

pub async fn snmp(l: &Limits, ip: IpAddr, o: &ProbeOptions) -> Service {
    let addr = SocketAddr::new(ip, 161);
    let v3 = udp_ask(l, o.udp_retries, addr, &wire::snmpv3_discovery(0x4853)).await;
    let engine = v3.as_ref().ok().and_then(|r| wire::snmpv3_engine_id(r));
    let mut detail = Snmp {
        v1: false,
        v2c: false,
        v3: engine.is_some(),
        community_accepted: Vec::new(),
        engine_id: engine.map(|e| e.iter().map(|b| format!("{b:02x}")).collect()),
    };
    let mut open = v3.is_ok();
    let mut accepted = Vec::new();
    // A refused port (ICMP unreachable) gets no community guesses.
    let refused = matches!(v3, Err(State::Closed));
    let attempts = o
        .communities
        .iter()
        .take(4)
        .filter(|_| !refused)
        .flat_map(|c| [(c, "v1"), (c, "v2c")])
        .map(|(community, label)| async move {
            let _p = l.slot().await;
            let auth = if label == "v1" {
                async_snmp::Auth::v1(community.as_str())
            } else {
                async_snmp::Auth::v2c(community.as_str())
            };
            let client = async_snmp::Client::builder(addr, auth)
                .request_timeout(l.timeout)
                .retry(
                    async_snmp::Retry::fixed(o.udp_retries.min(3), Duration::ZERO)
                        .unwrap_or_else(|_| async_snmp::Retry::none()),
                )
                .connect()
                .await
                .ok()?;
            let resp = client
                .get(&async_snmp::oid!(1, 3, 6, 1, 2, 1, 1, 1, 0))
                .await
                .ok()?;
            // Answered at all; only a real value counts as accepted (not noSuchObject/noSuchInstance).
            let value = resp.varbinds.first().and_then(|vb| match &vb.value {
                async_snmp::Value::OctetString(bytes) => Some(wire::printable(bytes.as_ref(), 80)),
                _ => None,
            });
            Some((label, community.clone(), value))
        });
    for (label, community, value) in futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .flatten()
    {
        open = true;
        if let Some(v) = value {
            match label {
                "v1" => detail.v1 = true,
                _ => detail.v2c = true,
            }
            accepted.push(format!("{label} community {community:?}: sysDescr {v:?}"));
        }
    }
    detail.community_accepted = accepted;
    let state = if open {
        State::Open
    } else {
        v3.err().unwrap_or(State::Timeout)
    };
    Service::new(161, "udp", "snmp", state, Evidence::Snmp(detail))
}

pub async fn tftp(l: &Limits, ip: IpAddr, o: &ProbeOptions) -> Service {
    let server = SocketAddr::new(ip, 69);
    let mut readable = Vec::new();
    let mut missing = Vec::new();
    let mut state = State::Timeout;
    // A refused port (ICMP unreachable on a connected socket) needs no per-file attempts.
    if let Err(State::Closed) = udp_ask(l, 0, server, &wire::tftp_rrq("hookswitch-probe")).await {
        return Service::new(
            69,
            "udp",
            "tftp",
            State::Closed,
            Evidence::Tftp(Tftp {
                readable,
                not_readable: missing,
            }),
        );
    }
    // Files concurrently, each with its own socket: the server answers from a new port,
    // which a connected socket would drop.
    let attempts = o.tftp_files.iter().map(|file| async move {
        let bind: SocketAddr = if ip.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let sock = UdpSocket::bind(bind).await.ok()?;
        let mut buf = vec![0u8; 1024];
        for _ in 0..=o.udp_retries {
            let _p = l.slot().await;
            sock.send_to(&wire::tftp_rrq(file), server).await.ok()?;
            let deadline = Instant::now() + l.timeout;
            loop {
                match tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await {
                    Ok(Ok((n, from))) if from.ip() == ip => {
                        let reply = wire::parse_tftp(&buf[..n]);
                        if matches!(reply, Some(wire::TftpReply::Data { .. })) {
                            let _ = sock.send_to(&wire::tftp_abort(), from).await;
                        }
                        return Some((file.clone(), reply));
                    }
                    Ok(Ok(_)) => continue, // not from the target: ignore
                    _ => break,
                }
            }
        }
        None
    });
    for (file, reply) in futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .flatten()
    {
        state = State::Open;
        match reply {
            Some(wire::TftpReply::Data { .. }) => readable.push(file),
            Some(wire::TftpReply::Error { message, .. }) => {
                missing.push(format!("{file}: {message}"))
            }
            _ => {}
        }
    }
    readable.sort();
    missing.sort();
    Service::new(
        69,
        "udp",
        "tftp",
        state,
        Evidence::Tftp(Tftp {
            readable,
            not_readable: missing,
        }),
    )
}

/// A Call-ID/tag unique to this process and request: a UA treats a reused Call-ID as a
/// retransmission and may stay silent.
fn sip_tag() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "hs{:x}{:x}{:x}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The local address used to reach `ip` (for Via/Contact), without sending anything.
fn local_for(ip: IpAddr) -> String {
    let bind = if ip.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    std::net::UdpSocket::bind(bind)
        .and_then(|s| {
            s.connect(SocketAddr::new(ip, 5060))
                .and_then(|_| s.local_addr())
        })
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "0.0.0.0".into())
}

/// A SIP reply and the device it names (User-Agent, else Server).
fn sip_evidence(reply: wire::SipReply) -> Evidence {
    let header = reply.user_agent.as_deref().or(reply.server.as_deref());
    Evidence::Sip {
        fingerprint: wire::fingerprint(header.unwrap_or("")),
        reply,
    }
}

pub async fn sip(l: &Limits, ip: IpAddr, o: &ProbeOptions) -> Vec<Service> {
    let local = local_for(ip);
    let local = local.as_str();
    let mut out = Vec::new();
    // UDP.
    let msg = wire::sip_options(
        &ip.to_string(),
        5060,
        "UDP",
        local,
        &o.sip_user_agent,
        &sip_tag(),
    );
    out.push(
        match udp_ask(l, o.udp_retries, SocketAddr::new(ip, 5060), &msg).await {
            Ok(reply) => match wire::parse_sip(&reply) {
                Some(r) => Service::new(5060, "udp", "sip", State::Open, sip_evidence(r)),
                None => Service::new(5060, "udp", "unknown", State::Open, Evidence::Empty {}),
            },
            Err(s) => Service::new(5060, "udp", "sip", s, Evidence::Empty {}),
        },
    );
    // TCP.
    let (state, stream) = connect(l, SocketAddr::new(ip, 5060)).await;
    out.push(match stream {
        Some(mut s) => {
            let _ = s
                .write_all(&wire::sip_options(
                    &ip.to_string(),
                    5060,
                    "TCP",
                    local,
                    &o.sip_user_agent,
                    &sip_tag(),
                ))
                .await;
            let reply = read_some(&mut s, 16384, l.timeout, |b| {
                b.windows(4).any(|w| w == b"\r\n\r\n")
            })
            .await;
            match wire::parse_sip(&reply) {
                Some(r) => Service::new(5060, "tcp", "sip", State::Open, sip_evidence(r)),
                None => Service::new(5060, "tcp", "unknown", State::Open, Evidence::Empty {}),
            }
        }
        None => Service::new(5060, "tcp", "sip", state, Evidence::Empty {}),
    });
    // TLS.
    let (state, t) = tls(l, ip, 5061).await;
    out.push(match t {
        Some((version, mut t)) => {
            let _ = t
                .write_all(&wire::sip_options(
                    &ip.to_string(),
                    5061,
                    "TLS",
                    local,
                    &o.sip_user_agent,
                    &sip_tag(),
                ))
                .await;
            let reply = read_some(&mut t, 16384, l.timeout, |b| {
                b.windows(4).any(|w| w == b"\r\n\r\n")
            })
            .await;
            let r = wire::parse_sip(&reply);
            let open = if r.is_some() { "sips" } else { "unknown" };
            Service::new(
                5061,
                "tcp",
                open,
                State::Open,
                Evidence::SipTls {
                    tls: version,
                    status: r.as_ref().map(|r| r.status),
                    user_agent: r.and_then(|r| r.user_agent),
                },
            )
        }
        None => Service::new(5061, "tcp", "sips", state, Evidence::Empty {}),
    });
    out
}
