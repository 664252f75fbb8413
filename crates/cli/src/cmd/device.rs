//! `hookswitch device`: enroll devices in the store, set their passwords, enroll their client
//! certificates, list and remove them.

use crate::flags::{DatabaseArg, DeviceCmd, ListFormat};
use hookswitch_store::{CertFingerprint, Device, NewDevice, Store, MAX_PASSWORD_LEN};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

/// A certificate file larger than this is not a device certificate.
const MAX_CERT_FILE: u64 = 64 * 1024;

pub fn run(cmd: DeviceCmd) -> Result<u8, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("async runtime: {e}"))?;
    runtime.block_on(device(cmd))
}

/// The store a command names (`--database`, `$HOOKSWITCH_DATABASE`, or the default file).
pub(super) async fn open(db: DatabaseArg) -> Result<Store, String> {
    let url = hookswitch_store::database_url(db.database).map_err(|e| e.to_string())?;
    Store::open(&url).await.map_err(|e| e.to_string())
}

async fn device(cmd: DeviceCmd) -> Result<u8, String> {
    match cmd {
        DeviceCmd::Add {
            id,
            vendor,
            model,
            mac,
            db,
        } => {
            let new =
                NewDevice::new(&id, &vendor, &model, mac.as_deref()).map_err(|e| e.to_string())?;
            let store = open(db).await?;
            store.add_device(&new).await.map_err(|e| e.to_string())?;
            eprintln!("added device {} to {}", new.id, store.url());
            store.close().await;
        }
        DeviceCmd::List { format, db } => {
            let store = open(db).await?;
            let devices = store.devices().await.map_err(|e| e.to_string())?;
            store.close().await;
            let text = match format {
                ListFormat::Human => human_list(&devices),
                ListFormat::Json => {
                    let doc = serde_json::json!({ "devices": devices });
                    serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n"
                }
            };
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| format!("stdout: {e}"))?;
            if devices.is_empty() {
                eprintln!("no devices in {}", store.url());
            }
        }
        DeviceCmd::Remove { id, db } => {
            let store = open(db).await?;
            store.remove_device(&id).await.map_err(|e| e.to_string())?;
            eprintln!("removed device {id} from {}", store.url());
            store.close().await;
        }
        DeviceCmd::SetPassword { id, db } => {
            // The ID is checked before anyone types a password for it.
            hookswitch_store::DeviceId::parse(&id).map_err(|e| e.to_string())?;
            let store = open(db).await?;
            if store
                .device(&id)
                .await
                .map_err(|e| e.to_string())?
                .is_none()
            {
                return Err(format!("no device {id} in {}", store.url()));
            }
            let password = read_password(&id)?;
            store
                .set_password(&id, &password)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("set the password of device {id} (Argon2id hash stored)");
            store.close().await;
        }
        DeviceCmd::AddCert { id, cert, db } => {
            hookswitch_store::DeviceId::parse(&id).map_err(|e| e.to_string())?;
            let fingerprint = certificate_fingerprint(&cert)?;
            let store = open(db).await?;
            store
                .add_certificate(&id, &fingerprint)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!("enrolled certificate sha256 {fingerprint} for device {id}");
            store.close().await;
        }
    }
    Ok(0)
}

fn human_list(devices: &[Device]) -> String {
    let rows: Vec<[String; 6]> = devices
        .iter()
        .map(|d| {
            [
                d.id.to_string(),
                d.vendor.clone(),
                d.model.clone(),
                d.mac.as_ref().map_or("-".to_string(), |m| m.to_string()),
                if d.has_password { "set" } else { "-" }.to_string(),
                d.certificates.len().to_string(),
            ]
        })
        .collect();
    let header = ["ID", "VENDOR", "MODEL", "MAC", "PASSWORD", "CERTIFICATES"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:w$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// A prompt (twice) on a terminal; otherwise exactly one line of standard input.
fn read_password(id: &str) -> Result<String, String> {
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password(format!("password for device {id}: "))
            .map_err(|e| format!("password prompt: {e}"))?;
        let again = rpassword::prompt_password("again: ").map_err(|e| e.to_string())?;
        if password != again {
            return Err("the passwords differ".to_string());
        }
        return Ok(password);
    }
    let limit = MAX_PASSWORD_LEN + 2; // and "\r\n"
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("standard input: {e}"))?;
    if bytes.len() > limit {
        return Err(format!(
            "standard input: longer than {MAX_PASSWORD_LEN} bytes; expected one line, the password"
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| "standard input: not UTF-8".to_string())?;
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.contains('\n') {
        return Err("standard input: expected one line, the password".to_string());
    }
    if line.is_empty() {
        return Err("standard input: empty; expected one line, the password".to_string());
    }
    Ok(line.to_string())
}

/// SHA-256 of the DER of the one certificate in a PEM file, checked to be X.509.
pub(crate) fn certificate_fingerprint(path: &Path) -> Result<CertFingerprint, String> {
    let shown = path.display();
    let bytes = hookswitch_atomicfile::read_regular(path, MAX_CERT_FILE)
        .map_err(|e| format!("{shown}: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{shown}: not a PEM file: {e}"))?;
    let cert = match certs.as_slice() {
        [one] => one,
        [] => return Err(format!("{shown}: no PEM CERTIFICATE block")),
        more => {
            return Err(format!(
                "{shown}: {} certificates; give the device's own certificate only",
                more.len()
            ))
        }
    };
    webpki::EndEntityCert::try_from(cert)
        .map_err(|e| format!("{shown}: not an X.509 certificate: {e:?}"))?;
    if PrivateKeyDer::from_pem_slice(&bytes).is_ok() {
        eprintln!(
            "warning: {shown} also holds a private key; it was not read into the store, and belongs on the device only"
        );
    }
    Ok(CertFingerprint::of_der(cert.as_ref()))
}
