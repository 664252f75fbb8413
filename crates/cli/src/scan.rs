//! Reading configuration files from disk and auditing them, in parallel.

use hookswitch_atomicfile::ReadError;
use hookswitch_audit::{evaluate, FileIdentity, FileReport};
use hookswitch_controls::Profile;
use hookswitch_vendors::layered::{mac_file_stem, merge, poly_config_files, yealink_boot_includes};
use hookswitch_vendors::{detect, keys, parse, Detected, Document, Format, MAX_FILE_BYTES};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Options {
    pub profile: Profile,
    /// Model (or model family) for files that do not name their own.
    pub model: Option<String>,
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

/// Read an input of at most `MAX_FILE_BYTES`: Ok(Err(why)) if it is not a regular file or
/// is too large (skipped, never read), Err for an IO error.
pub fn read_regular(path: &Path) -> Result<Result<Vec<u8>, String>, std::io::Error> {
    match hookswitch_atomicfile::read_regular(path, MAX_FILE_BYTES as u64) {
        Ok(b) => Ok(Ok(b)),
        Err(ReadError::TooLarge { len, .. }) => Ok(Err(format!(
            "file is {len} bytes; files over 16 MiB are not read"
        ))),
        Err(e @ ReadError::NotRegular(_)) => Ok(Err(e.to_string())),
        Err(ReadError::Io(e)) => Err(e),
    }
}

/// A layer file's bytes, if it is a regular file that can be read (the file's own report
/// says why not).
fn read_layer(path: &Path) -> Option<Vec<u8>> {
    read_regular(path).ok()?.ok()
}

/// A file read and parsed, ready to evaluate.
pub struct Loaded {
    pub report: FileReport,
    pub doc: Option<Document>,
    /// The file could not be read (an IO error, not a parse error or a skip).
    pub unreadable: bool,
}

/// Read, detect and parse one file. Never fails: problems land in the report.
pub fn load(path: &Path) -> Loaded {
    let mut report = FileReport::new(path.display().to_string());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let read = not_a_file(path).and_then(|why| match why {
        Some(why) => Ok(Err(why)),
        None => read_regular(path),
    });
    let bytes = match read {
        Ok(Ok(b)) => b,
        Ok(Err(why)) => {
            report.skipped = Some(why);
            return Loaded {
                report,
                doc: None,
                unreadable: false,
            };
        }
        Err(e) => {
            report.error = Some(format!("{}: {e}", report.path));
            return Loaded {
                report,
                doc: None,
                unreadable: true,
            };
        }
    };
    let Detected { format, model } = match detect(&name, &bytes) {
        Ok(d) => d,
        Err(why) => {
            report.skipped = Some(why.to_string());
            return Loaded {
                report,
                doc: None,
                unreadable: false,
            };
        }
    };
    report.identity.vendor = Some(format.vendor());
    report.identity.format = Some(format);
    report.identity.model = model;
    match parse(format, &bytes) {
        Ok(doc) => Loaded {
            report,
            doc: Some(doc),
            unreadable: false,
        },
        Err(e) => {
            report.error = Some(format!("{}:{e}", report.path));
            Loaded {
                report,
                doc: None,
                unreadable: false,
            }
        }
    }
}

fn family_for(file: &mut FileIdentity, fallback_model: Option<&str>) -> Option<&'static str> {
    let vendor = file.vendor?;
    if file.model.is_none() {
        file.model = fallback_model.map(str::to_string);
    }
    let family = file
        .model
        .as_deref()
        .and_then(|m| keys::family_of(vendor, m));
    file.family = family.map(str::to_string);
    family
}

fn audit_loaded(mut l: Loaded, opts: &Options) -> FileReport {
    let Some(doc) = l.doc else { return l.report };
    if doc.format == Format::PolyXml && doc.config_files.is_some() {
        l.report.skipped = Some(
            "Poly master file: lists CONFIG_FILES rather than settings (used by --layered)".into(),
        );
        return l.report;
    }
    if doc.format == Format::YealinkEncrypted {
        l.report.warnings.push(
            "weakly protected: Yealink AES-ECB encryption whose key wrapping uses a published RSA key; treat as cleartext and require HTTPS with trusted certificates".into(),
        );
    }
    let family = family_for(&mut l.report.identity, opts.model.as_deref());
    l.report.findings = evaluate(&doc, family, opts.profile);
    l.report
}

/// The reports, and how many inputs could not be read at all.
pub struct Audit {
    pub reports: Vec<FileReport>,
    pub unreadable: usize,
}

/// Audit every file; reports come back in input order.
pub fn audit_files(files: &[PathBuf], opts: &Options) -> Audit {
    let progress = Progress::new(files.len() as u64, opts.progress);
    let (reports, unreadable): (Vec<FileReport>, Vec<bool>) = files
        .par_iter()
        .map(|p| {
            let loaded = load(p);
            let unreadable = loaded.unreadable;
            let r = audit_loaded(loaded, opts);
            progress.tick();
            (r, unreadable)
        })
        .unzip();
    progress.finish();
    let unreadable = unreadable.iter().filter(|u| **u).count();
    let reports = if opts.layered {
        layer(files, reports, opts)
    } else {
        reports
    };
    Audit {
        reports,
        unreadable,
    }
}

/// `--layered`: replace the files that make up a device by one report per device.
fn layer(files: &[PathBuf], standalone: Vec<FileReport>, opts: &Options) -> Vec<FileReport> {
    let mut by_dir: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (i, f) in files.iter().enumerate() {
        by_dir
            .entry(f.parent().map(Path::to_path_buf).unwrap_or_default())
            .or_default()
            .push(i);
    }
    let mut consumed = vec![false; files.len()];
    let mut devices = Vec::new();
    for (dir, idx) in by_dir {
        let names: BTreeMap<String, usize> = idx
            .iter()
            .filter_map(|&i| {
                files[i]
                    .file_name()
                    .map(|n| (n.to_string_lossy().into_owned(), i))
            })
            .collect();
        for set in yealink_devices(&dir, &names)
            .into_iter()
            .chain(poly_devices(&dir, &names))
        {
            devices.push(audit_device(&dir, &set, files, &mut consumed, opts));
        }
    }
    let mut out: Vec<FileReport> = standalone
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !consumed[*i])
        .map(|(_, r)| r)
        .collect();
    out.extend(devices);
    out
}

/// A device: its name and its layer files, highest priority first.
struct DeviceSet {
    device: String,
    layers: Vec<String>,
}

fn yealink_devices(dir: &Path, names: &BTreeMap<String, usize>) -> Vec<DeviceSet> {
    let macs: Vec<String> = names
        .keys()
        .filter(|n| mac_file_stem(n).is_some())
        .cloned()
        .collect();
    let commons: Vec<&String> = names
        .keys()
        .filter(|n| n.len() == 17 && n.starts_with("y0000000000") && n.ends_with(".cfg"))
        .collect();
    let boot = names
        .keys()
        .find(|n| n.ends_with(".boot"))
        .and_then(|b| read_layer(&dir.join(b)))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map(|t| yealink_boot_includes(&t));
    let mut out = Vec::new();
    for mac in macs {
        let content = read_layer(&dir.join(&mac)).unwrap_or_default();
        if !matches!(
            detect(&mac, &content),
            Ok(Detected {
                format: Format::YealinkV7x | Format::YealinkV8x,
                ..
            })
        ) {
            continue;
        }
        let stem = mac.trim_end_matches(".cfg");
        // Later includes override earlier ones, so reverse for highest-first.
        let mut layers: Vec<String> = match &boot {
            Some(includes) => includes
                .iter()
                .map(|f| f.replace("{mac}", stem).replace("$mac", stem))
                .filter(|f| names.contains_key(f))
                .rev()
                .collect(),
            None if commons.len() == 1 => vec![mac.clone(), commons[0].clone()],
            None => vec![mac.clone()],
        };
        if !layers.contains(&mac) {
            layers.insert(0, mac.clone());
        }
        out.push(DeviceSet {
            device: mac,
            layers,
        });
    }
    out
}

fn poly_devices(dir: &Path, names: &BTreeMap<String, usize>) -> Vec<DeviceSet> {
    let load_master = |n: &str| -> Option<Document> {
        let bytes = read_layer(&dir.join(n))?;
        let doc = parse(Format::PolyXml, &bytes).ok()?;
        doc.config_files.is_some().then_some(doc)
    };
    let default_master = names
        .contains_key("000000000000.cfg")
        .then(|| load_master("000000000000.cfg"))
        .flatten();
    // Phones are known by their MAC-prefixed files (<mac>.cfg, <mac>-user.cfg, …).
    let mut macs: Vec<String> = names
        .keys()
        .filter_map(|n| {
            let stem: String = n.chars().take(12).collect();
            (stem.len() == 12
                && stem.bytes().all(|b| b.is_ascii_hexdigit())
                && stem != "000000000000")
                .then(|| stem.to_ascii_lowercase())
        })
        .collect();
    macs.dedup();
    let mut out = Vec::new();
    for mac in macs {
        let own = names
            .keys()
            .find(|n| n.eq_ignore_ascii_case(&format!("{mac}.cfg")))
            .and_then(|n| load_master(n));
        let Some(master) = own.as_ref().or(default_master.as_ref()) else {
            continue;
        };
        let layers: Vec<String> = poly_config_files(master, &mac)
            .into_iter()
            .filter_map(|f| names.keys().find(|n| n.eq_ignore_ascii_case(&f)).cloned())
            .collect();
        if !layers.is_empty() {
            out.push(DeviceSet {
                device: mac,
                layers,
            });
        }
    }
    out
}

fn audit_device(
    dir: &Path,
    set: &DeviceSet,
    files: &[PathBuf],
    consumed: &mut [bool],
    opts: &Options,
) -> FileReport {
    let mut report = FileReport::new(dir.join(&set.device).display().to_string());
    report.layers = set.layers.clone();
    let mut docs = Vec::new();
    for layer in &set.layers {
        let path = dir.join(layer);
        if let Some(i) = files.iter().position(|f| *f == path) {
            consumed[i] = true;
        }
        let l = load(&path);
        if let Some(e) = l.report.error {
            report.error = Some(e);
            return report;
        }
        if let Some(doc) = l.doc {
            let layer = l.report.identity;
            report.identity.vendor = layer.vendor;
            report.identity.format = layer.format;
            report.identity.model = report.identity.model.take().or(layer.model);
            docs.push(doc);
        }
    }
    let Some(format) = report.identity.format else {
        report.skipped = Some("no layer could be read".into());
        return report;
    };
    let refs: Vec<&Document> = docs.iter().collect();
    let merged = merge(format, &refs);
    let family = family_for(&mut report.identity, opts.model.as_deref());
    report.findings = evaluate(&merged, family, opts.profile);
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
