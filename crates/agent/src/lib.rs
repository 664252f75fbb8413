//! The endpoint agent's library half: its files (`store`, typed, failing closed), where
//! downloaded targets go (`targets`), and the three operations of the binary (`init`,
//! `refresh`, `download`) over the sans-IO verifier. The binary only parses flags and prints.
//! A fleet simulator or an embedded agent uses the same functions with its own transport.

pub mod store;
pub mod targets;

use hookswitch_trust::client::{check_config_target, Device, Request};
use hookswitch_trust::driver;
use hookswitch_trust::metadata::TargetFile;
use hookswitch_trust::Client;
use std::path::{Path, PathBuf};
pub use store::Store;

/// Why the agent stopped. Each names the file, target or peer concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing one of the agent's own files (or a target) failed.
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    /// One of the agent's own state files exists but cannot be trusted: fail closed.
    #[error("{}: {reason} (the agent's state is damaged: re-enroll with `hookswitch-agent init`)", path.display())]
    DamagedState { path: PathBuf, reason: String },
    /// The trust chain refused something (signatures, versions, expiry, hashes, …).
    #[error(transparent)]
    Trust(#[from] hookswitch_trust::client::Error),
    /// The transport failed (connection, TLS, status, timeout).
    #[error("{0}")]
    Transport(String),
    #[error("target {0} is not in the repository")]
    UnknownTarget(String),
    #[error(transparent)]
    Clock(#[from] hookswitch_clock::ClockError),
}

impl Error {
    /// A file error on one of our own state files: the state is damaged.
    pub(crate) fn into_damaged(self) -> Error {
        match self {
            Error::File { path, reason } => Error::DamagedState { path, reason },
            e => e,
        }
    }

    pub(crate) fn file(path: &Path, reason: impl std::fmt::Display) -> Error {
        Error::File {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// What `init` trusted.
pub struct Enrolled {
    pub root_version: u64,
    pub device_id: Option<String>,
}

/// Store the trusted root (a root.json or an enrollment) and the device identity. The root
/// must carry its own threshold of signatures: no trust on first use.
pub fn init(store: &Store, trusted_root: &Path, now: i64) -> Result<Enrolled, Error> {
    let file = std::fs::read(trusted_root).map_err(|e| Error::file(trusted_root, e))?;
    let enrollment =
        hookswitch_trust::enrollment::parse(&file).map_err(|e| Error::file(trusted_root, e))?;
    let client = Client::new(&enrollment.root, now).map_err(|e| Error::file(trusted_root, e))?;
    store.init(&enrollment.root, enrollment.device_id.as_deref())?;
    Ok(Enrolled {
        root_version: client.root().version,
        device_id: enrollment.device_id,
    })
}

/// A blocking transport: fetch a metadata file or a target by URL.
pub trait Transport {
    /// `Ok(None)`: the server has no such file.
    fn get(&self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, String>;
    /// Stream a body to `sink`; `Ok(false)`: the server has no such file.
    fn get_stream(
        &self,
        url: &str,
        max_len: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<bool, String>;
}

impl Transport for hookswitch_http::Client {
    fn get(&self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, String> {
        hookswitch_http::Client::get(self, url, max_len).map_err(String::from)
    }
    fn get_stream(
        &self,
        url: &str,
        max_len: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<bool, String> {
        hookswitch_http::Client::get_stream(self, url, max_len, sink).map_err(String::from)
    }
}

pub(crate) fn join_url(base: &str, name: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), name)
}

/// A refreshed agent: trusted metadata in memory and on disk.
pub struct Session<'a, T: Transport> {
    pub client: Client,
    store: &'a Store,
    transport: &'a T,
    metadata_url: &'a str,
}

/// Run the TUF client workflow (spec 5.3–5.6), storing each file the moment it verifies.
pub fn refresh<'a, T: Transport>(
    store: &'a Store,
    transport: &'a T,
    metadata_url: &'a str,
    now: i64,
) -> Result<Session<'a, T>, Error> {
    let mut session = Session {
        client: store.client(now)?,
        store,
        transport,
        metadata_url,
    };
    let (client, mut fetch, mut save) = session.parts();
    driver::refresh_storing(client, &mut fetch, &mut save)?;
    Ok(session)
}

/// One downloaded (or already present) target.
pub struct Downloaded {
    pub name: String,
    pub info: TargetFile,
    /// The release installed, for a config target of this device.
    pub release: Option<u64>,
    pub local: PathBuf,
    /// Downloaded now (false: the local copy already verified).
    pub fresh: bool,
}

impl<'a, T: Transport> Session<'a, T> {
    #[allow(clippy::type_complexity)]
    fn parts(
        &mut self,
    ) -> (
        &mut Client,
        impl FnMut(&Request) -> Result<Option<Vec<u8>>, String> + 'a,
        impl FnMut(&hookswitch_trust::client::Persist) -> Result<(), String> + 'a,
    ) {
        let (transport, url, store) = (self.transport, self.metadata_url, self.store);
        (
            &mut self.client,
            move |req: &Request| transport.get(&join_url(url, &req.name), req.max_len),
            move |p: &hookswitch_trust::client::Persist| {
                store.persist(p).map_err(|e| e.to_string())
            },
        )
    }

    /// Look each target up (walking delegations), check a config target against this
    /// device's identity and last release, and download it into `dir` unless the local copy
    /// already verifies. Stops at the first failure; `each` sees every success in order.
    pub fn download(
        &mut self,
        names: &[String],
        target_base_url: &str,
        dir: &Path,
        device_id: Option<String>,
        each: &mut dyn FnMut(&Downloaded),
    ) -> Result<(), Error> {
        // The enrolled identity applies unless the caller names one.
        let device = match device_id {
            Some(id) => Some(id),
            None => self.store.device_id()?,
        };
        let mut releases = self.store.releases()?;
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
        let targets = targets::Targets {
            transport: self.transport,
            base: target_base_url,
            dir,
        };
        for name in names {
            let (client, mut fetch, mut save) = self.parts();
            let info = driver::find_target(client, name, &mut fetch, &mut save)?
                .ok_or_else(|| Error::UnknownTarget(name.clone()))?;
            let release = match (&device, name.starts_with("config/")) {
                (Some(id), true) => Some(check_config_target(
                    name,
                    &info,
                    &Device { id: id.clone() },
                    releases.get(name).copied(),
                )?),
                _ => None,
            };
            let (local, fresh) = targets.download(&self.client, name, &info)?;
            if let Some(r) = release {
                releases.insert(name.clone(), r);
                self.store.save_releases(&releases)?;
            }
            each(&Downloaded {
                name: name.clone(),
                info,
                release,
                local,
                fresh,
            });
        }
        Ok(())
    }
}
