//! Vendors layer several files into one device configuration. This module groups files
//! the caller has already loaded into devices, by each vendor's file rules, and merges a
//! device's documents into one effective document. Nothing here reads a file: every file
//! is read and parsed once, by the caller's loader.

use crate::{Document, Format, Loaded};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One input file, as the caller's loader left it.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub path: &'a Path,
    pub state: InputState<'a>,
}

#[derive(Debug, Clone, Copy)]
pub enum InputState<'a> {
    /// Read; what detection and parsing made of it.
    Loaded(&'a Loaded),
    /// Not read as data (not a regular file, too large): a layer that is passed over.
    Skipped,
    /// Could not be read: a layer that stops its device, as a parse error does.
    Failed,
}

/// A device: the files that make up its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Yealink: the device's `<mac>.cfg`; Poly: `<dir>/<mac>`.
    pub path: PathBuf,
    /// Indices into the inputs, highest priority first.
    pub layers: Vec<usize>,
    /// The layers' file names, highest priority first.
    pub layer_names: Vec<String>,
}

/// A device's effective configuration.
#[derive(Debug, Clone)]
pub enum Effective {
    /// The layers merged. The format is the lowest-priority parsed layer's; the model the
    /// highest-priority layer's that names one.
    Merged {
        doc: Box<Document>,
        model: Option<String>,
    },
    /// `layers[at]` could not be read or parsed; the layers after it were not used.
    Failed { at: usize },
    /// No layer held settings.
    NothingRead,
}

impl Device {
    /// Merge the device's layers (see [`Effective`]).
    pub fn effective(&self, inputs: &[Input]) -> Effective {
        let mut docs = Vec::new();
        let mut model = None;
        for (at, &i) in self.layers.iter().enumerate() {
            match inputs[i].state {
                InputState::Failed | InputState::Loaded(Loaded::Malformed { .. }) => {
                    return Effective::Failed { at }
                }
                InputState::Loaded(Loaded::Config { detected, doc }) => {
                    model = model.or_else(|| detected.model.clone());
                    docs.push(doc);
                }
                InputState::Skipped | InputState::Loaded(Loaded::Unrecognised { .. }) => {}
            }
        }
        match docs.last() {
            Some(lowest) => Effective::Merged {
                doc: Box::new(merge(lowest.format, &docs)),
                model,
            },
            None => Effective::NothingRead,
        }
    }

    /// The inputs the effective configuration stands for: every layer, or those up to
    /// the one that failed (the rest are still audited as files of their own).
    pub fn used_layers(&self, effective: &Effective) -> &[usize] {
        match effective {
            Effective::Failed { at } => &self.layers[..=*at],
            _ => &self.layers,
        }
    }
}

/// Every device in `inputs`: per directory (in path order), Yealink devices, then Poly.
pub fn devices(inputs: &[Input]) -> Vec<Device> {
    let mut by_dir: BTreeMap<&Path, BTreeMap<String, usize>> = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        if let Some(name) = input.path.file_name() {
            by_dir
                .entry(input.path.parent().unwrap_or(Path::new("")))
                .or_default()
                .insert(name.to_string_lossy().into_owned(), i);
        }
    }
    let mut out = Vec::new();
    for (dir, names) in by_dir {
        let dir = Dir {
            path: dir,
            names,
            inputs,
        };
        out.extend(yealink_devices(&dir));
        out.extend(poly_devices(&dir));
    }
    out
}

/// One directory's files by name (sorted).
struct Dir<'a> {
    path: &'a Path,
    names: BTreeMap<String, usize>,
    inputs: &'a [Input<'a>],
}

impl<'a> Dir<'a> {
    fn loaded(&self, name: &str) -> Option<&'a Loaded> {
        match self.inputs[*self.names.get(name)?].state {
            InputState::Loaded(l) => Some(l),
            _ => None,
        }
    }

    fn device(&self, name: &str, layers: Vec<String>) -> Device {
        Device {
            path: self.path.join(name),
            layers: layers.iter().map(|n| self.names[n]).collect(),
            layer_names: layers,
        }
    }
}

/// Yealink: `<mac>.cfg` files the phone's boot file (or, without one, the single
/// `y0000000000XX.cfg` common file) layers under.
fn yealink_devices(dir: &Dir) -> Vec<Device> {
    let commons: Vec<&String> = dir
        .names
        .keys()
        .filter(|n| n.len() == 17 && n.starts_with("y0000000000") && n.ends_with(".cfg"))
        .collect();
    // The first boot file by name, if it could be read.
    let boot = dir
        .names
        .keys()
        .find(|n| n.ends_with(".boot"))
        .and_then(|b| match dir.loaded(b)? {
            Loaded::Unrecognised { boot_includes, .. } => boot_includes.as_ref(),
            _ => None,
        });
    let mut out = Vec::new();
    for mac in dir.names.keys().filter(|n| is_mac_file(n)) {
        let is_yealink = matches!(
            dir.loaded(mac),
            Some(Loaded::Config { detected, .. } | Loaded::Malformed { detected, .. })
                if matches!(detected.format, Format::YealinkV7x | Format::YealinkV8x)
        );
        if !is_yealink {
            continue;
        }
        let stem = mac.trim_end_matches(".cfg");
        // Later includes override earlier ones, so reverse for highest-first.
        let mut layers: Vec<String> = match boot {
            Some(includes) => includes
                .iter()
                .map(|f| f.replace("{mac}", stem).replace("$mac", stem))
                .filter(|f| dir.names.contains_key(f))
                .rev()
                .collect(),
            None if commons.len() == 1 => vec![mac.clone(), commons[0].clone()],
            None => vec![mac.clone()],
        };
        if !layers.contains(mac) {
            layers.insert(0, mac.clone());
        }
        out.push(dir.device(mac, layers));
    }
    out
}

/// Poly: phones known by their MAC-prefixed files, each layered by the `CONFIG_FILES` of
/// its own `<mac>.cfg` master, or else of the default `000000000000.cfg`.
fn poly_devices(dir: &Dir) -> Vec<Device> {
    let master = |name: &str| match dir.loaded(name)? {
        Loaded::Config { doc, .. } if doc.format == Format::PolyXml => {
            doc.config_files.is_some().then_some(doc)
        }
        _ => None,
    };
    let default_master = master("000000000000.cfg");
    let mut macs: Vec<String> = dir
        .names
        .keys()
        .filter_map(|n| {
            let stem = n.get(..12)?;
            (stem.bytes().all(|b| b.is_ascii_hexdigit()) && stem != "000000000000")
                .then(|| stem.to_ascii_lowercase())
        })
        .collect();
    // Names sort case-sensitively, so one MAC's files need not be adjacent.
    macs.sort();
    macs.dedup();
    let find = |wanted: &str| {
        dir.names
            .keys()
            .find(|n| n.eq_ignore_ascii_case(wanted))
            .cloned()
    };
    let mut out = Vec::new();
    for mac in macs {
        let own = find(&format!("{mac}.cfg")).and_then(|n| master(&n));
        let Some(master) = own.or(default_master) else {
            continue;
        };
        let layers: Vec<String> = poly_config_files(master, &mac)
            .iter()
            .filter_map(|f| find(f))
            .collect();
        if !layers.is_empty() {
            out.push(dir.device(&mac, layers));
        }
    }
    out
}

/// Merge documents given in priority order (highest priority first): a key takes the
/// value of the first document that has it. Entries keep their own line numbers.
fn merge(format: Format, highest_first: &[&Document]) -> Document {
    let mut merged = Document::new(format, b"");
    // Push lowest priority first so later pushes (higher priority) win.
    for doc in highest_first.iter().rev() {
        for key in doc.keys() {
            if let Some(e) = doc.get(key) {
                merged.push(e.clone());
            }
        }
    }
    merged
}

/// Poly: the `CONFIG_FILES` of a master file with `[PHONE_MAC_ADDRESS]` filled in.
/// UC Software gives the leftmost file priority.
fn poly_config_files(master: &Document, mac: &str) -> Vec<String> {
    master
        .config_files
        .iter()
        .flatten()
        .map(|f| f.replace("[PHONE_MAC_ADDRESS]", mac))
        .collect()
}

/// Is this a 12-hex-digit device file name (`<mac>.cfg`, any case), not the default one?
fn is_mac_file(name: &str) -> bool {
    name.strip_suffix(".cfg").is_some_and(|stem| {
        stem.len() == 12 && stem.bytes().all(|b| b.is_ascii_hexdigit()) && stem != "000000000000"
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;

    const MASTER: &str = r#"<APPLICATION APP_FILE_PATH="sip.ld" CONFIG_FILES="[PHONE_MAC_ADDRESS]-user.cfg, site.cfg"/>"#;
    const POLY_SETTINGS: &str = r#"<polycomConfig><httpd httpd.enabled="0"/></polycomConfig>"#;
    const YEALINK: &str = "#!version:1.0.0.1\nstatic.wifi.enable = 0\n";
    const BOOT: &str =
        "#!version:1.0.0.1\ninclude:config \"y000000000096.cfg\"\ninclude:config \"$mac.cfg\"\n";

    /// A set of files, loaded; `None` content marks a file that was not read (skipped).
    struct Files {
        paths: Vec<PathBuf>,
        loaded: Vec<Option<Loaded>>,
    }

    impl Files {
        fn new(files: &[(&str, Option<&str>)]) -> Files {
            let paths: Vec<PathBuf> = files.iter().map(|(p, _)| PathBuf::from(p)).collect();
            let loaded = files
                .iter()
                .zip(&paths)
                .map(|((_, content), p)| {
                    let name = p.file_name().unwrap().to_string_lossy();
                    content.map(|c| load(&name, c.as_bytes()))
                })
                .collect();
            Files { paths, loaded }
        }

        fn inputs(&self) -> Vec<Input<'_>> {
            self.paths
                .iter()
                .zip(&self.loaded)
                .map(|(path, l)| Input {
                    path,
                    state: l.as_ref().map_or(InputState::Skipped, InputState::Loaded),
                })
                .collect()
        }

        /// (device path, layer names) of every device.
        fn devices(&self) -> Vec<(String, Vec<String>)> {
            devices(&self.inputs())
                .into_iter()
                .map(|d| {
                    for (&i, name) in d.layers.iter().zip(&d.layer_names) {
                        assert_eq!(self.paths[i].file_name().unwrap().to_string_lossy(), **name);
                    }
                    (d.path.display().to_string(), d.layer_names)
                })
                .collect()
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn yealink_boot_file_orders_the_layers_and_fills_in_the_mac() {
        let f = Files::new(&[
            ("d/y000000000000.boot", Some(BOOT)),
            ("d/y000000000096.cfg", Some(YEALINK)),
            ("d/y000000000044.cfg", Some(YEALINK)),
            ("d/805EC0AABBCC.cfg", Some(YEALINK)),
        ]);
        // The later include wins; the common file the boot file does not list is left out.
        assert_eq!(
            f.devices(),
            vec![(
                "d/805EC0AABBCC.cfg".into(),
                strings(&["805EC0AABBCC.cfg", "y000000000096.cfg"])
            )]
        );
    }

    #[test]
    fn yealink_device_file_comes_first_even_when_the_boot_file_omits_it() {
        let boot = "include:config \"y000000000096.cfg\"\ninclude:config \"missing.cfg\"\n";
        let f = Files::new(&[
            ("d/y000000000000.boot", Some(boot)),
            ("d/y000000000096.cfg", Some(YEALINK)),
            ("d/001565aabbcc.cfg", Some(YEALINK)),
        ]);
        assert_eq!(
            f.devices(),
            vec![(
                "d/001565aabbcc.cfg".into(),
                strings(&["001565aabbcc.cfg", "y000000000096.cfg"])
            )]
        );
    }

    #[test]
    fn yealink_without_a_boot_file_uses_a_single_common_file_only() {
        let one = Files::new(&[
            ("d/y000000000096.cfg", Some(YEALINK)),
            ("d/001565aabbcc.cfg", Some(YEALINK)),
        ]);
        assert_eq!(
            one.devices(),
            vec![(
                "d/001565aabbcc.cfg".into(),
                strings(&["001565aabbcc.cfg", "y000000000096.cfg"])
            )]
        );
        // Two common files: which one the phone loads depends on its model; not guessed.
        let two = Files::new(&[
            ("d/y000000000096.cfg", Some(YEALINK)),
            ("d/y000000000044.cfg", Some(YEALINK)),
            ("d/001565aabbcc.cfg", Some(YEALINK)),
        ]);
        assert_eq!(
            two.devices(),
            vec![("d/001565aabbcc.cfg".into(), strings(&["001565aabbcc.cfg"]))]
        );
        // A boot file that was not read counts as absent.
        let unread_boot = Files::new(&[
            ("d/y000000000000.boot", None),
            ("d/y000000000096.cfg", Some(YEALINK)),
            ("d/001565aabbcc.cfg", Some(YEALINK)),
        ]);
        assert_eq!(
            unread_boot.devices()[0].1,
            strings(&["001565aabbcc.cfg", "y000000000096.cfg"])
        );
    }

    #[test]
    fn yealink_devices_are_only_yealink_mac_files() {
        let f = Files::new(&[
            // The default name is no device.
            ("d/000000000000.cfg", Some(YEALINK)),
            // Not 12 hex digits, or not .cfg.
            ("d/001565aabbc.cfg", Some(YEALINK)),
            ("d/001565aabbcg.cfg", Some(YEALINK)),
            ("d/001565aabbcc.txt", Some(YEALINK)),
            // Not read, or not Yealink.
            ("d/001565000001.cfg", None),
            ("d/001565000002.cfg", Some("P276 = 0\n")),
            ("d/001565000003.cfg", Some("")),
        ]);
        assert_eq!(f.devices(), vec![]);
        // A Yealink file that fails to parse is still a device (whose audit reports the error).
        let bad = Files::new(&[(
            "d/001565aabbcc.cfg",
            Some("#!version:1.0.0.1\nno line of this file\nis `key = value`\n"),
        )]);
        assert!(matches!(bad.loaded[0], Some(Loaded::Malformed { .. })));
        assert_eq!(bad.devices().len(), 1);
    }

    #[test]
    fn poly_default_master_lists_the_layers_leftmost_first() {
        let f = Files::new(&[
            ("p/000000000000.cfg", Some(MASTER)),
            ("p/0004F2AABBCC-user.cfg", Some(POLY_SETTINGS)),
            ("p/site.cfg", Some(POLY_SETTINGS)),
            ("p/0004f2000001-user.cfg", Some(POLY_SETTINGS)),
        ]);
        // File names match case-insensitively; the device is named by its lowercase MAC.
        assert_eq!(
            f.devices(),
            vec![
                (
                    "p/0004f2000001".into(),
                    strings(&["0004f2000001-user.cfg", "site.cfg"])
                ),
                (
                    "p/0004f2aabbcc".into(),
                    strings(&["0004F2AABBCC-user.cfg", "site.cfg"])
                ),
            ]
        );
    }

    #[test]
    fn poly_own_master_wins_over_the_default() {
        let own = r#"<APPLICATION CONFIG_FILES="phone1.cfg, [PHONE_MAC_ADDRESS]-user.cfg"/>"#;
        let f = Files::new(&[
            ("p/000000000000.cfg", Some(MASTER)),
            ("p/0004f2aabbcc.cfg", Some(own)),
            ("p/0004f2aabbcc-user.cfg", Some(POLY_SETTINGS)),
            ("p/phone1.cfg", Some(POLY_SETTINGS)),
            ("p/site.cfg", Some(POLY_SETTINGS)),
        ]);
        assert_eq!(
            f.devices(),
            vec![(
                "p/0004f2aabbcc".into(),
                strings(&["phone1.cfg", "0004f2aabbcc-user.cfg"])
            )]
        );
    }

    #[test]
    fn poly_needs_a_master_and_a_listed_file() {
        // No master; a settings file named like a master; a master that was not read.
        for master in [
            None,
            Some(("p/000000000000.cfg", Some(POLY_SETTINGS))),
            Some(("p/000000000000.cfg", None)),
        ] {
            let mut files = vec![
                ("p/0004f2aabbcc-user.cfg", Some(POLY_SETTINGS)),
                ("p/site.cfg", Some(POLY_SETTINGS)),
            ];
            files.extend(master);
            assert_eq!(Files::new(&files).devices(), vec![], "{master:?}");
        }
        // A master whose files are all missing makes no device.
        let f = Files::new(&[
            ("p/000000000000.cfg", Some(MASTER)),
            ("p/0004f2aabbcc.htm", Some(POLY_SETTINGS)),
        ]);
        assert_eq!(f.devices(), vec![]);
    }

    #[test]
    fn one_poly_device_per_mac_whatever_the_case_of_its_files() {
        // Sorted by name, these MAC files are not adjacent.
        let f = Files::new(&[
            ("p/000000000000.cfg", Some(MASTER)),
            ("p/0004F2AABBCC-user.cfg", Some(POLY_SETTINGS)),
            ("p/0004F2AABBCD.htm", Some(POLY_SETTINGS)),
            ("p/0004f2aabbcc-extra.cfg", Some(POLY_SETTINGS)),
        ]);
        let names: Vec<String> = f.devices().into_iter().map(|(p, _)| p).collect();
        assert_eq!(names, vec!["p/0004f2aabbcc"]);
    }

    #[test]
    fn devices_are_found_per_directory() {
        let f = Files::new(&[
            ("a/y000000000096.cfg", Some(YEALINK)),
            ("b/001565aabbcc.cfg", Some(YEALINK)),
            ("b/000000000000.cfg", Some(MASTER)),
            ("b/site.cfg", Some(POLY_SETTINGS)),
            ("a/0004f2aabbcc-user.cfg", Some(POLY_SETTINGS)),
        ]);
        // b's Yealink device does not see a's common file; a's Poly file has no master in a.
        // The Yealink .cfg in b is MAC-named, so b's master layers it under its MAC too.
        assert_eq!(
            f.devices(),
            vec![
                ("b/001565aabbcc.cfg".into(), strings(&["001565aabbcc.cfg"])),
                ("b/001565aabbcc".into(), strings(&["site.cfg"])),
            ]
        );
    }

    fn effective_of(f: &Files) -> (Device, Effective) {
        let inputs = f.inputs();
        let d = devices(&inputs).remove(0);
        let e = d.effective(&inputs);
        (d, e)
    }

    #[test]
    fn the_highest_priority_layer_wins_key_by_key() {
        let f = Files::new(&[
            (
                "d/y000000000096.cfg",
                Some("static.wifi.enable = 1\nfeatures.bluetooth_enable = 1\n"),
            ),
            (
                "d/001565aabbcc.cfg",
                Some("#!version:1.0.0.1\nstatic.wifi.enable = 0\n"),
            ),
        ]);
        let (d, e) = effective_of(&f);
        let Effective::Merged { doc, model } = e else {
            panic!("{e:?}")
        };
        assert_eq!(doc.get("static.wifi.enable").unwrap().value, "0");
        assert_eq!(doc.get("features.bluetooth_enable").unwrap().value, "1");
        // Lines are each layer's own.
        assert_eq!(doc.get("static.wifi.enable").unwrap().line, 2);
        // The model comes from the only layer that names one (the common file's code).
        assert_eq!(model.as_deref(), Some("yealink-code-96"));
        assert_eq!(doc.format, Format::YealinkV8x);
        assert_eq!(d.used_layers(&Effective::NothingRead), &d.layers[..]);
    }

    #[test]
    fn a_layer_that_fails_stops_the_device_and_frees_the_rest() {
        let f = Files::new(&[
            ("p/000000000000.cfg", Some(MASTER)),
            (
                "p/0004f2aabbcc-user.cfg",
                Some("<polycomConfig><a a.b=\"1\"></polycomConfig>"),
            ),
            ("p/site.cfg", Some(POLY_SETTINGS)),
        ]);
        assert!(matches!(f.loaded[1], Some(Loaded::Malformed { .. })));
        let (d, e) = effective_of(&f);
        assert!(matches!(e, Effective::Failed { at: 0 }), "{e:?}");
        assert_eq!(d.used_layers(&e), &[1]);
        // An unreadable layer fails the same way.
        let f = Files::new(&[
            ("p/000000000000.cfg", Some(MASTER)),
            ("p/0004f2aabbcc-user.cfg", Some(POLY_SETTINGS)),
            ("p/site.cfg", Some(POLY_SETTINGS)),
        ]);
        let mut inputs = f.inputs();
        inputs[2].state = InputState::Failed;
        let d = devices(&inputs).remove(0);
        let e = d.effective(&inputs);
        assert!(matches!(e, Effective::Failed { at: 1 }), "{e:?}");
        assert_eq!(d.used_layers(&e), &[1, 2]);
    }

    #[test]
    fn skipped_and_unrecognised_layers_are_passed_over() {
        let f = Files::new(&[
            ("p/000000000000.cfg", Some(MASTER)),
            ("p/0004f2aabbcc-user.cfg", None),
            ("p/site.cfg", Some(POLY_SETTINGS)),
        ]);
        let (_, e) = effective_of(&f);
        assert!(
            matches!(e, Effective::Merged { ref doc, .. } if doc.get("httpd.enabled").is_some())
        );
        let f = Files::new(&[
            ("p/000000000000.cfg", Some(MASTER)),
            ("p/0004f2aabbcc-user.cfg", None),
            ("p/site.cfg", Some("")),
        ]);
        let (d, e) = effective_of(&f);
        assert!(matches!(e, Effective::NothingRead), "{e:?}");
        assert_eq!(d.used_layers(&e).len(), 2);
    }

    #[test]
    fn merged_format_is_the_lowest_layers_and_model_the_highest_layers() {
        let f = Files::new(&[
            (
                "d/y000000000000.boot",
                Some("include:config \"y000000000044.cfg\"\ninclude:config \"{mac}.cfg\"\n"),
            ),
            ("d/y000000000044.cfg", Some("wifi.enable = 1\n")),
            (
                "d/001565aabbcc.cfg",
                Some("# hookswitch-model: T54W\nstatic.wifi.enable = 0\n"),
            ),
        ]);
        let (_, e) = effective_of(&f);
        let Effective::Merged { doc, model } = e else {
            panic!("{e:?}")
        };
        assert_eq!(doc.format, Format::YealinkV7x);
        assert_eq!(model.as_deref(), Some("t54w"));
    }
}
