//! `hookswitch-agent`: the reference endpoint agent. Its command line is the shape the TUF
//! conformance tooling drives, so any spec-following repository can be tested:
//!
//! ```text
//! hookswitch-agent --metadata-dir DIR init TRUSTED_ROOT_FILE
//! hookswitch-agent --metadata-dir DIR --metadata-url URL refresh
//! hookswitch-agent --metadata-dir DIR --metadata-url URL --target-name PATH \
//!     --target-base-url URL --target-dir DIR download
//! ```
//!
//! Exit 0 on success, 1 on any failure. The trusted metadata in DIR is replaced only
//! after a whole refresh verifies; on failure the last good state stays.

use clap::{Parser, Subcommand};
use hookswitch_trust::client::{check_config_target, Device, Request};
use hookswitch_trust::driver;
use hookswitch_trust::Client;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hookswitch-agent",
    version,
    about = "Reference endpoint agent (TUF client)"
)]
struct Cli {
    #[arg(long)]
    metadata_dir: PathBuf,
    #[arg(long)]
    metadata_url: Option<String>,
    #[arg(long)]
    target_name: Option<String>,
    #[arg(long)]
    target_base_url: Option<String>,
    #[arg(long)]
    target_dir: Option<PathBuf>,
    /// PEM CA certificates to trust for https:// URLs (the organisation's CA).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// This endpoint's identity: config targets must name it and never go back in release.
    #[arg(long)]
    device_id: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Copy in the trusted root (loaded out of band). No network.
    Init { trusted_root: PathBuf },
    /// Run the TUF client workflow.
    Refresh,
    /// Refresh, then download one target unless the cached copy already verifies.
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

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn run(cli: Cli) -> Result<(), String> {
    // Large firmware on a slow link: a generous overall timeout; lengths are bounded anyway.
    let http =
        hookswitch_http::Client::new(cli.ca_file.as_deref(), std::time::Duration::from_secs(3600))?;
    match &cli.command {
        Cmd::Init { trusted_root } => {
            let file = std::fs::read(trusted_root)
                .map_err(|e| format!("{}: {e}", trusted_root.display()))?;
            let (bytes, device) =
                enrollment(&file).map_err(|e| format!("{}: {e}", trusted_root.display()))?;
            // Refuse a root that does not carry its own threshold: no trust on first use.
            Client::new(&bytes, now()).map_err(|e| format!("{}: {e}", trusted_root.display()))?;
            std::fs::create_dir_all(&cli.metadata_dir)
                .map_err(|e| format!("{}: {e}", cli.metadata_dir.display()))?;
            if let Some(id) = device {
                let doc = serde_json::json!({ "device_id": id });
                save(&cli.metadata_dir, "device.json", doc.to_string().as_bytes())?;
            }
            save(&cli.metadata_dir, "root.json", &bytes)
        }
        Cmd::Refresh => {
            let url = cli
                .metadata_url
                .as_deref()
                .ok_or("--metadata-url is required")?;
            refresh(&cli.metadata_dir, url, &http).map(|_| ())
        }
        Cmd::Download => {
            let url = cli
                .metadata_url
                .as_deref()
                .ok_or("--metadata-url is required")?;
            let name = cli
                .target_name
                .as_deref()
                .ok_or("--target-name is required")?;
            let base = cli
                .target_base_url
                .as_deref()
                .ok_or("--target-base-url is required")?;
            let dir = cli
                .target_dir
                .as_deref()
                .ok_or("--target-dir is required")?;
            let mut client = refresh(&cli.metadata_dir, url, &http)?;
            // The enrolled identity applies unless the command line names one.
            let enrolled = std::fs::read(cli.metadata_dir.join("device.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["device_id"].as_str().map(str::to_string));
            let device = cli.device_id.clone().or(enrolled);
            let source = Source {
                http: &http,
                meta_dir: &cli.metadata_dir,
                metadata_url: url,
                target_base: base,
            };
            download(&source, &mut client, name, dir, device.as_deref())
        }
    }
}

/// A plain `root.json`, a JSON enrollment bundle, or the serial-console form of one.
/// Returns the root bytes and the device identity, if the file carries one.
fn enrollment(file: &[u8]) -> Result<(Vec<u8>, Option<String>), String> {
    let text = String::from_utf8_lossy(file);
    if text.starts_with("HOOKSWITCH-ENROLL v1") {
        let mut device = None;
        let mut sha = None;
        let mut hex = String::new();
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("device_id", v)) => device = Some(v.trim().to_string()),
                Some(("root_sha256", v)) => sha = Some(v.trim().to_string()),
                Some(("root", v)) => hex.push_str(v.trim()),
                _ => {}
            }
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or("serial enrollment: bad hex")?;
        if sha.as_deref() != Some(hookswitch_trust::crypto::sha256_hex(&bytes).as_str()) {
            return Err(
                "serial enrollment: the root does not match its sha256 (line noise?)".into(),
            );
        }
        return Ok((bytes, device));
    }
    let v: serde_json::Value =
        serde_json::from_slice(file).map_err(|e| format!("not JSON: {e}"))?;
    if v["format"] == "hookswitch-enrollment-v1" {
        let root = serde_json::to_vec(&v["root"]).map_err(|e| e.to_string())?;
        return Ok((root, v["device_id"].as_str().map(str::to_string)));
    }
    Ok((file.to_vec(), None))
}

fn save(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    let p = dir.join(name);
    hookswitch_atomicfile::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))
}

fn join_url(base: &str, name: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), name)
}

/// Load the trusted state, refresh it over HTTP, and persist it only if all of it verified.
fn refresh(dir: &Path, url: &str, http: &hookswitch_http::Client) -> Result<Client, String> {
    let root = std::fs::read(dir.join("root.json"))
        .map_err(|e| format!("{}: {e} (run init first)", dir.join("root.json").display()))?;
    let mut client = Client::new(&root, now()).map_err(|e| format!("trusted root: {e}"))?;
    for role in ["timestamp", "snapshot", "targets"] {
        if let Ok(bytes) = std::fs::read(dir.join(format!("{role}.json"))) {
            // A cached file that no longer verifies is simply not trusted.
            let _ = client.load_cached(role, &bytes);
        }
    }
    // Nothing is written until the whole refresh verified: on failure the files in `dir`
    // stay the last good state.
    let mut fetch = |req: &Request| http.get(&join_url(url, &req.name), req.max_len);
    driver::refresh(&mut client, &mut fetch).map_err(|e| e.to_string())?;
    for (name, bytes) in client.trusted_files() {
        save(dir, &name, bytes)?;
    }
    Ok(client)
}

/// The local file name of a target: the path URL-encoded, as python-tuf does, so a target
/// name can never escape the target directory.
fn local_name(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where metadata and targets come from, and where trusted metadata is kept.
struct Source<'a> {
    http: &'a hookswitch_http::Client,
    meta_dir: &'a Path,
    metadata_url: &'a str,
    target_base: &'a str,
}

fn download(
    src: &Source,
    client: &mut Client,
    name: &str,
    dir: &Path,
    device: Option<&str>,
) -> Result<(), String> {
    let (http, meta_dir, url, base) = (src.http, src.meta_dir, src.metadata_url, src.target_base);
    let mut fetch = |req: &Request| http.get(&join_url(url, &req.name), req.max_len);
    let mut persist_err = None;
    let mut persist = |role: &str, c: &Client| {
        let file = format!("{role}.json");
        if let Some((_, bytes)) = c.trusted_files().into_iter().find(|(n, _)| *n == file) {
            if let Err(e) = save(meta_dir, &file, bytes) {
                persist_err.get_or_insert(e);
            }
        }
    };
    let found =
        driver::find_target(client, name, &mut fetch, &mut persist).map_err(|e| e.to_string())?;
    if let Some(e) = persist_err {
        return Err(e);
    }
    let info = found.ok_or_else(|| format!("target {name} is not in the repository"))?;
    let release_file = meta_dir.join("releases.json");
    let mut releases: serde_json::Map<String, serde_json::Value> = std::fs::read(&release_file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let release = match (device, name.starts_with("config/")) {
        (Some(id), true) => {
            let last = releases.get(name).and_then(|v| v.as_u64());
            Some(
                check_config_target(name, &info, &Device { id: id.to_string() }, last)
                    .map_err(|e| e.to_string())?,
            )
        }
        _ => None,
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let local = dir.join(local_name(name));
    if let Ok(cached) = std::fs::read(&local) {
        if client.verify_target(name, &info, &cached).is_ok() {
            return Ok(());
        }
    }
    // Stream into a temp file beside the destination, hashing as it comes; the file is
    // renamed into place only if length and hash match.
    let req = client.target_request(name, &info);
    let url = join_url(base, &req.name);
    let mut verifier = Some(
        client
            .target_verifier(name, &info)
            .map_err(|e| e.to_string())?,
    );
    hookswitch_atomicfile::write_with(&local, |w| {
        let found = http
            .get_stream(&url, req.max_len, &mut |chunk| {
                if let Some(v) = verifier.as_mut() {
                    v.update(chunk).map_err(|e| e.to_string())?;
                }
                w.write_all(chunk).map_err(|e| e.to_string())
            })
            .map_err(std::io::Error::other)?;
        if !found {
            return Err(std::io::Error::other(format!(
                "target {name}: not found at {base}"
            )));
        }
        // Before the rename: a file that does not verify never takes the place of the old one.
        verifier
            .take()
            .map_or(Ok(()), |v| v.finish())
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(|e| e.to_string())?;
    if let Some(r) = release {
        releases.insert(name.to_string(), r.into());
        save(
            meta_dir,
            "releases.json",
            &serde_json::to_vec(&releases).unwrap_or_default(),
        )?;
    }
    Ok(())
}
