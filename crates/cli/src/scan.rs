//! Reading configuration files from disk and auditing them, in parallel. The one loader
//! (`read_input`, `understand`) serves `audit` and `harden`: each file is read and parsed once.

use hookswitch_atomicfile::ReadError;
use hookswitch_audit::{evaluate, FileIdentity, FileReport};
use hookswitch_controls::Profile;
use hookswitch_inventory::{Inventory, Mac};
use hookswitch_report::Warning;
use hookswitch_vendors::layered::{self, Effective};
use hookswitch_vendors::{keys, Format, Loaded, MAX_FILE_BYTES};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Options {
    pub profile: Profile,
    /// Model (or model family) for files that do not name their own.
    pub model: Option<String>,
    /// Models of devices by MAC (`--inventory`), for files named by MAC.
    pub inventory: Option<Inventory>,
    pub layered: bool,
    /// Show a progress bar (stderr is a terminal).
    pub progress: bool,
}

/// Expand files and directories (recursively) into a sorted list of files.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = entry.path();
        let ft = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else {
            // Everything else is listed; `load` reads only regular files and says why it
            // skips the rest (FIFOs, devices, symlink loops, symlinked directories).
            out.push(path);
        }
    }
    Ok(())
}

/// Why a path is not read as a file, or Err with the IO error that stopped us looking.
fn not_a_file(path: &Path) -> Result<Option<String>, std::io::Error> {
    let is_link = std::fs::symlink_metadata(path)?.file_type().is_symlink();
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(None),
        // Directories given by name are walked; a symlink to one is not followed.
        Ok(m) if m.is_dir() => Ok(Some(
            "symbolic link to a directory; not followed (it could loop)".into(),
        )),
        Ok(m) => Ok(Some(
            ReadError::NotRegular(hookswitch_atomicfile::kind_of(&m.file_type())).to_string(),
        )),
        Err(e) if is_link && e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            Ok(Some("symbolic link loop; not followed".into()))
        }
        Err(e) if is_link && e.kind() == std::io::ErrorKind::NotFound => Ok(Some(
            "dangling symbolic link (its target does not exist)".into(),
        )),
        Err(e) => Err(e),
    }
}

/// Why an input was not read as data.
#[derive(Debug)]
pub enum NotRead {
    /// Not a regular file, or too large: skipped, never read.
    Skipped(String),
    /// An IO error: the audit is incomplete.
    Unreadable(std::io::Error),
}

impl std::fmt::Display for NotRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotRead::Skipped(why) => f.write_str(why),
            NotRead::Unreadable(e) => e.fmt(f),
        }
    }
}

/// The loader's one read: regular files only (never a FIFO or device, a symlinked
/// directory or a symlink loop), at most `MAX_FILE_BYTES`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, NotRead> {
    match not_a_file(path) {
        Ok(Some(why)) => return Err(NotRead::Skipped(why)),
        Ok(None) => {}
        Err(e) => return Err(NotRead::Unreadable(e)),
    }
    match hookswitch_atomicfile::read_regular(path, MAX_FILE_BYTES as u64) {
        Ok(b) => Ok(b),
        Err(ReadError::TooLarge { len, .. }) => Err(NotRead::Skipped(format!(
            "file is {len} bytes; files over 16 MiB are not read"
        ))),
        Err(e @ ReadError::NotRegular(_)) => Err(NotRead::Skipped(e.to_string())),
        Err(ReadError::Io(e)) => Err(NotRead::Unreadable(e)),
    }
}

/// Detect (unless the caller names the format) and parse an input's bytes, once.
pub fn understand(path: &Path, bytes: &[u8], format: Option<Format>) -> Loaded {
    match format {
        Some(format) => hookswitch_vendors::load_as(format, bytes),
        None => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            hookswitch_vendors::load(&name, bytes)
        }
    }
}

/// An input read once and understood once.
pub struct Input {
    pub path: PathBuf,
    pub state: Result<Loaded, NotRead>,
}

/// How the audit reads a file (`read_input`; tests count the calls).
pub type Reader<'a> = dyn Fn(&Path) -> Result<Vec<u8>, NotRead> + Sync + 'a;

fn load(path: &Path, read: &Reader<'_>) -> Input {
    Input {
        path: path.to_path_buf(),
        state: read(path).map(|bytes| understand(path, &bytes, None)),
    }
}

impl Input {
    fn unreadable(&self) -> bool {
        matches!(self.state, Err(NotRead::Unreadable(_)))
    }

    /// The error a file's own report (or its device's) carries.
    fn error(&self) -> Option<String> {
        match &self.state {
            Err(NotRead::Unreadable(e)) => Some(format!("{}: {e}", self.path.display())),
            Ok(Loaded::Malformed { error, .. }) => Some(format!("{}:{error}", self.path.display())),
            _ => None,
        }
    }

    /// The defective lines or attributes its parser skipped.
    fn skipped_defects(&self) -> Vec<Warning> {
        let Ok(Loaded::Config { doc, .. }) = &self.state else {
            return Vec::new();
        };
        let path = self.path.display().to_string();
        doc.warnings
            .iter()
            .map(|w| Warning::at(&path, w.line, w.col, &w.reason))
            .collect()
    }

    fn layer_view(&self) -> layered::Input<'_> {
        layered::Input {
            path: &self.path,
            state: match &self.state {
                Ok(l) => layered::InputState::Loaded(l),
                Err(NotRead::Skipped(_)) => layered::InputState::Skipped,
                Err(NotRead::Unreadable(_)) => layered::InputState::Failed,
            },
        }
    }
}

/// The model and family of a file (or device) that does not name its own model: the
/// inventory's entry for the MAC in its name, else `--model`.
fn family_for(report: &mut FileReport, path: &Path, opts: &Options) -> Option<&'static str> {
    let vendor = report.identity.vendor?;
    if report.identity.model.is_none() {
        let listed = opts.inventory.as_ref().and_then(|inv| {
            let mac = Mac::in_file_name(&path.file_name()?.to_string_lossy())?;
            inv.by_mac(&mac)
        });
        report.identity.model = match listed {
            Some(d) if d.vendor == vendor => Some(d.model.clone()),
            Some(d) => {
                report.warnings.push(Warning::new(format!(
                    "the inventory lists {} (line {}) as {} {}, but this is a {vendor} file: its model is not used",
                    d.mac, d.line, d.vendor, d.model
                )));
                None
            }
            None => None,
        }
        .or_else(|| opts.model.clone());
    }
    let family = report
        .identity
        .model
        .as_deref()
        .and_then(|m| keys::family_of(vendor, m));
    report.identity.family = family.map(str::to_string);
    family
}

/// A file audited on its own. Never fails: problems land in the report.
fn file_report(input: &Input, opts: &Options) -> FileReport {
    let mut report = FileReport::new(input.path.display().to_string());
    report.error = input.error();
    let (detected, doc) = match &input.state {
        Err(NotRead::Skipped(why)) => {
            report.skipped = Some(why.clone());
            return report;
        }
        Err(NotRead::Unreadable(_)) => return report,
        Ok(Loaded::Unrecognised { why, .. }) => {
            report.skipped = Some(why.to_string());
            return report;
        }
        Ok(Loaded::Malformed { detected, .. }) => (detected, None),
        Ok(Loaded::Config { detected, doc }) => (detected, Some(doc)),
    };
    report.identity = FileIdentity::new(detected.format, detected.model.clone());
    let Some(doc) = doc else { return report };
    if doc.format == Format::PolyXml && doc.config_files.is_some() {
        report.skipped = Some(
            "Poly master file: lists CONFIG_FILES rather than settings (used by --layered)".into(),
        );
        return report;
    }
    if doc.format == Format::YealinkEncrypted {
        report.warnings.push(Warning::new(
            "weakly protected: Yealink AES-ECB encryption whose key wrapping uses a published RSA key; treat as cleartext and require HTTPS with trusted certificates",
        ));
    }
    report.warnings.extend(input.skipped_defects());
    let family = family_for(&mut report, &input.path, opts);
    report.findings = evaluate(doc, family, opts.profile);
    report
}

/// The reports, and how many inputs could not be read at all.
pub struct Audit {
    pub reports: Vec<FileReport>,
    pub unreadable: usize,
}

/// Audit every file; reports come back in input order (with `--layered`, the files that
/// make up a device are replaced by one report per device, after the rest).
pub fn audit_files(files: &[PathBuf], opts: &Options) -> Audit {
    audit_files_reading(files, opts, &read_input)
}

/// [`audit_files`] with the reader given: each file is read once, even with `--layered`.
pub fn audit_files_reading(files: &[PathBuf], opts: &Options, read: &Reader<'_>) -> Audit {
    let progress = Progress::new(files.len() as u64, opts.progress);
    let loaded = |p: &PathBuf| {
        let input = load(p, read);
        progress.tick();
        input
    };
    let audit = if opts.layered {
        // Layers need every file of a directory at hand, so all are kept until grouped.
        let inputs: Vec<Input> = files.par_iter().map(loaded).collect();
        Audit {
            unreadable: inputs.iter().filter(|i| i.unreadable()).count(),
            reports: layered_reports(&inputs, opts),
        }
    } else {
        let (reports, unreadable): (Vec<FileReport>, Vec<bool>) = files
            .par_iter()
            .map(|p| {
                let input = loaded(p);
                (file_report(&input, opts), input.unreadable())
            })
            .unzip();
        Audit {
            reports,
            unreadable: unreadable.iter().filter(|u| **u).count(),
        }
    };
    progress.finish();
    audit
}

/// `--layered`: the files no device uses, each on its own, then one report per device.
fn layered_reports(inputs: &[Input], opts: &Options) -> Vec<FileReport> {
    let views: Vec<layered::Input> = inputs.iter().map(Input::layer_view).collect();
    let devices = layered::devices(&views);
    let effective: Vec<Effective> = devices.par_iter().map(|d| d.effective(&views)).collect();
    let mut used = vec![false; inputs.len()];
    for (d, e) in devices.iter().zip(&effective) {
        for &i in d.used_layers(e) {
            used[i] = true;
        }
    }
    let mut reports: Vec<FileReport> = inputs
        .par_iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(input, _)| file_report(input, opts))
        .collect();
    reports.par_extend(
        devices
            .par_iter()
            .zip(effective)
            .map(|(d, e)| device_report(d, e, inputs, opts)),
    );
    reports
}

fn device_report(
    device: &layered::Device,
    effective: Effective,
    inputs: &[Input],
    opts: &Options,
) -> FileReport {
    let mut report = FileReport::new(device.path.display().to_string());
    report.layers = device.layer_names.clone();
    for &i in device.used_layers(&effective) {
        report.warnings.extend(inputs[i].skipped_defects());
    }
    match effective {
        Effective::Failed { at } => report.error = inputs[device.layers[at]].error(),
        Effective::NothingRead => report.skipped = Some("no layer could be read".into()),
        Effective::Merged { doc, model } => {
            report.identity = FileIdentity::new(doc.format, model);
            let family = family_for(&mut report, &device.path, opts);
            report.findings = evaluate(&doc, family, opts.profile);
        }
    }
    report
}

/// A progress bar on stderr that appears only after the work has taken a second.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    start: Instant,
}

impl Progress {
    fn new(len: u64, enabled: bool) -> Self {
        let bar = enabled.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(len),
                indicatif::ProgressDrawTarget::hidden(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} files, {elapsed} elapsed, eta {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            start: Instant::now(),
        }
    }

    fn tick(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if bar.is_hidden() && self.start.elapsed() > Duration::from_secs(1) {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
