//! Who is asking for a config: a client certificate (issued by a `--client-ca`, or enrolled
//! by fingerprint in the store), or HTTP Basic over TLS checked against the store's
//! Argon2id hash. Password checks are throttled per source address and their number in
//! flight is bounded, so neither guessing nor hash work can take the server down.

use crate::metrics::AuthFailure;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One fetch of a config, for the store's fetch log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub device: String,
    pub path: String,
    /// The timestamp version being served.
    pub version: u64,
    /// `served` or `denied`.
    pub result: &'static str,
}

/// What the server needs from the device store.
pub trait Devices: Send + Sync {
    /// The device a certificate (SHA-256 of its DER, lower-case hex) is enrolled for.
    fn device_for_certificate<'a>(
        &'a self,
        sha256_hex: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, String>>;
    /// The device's Argon2id password hash (PHC string), if it has one.
    fn password_hash<'a>(
        &'a self,
        device: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, String>>;
    /// Queue a fetch for the log; never blocks the request.
    fn record_fetch(&self, fetch: Fetch);
}

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

/// Argon2 costs a stored hash may ask for (the keystore's own bound).
const MAX_M_KIB: u32 = 1024 * 1024;
const MAX_T: u32 = 10;

/// Password checks: throttled, and at most `slots` hashes computed at once.
pub struct PasswordGate {
    slots: Arc<Semaphore>,
    pub throttle: Throttle,
    /// Verified against when the user is unknown, so the answer takes as long.
    decoy: String,
}

impl PasswordGate {
    pub fn new(slots: usize, throttle: Throttle) -> Self {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"hookswitch-decoy").unwrap_or_else(|_| {
            SaltString::from_b64("aG9va3N3aXRjaGRlY295").expect("a valid constant salt")
        });
        let decoy = argon2::Argon2::default()
            .hash_password(b"no such device", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        PasswordGate {
            slots: Arc::new(Semaphore::new(slots.max(1))),
            throttle,
            decoy,
        }
    }

    /// The device `user` if `password` is its password.
    pub async fn check(
        &self,
        devices: Option<&dyn Devices>,
        ip: IpAddr,
        user: &str,
        password: &[u8],
    ) -> Result<String, AuthFailure> {
        if !self.throttle.allowed(ip, Instant::now()) {
            return Err(AuthFailure::Throttled);
        }
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| AuthFailure::Busy)?;
        let stored = match devices {
            Some(d) => d.password_hash(user).await.map_err(|e| {
                tracing::error!(error = %e, "device store");
                AuthFailure::Busy
            })?,
            None => None,
        };
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.decoy.clone());
        let password = password.to_vec();
        let ok = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify(&hash, &password)
        })
        .await
        .unwrap_or(false);
        if ok && known {
            self.throttle.succeeded(ip);
            Ok(user.to_string())
        } else {
            self.throttle.failed(ip, Instant::now());
            Err(AuthFailure::BadPassword)
        }
    }
}

/// Argon2id only, within the cost bounds; the comparison is constant-time (password-hash's
/// `Output` equality).
fn verify(phc: &str, password: &[u8]) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    if hash.algorithm.as_str() != "argon2id" {
        return false;
    }
    let Ok(params) = argon2::Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_M_KIB || params.t_cost() > MAX_T {
        return false;
    }
    argon2::Argon2::default()
        .verify_password(password, &hash)
        .is_ok()
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
    fn only_argon2id_within_bounds_verifies() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let fast = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(256, 1, 1, None).unwrap(),
        );
        let good = fast.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(verify(&good, b"pw"));
        assert!(!verify(&good, b"pw2"));
        let argon2i = argon2::Argon2::new(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x13,
            argon2::Params::new(256, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(!verify(&argon2i, b"pw"));
        let greedy = good.replace("m=256,t=1", "m=4194304,t=1");
        assert!(!verify(&greedy, b"pw"));
        assert!(!verify("not a hash", b"pw"));
    }

    #[test]
    fn macs_written_differently_are_one_device() {
        assert!(same_device("001565AABBCC", "00:15:65:aa:bb:cc"));
        assert!(!same_device("001565aabbcc", "001565aabbcd"));
        assert!(same_device("phone-7", "phone-7"));
        assert!(!same_device("phone-7", "Phone-7"));
    }
}
