//! Grandstream P-values. Most P-values change meaning with the model family, so those rules
//! name the families their source documents; a P-value whose sources give one meaning in
//! every family (account 1 SIP transport and SRTP, the admin password) has none. The alias
//! form (XML v2) uses the same rules through [`ALIASES`], and its words decode through the
//! same tables.

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

/// The XML v2 alias of a P-value: S1 grp2612 (the first nine), and the GRP26xx
/// `cfgmac.xml` alias template S10 (account 1 transport and SRTP, config protocol).
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
    ("P130", "account.1.sip.transport"),
    ("P183", "account.1.audio.srtpMode"),
    ("P212", "provisioning.config.protocol"),
];

// Each table holds the P-value numbers and, where S10 documents them, the alias (XML v2)
// words real templates write for the same choices (matched case-insensitively).

/// `P276` "Disable SSH" (`security.ssh`, Invert_Yes_No): 1 or Yes disables the server.
const DISABLE_SSH: &[(&str, Value)] = &[("0", ON), ("1", OFF), ("no", ON), ("yes", OFF)];
/// `P276` "Disable Telnet" / "Telnet Server 1-No, 0-Yes": numbers only (no alias source).
const DISABLE_TELNET: &[(&str, Value)] = &[("0", ON), ("1", OFF)];
/// GRP `P1650`: 0 HTTPS, 1 HTTP, 2 disabled, 3 both.
const GRP_WEB_ON: &[(&str, Value)] = &[
    ("0", ON),
    ("1", ON),
    ("2", OFF),
    ("3", ON),
    ("https", ON),
    ("http", ON),
    ("disabled", OFF),
    ("both", ON),
];
const GRP_WEB_HTTP: &[(&str, Value)] = &[
    ("0", OFF),
    ("1", ON),
    ("2", OFF),
    ("3", ON),
    ("https", OFF),
    ("http", ON),
    ("disabled", OFF),
    ("both", ON),
];
/// WP820 `P1650`: 0 HTTP, 1 HTTPS.
const WP820_WEB_HTTP: &[(&str, Value)] = &[("0", ON), ("1", OFF)];
/// `P2910` Bluetooth: 0 off, 1 on, 2 off and hidden.
const BLUETOOTH: &[(&str, Value)] = &[
    ("0", OFF),
    ("1", ON),
    ("2", OFF),
    ("off", OFF),
    ("on", ON),
    ("offandhidemenufromlcd", OFF),
];
/// `P7800` Wi-Fi: 0 no, 1 yes, 2 off and hidden (no alias words in our sources).
const WIFI: &[(&str, Value)] = &[("0", OFF), ("1", ON), ("2", OFF)];
/// `P1348`: 0 enabled, 1 disabled, 2 mirrored.
const PC_PORT: &[(&str, Value)] = &[
    ("0", ON),
    ("1", OFF),
    ("2", ON),
    ("enabled", ON),
    ("disabled", OFF),
    ("mirrored", ON),
];
const PC_MIRROR: &[(&str, Value)] = &[
    ("0", OFF),
    ("1", OFF),
    ("2", ON),
    ("enabled", OFF),
    ("disabled", OFF),
    ("mirrored", ON),
];
const SNMP_ENABLE: &[(&str, Value)] = &[("0", OFF), ("1", ON)];
/// GRP `P212` config via: 0 TFTP, 1 HTTP, 2 HTTPS, 3 FTP, 4 FTPS.
const GRP_CONFIG_VIA: &[(&str, Value)] = &[
    ("0", Value::Fetch(FetchScheme::Tftp)),
    ("1", Value::Fetch(FetchScheme::Http)),
    ("2", Value::Fetch(FetchScheme::Https)),
    ("3", Value::Fetch(FetchScheme::Ftp)),
    ("4", Value::Fetch(FetchScheme::Ftps)),
    ("tftp", Value::Fetch(FetchScheme::Tftp)),
    ("http", Value::Fetch(FetchScheme::Http)),
    ("https", Value::Fetch(FetchScheme::Https)),
    ("ftp", Value::Fetch(FetchScheme::Ftp)),
    ("ftps", Value::Fetch(FetchScheme::Ftps)),
];
/// `P130` SIP transport: 0 UDP, 1 TCP, 2 TLS ("TLS/TCP", alias "Tls Or Tcp").
const SIP_TRANSPORT: &[(&str, Value)] = &[
    ("0", Value::Sip(SipTransport::Udp)),
    ("1", Value::Sip(SipTransport::Tcp)),
    ("2", Value::Sip(SipTransport::Tls)),
    ("udp", Value::Sip(SipTransport::Udp)),
    ("tcp", Value::Sip(SipTransport::Tcp)),
    ("tls", Value::Sip(SipTransport::Tls)),
    ("tls or tcp", Value::Sip(SipTransport::Tls)),
    ("tlsortcp", Value::Sip(SipTransport::Tls)),
];
/// `P183` SRTP mode: 0 disabled, 1 enabled but not forced, 2 enabled and forced,
/// 3 optional. (4 "follow SIP transport" on some models stays not assessable.)
const SRTP: &[(&str, Value)] = &[
    ("0", OFF),
    ("1", OFF),
    ("2", ON),
    ("3", OFF),
    ("disabled", OFF),
    ("enabledbutnotforced", OFF),
    ("enabledandforced", ON),
    ("optional", OFF),
];

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
        decode: Decode::Map(DISABLE_SSH),
        harden: &[("P276", "1")],
        families: GRP_GXP21,
        default: None,
        source: "S1 grp26xx, gxp21xx (\"Disable SSH\"); S10 words (Invert_Yes_No)",
    },
    KeyRule {
        setting: S::TelnetServer,
        keys: &["P276"],
        decode: Decode::Map(DISABLE_TELNET),
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
        decode: Decode::Map(BLUETOOTH),
        harden: &[("P2910", "2")],
        families: GRP,
        default: None,
        source: "S1 grp26xx",
    },
    KeyRule {
        setting: S::Wifi,
        keys: &["P7800"],
        decode: Decode::Map(WIFI),
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
        families: &[],
        default: None,
        source: "S1 grp26xx, gxp2170 (\"SIP Transport. 0 - UDP, 1 - TCP, 2 - TLS/TCP\"), same in every family the reference lists; S10 words (account 1)",
    },
    KeyRule {
        setting: S::SrtpRequired,
        keys: &["P183"],
        decode: Decode::Map(SRTP),
        harden: &[("P183", "2")],
        families: &[],
        default: None,
        source: "S1 (\"SRTP Mode. 0 - Disabled, 1 - Enabled but not forced, 2 - Enabled and forced, 3 - Optional\"), same in every family the reference lists; S10 words (account 1)",
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
