//! `hookswitch serve`: the provisioning server (`hookswitch-server`) until SIGINT or SIGTERM.

use crate::flags::ServeArgs;
use std::time::Duration;

pub fn run(args: ServeArgs) -> Result<u8, String> {
    // Reload failures and refused requests are logged (tracing) to stderr.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<u8, String> {
    let store = super::device::open(args.db).await?;
    let running = hookswitch_server::start(hookswitch_server::Config {
        repo: args.repo,
        trusted_root: args.root,
        listen: args.listen,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        client_cas: args.client_ca,
        metrics: args.metrics,
        plain_http: args.plain_http,
        tftp: args.tftp,
        poll: Duration::from_millis(args.poll_ms),
        store: Some(store.clone()),
    })
    .await?;
    eprintln!("serve: listening on https://{}", running.addr);
    if let Some(a) = running.plain_addr {
        eprintln!("serve: public files on http://{a}");
    }
    if let Some(a) = running.tftp_addr {
        eprintln!("serve: public files over TFTP on {a}");
    }
    if let Some(a) = running.metrics_addr {
        eprintln!("serve: metrics on http://{a}/metrics");
    }
    eprintln!(
        "serve: device store {}",
        hookswitch_store::redact_url(store.url())
    );
    stopped().await;
    running.shutdown().await;
    store.close().await;
    Ok(0)
}

/// SIGINT or SIGTERM.
async fn stopped() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
