//! `hookswitch signer`: the online signer for snapshot, timestamp and config bins.

use super::keys::passphrase;
use crate::flags::{SignerArgs, TOKEN_ENV};

pub fn run(args: SignerArgs) -> Result<u8, String> {
    let tls = args
        .tls_cert
        .zip(args.tls_key)
        .map(|(cert, key)| hookswitch_signer::TlsFiles { cert, key });
    let (key_dir, listen) = (&args.key_dir, &args.listen);
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
