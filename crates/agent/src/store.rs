//! The agent's files. `METADATA_DIR` holds only TUF metadata under non-versioned names
//! (`root.json`, `timestamp.json`, `%2Fdelegated.json`: what a conformance harness or an
//! operator reads as the trusted state); the agent's own state lives in `METADATA_DIR/state/`.
//! Our own state files fail closed: one that cannot be read stops the agent until an
//! operator re-enrolls.

use crate::Error;
use hookswitch_trust::client::{decode_role, metadata_file_name, Limits, Persist};
use hookswitch_trust::Client;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The agent's own state, beside (not among) the metadata.
const STATE_DIR: &str = "state";
const DEVICE_FILE: &str = "device.json";
const RELEASES_FILE: &str = "releases.json";

pub struct Store {
    dir: PathBuf,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::file(path, e)
}

/// Our own state file is there but cannot be trusted.
fn damaged(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::DamagedState {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Read a regular file of at most `max` bytes; Ok(None) if it does not exist. Devices,
/// FIFOs and other non-regular files are refused, never read.
fn read_regular(path: &Path, max: u64) -> Result<Option<Vec<u8>>, Error> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, e)),
    };
    if !meta.is_file() {
        return Err(io_err(path, "not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(|e| io_err(path, e))?;
    if bytes.len() as u64 > max {
        return Err(io_err(path, format!("larger than {max} bytes")));
    }
    Ok(Some(bytes))
}

impl Store {
    pub fn new(dir: &Path) -> Store {
        Store {
            dir: dir.to_path_buf(),
        }
    }

    fn state_path(&self, name: &str) -> PathBuf {
        self.dir.join(STATE_DIR).join(name)
    }

    /// `init`: the trusted root and, from an enrollment, the device identity. A new
    /// enrollment starts the release counters afresh.
    pub fn init(&self, root: &[u8], device_id: Option<&str>) -> Result<(), Error> {
        std::fs::create_dir_all(self.dir.join(STATE_DIR)).map_err(|e| io_err(&self.dir, e))?;
        if let Some(id) = device_id {
            let doc = serde_json::json!({ "device_id": id });
            self.write(&self.state_path(DEVICE_FILE), doc.to_string().as_bytes())?;
            let _ = std::fs::remove_file(self.state_path(RELEASES_FILE));
        }
        self.write(&self.dir.join("root.json"), root)
    }

    /// Replace our own file: never through a symlink (it could point anywhere).
    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), Error> {
        refuse_symlink(path)?;
        hookswitch_atomicfile::write(path, bytes).map_err(|e| io_err(path, e))
    }

    /// Store a file that has just verified.
    pub fn persist(&self, p: &Persist) -> Result<(), Error> {
        self.write(&self.dir.join(metadata_file_name(&p.role)), &p.bytes)
    }

    /// The client over the stored state: the trusted root (which must verify), and every
    /// other stored role offered as a local copy (judged again during the refresh).
    pub fn client(&self, now: i64) -> Result<Client, Error> {
        let limits = Limits::default();
        let root_path = self.dir.join("root.json");
        let root = read_regular(&root_path, limits.root)?
            .ok_or_else(|| io_err(&root_path, "no trusted root (run init first)"))?;
        let mut client = Client::new(&root, now)
            .map_err(|e| io_err(&root_path, format!("trusted root: {e}")))?;
        let entries = std::fs::read_dir(&self.dir).map_err(|e| io_err(&self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_err(&self.dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(role) = name.strip_suffix(".json").and_then(decode_role) else {
                continue;
            };
            if role == "root" || !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            // A local copy that cannot be read is just not used: the repository has it.
            if let Ok(Some(bytes)) = read_regular(&entry.path(), limits.snapshot) {
                client.offer_cached(&role, bytes);
            }
        }
        Ok(client)
    }

    /// The enrolled device identity. Fails closed: an identity file that exists but
    /// cannot be read or parsed is an error, never "no identity".
    pub fn device_id(&self) -> Result<Option<String>, Error> {
        let path = self.state_path(DEVICE_FILE);
        let Some(bytes) = read_regular(&path, 4096).map_err(Error::into_damaged)? else {
            return Ok(None);
        };
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| damaged(&path, e))?;
        let id = v["device_id"]
            .as_str()
            .ok_or_else(|| damaged(&path, "no device_id"))?;
        hookswitch_trust::enrollment::check_device_id(id).map_err(|e| damaged(&path, e))?;
        Ok(Some(id.to_string()))
    }

    /// The release last installed per config target. Fails closed like [`Self::device_id`]:
    /// a corrupt file must not reset rollback protection.
    pub fn releases(&self) -> Result<BTreeMap<String, u64>, Error> {
        let path = self.state_path(RELEASES_FILE);
        match read_regular(&path, 16 * 1024 * 1024).map_err(Error::into_damaged)? {
            None => Ok(BTreeMap::new()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| damaged(&path, e)),
        }
    }

    pub fn save_releases(&self, releases: &BTreeMap<String, u64>) -> Result<(), Error> {
        std::fs::create_dir_all(self.dir.join(STATE_DIR)).map_err(|e| io_err(&self.dir, e))?;
        let path = self.state_path(RELEASES_FILE);
        let bytes = serde_json::to_vec(releases).map_err(|e| io_err(&path, e))?;
        self.write(&path, &bytes)
    }
}

/// Err if `path` is a symlink: the agent writes only files it owns, where it put them.
pub fn refuse_symlink(path: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(io_err(
            path,
            "is a symlink; the agent does not write through links",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_state_files_are_typed_errors_never_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        std::fs::create_dir_all(dir.path().join(STATE_DIR)).unwrap();
        // Nothing there yet: no identity, no releases.
        assert_eq!(store.device_id().unwrap(), None);
        assert!(store.releases().unwrap().is_empty());

        std::fs::write(store.state_path(DEVICE_FILE), b"{\"device_id\": 7}").unwrap();
        std::fs::write(store.state_path(RELEASES_FILE), b"{\"config/a.cfg\": ").unwrap();
        for err in [
            store.device_id().unwrap_err(),
            store.releases().unwrap_err(),
        ] {
            assert!(matches!(err, Error::DamagedState { .. }), "{err}");
            assert!(err.to_string().contains("re-enroll"), "{err}");
        }

        // A FIFO where the releases file belongs is refused, not read (it would block).
        std::fs::remove_file(store.state_path(RELEASES_FILE)).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            store.state_path(RELEASES_FILE),
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let err = store.releases().unwrap_err();
        assert!(matches!(err, Error::DamagedState { .. }), "{err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
