//! `hookswitch-agent`: the reference endpoint agent. Its command line is the one the TUF
//! conformance suite drives (`CLIENT-CLI.md`), so any spec-following repository can be
//! tested:
//!
//! ```text
//! hookswitch-agent --metadata-dir DIR init TRUSTED_ROOT_OR_ENROLLMENT
//! hookswitch-agent --metadata-dir DIR --metadata-url URL refresh
//! hookswitch-agent --metadata-dir DIR --metadata-url URL --target-name PATH [--target-name PATH…] \
//!     --target-base-url URL --target-dir DIR download
//! ```
//!
//! Exit 0 on success, 1 on any failure. Each metadata file is stored the moment it
//! verifies; nothing unverified is ever stored.

use clap::{Parser, Subcommand};
use hookswitch_agent::Store;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "hookswitch-agent",
    version,
    about = "Reference endpoint agent (TUF client)"
)]
struct Cli {
    /// Where the trusted metadata is kept (and the agent's state, in its `state/`).
    #[arg(long, global = true, value_name = "DIR")]
    metadata_dir: Option<PathBuf>,
    /// Base URL of the repository's metadata (refresh, download).
    #[arg(long, global = true, value_name = "URL")]
    metadata_url: Option<String>,
    /// A target to download; repeat it to download several, in order (the first failure
    /// stops the command).
    #[arg(long, global = true, value_name = "PATH")]
    target_name: Vec<String>,
    /// Base URL of the repository's targets (download).
    #[arg(long, global = true, value_name = "URL")]
    target_base_url: Option<String>,
    /// Where downloaded targets are stored, under their target paths (download).
    #[arg(long, global = true, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// PEM CA certificates to trust for https:// URLs (the organisation's CA).
    #[arg(long, global = true, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// This endpoint's identity: config targets must name it and never go back in release.
    /// Default: the identity from the enrollment.
    #[arg(long, global = true, value_name = "ID")]
    device_id: Option<String>,
    /// Seconds to wait for a TCP connection.
    #[arg(long, global = true, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    connect_timeout: u64,
    /// Seconds a server may stay silent (before its response, or within a body).
    #[arg(long, global = true, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    idle_timeout: u64,
    /// Slowest acceptable average rate, bytes per second: a file of at most N bytes must
    /// arrive within connect + idle + N / rate seconds.
    #[arg(long, global = true, default_value_t = 16 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    min_rate: u64,
    /// Print nothing on success.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Store the trusted root (a root.json, or an enrollment from `hookswitch enroll`). No network.
    Init { trusted_root: PathBuf },
    /// Run the TUF client workflow.
    Refresh,
    /// Refresh, then download each target unless the local copy already verifies.
    Download,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookswitch-agent: {e}");
            ExitCode::from(1)
        }
    }
}

/// Every flag the command needs and lacks, in one error.
fn check_flags(cli: &Cli) -> Result<(), String> {
    let mut missing = Vec::new();
    if cli.metadata_dir.is_none() {
        missing.push("--metadata-dir DIR");
    }
    if !matches!(cli.command, Cmd::Init { .. }) && cli.metadata_url.is_none() {
        missing.push("--metadata-url URL");
    }
    if matches!(cli.command, Cmd::Download) {
        if cli.target_name.is_empty() {
            missing.push("--target-name PATH");
        }
        if cli.target_base_url.is_none() {
            missing.push("--target-base-url URL");
        }
        if cli.target_dir.is_none() {
            missing.push("--target-dir DIR");
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing {}", missing.join(", ")))
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    check_flags(&cli)?;
    let say = |line: String| {
        if !cli.quiet {
            println!("{line}");
        }
    };
    let meta_dir = cli.metadata_dir.as_deref().unwrap_or(Path::new("."));
    let store = Store::new(meta_dir);
    let now = hookswitch_clock::unix_now()?;
    if let Cmd::Init { trusted_root } = &cli.command {
        let enrolled = hookswitch_agent::init(&store, trusted_root, now)?;
        say(format!(
            "trusted root v{} stored in {}{}",
            enrolled.root_version,
            meta_dir.display(),
            enrolled
                .device_id
                .map(|id| format!("; device identity {id}"))
                .unwrap_or_default()
        ));
        return Ok(());
    }
    let http = hookswitch_http::Client::with_timeouts(
        cli.ca_file.as_deref(),
        hookswitch_http::Timeouts {
            connect: Duration::from_secs(cli.connect_timeout),
            idle: Duration::from_secs(cli.idle_timeout),
            min_rate: cli.min_rate,
        },
    )?;
    let url = cli.metadata_url.as_deref().unwrap_or_default();
    let mut session = hookswitch_agent::refresh(&store, &http, url, now)?;
    let client = &session.client;
    say(format!(
        "refreshed: root v{}, timestamp v{}, snapshot v{}, targets v{} (all verified)",
        client.root().version,
        client.timestamp().map_or(0, |t| t.version),
        client.snapshot().map_or(0, |t| t.version),
        client.targets("targets").map_or(0, |t| t.version),
    ));
    if let Cmd::Download = cli.command {
        session.download(
            &cli.target_name,
            cli.target_base_url.as_deref().unwrap_or_default(),
            cli.target_dir.as_deref().unwrap_or(Path::new(".")),
            cli.device_id.clone(),
            &mut |d| {
                say(format!(
                    "{}: {} bytes, {} verified{}; {} {}",
                    d.name,
                    d.info.length,
                    d.info
                        .hashes
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" and "),
                    d.release
                        .map(|r| format!(", release {r}"))
                        .unwrap_or_default(),
                    if d.fresh { "stored as" } else { "already at" },
                    d.local.display()
                ))
            },
        )?;
    }
    Ok(())
}
