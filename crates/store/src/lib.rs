//! The device store: devices, their credentials and certificate fingerprints, and the fetch
//! log. SQLite (WAL) by default, PostgreSQL for several servers sharing one store; one schema
//! (`migrations/`, embedded), applied on every open.
//!
//! Both backends run the same SQL text (`$N` parameters, which SQLite also reads by number);
//! `Pool` is an enum over the two typed pools and `on_pool!` runs one statement on either.

mod device;
mod fetchlog;
mod password;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, QueryBuilder, SqlitePool};

pub use device::{CertFingerprint, Device, DeviceId, Mac, NewDevice, MAX_LABEL_LEN};
pub use fetchlog::{
    FetchLog, FetchLogConfig, FetchLogStats, FetchLogWriter, FetchRecord, FetchResult,
    MAX_LOGGED_PATH,
};
pub use password::{MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};

/// The environment variable every command reads when `--database` is not given.
pub const DATABASE_ENV: &str = "HOOKSWITCH_DATABASE";

/// The file name of the default SQLite store, under `$XDG_DATA_HOME/hookswitch/`
/// (or `$HOME/.local/share/hookswitch/`).
pub const DEFAULT_DATABASE_FILE: &str = "hookswitch.db";

/// How long a writer waits for SQLite's lock, and a connection for the pool.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid device ID: {0}")]
    InvalidDeviceId(String),
    #[error("invalid {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("invalid MAC address {0}")]
    InvalidMac(String),
    #[error("invalid certificate fingerprint {0}")]
    InvalidFingerprint(String),
    #[error("password refused: {0}")]
    WeakPassword(String),
    #[error("database URL {0}: expected sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    UnsupportedUrl(String),
    #[error("no default database location: set $XDG_DATA_HOME or $HOME, or give --database or HOOKSWITCH_DATABASE")]
    NoDefaultLocation,
    #[error("database {url}: {reason}")]
    Open { url: String, reason: String },
    #[error("database {url} is not a hookswitch store (it has tables {tables:?} and no migration history); refusing to add tables to it")]
    Foreign { url: String, tables: Vec<String> },
    #[error("database {url}: schema migration failed: {reason}")]
    Migrate { url: String, reason: String },
    #[error("device {0} already exists")]
    DeviceExists(DeviceId),
    #[error("no device {0}")]
    UnknownDevice(String),
    #[error("MAC {mac} already belongs to device {device}")]
    MacTaken { mac: Mac, device: String },
    #[error("certificate {fingerprint} is already enrolled for device {device}")]
    FingerprintTaken {
        fingerprint: CertFingerprint,
        device: String,
    },
    #[error("stored password hash of device {device} refused: {reason}")]
    BadStoredHash { device: String, reason: String },
    #[error("stored {what} does not parse: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("too many password checks waiting; try again later")]
    Busy,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Clock(#[from] hookswitch_clock::ClockError),
    #[error("{0}")]
    Internal(String),
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database URL a command uses: its `--database` flag, else `$HOOKSWITCH_DATABASE`,
/// else `sqlite://$XDG_DATA_HOME/hookswitch/hookswitch.db` (`$HOME/.local/share/...` when
/// `XDG_DATA_HOME` is unset or relative, as the XDG spec says).
pub fn database_url(flag: Option<String>) -> Result<String, StoreError> {
    database_url_from(flag, |name| std::env::var_os(name))
}

fn database_url_from(
    flag: Option<String>,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<String, StoreError> {
    if let Some(url) = flag.filter(|u| !u.is_empty()) {
        return Ok(url);
    }
    if let Some(url) = env(DATABASE_ENV).and_then(|u| u.into_string().ok()) {
        if !url.is_empty() {
            return Ok(url);
        }
    }
    let absolute = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let data_home = absolute("XDG_DATA_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".local/share")))
        .ok_or(StoreError::NoDefaultLocation)?;
    let path = data_home.join("hookswitch").join(DEFAULT_DATABASE_FILE);
    Ok(format!("sqlite://{}", path.display()))
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority_end, _) = rest
        .char_indices()
        .find(|&(_, c)| c == '/' || c == '?')
        .unwrap_or((rest.len(), ' '));
    let authority = &rest[..authority_end];
    let mut redacted = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://{userinfo}@{host}"),
        },
        None => format!("{scheme}://{authority}"),
    };
    // `password=` may also come as a query parameter.
    let tail = &rest[authority_end..];
    match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            redacted.push_str(path);
            redacted.push('?');
            redacted.push_str(&query.join("&"));
        }
        None => redacted.push_str(tail),
    }
    redacted
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run one expression against whichever pool the store has; `$pool` names it inside.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.inner.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

struct Inner {
    pool: Pool,
    url: String,
    verifier: password::Verifier,
}

/// A handle on the store; clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(sqlx::FromRow)]
struct DeviceRow {
    id: String,
    vendor: String,
    model: String,
    mac: Option<String>,
    has_password: i64,
    /// One of its certificates, or NULL when it has none.
    sha256: Option<String>,
}

#[derive(sqlx::FromRow)]
struct FetchRow {
    device_id: Option<String>,
    path: String,
    version: Option<i64>,
    result: String,
    at_ms: i64,
}

impl Store {
    /// Open (creating a missing SQLite file and its directory) and bring the schema up to
    /// date. A file that is not SQLite, or a database with other tables and no hookswitch
    /// migration history, is refused with the reason; nothing is written to it.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let mut verifier = Some(password::Verifier::new()?);
        let mut retries = 0;
        loop {
            match Store::open_once(url, &mut verifier).await {
                Ok(store) => return Ok(store),
                // SQLite has no migration lock (PostgreSQL takes an advisory one), so the first
                // opens of a new file race (switching to WAL, creating tables). The loser's
                // transaction rolled back; opening again finds the winner's schema.
                Err(Attempt::Contended(_)) if retries < 5 => {
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(50 * retries)).await;
                }
                Err(Attempt::Contended(e) | Attempt::Failed(e)) => return Err(e),
            }
        }
    }

    async fn open_once(
        url: &str,
        verifier: &mut Option<password::Verifier>,
    ) -> Result<Store, Attempt> {
        let shown = redact_url(url);
        let open_error = |e: sqlx::Error| {
            let failure = StoreError::Open {
                url: shown.clone(),
                reason: describe_open_error(&e),
            };
            if is_contention(&e) {
                Attempt::Contended(failure)
            } else {
                Attempt::Failed(failure)
            }
        };
        let bad_url = |reason: String| {
            Attempt::Failed(StoreError::Open {
                url: shown.clone(),
                reason,
            })
        };
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| bad_url(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(BUSY_TIMEOUT);
            prepare_sqlite_file(options.get_filename()).map_err(bad_url)?;
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_with(options)
                .await
                .map_err(open_error)?;
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(|e| bad_url(e.to_string()))?;
            // One plain connection first: the pool would retry a refused one until its timeout.
            sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(open_error)?
                .close()
                .await
                .map_err(open_error)?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_with(options)
                .await
                .map_err(open_error)?;
            Pool::Postgres(pool)
        } else {
            return Err(Attempt::Failed(StoreError::UnsupportedUrl(shown)));
        };
        let tables = table_names(&pool).await.map_err(open_error)?;
        if !tables.is_empty() && !tables.iter().any(|t| t == "_sqlx_migrations") {
            return Err(Attempt::Failed(StoreError::Foreign { url: shown, tables }));
        }
        let migrated = match &pool {
            Pool::Sqlite(pool) => MIGRATOR.run(pool).await,
            Pool::Postgres(pool) => MIGRATOR.run(pool).await,
        };
        if let Err(e) = migrated {
            let failure = StoreError::Migrate {
                url: shown,
                reason: e.to_string(),
            };
            return Err(match pool {
                Pool::Sqlite(_) => Attempt::Contended(failure),
                Pool::Postgres(_) => Attempt::Failed(failure),
            });
        }
        if let Pool::Sqlite(pool) = &pool {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .map_err(open_error)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(bad_url(format!("journal mode is {mode}, not WAL")));
            }
        }
        let verifier = verifier
            .take()
            .ok_or_else(|| Attempt::Failed(StoreError::Internal("store opened twice".into())))?;
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                url: shown,
                verifier,
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.inner.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL this store was opened with, password redacted.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Close every connection of this handle's pool.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    /// Enroll a device. Refuses an existing ID or a MAC another device has.
    pub async fn add_device(&self, device: &NewDevice) -> Result<(), StoreError> {
        self.add_devices(&[(device.clone(), Vec::new())]).await
    }

    /// Enroll many devices with their client certificates in one transaction: all or none.
    /// The error names the first device that could not be added and why.
    pub async fn add_devices(
        &self,
        batch: &[(NewDevice, Vec<CertFingerprint>)],
    ) -> Result<(), StoreError> {
        check_batch(batch)?;
        let now = now_ms()?;
        // (index in the batch, the certificate being added if it was one, the error)
        let failed: Option<(usize, Option<CertFingerprint>, sqlx::Error)> = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut failed = None;
            'devices: for (i, (device, certificates)) in batch.iter().enumerate() {
                let added = sqlx::query(
                    "INSERT INTO devices (id, vendor, model, mac, created_at_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(device.id.as_str())
                .bind(&device.vendor)
                .bind(&device.model)
                .bind(device.mac.as_ref().map(Mac::as_str))
                .bind(now)
                .execute(&mut *tx)
                .await;
                if let Err(e) = added {
                    failed = Some((i, None, e));
                    break;
                }
                for fingerprint in certificates {
                    let added = sqlx::query(
                        "INSERT INTO device_certificates (sha256, device_id, added_at_ms) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(fingerprint.to_hex())
                    .bind(device.id.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await;
                    if let Err(e) = added {
                        failed = Some((i, Some(*fingerprint), e));
                        break 'devices;
                    }
                }
            }
            if failed.is_none() {
                tx.commit().await?;
            }
            failed // a transaction dropped uncommitted rolls back
        });
        let Some((i, certificate, e)) = failed else {
            return Ok(());
        };
        if !is_unique_violation(&e) {
            return Err(e.into());
        }
        let device = &batch[i].0;
        match certificate {
            None => {
                if self.device(device.id.as_str()).await?.is_some() {
                    return Err(StoreError::DeviceExists(device.id.clone()));
                }
                if let Some(mac) = &device.mac {
                    if let Some(owner) = self.device_by_mac(mac).await? {
                        return Err(StoreError::MacTaken {
                            mac: mac.clone(),
                            device: owner.id.to_string(),
                        });
                    }
                }
            }
            Some(fingerprint) => {
                if let Some(owner) = self.device_by_fingerprint(&fingerprint).await? {
                    return Err(StoreError::FingerprintTaken {
                        fingerprint,
                        device: owner.id.to_string(),
                    });
                }
            }
        }
        Err(e.into())
    }

    /// Remove a device with its password and certificates (its fetch history stays).
    pub async fn remove_device(&self, id: &str) -> Result<(), StoreError> {
        let id = DeviceId::parse(id)?;
        let done = on_pool!(self, pool => sqlx::query("DELETE FROM devices WHERE id = $1")
            .bind(id.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::UnknownDevice(id.to_string()));
        }
        Ok(())
    }

    /// The device with this ID. An invalid ID is an error, an unknown one `None`.
    pub async fn device(&self, id: &str) -> Result<Option<Device>, StoreError> {
        let id = DeviceId::parse(id)?;
        let found = self
            .devices_where("d.id = $1", Some(id.as_str().to_string()))
            .await?;
        Ok(found.into_iter().next())
    }

    /// The device a client certificate with this fingerprint is enrolled for.
    pub async fn device_by_fingerprint(
        &self,
        fingerprint: &CertFingerprint,
    ) -> Result<Option<Device>, StoreError> {
        let condition = "d.id = (SELECT device_id FROM device_certificates WHERE sha256 = $1)";
        let found = self
            .devices_where(condition, Some(fingerprint.to_hex()))
            .await?;
        Ok(found.into_iter().next())
    }

    /// The device with this MAC address.
    pub async fn device_by_mac(&self, mac: &Mac) -> Result<Option<Device>, StoreError> {
        let found = self
            .devices_where("d.mac = $1", Some(mac.as_str().to_string()))
            .await?;
        Ok(found.into_iter().next())
    }

    /// Every device, by ID.
    pub async fn devices(&self) -> Result<Vec<Device>, StoreError> {
        self.devices_where("1 = 1", None).await
    }

    /// Devices matching `condition` (on `d`, with at most one parameter `$1`), each with
    /// its certificates, in one round trip: one row per (device, certificate).
    async fn devices_where(
        &self,
        condition: &str,
        parameter: Option<String>,
    ) -> Result<Vec<Device>, StoreError> {
        let sql = format!(
            "SELECT d.id, d.vendor, d.model, d.mac, \
             (SELECT COUNT(*) FROM device_passwords p WHERE p.device_id = d.id) AS has_password, \
             c.sha256 FROM devices d LEFT JOIN device_certificates c ON c.device_id = d.id \
             WHERE {condition} ORDER BY d.id, c.sha256"
        );
        let rows: Vec<DeviceRow> = on_pool!(self, pool => {
            let query = sqlx::query_as(&sql);
            match parameter {
                Some(p) => query.bind(p),
                None => query,
            }
            .fetch_all(pool)
            .await
        })?;
        let mut devices: Vec<Device> = Vec::new();
        for row in rows {
            let certificate = row
                .sha256
                .as_deref()
                .map(parse_stored_fingerprint)
                .transpose()?;
            match devices.last_mut() {
                Some(last) if last.id.as_str() == row.id => {}
                _ => devices.push(device_from_row(&row)?),
            }
            if let (Some(last), Some(certificate)) = (devices.last_mut(), certificate) {
                last.certificates.push(certificate);
            }
        }
        Ok(devices)
    }

    /// Set (or replace) a device's password; only its Argon2id hash is stored.
    pub async fn set_password(&self, id: &str, password: &str) -> Result<(), StoreError> {
        let id = DeviceId::parse(id)?;
        password::check_new_password(password)?;
        if self.device(id.as_str()).await?.is_none() {
            return Err(StoreError::UnknownDevice(id.to_string()));
        }
        let secret = password.as_bytes().to_vec();
        let phc = tokio::task::spawn_blocking(move || password::hash(&secret))
            .await
            .map_err(|e| StoreError::Internal(format!("hashing task: {e}")))??;
        let upsert = "INSERT INTO device_passwords (device_id, phc, set_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (device_id) DO UPDATE SET phc = excluded.phc, set_at_ms = excluded.set_at_ms";
        let result = on_pool!(self, pool => sqlx::query(upsert)
            .bind(id.as_str())
            .bind(&phc)
            .bind(now_ms()?)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()));
        match result {
            Ok(_) => Ok(()),
            // The device was removed between the check and the write.
            Err(e) if is_foreign_key_violation(&e) => {
                Err(StoreError::UnknownDevice(id.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Is `candidate` this device's password? Exactly one Argon2id verification runs whether
    /// the device exists, has no password, or the ID is not even valid, so the answer and
    /// its cost say nothing about which devices exist. At most half the cores hash at once;
    /// when too many checks wait, `StoreError::Busy` is returned at once.
    pub async fn verify_password(&self, id: &str, candidate: &[u8]) -> Result<bool, StoreError> {
        let stored = match DeviceId::parse(id) {
            Ok(id) => {
                let phc: Option<String> = on_pool!(self, pool => sqlx::query_scalar(
                    "SELECT phc FROM device_passwords WHERE device_id = $1",
                )
                .bind(id.as_str())
                .fetch_optional(pool)
                .await)?;
                phc.map_or(password::Stored::Nothing, password::Stored::Hash)
            }
            Err(_) => password::Stored::Nothing,
        };
        self.inner.verifier.verify(id, stored, candidate).await
    }

    /// Argon2id verifications run so far (real and dummy), for metrics.
    pub fn password_checks(&self) -> u64 {
        self.inner.verifier.runs()
    }

    /// Enroll a client certificate (by its SHA-256) for a device. A fingerprint belongs to
    /// one device only; enrolling it again for the same device is a no-op.
    pub async fn add_certificate(
        &self,
        id: &str,
        fingerprint: &CertFingerprint,
    ) -> Result<(), StoreError> {
        let id = DeviceId::parse(id)?;
        let result = on_pool!(self, pool => sqlx::query(
            "INSERT INTO device_certificates (sha256, device_id, added_at_ms) VALUES ($1, $2, $3)",
        )
        .bind(fingerprint.to_hex())
        .bind(id.as_str())
        .bind(now_ms()?)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()));
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                match self.device_by_fingerprint(fingerprint).await? {
                    Some(owner) if owner.id == id => Ok(()),
                    Some(owner) => Err(StoreError::FingerprintTaken {
                        fingerprint: *fingerprint,
                        device: owner.id.to_string(),
                    }),
                    None => Err(e.into()),
                }
            }
            Err(e) if is_foreign_key_violation(&e) => {
                Err(StoreError::UnknownDevice(id.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Start the batched fetch-log writer (spawns a task: call inside a tokio runtime).
    pub fn fetch_log(&self, config: FetchLogConfig) -> (FetchLog, FetchLogWriter) {
        fetchlog::start(self.clone(), config)
    }

    pub(crate) async fn insert_fetches(&self, records: &[FetchRecord]) -> Result<(), StoreError> {
        // One statement per batch, under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
        for chunk in records.chunks(5_000) {
            on_pool!(self, pool => {
                let mut insert = QueryBuilder::new(
                    "INSERT INTO fetch_log (device_id, path, version, result, at_ms) ",
                );
                insert.push_values(chunk, |mut row, r| {
                    row.push_bind(r.device.as_ref().map(|d| d.as_str().to_string()))
                        .push_bind(fetchlog::bounded_path(&r.path).to_string())
                        .push_bind(r.version.map(|v| i64::try_from(v).unwrap_or(i64::MAX)))
                        .push_bind(r.result.as_str())
                        .push_bind(r.at_ms);
                });
                insert.build().execute(pool).await.map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The latest `limit` fetch records, newest first; of one device if given.
    pub async fn recent_fetches(
        &self,
        device: Option<&DeviceId>,
        limit: u32,
    ) -> Result<Vec<FetchRecord>, StoreError> {
        let rows: Vec<FetchRow> = match device {
            Some(id) => on_pool!(self, pool => sqlx::query_as(
                "SELECT device_id, path, version, result, at_ms FROM fetch_log \
                 WHERE device_id = $1 ORDER BY at_ms DESC LIMIT $2",
            )
            .bind(id.as_str())
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?,
            None => on_pool!(self, pool => sqlx::query_as(
                "SELECT device_id, path, version, result, at_ms FROM fetch_log \
                 ORDER BY at_ms DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?,
        };
        rows.into_iter().map(fetch_from_row).collect()
    }

    /// How many fetch records the log holds.
    pub async fn fetch_count(&self) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(self, pool => sqlx::query_scalar("SELECT COUNT(*) FROM fetch_log")
            .fetch_one(pool)
            .await)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// A batch may not repeat an ID, a MAC or a certificate (the database would refuse it too,
/// but could not say which item).
fn check_batch(batch: &[(NewDevice, Vec<CertFingerprint>)]) -> Result<(), StoreError> {
    let mut ids = std::collections::HashSet::new();
    let mut macs = std::collections::HashSet::new();
    let mut fingerprints = std::collections::HashSet::new();
    for (device, certificates) in batch {
        let twice = |what: String| StoreError::InvalidField {
            field: "batch",
            reason: format!("{what} is listed twice"),
        };
        if !ids.insert(&device.id) {
            return Err(twice(format!("device {}", device.id)));
        }
        if let Some(mac) = &device.mac {
            if !macs.insert(mac) {
                return Err(twice(format!("MAC {mac}")));
            }
        }
        for fingerprint in certificates {
            if !fingerprints.insert(fingerprint) {
                return Err(twice(format!("certificate {fingerprint}")));
            }
        }
    }
    Ok(())
}

/// One try at opening: a `Contended` failure is worth another try.
enum Attempt {
    Contended(StoreError),
    Failed(StoreError),
}

/// SQLITE_BUSY or SQLITE_LOCKED (primary codes 5 and 6, any extended code).
fn is_contention(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && d.code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

async fn table_names(pool: &Pool) -> Result<Vec<String>, sqlx::Error> {
    match pool {
        Pool::Sqlite(pool) => {
            sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .fetch_all(pool)
            .await
        }
        Pool::Postgres(pool) => {
            sqlx::query_scalar(
                "SELECT table_name::TEXT FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY table_name",
            )
            .fetch_all(pool)
            .await
        }
    }
}

fn now_ms() -> Result<i64, StoreError> {
    Ok(hookswitch_clock::unix_now_ms()?)
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

/// SQLite reports a foreign or damaged file as "file is not a database" on first use; say
/// what that means.
fn describe_open_error(e: &sqlx::Error) -> String {
    let text = e.to_string();
    if text.contains("file is not a database") || text.contains("malformed") {
        format!("not a SQLite database, or a damaged one ({text})")
    } else {
        text
    }
}

/// Create a missing store file as 0600 in a 0700 directory before SQLite does (it would use
/// the umask, 0644 here): the file holds password hashes. SQLite gives its `-wal` and `-shm`
/// files the database file's mode.
fn prepare_sqlite_file(file: &Path) -> Result<(), String> {
    if file.as_os_str() == ":memory:" || file.exists() {
        return Ok(());
    }
    if let Some(dir) = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create {}: {e}", file.display())),
    }
}

fn parse_stored_fingerprint(hex: &str) -> Result<CertFingerprint, StoreError> {
    CertFingerprint::parse_hex(hex).map_err(|e| StoreError::Corrupt {
        what: "certificate fingerprint".to_string(),
        reason: e.to_string(),
    })
}

fn corrupt(what: String) -> impl FnOnce(StoreError) -> StoreError {
    move |e| StoreError::Corrupt {
        what,
        reason: e.to_string(),
    }
}

fn device_from_row(row: &DeviceRow) -> Result<Device, StoreError> {
    let what = format!("device {:?}", row.id);
    Ok(Device {
        id: DeviceId::parse(&row.id).map_err(corrupt(what.clone()))?,
        mac: row
            .mac
            .as_deref()
            .map(Mac::parse)
            .transpose()
            .map_err(corrupt(what))?,
        vendor: row.vendor.clone(),
        model: row.model.clone(),
        has_password: row.has_password > 0,
        certificates: Vec::new(),
    })
}

fn fetch_from_row(row: FetchRow) -> Result<FetchRecord, StoreError> {
    let what = || format!("fetch record at {} ms", row.at_ms);
    Ok(FetchRecord {
        device: row
            .device_id
            .as_deref()
            .map(DeviceId::parse)
            .transpose()
            .map_err(corrupt(what()))?,
        result: row.result.parse().map_err(|reason| StoreError::Corrupt {
            what: what(),
            reason,
        })?,
        version: row.version.map(|v| u64::try_from(v).unwrap_or(0)),
        path: row.path,
        at_ms: row.at_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_environment_then_the_xdg_data_home() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let all = env(&[
            ("HOOKSWITCH_DATABASE", "postgres://a@127.0.0.1/x"),
            ("XDG_DATA_HOME", "/data"),
            ("HOME", "/home/u"),
        ]);
        let url = |flag: Option<&str>, e| database_url_from(flag.map(String::from), e).unwrap();
        assert_eq!(url(Some("sqlite://f.db"), all), "sqlite://f.db");
        assert_eq!(url(None, all), "postgres://a@127.0.0.1/x");
        let xdg = env(&[("XDG_DATA_HOME", "/data"), ("HOME", "/home/u")]);
        assert_eq!(url(None, xdg), "sqlite:///data/hookswitch/hookswitch.db");
        // A relative XDG_DATA_HOME is ignored, as the XDG spec says.
        let home = env(&[("XDG_DATA_HOME", "rel"), ("HOME", "/home/u")]);
        assert_eq!(
            url(None, home),
            "sqlite:///home/u/.local/share/hookswitch/hookswitch.db"
        );
        let e = database_url_from(None, env(&[])).unwrap_err();
        assert!(e.to_string().contains("HOOKSWITCH_DATABASE"), "{e}");
    }

    #[test]
    fn passwords_never_appear_in_shown_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@127.0.0.1:5432/hs?sslmode=require&password=x"),
            "postgres://app:***@127.0.0.1:5432/hs?sslmode=require&password=***"
        );
        assert_eq!(
            redact_url("postgres://app@127.0.0.1/hs"),
            "postgres://app@127.0.0.1/hs"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/hs.db"),
            "sqlite:///var/lib/hs.db"
        );
    }
}
