//! The fetch log, written off the hot path: a request hands its record to a bounded channel
//! and goes on; one background task writes records in batches (every `batch` records or
//! `interval` after the first waiting one). A full channel drops the record and counts it;
//! the caller never waits for the database.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{DeviceId, Store, StoreError};

/// Longest path kept in a record; longer ones are cut (on a character boundary).
pub const MAX_LOGGED_PATH: usize = 1024;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FetchResult {
    /// The file was sent.
    Served,
    NotModified,
    NotFound,
    /// No or bad credentials (401).
    Unauthenticated,
    /// Authenticated, but not this device's file (403).
    Forbidden,
    /// Refused by the failure throttle (429).
    Throttled,
    /// The server failed (5xx).
    Error,
}

impl FetchResult {
    pub const ALL: [FetchResult; 7] = [
        FetchResult::Served,
        FetchResult::NotModified,
        FetchResult::NotFound,
        FetchResult::Unauthenticated,
        FetchResult::Forbidden,
        FetchResult::Throttled,
        FetchResult::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FetchResult::Served => "served",
            FetchResult::NotModified => "not_modified",
            FetchResult::NotFound => "not_found",
            FetchResult::Unauthenticated => "unauthenticated",
            FetchResult::Forbidden => "forbidden",
            FetchResult::Throttled => "throttled",
            FetchResult::Error => "error",
        }
    }
}

impl fmt::Display for FetchResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FetchResult {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FetchResult::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown fetch result {s:?}"))
    }
}

/// One request for a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchRecord {
    /// The authenticated device, if any.
    pub device: Option<DeviceId>,
    pub path: String,
    /// The repository version (timestamp version) the server was serving.
    pub version: Option<u64>,
    pub result: FetchResult,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
}

impl FetchRecord {
    /// A record stamped with the current time (an error only if the clock reads before 1970).
    pub fn now(
        device: Option<DeviceId>,
        path: &str,
        version: Option<u64>,
        result: FetchResult,
    ) -> Result<FetchRecord, StoreError> {
        Ok(FetchRecord {
            device,
            path: path.to_string(),
            version,
            result,
            at_ms: hookswitch_clock::unix_now_ms()?,
        })
    }
}

pub(crate) fn bounded_path(path: &str) -> &str {
    if path.len() <= MAX_LOGGED_PATH {
        return path;
    }
    let mut end = MAX_LOGGED_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

/// Sizes of the fetch-log pipeline.
#[derive(Debug, Clone, Copy)]
pub struct FetchLogConfig {
    /// Records that may wait in the channel; more are dropped (and counted).
    pub capacity: usize,
    /// Records per database write.
    pub batch: usize,
    /// Longest a record waits for its batch.
    pub interval: Duration,
}

impl Default for FetchLogConfig {
    fn default() -> Self {
        FetchLogConfig {
            capacity: 65_536,
            batch: 500,
            interval: Duration::from_millis(250),
        }
    }
}

/// Counters of the fetch log since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FetchLogStats {
    /// Records in the database.
    pub written: u64,
    /// Records refused because the channel was full (or the writer had stopped).
    pub dropped: u64,
    /// Records lost because a database write failed.
    pub failed: u64,
    /// The last database error, if any.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn snapshot(&self) -> FetchLogStats {
        FetchLogStats {
            written: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            last_error: self.last_error.lock().map_or(None, |e| e.clone()),
        }
    }
}

/// The handle request handlers log through. Cheap to clone; `record` never waits.
#[derive(Clone)]
pub struct FetchLog {
    tx: mpsc::Sender<FetchRecord>,
    counters: Arc<Counters>,
}

impl FetchLog {
    /// Queue a record; if the channel is full it is dropped and counted.
    pub fn record(&self, record: FetchRecord) {
        if self.tx.try_send(record).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> FetchLogStats {
        self.counters.snapshot()
    }
}

/// The background writer; `shutdown` writes what is queued and stops it.
pub struct FetchLogWriter {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    counters: Arc<Counters>,
}

impl FetchLogWriter {
    /// Stop taking records, write every queued one, and return the final counters.
    pub async fn shutdown(self) -> FetchLogStats {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            *self
                .counters
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(format!("fetch-log task: {e}"));
        }
        self.counters.snapshot()
    }
}

pub(crate) fn start(store: Store, config: FetchLogConfig) -> (FetchLog, FetchLogWriter) {
    let batch = config.batch.max(1);
    let (tx, rx) = mpsc::channel(config.capacity.max(1));
    let (stop, stopped) = oneshot::channel();
    let counters = Arc::new(Counters::default());
    let task = tokio::spawn(run(
        store,
        rx,
        stopped,
        batch,
        config.interval,
        counters.clone(),
    ));
    (
        FetchLog {
            tx,
            counters: counters.clone(),
        },
        FetchLogWriter {
            stop,
            task,
            counters,
        },
    )
}

async fn run(
    store: Store,
    mut rx: mpsc::Receiver<FetchRecord>,
    mut stopped: oneshot::Receiver<()>,
    batch: usize,
    interval: Duration,
    counters: Arc<Counters>,
) {
    let mut buffer: Vec<FetchRecord> = Vec::with_capacity(batch);
    // When the oldest waiting record must be written.
    let mut due: Option<Instant> = None;
    loop {
        let room = batch - buffer.len();
        tokio::select! {
            _ = &mut stopped => break,
            received = rx.recv_many(&mut buffer, room) => {
                if received == 0 {
                    break; // every FetchLog handle is gone
                }
                due.get_or_insert_with(|| Instant::now() + interval);
            }
            _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {}
        }
        let is_due = due.is_some_and(|d| Instant::now() >= d);
        if buffer.len() >= batch || is_due {
            write(&store, &mut buffer, &counters).await;
            due = None;
        }
    }
    // Drain: nothing new gets in, everything queued gets written.
    rx.close();
    while rx.recv_many(&mut buffer, batch).await > 0 {
        if buffer.len() >= batch {
            write(&store, &mut buffer, &counters).await;
        }
    }
    write(&store, &mut buffer, &counters).await;
}

async fn write(store: &Store, buffer: &mut Vec<FetchRecord>, counters: &Counters) {
    if buffer.is_empty() {
        return;
    }
    let n = buffer.len() as u64;
    match store.insert_fetches(buffer).await {
        Ok(()) => {
            counters.written.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => {
            counters.failed.fetch_add(n, Ordering::Relaxed);
            *counters
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }
    }
    buffer.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_round_trip_through_their_names() {
        for r in FetchResult::ALL {
            assert_eq!(r.as_str().parse::<FetchResult>(), Ok(r));
        }
        assert!("ok".parse::<FetchResult>().is_err());
    }

    #[test]
    fn long_paths_are_cut_on_a_character_boundary() {
        let path = "é".repeat(MAX_LOGGED_PATH);
        let cut = bounded_path(&path);
        assert!(cut.len() <= MAX_LOGGED_PATH && cut.chars().all(|c| c == 'é'));
        assert_eq!(
            bounded_path("/metadata/1.root.json"),
            "/metadata/1.root.json"
        );
    }
}
