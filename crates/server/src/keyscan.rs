//! "It holds no key": find private key material in the repository and the server's own
//! configuration before anything is served. Looked for: our keystore's key files (any
//! version), PEM blocks whose label ends in `PRIVATE KEY` (PKCS#8, encrypted PKCS#8, PKCS#1,
//! SEC1, OpenSSH), and DER private keys (PKCS#8, encrypted PKCS#8, PKCS#1 RSA, SEC1 EC,
//! PKCS#12 bundles) starting a file (whatever follows: OpenSSL reads the key and ignores it).

use std::io::Read;
use std::path::{Path, PathBuf};

/// Byte strings that only private key files contain.
const MARKERS: [&[u8]; 2] = [
    b"PRIVATE KEY-----",
    hookswitch_keystore::FORMAT_FAMILY.as_bytes(),
];

/// Directory depth beyond which the scan refuses (a symlink loop, or a hostile tree).
const MAX_DEPTH: usize = 32;

const CHUNK: usize = 256 * 1024;

/// The first file under `dirs` (recursively, symlinks followed) or among `files` that holds
/// private key material, as an error naming it and what was found.
pub fn refuse_private_keys(dirs: &[&Path], files: &[&Path]) -> Result<(), String> {
    let mut scanned = Scanned::default();
    for dir in dirs {
        scanned.walk(dir, 0, &Scanned::default())?;
    }
    for file in files {
        scan_file(file)?;
    }
    Ok(())
}

/// What a file was when it was found clean: any write to it (or a rename over it) changes
/// its inode, size, or modification or change time (which no one can set back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// The files of a directory found clean, so the scan of the next version reads only what
/// changed (a firmware image is not read again at every publication).
#[derive(Debug, Default)]
pub struct Scanned(std::collections::HashMap<PathBuf, Stamp>);

impl Scanned {
    /// [`refuse_private_keys`] for `dir`, skipping files unchanged since `self` found them
    /// clean; the files found clean this time replace `self`.
    pub fn rescan(&mut self, dir: &Path) -> Result<(), String> {
        let mut now = Scanned::default();
        now.walk(dir, 0, self)?;
        *self = now;
        Ok(())
    }

    fn walk(&mut self, dir: &Path, depth: usize, before: &Scanned) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "{}: directories nested deeper than {MAX_DEPTH} (a symlink loop?); not served",
                dir.display()
            ));
        }
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut paths: Vec<PathBuf> = Vec::new();
        for entry in entries {
            paths.push(entry.map_err(|e| format!("{}: {e}", dir.display()))?.path());
        }
        paths.sort();
        for path in paths {
            // Symlinks are followed: what they name is served (or scanned) as if it were here.
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => self.walk(&path, depth + 1, before)?,
                Ok(m) if m.is_file() => {
                    let stamp = Stamp::of(&m);
                    if before.0.get(&path) != Some(&stamp) {
                        scan_file(&path)?;
                    }
                    self.0.insert(path, stamp);
                }
                // FIFOs, sockets, devices and dangling links hold nothing a client could get.
                _ => {}
            }
        }
        Ok(())
    }
}

/// Scan one regular file, in chunks (firmware images need not fit in memory).
pub fn scan_file(path: &Path) -> Result<(), String> {
    let at = |e: std::io::Error| format!("{}: {e}", path.display());
    let meta = std::fs::metadata(path).map_err(at)?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    let mut file = std::fs::File::open(path).map_err(at)?;
    let overlap = MARKERS.iter().map(|m| m.len()).max().unwrap_or(0) - 1;
    let mut buf = vec![0u8; CHUNK + overlap];
    let mut kept = 0;
    let mut first = true;
    loop {
        let n = file.read(&mut buf[kept..]).map_err(at)?;
        if n == 0 && !first {
            return Ok(());
        }
        let window = &buf[..kept + n];
        if first {
            first = false;
            if let Some(kind) = der_private_key(window) {
                return Err(found(path, kind));
            }
        }
        if let Some(m) = MARKERS.iter().find(|m| contains(window, m)) {
            let what = if m.starts_with(b"PRIVATE") {
                "a PEM private key block"
            } else {
                "a hookswitch key file"
            };
            return Err(found(path, what));
        }
        if n == 0 {
            return Ok(());
        }
        let keep = window.len().min(overlap);
        let start = window.len() - keep;
        buf.copy_within(start..start + keep, 0);
        kept = keep;
    }
}

fn found(path: &Path, what: &str) -> String {
    format!(
        "{}: holds {what}; the server holds no private key (the TLS key is the only one, \
         given with --tls-key, outside the repository)",
        path.display()
    )
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// One DER tag-length header: (tag, content, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, mut b) = b.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n]
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | x as usize);
        b = &b[n..];
        len
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
/// 1.2.840.113549.1.7 (PKCS#7 content types), the prefix of a PKCS#12 ContentInfo's type.
const PKCS7_OID_PREFIX: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];

/// What kind of DER private key `file` starts with, if any.
pub fn der_private_key(file: &[u8]) -> Option<&'static str> {
    let (tag, body, _) = tlv(file)?;
    if tag != SEQUENCE {
        return None;
    }
    let (t1, v1, after1) = tlv(body)?;
    let (t2, _, after2) = tlv(after1)?;
    let (t3, _, _) = tlv(after2).unwrap_or((0, &[], &[]));
    match (t1, v1, t2, t3) {
        // PKCS#8 / OneAsymmetricKey: version 0|1, AlgorithmIdentifier, OCTET STRING key.
        (INTEGER, [0 | 1], SEQUENCE, OCTET_STRING) => Some("a PKCS#8 DER private key"),
        // EncryptedPrivateKeyInfo: AlgorithmIdentifier, OCTET STRING.
        (SEQUENCE, _, OCTET_STRING, 0) if after2.is_empty() => {
            Some("an encrypted PKCS#8 DER private key")
        }
        // SEC1 ECPrivateKey: version 1, OCTET STRING key.
        (INTEGER, [1], OCTET_STRING, _) => Some("a SEC1 DER EC private key"),
        // PKCS#1 RSAPrivateKey: version 0, then modulus and seven more INTEGERs.
        (INTEGER, [0], INTEGER, INTEGER) => Some("a PKCS#1 DER RSA private key"),
        // PKCS#12 PFX: version 3, then a PKCS#7 ContentInfo (RFC 7292 4).
        (INTEGER, [3], SEQUENCE, _) => {
            let (_, content_info, _) = tlv(after1)?;
            let (t, oid, _) = tlv(content_info)?;
            (t == OID && oid.starts_with(&PKCS7_OID_PREFIX))
                .then_some("a PKCS#12 bundle (private keys inside)")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_pair_der() -> Vec<u8> {
        rcgen::KeyPair::generate().unwrap().serialize_der()
    }

    #[test]
    fn pkcs8_der_is_recognised_and_a_certificate_is_not() {
        let key = rcgen::KeyPair::generate().unwrap();
        assert_eq!(
            der_private_key(&key.serialize_der()),
            Some("a PKCS#8 DER private key")
        );
        let cert = rcgen::CertificateParams::new(vec!["x".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(der_private_key(cert.der()), None);
        assert_eq!(der_private_key(b"{\"signed\": {}}"), None);
        assert_eq!(der_private_key(&[]), None);
        assert_eq!(der_private_key(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn each_kind_of_key_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.json");
        std::fs::write(&ok, b"{\"signed\": {\"_type\": \"timestamp\"}}").unwrap();
        assert!(refuse_private_keys(&[dir.path()], &[]).is_ok());
        let pem = rcgen::KeyPair::generate().unwrap().serialize_pem();
        let cases: [(&str, Vec<u8>, &str); 3] = [
            ("tls.pem", pem.into_bytes(), "PEM private key"),
            ("key.der", key_pair_der(), "PKCS#8 DER"),
            (
                "root1.key",
                br#"{"format":"hookswitch-ed25519-key-v1","role":"root"}"#.to_vec(),
                "hookswitch key file",
            ),
        ];
        for (name, bytes, what) in cases {
            let sub = dir.path().join("staging/deep");
            std::fs::create_dir_all(&sub).unwrap();
            let path = sub.join(name);
            std::fs::write(&path, &bytes).unwrap();
            let err = refuse_private_keys(&[dir.path()], &[]).unwrap_err();
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(what), "{err}");
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn a_rescan_finds_a_key_written_into_a_file_found_clean_before() {
        let dir = tempfile::tempdir().unwrap();
        let firmware = dir.path().join("firmware.bin");
        std::fs::write(&firmware, vec![b'x'; 4096]).unwrap();
        let mut scanned = Scanned::default();
        scanned.rescan(dir.path()).unwrap();
        scanned.rescan(dir.path()).unwrap();
        // Same length, written in place.
        let mut bytes = vec![b'x'; 4096];
        bytes[100..127].copy_from_slice(b"-----BEGIN PRIVATE KEY-----");
        std::fs::write(&firmware, &bytes).unwrap();
        let err = scanned.rescan(dir.path()).unwrap_err();
        assert!(err.contains("firmware.bin"), "{err}");
        // And a new file beside it.
        std::fs::write(&firmware, vec![b'x'; 4096]).unwrap();
        scanned.rescan(dir.path()).unwrap();
        std::fs::write(dir.path().join("new.der"), key_pair_der()).unwrap();
        assert!(scanned.rescan(dir.path()).unwrap_err().contains("new.der"));
    }

    #[test]
    fn a_marker_across_a_chunk_boundary_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firmware.bin");
        let mut bytes = vec![b'x'; CHUNK + 4];
        bytes.extend_from_slice(b"-----BEGIN PRIVATE KEY-----\n");
        bytes.extend(vec![b'y'; 1000]);
        std::fs::write(&path, &bytes).unwrap();
        assert!(scan_file(&path).unwrap_err().contains("PEM private key"));
    }
}
