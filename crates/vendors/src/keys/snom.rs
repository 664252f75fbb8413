//! Snom `<settings><phone-settings>` XML. Indexed settings appear as `name[idx]`.

use super::{Decode, KeyRule, OFF, ON, ON_OFF};
use hookswitch_controls::{Setting as S, Value};

/// Every documented `webserver_type` keeps the web server running; no "off" value is verified.
const WEB_ON: &[(&str, Value)] = &[("http", ON), ("https", ON), ("http_https", ON)];
const WEB_HTTP: &[(&str, Value)] = &[("http", ON), ("https", OFF), ("http_https", ON)];
/// `disable_speaker`: on = speaker disabled.
const DISABLE_SPEAKER: &[(&str, Value)] = &[("on", OFF), ("off", ON)];
/// Only "mandatory" is documented (S6); other values stay not assessable.
const SAVP: &[(&str, Value)] = &[("mandatory", ON)];

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
        keys: &["setting_server"],
        decode: Decode::Url,
        harden: &[],
        families: &[],
        default: None,
        source: "S1, S6",
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
        keys: &["user_savp[*]"],
        decode: Decode::Map(SAVP),
        harden: &[("user_srtp[*]", "on"), ("user_savp[*]", "mandatory")],
        families: &[],
        default: None,
        source: "S6 wazo_snom base.tpl",
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
