//! The online signer and its client.
//!
//! `hookswitch signer` runs as its own process with its own key directory, and may run on
//! another host. It signs only:
//! - `timestamp` and `snapshot` metadata, each with a version above the last it signed
//!   (so a compromised publisher cannot obtain a rollback);
//! - `config-bin-*` targets metadata, if the deployment gave it the bins key.
//!
//! Requests carry a bearer token, compared in constant time. The publisher (and the
//! download server) never see a private key.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use hookswitch_keystore::FileSigner;
use hookswitch_repository::{OnlineSigner, BIN_PREFIX};
use hookswitch_trust::crypto::{canonical, Signer};
use hookswitch_trust::metadata::Signature;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

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
    pub fn load(dir: &Path, passphrase: &[u8]) -> Result<Keys, String> {
        let mut by_kind: BTreeMap<String, Vec<FileSigner>> = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.extension().and_then(|x| x.to_str()) != Some("key") {
                continue;
            }
            let s = FileSigner::open(&p, passphrase).map_err(|e| e.to_string())?;
            let kind = s.role().to_string();
            if !["timestamp", "snapshot", "bins"].contains(&kind.as_str()) {
                return Err(format!(
                    "{}: a {kind} key is an offline key and does not belong on the signer",
                    p.display()
                ));
            }
            by_kind.entry(kind).or_default().push(s);
        }
        if by_kind.is_empty() {
            return Err(format!("{}: no online keys", dir.display()));
        }
        Ok(Keys { by_kind })
    }

    pub fn kinds(&self) -> Vec<String> {
        self.by_kind.keys().cloned().collect()
    }
}

struct AppState {
    keys: Keys,
    token: Vec<u8>,
    state_file: PathBuf,
    /// Highest version signed per role, persisted.
    last: Mutex<BTreeMap<String, u64>>,
}

/// Decide and sign. Pure apart from the version state it updates.
fn decide(state: &AppState, req: &SignRequest) -> Result<Vec<Signature>, (StatusCode, String)> {
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

fn authorise(state: &AppState, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .as_bytes();
    if !bool::from(presented.ct_eq(&state.token[..])) {
        return Err((StatusCode::UNAUTHORIZED, "bad token".into()));
    }
    Ok(())
}

async fn sign(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(req): Json<SignRequest>,
) -> Result<Json<SignResponse>, (StatusCode, String)> {
    authorise(&state, &headers)?;
    decide(&state, &req).map(|signatures| Json(SignResponse { signatures }))
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

/// The signer's own record of what it signed. Missing: nothing signed yet. Unreadable or
/// not parseable: refuse to start (a reset record would allow a rollback).
fn load_state(path: &Path) -> Result<BTreeMap<String, u64>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{}: {e} (the signer's record of signed versions; refusing to start without it)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// TLS for the signer: PEM certificate chain and private key.
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn tls_config(tls: &TlsFiles) -> Result<axum_server::tls_rustls::RustlsConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| format!("{}: {e}", tls.cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", tls.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key)
        .map_err(|e| format!("{}: {e}", tls.key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    // TLS 1.3 and 1.2 only.
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{}: {e}", tls.cert.display()))?;
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
) -> Result<(), String> {
    if token.len() < 32 {
        return Err("the signer token must be at least 32 characters".into());
    }
    let addr: std::net::SocketAddr = listen.parse().map_err(|e| format!("{listen}: {e}"))?;
    if tls.is_none() && !addr.ip().is_loopback() {
        return Err(format!(
            "{listen}: without --tls-cert/--tls-key the signer listens on loopback only"
        ));
    }
    let state_file = key_dir.join("signer-state.json");
    let last = load_state(&state_file)?;
    let state = Arc::new(AppState {
        keys,
        token: token.as_bytes().to_vec(),
        state_file,
        last: Mutex::new(last),
    });
    let app = Router::new()
        .route("/v1/sign", post(sign))
        .route("/v1/versions", post(versions))
        .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
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
        match tls {
            Some(files) => {
                axum_server::bind_rustls(addr, tls_config(&files)?)
                    .handle(handle)
                    .serve(app.into_make_service())
                    .await
            }
            None => {
                axum_server::bind(addr)
                    .handle(handle)
                    .serve(app.into_make_service())
                    .await
            }
        }
        .map_err(|e| format!("{listen}: {e}"))
    })
}

/// The publisher's side: ask a signer process over HTTP(S).
pub struct RemoteSigner {
    pub url: String,
    pub token: String,
    pub client: hookswitch_http::Client,
}

impl RemoteSigner {
    fn post(&self, path: &str, body: &[u8]) -> Result<String, String> {
        let url = format!("{}{path}", self.url.trim_end_matches('/'));
        let (status, text) = self
            .client
            .post_json(&url, &self.token, body, 1024 * 1024)
            .map_err(|e| format!("signer {e}"))?;
        if status != 200 {
            return Err(format!("signer {url}: HTTP {status}: {text}"));
        }
        Ok(text)
    }
}

impl OnlineSigner for RemoteSigner {
    fn last_versions(&self) -> Result<BTreeMap<String, u64>, String> {
        let text = self.post("/v1/versions", b"{}")?;
        serde_json::from_str(&text).map_err(|e| format!("signer versions: {e}"))
    }

    fn sign(&self, role: &str, signed: &serde_json::Value) -> Result<Vec<Signature>, String> {
        let body = serde_json::to_vec(&SignRequest {
            role: role.into(),
            signed: signed.clone(),
        })
        .map_err(|e| e.to_string())?;
        let text = self
            .post("/v1/sign", &body)
            .map_err(|e| format!("{role}: {e}"))?;
        let r: SignResponse =
            serde_json::from_str(&text).map_err(|e| format!("signer: {role}: {e}"))?;
        Ok(r.signatures)
    }
}
