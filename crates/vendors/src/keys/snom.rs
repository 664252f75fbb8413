//! Snom `<settings><phone-settings>` XML. Indexed settings appear as `name[idx]`.

use super::{url_scheme, Decode, KeyRule, OFF, ON, ON_OFF};
use hookswitch_controls::{FetchScheme, Setting as S, SipTransport, Value};

/// Every documented `webserver_type` keeps the web server running; no "off" value is verified.
const WEB_ON: &[(&str, Value)] = &[("http", ON), ("https", ON), ("http_https", ON)];
const WEB_HTTP: &[(&str, Value)] = &[("http", ON), ("https", OFF), ("http_https", ON)];
/// `disable_speaker`: on = speaker disabled.
const DISABLE_SPEAKER: &[(&str, Value)] = &[("on", OFF), ("off", ON)];
/// Per account: `user_srtp` switches SRTP on or off; with it on, only `user_savp`
/// "mandatory" is documented (S6) as refusing cleartext media.
fn srtp(raw: &[Option<&str>]) -> Result<Value, String> {
    let word = |v: Option<&str>| v.map(|v| v.trim().to_ascii_lowercase());
    match (word(raw[0]).as_deref(), word(raw[1]).as_deref()) {
        (Some("off"), _) => Ok(OFF),
        (Some("on"), Some("mandatory")) => Ok(ON),
        (Some("on"), Some(other)) => Err(format!(
            "user_savp {other:?}: only \"mandatory\" is documented as refusing cleartext media"
        )),
        (Some("on"), None) => Err("user_srtp on without user_savp".into()),
        (None, _) => Err("user_srtp not set; its firmware default is not documented".into()),
        (Some(other), _) => Err(format!("user_srtp {other:?} has no documented meaning")),
    }
}

/// `user_host`/`user_outbound`: `host[:port][;transport=udp|tcp|tls]` (S6 base.tpl). With no
/// `transport` parameter the transport is chosen at run time (RFC 3263 NAPTR/SRV, else UDP).
fn sip_transport(raw: &[Option<&str>]) -> Result<Value, String> {
    let v = raw[0].unwrap_or("").trim();
    if v.is_empty() {
        return Err("no SIP server set (account not in use)".into());
    }
    let param = v.split(';').skip(1).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("transport")
            .then(|| value.trim().to_ascii_lowercase())
    });
    match param.as_deref() {
        None => Ok(Value::Sip(SipTransport::Negotiated)),
        Some("udp") => Ok(Value::Sip(SipTransport::Udp)),
        Some("tcp") => Ok(Value::Sip(SipTransport::Tcp)),
        Some("tls") => Ok(Value::Sip(SipTransport::Tls)),
        Some(other) => Err(format!("transport {other:?} has no documented meaning")),
    }
}

/// `setting_server` URL, unless `pnp_config` on lets a SIP multicast answer name the server.
fn provisioning(raw: &[Option<&str>]) -> Result<Value, String> {
    match raw[1].map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("on") => Ok(Value::Fetch(FetchScheme::PlugAndPlay)),
        Some("off") | None => url_scheme(raw[0].unwrap_or("")),
        Some(other) => Err(format!("pnp_config {other:?} has no documented meaning")),
    }
}

fn xml_actions(raw: &[Option<&str>]) -> Result<Value, String> {
    let on = |v: Option<&str>| v.map(|v| v.trim().eq_ignore_ascii_case("on"));
    match (on(raw[0]), on(raw[1])) {
        (Some(true), _) | (_, Some(true)) => Ok(ON),
        (Some(false), Some(false)) => Ok(OFF),
        _ => Err("needs both allow_sip_xml_action and xml_notify".into()),
    }
}

pub(super) static RULES: &[KeyRule] = &[
    KeyRule {
        setting: S::WebUi,
        keys: &["webserver_type"],
        decode: Decode::Map(WEB_ON),
        harden: &[],
        families: &[],
        default: None,
        source: "S6 snom-general.xml, S7",
    },
    KeyRule {
        setting: S::WebPlainHttp,
        keys: &["webserver_type"],
        decode: Decode::Map(WEB_HTTP),
        harden: &[("webserver_type", "https")],
        families: &[],
        default: None,
        source: "S6 snom-general.xml, S7",
    },
    KeyRule {
        setting: S::Speakerphone,
        keys: &["disable_speaker"],
        decode: Decode::Map(DISABLE_SPEAKER),
        harden: &[("disable_speaker", "on")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::RemoteActions,
        keys: &["allow_sip_xml_action", "xml_notify"],
        decode: Decode::Composite(xml_actions),
        harden: &[("allow_sip_xml_action", "off"), ("xml_notify", "off")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::ProvisioningTransport,
        keys: &["setting_server", "pnp_config"],
        decode: Decode::Composite(provisioning),
        harden: &[],
        families: &[],
        default: None,
        source: "S1, S6 (setting_server; pnp_config: secure off)",
    },
    KeyRule {
        setting: S::ProvisioningCertCheck,
        keys: &["tls_server_authentication"],
        decode: Decode::Map(ON_OFF),
        harden: &[("tls_server_authentication", "on")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::SrtpRequired,
        keys: &["user_srtp[*]", "user_savp[*]"],
        decode: Decode::Composite(srtp),
        harden: &[("user_srtp[*]", "on"), ("user_savp[*]", "mandatory")],
        families: &[],
        default: None,
        source: "S6 wazo_snom base.tpl",
    },
    KeyRule {
        setting: S::SipTransport,
        keys: &["user_host[*]"],
        decode: Decode::Composite(sip_transport),
        harden: &[],
        families: &[],
        default: None,
        source: "S6 wazo_snom base.tpl (;transport=tls)",
    },
    KeyRule {
        setting: S::SipTransport,
        keys: &["user_outbound[*]"],
        decode: Decode::Composite(sip_transport),
        harden: &[],
        families: &[],
        default: None,
        source: "S6 wazo_snom base.tpl (;transport=tls)",
    },
    KeyRule {
        setting: S::AdminPassword,
        keys: &["admin_mode_password"],
        decode: Decode::Secret,
        harden: &[],
        families: &[],
        default: None,
        source: "S1, S6",
    },
];
