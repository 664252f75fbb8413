//! `fleet-sim setup`: a test CA, one key and client certificate per device (subject CN = the
//! device ID, the server's default `--client-ca` rule), its enrollment, and its entry in the
//! store (device + certificate fingerprint), in batches: keys are generated in parallel, each
//! batch's files are written with one pass of fsyncs and enrolled in one transaction.

use crate::{config_target, device_id, Manifest, MANIFEST, MANIFEST_FORMAT, MAX_DEVICES};
use hookswitch_store::{CertFingerprint, NewDevice, Store};
use rayon::prelude::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Devices generated, written and enrolled per batch.
const BATCH: u64 = 2_000;
/// The store's vendor and model for a simulated device.
pub const VENDOR: &str = "fleet-sim";
pub const MODEL: &str = "simulated";

pub struct Options<'a> {
    pub out: &'a Path,
    pub devices: u64,
    /// The repository whose latest root the enrollments carry.
    pub repo: &'a Path,
}

#[derive(Debug)]
pub struct Summary {
    pub devices: u64,
    pub seconds: f64,
}

/// One device's files and its store entry.
struct Identity {
    files: Vec<(PathBuf, Vec<u8>)>,
    entry: (NewDevice, Vec<CertFingerprint>),
}

/// Create the identities under `out` (which must be new or empty) and enroll them in `store`.
/// `progress` is told how many devices are done after each batch.
pub async fn setup(
    opts: &Options<'_>,
    store: &Store,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary, String> {
    let started = Instant::now();
    if opts.devices == 0 || opts.devices > MAX_DEVICES {
        return Err(format!("--devices {}: 1 to {MAX_DEVICES}", opts.devices));
    }
    refuse_used_dir(opts.out)?;
    let (root, root_bytes) = hookswitch_repository::Repository::open(opts.repo).latest_root()?;
    // An enrollment nobody could start from is refused here, not at every device.
    hookswitch_trust::Client::new(&root_bytes, hookswitch_clock::unix_now()?)
        .map_err(|e| format!("{}: latest root: {e}", opts.repo.display()))?;

    let ca_key = KeyPair::generate().map_err(|e| format!("CA key: {e}"))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "hookswitch fleet-sim test CA");
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| format!("CA certificate: {e}"))?;
    let issuer = Arc::new(Issuer::new(ca_params, ca_key));

    let devices_dir = opts.out.join("devices");
    for dir in [opts.out, &devices_dir, &opts.out.join("configs")] {
        create_dir(dir)?;
    }
    hookswitch_atomicfile::write(&opts.out.join("ca.pem"), ca_cert.pem().as_bytes())
        .map_err(|e| format!("{}: {e}", opts.out.join("ca.pem").display()))?;
    hookswitch_atomicfile::write(&opts.out.join("root.json"), &root_bytes)
        .map_err(|e| format!("{}: {e}", opts.out.join("root.json").display()))?;

    let root_bytes = Arc::new(root_bytes);
    let mut start = 0;
    while start < opts.devices {
        let end = (start + BATCH).min(opts.devices);
        let (issuer, root, out) = (issuer.clone(), root_bytes.clone(), opts.out.to_path_buf());
        let identities = tokio::task::spawn_blocking(move || {
            let made: Vec<Identity> = (start..end)
                .into_par_iter()
                .map(|n| identity(&out, n, &issuer, &root))
                .collect::<Result<_, String>>()?;
            let files: Vec<(PathBuf, &[u8])> = made
                .iter()
                .flat_map(|i| i.files.iter().map(|(p, b)| (p.clone(), b.as_slice())))
                .collect();
            hookswitch_atomicfile::write_batch(&files).map_err(|e| e.to_string())?;
            Ok::<_, String>(made)
        })
        .await
        .map_err(|e| e.to_string())??;
        let entries: Vec<(NewDevice, Vec<CertFingerprint>)> =
            identities.into_iter().map(|i| i.entry).collect();
        store.add_devices(&entries).await.map_err(|e| {
            format!(
                "enrolling devices {}..{}: {e}",
                device_id(start),
                device_id(end - 1)
            )
        })?;
        progress(end);
        start = end;
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        devices: opts.devices,
        root_version: root.version,
        ca_sha256: CertFingerprint::of_der(ca_cert.der()).to_hex(),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    hookswitch_atomicfile::write(&opts.out.join(MANIFEST), &json)
        .map_err(|e| format!("{}: {e}", opts.out.join(MANIFEST).display()))?;
    Ok(Summary {
        devices: opts.devices,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A second setup never mixes its identities with a first one's (finished or not).
fn refuse_used_dir(out: &Path) -> Result<(), String> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(format!(
                "{}: not empty{}; give a new directory (identities of two setups are never mixed)",
                out.display(),
                if out.join(MANIFEST).exists() {
                    " (a fleet is already set up there)"
                } else {
                    " (an unfinished setup, or other files)"
                }
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", out.display())),
    }
}

/// Create a directory only its owner can enter (it holds private keys).
fn create_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true).mode(0o700);
    b.create(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

fn identity(
    out: &Path,
    n: u64,
    issuer: &Issuer<'_, KeyPair>,
    root: &[u8],
) -> Result<Identity, String> {
    let id = device_id(n);
    let at = |e: String| format!("device {id}: {e}");
    let key = KeyPair::generate().map_err(|e| at(e.to_string()))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| at(e.to_string()))?;
    params
        .distinguished_name
        .push(DnType::CommonName, id.clone());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(|e| at(e.to_string()))?;
    let pem = format!("{}{}", cert.pem(), key.serialize_pem());
    let enrollment = hookswitch_trust::enrollment::write_json(root, &id).map_err(at)?;
    let config = format!(
        "# fleet-sim device {id} ({})\nstatic.wifi.enable = 0\nstatic.wui.http_enable = 0\n",
        config_target(&id)
    );
    let entry = (
        NewDevice::new(&id, VENDOR, MODEL, Some(&id)).map_err(|e| at(e.to_string()))?,
        vec![CertFingerprint::of_der(cert.der())],
    );
    let devices = out.join("devices");
    Ok(Identity {
        files: vec![
            (devices.join(format!("{id}.pem")), pem.into_bytes()),
            (
                devices.join(format!("{id}.enroll.json")),
                enrollment.into_bytes(),
            ),
            (
                out.join("configs").join(format!("{id}.cfg")),
                config.into_bytes(),
            ),
        ],
        entry,
    })
}
