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

/// A key file is well under 1 KiB; anything far larger is not one.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// What every version of the key file format starts with: the provisioning server refuses
/// any file that contains it.
pub const FORMAT_FAMILY: &str = "hookswitch-ed25519-key-v";

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

impl KdfCost {
    /// Upper bounds on what a key file may ask for: memory is allocated and passes run before
    /// the passphrase can be checked, so a file must not be able to ask for 4 GiB or a week.
    /// Sixteen times the default memory and passes a strong deployment might choose.
    pub const MAX_M_KIB: u32 = 1024 * 1024;
    pub const MAX_T: u32 = 10;
    pub const MAX_P: u32 = 8;

    /// Err naming the field out of range.
    pub fn check(&self) -> Result<(), String> {
        for (field, value, max) in [
            ("m_kib", self.m_kib, Self::MAX_M_KIB),
            ("t", self.t, Self::MAX_T),
            ("p", self.p, Self::MAX_P),
        ] {
            if value == 0 || value > max {
                return Err(format!("kdf {field} = {value} is outside 1..={max}"));
            }
        }
        Ok(())
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
    cost.check().map_err(KeyError::Format)?;
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

/// Create the key's directory (and any missing parents) 0700. An existing directory is
/// left exactly as it is: it may be shared (a 1777 /tmp), and its mode is not ours to change.
#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| KeyError::Io(format!("{}: {e}", dir.display())))
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

/// The role a key file says it was made for (no passphrase needed; the role is bound to the
/// ciphertext, so an edited role fails when the key is opened).
pub fn role_of(path: &Path) -> Result<String, KeyError> {
    Ok(read(path)?.role)
}

fn read(path: &Path) -> Result<KeyFile, KeyError> {
    let bytes = hookswitch_atomicfile::read_regular(path, MAX_KEY_FILE_BYTES)
        .map_err(|e| KeyError::Io(format!("{}: {e}", path.display())))?;
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
        file.kdf
            .cost
            .check()
            .map_err(|e| KeyError::Format(format!("{}: {e}", path.display())))?;
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
    fn the_format_is_one_of_the_family_the_server_refuses() {
        assert!(FORMAT.starts_with(FORMAT_FAMILY));
    }

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

    #[cfg(unix)]
    #[test]
    fn an_existing_directory_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        generate(
            &shared.join("k.key"),
            "root",
            b"correct horse battery",
            FAST,
        )
        .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&shared), 0o1777, "sticky bit and mode untouched");
        assert_eq!(mode(&shared.join("k.key")), 0o600);
        // Directories it creates itself are 0700, every level.
        generate(
            &shared.join("a/b/k.key"),
            "root",
            b"correct horse battery",
            FAST,
        )
        .unwrap();
        assert_eq!(mode(&shared.join("a")), 0o700);
        assert_eq!(mode(&shared.join("a/b")), 0o700);
    }

    #[test]
    fn kdf_costs_from_a_file_are_bounded_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.key");
        generate(&p, "targets", b"correct horse battery", FAST).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        // 4 GiB of memory (the process aborted), and passes that would run for days.
        for (field, value) in [("m_kib", 4u64 * 1024 * 1024), ("t", 1_000_000), ("p", 255)] {
            let mut bad = v.clone();
            bad["kdf"][field] = value.into();
            let q = dir.path().join(format!("{field}.key"));
            std::fs::write(&q, serde_json::to_vec(&bad).unwrap()).unwrap();
            let start = std::time::Instant::now();
            let e = FileSigner::open(&q, b"correct horse battery").unwrap_err();
            assert!(matches!(e, KeyError::Format(_)), "{e}");
            let text = e.to_string();
            assert!(
                text.contains(&format!("{field}.key")) && text.contains(field),
                "{text}"
            );
            assert!(start.elapsed() < std::time::Duration::from_secs(2));
        }
        // Generating with such a cost is refused too.
        let huge = KdfCost {
            m_kib: 4 * 1024 * 1024,
            t: 1,
            p: 1,
        };
        assert!(generate(
            &dir.path().join("g.key"),
            "root",
            b"correct horse battery",
            huge
        )
        .is_err());
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
