//! TUF 1.0 for hookswitch: consistent snapshots; Ed25519, ECDSA (P-256, P-384) and RSA-PSS
//! keys; sha256, sha384 and sha512 hashes.
//!
//! - [`metadata`]: the four top-level roles and delegated targets, as serde types.
//! - [`crypto`]: canonical JSON, key IDs, signature checks against a threshold, and the
//!   [`crypto::Signer`] trait every private key is used through.
//! - [`client`]: a sans-IO client (TUF spec section 5): it says which file to fetch and
//!   how long it may be, and judges the bytes it is given. Drivers do the IO.
//! - `repo` (feature `repo`): building and signing metadata (hashed bins for per-device
//!   config); `ceremony` (feature `ceremony`): the offline signing request format;
//!   `testkit` (feature `testkit`): an in-memory repository with all keys, for tests only.
//! - [`time`]: RFC 3339 `...Z` timestamps to Unix seconds; the caller supplies "now".
//!
//! Pure: no IO, no clock, no randomness.

#[cfg(feature = "ceremony")]
pub mod ceremony;
pub mod client;
pub mod crypto;
pub mod digest;
pub mod driver;
pub mod enrollment;
pub mod metadata;
#[cfg(any(test, feature = "repo"))]
pub mod repo;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod time;

pub use client::{Client, Error, Request};

/// The TUF specification version written into new metadata.
pub const SPEC_VERSION: &str = "1.0.31";
