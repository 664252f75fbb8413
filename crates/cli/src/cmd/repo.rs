//! `hookswitch repo`: the signing ceremony (init, stage, sign, rotate, status) and publish.

use super::keys::{passphrase, public_for};
use crate::flags::{RepoCmd, TOKEN_ENV};
use hookswitch_clock::unix_now;
use hookswitch_keystore::FileSigner;
use hookswitch_repository::{Change, InitKeys, Repository, BIN_PREFIX};
use hookswitch_trust::ceremony::Request;
use hookswitch_trust::metadata::Key;
use std::path::{Path, PathBuf};

pub fn run(cmd: RepoCmd) -> Result<u8, String> {
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
            let req = Repository::open(&repo).init(&keys, devices, unix_now()?)?;
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
            let req = Repository::open(&repo).stage(changes, unix_now()?)?;
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
            let req = Repository::open(&repo).rotate(&rotation, unix_now()?)?;
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
            let p = Repository::open(&repo).publish(
                req,
                expect_root.as_deref(),
                &remote,
                unix_now()?,
            )?;
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

fn split_pair(s: &str) -> Result<(&str, PathBuf), String> {
    let (a, b) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME=FILE"))?;
    Ok((a, PathBuf::from(b)))
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
