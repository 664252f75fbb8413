//! Canonical JSON, key IDs, Ed25519 signatures and threshold checks.

use crate::metadata::{Key, KeyVal, Signature};
use ed25519_dalek::{Signature as EdSignature, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// OLPC canonical JSON, as TUF signs it.
pub fn canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    value
        .serialize(&mut ser)
        .map_err(|e| format!("canonical JSON: {e}"))?;
    Ok(out)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// An Ed25519 public key in TUF's form.
pub fn ed25519_key(public: &[u8; 32]) -> Key {
    Key {
        keytype: "ed25519".into(),
        scheme: "ed25519".into(),
        keyval: KeyVal {
            public: hex::encode(public),
        },
    }
}

/// The key ID: sha256 of the key's canonical JSON.
pub fn key_id(key: &Key) -> String {
    sha256_hex(&canonical(key).unwrap_or_default())
}

/// Every private-key operation goes through this trait, so that a file, an HSM (PKCS#11) or
/// a remote signer can stand behind it without the callers changing.
pub trait Signer {
    /// The public half, in TUF's form.
    fn public_key(&self) -> Key;
    /// Sign `message` (canonical JSON of a role's `signed` object).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String>;
    fn key_id(&self) -> String {
        key_id(&self.public_key())
    }
}

/// An Ed25519 key held in memory (the file keystore decrypts into this).
pub struct Ed25519Signer {
    key: ed25519_dalek::SigningKey,
}

impl Ed25519Signer {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519Signer {
            key: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }
}

impl Signer for Ed25519Signer {
    fn public_key(&self) -> Key {
        ed25519_key(&self.key.verifying_key().to_bytes())
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        use ed25519_dalek::Signer as _;
        Ok(self.key.sign(message).to_bytes().to_vec())
    }
}

/// Check one signature by one key.
pub fn verify_one(key: &Key, message: &[u8], sig_hex: &str) -> bool {
    if key.keytype != "ed25519" || key.scheme != "ed25519" {
        return false;
    }
    let (Ok(public), Ok(sig)) = (hex::decode(&key.keyval.public), hex::decode(sig_hex)) else {
        return false;
    };
    let (Ok(public), Ok(sig)) = (
        <[u8; 32]>::try_from(public.as_slice()),
        <[u8; 64]>::try_from(sig.as_slice()),
    ) else {
        return false;
    };
    let Ok(vk) = VerifyingKey::from_bytes(&public) else {
        return false;
    };
    vk.verify_strict(message, &EdSignature::from_bytes(&sig))
        .is_ok()
}

/// Count valid signatures from distinct authorised keys; Ok(count) if at least
/// `threshold`, else Err(count). A key ID listed twice, two signatures by one key, or one
/// public key under two IDs all count once.
pub fn verify_threshold(
    message: &[u8],
    signatures: &[Signature],
    keys: &BTreeMap<String, Key>,
    authorised: &[String],
    threshold: u32,
) -> Result<u32, u32> {
    let authorised: BTreeSet<&String> = authorised.iter().collect();
    let mut distinct_keys: BTreeSet<String> = BTreeSet::new();
    for sig in signatures {
        if !authorised.contains(&sig.keyid) {
            continue;
        }
        let Some(key) = keys.get(&sig.keyid) else {
            continue;
        };
        let identity = format!("{}:{}", key.keytype, key.keyval.public);
        if distinct_keys.contains(&identity) {
            continue;
        }
        if verify_one(key, message, &sig.sig) {
            distinct_keys.insert(identity);
        }
    }
    let n = distinct_keys.len() as u32;
    if threshold > 0 && n >= threshold {
        Ok(n)
    } else {
        Err(n)
    }
}

/// Sign a role's `signed` object with each signer: `{"signatures":[…],"signed":…}`.
pub fn sign_metadata<T: Serialize>(signed: &T, signers: &[&dyn Signer]) -> Result<Vec<u8>, String> {
    let message = canonical(signed)?;
    let mut signatures = Vec::new();
    for s in signers {
        signatures.push(Signature {
            keyid: s.key_id(),
            sig: hex::encode(s.sign(&message)?),
        });
    }
    let doc = serde_json::json!({"signatures": signatures, "signed": signed});
    canonical(&doc)
}
