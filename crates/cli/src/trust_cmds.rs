//! `hookswitch keys`, `repo`, `signer` and `enroll`: the signed-distribution commands.

use crate::output::emit;
use clap::Subcommand;
use hookswitch_keystore::{FileSigner, KdfCost};
use hookswitch_repository::{Change, InitKeys, Repository, BIN_PREFIX};
use hookswitch_trust::ceremony::Request;
use hookswitch_trust::metadata::Key;
use std::path::{Path, PathBuf};

pub const PASSPHRASE_ENV: &str = "HOOKSWITCH_KEY_PASSPHRASE";
pub const TOKEN_ENV: &str = "HOOKSWITCH_SIGNER_TOKEN";

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Generate an Ed25519 key for a role, encrypted at rest (passphrase from $HOOKSWITCH_KEY_PASSPHRASE or a prompt).
    Generate {
        /// The role the key is for; `repo init` refuses a key made for another role.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(hookswitch_repository::KEY_ROLES))]
        role: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a key file's public key (TUF JSON). Never the private key.
    Public {
        file: PathBuf,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RepoCmd {
    /// Stage a new repository: root (default 2 of 3) and every targets role, unsigned.
    Init {
        #[arg(long)]
        repo: PathBuf,
        /// Root public keys (key files or `keys public` output); give three or more.
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<PathBuf>,
        #[arg(long, default_value_t = 2)]
        root_threshold: u32,
        #[arg(long)]
        targets_key: PathBuf,
        #[arg(long)]
        firmware_key: PathBuf,
        #[arg(long)]
        apps_key: PathBuf,
        #[arg(long)]
        config_key: PathBuf,
        #[arg(long)]
        bins_key: PathBuf,
        #[arg(long)]
        snapshot_key: PathBuf,
        #[arg(long)]
        timestamp_key: PathBuf,
        /// Expected number of devices: sets the number of config bins.
        #[arg(long, default_value_t = 1000)]
        devices: u64,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Stage targets and per-device configs into a signing request.
    Stage {
        #[arg(long)]
        repo: PathBuf,
        /// PATH=FILE, e.g. firmware/T54W.rom=./T54W.rom
        #[arg(long = "target")]
        targets: Vec<String>,
        /// DEVICE_ID=FILE: published as config/<file name>, release counted up.
        #[arg(long = "device-config")]
        device_configs: Vec<String>,
        #[arg(long, default_value = "unknown")]
        hardware: String,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Sign a request with offline keys. Needs no network.
    Sign {
        #[arg(long)]
        request: PathBuf,
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
    },
    /// Stage root N+1 with new root, targets, snapshot or timestamp keys.
    Rotate {
        #[arg(long)]
        repo: PathBuf,
        #[arg(long = "root-key")]
        root_keys: Vec<PathBuf>,
        #[arg(long)]
        root_threshold: Option<u32>,
        #[arg(long)]
        targets_key: Option<PathBuf>,
        #[arg(long)]
        snapshot_key: Option<PathBuf>,
        #[arg(long)]
        timestamp_key: Option<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Say which signatures a request still needs.
    Status {
        #[arg(long)]
        request: PathBuf,
    },
    /// Check every threshold, get online signatures, and publish atomically.
    Publish {
        #[arg(long)]
        repo: PathBuf,
        /// Without a request: re-sign snapshot and timestamp only (run it before they expire).
        #[arg(long)]
        request: Option<PathBuf>,
        /// The online signer's URL (token from $HOOKSWITCH_SIGNER_TOKEN).
        #[arg(long)]
        signer: String,
        /// PEM CA certificates to trust when the signer URL is https://.
        #[arg(long)]
        signer_ca: Option<PathBuf>,
        /// The root fingerprint `repo init` and `repo sign` printed on the air-gapped host.
        /// Required for the first publication; pins a new root when given later.
        #[arg(long, value_name = "SHA256")]
        expect_root: Option<String>,
    },
}

fn passphrase(prompt: &str, confirm: bool) -> Result<Vec<u8>, String> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(p.into_bytes());
    }
    let p = rpassword::prompt_password(prompt)
        .map_err(|e| format!("passphrase: {e} (or set {PASSPHRASE_ENV})"))?;
    if confirm && rpassword::prompt_password("again: ").map_err(|e| e.to_string())? != p {
        return Err("the passphrases differ".into());
    }
    Ok(p.into_bytes())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The public key for `role` from a key file (which must have been made for that role) or
/// from `keys public` output (which does not say; a warning asks to check).
fn public_for(path: &Path, role: &str) -> Result<Key, String> {
    match hookswitch_keystore::role_of(path) {
        Ok(made_for) if made_for != role => Err(format!(
            "{}: this key was generated for the {made_for} role, not {role}; give the {role} key \
             (or make one: hookswitch keys generate --role {role})",
            path.display()
        )),
        Ok(_) => public(path),
        Err(_) => {
            let key = public(path)?;
            eprintln!(
                "note: {} is a public key without a recorded role: make sure it is the {role} key",
                path.display()
            );
            Ok(key)
        }
    }
}

/// A public key from a key file or from `keys public` output.
fn public(path: &Path) -> Result<Key, String> {
    if let Ok(k) = hookswitch_keystore::public_key(path) {
        return Ok(k);
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "{}: neither a key file nor a public key: {e}",
            path.display()
        )
    })
}

fn write_request(path: &Path, req: &Request) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(req).map_err(|e| e.to_string())?;
    hookswitch_atomicfile::write(path, &bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_request(path: &Path) -> Result<Request, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Request::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// What a request still needs, per role, and whether it is ready to publish. The config
/// bins are one line: the online signer signs them at publish (when it holds the bins key),
/// like snapshot and timestamp.
fn print_missing(req: &Request) -> Result<(), String> {
    if let Some(d) = req.root() {
        // Written down here and given to `repo publish --expect-root` on the online host.
        eprintln!(
            "root v{} fingerprint (sha256 of its signed part): {}",
            d.signed["version"],
            hookswitch_trust::ceremony::root_fingerprint(d)?
        );
    }
    let (bins, offline): (Vec<_>, Vec<_>) = req
        .missing()
        .into_iter()
        .partition(|(role, _, _)| role.starts_with(&format!("{BIN_PREFIX}-")));
    for (role, have, need) in &offline {
        eprintln!("needs offline signatures: {role} ({have} of {need})");
    }
    if let (Some(first), Some(last)) = (bins.first(), bins.last()) {
        let which = if bins.len() == 1 {
            format!("config bin {}", first.0)
        } else {
            format!("{} config bins ({}…{})", bins.len(), first.0, last.0)
        };
        eprintln!(
            "{which} unsigned: the online signer signs them at publish if it holds the bins key; \
             otherwise sign them here with it"
        );
    }
    if offline.is_empty() {
        eprintln!(
            "ready to publish: every offline signature is here; the online signer adds \
             snapshot and timestamp{} at publish",
            if bins.is_empty() {
                ""
            } else {
                " and the config bins"
            }
        );
    }
    Ok(())
}

pub fn keys(cmd: KeysCmd) -> Result<u8, String> {
    match cmd {
        KeysCmd::Generate { role, out } => {
            let pass = passphrase(&format!("passphrase for the new {role} key: "), true)?;
            let key = hookswitch_keystore::generate(&out, &role, &pass, KdfCost::default())
                .map_err(|e| e.to_string())?;
            eprintln!(
                "wrote {} (key ID {})",
                out.display(),
                hookswitch_trust::crypto::key_id(&key)
            );
            Ok(0)
        }
        KeysCmd::Public { file, output } => {
            let key = hookswitch_keystore::public_key(&file).map_err(|e| e.to_string())?;
            let text = serde_json::to_string_pretty(&key).map_err(|e| e.to_string())? + "\n";
            emit(output.as_deref(), text.as_bytes())?;
            Ok(0)
        }
    }
}

fn split_pair(s: &str) -> Result<(&str, PathBuf), String> {
    let (a, b) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME=FILE"))?;
    Ok((a, PathBuf::from(b)))
}

pub fn repo(cmd: RepoCmd) -> Result<u8, String> {
    match cmd {
        RepoCmd::Init {
            repo,
            root_keys,
            root_threshold,
            targets_key,
            firmware_key,
            apps_key,
            config_key,
            bins_key,
            snapshot_key,
            timestamp_key,
            devices,
            output,
        } => {
            if root_keys.len() < root_threshold as usize || root_threshold == 0 {
                return Err(format!(
                    "a root threshold of {root_threshold} needs at least that many root keys"
                ));
            }
            let keys = InitKeys {
                root: root_keys
                    .iter()
                    .map(|p| public_for(p, "root"))
                    .collect::<Result<_, _>>()?,
                root_threshold,
                targets: vec![public_for(&targets_key, "targets")?],
                firmware: vec![public_for(&firmware_key, "firmware")?],
                apps: vec![public_for(&apps_key, "apps")?],
                config: vec![public_for(&config_key, "config")?],
                bins: vec![public_for(&bins_key, "bins")?],
                snapshot: vec![public_for(&snapshot_key, "snapshot")?],
                timestamp: vec![public_for(&timestamp_key, "timestamp")?],
            };
            let req = Repository::open(&repo).init(&keys, devices, now())?;
            write_request(&output, &req)?;
            print_missing(&req)?;
            Ok(0)
        }
        RepoCmd::Stage {
            repo,
            targets,
            device_configs,
            hardware,
            output,
        } => {
            let mut changes = Vec::new();
            for t in &targets {
                let (path, file) = split_pair(t)?;
                let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                changes.push(Change::Target {
                    path: path.to_string(),
                    bytes,
                    custom: None,
                });
            }
            for d in &device_configs {
                let (id, file) = split_pair(d)?;
                let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                let file_name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or("config file has no name")?;
                changes.push(Change::DeviceConfig {
                    device_id: id.to_string(),
                    file_name,
                    hardware: hardware.clone(),
                    bytes,
                });
            }
            if changes.is_empty() {
                return Err("nothing to stage: give --target or --device-config".into());
            }
            let req = Repository::open(&repo).stage(changes, now())?;
            write_request(&output, &req)?;
            print_missing(&req)?;
            Ok(0)
        }
        RepoCmd::Sign { request, keys } => {
            let mut req = read_request(&request)?;
            for k in &keys {
                let pass = passphrase(&format!("passphrase for {}: ", k.display()), false)?;
                let signer = FileSigner::open(k, &pass).map_err(|e| e.to_string())?;
                let roles = req.sign(&signer)?;
                eprintln!(
                    "{}: signed {}",
                    k.display(),
                    if roles.is_empty() {
                        "nothing (not authorised for any role here)".to_string()
                    } else {
                        roles.join(", ")
                    }
                );
            }
            write_request(&request, &req)?;
            print_missing(&req)?;
            Ok(0)
        }
        RepoCmd::Rotate {
            repo,
            root_keys,
            root_threshold,
            targets_key,
            snapshot_key,
            timestamp_key,
            output,
        } => {
            let one = |p: &Option<PathBuf>, role: &str| -> Result<Option<Vec<Key>>, String> {
                p.as_ref()
                    .map(|p| public_for(p, role).map(|k| vec![k]))
                    .transpose()
            };
            let root = if root_keys.is_empty() {
                None
            } else {
                let keys: Vec<Key> = root_keys
                    .iter()
                    .map(|p| public_for(p, "root"))
                    .collect::<Result<_, _>>()?;
                Some((keys, root_threshold.unwrap_or(2)))
            };
            let rotation = hookswitch_repository::Rotation {
                root,
                targets: one(&targets_key, "targets")?,
                snapshot: one(&snapshot_key, "snapshot")?,
                timestamp: one(&timestamp_key, "timestamp")?,
            };
            let req = Repository::open(&repo).rotate(&rotation, now())?;
            write_request(&output, &req)?;
            print_missing(&req)?;
            Ok(0)
        }
        RepoCmd::Status { request } => {
            print_missing(&read_request(&request)?)?;
            Ok(0)
        }
        RepoCmd::Publish {
            repo,
            request,
            signer,
            signer_ca,
            expect_root,
        } => {
            let token = std::env::var(TOKEN_ENV)
                .map_err(|_| format!("set {TOKEN_ENV} to the signer's token"))?;
            let req = match &request {
                Some(r) => read_request(r)?,
                None => Request::new(Repository::open(&repo).latest_root()?.0.version),
            };
            let client = hookswitch_http::Client::new(
                signer_ca.as_deref(),
                std::time::Duration::from_secs(120),
            )?;
            let remote = hookswitch_signer::RemoteSigner {
                url: signer,
                token,
                client,
            };
            let p = Repository::open(&repo).publish(req, expect_root.as_deref(), &remote, now())?;
            if p.already_live {
                eprintln!(
                    "already published (an earlier run finished): snapshot v{}, timestamp v{}; nothing written",
                    p.snapshot_version, p.timestamp_version
                );
                return Ok(0);
            }
            eprintln!(
                "published: root v{}, snapshot v{}, timestamp v{}; {} metadata files ({} bytes), {} targets",
                p.root_version, p.snapshot_version, p.timestamp_version, p.files, p.metadata_bytes, p.targets
            );
            Ok(0)
        }
    }
}

pub fn signer(
    key_dir: &Path,
    listen: &str,
    tls: Option<hookswitch_signer::TlsFiles>,
) -> Result<u8, String> {
    let token = std::env::var(TOKEN_ENV)
        .map_err(|_| format!("set {TOKEN_ENV} (at least 32 characters)"))?;
    let pass = passphrase("passphrase for the online keys: ", false)?;
    let keys = hookswitch_signer::Keys::load(key_dir, &pass)?;
    let kinds = keys.kinds();
    let scheme = if tls.is_some() { "https" } else { "http" };
    hookswitch_signer::serve(listen, key_dir, keys, &token, tls, move |addr| {
        eprintln!(
            "signer: listening on {addr} ({scheme}) with {} keys",
            kinds.join(", ")
        );
    })?;
    Ok(0)
}

/// What is loaded onto an endpoint out of band: the trusted root and its identity.
pub fn enroll(
    repo: &Path,
    device_id: &str,
    serial: bool,
    output: Option<&Path>,
) -> Result<u8, String> {
    let (root, bytes) = Repository::open(repo).latest_root()?;
    let text = if serial {
        hookswitch_trust::enrollment::write_serial(&bytes, root.version, device_id)?
    } else {
        hookswitch_trust::enrollment::write_json(&bytes, device_id)?
    };
    emit(output, text.as_bytes())?;
    Ok(0)
}
