//! What the store keeps about a device, each field validated once, on the way in.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::StoreError;

/// A device identity: the rule of the agent's enrollment (`trust::enrollment::check_device_id`:
/// 1 to 64 of `A-Z a-z 0-9 . _ : -`), so an ID is safe in paths, logs and URLs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DeviceId(String);

impl DeviceId {
    pub fn parse(id: &str) -> Result<DeviceId, StoreError> {
        hookswitch_trust::enrollment::check_device_id(id).map_err(StoreError::InvalidDeviceId)?;
        Ok(DeviceId(id.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A MAC address, normalised to 12 lowercase hex digits (the form of `<mac>.cfg`).
/// Accepts `0015.65aa.bbcc`, `00:15:65:AA:BB:CC`, `00-15-65-aa-bb-cc` and `001565AABBCC`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Mac(String);

impl Mac {
    pub fn parse(text: &str) -> Result<Mac, StoreError> {
        let invalid = || {
            StoreError::InvalidMac(format!(
                "{text:?}: expected 12 hex digits, optionally grouped by `:`, `-` or `.`"
            ))
        };
        if text.len() > 17 {
            return Err(invalid());
        }
        let digits: String = text
            .chars()
            .filter(|c| !matches!(c, ':' | '-' | '.'))
            .collect();
        // One separator style at most, so `00:15-65...` is a typo, not a MAC.
        let separators: Vec<char> = text
            .chars()
            .filter(|c| matches!(c, ':' | '-' | '.'))
            .collect();
        let one_style = separators.windows(2).all(|w| w[0] == w[1]);
        if digits.len() != 12 || !digits.chars().all(|c| c.is_ascii_hexdigit()) || !one_style {
            return Err(invalid());
        }
        Ok(Mac(digits.to_ascii_lowercase()))
    }

    /// 12 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// SHA-256 of a certificate's DER encoding: what a TLS server sees of a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    pub fn of_der(der: &[u8]) -> CertFingerprint {
        CertFingerprint(Sha256::digest(der).into())
    }

    /// 64 hex digits, with or without `:` between bytes (the form `openssl x509 -fingerprint` prints).
    pub fn parse_hex(text: &str) -> Result<CertFingerprint, StoreError> {
        let digits: String = text.chars().filter(|&c| c != ':').collect();
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&digits, &mut bytes).map_err(|_| {
            StoreError::InvalidFingerprint(format!("{text:?}: expected 64 hex digits (SHA-256)"))
        })?;
        Ok(CertFingerprint(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits, the stored form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for CertFingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// Longest vendor or model name kept.
pub const MAX_LABEL_LEN: usize = 64;

/// A vendor or model name: 1 to 64 characters, no control characters (it is printed in listings).
pub(crate) fn check_label(field: &'static str, value: &str) -> Result<(), StoreError> {
    let reason = if value.trim().is_empty() {
        Some("empty".to_string())
    } else if value.chars().count() > MAX_LABEL_LEN {
        Some(format!("longer than {MAX_LABEL_LEN} characters"))
    } else if value.chars().any(char::is_control) {
        Some("contains a control character".to_string())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidField { field, reason }),
        None => Ok(()),
    }
}

/// A device to enroll; `new` validates every field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub id: DeviceId,
    pub vendor: String,
    pub model: String,
    pub mac: Option<Mac>,
}

impl NewDevice {
    pub fn new(
        id: &str,
        vendor: &str,
        model: &str,
        mac: Option<&str>,
    ) -> Result<NewDevice, StoreError> {
        check_label("vendor", vendor)?;
        check_label("model", model)?;
        let id = DeviceId::parse(id)?;
        let mut mac = mac.map(Mac::parse).transpose()?;
        // An ID that is a MAC address is that MAC: phones are named by it in any spelling
        // (the server treats `001565AABBCC` and `00:15:65:aa:bb:cc` as one device), so two
        // spellings must not become two devices with their own credentials. Recording the MAC
        // lets its uniqueness refuse the second one.
        if let Ok(id_mac) = Mac::parse(id.as_str()) {
            match &mac {
                Some(m) if *m != id_mac => {
                    return Err(StoreError::InvalidMac(format!(
                        "device {id} is MAC {id_mac}, not {m}"
                    )))
                }
                _ => mac = Some(id_mac),
            }
        }
        Ok(NewDevice {
            id,
            vendor: vendor.to_string(),
            model: model.to_string(),
            mac,
        })
    }
}

/// A stored device. It never carries the password hash: only whether one is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub id: DeviceId,
    pub vendor: String,
    pub model: String,
    pub mac: Option<Mac>,
    pub has_password: bool,
    /// Enrolled client certificates, sorted.
    pub certificates: Vec<CertFingerprint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_are_normalised_and_typos_refused() {
        for form in [
            "00:15:65:AA:BB:CC",
            "00-15-65-aa-bb-cc",
            "0015.65aa.bbcc",
            "001565AABBCC",
        ] {
            assert_eq!(Mac::parse(form).unwrap().as_str(), "001565aabbcc", "{form}");
        }
        for bad in [
            "",
            "001565aabbc",
            "001565aabbccd",
            "00:15-65:aa:bb:cc",
            "001565aabbcg",
            "00:15:65:aa:bb:cc:dd",
        ] {
            let e = Mac::parse(bad).unwrap_err().to_string();
            assert!(e.contains("12 hex digits"), "{bad}: {e}");
        }
    }

    #[test]
    fn device_ids_follow_the_enrollment_rule() {
        assert!(DeviceId::parse("SEP001122AABBCC").is_ok());
        assert!(DeviceId::parse("site-1.phone_2:a").is_ok());
        for bad in ["", "a/b", "../x", "a b", "é", &"x".repeat(65), "a\0"] {
            let e = DeviceId::parse(bad).unwrap_err().to_string();
            assert!(e.contains("A-Z a-z 0-9 . _ : -"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn fingerprints_read_both_hex_forms() {
        let fp = CertFingerprint::of_der(b"der");
        let colons: Vec<String> = fp.as_bytes().iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(CertFingerprint::parse_hex(&colons.join(":")).unwrap(), fp);
        assert_eq!(CertFingerprint::parse_hex(&fp.to_hex()).unwrap(), fp);
        assert!(CertFingerprint::parse_hex("abcd").is_err());
    }

    #[test]
    fn labels_are_bounded_and_printable() {
        assert!(NewDevice::new("d1", "yealink", "T54W", None).is_ok());
        let e = NewDevice::new("d1", "", "T54W", None).unwrap_err();
        assert!(e.to_string().contains("vendor"), "{e}");
        let e = NewDevice::new("d1", "poly", "x\u{1b}[2J", None).unwrap_err();
        assert!(e.to_string().contains("model"), "{e}");
        let e = NewDevice::new("d1", "poly", &"m".repeat(65), None).unwrap_err();
        assert!(e.to_string().contains("longer than 64"), "{e}");
    }
}
