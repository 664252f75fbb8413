//! Who is asking for a config: a client certificate (issued by a `--client-ca`, or enrolled
//! by fingerprint in the store), or HTTP Basic over TLS checked by the store against its
//! Argon2id hash (one verification per attempt whatever the user name, and a bounded number
//! at once: `Store::verify_password`). Failures are throttled per source address here, so a
//! guesser is stopped before any hash work.

use crate::metrics::AuthFailure;
use hookswitch_store::{CertFingerprint, Store, StoreError};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Two device IDs name the same device: equal, or the same MAC address written differently.
pub fn same_device(a: &str, b: &str) -> bool {
    a == b || matches!((crate::vendor::mac(a), crate::vendor::mac(b)), (Some(x), Some(y)) if x == y)
}

/// Password attempts per source address: failed ones in the current window, and ones being
/// checked now (each counts as a failure until it is known not to be one, so a guesser
/// cannot start many checks at once before the first fails). After `max`, none is checked
/// until the window has passed.
#[derive(Debug)]
pub struct Throttle {
    sources: Mutex<HashMap<IpAddr, Source>>,
    max: u32,
    window: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Source {
    failures: u32,
    since: Instant,
    checking: u32,
}

/// Addresses remembered at most; past it, expired idle entries go, then everything.
const MAX_TRACKED: usize = 65_536;

/// One password check under way; dropped unfinished (the client went away), it counts for
/// nothing.
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    ip: IpAddr,
}

impl Attempt<'_> {
    pub fn failed(self, now: Instant) {
        let mut t = self.throttle.table();
        if let Some(s) = t.get_mut(&self.ip) {
            if now.duration_since(s.since) >= self.throttle.window {
                (s.failures, s.since) = (0, now);
            }
            s.failures += 1;
        }
    }

    pub fn succeeded(self) {
        if let Some(s) = self.throttle.table().get_mut(&self.ip) {
            s.failures = 0;
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let mut t = self.throttle.table();
        if let Some(s) = t.get_mut(&self.ip) {
            s.checking = s.checking.saturating_sub(1);
            if s.checking == 0 && s.failures == 0 {
                t.remove(&self.ip);
            }
        }
    }
}

impl Throttle {
    pub fn new(max: u32, window: Duration) -> Self {
        Throttle {
            sources: Mutex::new(HashMap::new()),
            max,
            window,
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Source>> {
        self.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start a check from `ip`, if its failures and the checks under way leave room.
    pub fn attempt(&self, ip: IpAddr, now: Instant) -> Option<Attempt<'_>> {
        let ip = source(ip);
        let mut t = self.table();
        if t.len() >= MAX_TRACKED && !t.contains_key(&ip) {
            let window = self.window;
            t.retain(|_, s| s.checking > 0 || now.duration_since(s.since) < window);
            if t.len() >= MAX_TRACKED {
                t.clear();
            }
        }
        let s = t.entry(ip).or_insert(Source {
            failures: 0,
            since: now,
            checking: 0,
        });
        let failures = if now.duration_since(s.since) >= self.window {
            0
        } else {
            s.failures
        };
        if failures + s.checking >= self.max {
            return None;
        }
        s.checking += 1;
        Some(Attempt { throttle: self, ip })
    }
}

/// The unit a throttle counts: an IPv4 address (IPv4-mapped ones included), or an IPv6 /64,
/// which one host usually holds whole and could otherwise rotate through.
fn source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// The device `user` if `password` is its password; throttled per source address.
pub async fn check_password(
    store: Option<&Store>,
    throttle: &Throttle,
    ip: IpAddr,
    user: &str,
    password: &[u8],
) -> Result<String, AuthFailure> {
    let Some(attempt) = throttle.attempt(ip, Instant::now()) else {
        return Err(AuthFailure::Throttled);
    };
    let Some(store) = store else {
        return Err(AuthFailure::BadPassword);
    };
    match store.verify_password(user, password).await {
        Ok(true) => {
            attempt.succeeded();
            Ok(user.to_string())
        }
        Ok(false) => {
            attempt.failed(Instant::now());
            Err(AuthFailure::BadPassword)
        }
        Err(StoreError::Busy) => Err(AuthFailure::Busy),
        Err(e) => {
            tracing::error!(error = %e, "device store");
            Err(AuthFailure::Busy)
        }
    }
}

/// The device a client certificate (its DER) is enrolled for in the store.
pub async fn device_for_certificate(
    store: Option<&Store>,
    der: &[u8],
) -> Result<String, AuthFailure> {
    let Some(store) = store else {
        return Err(AuthFailure::UnknownCertificate);
    };
    match store
        .device_by_fingerprint(&CertFingerprint::of_der(der))
        .await
    {
        Ok(Some(device)) => Ok(device.id.as_str().to_string()),
        Ok(None) => Err(AuthFailure::UnknownCertificate),
        Err(e) => {
            tracing::error!(error = %e, "device store");
            Err(AuthFailure::Busy)
        }
    }
}

/// `Authorization: Basic` user and password.
pub fn basic_credentials(header: &[u8]) -> Option<(String, Vec<u8>)> {
    use base64::Engine;
    let s = std::str::from_utf8(header).ok()?;
    let (scheme, b64) = s.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let colon = raw.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(raw[..colon].to_vec()).ok()?;
    Some((user, raw[colon + 1..].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_stops_a_source_after_max_failures_until_the_window_passes() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        let other: IpAddr = "127.0.0.10".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            t.attempt(ip, t0).unwrap().failed(t0);
        }
        assert!(t.attempt(ip, t0 + Duration::from_secs(59)).is_none());
        assert!(t.attempt(other, t0).is_some());
        let later = t.attempt(ip, t0 + Duration::from_secs(60)).unwrap();
        later.succeeded();
        assert!(t.attempt(ip, t0).is_some());
    }

    #[test]
    fn checks_under_way_count_until_they_end_and_an_abandoned_one_counts_for_nothing() {
        let t = Throttle::new(3, Duration::from_secs(60));
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        let t0 = Instant::now();
        let running: Vec<_> = (0..3).map(|_| t.attempt(ip, t0).unwrap()).collect();
        assert!(t.attempt(ip, t0).is_none());
        drop(running);
        assert!(t.table().is_empty());
        let a = t.attempt(ip, t0).unwrap();
        t.attempt(ip, t0).unwrap().failed(t0);
        a.succeeded();
        assert!(t.table().is_empty());
    }

    #[test]
    fn an_ipv6_host_cannot_rotate_through_its_64_and_mapped_ipv4_is_ipv4() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        for ip in ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9"] {
            t.attempt(ip.parse().unwrap(), t0).unwrap().failed(t0);
        }
        assert!(t
            .attempt("2001:db8:1:2::abcd".parse().unwrap(), t0)
            .is_none());
        assert!(t.attempt("2001:db8:1:3::1".parse().unwrap(), t0).is_some());
        for ip in ["192.0.2.7", "::ffff:192.0.2.7"] {
            t.attempt(ip.parse().unwrap(), t0).unwrap().failed(t0);
        }
        assert!(t.attempt("192.0.2.7".parse().unwrap(), t0).is_none());
    }

    #[test]
    fn basic_credentials_parse_and_garbage_does_not() {
        assert_eq!(
            basic_credentials(b"Basic MDAxNTY1YWFiYmNjOnMzY3JldDpwYXNz"),
            Some(("001565aabbcc".into(), b"s3cret:pass".to_vec()))
        );
        assert_eq!(basic_credentials(b"Bearer abc"), None);
        assert_eq!(basic_credentials(b"Basic !!!"), None);
        assert_eq!(basic_credentials(b"Basic bm9jb2xvbg=="), None);
    }

    #[test]
    fn macs_written_differently_are_one_device() {
        assert!(same_device("001565AABBCC", "00:15:65:aa:bb:cc"));
        assert!(!same_device("001565aabbcc", "001565aabbcd"));
        assert!(same_device("phone-7", "phone-7"));
        assert!(!same_device("phone-7", "Phone-7"));
    }
}
