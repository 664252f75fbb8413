//! The hash functions TUF metadata may list (`sha256`, `sha384`, `sha512`), computed by
//! RustCrypto's sha2 (uses SHA extensions where the CPU has them) or, with the `aws-lc`
//! feature, by aws-lc's assembly (fast on CPUs without them too).

use std::collections::BTreeMap;

/// Which implementation this build hashes with.
#[cfg(feature = "aws-lc")]
pub const BACKEND: &str = "aws-lc-rs";
#[cfg(not(feature = "aws-lc"))]
pub const BACKEND: &str = "RustCrypto sha2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// The algorithm a `hashes` key names; None for any other (such a hash cannot be checked).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha384" => Some(Algorithm::Sha384),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// An incremental digest.
pub struct Hasher(Inner);

#[cfg(feature = "aws-lc")]
struct Inner(aws_lc_rs::digest::Context);

#[cfg(not(feature = "aws-lc"))]
enum Inner {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    #[cfg(feature = "aws-lc")]
    pub fn new(alg: Algorithm) -> Hasher {
        use aws_lc_rs::digest;
        let a = match alg {
            Algorithm::Sha256 => &digest::SHA256,
            Algorithm::Sha384 => &digest::SHA384,
            Algorithm::Sha512 => &digest::SHA512,
        };
        Hasher(Inner(digest::Context::new(a)))
    }

    #[cfg(not(feature = "aws-lc"))]
    pub fn new(alg: Algorithm) -> Hasher {
        use sha2::Digest;
        Hasher(match alg {
            Algorithm::Sha256 => Inner::Sha256(sha2::Sha256::new()),
            Algorithm::Sha384 => Inner::Sha384(sha2::Sha384::new()),
            Algorithm::Sha512 => Inner::Sha512(sha2::Sha512::new()),
        })
    }

    pub fn update(&mut self, bytes: &[u8]) {
        #[cfg(feature = "aws-lc")]
        self.0 .0.update(bytes);
        #[cfg(not(feature = "aws-lc"))]
        {
            use sha2::Digest;
            match &mut self.0 {
                Inner::Sha256(h) => h.update(bytes),
                Inner::Sha384(h) => h.update(bytes),
                Inner::Sha512(h) => h.update(bytes),
            }
        }
    }

    pub fn finish(self) -> Vec<u8> {
        #[cfg(feature = "aws-lc")]
        return self.0 .0.finish().as_ref().to_vec();
        #[cfg(not(feature = "aws-lc"))]
        {
            use sha2::Digest;
            match self.0 {
                Inner::Sha256(h) => h.finalize().to_vec(),
                Inner::Sha384(h) => h.finalize().to_vec(),
                Inner::Sha512(h) => h.finalize().to_vec(),
            }
        }
    }
}

pub fn digest(alg: Algorithm, bytes: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(alg);
    h.update(bytes);
    h.finish()
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest(Algorithm::Sha256, bytes));
    out
}

/// Checks data against every hash a `hashes` object lists, as it streams in. Every listed
/// hash must match, and a listed algorithm this build cannot compute is a mismatch (a hash
/// that cannot be checked must not be taken as checked).
pub struct HashCheck {
    expected: Vec<(String, Vec<u8>, Hasher)>,
    unusable: Option<String>,
}

impl HashCheck {
    /// Err(reason) when `hashes` is empty.
    pub fn new(hashes: &BTreeMap<String, String>) -> Result<HashCheck, String> {
        if hashes.is_empty() {
            return Err("no hashes".into());
        }
        let mut expected = Vec::new();
        let mut unusable = None;
        for (name, value) in hashes {
            match (Algorithm::from_name(name), hex::decode(value)) {
                (Some(alg), Ok(bytes)) => expected.push((name.clone(), bytes, Hasher::new(alg))),
                (None, _) => {
                    unusable.get_or_insert(format!("unsupported hash algorithm {name:?}"));
                }
                (_, Err(_)) => {
                    unusable.get_or_insert(format!("{name} is not hex"));
                }
            }
        }
        Ok(HashCheck { expected, unusable })
    }

    pub fn update(&mut self, chunk: &[u8]) {
        for (_, _, h) in &mut self.expected {
            h.update(chunk);
        }
    }

    /// Ok when every listed hash matched.
    pub fn finish(self) -> Result<(), String> {
        if let Some(reason) = self.unusable {
            return Err(reason);
        }
        for (name, want, h) in self.expected {
            if h.finish() != want {
                return Err(format!("{name} does not match"));
            }
        }
        Ok(())
    }
}

/// One-shot [`HashCheck`].
pub fn check(hashes: &BTreeMap<String, String>, bytes: &[u8]) -> Result<(), String> {
    let mut c = HashCheck::new(hashes)?;
    c.update(bytes);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn known_answers() {
        assert_eq!(
            hex::encode(digest(Algorithm::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(digest(Algorithm::Sha512, b"abc")),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(
            hex::encode(digest(Algorithm::Sha384, b"abc")),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
    }

    #[test]
    fn every_listed_hash_must_match() {
        let s256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let s512 = hex::encode(digest(Algorithm::Sha512, b"abc"));
        assert!(check(&map(&[("sha512", &s512)]), b"abc").is_ok());
        assert!(check(&map(&[("sha256", s256), ("sha512", &s512)]), b"abc").is_ok());
        let bad512 = hex::encode(digest(Algorithm::Sha512, b"abd"));
        assert!(check(&map(&[("sha256", s256), ("sha512", &bad512)]), b"abc").is_err());
        assert!(check(&map(&[("sha256", s256), ("md5", "00")]), b"abc").is_err());
        assert!(check(&map(&[("sha256", "zz")]), b"abc").is_err());
        assert!(check(&BTreeMap::new(), b"abc").is_err());
    }
}
