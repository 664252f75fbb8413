//! The online signer and its client.
//!
//! `hookswitch signer` runs as its own process with its own key directory, and may run on
//! another host. It signs only:
//! - `timestamp` and `snapshot` metadata, each with a version above the last it signed
//!   (so a compromised publisher cannot obtain a rollback);
//! - `config-bin-*` targets metadata, if the deployment gave it the bins key.
//!
//! Requests carry a bearer token, compared in constant time, checked before any of the
//! body is read. Bodies are limited to [`MAX_BODY`], headers and idle connections to
//! [`HEADER_TIMEOUT`], bodies to [`BODY_TIMEOUT`]. Whatever the token holder asks, nothing
//! signed expires later than its role's lifetime from now ([`Policy`]), so a stolen token
//! cannot buy a freeze longer than that. The publisher (and the download server) never see
//! a private key.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use hookswitch_atomicfile::ReadError;
use hookswitch_keystore::{FileSigner, KeyError};
use hookswitch_repository::{OnlineSigner, SignerError, BIN_PREFIX};
use hookswitch_trust::crypto::{canonical, Signer};
use hookswitch_trust::metadata::Signature;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// How long a client may take to send a request's headers, and how long a kept-alive
/// connection may sit idle before its next request.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long an authenticated client may take to send its body.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The largest request body: a snapshot of the largest repository (65,536 config bins, each
/// entry `"config-bin-ffff.json":{"version":N}` under 64 bytes) plus the other roles.
pub const MAX_BODY: usize = (1 << 16) * 64 + 64 * 1024;

/// Why the signer did not start (or stopped); each names the file, key or address concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key directory cannot be read.
    #[error("{}: {reason}", dir.display())]
    KeyDir { dir: PathBuf, reason: String },
    /// A key file cannot be opened (unreadable, not a key, wrong passphrase).
    #[error(transparent)]
    Key(#[from] KeyError),
    /// An offline role's key is in the directory: it must never be on an online host.
    #[error("{}: a {role} key is an offline key and does not belong on the signer", path.display())]
    OfflineKey { path: PathBuf, role: String },
    #[error("{}: no online keys", dir.display())]
    NoOnlineKeys { dir: PathBuf },
    /// The rollback-protection state file exists but cannot be read as the versions signed:
    /// the signer does not start until an operator restores it (fail closed).
    #[error(
        "{}: {reason}; the signer will not start, because this file is its rollback protection \
         (the highest timestamp and snapshot versions it signed). Restore it from a backup, \
         or write {{\"timestamp\": N, \"snapshot\": M}} with the versions last published",
        path.display()
    )]
    State { path: PathBuf, reason: String },
    #[error("the signer token must be at least 32 characters")]
    WeakToken,
    /// The TLS certificate chain or key cannot be used.
    #[error("{}: {reason}", path.display())]
    Tls { path: PathBuf, reason: String },
    /// The listen address is not one it may listen on (unparseable, or not loopback without TLS).
    #[error("{listen}: {reason}")]
    Listen { listen: String, reason: String },
    /// Binding or serving failed.
    #[error("{listen}: {reason}")]
    Serve { listen: String, reason: String },
}

impl From<Error> for String {
    fn from(e: Error) -> String {
        e.to_string()
    }
}

#[derive(Serialize, Deserialize)]
pub struct SignRequest {
    pub role: String,
    pub signed: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
pub struct SignResponse {
    pub signatures: Vec<Signature>,
}

/// The keys the signer holds, by kind: `timestamp`, `snapshot`, `bins`.
pub struct Keys {
    by_kind: BTreeMap<String, Vec<FileSigner>>,
}

impl Keys {
    /// Open every `*.key` in `dir` with `passphrase`. Keys for offline roles are refused:
    /// they must never be on an online host.
    pub fn load(dir: &Path, passphrase: &[u8]) -> Result<Keys, Error> {
        let mut by_kind: BTreeMap<String, Vec<FileSigner>> = BTreeMap::new();
        let dir_error = |e: std::io::Error| Error::KeyDir {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        };
        for e in std::fs::read_dir(dir).map_err(dir_error)? {
            let p = e.map_err(dir_error)?.path();
            if p.extension().and_then(|x| x.to_str()) != Some("key") {
                continue;
            }
            let s = FileSigner::open(&p, passphrase)?;
            let kind = s.role().to_string();
            if !["timestamp", "snapshot", "bins"].contains(&kind.as_str()) {
                return Err(Error::OfflineKey {
                    path: p,
                    role: kind,
                });
            }
            by_kind.entry(kind).or_default().push(s);
        }
        if by_kind.is_empty() {
            return Err(Error::NoOnlineKeys {
                dir: dir.to_path_buf(),
            });
        }
        Ok(Keys { by_kind })
    }

    pub fn kinds(&self) -> Vec<String> {
        self.by_kind.keys().cloned().collect()
    }
}

/// How far into the future the signer lets each kind of metadata expire, in seconds from
/// its own clock: the repository's lifetimes (`hookswitch_repository::expiry`), plus
/// [`Policy::CLOCK_SKEW`] for a publisher whose clock runs a little ahead.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub timestamp: i64,
    pub snapshot: i64,
    pub bins: i64,
}

impl Policy {
    pub const CLOCK_SKEW: i64 = 600;

    fn max_lifetime(&self, kind: &str) -> i64 {
        let life = match kind {
            "timestamp" => self.timestamp,
            "snapshot" => self.snapshot,
            _ => self.bins,
        };
        life + Self::CLOCK_SKEW
    }
}

impl Default for Policy {
    fn default() -> Self {
        use hookswitch_repository::expiry;
        Policy {
            timestamp: expiry::TIMESTAMP,
            snapshot: expiry::SNAPSHOT,
            bins: expiry::BINS,
        }
    }
}

struct AppState {
    keys: Keys,
    policy: Policy,
    token: Vec<u8>,
    state_file: PathBuf,
    /// Highest version signed per role, persisted.
    last: Mutex<BTreeMap<String, u64>>,
}

/// Decide and sign at time `now`. Pure apart from the version state it updates.
fn decide(
    state: &AppState,
    req: &SignRequest,
    now: i64,
) -> Result<Vec<Signature>, (StatusCode, String)> {
    let forbidden = |m: String| (StatusCode::FORBIDDEN, m);
    let ty = req
        .signed
        .get("_type")
        .and_then(|t| t.as_str())
        .unwrap_or("");
    let version = req
        .signed
        .get("version")
        .and_then(|v| v.as_u64())
        .ok_or((StatusCode::BAD_REQUEST, "no version".to_string()))?;
    let kind = match req.role.as_str() {
        "timestamp" | "snapshot" if ty == req.role => req.role.clone(),
        r if r.starts_with(&format!("{BIN_PREFIX}-")) && ty == "targets" => "bins".to_string(),
        r => return Err(forbidden(format!("this signer does not sign {r} ({ty})"))),
    };
    let keys = state
        .keys
        .by_kind
        .get(&kind)
        .ok_or_else(|| forbidden(format!("no {kind} key here")))?;
    let expires = req
        .signed
        .get("expires")
        .and_then(|e| e.as_str())
        .and_then(hookswitch_trust::time::parse)
        .ok_or((
            StatusCode::BAD_REQUEST,
            "no expires of the form YYYY-MM-DDTHH:MM:SSZ".to_string(),
        ))?;
    let latest = now.saturating_add(state.policy.max_lifetime(&kind));
    if expires > latest {
        return Err(forbidden(format!(
            "{} expires {}, after {} (the longest this signer grants a {kind} is {} s from now)",
            req.role,
            hookswitch_trust::time::format(expires),
            hookswitch_trust::time::format(latest),
            state.policy.max_lifetime(&kind)
        )));
    }
    let mut last = state
        .last
        .lock()
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "state lock".to_string()))?;
    if kind != "bins" {
        if let Some(&prev) = last.get(&req.role) {
            if version <= prev {
                return Err(forbidden(format!(
                    "{} version {version} does not advance {prev} (rollback refused)",
                    req.role
                )));
            }
        }
    }
    let message = canonical(&req.signed).map_err(|e| (StatusCode::BAD_REQUEST, e))?;
    let mut sigs = Vec::new();
    for k in keys {
        let sig = k
            .sign(&message)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?;
        sigs.push(Signature {
            keyid: k.key_id(),
            sig: sig.iter().map(|b| format!("{b:02x}")).collect(),
        });
    }
    if kind != "bins" {
        last.insert(req.role.clone(), version);
        let bytes = serde_json::to_vec(&*last).unwrap_or_default();
        hookswitch_atomicfile::write(&state.state_file, &bytes)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    }
    Ok(sigs)
}

/// Is the bearer token right? Compared in constant time.
fn authorise(state: &AppState, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .as_bytes();
    if !bool::from(presented.ct_eq(&state.token[..])) {
        return Err((StatusCode::UNAUTHORIZED, "bad token".into()));
    }
    Ok(())
}

/// The token first, from the headers alone: an unauthenticated body is never read, let
/// alone parsed. Then the body, bounded in size and time.
async fn sign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<SignResponse>, (StatusCode, String)> {
    authorise(&state, &headers)?;
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request bodies are limited to {MAX_BODY} bytes"),
        )
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let bytes = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY))
        .await
        .map_err(|_| (StatusCode::REQUEST_TIMEOUT, "body too slow".to_string()))?
        .map_err(|_| too_large())?;
    let req: SignRequest = serde_json::from_slice(&bytes)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("request: {e}")))?;
    let now = hookswitch_clock::unix_now()
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    decide(&state, &req, now).map(|signatures| Json(SignResponse { signatures }))
}

/// The state file holds a few role names and numbers.
const MAX_STATE_BYTES: u64 = 64 * 1024;

/// The versions signed so far. No file yet: a first start. Anything else that cannot be
/// read as that map stops the signer: starting from nothing would let a rollback through.
fn load_state(path: &Path) -> Result<BTreeMap<String, u64>, Error> {
    let stop = |reason: String| Error::State {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = match hookswitch_atomicfile::read_regular(path, MAX_STATE_BYTES) {
        Ok(b) => b,
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(BTreeMap::new())
        }
        Err(e) => return Err(stop(e.to_string())),
    };
    serde_json::from_slice(&bytes).map_err(|e| stop(format!("corrupt: {e}")))
}

/// The highest snapshot and timestamp versions signed: a publisher restarting after a
/// crash takes its next versions above them.
async fn versions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<BTreeMap<String, u64>>, (StatusCode, String)> {
    authorise(&state, &headers)?;
    let last = state
        .last
        .lock()
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "state lock".to_string()))?;
    Ok(Json(last.clone()))
}

/// TLS for the signer: PEM certificate chain and private key.
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn tls_config(tls: &TlsFiles) -> Result<axum_server::tls_rustls::RustlsConfig, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let tls_error = |path: &Path, e: &dyn std::fmt::Display| Error::Tls {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| tls_error(&tls.cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_error(&tls.cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| tls_error(&tls.key, &e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    // TLS 1.3 and 1.2 only.
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| tls_error(&tls.cert, &e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| tls_error(&tls.cert, &e))?;
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(config),
    ))
}

/// Serve until the process is stopped. `token` must be at least 32 bytes. Without TLS the
/// signer only listens on loopback: a token must not cross a network in the clear.
pub fn serve(
    listen: &str,
    key_dir: &Path,
    keys: Keys,
    token: &str,
    tls: Option<TlsFiles>,
    ready: impl FnOnce(std::net::SocketAddr) + Send + 'static,
) -> Result<(), Error> {
    if token.len() < 32 {
        return Err(Error::WeakToken);
    }
    let listen_error = |reason: String| Error::Listen {
        listen: listen.to_string(),
        reason,
    };
    let addr: std::net::SocketAddr = listen.parse().map_err(|e| listen_error(format!("{e}")))?;
    if tls.is_none() && !addr.ip().is_loopback() {
        return Err(listen_error(
            "without --tls-cert/--tls-key the signer listens on loopback only".into(),
        ));
    }
    let serve_error = |e: std::io::Error| Error::Serve {
        listen: listen.to_string(),
        reason: e.to_string(),
    };
    // Read before anything listens: a certificate that does not load stops the start.
    let tls = tls.as_ref().map(tls_config).transpose()?;
    let state_file = key_dir.join("signer-state.json");
    let last = load_state(&state_file)?;
    let state = Arc::new(AppState {
        keys,
        policy: Policy::default(),
        token: token.as_bytes().to_vec(),
        state_file,
        last: Mutex::new(last),
    });
    let app = Router::new()
        .route("/v1/sign", post(sign))
        .route("/v1/versions", post(versions))
        .with_state(state);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(serve_error)?;
    rt.block_on(async move {
        let handle = axum_server::Handle::new();
        let watcher = handle.clone();
        tokio::spawn(async move {
            if let Some(a) = watcher.listening().await {
                ready(a);
            }
        });
        let shutdown = handle.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            shutdown.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        });
        // HTTP/1.1 only (the publisher's client speaks nothing else), so hyper's header
        // timeout covers a connection from its first byte, and between kept-alive requests.
        match tls {
            Some(config) => {
                let mut server = axum_server::bind_rustls(addr, config)
                    .handle(handle)
                    .http1_only();
                server
                    .http_builder()
                    .http1()
                    .header_read_timeout(HEADER_TIMEOUT);
                server.serve(app.into_make_service()).await
            }
            None => {
                let mut server = axum_server::bind(addr).handle(handle).http1_only();
                server
                    .http_builder()
                    .http1()
                    .header_read_timeout(HEADER_TIMEOUT);
                server.serve(app.into_make_service()).await
            }
        }
        .map_err(serve_error)
    })
}

/// The publisher's side: ask a signer process over HTTP(S).
pub struct RemoteSigner {
    pub url: String,
    pub token: String,
    pub client: hookswitch_http::Client,
}

impl RemoteSigner {
    /// POST `body` to `path`; `context` prefixes every message (the role asked about).
    fn post(&self, path: &str, body: &[u8], context: &str) -> Result<String, SignerError> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let (status, text) = self
            .client
            .post_json(&url, &self.token, body, 1024 * 1024)
            .map_err(|e| SignerError::Failed(format!("{context}signer {e}")))?;
        let message = format!("{context}signer {url}: HTTP {status}: {text}");
        match status {
            200 => Ok(text),
            400..=499 => Err(SignerError::Refused(message)),
            _ => Err(SignerError::Failed(message)),
        }
    }
}

impl OnlineSigner for RemoteSigner {
    fn last_versions(&self) -> Result<BTreeMap<String, u64>, SignerError> {
        let text = self.post("/v1/versions", b"{}", "")?;
        serde_json::from_str(&text)
            .map_err(|e| SignerError::BadAnswer(format!("signer versions: {e}")))
    }

    fn sign(&self, role: &str, signed: &serde_json::Value) -> Result<Vec<Signature>, SignerError> {
        let body = serde_json::to_vec(&SignRequest {
            role: role.into(),
            signed: signed.clone(),
        })
        .map_err(|e| SignerError::Refused(format!("{role}: {e}")))?;
        let text = self.post("/v1/sign", &body, &format!("{role}: "))?;
        let r: SignResponse = serde_json::from_str(&text)
            .map_err(|e| SignerError::BadAnswer(format!("signer: {role}: {e}")))?;
        Ok(r.signatures)
    }
}
