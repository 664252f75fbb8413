//! Canonical JSON, key IDs, signatures (Ed25519, ECDSA P-256/P-384, RSA-PSS) and threshold
//! checks.

use crate::metadata::{Key, KeyVal, Signature};
use ed25519_dalek::{Signature as EdSignature, VerifyingKey};
use serde::Serialize;
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
    hex::encode(crate::digest::sha256(bytes))
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

/// Check one signature by one key, for the key types and schemes of the TUF spec (as
/// securesystemslib defines them): `ed25519` (hex public key), `ecdsa-sha2-nistp256` and
/// `-nistp384` (PEM SubjectPublicKeyInfo, DER signature) and `rsassa-pss-sha256` (PEM
/// SubjectPublicKeyInfo, 2048 bits or more). Anything else never verifies.
pub fn verify_one(key: &Key, message: &[u8], sig_hex: &str) -> bool {
    let Ok(sig) = hex::decode(sig_hex) else {
        return false;
    };
    let public = key.keyval.public.as_str();
    match (key.keytype.as_str(), key.scheme.as_str()) {
        ("ed25519", "ed25519") => verify_ed25519(public, message, &sig),
        ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
            verify_p256(public, message, &sig)
        }
        ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => {
            verify_p384(public, message, &sig)
        }
        ("rsa", "rsassa-pss-sha256") => verify_rsa_pss_sha256(public, message, &sig),
        _ => false,
    }
}

fn verify_ed25519(public_hex: &str, message: &[u8], sig: &[u8]) -> bool {
    let Ok(public) = hex::decode(public_hex) else {
        return false;
    };
    let (Ok(public), Ok(sig)) = (
        <[u8; 32]>::try_from(public.as_slice()),
        <[u8; 64]>::try_from(sig),
    ) else {
        return false;
    };
    let Ok(vk) = VerifyingKey::from_bytes(&public) else {
        return false;
    };
    vk.verify_strict(message, &EdSignature::from_bytes(&sig))
        .is_ok()
}

fn verify_p256(pem: &str, message: &[u8], sig: &[u8]) -> bool {
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePublicKey;
    let (Ok(vk), Ok(sig)) = (
        p256::ecdsa::VerifyingKey::from_public_key_pem(pem),
        p256::ecdsa::Signature::from_der(sig),
    ) else {
        return false;
    };
    vk.verify(message, &sig).is_ok()
}

fn verify_p384(pem: &str, message: &[u8], sig: &[u8]) -> bool {
    use p384::ecdsa::signature::Verifier;
    use p384::pkcs8::DecodePublicKey;
    let (Ok(vk), Ok(sig)) = (
        p384::ecdsa::VerifyingKey::from_public_key_pem(pem),
        p384::ecdsa::Signature::from_der(sig),
    ) else {
        return false;
    };
    vk.verify(message, &sig).is_ok()
}

/// Smallest RSA modulus accepted (NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted: bounds the cost of one verification.
pub const MAX_RSA_BITS: usize = 8192;

/// RSASSA-PSS with SHA-256 and MGF1-SHA-256. Signers (securesystemslib, go-tuf, sigstore)
/// use a salt as long as the digest; the maximal salt is accepted as well.
fn verify_rsa_pss_sha256(pem: &str, message: &[u8], sig: &[u8]) -> bool {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let Ok(key) = rsa::RsaPublicKey::from_public_key_pem(pem) else {
        return false;
    };
    let bits = key.n().bits();
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) || sig.len() != key.size() {
        return false;
    }
    let hashed = crate::digest::sha256(message);
    let max_salt = key.size().saturating_sub(32 + 2);
    [32, max_salt].into_iter().any(|salt| {
        key.verify(rsa::Pss::new_with_salt::<sha2::Sha256>(salt), &hashed, sig)
            .is_ok()
    })
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
