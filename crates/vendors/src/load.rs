//! One file's bytes understood: detected and parsed once, for the audit, `harden` and
//! `--layered` alike.

use crate::{detect, parse, Detected, Document, Format, ParseError, Unrecognised};

/// What detection and parsing made of one file.
// One per input file, built once and not moved around: boxing the document would only add
// an allocation per file.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Loaded {
    /// A configuration file, detected and parsed (a Poly master file included).
    Config { detected: Detected, doc: Document },
    /// Detected, but its parser refused it.
    Malformed {
        detected: Detected,
        error: ParseError,
    },
    /// Not a configuration file hookswitch reads.
    Unrecognised {
        why: Unrecognised,
        /// A Yealink boot file's `include:config` list, kept for `--layered`.
        boot_includes: Option<Vec<String>>,
    },
}

/// Detect `bytes` (`file_name` is a hint, no directory) and parse them.
pub fn load(file_name: &str, bytes: &[u8]) -> Loaded {
    match detect(file_name, bytes) {
        Ok(detected) => parsed(detected, bytes),
        Err(why) => Loaded::Unrecognised {
            why,
            boot_includes: is_yealink_boot(file_name)
                .then(|| yealink_boot_includes(&String::from_utf8_lossy(bytes))),
        },
    }
}

/// Parse `bytes` as `format`, without detection (the caller named the format).
pub fn load_as(format: Format, bytes: &[u8]) -> Loaded {
    parsed(
        Detected {
            format,
            model: None,
        },
        bytes,
    )
}

fn parsed(detected: Detected, bytes: &[u8]) -> Loaded {
    match parse(detected.format, bytes) {
        Ok(doc) => Loaded::Config { detected, doc },
        Err(error) => Loaded::Malformed { detected, error },
    }
}

/// Yealink phones fetch a `.boot` file that names their configuration files.
fn is_yealink_boot(file_name: &str) -> bool {
    file_name.ends_with(".boot")
}

/// Yealink: the `include:config` files of a `y000000000000.boot` file, in order.
/// Later files override earlier ones, so the per-device `<mac>.cfg` comes last.
fn yealink_boot_includes(boot: &str) -> Vec<String> {
    boot.lines()
        .filter_map(|l| l.trim().strip_prefix("include:config"))
        .map(|rest| rest.trim().trim_matches('"').trim().to_string())
        .filter(|f| !f.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_boot_file_keeps_its_include_list_in_order() {
        let boot = b"#!version:1.0.0.1\ninclude:config \"y000000000044.cfg\"\ninclude:config \"001565aabbcc.cfg\"\noverwrite_mode = 1\n";
        let Loaded::Unrecognised {
            why: Unrecognised::Index(_),
            boot_includes: Some(includes),
        } = load("y000000000000.boot", boot)
        else {
            panic!("a boot file is an index")
        };
        assert_eq!(includes, vec!["y000000000044.cfg", "001565aabbcc.cfg"]);
        // An empty boot file names no files (it is still a boot file).
        assert!(matches!(
            load("y000000000000.boot", b""),
            Loaded::Unrecognised { why: Unrecognised::Empty, boot_includes: Some(v) } if v.is_empty()
        ));
        // Only `.boot` files are read for includes.
        assert!(matches!(
            load("other.cfg", b"include:config \"a.cfg\"\n"),
            Loaded::Unrecognised {
                boot_includes: None,
                ..
            }
        ));
    }

    #[test]
    fn detection_then_one_parse() {
        assert!(matches!(
            load("y000000000044.cfg", b"static.wifi.enable = 0\n"),
            Loaded::Config { detected, .. } if detected.format == Format::YealinkV8x
                && detected.model.as_deref() == Some("yealink-code-44")
        ));
        assert!(matches!(
            load("site.cfg", b"<polycomConfig a.b=\"1\">"),
            Loaded::Malformed { detected, .. } if detected.format == Format::PolyXml
        ));
        assert!(matches!(
            load_as(Format::GrandstreamText, b""),
            Loaded::Config { detected, .. } if detected.format == Format::GrandstreamText
        ));
    }
}
