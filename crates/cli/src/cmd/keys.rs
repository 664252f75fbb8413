//! `hookswitch keys`, and reading keys and passphrases for the other ceremony commands.

use crate::flags::{KeysCmd, PASSPHRASE_ENV};
use crate::output::emit;
use hookswitch_keystore::KdfCost;
use hookswitch_trust::metadata::Key;
use std::path::Path;

pub fn run(cmd: KeysCmd) -> Result<u8, String> {
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

pub(super) fn passphrase(prompt: &str, confirm: bool) -> Result<Vec<u8>, String> {
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

/// The public key for `role` from a key file (which must have been made for that role) or
/// from `keys public` output (which does not say; a warning asks to check).
pub(super) fn public_for(path: &Path, role: &str) -> Result<Key, String> {
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
