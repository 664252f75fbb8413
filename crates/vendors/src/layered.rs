//! Vendors layer several files into one device configuration. This module computes the
//! file order of a device's set and merges parsed documents into one effective document.

use crate::{Document, Format};

/// Merge documents given in priority order (highest priority first): a key takes the
/// value of the first document that has it. Entries keep their own line numbers.
pub fn merge(format: Format, highest_first: &[&Document]) -> Document {
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
pub fn poly_config_files(master: &Document, mac: &str) -> Vec<String> {
    master
        .config_files
        .iter()
        .flatten()
        .map(|f| f.replace("[PHONE_MAC_ADDRESS]", mac))
        .collect()
}

/// Yealink: the `include:config` files of a `y000000000000.boot` file, in order.
/// Later files override earlier ones, so the per-device `<mac>.cfg` comes last.
pub fn yealink_boot_includes(boot: &str) -> Vec<String> {
    boot.lines()
        .filter_map(|l| l.trim().strip_prefix("include:config"))
        .map(|rest| rest.trim().trim_matches('"').trim().to_string())
        .filter(|f| !f.is_empty())
        .collect()
}

/// Is this a 12-hex-digit device file name (`<mac>.cfg`)? Returns the MAC, lowercased.
pub fn mac_file_stem(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".cfg")?;
    (stem.len() == 12 && stem.bytes().all(|b| b.is_ascii_hexdigit()) && stem != "000000000000")
        .then(|| stem.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_gives_the_first_document_priority() {
        let a = crate::parse(Format::YealinkV8x, b"static.wifi.enable = 0\n").unwrap();
        let b = crate::parse(
            Format::YealinkV8x,
            b"static.wifi.enable = 1\nfeatures.bluetooth_enable = 1\n",
        )
        .unwrap();
        let m = merge(Format::YealinkV8x, &[&a, &b]);
        assert_eq!(m.get("static.wifi.enable").unwrap().value, "0");
        assert_eq!(m.get("features.bluetooth_enable").unwrap().value, "1");
    }

    #[test]
    fn boot_and_master_lists() {
        let boot = "#!version:1.0.0.1\ninclude:config \"y000000000044.cfg\"\ninclude:config \"001565aabbcc.cfg\"\noverwrite_mode = 1\n";
        assert_eq!(
            yealink_boot_includes(boot),
            vec!["y000000000044.cfg", "001565aabbcc.cfg"]
        );
        let master = crate::parse(Format::PolyXml, br#"<APPLICATION APP_FILE_PATH="sip.ld" CONFIG_FILES="[PHONE_MAC_ADDRESS]-user.cfg, common.cfg"/>"#).unwrap();
        assert_eq!(
            poly_config_files(&master, "0004f2aabbcc"),
            vec!["0004f2aabbcc-user.cfg", "common.cfg"]
        );
        assert_eq!(
            mac_file_stem("0004F2AABBCC.cfg").as_deref(),
            Some("0004f2aabbcc")
        );
        assert_eq!(mac_file_stem("000000000000.cfg"), None);
    }
}
