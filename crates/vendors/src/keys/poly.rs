//! Poly/Polycom UC Software. `device.*` keys count only with `device.set="1"` and
//! `device.<key>.set="1"` (see `crate::observe`); `harden` writes those flags too.

use super::{Decode, KeyRule, BOOL_01, OFF, ON};
use hookswitch_controls::{FetchScheme, Setting as S, SipTransport, Value};

/// Bluetooth is off when the feature or the radio is off. The feature flag alone makes the
/// radio available to the user, so it counts as enabled while the radio's switch is absent.
fn bluetooth(raw: &[Option<&str>]) -> Result<Value, String> {
    match (raw[0].map(str::trim), raw[1].map(str::trim)) {
        (Some("0"), _) | (_, Some("0")) => Ok(OFF),
        (Some("1"), Some("1")) | (Some("1"), None) => Ok(ON),
        (None, Some("1")) => Err(
            "bluetooth.radioOn is 1, but feature.bluetooth.enabled (whose default is not documented) is absent".into(),
        ),
        (None, None) => Err("not set".into()),
        _ => Err("value has no documented meaning".into()),
    }
}

/// SRTP is required only when it is enabled and required (S3: `sec.srtp.enable`,
/// `sec.srtp.require`, each 0/1).
fn srtp_required(raw: &[Option<&str>]) -> Result<Value, String> {
    match (raw[0].map(str::trim), raw[1].map(str::trim)) {
        (Some("0"), _) | (_, Some("0")) => Ok(OFF),
        (Some("1"), Some("1")) => Ok(ON),
        (None, Some("1")) => Err("sec.srtp.require=\"1\" but sec.srtp.enable is not set; its firmware default is not documented".into()),
        (_, None) => Err("sec.srtp.require not set".into()),
        _ => Err("value has no documented meaning".into()),
    }
}

const SERVER_TYPE: &[(&str, Value)] = &[
    ("0", Value::Fetch(FetchScheme::Ftp)),
    ("1", Value::Fetch(FetchScheme::Tftp)),
    ("2", Value::Fetch(FetchScheme::Http)),
    ("3", Value::Fetch(FetchScheme::Https)),
    ("4", Value::Fetch(FetchScheme::Ftps)),
];

const SIP_TRANSPORT: &[(&str, Value)] = &[
    ("UDPOnly", Value::Sip(SipTransport::Udp)),
    ("TCPOnly", Value::Sip(SipTransport::Tcp)),
    ("TLS", Value::Sip(SipTransport::Tls)),
    ("DNSnaptr", Value::Sip(SipTransport::Negotiated)),
];

/// Plain HTTP is served unless the secure tunnel is required.
const TUNNEL_REQUIRED: &[(&str, Value)] = &[("0", ON), ("1", OFF)];

pub(super) static RULES: &[KeyRule] = &[
    KeyRule {
        setting: S::TelnetServer,
        keys: &["diags.telnetd.enabled"],
        decode: Decode::Map(BOOL_01),
        harden: &[("diags.telnetd.enabled", "0")],
        families: &[],
        default: None,
        source: "S8 (undocumented key; telnetd on TCP 1023)",
    },
    KeyRule {
        setting: S::WebUi,
        keys: &["httpd.enabled"],
        decode: Decode::Map(BOOL_01),
        harden: &[("httpd.enabled", "0")],
        families: &[],
        default: None,
        source: "S3 site.cfg",
    },
    KeyRule {
        setting: S::WebPlainHttp,
        keys: &["httpd.cfg.secureTunnelRequired"],
        decode: Decode::Map(TUNNEL_REQUIRED),
        harden: &[("httpd.cfg.secureTunnelRequired", "1")],
        families: &[],
        default: None,
        source: "S3 site.cfg; S6 common.cfg ships 0",
    },
    KeyRule {
        setting: S::Bluetooth,
        keys: &["feature.bluetooth.enabled", "bluetooth.radioOn"],
        decode: Decode::Composite(bluetooth),
        harden: &[
            ("feature.bluetooth.enabled", "0"),
            ("bluetooth.radioOn", "0"),
        ],
        families: &[],
        default: None,
        source: "S3, S2 (\"1=enabled 0=disable\")",
    },
    KeyRule {
        setting: S::Wifi,
        keys: &["device.wifi.enabled"],
        decode: Decode::Map(BOOL_01),
        harden: &[("device.wifi.enabled", "0")],
        families: &[],
        default: None,
        source: "S3 device.cfg",
    },
    KeyRule {
        setting: S::Speakerphone,
        keys: &["up.handsfreeMode"],
        decode: Decode::Map(BOOL_01),
        harden: &[("up.handsfreeMode", "0")],
        families: &[],
        default: Some(ON),
        source: "S3 (boolean, default 1); S7 sipXecs phone.xml",
    },
    KeyRule {
        setting: S::ProvisioningTransport,
        keys: &["device.prov.serverType"],
        decode: Decode::Map(SERVER_TYPE),
        harden: &[("device.prov.serverType", "3")],
        families: &[],
        default: None,
        source: "S2, S3",
    },
    KeyRule {
        setting: S::ProvisioningCertCheck,
        keys: &["device.sec.TLS.prov.strictCertCommonNameValidation"],
        decode: Decode::Map(BOOL_01),
        harden: &[("device.sec.TLS.prov.strictCertCommonNameValidation", "1")],
        families: &[],
        default: None,
        source: "S3",
    },
    KeyRule {
        setting: S::SipTransport,
        keys: &["reg.*.server.*.transport"],
        decode: Decode::Map(SIP_TRANSPORT),
        harden: &[("reg.*.server.*.transport", "TLS")],
        families: &[],
        default: None,
        source: "S1 polycom",
    },
    KeyRule {
        setting: S::SipTransport,
        keys: &["voIpProt.server.*.transport"],
        decode: Decode::Map(SIP_TRANSPORT),
        harden: &[("voIpProt.server.*.transport", "TLS")],
        families: &[],
        default: None,
        source: "S1 polycom",
    },
    KeyRule {
        setting: S::SipTransport,
        keys: &["reg.*.outboundProxy.transport"],
        decode: Decode::Map(SIP_TRANSPORT),
        harden: &[("reg.*.outboundProxy.transport", "TLS")],
        families: &[],
        default: None,
        source: "S1 polycom",
    },
    KeyRule {
        setting: S::SrtpRequired,
        keys: &["sec.srtp.enable", "sec.srtp.require"],
        decode: Decode::Composite(srtp_required),
        harden: &[
            ("sec.srtp.enable", "1"),
            ("sec.srtp.offer", "1"),
            ("sec.srtp.require", "1"),
        ],
        families: &[],
        default: None,
        source: "S3, S2",
    },
    KeyRule {
        setting: S::AdminPassword,
        keys: &["device.auth.localAdminPassword"],
        decode: Decode::Secret,
        harden: &[],
        families: &[],
        default: None,
        source: "S3, S1; factory default 456 (S8)",
    },
];
