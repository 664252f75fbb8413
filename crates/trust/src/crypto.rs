//! Canonical JSON, key IDs, signatures (Ed25519, ECDSA P-256/P-384, RSA-PSS) and threshold
//! checks.

use crate::metadata::{Key, KeyVal, Signature};
use ed25519_dalek::{Signature as EdSignature, VerifyingKey};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Canonical JSON as TUF signs it (securesystemslib's `encode_canonical`): object keys
/// sorted by code point, no whitespace, integers only, and in strings only `"` and `\`
/// escaped (every other character, control characters included, written as is). Unlike the
/// olpc-cjson crate, strings are not NFC-normalised, which is what python-tuf and go-tuf sign.
pub fn canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let value = serde_json::to_value(value).map_err(|e| format!("canonical JSON: {e}"))?;
    canonical_value(&value)
}

/// [`canonical`] of an already parsed document (what a verifier has). Written here rather
/// than through olpc-cjson's serde formatter, which costs ~10x as much (1.7 ms for a 39 KB
/// snapshot) and NFC-normalises strings; `canonical_tests::agrees_with_olpc_cjson` holds the two equal
/// on normalised input.
pub fn canonical_value(value: &serde_json::Value) -> Result<Vec<u8>, String> {
    fn write(v: &serde_json::Value, out: &mut Vec<u8>) -> Result<(), String> {
        use serde_json::Value;
        match v {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Number(n) if n.is_i64() || n.is_u64() => {
                out.extend_from_slice(n.to_string().as_bytes())
            }
            Value::Number(_) => {
                return Err("canonical JSON: floating point numbers are not allowed".into())
            }
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(item, out)?;
                }
                out.push(b']');
            }
            Value::Object(map) => {
                // Sorted here, whatever order the map keeps (UTF-8 byte order is code point order).
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                out.push(b'{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(k, out);
                    out.push(b':');
                    write(v, out)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }
    fn write_string(s: &str, out: &mut Vec<u8>) {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    }
    let mut out = Vec::new();
    write(value, &mut out)?;
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
        #[cfg(feature = "ecdsa")]
        ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
            verify_p256(public, message, &sig)
        }
        #[cfg(feature = "ecdsa")]
        ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => {
            verify_p384(public, message, &sig)
        }
        #[cfg(feature = "rsa")]
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

/// ECDSA over P-256 with SHA-256, and over P-384 with SHA-384 (each curve's own digest):
/// a PEM SubjectPublicKeyInfo key and a DER signature.
#[cfg(feature = "ecdsa")]
macro_rules! verify_ecdsa {
    ($name:ident, $curve:ident) => {
        fn $name(pem: &str, message: &[u8], sig: &[u8]) -> bool {
            use $curve::ecdsa::signature::Verifier;
            use $curve::pkcs8::DecodePublicKey;
            let (Ok(vk), Ok(sig)) = (
                $curve::ecdsa::VerifyingKey::from_public_key_pem(pem),
                $curve::ecdsa::Signature::from_der(sig),
            ) else {
                return false;
            };
            vk.verify(message, &sig).is_ok()
        }
    };
}
#[cfg(feature = "ecdsa")]
verify_ecdsa!(verify_p256, p256);
#[cfg(feature = "ecdsa")]
verify_ecdsa!(verify_p384, p384);

/// Smallest RSA modulus accepted (NIST SP 800-131A).
#[cfg(feature = "rsa")]
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted: bounds the cost of one verification.
#[cfg(feature = "rsa")]
pub const MAX_RSA_BITS: usize = 8192;

/// RSASSA-PSS with SHA-256 and MGF1-SHA-256. Signers (securesystemslib, go-tuf, sigstore)
/// use a salt as long as the digest; the maximal salt is accepted as well.
#[cfg(feature = "rsa")]
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

/// What makes two listed keys the same key: the scheme (the keytype has aliases) and the
/// public key without whitespace, hex in lower case.
fn key_identity(key: &Key) -> String {
    let public: String = key
        .keyval
        .public
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let public = if key.scheme == "ed25519" {
        public.to_ascii_lowercase()
    } else {
        public
    };
    format!("{}:{public}", key.scheme)
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
        let identity = key_identity(key);
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

/// Sign a role's `signed` object with each distinct signer: `{"signatures":[…],"signed":…}`.
pub fn sign_metadata<T: Serialize>(signed: &T, signers: &[&dyn Signer]) -> Result<Vec<u8>, String> {
    let message = canonical(signed)?;
    let mut signatures: Vec<Signature> = Vec::new();
    for s in signers {
        // One signature per key ID: a second one makes the document invalid.
        if signatures.iter().any(|sig| sig.keyid == s.key_id()) {
            continue;
        }
        signatures.push(Signature {
            keyid: s.key_id(),
            sig: hex::encode(s.sign(&message)?),
        });
    }
    let doc = serde_json::json!({"signatures": signatures, "signed": signed});
    canonical(&doc)
}

#[cfg(test)]
mod canonical_tests {
    use super::*;

    fn olpc(v: &serde_json::Value) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
        v.serialize(&mut ser).unwrap();
        out
    }

    #[test]
    fn agrees_with_olpc_cjson() {
        let docs = [
            serde_json::json!({"b": 1, "a": [true, false, null, -3, 18446744073709551615u64], "ä": {"z": "q\"uo\\te", "": "ctl\u{1}\n"}}),
            serde_json::json!({"signed": {"_type": "root", "keys": {}, "roles": {"root": {"keyids": ["x"], "threshold": 1}}}}),
            serde_json::json!([]),
            serde_json::json!("\u{1F600}é"),
        ];
        for d in &docs {
            assert_eq!(canonical_value(d).unwrap(), olpc(d), "{d}");
        }
        let testkit = crate::testkit::Repo::new();
        for bytes in testkit.files.values().filter(|b| b.starts_with(b"{")) {
            let v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            assert_eq!(canonical_value(&v).unwrap(), olpc(&v));
        }
    }

    #[test]
    fn what_securesystemslib_writes() {
        // Keys by code point, only `"` and `\` escaped, no NFC normalisation ("e" + U+0301
        // stays two code points), floats refused.
        let v = serde_json::json!({"é": 1, "z": 2, "e\u{301}": "a\tb\"c"});
        assert_eq!(
            String::from_utf8(canonical_value(&v).unwrap()).unwrap(),
            "{\"e\u{301}\":\"a\tb\\\"c\",\"z\":2,\"é\":1}"
        );
        assert!(canonical_value(&serde_json::json!({"x": 1.5})).is_err());
    }
}

#[cfg(all(test, feature = "ecdsa", feature = "rsa"))]
mod tests {
    use super::*;
    use crate::metadata::KeyVal;

    // Keys and signatures made with python cryptography (as securesystemslib signs).
    const P256_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7QZxCzIDRVtMsWzDLl27SGT3c8KD\n+N//s4IV2ykShgYGhaNxVxihiHghLiot09ojwOZrdKQ2QdLt9/JuB/1/gw==\n-----END PUBLIC KEY-----\n";
    const P256_SIG: &str = "3045022100e240749e8859cacf625887777580a59821f8454cab78ee4503a6a4c4f4b3c3100220711a38b1d8b001db188b2efa92c2bcc27a38786339fcf624a2cc8de8b90f3a18";
    const P384_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEq4U87GZpjKAtlyX1op7mt2vS65/oTxz9\ncuVfF8WGuX7Kdic8KvE4fivmNg485pC4Fvi5728niuXcOUp3aD3q1/v/mSse+CFk\nTDSt+3d93WhUPUwj0ON8Tw+MGSw2fW2d\n-----END PUBLIC KEY-----\n";
    const P384_SIG: &str = "30650231008607df7ec300176deb3cb4261d21229d5b8848d699c0c22eae7ebbd1fac2f7d6e7afe167a405b7c5efb6e505979d3627023077d170293e6227560096f9edb4937719f8e8b485f4bda06ea0e0143c9b1ca5d4921b635e4ab1de8f043707d9decb090d";
    const RSA_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA79MXDM1aTIbg98079TRt\n0MIGPylB5rxr0MhwQgGpglxckA2Z+ATHTO+sg5a1J13pVlynqhbFBkSBrU5SQVOA\nuIkrmlE8CFwkOpL/7BgL4Kkk0q3TeU9CA6pL5sUspOZ4xWPtdcXDByN+4XvhJMlu\nUBwAiZa8mGl0HX+MxnSN80sFPzcsz/+m1BJkMuRJa3dekhnLeC2XOGTW4P13h91G\nqPTrIYGjz53G9nTvs06RCTga/ivZ3mC3Hza1+Mezx+ouWJ0vwQ1SvY+cz8bl+juS\nLsYbe6xYK8PLnBic7ZyTrSBWx06rLJJQx2u4iIZKpeTjxkXDTzzIeT7E36UBOtdl\nuwIDAQAB\n-----END PUBLIC KEY-----\n";
    const RSA_SIG: &str = "875b9f83cedfc856486ddef7050ef7c9224b939d7319c27bdc1e5e723f0847ef18876c98caa0cb82605e0ae3aef8fe05d34eeb30a0549b8d1a5d14acdf16cc3adf7e414ccaadaa3c3109c5c6ea7be0c275487288e76c7e94aded1eeaaf8e9145dcb122ab165e6915d38f8de148735a17378b0902684688d9808f8536cb53956aafb1ba88dc551d9442235b6b08b2e85287b031883a94482346695f73ddae8aa010e737368adb1e71518ebf379851829e198157785baa28de0e247caf28d460e12b0ae561f8724fb18185de5499c9afc12b7e169a04df9b165dae2145b535da2fb35fec91f9ebb2be0b24b9fd5e2a94760109a1fad4f9912bb54920ea808db667";
    const RSA_MAXSALT_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA79MXDM1aTIbg98079TRt\n0MIGPylB5rxr0MhwQgGpglxckA2Z+ATHTO+sg5a1J13pVlynqhbFBkSBrU5SQVOA\nuIkrmlE8CFwkOpL/7BgL4Kkk0q3TeU9CA6pL5sUspOZ4xWPtdcXDByN+4XvhJMlu\nUBwAiZa8mGl0HX+MxnSN80sFPzcsz/+m1BJkMuRJa3dekhnLeC2XOGTW4P13h91G\nqPTrIYGjz53G9nTvs06RCTga/ivZ3mC3Hza1+Mezx+ouWJ0vwQ1SvY+cz8bl+juS\nLsYbe6xYK8PLnBic7ZyTrSBWx06rLJJQx2u4iIZKpeTjxkXDTzzIeT7E36UBOtdl\nuwIDAQAB\n-----END PUBLIC KEY-----\n";
    const RSA_MAXSALT_SIG: &str = "ee14cf8ea72563c39f511605322243378b554c97d9d2f249cfd39741b746c3941e400703c589de8fd6c7c642a3b0f69aaad5e9b212699e06d3425d19ae326a3098c1a6a177e4093b341d5bbe3c1ea2c6fd51c1067cd1b7ccdc9f0b3e9482c2392d772bd9e3a26e27ac204a4f36b990c4dbf5f949b55ec97eeffcc5c4e0aeec0c330f3041289d226ac7eb9ba1271413deaf5c2639165aff3dfe37b3fbd24c98e7e935c57a75ab7582c1912835953d7ef4bbb959cf469ad2908638b5ed0219a82ac46665d9228b38278ed5004b6a7ce3ea70dec873df7215f10f15986f623f8c2c10e3ff6185f4d5c0ab537f3ed6eb2ff456bc1554338d46e88c93309602c3d17d";
    const RSA1024_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCluobm3s/tEqZtBabbT3lSNMNh\nSb5xPU4FPJq4lvPFVzTHdkfyxvAwDBRLW9bpe8nH2AYKj3zwdg3Lucnex07cqFYZ\nenRw8AhrQoOTWnzyko+dOTaFlNFWbioE58b0PK/YdJMaTX6FXbpTQf4pRZj7KlDC\nzbWbMgl2//UEwRJ0rQIDAQAB\n-----END PUBLIC KEY-----\n";
    const RSA1024_SIG: &str = "55bcbd79037ec70c69a38922572f02d15ed0ddfe375b43ed4482266613dec93d4bf47f285a96eb81fcfb48f5a73ca5aff1f7e51abcc35f7576131ab9ce16fcf7fac97cd1b81ded44fb01b7b3125544069aece6e5073dc0a7bff62af23d95b38b93b7683b34c539b5ba9f0be50b7cdd93bc016d6aeca1d90168d28572fb87685d";
    const MSG: &[u8] = br#"{"_type":"root","version":1}"#;

    fn key(keytype: &str, scheme: &str, public: &str) -> Key {
        Key {
            keytype: keytype.into(),
            scheme: scheme.into(),
            keyval: KeyVal {
                public: public.into(),
            },
        }
    }

    #[test]
    fn every_spec_key_type_verifies_and_rejects() {
        let cases = [
            ("ecdsa", "ecdsa-sha2-nistp256", P256_PEM, P256_SIG),
            (
                "ecdsa-sha2-nistp256",
                "ecdsa-sha2-nistp256",
                P256_PEM,
                P256_SIG,
            ),
            ("ecdsa", "ecdsa-sha2-nistp384", P384_PEM, P384_SIG),
            ("rsa", "rsassa-pss-sha256", RSA_PEM, RSA_SIG),
            ("rsa", "rsassa-pss-sha256", RSA_MAXSALT_PEM, RSA_MAXSALT_SIG),
        ];
        for (keytype, scheme, public, sig) in cases {
            let k = key(keytype, scheme, public);
            assert!(verify_one(&k, MSG, sig), "{keytype}/{scheme}");
            assert!(!verify_one(&k, b"other message", sig), "{keytype}/{scheme}");
            let mut flipped = sig.to_string();
            let last = if flipped.ends_with('0') { "1" } else { "0" };
            flipped.replace_range(flipped.len() - 1.., last);
            assert!(!verify_one(&k, MSG, &flipped), "{keytype}/{scheme}");
        }
    }

    #[test]
    fn mismatched_or_weak_keys_never_verify() {
        // A P-256 key claimed as P-384, an RSA key under an ECDSA scheme, PKCS#1 v1.5.
        assert!(!verify_one(
            &key("ecdsa", "ecdsa-sha2-nistp384", P256_PEM),
            MSG,
            P256_SIG
        ));
        assert!(!verify_one(
            &key("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp256", P256_PEM),
            MSG,
            P256_SIG
        ));
        assert!(!verify_one(
            &key("ecdsa", "ecdsa-sha2-nistp256", RSA_PEM),
            MSG,
            RSA_SIG
        ));
        assert!(!verify_one(
            &key("rsa", "rsa-pkcs1v15-sha256", RSA_PEM),
            MSG,
            RSA_SIG
        ));
        // RSA below 2048 bits is refused even with a valid signature.
        assert!(!verify_one(
            &key("rsa", "rsassa-pss-sha256", RSA1024_PEM),
            MSG,
            RSA1024_SIG
        ));
        assert!(!verify_one(&key("ed25519", "ed25519", "zz"), MSG, "00"));
        assert!(!verify_one(
            &key("rsa", "rsassa-pss-sha256", "not pem"),
            MSG,
            RSA_SIG
        ));
    }
}
