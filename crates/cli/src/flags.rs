//! Every command-line flag, as clap types, in one place (as ripgrep keeps its flags apart
//! from what the commands do). The commands themselves are in `cmd/`.

use clap::{Parser, Subcommand, ValueEnum};
use hookswitch_controls::{Profile, Severity};
use hookswitch_vendors::{Format, Vendor};
use std::path::PathBuf;

/// The passphrase of encrypted key files, instead of a prompt.
pub const PASSPHRASE_ENV: &str = "HOOKSWITCH_KEY_PASSPHRASE";
/// The online signer's bearer token.
pub const TOKEN_ENV: &str = "HOOKSWITCH_SIGNER_TOKEN";

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
    Probe(ProbeArgs),
    /// Signing keys (encrypted at rest).
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The signed (TUF) repository: init, stage, sign (offline), publish.
    #[command(subcommand)]
    Repo(RepoCmd),
    /// Run the online signer (snapshot, timestamp, optionally config bins).
    Signer(SignerArgs),
    /// Serve the published repository, verified, to agents and phones over HTTPS.
    Serve(ServeArgs),
    /// Write what is loaded onto an endpoint out of band: the trusted root and its identity.
    Enroll(EnrollArgs),
    /// Print the controls catalogue.
    Controls(ControlsArgs),
    /// Audit vendor configuration files (files or directories, recursively).
    Audit(AuditArgs),
    /// Emit a hardened vendor configuration, or patch an existing one.
    Harden(HardenArgs),
    /// Devices in the store: enrollment, passwords, client certificates.
    #[command(subcommand)]
    Device(DeviceCmd),
}

/// Which store a command uses. Read through `hookswitch_store::database_url`, not clap's
/// `env`, so a PostgreSQL password in the variable never shows in `--help`.
#[derive(Debug, clap::Args)]
pub struct DatabaseArg {
    /// The store: sqlite://PATH or postgres://USER@HOST:PORT/DB. Default: $HOOKSWITCH_DATABASE,
    /// else sqlite://$XDG_DATA_HOME/hookswitch/hookswitch.db (~/.local/share/hookswitch/...).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum ListFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum DeviceCmd {
    /// Enroll a device.
    Add {
        /// Device ID: 1 to 64 of A-Z a-z 0-9 . _ : - (as in `hookswitch enroll --device-id`).
        id: String,
        #[arg(long)]
        vendor: String,
        #[arg(long)]
        model: String,
        /// MAC address, in any usual form (stored as 12 lowercase hex digits).
        #[arg(long)]
        mac: Option<String>,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// List devices (never their password hashes).
    List {
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Remove a device with its password and certificates (its fetch history stays).
    Remove {
        id: String,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Set a device's HTTP password: from a prompt, or the first line of standard input when
    /// it is not a terminal. Never from the command line.
    SetPassword {
        id: String,
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Enroll a client certificate (PEM) for a device, by its SHA-256 fingerprint.
    AddCert {
        id: String,
        /// The device's own certificate, PEM.
        cert: PathBuf,
        #[command(flatten)]
        db: DatabaseArg,
    },
}

#[derive(Debug, clap::Args)]
pub struct SignerArgs {
    #[arg(long)]
    pub key_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8790")]
    pub listen: String,
    /// PEM certificate chain: serve HTTPS (required to listen beyond loopback).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The repository `repo publish` writes; only its verified metadata/ and targets/ files
    /// are served.
    #[arg(long)]
    pub repo: PathBuf,
    /// The pinned trusted root (a root.json); every served version must chain from it.
    #[arg(long)]
    pub root: PathBuf,
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,
    /// The server's PEM certificate chain.
    #[arg(long)]
    pub tls_cert: PathBuf,
    /// The server's PEM private key: the only key it holds, outside the repository.
    #[arg(long)]
    pub tls_key: PathBuf,
    /// Trust device certificates this CA issued; the device ID is the subject CN unless
    /// `id=` says otherwise, and `pattern=` (last; matches the whole field) may extract it
    /// with its first group. Repeatable.
    #[arg(
        long = "client-ca",
        value_name = "PEM[,id=cn|san-dns|san-uri][,pattern=REGEX]"
    )]
    pub client_ca: Vec<hookswitch_server::tls::ClientCa>,
    /// Prometheus metrics (`/metrics`) on a separate plain-HTTP listener.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Public files (metadata, firmware) over plain HTTP too; never a config.
    #[arg(long, value_name = "ADDR:PORT")]
    pub plain_http: Option<std::net::SocketAddr>,
    /// Public files (the metadata with its roots, firmware, public bootstrap configs) over
    /// read-only TFTP, for legacy phones' first boot; never a config.
    #[arg(long, value_name = "ADDR:PORT")]
    pub tftp: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub db: DatabaseArg,
    /// How often the repository is checked for a new version, in milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub poll_ms: u64,
}

#[derive(Debug, clap::Args)]
pub struct EnrollArgs {
    #[arg(long)]
    pub repo: PathBuf,
    #[arg(long)]
    pub device_id: String,
    /// ASCII lines for a serial console instead of JSON.
    #[arg(long)]
    pub serial: bool,
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ControlsArgs {
    #[arg(long, value_enum, default_value = "table")]
    pub format: CatalogueFormat,
    /// Print the control × vendor matrix of what a configuration file can show (the
    /// blind spots: `-` is always not_assessable).
    #[arg(long)]
    pub coverage: bool,
    /// The coverage matrix for this vendor only (implies --coverage).
    #[arg(long)]
    pub vendor: Option<Vendor>,
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Configuration files, or directories to read recursively.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: AuditFormat,
    /// Exit 1 when a failing finding is at or above this severity.
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: SeverityArg,
    /// Which controls apply.
    #[arg(long, value_enum, default_value = "standard")]
    pub profile: ProfileArg,
    /// Evaluate each device's effective configuration from its layered files.
    #[arg(long)]
    pub layered: bool,
    /// Model (or model family) for files that do not name their own, e.g. GRP2612.
    #[arg(long)]
    pub model: Option<String>,
    /// Inventory CSV (columns id, mac, vendor, model; see `hookswitch-inventory`): the model
    /// of files named by MAC (`cfg<mac>.xml`, `<mac>.cfg`, `SEP<MAC>.cnf.xml`, `<MAC>.xml`).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Write the report here (atomically) instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct HardenArgs {
    /// The endpoint's vendor: poly, yealink, cisco, grandstream or snom.
    #[arg(long)]
    pub vendor: Vendor,
    /// File format to write (default: the vendor's main format, or the input's).
    #[arg(long = "file-format")]
    pub file_format: Option<Format>,
    /// Model (or model family), e.g. GRP2612: some keys mean different things per family.
    #[arg(long)]
    pub model: Option<String>,
    /// Which controls to harden for.
    #[arg(long, value_enum, default_value = "standard")]
    pub profile: ProfileArg,
    /// Patch this file, keeping every unrelated byte.
    #[arg(long = "in")]
    pub input: Option<PathBuf>,
    /// Write the hardened file here (atomically) instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq)]
pub enum ProbeFormat {
    Human,
    Json,
    Sarif,
    Cklb,
    NmapXml,
}

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// Hosts, CIDR ranges, or @FILE with one per line.
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Networks that may be contacted; anything outside is refused. Required.
    #[arg(long = "allow", required = true)]
    pub allow: Vec<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: ProbeFormat,
    #[arg(long, value_enum, default_value = "high")]
    pub fail_on: SeverityArg,
    /// Attempts in flight at once, for the whole sweep.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Network attempts per second, for the whole sweep.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    #[arg(long, default_value_t = 1500)]
    pub timeout_ms: u64,
    #[arg(long, default_value_t = 1)]
    pub udp_retries: u32,
    #[arg(long = "telnet-port")]
    pub telnet_ports: Vec<u16>,
    #[arg(long = "http-port")]
    pub http_ports: Vec<u16>,
    #[arg(long = "https-port")]
    pub https_ports: Vec<u16>,
    /// Send no credential guesses at all (no SNMP communities).
    #[arg(long)]
    pub lockout_safe: bool,
    /// SNMP communities to try (at most 4; default public, private).
    #[arg(long = "community")]
    pub communities: Vec<String>,
    /// Extra provisioning file names to try over TFTP (e.g. SEP<MAC>.cnf.xml).
    #[arg(long = "tftp-file")]
    pub tftp_files: Vec<String>,
    #[arg(long, default_value = "hookswitch-probe")]
    pub sip_user_agent: String,
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Generate an Ed25519 key for a role, encrypted at rest (passphrase from $HOOKSWITCH_KEY_PASSPHRASE or a prompt).
    Generate {
        /// The role the key is for; `repo init` refuses a key made for another role.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(hookswitch_repository::KEY_ROLES))]
        role: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a key file's public key (TUF JSON). Never the private key.
    Public {
        file: PathBuf,
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RepoCmd {
    /// Stage a new repository: root (default 2 of 3) and every targets role, unsigned.
    Init {
        #[arg(long)]
        repo: PathBuf,
        /// Root public keys (key files or `keys public` output); give three or more.
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<PathBuf>,
        #[arg(long, default_value_t = 2)]
        root_threshold: u32,
        #[arg(long)]
        targets_key: PathBuf,
        #[arg(long)]
        firmware_key: PathBuf,
        #[arg(long)]
        apps_key: PathBuf,
        #[arg(long)]
        config_key: PathBuf,
        #[arg(long)]
        bins_key: PathBuf,
        #[arg(long)]
        snapshot_key: PathBuf,
        #[arg(long)]
        timestamp_key: PathBuf,
        /// Expected number of devices: sets the number of config bins.
        #[arg(long, default_value_t = 1000)]
        devices: u64,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Stage targets and per-device configs into a signing request.
    Stage {
        #[arg(long)]
        repo: PathBuf,
        /// PATH=FILE, e.g. firmware/T54W.rom=./T54W.rom
        #[arg(long = "target")]
        targets: Vec<String>,
        /// DEVICE_ID=FILE: published as config/<file name>, release counted up.
        #[arg(long = "device-config")]
        device_configs: Vec<String>,
        #[arg(long, default_value = "unknown")]
        hardware: String,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Sign a request with offline keys. Needs no network.
    Sign {
        #[arg(long)]
        request: PathBuf,
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
    },
    /// Stage root N+1 with new root, targets, snapshot or timestamp keys.
    Rotate {
        #[arg(long)]
        repo: PathBuf,
        #[arg(long = "root-key")]
        root_keys: Vec<PathBuf>,
        #[arg(long)]
        root_threshold: Option<u32>,
        #[arg(long)]
        targets_key: Option<PathBuf>,
        #[arg(long)]
        snapshot_key: Option<PathBuf>,
        #[arg(long)]
        timestamp_key: Option<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Say which signatures a request still needs.
    Status {
        #[arg(long)]
        request: PathBuf,
    },
    /// Check every threshold, get online signatures, and publish atomically.
    Publish {
        #[arg(long)]
        repo: PathBuf,
        /// Without a request: re-sign snapshot and timestamp only (run it before they expire).
        #[arg(long)]
        request: Option<PathBuf>,
        /// The online signer's URL (token from $HOOKSWITCH_SIGNER_TOKEN).
        #[arg(long)]
        signer: String,
        /// PEM CA certificates to trust when the signer URL is https://.
        #[arg(long)]
        signer_ca: Option<PathBuf>,
        /// The root fingerprint `repo init` and `repo sign` printed on the air-gapped host.
        /// Required for the first publication; pins a new root when given later.
        #[arg(long, value_name = "SHA256")]
        expect_root: Option<String>,
    },
}
