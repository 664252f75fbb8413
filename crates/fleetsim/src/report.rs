//! What a run saw: per-device outcomes folded into counts, latency percentiles and rates.

use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a device failed; the names appear in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Its identity files could not be read or parsed.
    Identity,
    Connect,
    Tls,
    /// The server said 401 (no or unknown client certificate).
    Unauthenticated,
    /// The server said 403 (another device's file).
    Forbidden,
    /// Any other HTTP status, or a broken response.
    Http,
    /// Verification failed (signature, version, expiry, hash, length, device).
    Verify,
    /// A file the device needs is not on the server (404), or not in the repository.
    NotFound,
    /// Two metadata versions that do not belong together.
    MixedVersion,
    /// The run's time limit (or the device's own) passed first.
    Timeout,
}

impl Reason {
    pub fn label(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// One device's result.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done {
        latency: Duration,
        bytes: u64,
        /// The timestamp version the device ended on.
        timestamp: u64,
    },
    Failed {
        reason: Reason,
        message: String,
    },
    /// One of the `--fail-devices`: it fetched nothing.
    Skipped,
}

/// Failed device IDs listed in a report at most.
const LISTED_FAILURES: usize = 100;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub devices: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub skipped: u64,
    pub failures: BTreeMap<String, u64>,
    /// The first message of each failure reason.
    pub failure_examples: BTreeMap<String, String>,
    /// Up to 100 failed devices, with their reason.
    pub failed_devices: BTreeMap<String, String>,
    pub seconds: f64,
    pub devices_per_second: f64,
    pub latency_ms: Latency,
    pub bytes: u64,
    /// Devices by the timestamp version they ended on.
    pub timestamp_versions: BTreeMap<u64, u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// The value below which `p` percent of the sorted `values` lie (nearest rank).
fn percentile(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1].as_secs_f64() * 1000.0
}

impl Report {
    pub fn new(outcomes: &[(String, Outcome)], elapsed: Duration) -> Report {
        let mut r = Report {
            devices: outcomes.len() as u64,
            seconds: elapsed.as_secs_f64(),
            ..Report::default()
        };
        let mut latencies = Vec::new();
        for (id, outcome) in outcomes {
            match outcome {
                Outcome::Done {
                    latency,
                    bytes,
                    timestamp,
                } => {
                    r.succeeded += 1;
                    r.bytes += bytes;
                    latencies.push(*latency);
                    *r.timestamp_versions.entry(*timestamp).or_default() += 1;
                }
                Outcome::Failed { reason, message } => {
                    r.failed += 1;
                    *r.failures.entry(reason.label()).or_default() += 1;
                    r.failure_examples
                        .entry(reason.label())
                        .or_insert_with(|| message.clone());
                    if r.failed_devices.len() < LISTED_FAILURES {
                        r.failed_devices.insert(id.clone(), reason.label());
                    }
                }
                Outcome::Skipped => r.skipped += 1,
            }
        }
        latencies.sort();
        r.latency_ms = Latency {
            p50: percentile(&latencies, 50),
            p99: percentile(&latencies, 99),
            max: latencies.last().map_or(0.0, |l| l.as_secs_f64() * 1000.0),
        };
        if r.seconds > 0.0 {
            r.devices_per_second = r.succeeded as f64 / r.seconds;
        }
        r
    }

    pub fn human(&self) -> String {
        let mut s = format!(
            "devices {}: {} succeeded, {} failed, {} skipped in {:.2} s ({:.1} devices/s)\n\
             latency per device: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} bytes received\n",
            self.devices,
            self.succeeded,
            self.failed,
            self.skipped,
            self.seconds,
            self.devices_per_second,
            self.latency_ms.p50,
            self.latency_ms.p99,
            self.latency_ms.max,
            self.bytes
        );
        for (version, n) in &self.timestamp_versions {
            s.push_str(&format!("timestamp v{version}: {n} devices\n"));
        }
        for (reason, n) in &self.failures {
            let example = self
                .failure_examples
                .get(reason)
                .map(String::as_str)
                .unwrap_or("");
            s.push_str(&format!("failed ({reason}): {n}, e.g. {example}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank_and_failures_are_counted_by_reason() {
        let ms = Duration::from_millis;
        let mut outcomes: Vec<(String, Outcome)> = (1..=100)
            .map(|i| {
                (
                    format!("d{i}"),
                    Outcome::Done {
                        latency: ms(i),
                        bytes: 10,
                        timestamp: 3,
                    },
                )
            })
            .collect();
        outcomes.push((
            "x".into(),
            Outcome::Failed {
                reason: Reason::Unauthenticated,
                message: "HTTP 401".into(),
            },
        ));
        outcomes.push(("y".into(), Outcome::Skipped));
        let r = Report::new(&outcomes, Duration::from_secs(2));
        assert_eq!((r.succeeded, r.failed, r.skipped), (100, 1, 1));
        assert_eq!((r.latency_ms.p50, r.latency_ms.p99), (50.0, 99.0));
        assert_eq!(r.failures["unauthenticated"], 1);
        assert_eq!(r.failed_devices["x"], "unauthenticated");
        assert_eq!(r.devices_per_second, 50.0);
        assert_eq!(r.bytes, 1000);
    }
}
