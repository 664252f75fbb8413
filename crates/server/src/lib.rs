//! `hookswitch serve`: the provisioning server. It holds no signing key (it refuses to start
//! if the repository or its configuration holds any private key), serves only what our own
//! verifier accepted against the pinned root (an immutable in-memory [`index::Index`],
//! swapped whole when a new version verifies), and gives each device its own config only
//! (client certificate, or HTTP Basic against an Argon2id hash, through the store).

pub mod auth;
mod idle;
pub mod index;
pub mod keyscan;
pub mod metrics;
pub mod tls;
pub mod vendor;

use auth::Throttle;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use axum::Router;
use hookswitch_store::{
    DeviceId, FetchLog, FetchLogConfig, FetchLogWriter, FetchRecord, FetchResult, Store,
};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use index::{Access, Index, Kind};
use metrics::{AuthFailure, Metrics, Outcome};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tls::{Anchor, ClientCa, DeviceCertVerifier};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Everything `hookswitch serve` is told.
pub struct Config {
    pub repo: PathBuf,
    /// The pinned root (`root.json` as `repo init` published it, or a later one).
    pub trusted_root: PathBuf,
    pub listen: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub client_cas: Vec<ClientCa>,
    pub metrics: Option<SocketAddr>,
    pub plain_http: Option<SocketAddr>,
    /// Public files over read-only TFTP, for the first boot of legacy phones; never a config.
    pub tftp: Option<SocketAddr>,
    /// How often the repository is checked for a new version.
    pub poll: Duration,
    /// The device store (enrolled certificates, password hashes, fetch log).
    pub store: Option<Store>,
}

/// A TLS handshake (or a silent client) gets this long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Request headers must arrive within this.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection that moves no byte for this long is closed: a client silent after its
/// handshake, or an HTTP/2 connection left open, would otherwise hold its slot for ever.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 8192;
/// A version that failed to verify is tried again after this, unchanged.
const RETRY_FAILED: Duration = Duration::from_secs(30);
/// `timestamp.json` and roots are far smaller.
const MAX_POLLED_FILE: u64 = 1 << 20;

struct Shared {
    index: RwLock<Arc<Index>>,
    metrics: Metrics,
    verifier: Arc<DeviceCertVerifier>,
    cas: Vec<ClientCa>,
    store: Option<Store>,
    fetch_log: Option<FetchLog>,
    throttle: Throttle,
}

impl Shared {
    fn index(&self) -> Arc<Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The certificate a client presented, as accepted by the handshake.
#[derive(Debug)]
struct PeerCert {
    der: Vec<u8>,
    anchor: Anchor,
}

/// One connection: who is at the other end.
#[derive(Debug)]
struct Conn {
    peer: SocketAddr,
    tls: bool,
    cert: Option<PeerCert>,
}

/// A running server; dropping it stops every listener.
pub struct Running {
    pub addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub plain_addr: Option<SocketAddr>,
    pub tftp_addr: Option<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
    fetch_log: Option<FetchLogWriter>,
}

impl Running {
    /// Stop serving, and write the queued fetch-log records.
    pub async fn shutdown(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(w) = self.fetch_log.take() {
            let stats = w.shutdown().await;
            if stats.dropped > 0 || stats.failed > 0 {
                tracing::warn!(?stats, "fetch log");
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn now() -> Result<i64, String> {
    hookswitch_clock::unix_now().map_err(String::from)
}

/// Refuse a TLS key inside the repository, and any private key in the repository or in the
/// files the server is configured with (the TLS key itself excepted).
pub fn check_no_keys(config: &Config) -> Result<(), String> {
    let canon = |p: &Path| {
        p.canonicalize()
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let repo = canon(&config.repo)?;
    if canon(&config.tls_key)?.starts_with(&repo) {
        return Err(format!(
            "{}: the TLS key lies inside the repository {}; keep it outside",
            config.tls_key.display(),
            config.repo.display()
        ));
    }
    let mut files: Vec<&Path> = vec![&config.trusted_root, &config.tls_cert];
    files.extend(config.client_cas.iter().map(|c| c.pem.as_path()));
    keyscan::refuse_private_keys(&[&config.repo], &files)
}

fn load(
    repo: &Path,
    root: &[u8],
    previous: &Index,
    scanned: &mut keyscan::Scanned,
) -> Result<Index, String> {
    scanned.rescan(repo)?;
    Index::load(repo, root, now()?, Some(previous))
}

/// Check, load and verify, bind, and serve in the background on the current tokio runtime.
pub async fn start(config: Config) -> Result<Running, String> {
    check_no_keys(&config)?;
    let root = hookswitch_atomicfile::read_regular(&config.trusted_root, MAX_POLLED_FILE)
        .map_err(|e| format!("{}: {e}", config.trusted_root.display()))?;
    let index = {
        let (repo, root) = (config.repo.clone(), root.clone());
        let now = now()?;
        tokio::task::spawn_blocking(move || Index::load(&repo, &root, now, None))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{}: {e}", config.repo.display()))?
    };
    let (tls_config, verifier) =
        tls::server_config(&config.tls_cert, &config.tls_key, &config.client_cas)?;
    let version = index.version().clone();
    let (fetch_log, fetch_log_writer) = match &config.store {
        Some(store) => {
            let (log, writer) = store.fetch_log(FetchLogConfig::default());
            (Some(log), Some(writer))
        }
        None => (None, None),
    };
    let shared = Arc::new(Shared {
        index: RwLock::new(Arc::new(index)),
        metrics: Metrics::default(),
        verifier,
        cas: config.client_cas,
        fetch_log,
        store: config.store,
        throttle: Throttle::new(5, Duration::from_secs(60)),
    });
    shared.metrics.reload(true);
    tracing::info!(
        timestamp = version.timestamp,
        snapshot = version.snapshot,
        root = version.root,
        "serving a verified version"
    );
    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))
    };
    let files = Router::new()
        .fallback(serve_file)
        .with_state(shared.clone());
    let mut tasks = Vec::new();
    let listener = bind(config.listen).await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls_config);
    tasks.push(tokio::spawn(accept_tls(
        listener,
        acceptor,
        shared.clone(),
        files.clone(),
    )));
    let mut plain_addr = None;
    if let Some(a) = config.plain_http {
        let l = bind(a).await?;
        plain_addr = Some(l.local_addr().map_err(|e| e.to_string())?);
        tasks.push(tokio::spawn(accept_plain(l, files.clone())));
    }
    let mut tftp_addr = None;
    if let Some(a) = config.tftp {
        let socket = tokio::net::UdpSocket::bind(a)
            .await
            .map_err(|e| format!("{a} (tftp): {e}"))?;
        tftp_addr = Some(socket.local_addr().map_err(|e| e.to_string())?);
        let files = Arc::new(TftpFiles(shared.clone()));
        tasks.push(tokio::spawn(async move {
            if let Err(e) = hookswitch_tftp::serve(socket, files, Default::default()).await {
                tracing::error!(error = %e, "tftp listener stopped");
            }
        }));
    }
    let mut metrics_addr = None;
    if let Some(a) = config.metrics {
        let l = bind(a).await?;
        metrics_addr = Some(l.local_addr().map_err(|e| e.to_string())?);
        let app = Router::new()
            .route("/metrics", axum::routing::get(render_metrics))
            .with_state(shared.clone());
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        }));
    }
    tasks.push(tokio::spawn(watch(
        config.repo,
        root,
        config.poll,
        shared.clone(),
    )));
    Ok(Running {
        addr,
        metrics_addr,
        plain_addr,
        tftp_addr,
        tasks,
        fetch_log: fetch_log_writer,
    })
}

/// What TFTP may serve: the verified public files under their HTTP paths (`metadata/…`,
/// `targets/…`, a vendor's public bootstrap file such as Poly's `000000000000.cfg`). TFTP
/// has no authentication, so a file for one device is never among them.
struct TftpFiles(Arc<Shared>);

impl hookswitch_tftp::PublicFiles for TftpFiles {
    fn get(&self, name: &str) -> Option<bytes::Bytes> {
        let index = self.0.index();
        let entry = index.get(name.trim_start_matches('/'))?;
        (entry.access == Access::Public && entry.kind != Kind::Config).then(|| entry.bytes.clone())
    }
}

/// Poll the repository; load and verify a new version completely, then swap it in. A
/// version that fails is logged once and not served; the old one stays.
async fn watch(repo: PathBuf, root: Vec<u8>, poll: Duration, shared: Arc<Shared>) {
    // A version that failed is tried again only when the files change, or after a while
    // (a publication may have been caught half-way).
    let mut failed: Option<((Vec<u8>, bool), std::time::Instant)> = None;
    let scanned = Arc::new(std::sync::Mutex::new(keyscan::Scanned::default()));
    loop {
        tokio::time::sleep(poll).await;
        let current = shared.index();
        let meta = repo.join("metadata");
        let timestamp =
            hookswitch_atomicfile::read_regular(&meta.join("timestamp.json"), MAX_POLLED_FILE)
                .unwrap_or_default();
        let next_root = meta
            .join(format!("{}.root.json", current.version().root + 1))
            .exists();
        let seen = (timestamp, next_root);
        let unchanged = seen.0 == current.timestamp_bytes() && !next_root;
        let failed_lately = failed
            .as_ref()
            .is_some_and(|(f, at)| *f == seen && at.elapsed() < RETRY_FAILED);
        if unchanged || failed_lately {
            continue;
        }
        let (r, root2, prev, scanned) =
            (repo.clone(), root.clone(), current.clone(), scanned.clone());
        let loaded = tokio::task::spawn_blocking(move || {
            let mut scanned = scanned.lock().unwrap_or_else(|p| p.into_inner());
            load(&r, &root2, &prev, &mut scanned)
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        match loaded {
            Ok(new) => {
                let v = new.version().clone();
                *shared.index.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
                shared.metrics.reload(true);
                failed = None;
                tracing::info!(
                    timestamp = v.timestamp,
                    snapshot = v.snapshot,
                    root = v.root,
                    "serving a new verified version"
                );
            }
            Err(e) => {
                shared.metrics.reload(false);
                tracing::error!(repo = %repo.display(), error = %e, "a new version did not verify; still serving the old one");
                failed = Some((seen, std::time::Instant::now()));
            }
        }
    }
}

async fn accept_tls(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
    files: Router,
) {
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (acceptor, shared, files) = (acceptor.clone(), shared.clone(), files.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tcp.set_nodelay(true);
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    shared.metrics.handshake(false);
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    shared.metrics.handshake(false);
                    return;
                }
            };
            shared.metrics.handshake(true);
            let cert = stream.get_ref().1.peer_certificates().and_then(|chain| {
                let (ee, rest) = chain.split_first()?;
                let anchor = shared.verifier.anchor(ee, rest).ok()?;
                Some(PeerCert {
                    der: ee.to_vec(),
                    anchor,
                })
            });
            let conn = Arc::new(Conn {
                peer,
                tls: true,
                cert,
            });
            serve_connection(stream, files, conn).await;
        });
    }
}

async fn accept_plain(listener: TcpListener, files: Router) {
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let Ok((tcp, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let files = files.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let conn = Arc::new(Conn {
                peer,
                tls: false,
                cert: None,
            });
            serve_connection(tcp, files, conn).await;
        });
    }
}

/// HTTP/1.1 or HTTP/2 (by ALPN or preface) on one connection, each request tagged with it;
/// closed once no byte has moved for [`IDLE_TIMEOUT`].
async fn serve_connection<S>(stream: S, files: Router, conn: Arc<Conn>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use tower_service::Service;
    let traffic = idle::LastTraffic::new();
    let io = TokioIo::new(idle::Watched::new(stream, traffic.clone()));
    let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(conn.clone());
        let mut files = files.clone();
        async move { files.call(req).await }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(64);
    let serving = builder.serve_connection(io, svc);
    tokio::pin!(serving);
    loop {
        let check = IDLE_TIMEOUT.saturating_sub(traffic.idle());
        tokio::select! {
            _ = &mut serving => return,
            _ = tokio::time::sleep(check) => {
                if traffic.idle() >= IDLE_TIMEOUT {
                    return;
                }
            }
        }
    }
}

async fn render_metrics(State(shared): State<Arc<Shared>>) -> Response<Body> {
    let body = shared
        .metrics
        .render(shared.index().version(), now().unwrap_or(0));
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

fn status(code: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = code;
    r
}

async fn serve_file(State(shared): State<Arc<Shared>>, req: Request<Body>) -> Response<Body> {
    let (uri, headers) = (req.uri(), req.headers());
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    let Some(conn) = req.extensions().get::<Arc<Conn>>().cloned() else {
        return status(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let index = shared.index();
    // The raw path is a key into the verified index: nothing here touches the filesystem.
    let path = uri.path().strip_prefix('/').unwrap_or_default();
    let Some(entry) = index.get(path) else {
        shared.metrics.outcome(Outcome::NotFound);
        return status(StatusCode::NOT_FOUND);
    };
    match &entry.access {
        Access::Public => {}
        // A config is never served over plain HTTP, nor one that names no device.
        Access::Nobody => {
            shared.metrics.outcome(Outcome::NotFound);
            return status(StatusCode::NOT_FOUND);
        }
        Access::Device(_) if !conn.tls => {
            shared.metrics.outcome(Outcome::NotFound);
            return status(StatusCode::NOT_FOUND);
        }
        Access::Device(owner) => {
            let who = authenticate(&shared, &conn, headers).await;
            let who_id = who.as_ref().ok().cloned();
            let refused = match who {
                Ok(device) if auth::same_device(&device, owner) => None,
                Ok(device) => {
                    tracing::warn!(%device, owner = %owner, path, peer = %conn.peer, "a device asked for another device's config");
                    Some(AuthFailure::WrongDevice)
                }
                // A phone's first request often carries no credentials: only the 401 asks.
                Err(AuthFailure::NoCredentials) => Some(AuthFailure::NoCredentials),
                Err(why) => {
                    tracing::info!(reason = why.label(), path, peer = %conn.peer, "config request not authenticated");
                    Some(why)
                }
            };
            if let Some(why) = refused {
                let result = match why {
                    AuthFailure::WrongDevice | AuthFailure::NoDeviceId => FetchResult::Forbidden,
                    AuthFailure::Throttled => FetchResult::Throttled,
                    AuthFailure::Busy => FetchResult::Error,
                    _ => FetchResult::Unauthenticated,
                };
                let device = who_id.as_deref();
                record(&shared, device, path, index.version().timestamp, result);
                shared.metrics.auth_failure(why);
                shared.metrics.outcome(Outcome::Denied);
                return refusal(why);
            }
            record(
                &shared,
                Some(owner),
                path,
                index.version().timestamp,
                FetchResult::Served,
            );
        }
    }
    shared.metrics.served(entry.kind, entry.bytes.len());
    let mut r = Response::new(Body::from(entry.bytes.clone()));
    let h = r.headers_mut();
    let json = entry.kind == Kind::Metadata;
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if json {
            "application/json"
        } else {
            "application/octet-stream"
        }),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(entry.bytes.len()));
    // Configs must not sit in shared caches; the timestamp changes in place.
    let cache = match (&entry.access, path) {
        (Access::Device(_), _) => "private, no-store",
        (_, "metadata/timestamp.json") => "no-cache",
        _ => "public, max-age=300",
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

fn refusal(why: AuthFailure) -> Response<Body> {
    let code = match why {
        AuthFailure::WrongDevice | AuthFailure::NoDeviceId => StatusCode::FORBIDDEN,
        AuthFailure::Throttled => StatusCode::TOO_MANY_REQUESTS,
        AuthFailure::Busy => StatusCode::SERVICE_UNAVAILABLE,
        AuthFailure::NoCredentials | AuthFailure::UnknownCertificate | AuthFailure::BadPassword => {
            StatusCode::UNAUTHORIZED
        }
    };
    let mut r = status(code);
    let h = r.headers_mut();
    match code {
        StatusCode::UNAUTHORIZED => {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"hookswitch\", charset=\"UTF-8\""),
            );
        }
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        _ => {}
    }
    r
}

fn record(shared: &Shared, device: Option<&str>, path: &str, version: u64, result: FetchResult) {
    if let Some(log) = &shared.fetch_log {
        let device = device.and_then(|d| DeviceId::parse(d).ok());
        // A clock before 1970 loses the record, not the response.
        if let Ok(record) = FetchRecord::now(device, path, Some(version), result) {
            log.record(record);
        }
    }
}

/// The device at the other end: its certificate first (never the request path), then
/// HTTP Basic.
async fn authenticate(
    shared: &Shared,
    conn: &Conn,
    headers: &HeaderMap,
) -> Result<String, AuthFailure> {
    if let Some(cert) = &conn.cert {
        return match cert.anchor {
            Anchor::Ca(i) => shared
                .cas
                .get(i)
                .and_then(|ca| ca.device_id(&cert.der))
                .ok_or(AuthFailure::NoDeviceId),
            Anchor::Unanchored => {
                auth::device_for_certificate(shared.store.as_ref(), &cert.der).await
            }
        };
    }
    let Some((user, password)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| auth::basic_credentials(h.as_bytes()))
    else {
        return Err(AuthFailure::NoCredentials);
    };
    auth::check_password(
        shared.store.as_ref(),
        &shared.throttle,
        conn.peer.ip(),
        &user,
        &password,
    )
    .await
}
