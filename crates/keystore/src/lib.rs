//! Private keys at rest: an Ed25519 seed encrypted with XChaCha20-Poly1305 under a key
//! derived from a passphrase with Argon2id (memory-hard). Files are created 0600 in a
//! 0700 directory; the seed never leaves this crate except inside a [`FileSigner`], and
//! nothing here prints it.
//!
//! Every use goes through `hookswitch_trust::crypto::Signer`, so a PKCS#11/HSM backend
//! is another implementation of that trait and no caller changes.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hookswitch_trust::crypto::{Ed25519Signer, Signer};
use hookswitch_trust::metadata::Key;
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;

/// The file format, versioned.
const FORMAT: &str = "hookswitch-ed25519-key-v1";

/// Argon2id cost. 64 MiB and 3 passes: about a quarter second here; slows a guesser by the same.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct KdfCost {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl Default for KdfCost {
    fn default() -> Self {
        KdfCost {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    /// The role the key was made for (informational; authorisation is in root metadata).
    role: String,
    public: Key,
    kdf: Kdf,
    nonce: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    alg: String,
    salt: String,
    #[serde(flatten)]
    cost: KdfCost,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Format(String),
    /// Wrong passphrase or a modified file (the AEAD tag does not verify).
    #[error("{0}: wrong passphrase or the key file was modified")]
    Decrypt(String),
    #[error("passphrase must be at least 12 characters")]
    WeakPassphrase,
}

fn derive(passphrase: &[u8], salt: &[u8], cost: KdfCost) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let params = Params::new(cost.m_kib, cost.t, cost.p, Some(32))
        .map_err(|e| KeyError::Format(format!("argon2 parameters: {e}")))?;
    let mut out = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, salt, out.as_mut())
        .map_err(|e| KeyError::Format(format!("argon2: {e}")))?;
    Ok(out)
}

fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| KeyError::Io(format!("OS random source: {e}")))?;
    Ok(b)
}

/// Generate a key for `role`, encrypt it under `passphrase`, write it to `path` (0600,
/// never overwriting), and return its public key.
pub fn generate(
    path: &Path,
    role: &str,
    passphrase: &[u8],
    cost: KdfCost,
) -> Result<Key, KeyError> {
    if passphrase.len() < 12 {
        return Err(KeyError::WeakPassphrase);
    }
    let seed = Zeroizing::new(random::<32>()?);
    let public = Ed25519Signer::from_seed(&seed).public_key();
    let salt = random::<16>()?;
    let nonce = random::<24>()?;
    let kek = derive(passphrase, &salt, cost)?;
    let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
    // The public key and role are bound to the ciphertext as associated data.
    let aad = associated_data(role, &public);
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: seed.as_ref(),
                aad: &aad,
            },
        )
        .map_err(|_| KeyError::Format("encryption failed".into()))?;
    let file = KeyFile {
        format: FORMAT.into(),
        role: role.into(),
        public: public.clone(),
        kdf: Kdf {
            alg: "argon2id".into(),
            salt: hex::encode(salt),
            cost,
        },
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    };
    let bytes = serde_json::to_vec_pretty(&file).map_err(|e| KeyError::Format(e.to_string()))?;
    if path.exists() {
        return Err(KeyError::Io(format!(
            "{}: exists; refusing to overwrite a key",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    write_private(path, &bytes)?;
    Ok(public)
}

fn associated_data(role: &str, public: &Key) -> Vec<u8> {
    format!("{FORMAT}\n{role}\n{}", public.keyval.public).into_bytes()
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| KeyError::Io(format!("{}: {e}", dir.display())))?;
    }
    let mode = std::fs::metadata(dir)
        .map_err(|e| KeyError::Io(format!("{}: {e}", dir.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| KeyError::Io(format!("{}: {e}", dir.display())))?;
    }
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| KeyError::Io(format!("{}: {e}", path.display())))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| KeyError::Io(format!("{}: {e}", path.display())))
}

/// The public key of a key file (no passphrase needed).
pub fn public_key(path: &Path) -> Result<Key, KeyError> {
    Ok(read(path)?.public)
}

fn read(path: &Path) -> Result<KeyFile, KeyError> {
    let bytes =
        std::fs::read(path).map_err(|e| KeyError::Io(format!("{}: {e}", path.display())))?;
    let file: KeyFile = serde_json::from_slice(&bytes).map_err(|e| {
        KeyError::Format(format!(
            "{}: not a hookswitch key file: {e}",
            path.display()
        ))
    })?;
    if file.format != FORMAT {
        return Err(KeyError::Format(format!(
            "{}: unknown key format {:?}",
            path.display(),
            file.format
        )));
    }
    Ok(file)
}

/// A decrypted key, usable only through [`Signer`].
pub struct FileSigner {
    inner: Ed25519Signer,
    role: String,
}

impl FileSigner {
    /// Decrypt the key at `path`. A wrong passphrase and a tampered file fail the same way.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<FileSigner, KeyError> {
        let file = read(path)?;
        let hexerr = |what: &str| KeyError::Format(format!("{}: bad {what}", path.display()));
        let salt = hex::decode(&file.kdf.salt).map_err(|_| hexerr("salt"))?;
        let nonce = hex::decode(&file.nonce).map_err(|_| hexerr("nonce"))?;
        let ct = hex::decode(&file.ciphertext).map_err(|_| hexerr("ciphertext"))?;
        if file.kdf.alg != "argon2id" || nonce.len() != 24 {
            return Err(hexerr("kdf or nonce"));
        }
        let kek = derive(passphrase, &salt, file.kdf.cost)?;
        let cipher = XChaCha20Poly1305::new(kek.as_ref().into());
        let seed = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ct,
                        aad: &associated_data(&file.role, &file.public),
                    },
                )
                .map_err(|_| KeyError::Decrypt(path.display().to_string()))?,
        );
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            seed.as_slice()
                .try_into()
                .map_err(|_| hexerr("seed length"))?,
        );
        let inner = Ed25519Signer::from_seed(&seed);
        if inner.public_key() != file.public {
            return Err(KeyError::Decrypt(path.display().to_string()));
        }
        Ok(FileSigner {
            inner,
            role: file.role,
        })
    }

    pub fn role(&self) -> &str {
        &self.role
    }
}

impl Signer for FileSigner {
    fn public_key(&self) -> Key {
        self.inner.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.inner.sign(message)
    }
}

impl std::fmt::Debug for FileSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material.
        write!(f, "FileSigner({}, {})", self.role, self.inner.key_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfCost = KdfCost {
        m_kib: 256,
        t: 1,
        p: 1,
    };

    #[test]
    fn generate_open_sign_and_refuse_the_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys/root-1.key");
        let public = generate(&p, "root", b"correct horse battery", FAST).unwrap();
        assert_eq!(public_key(&p).unwrap(), public);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("PRIVATE"), "no plaintext key material");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                std::fs::metadata(p.parent().unwrap())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
        let s = FileSigner::open(&p, b"correct horse battery").unwrap();
        let msg = b"canonical bytes";
        let sig = s.sign(msg).unwrap();
        assert!(hookswitch_trust::crypto::verify_one(
            &public,
            msg,
            &hex::encode(sig)
        ));
        assert!(matches!(
            FileSigner::open(&p, b"wrong passphrase!!"),
            Err(KeyError::Decrypt(_))
        ));
        assert!(
            format!("{s:?}").starts_with("FileSigner(root, "),
            "Debug shows only role and key ID"
        );
        // Never overwrite a key.
        assert!(generate(&p, "root", b"correct horse battery", FAST).is_err());
        assert!(matches!(
            generate(&dir.path().join("x.key"), "root", b"short", FAST),
            Err(KeyError::WeakPassphrase)
        ));
    }

    #[test]
    fn a_tampered_file_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.key");
        generate(&p, "targets", b"correct horse battery", FAST).unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        // Claim another role: the associated data no longer matches.
        v["role"] = "root".into();
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(matches!(
            FileSigner::open(&p, b"correct horse battery"),
            Err(KeyError::Decrypt(_))
        ));
    }
}
