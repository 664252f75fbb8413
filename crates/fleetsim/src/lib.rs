//! The fleet simulator (`hookswitch fleet-sim`): `setup` creates device identities (a test
//! CA, one ECDSA P-256 key and client certificate per device, its enrollment) and enrolls
//! them in the store; `run` boots them all at once against a server, each device a TUF
//! client of its own (`hookswitch_trust::Client`, its trusted state in memory) on a fresh
//! mutually authenticated TLS connection, verifying everything it fetches.
//!
//! An identities directory:
//!
//! ```text
//! fleet.json                 the manifest, written last: a directory without it is unfinished
//! ca.pem                     the test CA's certificate (its key is never written)
//! root.json                  the trusted root every enrollment carries
//! devices/<id>.pem           client certificate and private key (directory 0700)
//! devices/<id>.enroll.json   the device's enrollment (`hookswitch enroll`'s JSON form)
//! configs/<id>.cfg           a config to stage for the device (`repo stage --device-config`)
//! ```

pub mod report;
pub mod run;
pub mod setup;

use std::path::Path;

/// The manifest's file name and `format`.
pub const MANIFEST: &str = "fleet.json";
pub const MANIFEST_FORMAT: &str = "hookswitch-fleet-v1";
/// The most devices one setup creates.
pub const MAX_DEVICES: u64 = 1_000_000;

/// Device `n` (from 0): a locally administered MAC address (first octet 02), so vendor paths
/// (`<mac>.cfg`) work for it and it never collides with a manufacturer's address.
pub fn device_id(n: u64) -> String {
    format!("02{n:010x}")
}

/// The config target a device fetches: what `repo stage --device-config ID=configs/<id>.cfg`
/// publishes.
pub fn config_target(id: &str) -> String {
    format!("config/{id}.cfg")
}

/// What `fleet.json` records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: String,
    pub devices: u64,
    /// Root version the enrollments carry.
    pub root_version: u64,
    /// SHA-256 of the CA certificate's DER: which CA issued these identities.
    pub ca_sha256: String,
}

impl Manifest {
    /// Read a finished identities directory's manifest.
    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join(MANIFEST);
        let bytes = hookswitch_atomicfile::read_regular(&path, 1 << 16).map_err(|e| {
            format!(
                "{}: {e} (not an identities directory, or `fleet-sim setup` did not finish)",
                path.display()
            )
        })?;
        let m: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if m.format != MANIFEST_FORMAT {
            return Err(format!(
                "{}: format {:?}, expected {MANIFEST_FORMAT:?}",
                path.display(),
                m.format
            ));
        }
        if m.devices == 0 || m.devices > MAX_DEVICES {
            return Err(format!(
                "{}: devices {} (1 to {MAX_DEVICES})",
                path.display(),
                m.devices
            ));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn device_ids_are_mac_shaped_and_valid_identities() {
        assert_eq!(super::device_id(0), "020000000000");
        assert_eq!(super::device_id(99_999), "02000001869f");
        hookswitch_trust::enrollment::check_device_id(&super::device_id(999_999)).unwrap();
        hookswitch_store::Mac::parse(&super::device_id(17)).unwrap();
    }

    #[test]
    fn an_unfinished_or_foreign_directory_is_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let err = super::Manifest::read(dir.path()).unwrap_err();
        assert!(err.contains("did not finish"), "{err}");
        std::fs::write(
            dir.path().join(super::MANIFEST),
            br#"{"format":"other","devices":1,"root_version":1,"ca_sha256":""}"#,
        )
        .unwrap();
        let err = super::Manifest::read(dir.path()).unwrap_err();
        assert!(err.contains("format \"other\""), "{err}");
    }
}
