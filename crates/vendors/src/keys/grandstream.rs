//! Grandstream P-values. A P-value's meaning changes with the model family, so every
//! rule names the families it holds for. The alias form (XML v2) uses the same rules
//! through [`ALIASES`].

use super::{Decode, KeyRule, OFF, ON};
use hookswitch_controls::{FetchScheme, Setting as S, SipTransport, SnmpSecurity, Value};

/// Map a model name (or a family name) to the family the rules are keyed on.
pub fn family_of(model: &str) -> Option<&'static str> {
    let m = model.trim().to_ascii_lowercase();
    let m = m
        .trim_start_matches("grandstream")
        .trim_start_matches(['-', ' ', '_']);
    if m.starts_with("grp") {
        Some("grp")
    } else if m.starts_with("gxp2124") {
        Some("gxp2124")
    } else if m.starts_with("gxp21") {
        Some("gxp21xx")
    } else if m.starts_with("dp715") {
        Some("dp715")
    } else if m.starts_with("wp820") {
        Some("wp820")
    } else {
        None
    }
}

/// The XML v2 alias of a P-value, where S1 grp2612 documents it.
pub(crate) const ALIASES: &[(&str, &str)] = &[
    ("P276", "security.ssh"),
    ("P1650", "security.webAccessMode"),
    ("P21896", "network.snmp.enable"),
    ("P21904", "network.snmp.version"),
    ("P21910", "network.snmp.securityLevel"),
    ("P2910", "bluetooth.power"),
    ("P7800", "network.wifi.enable"),
    ("P1348", "network.port.pc.mode"),
    ("P2", "users.admin.password"),
];

/// `P276` "Disable SSH"/"Disable Telnet": 1 disables the server.
const DISABLE_FLAG: &[(&str, Value)] = &[("0", ON), ("1", OFF)];
/// GRP `P1650`: 0 HTTPS, 1 HTTP, 2 disabled, 3 both.
const GRP_WEB_ON: &[(&str, Value)] = &[("0", ON), ("1", ON), ("2", OFF), ("3", ON)];
const GRP_WEB_HTTP: &[(&str, Value)] = &[("0", OFF), ("1", ON), ("2", OFF), ("3", ON)];
/// WP820 `P1650`: 0 HTTP, 1 HTTPS.
const WP820_WEB_HTTP: &[(&str, Value)] = &[("0", ON), ("1", OFF)];
/// `P2910` Bluetooth and `P7800` Wi-Fi: 0 off, 1 on, 2 off and hidden.
const RADIO: &[(&str, Value)] = &[("0", OFF), ("1", ON), ("2", OFF)];
/// `P1348`: 0 enabled, 1 disabled, 2 mirrored.
const PC_PORT: &[(&str, Value)] = &[("0", ON), ("1", OFF), ("2", ON)];
const PC_MIRROR: &[(&str, Value)] = &[("0", OFF), ("1", OFF), ("2", ON)];
const SNMP_ENABLE: &[(&str, Value)] = &[("0", OFF), ("1", ON)];
/// GRP `P212` config via: 0 TFTP, 1 HTTP, 2 HTTPS, 3 FTP, 4 FTPS.
const GRP_CONFIG_VIA: &[(&str, Value)] = &[
    ("0", Value::Fetch(FetchScheme::Tftp)),
    ("1", Value::Fetch(FetchScheme::Http)),
    ("2", Value::Fetch(FetchScheme::Https)),
    ("3", Value::Fetch(FetchScheme::Ftp)),
    ("4", Value::Fetch(FetchScheme::Ftps)),
];
/// `P130` SIP transport: 0 UDP, 1 TCP, 2 TLS.
const SIP_TRANSPORT: &[(&str, Value)] = &[
    ("0", Value::Sip(SipTransport::Udp)),
    ("1", Value::Sip(SipTransport::Tcp)),
    ("2", Value::Sip(SipTransport::Tls)),
];
/// `P183` SRTP: 0 off, 1 optional, 2 forced.
const SRTP: &[(&str, Value)] = &[("0", OFF), ("1", OFF), ("2", ON)];

/// `P21904` version (1, 2c, 3) and `P21910` v3 security level (2 = authPriv).
fn snmp_security(raw: &[Option<&str>]) -> Result<Value, String> {
    match raw[0].map(str::trim) {
        Some("1") | Some("2c") | Some("2") => Ok(Value::Snmp(SnmpSecurity::Community)),
        Some("3") => match raw[1].map(str::trim) {
            Some("2") => Ok(Value::Snmp(SnmpSecurity::V3AuthPriv)),
            Some("0") | Some("1") => Ok(Value::Snmp(SnmpSecurity::V3NoPriv)),
            Some(other) => Err(format!(
                "security level {other:?} has no documented meaning"
            )),
            None => Err("SNMPv3 without P21910 (security level)".into()),
        },
        Some(other) => Err(format!("version {other:?} has no documented meaning")),
        None => Err("P21904 (version) not set".into()),
    }
}

const GRP: &[&str] = &["grp"];
const GRP_GXP21: &[&str] = &["grp", "gxp21xx"];

pub(super) static RULES: &[KeyRule] = &[
    KeyRule {
        setting: S::SshServer,
        keys: &["P276"],
        decode: Decode::Map(DISABLE_FLAG),
        harden: &[("P276", "1")],
        families: GRP_GXP21,
        default: None,
        source: "S1 grp26xx, gxp21xx (\"Disable SSH\")",
    },
    KeyRule {
        setting: S::TelnetServer,
        keys: &["P276"],
        decode: Decode::Map(DISABLE_FLAG),
        harden: &[("P276", "1")],
        families: &["gxp2124", "dp715"],
        default: None,
        source: "S1 gxp2124 (\"Disable Telnet\"), dp715 (\"Telnet Server 1-No, 0-Yes\")",
    },
    KeyRule {
        setting: S::WebUi,
        keys: &["P1650"],
        decode: Decode::Map(GRP_WEB_ON),
        harden: &[("P1650", "2")],
        families: GRP,
        default: None,
        source: "S1 grp26xx",
    },
    KeyRule {
        setting: S::WebPlainHttp,
        keys: &["P1650"],
        decode: Decode::Map(GRP_WEB_HTTP),
        harden: &[("P1650", "2")],
        families: GRP,
        default: None,
        source: "S1 grp26xx",
    },
    KeyRule {
        setting: S::WebPlainHttp,
        keys: &["P1650"],
        decode: Decode::Map(WP820_WEB_HTTP),
        harden: &[("P1650", "1")],
        families: &["wp820"],
        default: None,
        source: "S1 wp820",
    },
    KeyRule {
        setting: S::Snmp,
        keys: &["P21896"],
        decode: Decode::Map(SNMP_ENABLE),
        harden: &[("P21896", "0")],
        families: GRP,
        default: None,
        source: "S1 grp26xx",
    },
    KeyRule {
        setting: S::SnmpSecurity,
        keys: &["P21904", "P21910"],
        decode: Decode::Composite(snmp_security),
        harden: &[],
        families: GRP,
        default: None,
        source: "S1 grp26xx",
    },
    KeyRule {
        setting: S::Bluetooth,
        keys: &["P2910"],
        decode: Decode::Map(RADIO),
        harden: &[("P2910", "2")],
        families: GRP,
        default: None,
        source: "S1 grp26xx",
    },
    KeyRule {
        setting: S::Wifi,
        keys: &["P7800"],
        decode: Decode::Map(RADIO),
        harden: &[("P7800", "2")],
        families: GRP,
        default: None,
        source: "S1 grp26xx",
    },
    KeyRule {
        setting: S::PcPort,
        keys: &["P1348"],
        decode: Decode::Map(PC_PORT),
        harden: &[("P1348", "1")],
        families: GRP,
        default: None,
        source: "S1 grp26xx",
    },
    KeyRule {
        setting: S::PcPortMirror,
        keys: &["P1348"],
        decode: Decode::Map(PC_MIRROR),
        harden: &[("P1348", "1")],
        families: GRP,
        default: None,
        source: "S1 grp26xx",
    },
    KeyRule {
        setting: S::ProvisioningTransport,
        keys: &["P212"],
        decode: Decode::Map(GRP_CONFIG_VIA),
        harden: &[("P212", "2")],
        families: GRP,
        default: None,
        source: "S1 grp26xx (older GXP: P212 is firmware upgrade via)",
    },
    KeyRule {
        setting: S::SipTransport,
        keys: &["P130"],
        decode: Decode::Map(SIP_TRANSPORT),
        harden: &[("P130", "2")],
        families: GRP_GXP21,
        default: None,
        source: "S1 (account 1)",
    },
    KeyRule {
        setting: S::SrtpRequired,
        keys: &["P183"],
        decode: Decode::Map(SRTP),
        harden: &[("P183", "2")],
        families: GRP_GXP21,
        default: None,
        source: "S1 (account 1)",
    },
    KeyRule {
        setting: S::AdminPassword,
        keys: &["P2"],
        decode: Decode::Secret,
        harden: &[],
        families: &[],
        default: None,
        source: "S1 grp26xx",
    },
];
