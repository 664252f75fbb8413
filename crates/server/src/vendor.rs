//! The file names real phones ask for, from a config target's `custom.device_id` (the MAC)
//! and `custom.hardware` (`vendor/model`, as `repo stage --hardware` records it). Pure.
//!
//! Sources: Yealink and Poly request `<mac>.cfg` (Poly also the `000000000000.cfg` master);
//! Cisco CUCM phones `SEP<MAC>.cnf.xml`, Cisco MPP (3PCC) firmware `<mac>.xml` with the
//! usual `$MA` profile rule; Grandstream `cfg<mac>.xml`; Snom `<MAC>.xml` (issue 11).

/// The name of Poly's master configuration, shared by every phone of a site.
pub const POLY_MASTER: &str = "000000000000.cfg";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Yealink,
    Poly,
    CiscoEnterprise,
    CiscoMpp,
    Grandstream,
    Snom,
}

impl Vendor {
    /// The vendor a `hardware` string names: its first word (`yealink/T54W`,
    /// `Cisco CP-8841`, `cisco/cp-6841-3pcc`), Cisco MPP when a later word is `mpp` or ends
    /// in `3pcc`. None for anything else (`unknown`).
    pub fn from_hardware(hardware: &str) -> Option<Vendor> {
        let lower = hardware.to_ascii_lowercase();
        let mut words = lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty());
        let first = words.next()?;
        Some(match first {
            "yealink" => Vendor::Yealink,
            "poly" | "polycom" => Vendor::Poly,
            "cisco" if words.any(|w| w == "mpp" || w.ends_with("3pcc")) => Vendor::CiscoMpp,
            "cisco" => Vendor::CiscoEnterprise,
            "grandstream" => Vendor::Grandstream,
            "snom" => Vendor::Snom,
            _ => return None,
        })
    }
}

/// The 12 hex digits of a MAC address, lower case (`:`, `-` and `.` separators allowed).
pub fn mac(device_id: &str) -> Option<String> {
    let digits: String = device_id
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    (digits.len() == 12 && digits.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| digits.to_ascii_lowercase())
}

/// The path (without the leading `/`) the phone requests its own configuration under.
/// None when the vendor is unknown or the device ID is not a MAC address.
pub fn config_path(device_id: &str, hardware: &str) -> Option<String> {
    let mac = mac(device_id)?;
    let upper = mac.to_ascii_uppercase();
    Some(match Vendor::from_hardware(hardware)? {
        Vendor::Yealink | Vendor::Poly => format!("{mac}.cfg"),
        Vendor::CiscoEnterprise => format!("SEP{upper}.cnf.xml"),
        Vendor::CiscoMpp => format!("{mac}.xml"),
        Vendor::Grandstream => format!("cfg{mac}.xml"),
        Vendor::Snom => format!("{upper}.xml"),
    })
}

/// A public (non-config) target served under a vendor name too: Poly's master
/// configuration, published under any directory as `…/000000000000.cfg`.
pub fn public_path(target_path: &str) -> Option<&'static str> {
    let name = target_path.rsplit('/').next()?;
    (name == POLY_MASTER).then_some(POLY_MASTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yealink_asks_for_the_lower_case_mac() {
        assert_eq!(
            config_path("001565AABBCC", "yealink/T54W").as_deref(),
            Some("001565aabbcc.cfg")
        );
    }

    #[test]
    fn poly_asks_for_the_mac_and_the_master_is_public() {
        assert_eq!(
            config_path("00:04:f2:ab:cd:ef", "Polycom VVX 450").as_deref(),
            Some("0004f2abcdef.cfg")
        );
        assert_eq!(
            config_path("0004f2abcdef", "poly/ccx600").as_deref(),
            Some("0004f2abcdef.cfg")
        );
        assert_eq!(
            public_path("bootstrap/000000000000.cfg"),
            Some("000000000000.cfg")
        );
        assert_eq!(public_path("firmware/T54W.rom"), None);
    }

    #[test]
    fn cisco_enterprise_asks_for_sep_and_upper_case_mac() {
        assert_eq!(
            config_path("001122aabbcc", "cisco/CP-8841").as_deref(),
            Some("SEP001122AABBCC.cnf.xml")
        );
    }

    #[test]
    fn cisco_mpp_asks_for_the_lower_case_mac_xml() {
        assert_eq!(
            config_path("001122aabbcc", "cisco/CP-6841-3PCC").as_deref(),
            Some("001122aabbcc.xml")
        );
        assert_eq!(
            config_path("001122aabbcc", "Cisco MPP 8851").as_deref(),
            Some("001122aabbcc.xml")
        );
    }

    #[test]
    fn grandstream_asks_for_cfg_and_the_mac() {
        assert_eq!(
            config_path("000b82-123456", "grandstream/GRP2612").as_deref(),
            Some("cfg000b82123456.xml")
        );
    }

    #[test]
    fn snom_asks_for_the_upper_case_mac_xml() {
        assert_eq!(
            config_path("000413aabbcc", "snom/D785").as_deref(),
            Some("000413AABBCC.xml")
        );
    }

    #[test]
    fn unknown_vendors_and_non_mac_ids_get_no_vendor_path() {
        assert_eq!(config_path("001565aabbcc", "unknown"), None);
        assert_eq!(config_path("001565aabbcc", ""), None);
        assert_eq!(config_path("phone-7", "yealink/T54W"), None);
        assert_eq!(config_path("001565aabbcg", "yealink/T54W"), None);
        assert_eq!(config_path("../../etc/x", "yealink/T54W"), None);
    }
}
