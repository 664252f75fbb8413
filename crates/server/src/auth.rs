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

/// Failed password attempts per source address: after `max` in `window`, none is checked
/// until the window has passed.
#[derive(Debug)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
    max: u32,
    window: Duration,
}

/// Addresses remembered at most; past it, expired entries go, then everything.
const MAX_TRACKED: usize = 65_536;

impl Throttle {
    pub fn new(max: u32, window: Duration) -> Self {
        Throttle {
            failures: Mutex::new(HashMap::new()),
            max,
            window,
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn allowed(&self, ip: IpAddr, now: Instant) -> bool {
        match self.table().get(&ip) {
            Some((n, since)) => *n < self.max || now.duration_since(*since) >= self.window,
            None => true,
        }
    }

    pub fn failed(&self, ip: IpAddr, now: Instant) {
        let mut t = self.table();
        if t.len() >= MAX_TRACKED {
            let window = self.window;
            t.retain(|_, (_, since)| now.duration_since(*since) < window);
            if t.len() >= MAX_TRACKED {
                t.clear();
            }
        }
        let e = t.entry(ip).or_insert((0, now));
        if now.duration_since(e.1) >= self.window {
            *e = (0, now);
        }
        e.0 += 1;
    }

    pub fn succeeded(&self, ip: IpAddr) {
        self.table().remove(&ip);
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
    if !throttle.allowed(ip, Instant::now()) {
        return Err(AuthFailure::Throttled);
    }
    let Some(store) = store else {
        return Err(AuthFailure::BadPassword);
    };
    match store.verify_password(user, password).await {
        Ok(true) => {
            throttle.succeeded(ip);
            Ok(user.to_string())
        }
        Ok(false) => {
            throttle.failed(ip, Instant::now());
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
            assert!(t.allowed(ip, t0));
            t.failed(ip, t0);
        }
        assert!(!t.allowed(ip, t0 + Duration::from_secs(59)));
        assert!(t.allowed(other, t0));
        assert!(t.allowed(ip, t0 + Duration::from_secs(60)));
        t.succeeded(ip);
        assert!(t.allowed(ip, t0));
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
