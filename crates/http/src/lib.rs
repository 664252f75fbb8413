//! One HTTP client configuration for hookswitch's edges (the agent, the publisher's call to
//! the signer): rustls on aws-lc-rs (TLS 1.2 and 1.3 only), certificates checked against the
//! deployment's own CA file (endpoints trust the organisation's CA, not the web's), and every
//! body read with a hard length limit.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// Why a request failed; each names the URL or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CA file cannot be read or holds no certificate.
    #[error("{}: {reason}", path.display())]
    CaFile {
        path: std::path::PathBuf,
        reason: String,
    },
    /// Not a URL this client can use.
    #[error("{url}: {reason}")]
    Url { url: String, reason: String },
    /// Connecting, TLS, a timeout or reading the body failed.
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    /// The server answered with a status other than 200 (or 403/404, which mean "none").
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    /// A token would cross a network in clear.
    #[error(
        "{url}: refusing to send a token here: use https://, or http:// only to a loopback \
         address (127.0.0.1, [::1])"
    )]
    SecretInClear { url: String },
    /// The caller's sink refused a chunk (too long, hash mismatch, disk full, …).
    #[error("{0}")]
    Sink(String),
}

impl From<Error> for String {
    fn from(e: Error) -> String {
        e.to_string()
    }
}

fn transport(url: &str, e: impl std::fmt::Display) -> Error {
    Error::Transport {
        url: url.to_string(),
        reason: e.to_string(),
    }
}

/// Ok if a secret (a bearer token) may be sent to `url`: `https://` anywhere, `http://` only
/// to a literal loopback address (127.0.0.0/8 or ::1), where it never crosses a network.
/// Names are refused for plain HTTP: what `localhost` resolves to is not ours to trust.
pub fn may_carry_a_secret(url: &str) -> Result<(), Error> {
    let uri: ureq::http::Uri =
        url.parse()
            .map_err(|e: ureq::http::uri::InvalidUri| Error::Url {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
    let host = uri.host().unwrap_or("");
    let loopback = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => Err(Error::SecretInClear {
            url: url.to_string(),
        }),
    }
}

/// How a client connects.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    timeouts: Option<Timeouts>,
}

/// Timeouts for downloads of a known maximum length: a silent or trickling server cannot
/// hold the caller longer than `connect + idle + max_len / min_rate`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP connect (and TLS handshake writes).
    pub connect: Duration,
    /// Longest wait for the response headers or for any one read of the body.
    pub idle: Duration,
    /// Slowest acceptable average transfer rate, in bytes per second.
    pub min_rate: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            idle: Duration::from_secs(30),
            min_rate: 16 * 1024,
        }
    }
}

impl Timeouts {
    /// The whole-transfer budget for a body of at most `max_len` bytes.
    pub fn transfer(&self, max_len: u64) -> Duration {
        let rate = self.min_rate.max(1);
        self.connect + self.idle + Duration::from_secs(max_len.div_ceil(rate))
    }
}

impl Client {
    /// `ca_file`: PEM certificates to trust for `https://` URLs. Without one, only
    /// `http://` URLs can be used (TUF metadata and targets are signed end to end, so a
    /// plain-HTTP mirror cannot change what the endpoint accepts).
    pub fn new(ca_file: Option<&Path>, timeout: Duration) -> Result<Client, Error> {
        Self::build(ca_file, |c| c.timeout_global(Some(timeout)), None)
    }

    /// A client for downloads: connect and idle timeouts, and a whole-transfer timeout
    /// scaled to each request's length limit.
    pub fn with_timeouts(ca_file: Option<&Path>, t: Timeouts) -> Result<Client, Error> {
        Self::build(
            ca_file,
            |c| {
                c.timeout_connect(Some(t.connect))
                    .timeout_recv_response(Some(t.idle))
                    .timeout_per_read(Some(t.idle))
                    .timeout_per_write(Some(t.idle))
            },
            Some(t),
        )
    }

    fn build(
        ca_file: Option<&Path>,
        timeouts: impl FnOnce(
            ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
        ) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
        per_request: Option<Timeouts>,
    ) -> Result<Client, Error> {
        let mut tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ));
        let roots: Vec<Certificate<'static>> = match ca_file {
            Some(p) => {
                let ca_error = |reason: String| Error::CaFile {
                    path: p.to_path_buf(),
                    reason,
                };
                let pem = std::fs::read(p).map_err(|e| ca_error(e.to_string()))?;
                let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                        Ok(_) => None,
                        Err(e) => Some(Err(ca_error(e.to_string()))),
                    })
                    .collect::<Result<_, _>>()?;
                if certs.is_empty() {
                    return Err(ca_error("no PEM certificate".into()));
                }
                certs
            }
            // No roots at all: any https:// URL fails verification rather than trusting a default store.
            None => Vec::new(),
        };
        tls = tls.root_certs(RootCerts::new_with_certs(&roots));
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls.build());
        let agent = timeouts(config).build().into();
        Ok(Client {
            agent,
            timeouts: per_request,
        })
    }

    /// GET `url`, streaming at most `max_len + 1` bytes into `sink` (so an over-long body
    /// is seen and refused by the caller). Ok(false) for 403/404.
    pub fn get_stream(
        &self,
        url: &str,
        max_len: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<bool, Error> {
        let mut req = self.agent.get(url);
        if let Some(t) = self.timeouts {
            req = req
                .config()
                .timeout_global(Some(t.transfer(max_len)))
                .build();
        }
        let resp = req.call().map_err(|e| transport(url, e))?;
        let status = resp.status().as_u16();
        if status == 404 || status == 403 {
            return Ok(false);
        }
        if status != 200 {
            return Err(Error::Status {
                url: url.to_string(),
                status,
            });
        }
        let mut reader = resp
            .into_body()
            .into_reader()
            .take(max_len.saturating_add(1));
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|e| transport(url, e))?;
            if n == 0 {
                return Ok(true);
            }
            sink(&buf[..n]).map_err(Error::Sink)?;
        }
    }

    /// GET into memory, at most `max_len + 1` bytes. Ok(None) for 403/404.
    pub fn get(&self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, Error> {
        let mut body = Vec::new();
        let found = self.get_stream(url, max_len, &mut |c| {
            body.extend_from_slice(c);
            Ok(())
        })?;
        Ok(found.then_some(body))
    }

    /// POST a JSON body with a bearer token; returns (status, body up to `max_len`).
    /// The token goes only over `https://`, or plain `http://` to a loopback address.
    pub fn post_json(
        &self,
        url: &str,
        token: &str,
        body: &[u8],
        max_len: u64,
    ) -> Result<(u16, String), Error> {
        may_carry_a_secret(url)?;
        let mut resp = self
            .agent
            .post(url)
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| transport(url, e))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(max_len)
            .read_to_string()
            .map_err(|e| transport(url, e))?;
        Ok((status, text))
    }
}
