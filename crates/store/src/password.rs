//! Device passwords: Argon2id hashes with bounded costs, and a verifier whose work is the same
//! whether or not the device exists, and whose total CPU use is capped.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;

use crate::StoreError;

/// The costs new hashes get: OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane), about
/// 20 ms here: a phone logs in once per boot, a guesser pays it per guess.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// The most a stored hash may ask for before any work is done (a tampered row must not
/// make one login cost a gigabyte).
const MAX_MEMORY_KIB: u32 = 64 * 1024;
const MAX_PASSES: u32 = 4;
const MAX_LANES: u32 = 4;

/// Password length accepted by `set_password`, in bytes.
pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 256;

/// Candidates longer than this are not hashed at all (but still cost a dummy verification).
const MAX_CANDIDATE_LEN: usize = 1024;

/// How many verifications may wait for a hashing slot before new ones are refused (`Busy`).
const MAX_WAITING: usize = 256;

fn argon2id() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant Argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub(crate) fn check_new_password(password: &str) -> Result<(), StoreError> {
    let len = password.len();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&len) {
        return Err(StoreError::WeakPassword(format!(
            "{len} bytes; a device password has {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN}"
        )));
    }
    if password.chars().any(char::is_control) {
        return Err(StoreError::WeakPassword(
            "contains a control character".to_string(),
        ));
    }
    Ok(())
}

/// A fresh Argon2id hash in PHC form, with a random salt.
pub(crate) fn hash(password: &[u8]) -> Result<String, StoreError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| StoreError::Internal(format!("random salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| StoreError::Internal(format!("salt encoding: {e}")))?;
    argon2id()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Internal(format!("argon2: {e}")))
}

/// Does `candidate` match the PHC string? A hash that is not Argon2id v19 within the bounds
/// above is refused before any work (fail closed). The comparison of the outputs is
/// constant-time (`password_hash::Output` compares with `subtle`).
fn verify_phc(phc: &str, candidate: &[u8]) -> Result<bool, String> {
    let parsed = PasswordHash::new(phc).map_err(|e| format!("not a PHC string: {e}"))?;
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return Err(format!(
            "algorithm {} (expected argon2id)",
            parsed.algorithm
        ));
    }
    if parsed.version != Some(Version::V0x13 as u32) {
        return Err("Argon2 version is not 19".to_string());
    }
    let params = Params::try_from(&parsed).map_err(|e| format!("Argon2 parameters: {e}"))?;
    if params.m_cost() > MAX_MEMORY_KIB
        || params.t_cost() > MAX_PASSES
        || params.p_cost() > MAX_LANES
    {
        return Err(format!(
            "Argon2 costs m={} t={} p={} exceed the bounds m<={MAX_MEMORY_KIB} t<={MAX_PASSES} p<={MAX_LANES}",
            params.m_cost(),
            params.t_cost(),
            params.p_cost()
        ));
    }
    match Argon2::default().verify_password(candidate, &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(format!("argon2: {e}")),
    }
}

/// Runs verifications off the async threads, a bounded number at a time.
pub(crate) struct Verifier {
    /// A hash of a random password, checked when the device is unknown or has no password,
    /// so both cost one Argon2id run like a real check.
    dummy_phc: String,
    working: Semaphore,
    waiting: Semaphore,
    /// Argon2id runs done, real or dummy (for metrics, and for tests that check that every
    /// path costs exactly one run).
    runs: AtomicU64,
}

/// What the database said about the device a candidate is checked against.
pub(crate) enum Stored {
    Hash(String),
    /// Unknown device, invalid ID, or no password set.
    Nothing,
}

impl Verifier {
    pub(crate) fn new() -> Result<Verifier, StoreError> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|e| StoreError::Internal(format!("random dummy password: {e}")))?;
        // At most half the cores hash at once, so logins cannot starve TLS and file serving.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Verifier {
            dummy_phc: hash(&random)?,
            working: Semaphore::new((cores / 2).max(1)),
            waiting: Semaphore::new(MAX_WAITING),
            runs: AtomicU64::new(0),
        })
    }

    pub(crate) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// One Argon2id run whatever `stored` is; true only for a real hash that matches.
    pub(crate) async fn verify(
        &self,
        device: &str,
        stored: Stored,
        candidate: &[u8],
    ) -> Result<bool, StoreError> {
        let _queued = self.waiting.try_acquire().map_err(|_| StoreError::Busy)?;
        let _slot = self.working.acquire().await.map_err(|_| StoreError::Busy)?;
        let (phc, real) = match stored {
            Stored::Hash(phc) => (phc, true),
            Stored::Nothing => (self.dummy_phc.clone(), false),
        };
        // An oversized candidate is replaced (not skipped), so it costs the same run.
        let oversized = candidate.len() > MAX_CANDIDATE_LEN;
        let candidate = if oversized {
            Vec::new()
        } else {
            candidate.to_vec()
        };
        let matched = tokio::task::spawn_blocking(move || verify_phc(&phc, &candidate))
            .await
            .map_err(|e| StoreError::Internal(format!("password check task: {e}")))?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let matched = matched.map_err(|reason| StoreError::BadStoredHash {
            device: device.to_string(),
            reason,
        })?;
        Ok(matched && real && !oversized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_costs_are_bounded() {
        let phc = hash(b"correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(verify_phc(&phc, b"correct horse battery"), Ok(true));
        assert_eq!(verify_phc(&phc, b"wrong horse battery"), Ok(false));

        // A tampered row asking for 1 GiB is refused before any work.
        let greedy = phc.replace("m=19456", "m=1048576");
        let e = verify_phc(&greedy, b"correct horse battery").unwrap_err();
        assert!(e.contains("exceed the bounds"), "{e}");
        let argon2i = phc.replace("$argon2id$", "$argon2i$");
        assert!(verify_phc(&argon2i, b"x").unwrap_err().contains("argon2id"));
        assert!(verify_phc("plaintext", b"plaintext").is_err());
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once_without_hashing() {
        let verifier = Verifier::new().unwrap();
        let _everyone_waiting = verifier
            .waiting
            .try_acquire_many(MAX_WAITING as u32)
            .unwrap();
        let e = verifier
            .verify("a", Stored::Nothing, b"x")
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Busy), "{e}");
        assert_eq!(verifier.runs(), 0);
    }

    #[test]
    fn new_passwords_have_bounded_length() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password(&"p".repeat(257)).is_err());
        assert!(check_new_password("twelve chars").is_ok());
        assert!(check_new_password("twelve\nchars!").is_err());
    }
}
