//! `fleet-sim run`: every device boots at once (at most `concurrency` in flight). Each opens
//! a fresh TLS connection with its own client certificate (no session resumption), keeps it
//! alive for its session (HTTP/1.1), refreshes through the verifier (timestamp, snapshot,
//! targets, its config bin), fetches its config and optionally a firmware, and verifies
//! everything in memory. The whole run is bounded by a time limit.
//!
//! The devices' verification runs in the run's own task (the driver's store callback is not
//! `Send`); each connection's IO runs on the runtime. The benchmark pins the generator to
//! one CPU anyway.

use crate::report::{Outcome, Reason, Report};
use crate::{config_target, device_id, Manifest};
use bytes::Bytes;
use futures_util::StreamExt;
use hookswitch_trust::client::{check_config_target, Device, Request};
use hookswitch_trust::driver::{self, AsyncFetch};
use hookswitch_trust::Client;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// One device's session gets at most this long, whatever the run's limit.
const DEVICE_TIMEOUT: Duration = Duration::from_secs(120);
/// Identity files are small; anything larger is not ours.
const MAX_IDENTITY_FILE: u64 = 1 << 20;

pub struct Options {
    /// `https://HOST:PORT[/PREFIX]`: metadata under `PREFIX/metadata/`, targets under
    /// `PREFIX/targets/`.
    pub server: String,
    /// The CA the server's certificate chains to.
    pub ca: PathBuf,
    pub identities: PathBuf,
    pub concurrency: usize,
    /// Run the first N devices of the identities (default: all).
    pub devices: Option<u64>,
    /// A firmware target every device also fetches and verifies.
    pub firmware: Option<String>,
    /// The first N devices fetch nothing (they are reported as skipped).
    pub fail_devices: u64,
    pub time_limit: Duration,
}

/// What every device shares: where the server is and whom to trust for it.
struct Shared {
    addr: SocketAddr,
    server_name: ServerName<'static>,
    authority: String,
    prefix: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
    roots: Arc<rustls::RootCertStore>,
    identities: PathBuf,
    firmware: Option<String>,
    now: i64,
}

/// `https://host:port/prefix` → (host, port, prefix without a trailing slash).
fn parse_server(url: &str) -> Result<(String, u16, String), String> {
    let bad = |why: &str| format!("--server {url:?}: {why} (expected https://HOST:PORT[/PREFIX])");
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| bad("not https"))?;
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| bad("bad port"))?,
        None => 443,
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok((host.to_string(), port, prefix.to_string()))
}

/// Run the fleet; `Err` only for what stops the whole run (bad flags, unreadable CA or
/// manifest, unresolvable server). Each device's failure is in the report.
pub async fn run(opts: &Options) -> Result<Report, String> {
    let manifest = Manifest::read(&opts.identities)?;
    let devices = opts.devices.unwrap_or(manifest.devices);
    if devices == 0 || devices > manifest.devices {
        return Err(format!(
            "--devices {devices}: the identities hold {} devices",
            manifest.devices
        ));
    }
    if opts.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    let (host, port, prefix) = parse_server(&opts.server)?;
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("--server {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("--server {host}: no address"))?;
    let server_name =
        ServerName::try_from(host.clone()).map_err(|e| format!("--server {host}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    let ca_pem = hookswitch_atomicfile::read_regular(&opts.ca, MAX_IDENTITY_FILE)
        .map_err(|e| format!("{}: {e}", opts.ca.display()))?;
    for cert in CertificateDer::pem_slice_iter(&ca_pem) {
        let cert = cert.map_err(|e| format!("{}: {e}", opts.ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", opts.ca.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no PEM certificate", opts.ca.display()));
    }
    let authority = if port == 443 {
        host.clone()
    } else if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let shared = Arc::new(Shared {
        addr,
        server_name,
        authority,
        prefix,
        provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        roots: Arc::new(roots),
        identities: opts.identities.clone(),
        firmware: opts.firmware.clone(),
        now: hookswitch_clock::unix_now()?,
    });
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + opts.time_limit;
    let fail_devices = opts.fail_devices;
    let outcomes: Vec<(String, Outcome)> = futures_util::stream::iter(0..devices)
        .map(|n| {
            let shared = shared.clone();
            async move {
                let id = device_id(n);
                if n < fail_devices {
                    return (id, Outcome::Skipped);
                }
                let limit = deadline.min(tokio::time::Instant::now() + DEVICE_TIMEOUT);
                let outcome = match tokio::time::timeout_at(limit, boot(&shared, &id)).await {
                    Ok(Ok(done)) => done,
                    Ok(Err((reason, message))) => Outcome::Failed { reason, message },
                    Err(_) => Outcome::Failed {
                        reason: Reason::Timeout,
                        message: "the time limit passed before the device finished".into(),
                    },
                };
                (id, outcome)
            }
        })
        .buffer_unordered(opts.concurrency)
        .collect()
        .await;
    Ok(Report::new(&outcomes, started.elapsed()))
}

type Failure = (Reason, String);

/// One device's boot: connect, refresh, fetch and verify its config (and firmware).
async fn boot(shared: &Shared, id: &str) -> Result<Outcome, Failure> {
    let (config, root) = identity(shared, id).await?;
    let mut client =
        Client::new(&root, shared.now).map_err(|e| (Reason::Verify, format!("root: {e}")))?;
    let started = Instant::now();
    let tcp = TcpStream::connect(shared.addr)
        .await
        .map_err(|e| (Reason::Connect, format!("{}: {e}", shared.addr)))?;
    let _ = tcp.set_nodelay(true);
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(shared.server_name.clone(), tcp)
        .await
        .map_err(|e| (Reason::Tls, format!("TLS handshake: {e}")))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| (Reason::Http, format!("HTTP/1.1: {e}")))?;
    tokio::spawn(conn);
    let mut http = Http {
        sender,
        authority: &shared.authority,
        base: format!("{}/metadata", shared.prefix),
        bytes: 0,
        failure: None,
    };
    let mut save = driver::discard;
    let verify = |http: &mut Http, e: hookswitch_trust::client::Error| {
        http.failure
            .take()
            .unwrap_or((Reason::Verify, e.to_string()))
    };
    if let Err(e) = driver::refresh_async(&mut client, &mut http, &mut save).await {
        return Err(verify(&mut http, e));
    }
    let path = config_target(id);
    let mut wanted = vec![(path.clone(), true)];
    wanted.extend(shared.firmware.iter().map(|f| (f.clone(), false)));
    for (path, is_config) in wanted {
        let info = match driver::find_target_async(&mut client, &path, &mut http, &mut save).await {
            Ok(Some(info)) => info,
            Ok(None) => return Err((Reason::NotFound, format!("{path}: not in the repository"))),
            Err(e) => return Err(verify(&mut http, e)),
        };
        if is_config {
            let device = Device { id: id.to_string() };
            check_config_target(&path, &info, &device, None)
                .map_err(|e| (Reason::Verify, e.to_string()))?;
        }
        let req = client.target_request(&path, &info);
        let name = format!("{}/targets/{}", shared.prefix, req.name);
        let bytes = http
            .get(&name, req.max_len)
            .await
            .map_err(|(reason, message)| (reason, format!("{path}: {message}")))?
            .ok_or_else(|| (Reason::NotFound, format!("{name}: 404")))?;
        client
            .verify_target(&path, &info, &bytes)
            .map_err(|e| (Reason::Verify, e.to_string()))?;
    }
    if let Some(why) = mixed_versions(&client) {
        return Err((Reason::MixedVersion, why));
    }
    Ok(Outcome::Done {
        latency: started.elapsed(),
        bytes: http.bytes,
        timestamp: client.timestamp().map_or(0, |t| t.version),
    })
}

/// The device's rustls configuration (its own certificate) and its enrolled root.
async fn identity(shared: &Shared, id: &str) -> Result<(rustls::ClientConfig, Vec<u8>), Failure> {
    let devices = shared.identities.join("devices");
    let read = |name: String| {
        let path = devices.join(name);
        async move {
            tokio::task::spawn_blocking(move || {
                hookswitch_atomicfile::read_regular(&path, MAX_IDENTITY_FILE)
                    .map_err(|e| (Reason::Identity, format!("{}: {e}", path.display())))
            })
            .await
            .map_err(|e| (Reason::Identity, e.to_string()))?
        }
    };
    let pem = read(format!("{id}.pem")).await?;
    let enrollment = read(format!("{id}.enroll.json")).await?;
    let bad = |what: &str, e: String| (Reason::Identity, format!("device {id}: {what}: {e}"));
    let enrollment =
        hookswitch_trust::enrollment::parse(&enrollment).map_err(|e| bad("enrollment", e))?;
    if enrollment.device_id.as_deref() != Some(id) {
        return Err(bad(
            "enrollment",
            format!("names device {:?}", enrollment.device_id),
        ));
    }
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("certificate", e.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| bad("key", e.to_string()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(shared.provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| bad("TLS", e.to_string()))?
        .with_root_certificates(shared.roots.clone())
        .with_client_auth_cert(certs, key)
        .map_err(|e| bad("certificate", e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // A booting device has no session to resume: every handshake is a full one.
    config.resumption = rustls::client::Resumption::disabled();
    Ok((config, enrollment.root))
}

/// Whether the device's metadata came from two publications: each role's version must be
/// the one the role above it lists. (The verifier refuses this; the simulator checks it again
/// so a regression cannot hide.)
fn mixed_versions(client: &Client) -> Option<String> {
    let (ts, snap) = (client.timestamp()?, client.snapshot()?);
    let listed = ts.meta.get("snapshot.json").map(|m| m.version);
    if listed != Some(snap.version) {
        return Some(format!(
            "timestamp v{} lists snapshot {listed:?}, the device has snapshot v{}",
            ts.version, snap.version
        ));
    }
    for (role, _) in client.trusted_files() {
        let Some(t) = client.targets(&role) else {
            continue;
        };
        let listed = snap
            .meta
            .get(&hookswitch_trust::client::metadata_file_name(&role))
            .map(|m| m.version);
        if listed != Some(t.version) {
            return Some(format!(
                "snapshot v{} lists {role} {listed:?}, the device has {role} v{}",
                snap.version, t.version
            ));
        }
    }
    None
}

/// One device's HTTP/1.1 connection.
struct Http<'a> {
    sender: SendRequest<Empty<Bytes>>,
    authority: &'a str,
    /// Where metadata requests go.
    base: String,
    bytes: u64,
    /// Why the last request failed, for the report (the verifier only sees "missing").
    failure: Option<Failure>,
}

impl Http<'_> {
    /// GET `path`: `Ok(None)` on 404; at most `max_len + 1` bytes are read.
    async fn get(&mut self, path: &str, max_len: u64) -> Result<Option<Vec<u8>>, Failure> {
        let http = |e: String| (Reason::Http, format!("GET {path}: {e}"));
        self.sender.ready().await.map_err(|e| http(e.to_string()))?;
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, self.authority)
            .body(Empty::new())
            .map_err(|e| http(e.to_string()))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| http(e.to_string()))?;
        let status = resp.status().as_u16();
        let reason = match status {
            200 => None,
            404 => return Ok(None),
            401 => Some(Reason::Unauthenticated),
            403 => Some(Reason::Forbidden),
            _ => Some(Reason::Http),
        };
        if let Some(reason) = reason {
            return Err((reason, format!("GET {path}: HTTP {status}")));
        }
        let limit = usize::try_from(max_len.saturating_add(1)).unwrap_or(usize::MAX);
        let body = Limited::new(resp.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                (
                    Reason::Verify,
                    format!("GET {path}: {e} (limit {max_len} bytes)"),
                )
            })?
            .to_bytes();
        self.bytes += body.len() as u64;
        Ok(Some(body.to_vec()))
    }
}

impl AsyncFetch for Http<'_> {
    async fn fetch(&mut self, req: &Request) -> Result<Option<Vec<u8>>, String> {
        let path = format!("{}/{}", self.base, req.name);
        match self.get(&path, req.max_len).await {
            Ok(None) => {
                self.failure = Some((Reason::NotFound, format!("GET {path}: 404")));
                Ok(None)
            }
            Ok(found) => Ok(found),
            Err(f) => {
                let message = f.1.clone();
                self.failure = Some(f);
                Err(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_server;

    #[test]
    fn server_urls_parse_and_others_are_refused() {
        assert_eq!(
            parse_server("https://127.0.0.1:8443").unwrap(),
            ("127.0.0.1".into(), 8443, "".into())
        );
        assert_eq!(
            parse_server("https://[::1]:9/repo/").unwrap(),
            ("::1".into(), 9, "/repo".into())
        );
        assert_eq!(
            parse_server("https://localhost").unwrap(),
            ("localhost".into(), 443, "".into())
        );
        assert!(parse_server("http://127.0.0.1:80").is_err());
        assert!(parse_server("https://:80").is_err());
        assert!(parse_server("https://h:x").is_err());
    }
}
