//! What is loaded onto an endpoint out of band (`hookswitch enroll`): the trusted root and,
//! optionally, the device identity. Three forms: a plain `root.json`, the JSON bundle, or
//! ASCII lines for a serial console. The file crosses from the operator to the device, so
//! every malformed form is refused with the line at fault, never half-read.

/// A parsed enrollment: the exact root bytes to trust, and the device identity if given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub root: Vec<u8>,
    pub device_id: Option<String>,
}

/// First line of the serial-console form.
pub const SERIAL_HEADER: &str = "HOOKSWITCH-ENROLL v1";
/// Last line of the serial-console form.
pub const SERIAL_END: &str = "HOOKSWITCH-ENROLL END";
/// The JSON bundle's `format`.
pub const JSON_FORMAT: &str = "hookswitch-enrollment-v1";

/// A device identity: 1 to 64 of `A-Z a-z 0-9 . _ : -` (MAC addresses, serial numbers).
pub fn check_device_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("device_id {id:?}: 1 to 64 of A-Z a-z 0-9 . _ : -"))
    }
}

/// The serial-console form: ASCII lines, the root in hex with its sha256 to catch line noise.
pub fn write_serial(root: &[u8], root_version: u64, device_id: &str) -> Result<String, String> {
    check_device_id(device_id)?;
    let mut s = format!(
        "{SERIAL_HEADER}\ndevice_id {device_id}\nroot_version {root_version}\nroot_sha256 {}\n",
        crate::crypto::sha256_hex(root)
    );
    for chunk in hex::encode(root).as_bytes().chunks(64) {
        s.push_str("root ");
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(SERIAL_END);
    s.push('\n');
    Ok(s)
}

/// The JSON bundle: the root embedded as JSON, and the device identity.
pub fn write_json(root: &[u8], device_id: &str) -> Result<String, String> {
    check_device_id(device_id)?;
    let root: serde_json::Value = serde_json::from_slice(root).map_err(|e| format!("root: {e}"))?;
    let doc = serde_json::json!({"format": JSON_FORMAT, "device_id": device_id, "root": root});
    serde_json::to_string_pretty(&doc)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

pub fn parse(file: &[u8]) -> Result<Enrollment, String> {
    if file.starts_with(SERIAL_HEADER.as_bytes()) {
        return parse_serial(file);
    }
    let v: serde_json::Value =
        serde_json::from_slice(file).map_err(|e| format!("not JSON: {e}"))?;
    match v.get("format") {
        None => {
            if v.get("signed").is_none() || v.get("signatures").is_none() {
                return Err("neither an enrollment bundle nor a root.json".into());
            }
            Ok(Enrollment {
                root: file.to_vec(),
                device_id: None,
            })
        }
        Some(f) if f == JSON_FORMAT => {
            let id = v
                .get("device_id")
                .and_then(|d| d.as_str())
                .ok_or("device_id: missing or not a string")?;
            check_device_id(id)?;
            let root = v
                .get("root")
                .filter(|r| r.is_object())
                .ok_or("root: missing or not an object")?;
            Ok(Enrollment {
                root: serde_json::to_vec(root).map_err(|e| e.to_string())?,
                device_id: Some(id.to_string()),
            })
        }
        Some(f) => Err(format!("format {f}: expected {JSON_FORMAT:?}")),
    }
}

fn parse_serial(file: &[u8]) -> Result<Enrollment, String> {
    let text = std::str::from_utf8(file).map_err(|_| "serial enrollment: not UTF-8 text")?;
    let (mut device, mut sha, mut version, mut hex, mut ended) =
        (None, None, None, String::new(), false);
    for (n, line) in text.lines().enumerate().skip(1) {
        let at = |reason: String| format!("line {}: {reason}", n + 1);
        let line = line.trim_end_matches('\r');
        if ended {
            if line.trim().is_empty() {
                continue;
            }
            return Err(at("text after the END line".into()));
        }
        if line == SERIAL_END {
            ended = true;
            continue;
        }
        let (key, value) = line
            .split_once(' ')
            .ok_or_else(|| at(format!("{line:?} is not `key value`")))?;
        let once = |slot: &mut Option<String>| -> Result<(), String> {
            if slot.replace(value.to_string()).is_some() {
                return Err(at(format!("{key} given twice")));
            }
            Ok(())
        };
        match key {
            "device_id" => {
                check_device_id(value).map_err(&at)?;
                once(&mut device)?;
            }
            "root_sha256" => once(&mut sha)?,
            "root_version" => once(&mut version)?,
            "root" if value.len() <= 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) => {
                hex.push_str(value)
            }
            "root" => return Err(at("root: not up to 64 hex digits".into())),
            _ => return Err(at(format!("unknown key {key:?}"))),
        }
    }
    if !ended {
        return Err(format!(
            "serial enrollment: no {SERIAL_END:?} line (cut short?)"
        ));
    }
    if hex.len() % 2 != 0 {
        return Err("serial enrollment: odd number of hex digits".into());
    }
    let root = hex::decode(&hex).map_err(|e| format!("serial enrollment: {e}"))?;
    let sha = sha.ok_or("serial enrollment: no root_sha256 line")?;
    if !sha.eq_ignore_ascii_case(&crate::crypto::sha256_hex(&root)) {
        return Err("serial enrollment: the root does not match its sha256 (line noise?)".into());
    }
    Ok(Enrollment {
        root,
        device_id: device,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let repo = crate::testkit::Repo::new();
        let root = repo.trusted_root();
        let serial = write_serial(&root, 1, "001565aabbcc").unwrap();
        let e = parse(serial.as_bytes()).unwrap();
        assert_eq!(
            (e.root, e.device_id.as_deref()),
            (root.clone(), Some("001565aabbcc"))
        );
        let json = write_json(&root, "001565aabbcc").unwrap();
        let e = parse(json.as_bytes()).unwrap();
        assert_eq!(e.device_id.as_deref(), Some("001565aabbcc"));
        // Re-serialised JSON still verifies: signatures cover the canonical form.
        crate::Client::new(&e.root, 1_900_000_000).unwrap();
        assert!(write_serial(&root, 1, "../x").is_err());
    }

    fn serial(root: &[u8], extra: &str) -> String {
        let mut s = format!(
            "{SERIAL_HEADER}\ndevice_id 001565aabbcc\nroot_version 1\nroot_sha256 {}\n{extra}",
            crate::crypto::sha256_hex(root)
        );
        for c in hex::encode(root).as_bytes().chunks(64) {
            s += &format!("root {}\n", std::str::from_utf8(c).unwrap());
        }
        s + SERIAL_END + "\n"
    }

    #[test]
    fn the_three_forms() {
        let root = br#"{"signed":{},"signatures":[]}"#;
        let e = parse(serial(root, "").as_bytes()).unwrap();
        assert_eq!(e.root, root);
        assert_eq!(e.device_id.as_deref(), Some("001565aabbcc"));
        let e = parse(root).unwrap();
        assert_eq!((e.root.as_slice(), e.device_id), (&root[..], None));
        let bundle = format!(
            r#"{{"format":"{JSON_FORMAT}","device_id":"SEP001122AABBCC","root":{}}}"#,
            std::str::from_utf8(root).unwrap()
        );
        assert_eq!(
            parse(bundle.as_bytes()).unwrap().device_id.as_deref(),
            Some("SEP001122AABBCC")
        );
    }

    #[test]
    fn damaged_files_are_refused_with_the_line() {
        let root = br#"{"signed":{},"signatures":[]}"#;
        let good = serial(root, "");
        // Cut short: no END line.
        let cut = &good[..good.len() - SERIAL_END.len() - 1];
        assert!(parse(cut.as_bytes()).unwrap_err().contains("END"));
        // A flipped hex digit.
        let noisy = good.replacen("root 7b", "root 7c", 1);
        assert!(parse(noisy.as_bytes()).unwrap_err().contains("sha256"));
        let e = parse(serial(root, "colour blue\n").as_bytes()).unwrap_err();
        assert!(e.starts_with("line 5:"), "{e}");
        let e = parse(serial(root, "device_id other\n").as_bytes()).unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let e = parse(good.replace("001565aabbcc", "../../etc").as_bytes()).unwrap_err();
        assert!(e.contains("device_id"), "{e}");
        assert!(parse(b"{\"format\":\"other\"}").is_err());
        assert!(parse(b"{\"hello\":1}").is_err());
        assert!(parse(b"\xff").is_err());
    }
}
