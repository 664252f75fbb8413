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

mod store;

use clap::{Parser, Subcommand};
use hookswitch_trust::client::{check_config_target, quote, Device, Request};
use hookswitch_trust::driver;
use hookswitch_trust::Client;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use store::Store;

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

fn run(cli: Cli) -> Result<(), String> {
    check_flags(&cli)?;
    let say = |line: String| {
        if !cli.quiet {
            println!("{line}");
        }
    };
    let meta_dir = cli.metadata_dir.as_deref().unwrap_or(Path::new("."));
    let store = Store::new(meta_dir);
    if let Cmd::Init { trusted_root } = &cli.command {
        let at = |e: String| format!("{}: {e}", trusted_root.display());
        let file = std::fs::read(trusted_root).map_err(|e| at(e.to_string()))?;
        let enrollment = hookswitch_trust::enrollment::parse(&file).map_err(at)?;
        // Refuse a root that does not carry its own threshold: no trust on first use.
        let client = Client::new(&enrollment.root, hookswitch_clock::unix_now()?)
            .map_err(|e| at(e.to_string()))?;
        store.init(&enrollment.root, enrollment.device_id.as_deref())?;
        say(format!(
            "trusted root v{} stored in {}{}",
            client.root().version,
            meta_dir.display(),
            enrollment
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
    let mut client = store.client(hookswitch_clock::unix_now()?)?;
    let mut fetch = |req: &Request| http.get(&join_url(url, &req.name), req.max_len);
    let mut save = |p: &hookswitch_trust::client::Persist| store.persist(p);
    driver::refresh_storing(&mut client, &mut fetch, &mut save).map_err(|e| e.to_string())?;
    say(format!(
        "refreshed: root v{}, timestamp v{}, snapshot v{}, targets v{} (all verified)",
        client.root().version,
        client.timestamp().map_or(0, |t| t.version),
        client.snapshot().map_or(0, |t| t.version),
        client.targets("targets").map_or(0, |t| t.version),
    ));
    if let Cmd::Download = cli.command {
        let target = Targets {
            http: &http,
            base: cli.target_base_url.as_deref().unwrap_or_default(),
            dir: cli.target_dir.as_deref().unwrap_or(Path::new(".")),
        };
        // The enrolled identity applies unless the command line names one.
        let device = match cli.device_id.clone() {
            Some(id) => Some(id),
            None => store.device_id()?,
        };
        let mut releases = store.releases()?;
        std::fs::create_dir_all(target.dir)
            .map_err(|e| format!("{}: {e}", target.dir.display()))?;
        for name in &cli.target_name {
            let info = driver::find_target(&mut client, name, &mut fetch, &mut save)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("target {name} is not in the repository"))?;
            let release = match (&device, name.starts_with("config/")) {
                (Some(id), true) => Some(
                    check_config_target(
                        name,
                        &info,
                        &Device { id: id.clone() },
                        releases.get(name).copied(),
                    )
                    .map_err(|e| e.to_string())?,
                ),
                _ => None,
            };
            let (local, fresh) = target.download(&client, name, &info)?;
            if let Some(r) = release {
                releases.insert(name.clone(), r);
                store.save_releases(&releases)?;
            }
            say(format!(
                "{name}: {} bytes, {} verified{}; {} {}",
                info.length,
                info.hashes
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" and "),
                release
                    .map(|r| format!(", release {r}"))
                    .unwrap_or_default(),
                if fresh { "stored as" } else { "already at" },
                local.display()
            ));
        }
    }
    Ok(())
}

/// Where target `name` is stored: its own path under `dir` when every part of it is a
/// plain name (no empty part, `.`, `..` or NUL), and no part already on disk is anything
/// but a real directory; otherwise its percent-encoded name directly in `dir`. Either way
/// it stays inside `dir`.
fn local_path(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let parts: Vec<&str> = name.split('/').collect();
    let plain = parts.len() <= 16
        && parts.iter().all(|p| {
            !p.is_empty() && *p != "." && *p != ".." && !p.contains('\0') && p.len() <= 255
        });
    if !plain {
        // `quote` leaves dots alone: ".", ".." and "" would name a directory.
        let encoded = match quote(name) {
            q if q.is_empty() => return Err("an empty target name".into()),
            q if q.bytes().all(|b| b == b'.') => q.replace('.', "%2E"),
            q => q,
        };
        let path = dir.join(encoded);
        store::refuse_symlink(&path)?;
        return Ok(path);
    }
    let mut path = dir.to_path_buf();
    for part in &parts[..parts.len() - 1] {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "{}: in the way of target {name} (not a directory)",
                    path.display()
                ))
            }
            Err(_) => std::fs::create_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?,
        }
    }
    path.push(parts[parts.len() - 1]);
    store::refuse_symlink(&path)?;
    Ok(path)
}

fn join_url(base: &str, name: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), name)
}

/// Where targets come from and go.
struct Targets<'a> {
    http: &'a hookswitch_http::Client,
    base: &'a str,
    dir: &'a Path,
}

impl Targets<'_> {
    /// Download `name` into the target directory unless the local copy already verifies;
    /// returns where it is and whether it was downloaded now. The new file takes the old
    /// one's place only once length and every hash match.
    fn download(
        &self,
        client: &Client,
        name: &str,
        info: &hookswitch_trust::metadata::TargetFile,
    ) -> Result<(PathBuf, bool), String> {
        let local = local_path(self.dir, name)?;
        if self.local_copy_verifies(client, name, info, &local) {
            return Ok((local, false));
        }
        // Leftovers of a download that was killed: nothing else writes here.
        if let Some(parent) = local.parent() {
            let _ = hookswitch_atomicfile::remove_stale_temps(parent);
        }
        let req = client.target_request(name, info);
        let url = join_url(self.base, &req.name);
        let mut verifier = Some(
            client
                .target_verifier(name, info)
                .map_err(|e| e.to_string())?,
        );
        hookswitch_atomicfile::write_with(&local, |w| {
            let found = self
                .http
                .get_stream(&url, req.max_len, &mut |chunk| {
                    if let Some(v) = verifier.as_mut() {
                        v.update(chunk).map_err(|e| e.to_string())?;
                    }
                    w.write_all(chunk).map_err(|e| e.to_string())
                })
                .map_err(std::io::Error::other)?;
            if !found {
                return Err(std::io::Error::other(format!(
                    "target {name}: not found at {}",
                    self.base
                )));
            }
            verifier
                .take()
                .map_or(Ok(()), |v| v.finish())
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .map_err(|e| e.to_string())?;
        Ok((local, true))
    }

    /// Streams the local copy (regular files only) through the verifier.
    fn local_copy_verifies(
        &self,
        client: &Client,
        name: &str,
        info: &hookswitch_trust::metadata::TargetFile,
        local: &Path,
    ) -> bool {
        if !std::fs::symlink_metadata(local).is_ok_and(|m| m.is_file()) {
            return false;
        }
        let (Ok(file), Ok(mut v)) = (
            std::fs::File::open(local),
            client.target_verifier(name, info),
        ) else {
            return false;
        };
        let mut reader = file.take(info.length.saturating_add(1));
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return v.finish().is_ok(),
                Ok(n) => {
                    if v.update(&buf[..n]).is_err() {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
    }
}
