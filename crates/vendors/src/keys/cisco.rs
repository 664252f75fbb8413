//! Cisco: CUCM `SEP<MAC>.cnf.xml` (several flags inverted: 0 = enabled) and MPP/3PCC
//! `<flat-profile>` (Yes/No). Sources: S4 (CUCM), S1 cisco/9861 and 8861, S5 (MPP).

use super::{url_scheme, Decode, KeyRule, BOOL_01, INVERTED_01, OFF, ON, YES_NO};
use hookswitch_controls::{FetchScheme, Setting as S, SipTransport, TlsVersion, Value};

/// Model families, where a key's source names only some models (S1 SPA5xx templates).
pub fn family_of(model: &str) -> Option<&'static str> {
    let m = model.trim().to_ascii_lowercase();
    let m = m
        .trim_start_matches("cisco")
        .trim_start_matches(['-', ' ', '_']);
    let m = m.strip_prefix("cp-").unwrap_or(m);
    if m.starts_with("spa5") {
        Some("spa5xx")
    } else if m.starts_with("88") {
        Some("mpp88xx")
    } else if m.starts_with("78") {
        Some("mpp78xx")
    } else {
        None
    }
}

pub(super) static RULES: &[KeyRule] = CUCM;

/// `webProtocol`: 0 = HTTP and HTTPS, 1 = HTTPS only.
const WEB_PROTOCOL: &[(&str, Value)] = &[("0", ON), ("1", OFF)];
/// `deviceSecurityMode`: 1 non-secure, 2 authenticated (signed), 3 encrypted (signed + encrypted).
const SECURITY_MODE: &[(&str, Value)] = &[("1", OFF), ("2", ON), ("3", ON)];
/// `transportLayerProtocol`: 1 TCP, 2 UDP, 3 TLS.
const CUCM_TRANSPORT: &[(&str, Value)] = &[
    ("1", Value::Sip(SipTransport::Tcp)),
    ("2", Value::Sip(SipTransport::Udp)),
    ("3", Value::Sip(SipTransport::Tls)),
];
/// `tls12Only`: 1 = TLS 1.2 or later; 0 = older versions allowed.
const TLS12_ONLY: &[(&str, Value)] = &[
    ("1", Value::Tls(TlsVersion::Tls12)),
    ("0", Value::Tls(TlsVersion::Tls10)),
];
/// `disableSpeaker`: true = speaker disabled.
const DISABLE_SPEAKER: &[(&str, Value)] = &[("true", OFF), ("false", ON)];

pub(super) static CUCM: &[KeyRule] = &[
    KeyRule {
        setting: S::WebUi,
        keys: &["webAccess"],
        decode: Decode::Map(INVERTED_01),
        harden: &[("webAccess", "1")],
        families: &[],
        default: None,
        source: "S4 sepmac-cnf-xml",
    },
    KeyRule {
        setting: S::WebPlainHttp,
        keys: &["webProtocol"],
        decode: Decode::Map(WEB_PROTOCOL),
        harden: &[("webProtocol", "1")],
        families: &[],
        default: None,
        source: "S4",
    },
    KeyRule {
        setting: S::SshServer,
        keys: &["sshAccess"],
        decode: Decode::Map(INVERTED_01),
        harden: &[("sshAccess", "1")],
        families: &[],
        default: None,
        source: "S4",
    },
    KeyRule {
        setting: S::Bluetooth,
        keys: &["bluetooth"],
        decode: Decode::Map(BOOL_01),
        harden: &[("bluetooth", "0")],
        families: &[],
        default: None,
        source: "S4",
    },
    KeyRule {
        setting: S::Wifi,
        keys: &["wifi"],
        decode: Decode::Map(BOOL_01),
        harden: &[("wifi", "0")],
        families: &[],
        default: None,
        source: "S4",
    },
    KeyRule {
        setting: S::PcPort,
        keys: &["pcPort"],
        decode: Decode::Map(INVERTED_01),
        harden: &[("pcPort", "1")],
        families: &[],
        default: None,
        source: "S4",
    },
    KeyRule {
        setting: S::PcPortMirror,
        keys: &["spanToPCPort"],
        decode: Decode::Map(INVERTED_01),
        harden: &[("spanToPCPort", "1")],
        families: &[],
        default: None,
        source: "S4",
    },
    KeyRule {
        setting: S::PcVoiceVlanAccess,
        keys: &["voiceVlanAccess"],
        decode: Decode::Map(BOOL_01),
        harden: &[("voiceVlanAccess", "0")],
        families: &[],
        default: None,
        source: "S4 (0 = PC may not reach the voice VLAN)",
    },
    KeyRule {
        setting: S::Speakerphone,
        keys: &["disableSpeaker"],
        decode: Decode::Map(DISABLE_SPEAKER),
        harden: &[("disableSpeaker", "true")],
        families: &[],
        default: None,
        source: "S4",
    },
    KeyRule {
        setting: S::PeerFirmwareSharing,
        keys: &["peerFirmwareSharing"],
        decode: Decode::Map(BOOL_01),
        harden: &[("peerFirmwareSharing", "0")],
        families: &[],
        default: None,
        source: "S4",
    },
    KeyRule {
        setting: S::ConfigSigning,
        keys: &["deviceSecurityMode"],
        decode: Decode::Map(SECURITY_MODE),
        harden: &[("deviceSecurityMode", "3")],
        families: &[],
        default: None,
        source: "S4 device-security",
    },
    KeyRule {
        setting: S::SipTransport,
        keys: &["transportLayerProtocol"],
        decode: Decode::Map(CUCM_TRANSPORT),
        harden: &[("transportLayerProtocol", "3")],
        families: &[],
        default: None,
        source: "S4",
    },
    KeyRule {
        setting: S::TlsMinimum,
        keys: &["tls12Only"],
        decode: Decode::Map(TLS12_ONLY),
        harden: &[("tls12Only", "1")],
        families: &[],
        default: None,
        source: "S4",
    },
];

/// `Enable_Protocol`: Http or Https.
const MPP_PROTOCOL: &[(&str, Value)] = &[("http", ON), ("https", OFF)];
const MPP_TRANSPORT: &[(&str, Value)] = &[
    ("udp", Value::Sip(SipTransport::Udp)),
    ("tcp", Value::Sip(SipTransport::Tcp)),
    ("tls", Value::Sip(SipTransport::Tls)),
    ("auto", Value::Sip(SipTransport::Negotiated)),
];
const MPP_SECURE_CALL: &[(&str, Value)] = &[("optional", OFF), ("required", ON), ("strict", ON)];
const MPP_TLS_MIN: &[(&str, Value)] = &[
    ("tls 1.0", Value::Tls(TlsVersion::Tls10)),
    ("tls 1.1", Value::Tls(TlsVersion::Tls11)),
    ("tls 1.2", Value::Tls(TlsVersion::Tls12)),
    ("tls 1.3", Value::Tls(TlsVersion::Tls13)),
];

/// `Profile_Rule` and `Profile_Rule_B` … `_D`: the phone resyncs from every non-empty
/// rule (S5), so the weakest scheme among them is the transport.
fn mpp_profile_rules(raw: &[Option<&str>]) -> Result<Value, String> {
    let mut unknown = None;
    for rule in raw.iter().flatten().filter(|r| !r.trim().is_empty()) {
        match url_scheme(rule) {
            Ok(Value::Fetch(FetchScheme::Https)) => {}
            Ok(weaker) => return Ok(weaker),
            Err(why) => {
                unknown.get_or_insert(why);
            }
        }
    }
    match unknown {
        Some(why) => Err(why),
        None if raw.iter().flatten().any(|r| !r.trim().is_empty()) => {
            Ok(Value::Fetch(FetchScheme::Https))
        }
        None => Err("every profile rule is empty".into()),
    }
}

fn mpp_remote_actions(raw: &[Option<&str>]) -> Result<Value, String> {
    let yes = |v: Option<&str>| v.map(|v| v.trim().eq_ignore_ascii_case("yes"));
    match (yes(raw[0]), yes(raw[1])) {
        (Some(true), _) | (_, Some(true)) => Ok(ON),
        (Some(false), Some(false)) => Ok(OFF),
        _ => Err("needs both CISCO_XML_EXE_Enable and Enable_Direct_Action_Url".into()),
    }
}

pub(super) static MPP: &[KeyRule] = &[
    KeyRule {
        setting: S::WebUi,
        keys: &["Enable_Web_Server"],
        decode: Decode::Map(YES_NO),
        harden: &[("Enable_Web_Server", "No")],
        families: &[],
        default: None,
        source: "S1 cisco/9861, 8861",
    },
    KeyRule {
        setting: S::WebPlainHttp,
        keys: &["Enable_Protocol"],
        decode: Decode::Map(MPP_PROTOCOL),
        harden: &[("Enable_Protocol", "Https")],
        families: &[],
        default: None,
        source: "S1 cisco/9861, 8861",
    },
    KeyRule {
        setting: S::Bluetooth,
        keys: &["Enable_BT"],
        decode: Decode::Map(YES_NO),
        harden: &[("Enable_BT", "No")],
        families: &[],
        default: None,
        source: "S1 cisco/9861",
    },
    KeyRule {
        setting: S::Wifi,
        keys: &["Phone-wifi-on"],
        decode: Decode::Map(YES_NO),
        harden: &[("Phone-wifi-on", "No")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::PcPort,
        keys: &["PC_PORT_Enable"],
        decode: Decode::Map(YES_NO),
        harden: &[("PC_PORT_Enable", "No")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::PcPortMirror,
        keys: &["Enable_PC_Port_Mirror"],
        decode: Decode::Map(YES_NO),
        harden: &[("Enable_PC_Port_Mirror", "No")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::Speakerphone,
        keys: &["Speakerphone_Enable"],
        decode: Decode::Map(YES_NO),
        harden: &[("Speakerphone_Enable", "No")],
        families: &["spa5xx"],
        default: None,
        source: "reference/vendor-config-keys.md Cisco table (SPA5xx: Speakerphone_Enable; 88xx: not found)",
    },
    KeyRule {
        setting: S::RemoteActions,
        keys: &["CISCO_XML_EXE_Enable", "Enable_Direct_Action_Url"],
        decode: Decode::Composite(mpp_remote_actions),
        harden: &[
            ("CISCO_XML_EXE_Enable", "No"),
            ("Enable_Direct_Action_Url", "No"),
        ],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::ProvisioningTransport,
        keys: &[
            "Profile_Rule",
            "Profile_Rule_B",
            "Profile_Rule_C",
            "Profile_Rule_D",
        ],
        decode: Decode::Composite(mpp_profile_rules),
        harden: &[],
        families: &[],
        default: None,
        source: "S5 (Profile_Rule[_B.._D]), S1",
    },
    KeyRule {
        setting: S::ProvisioningCertCheck,
        keys: &["HTTPS_Name_Validate"],
        decode: Decode::Map(YES_NO),
        harden: &[("HTTPS_Name_Validate", "Yes")],
        families: &[],
        default: None,
        source: "S5",
    },
    KeyRule {
        setting: S::FirmwareTransport,
        keys: &["Upgrade_Rule"],
        decode: Decode::Url,
        harden: &[],
        families: &[],
        default: None,
        source: "S5",
    },
    KeyRule {
        setting: S::PeerFirmwareSharing,
        keys: &["Peer_Firmware_Sharing"],
        decode: Decode::Map(YES_NO),
        harden: &[("Peer_Firmware_Sharing", "No")],
        families: &[],
        default: None,
        source: "S5; S1 cisco/9861 ships Yes",
    },
    KeyRule {
        setting: S::SipTransport,
        keys: &["SIP_Transport_*_"],
        decode: Decode::Map(MPP_TRANSPORT),
        harden: &[("SIP_Transport_*_", "TLS")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::SrtpRequired,
        keys: &["Secure_Call_Option_*_"],
        decode: Decode::Map(MPP_SECURE_CALL),
        harden: &[("Secure_Call_Option_*_", "Required")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::TlsMinimum,
        keys: &["TLS_Min_Version"],
        decode: Decode::Map(MPP_TLS_MIN),
        harden: &[("TLS_Min_Version", "TLS 1.2")],
        families: &[],
        default: None,
        source: "S1 cisco/9861 ships TLS 1.1",
    },
    KeyRule {
        setting: S::AdminPassword,
        keys: &["Admin_Password"],
        decode: Decode::Secret,
        harden: &[],
        families: &[],
        default: None,
        source: "S1",
    },
];
