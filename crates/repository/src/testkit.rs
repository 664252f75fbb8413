//! Fixed test keys for a repository and an in-process stand-in for the signer process,
//! for tests and benchmarks. Production publishing uses `hookswitch_signer::RemoteSigner`.

use crate::{InitKeys, OnlineSigner, SignerError, BIN_PREFIX};
use hookswitch_trust::crypto::{canonical, Ed25519Signer, Signer};
use hookswitch_trust::metadata::Signature;
use hookswitch_trust::testkit::key;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Root 1..3 (2 of 3), targets 4, firmware 5, apps 6, config 7, bins 8, snapshot 9, timestamp 10.
pub fn init_keys() -> InitKeys {
    InitKeys {
        root: vec![
            key(1).public_key(),
            key(2).public_key(),
            key(3).public_key(),
        ],
        root_threshold: 2,
        targets: vec![key(4).public_key()],
        firmware: vec![key(5).public_key()],
        apps: vec![key(6).public_key()],
        config: vec![key(7).public_key()],
        bins: vec![key(8).public_key()],
        snapshot: vec![key(9).public_key()],
        timestamp: vec![key(10).public_key()],
    }
}

/// The offline keys that sign `init`: two root keys and the offline targets roles.
pub fn offline_init_signers() -> Vec<Ed25519Signer> {
    vec![key(1), key(2), key(4), key(5), key(6), key(7)]
}

/// Holds online keys by kind: `snapshot`, `timestamp`, `bins`; like the signer process, it
/// refuses a snapshot or timestamp version that does not advance the last it signed.
pub struct InProcessSigner {
    pub keys: Vec<(String, Ed25519Signer)>,
    last: Mutex<BTreeMap<String, u64>>,
}

impl InProcessSigner {
    pub fn with_keys(keys: Vec<(String, Ed25519Signer)>) -> Self {
        InProcessSigner {
            keys,
            last: Mutex::default(),
        }
    }

    /// Snapshot and timestamp keys, and the bins key if `with_bins`.
    pub fn standard(with_bins: bool) -> Self {
        let mut keys = vec![
            ("snapshot".to_string(), key(9)),
            ("timestamp".to_string(), key(10)),
        ];
        if with_bins {
            keys.push(("bins".into(), key(8)));
        }
        InProcessSigner::with_keys(keys)
    }
}

impl OnlineSigner for InProcessSigner {
    fn sign(&self, role: &str, signed: &serde_json::Value) -> Result<Vec<Signature>, SignerError> {
        let kind = if role.starts_with(&format!("{BIN_PREFIX}-")) {
            "bins"
        } else {
            role
        };
        if kind != "bins" {
            let version = signed["version"]
                .as_u64()
                .ok_or_else(|| SignerError::Refused("no version".into()))?;
            let mut last = self.last.lock().map_err(|_| state_lock())?;
            let prev = last.entry(role.to_string()).or_insert(0);
            if version <= *prev {
                return Err(SignerError::Refused(format!(
                    "{role} version {version} does not advance {prev} (rollback refused)"
                )));
            }
            *prev = version;
        }
        let msg = canonical(signed).map_err(SignerError::Refused)?;
        self.keys
            .iter()
            .filter(|(r, _)| r == kind)
            .map(|(_, k)| {
                Ok(Signature {
                    keyid: k.key_id(),
                    sig: k
                        .sign(&msg)
                        .map_err(SignerError::Failed)?
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect(),
                })
            })
            .collect()
    }

    fn last_versions(&self) -> Result<BTreeMap<String, u64>, SignerError> {
        Ok(self.last.lock().map_err(|_| state_lock())?.clone())
    }
}

fn state_lock() -> SignerError {
    SignerError::Failed("state lock".into())
}
