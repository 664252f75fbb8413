//! `hookswitch fleet-sim setup|run`: the fleet simulator (`hookswitch-fleetsim`).

use crate::flags::{FleetSimCmd, FleetSimFormat};
use hookswitch_fleetsim::{run, setup};
use std::time::Duration;

pub fn run(cmd: FleetSimCmd) -> Result<u8, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    match cmd {
        FleetSimCmd::Setup {
            out,
            devices,
            repo,
            db,
        } => rt.block_on(async {
            let store = super::device::open(db).await?;
            let opts = setup::Options {
                out: &out,
                devices,
                repo: &repo,
            };
            let mut progress = |done: u64| {
                if devices > 10_000 {
                    eprintln!("fleet-sim: {done}/{devices} devices enrolled");
                }
            };
            let result = setup::setup(&opts, &store, &mut progress).await;
            store.close().await;
            let summary = result?;
            eprintln!(
                "fleet-sim: {} devices in {} ({:.1} s), enrolled in {}",
                summary.devices,
                out.display(),
                summary.seconds,
                hookswitch_store::redact_url(store.url())
            );
            Ok(0)
        }),
        FleetSimCmd::Run {
            server,
            ca,
            identities,
            concurrency,
            devices,
            firmware,
            fail_devices,
            format,
            duration_limit,
        } => {
            let opts = run::Options {
                server,
                ca,
                identities,
                concurrency: usize::try_from(concurrency).unwrap_or(usize::MAX),
                devices,
                firmware,
                fail_devices,
                time_limit: Duration::from_secs(duration_limit),
            };
            let report = rt.block_on(run::run(&opts))?;
            match format {
                FleetSimFormat::Human => print!("{}", report.human()),
                FleetSimFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                ),
            }
            Ok(u8::from(report.failed > 0))
        }
    }
}
