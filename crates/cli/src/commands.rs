use crate::output::{emit, emit_with};
use crate::scan::{audit_files, collect, Audit, Options};
use clap::{Parser, Subcommand, ValueEnum};
use hookswitch_audit::{fails_at, report};
use hookswitch_controls::{Profile, Severity, CATALOGUE};
use hookswitch_vendors::{keys, patch, Format, Vendor};
use std::io::IsTerminal;
use std::path::PathBuf;

/// hookswitch: know, fix, keep fixed and prove UC/VVoIP endpoint security
/// (NSA "Deploying Secure UC/VVoIP Systems", Part IV).
#[derive(Debug, Parser)]
#[command(name = "hookswitch", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProfileArg {
    /// Every control for ordinary areas.
    Standard,
    /// Also the controls for sensitive areas (microphones, cameras, speakerphones).
    Sensitive,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Standard => Profile::Standard,
            ProfileArg::Sensitive => Profile::Sensitive,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SeverityArg {
    Low,
    Medium,
    High,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Severity {
        match s {
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum AuditFormat {
    /// Per file, a line per control, then a summary per control.
    Human,
    /// Every file, finding and summary as one JSON document.
    Json,
    /// SARIF 2.1.0 (code-scanning dashboards).
    Sarif,
    /// DISA STIG Viewer 3 checklist.
    Cklb,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum CatalogueFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe endpoints' management planes (Telnet, SSH, HTTP(S), SNMP, TFTP, SIP).
    Probe(crate::probe_cmd::Args),
    /// Signing keys (encrypted at rest).
    #[command(subcommand)]
    Keys(crate::trust_cmds::KeysCmd),
    /// The signed (TUF) repository: init, stage, sign (offline), publish.
    #[command(subcommand)]
    Repo(crate::trust_cmds::RepoCmd),
    /// Run the online signer (snapshot, timestamp, optionally config bins).
    Signer {
        #[arg(long)]
        key_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8790")]
        listen: String,
        /// PEM certificate chain: serve HTTPS (required to listen beyond loopback).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Write what is loaded onto an endpoint out of band: the trusted root and its identity.
    Enroll {
        #[arg(long)]
        repo: PathBuf,
        #[arg(long)]
        device_id: String,
        /// ASCII lines for a serial console instead of JSON.
        #[arg(long)]
        serial: bool,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print the controls catalogue.
    Controls {
        #[arg(long, value_enum, default_value = "table")]
        format: CatalogueFormat,
    },
    /// Audit vendor configuration files (files or directories, recursively).
    Audit {
        /// Configuration files, or directories to read recursively.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Report format.
        #[arg(long, value_enum, default_value = "human")]
        format: AuditFormat,
        /// Exit 1 when a failing finding is at or above this severity.
        #[arg(long, value_enum, default_value = "high")]
        fail_on: SeverityArg,
        /// Which controls apply.
        #[arg(long, value_enum, default_value = "standard")]
        profile: ProfileArg,
        /// Evaluate each device's effective configuration from its layered files.
        #[arg(long)]
        layered: bool,
        /// Model (or model family) for files that do not name their own, e.g. GRP2612.
        #[arg(long)]
        model: Option<String>,
        /// Write the report here (atomically) instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Emit a hardened vendor configuration, or patch an existing one.
    Harden {
        /// The endpoint's vendor: poly, yealink, cisco, grandstream or snom.
        #[arg(long)]
        vendor: Vendor,
        /// File format to write (default: the vendor's main format, or the input's).
        #[arg(long = "file-format")]
        file_format: Option<Format>,
        /// Model (or model family), e.g. GRP2612: some keys mean different things per family.
        #[arg(long)]
        model: Option<String>,
        /// Which controls to harden for.
        #[arg(long, value_enum, default_value = "standard")]
        profile: ProfileArg,
        /// Patch this file, keeping every unrelated byte.
        #[arg(long = "in")]
        input: Option<PathBuf>,
        /// Write the hardened file here (atomically) instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// Run a command; Ok(exit code) or Err(message) for exit code 2.
pub fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Probe(args) => crate::probe_cmd::run(args),
        Command::Keys(cmd) => crate::trust_cmds::keys(cmd),
        Command::Repo(cmd) => crate::trust_cmds::repo(cmd),
        Command::Signer {
            key_dir,
            listen,
            tls_cert,
            tls_key,
        } => {
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| hookswitch_signer::TlsFiles { cert, key });
            crate::trust_cmds::signer(&key_dir, &listen, tls)
        }
        Command::Enroll {
            repo,
            device_id,
            serial,
            output,
        } => crate::trust_cmds::enroll(&repo, &device_id, serial, output.as_deref()),
        Command::Controls { format } => {
            let text = match format {
                CatalogueFormat::Json => {
                    serde_json::to_string_pretty(CATALOGUE).map_err(|e| e.to_string())? + "\n"
                }
                CatalogueFormat::Table => controls_table(),
            };
            emit(None, text.as_bytes())?;
            Ok(0)
        }
        Command::Audit {
            paths,
            format,
            fail_on,
            profile,
            layered,
            model,
            output,
        } => {
            let profile: Profile = profile.into();
            let files = collect(&paths)?;
            let opts = Options {
                profile,
                model,
                layered,
                progress: std::io::stderr().is_terminal(),
            };
            let Audit {
                reports,
                unreadable,
            } = audit_files(&files, &opts);
            let write = |out: &mut dyn std::io::Write| match format {
                AuditFormat::Human => report::human(&reports, profile, out),
                AuditFormat::Json => report::json(&reports, profile, out),
                AuditFormat::Sarif => report::sarif(&reports, profile, out),
                AuditFormat::Cklb => {
                    let target: Vec<String> =
                        paths.iter().map(|p| p.display().to_string()).collect();
                    report::cklb(&reports, profile, &target.join(" "), out)
                }
            };
            emit_with(output.as_deref(), write)?;
            if unreadable > 0 {
                // The report is incomplete: not a clean (or merely failing) audit.
                return Err(format!(
                    "{unreadable} input file(s) could not be read (see the report)"
                ));
            }
            // A CI gate must not pass when it looked at nothing.
            if !reports
                .iter()
                .any(|r| r.vendor.is_some() && r.error.is_none() && r.skipped.is_none())
            {
                return Err(format!(
                    "nothing could be audited: none of the {} file(s) is a vendor configuration hookswitch reads (see the report)",
                    reports.len()
                ));
            }
            Ok(if fails_at(&reports, fail_on.into()) {
                1
            } else {
                0
            })
        }
        Command::Harden {
            vendor,
            file_format,
            model,
            profile,
            input,
            output,
        } => {
            let bytes = match &input {
                Some(p) => Some(
                    crate::scan::read_regular(p)
                        .map_err(|e| e.to_string())
                        .and_then(|r| r)
                        .map_err(|e| format!("{}: {e}", p.display()))?,
                ),
                None => None,
            };
            let format = match (file_format, &bytes, &input) {
                (Some(f), _, _) => f,
                (None, Some(b), Some(p)) => {
                    let name = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    hookswitch_vendors::detect(&name, b)
                        .map_err(|e| format!("{}: {e}", p.display()))?
                        .format
                }
                _ => Format::default_for(vendor),
            };
            if format.vendor() != vendor {
                return Err(format!(
                    "format {format} belongs to {}, not {vendor}",
                    format.vendor()
                ));
            }
            let family = model.as_deref().and_then(|m| keys::family_of(vendor, m));
            if model.is_some() && family.is_none() && vendor == Vendor::Grandstream {
                return Err(format!(
                    "unknown Grandstream model {:?}",
                    model.unwrap_or_default()
                ));
            }
            // A new file records its model, so auditing it later needs no --model.
            let bytes = bytes.or_else(|| {
                model
                    .as_deref()
                    .map(|m| patch::skeleton_for_model(format, Some(m)).into_bytes())
            });
            let hardened = patch::harden(format, bytes.as_deref(), profile.into(), family)
                .map_err(|e| {
                    let src = input
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "(skeleton)".into());
                    format!("{src}:{e}")
                })?;
            for c in &hardened.changes {
                match &c.old {
                    Some(old) => eprintln!("changed {}: {old:?} -> {:?}", c.key, c.new),
                    None => eprintln!("added   {} = {:?}", c.key, c.new),
                }
            }
            for (control, why) in &hardened.not_expressible {
                eprintln!("not set {control}: {why}");
            }
            emit(output.as_deref(), &hardened.bytes)?;
            Ok(0)
        }
    }
}

fn controls_table() -> String {
    let mut out = format!(
        "{:<13} {:<6} {:<19} {:<9} {:<42} {}\n",
        "ID", "SEV", "CHECK", "PROFILE", "SECTION", "TITLE"
    );
    for c in CATALOGUE {
        let profile = if c.profile == Profile::Sensitive {
            "sensitive"
        } else {
            "standard"
        };
        out.push_str(&format!(
            "{:<13} {:<6} {:<19} {:<9} {:<42} {}\n",
            c.id,
            c.severity.as_str(),
            c.check.as_str(),
            profile,
            c.section,
            c.title
        ));
    }
    out.push_str(&format!("{} controls\n", CATALOGUE.len()));
    out
}
