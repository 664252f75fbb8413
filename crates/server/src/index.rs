//! One published version, verified whole before it is served: an immutable map from request
//! path to verified bytes. Built by our own verifier against the pinned root (refresh, every
//! delegated role, then every target's length and hashes); nothing else in the repository
//! directory is ever read into it.

use crate::vendor;
use bytes::Bytes;
use hookswitch_atomicfile::{read_regular, ReadError};
use hookswitch_trust::client::{Persist, Request};
use hookswitch_trust::{driver, Client};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

/// What a request path names; for metrics and for the plain-HTTP listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Metadata,
    Target,
    /// A per-device config target under its TUF path.
    Config,
    /// A file under the name a vendor's phone requests.
    Vendor,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Metadata, Kind::Target, Kind::Config, Kind::Vendor];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Metadata => "metadata",
            Kind::Target => "target",
            Kind::Config => "config",
            Kind::Vendor => "vendor",
        }
    }
}

/// Who may fetch a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Only this device (a config target, or its vendor name).
    Device(String),
    /// Under `config/` but naming no device: served to nobody.
    Nobody,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub bytes: Bytes,
    pub kind: Kind,
    pub access: Access,
}

/// The versions of the metadata being served, and when each role expires (Unix seconds;
/// the hashed bins as one line, their earliest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    pub root: u64,
    pub timestamp: u64,
    pub snapshot: u64,
    pub expires: BTreeMap<String, i64>,
}

#[derive(Debug, Default)]
pub struct Index {
    current: HashMap<String, Entry>,
    /// The previous version's consistent-snapshot files, so a client in the middle of a
    /// refresh never meets a 404.
    previous: HashMap<String, Entry>,
    version: Version,
    timestamp: Bytes,
    /// The signed length and hashes each of `current`'s targets was verified against: a
    /// later version listing the same file with the same hashes reuses the bytes.
    verified: HashMap<String, (u64, BTreeMap<String, String>)>,
    /// Each role's version as this version's snapshot lists it: a later version may not
    /// list an older one (TUF 5.5.5).
    role_versions: BTreeMap<String, u64>,
    /// The timestamp and snapshot key IDs of the root this version was verified under.
    online_keys: Vec<Vec<String>>,
}

const TIMESTAMP: &str = "metadata/timestamp.json";

impl Index {
    /// The file a request path (without the leading `/`) names in this version.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.current.get(path).or_else(|| self.previous.get(path))
    }

    pub fn version(&self) -> &Version {
        &self.version
    }

    /// The `timestamp.json` this version was loaded from.
    pub fn timestamp_bytes(&self) -> &[u8] {
        &self.timestamp
    }

    /// Load and verify the version published in `repo` (its `metadata/` and `targets/`)
    /// against `trusted_root` at time `now`. `previous`' consistent-snapshot files stay
    /// servable. Any failure fails the whole version.
    pub fn load(
        repo: &Path,
        trusted_root: &[u8],
        now: i64,
        previous: Option<&Index>,
    ) -> Result<Index, String> {
        let mut client = Client::new(trusted_root, now).map_err(|e| format!("--root: {e}"))?;
        let metadata_dir = repo.join("metadata");
        let served: RefCell<HashMap<String, Entry>> = RefCell::new(HashMap::new());
        let pinned = format!("{}.root.json", client.root().version);
        let on_disk = read_file(&metadata_dir.join(&pinned), trusted_root.len() as u64);
        if on_disk.ok().flatten().as_deref() == Some(trusted_root) {
            served
                .borrow_mut()
                .insert(format!("metadata/{pinned}"), metadata(trusted_root));
        }
        let last_name = RefCell::new(String::new());
        let mut fetch = |req: &Request| -> Result<Option<Vec<u8>>, String> {
            let name = safe_name(&req.name)?;
            last_name.replace(name.to_string());
            read_file(&metadata_dir.join(name), req.max_len)
        };
        // Each file the verifier accepts is served under the name it was fetched by.
        let mut save = |p: &Persist| -> Result<(), String> {
            served.borrow_mut().insert(
                format!("metadata/{}", last_name.borrow()),
                metadata(&p.bytes),
            );
            Ok(())
        };
        driver::refresh_storing(&mut client, &mut fetch, &mut save).map_err(|e| e.to_string())?;

        let mut expires = BTreeMap::new();
        let mut expiry = |label: &str, at: &str| {
            let t = hookswitch_trust::time::parse(at).unwrap_or(0);
            let e = expires.entry(label.to_string()).or_insert(t);
            *e = (*e).min(t);
        };
        expiry("root", &client.root().expires);
        let (ts, snap) = match (client.timestamp(), client.snapshot()) {
            (Some(t), Some(s)) => (t.clone(), s.clone()),
            _ => return Err("refresh ended without timestamp and snapshot".into()),
        };
        expiry("timestamp", &ts.expires);
        expiry("snapshot", &snap.expires);
        let role_versions: BTreeMap<String, u64> = snap
            .meta
            .iter()
            .map(|(k, m)| (k.clone(), m.version))
            .collect();
        // Each load starts from the pinned root, so the rollback checks (TUF 5.4.3, 5.5.5)
        // against the version being served are made here.
        let online_keys = online_keys(client.root());
        // Rotated online keys void the old versions (TUF 5.3.11: recovery from a
        // fast-forward attack), as the client deletes its trusted timestamp and snapshot.
        if let Some(p) = previous.filter(|p| p.online_keys == online_keys) {
            refuse_rollback(p, ts.version, snap.version, &role_versions)?;
        }

        // Every delegated role, breadth first; each must verify.
        let mut queue = VecDeque::from([("targets".to_string(), "root".to_string(), None)]);
        let mut seen = BTreeSet::new();
        let max_steps = 4 * snap.meta.len() + 4;
        while let Some((role, delegator, bins)) = queue.pop_front() {
            if !seen.insert((role.clone(), delegator.clone())) {
                continue;
            }
            if seen.len() > max_steps {
                return Err("the delegation graph is larger than the snapshot allows".into());
            }
            if let Some(req) = client
                .prepare_targets(&role, &delegator)
                .map_err(|e| e.to_string())?
            {
                let bytes =
                    fetch(&req)?.ok_or_else(|| format!("metadata/{}: missing", req.name))?;
                client
                    .update_targets(&role, &delegator, &bytes)
                    .map_err(|e| e.to_string())?;
                save(&Persist {
                    role: role.clone(),
                    bytes,
                })?;
            }
            let targets = client
                .targets(&role)
                .ok_or_else(|| format!("{role} is not trusted"))?;
            expiry(bins.as_deref().unwrap_or(&role), &targets.expires);
            if let Some(d) = &targets.delegations {
                for r in d.roles.iter().flatten() {
                    queue.push_back((r.name.clone(), role.clone(), None));
                }
                if let Some(s) = &d.succinct_roles {
                    for bin in 0..s.bins() {
                        let label = Some(format!("{}-*", s.name_prefix));
                        queue.push_back((s.bin_name(bin), role.clone(), label));
                    }
                }
            }
        }

        // Every target, as its authoritative role lists it, verified before it is served.
        let paths: BTreeSet<String> = seen
            .iter()
            .filter_map(|(role, _)| client.targets(role))
            .flat_map(|t| t.targets.keys().cloned())
            .collect();
        let targets_dir = repo.join("targets");
        let mut all_loaded = |_: &Request| Err("every role is already loaded".to_string());
        let mut vendor_names: HashMap<String, Entry> = HashMap::new();
        let mut verified = HashMap::new();
        for path in paths {
            let Some(info) =
                driver::find_target(&mut client, &path, &mut all_loaded, &mut driver::discard)
                    .map_err(|e| format!("{path}: {e}"))?
            else {
                continue;
            };
            let name = client.target_request(&path, &info).name;
            let Ok(name) = safe_name(&name) else {
                tracing::warn!(target_path = %path, "not served: the path leaves targets/");
                continue;
            };
            let key = format!("targets/{name}");
            let signed = (info.length, info.hashes.clone());
            let reused = previous
                .filter(|p| p.verified.get(&key) == Some(&signed))
                .and_then(|p| p.current.get(&key))
                .map(|e| e.bytes.clone());
            let bytes = match reused {
                Some(b) => b,
                None => {
                    let file = targets_dir.join(name);
                    let bytes = read_file(&file, info.length)?
                        .ok_or_else(|| format!("{}: missing", file.display()))?;
                    client
                        .verify_target(&path, &info, &bytes)
                        .map_err(|e| format!("{}: {e}", file.display()))?;
                    Bytes::from(bytes)
                }
            };
            verified.insert(key.clone(), signed);
            let custom = info.custom.as_ref();
            let device_field = custom.and_then(|c| c.get("device_id"));
            let device = device_field.and_then(|d| d.as_str());
            // A config, or anything naming a device, is never public.
            let private = device_field.is_some() || path.starts_with("config/");
            let (kind, access) = match device {
                Some(id) => (Kind::Config, Access::Device(id.to_string())),
                None if private => (Kind::Config, Access::Nobody),
                None => (Kind::Target, Access::Public),
            };
            let vendor_name = match device {
                Some(id) => {
                    let hw = custom
                        .and_then(|c| c.get("hardware"))
                        .and_then(|h| h.as_str())
                        .unwrap_or("");
                    vendor::config_path(id, hw)
                }
                None if access == Access::Public => vendor::public_path(&path).map(str::to_string),
                None => None,
            };
            if let Some(v) = vendor_name {
                let entry = Entry {
                    bytes: bytes.clone(),
                    kind: Kind::Vendor,
                    access: access.clone(),
                };
                if vendor_names.insert(v.clone(), entry).is_some() {
                    tracing::warn!(vendor_path = %v, "two targets map to one vendor name; neither is served under it");
                    vendor_names.insert(
                        v,
                        Entry {
                            bytes: Bytes::new(),
                            kind: Kind::Vendor,
                            access: Access::Nobody,
                        },
                    );
                }
            }
            served.borrow_mut().insert(
                key,
                Entry {
                    bytes,
                    kind,
                    access,
                },
            );
        }
        let mut current = served.into_inner();
        current.extend(vendor_names);
        let timestamp = current
            .get(TIMESTAMP)
            .map(|e| e.bytes.clone())
            .ok_or("timestamp.json did not verify")?;
        let previous = previous
            .map(|p| {
                p.current
                    .iter()
                    .filter(|(k, _)| {
                        (k.starts_with("metadata/") || k.starts_with("targets/"))
                            && *k != TIMESTAMP
                            && !current.contains_key(*k)
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Index {
            current,
            previous,
            version: Version {
                root: client.root().version,
                timestamp: ts.version,
                snapshot: snap.version,
                expires,
            },
            timestamp,
            verified,
            role_versions,
            online_keys,
        })
    }
}

fn online_keys(root: &hookswitch_trust::metadata::Root) -> Vec<Vec<String>> {
    ["timestamp", "snapshot"]
        .iter()
        .map(|role| {
            let mut ids = root
                .roles
                .get(*role)
                .map(|r| r.keyids.clone())
                .unwrap_or_default();
            ids.sort();
            ids
        })
        .collect()
}

/// A new version older than the one served, in any role, is a rollback.
fn refuse_rollback(
    served: &Index,
    timestamp: u64,
    snapshot: u64,
    role_versions: &BTreeMap<String, u64>,
) -> Result<(), String> {
    let older = |role: &str, got: u64, trusted: u64| {
        Err(format!(
            "rollback: {role} version {got} is older than the {trusted} being served"
        ))
    };
    if timestamp < served.version.timestamp {
        return older("timestamp", timestamp, served.version.timestamp);
    }
    if snapshot < served.version.snapshot {
        return older("snapshot", snapshot, served.version.snapshot);
    }
    for (role, &trusted) in &served.role_versions {
        match role_versions.get(role) {
            Some(&got) if got < trusted => return older(role, got, trusted),
            Some(_) => {}
            None => return Err(format!("rollback: {role} is no longer in the snapshot")),
        }
    }
    Ok(())
}

fn metadata(bytes: &[u8]) -> Entry {
    Entry {
        bytes: Bytes::copy_from_slice(bytes),
        kind: Kind::Metadata,
        access: Access::Public,
    }
}

/// A relative path of plain parts (no empty part, `.`, `..`, `\` or NUL): a signed name can
/// never reach outside `metadata/` or `targets/`.
fn safe_name(name: &str) -> Result<&str, String> {
    let plain = name
        .split('/')
        .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\\') && !p.contains('\0'));
    if plain {
        Ok(name)
    } else {
        Err(format!("{name:?} is not a plain relative path"))
    }
}

/// A regular file of at most `max_len` bytes; None if it does not exist.
fn read_file(path: &Path, max_len: u64) -> Result<Option<Vec<u8>>, String> {
    match read_regular(path, max_len) {
        Ok(b) => Ok(Some(b)),
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_names_are_read() {
        assert!(safe_name("config/abc.001565aabbcc.cfg").is_ok());
        for bad in [
            "../x",
            "a/../b",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a\\b",
            "a\0b",
            "",
        ] {
            assert!(safe_name(bad).is_err(), "{bad:?}");
        }
    }
}
