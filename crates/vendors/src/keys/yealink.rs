//! Yealink T4x/T5x `key = value`. Keys are written in the V8x form (`static.` prefix);
//! the V7x form drops the prefix (see `crate::observe::doc_key`).

use super::{Decode, KeyRule, BOOL_01, OFF, ON};
use hookswitch_controls::{Setting as S, SipTransport, Value};

fn is(v: Option<&str>, want: &str) -> Option<bool> {
    v.map(|v| v.trim() == want)
}

/// Web UI on if either listener is on; off only when both are known off.
fn web_ui(raw: &[Option<&str>]) -> Result<Value, String> {
    match (is(raw[0], "1"), is(raw[1], "1")) {
        (Some(true), _) | (_, Some(true)) => Ok(ON),
        (Some(false), Some(false)) => Ok(OFF),
        _ => Err("needs both static.wui.http_enable and static.wui.https_enable".into()),
    }
}

/// Push XML, SIP-NOTIFY push and Action URI from any address.
fn remote_actions(raw: &[Option<&str>]) -> Result<Value, String> {
    let limit_any = raw[0].map(|v| v.trim().eq_ignore_ascii_case("any"));
    let notify = is(raw[1], "1");
    let server_set = raw[2].map(|v| !v.trim().is_empty());
    if limit_any == Some(true) || notify == Some(true) || server_set == Some(true) {
        return Ok(ON);
    }
    match (raw[0], notify, server_set) {
        (Some(_), Some(false), Some(false)) => Ok(OFF),
        _ => Err(
            "needs features.action_uri_limit_ip, push_xml.sip_notify and push_xml.server".into(),
        ),
    }
}

/// `admin:<password>`.
fn admin_password(raw: &[Option<&str>]) -> Result<Value, String> {
    let v = raw[0].unwrap_or("");
    match v.split_once(':') {
        Some((user, pw)) if user.trim() == "admin" => Ok(Value::Secret(super::secret_state(pw))),
        _ => Err("value is not of the form admin:<password>".into()),
    }
}

/// S2 says 0 disabled, 1 optional, 2 mandatory; some S1 comments say 1 forced, 2 negotiated.
/// Only 0 has one meaning in every source.
const SRTP: &[(&str, Value)] = &[("0", OFF)];

const SIP_TRANSPORT: &[(&str, Value)] = &[
    ("0", Value::Sip(SipTransport::Udp)),
    ("1", Value::Sip(SipTransport::Tcp)),
    ("2", Value::Sip(SipTransport::Tls)),
    ("3", Value::Sip(SipTransport::Negotiated)),
];

/// `static.` groups of V8x firmware that no rule reads yet; they still tell V7x files
/// (which drop the prefix) from V8x ones. Groups the rules use are taken from the rules.
const OTHER_STATIC_GROUPS: &[&str] = &["bluetooth", "trusted_certificates", "openvpn"];

/// Is `key` (as V7x writes it, without `static.`) in a group V8x firmware prefixes with
/// `static.`? The groups come from the rules' keys, so a new key needs no other edit.
pub(crate) fn is_static_group(key: &str) -> bool {
    let Some((group, _)) = key.split_once('.') else {
        return false;
    };
    let in_group = |k: &str| {
        k.strip_prefix("static.")
            .and_then(|rest| rest.strip_prefix(group))
            .is_some_and(|rest| rest.starts_with('.'))
    };
    OTHER_STATIC_GROUPS.contains(&group)
        || RULES
            .iter()
            .flat_map(|r| r.keys.iter().chain(r.harden.iter().map(|(k, _)| k)))
            .any(|k| in_group(k))
}

pub(super) static RULES: &[KeyRule] = &[
    KeyRule {
        setting: S::WebUi,
        keys: &["static.wui.http_enable", "static.wui.https_enable"],
        decode: Decode::Composite(web_ui),
        harden: &[
            ("static.wui.http_enable", "0"),
            ("static.wui.https_enable", "0"),
        ],
        families: &[],
        default: None,
        source: "S1 t54w",
    },
    KeyRule {
        setting: S::WebPlainHttp,
        keys: &["static.wui.http_enable"],
        decode: Decode::Map(BOOL_01),
        harden: &[("static.wui.http_enable", "0")],
        families: &[],
        default: None,
        source: "S1 t54w",
    },
    KeyRule {
        setting: S::Snmp,
        keys: &["static.network.snmp.enable"],
        decode: Decode::Map(BOOL_01),
        harden: &[("static.network.snmp.enable", "0")],
        families: &[],
        default: Some(OFF),
        source: "S1 t23p (\"0-Disabled (default)\")",
    },
    KeyRule {
        setting: S::Bluetooth,
        keys: &["features.bluetooth_enable"],
        decode: Decode::Map(BOOL_01),
        harden: &[("features.bluetooth_enable", "0")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::Wifi,
        keys: &["static.wifi.enable"],
        decode: Decode::Map(BOOL_01),
        harden: &[("static.wifi.enable", "0")],
        families: &[],
        default: None,
        source: "S1 t54w",
    },
    KeyRule {
        setting: S::PcPort,
        keys: &["static.network.pc_port.enable"],
        decode: Decode::Map(BOOL_01),
        harden: &[("static.network.pc_port.enable", "0")],
        families: &[],
        default: None,
        source: "S1 (\"0-Disabled, 1-Auto Negotiation\")",
    },
    KeyRule {
        setting: S::PcPortMirror,
        keys: &["static.network.span_to_pc_port"],
        decode: Decode::Map(BOOL_01),
        harden: &[("static.network.span_to_pc_port", "0")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::Speakerphone,
        keys: &["features.speaker_mode.enable"],
        decode: Decode::Map(BOOL_01),
        harden: &[("features.speaker_mode.enable", "0")],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::RemoteActions,
        keys: &[
            "features.action_uri_limit_ip",
            "push_xml.sip_notify",
            "push_xml.server",
        ],
        decode: Decode::Composite(remote_actions),
        harden: &[
            ("features.action_uri_limit_ip", ""),
            ("push_xml.sip_notify", "0"),
            ("push_xml.server", ""),
        ],
        families: &[],
        default: None,
        source: "S1 t23p comments, t58w",
    },
    KeyRule {
        setting: S::ProvisioningTransport,
        keys: &["static.auto_provision.server.url"],
        decode: Decode::Url,
        harden: &[],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::ProvisioningCertCheck,
        keys: &["static.security.trust_certificates"],
        decode: Decode::Map(BOOL_01),
        harden: &[("static.security.trust_certificates", "1")],
        families: &[],
        default: None,
        source: "S1 t23p, t54w",
    },
    KeyRule {
        setting: S::FirmwareTransport,
        keys: &["static.firmware.url"],
        decode: Decode::Url,
        harden: &[],
        families: &[],
        default: None,
        source: "S1",
    },
    KeyRule {
        setting: S::SipTransport,
        keys: &["account.*.sip_server.*.transport_type"],
        decode: Decode::Map(SIP_TRANSPORT),
        harden: &[("account.*.sip_server.*.transport_type", "2")],
        families: &[],
        default: None,
        source: "S1 comments",
    },
    KeyRule {
        setting: S::SrtpRequired,
        keys: &["account.*.srtp_encryption"],
        decode: Decode::Map(SRTP),
        harden: &[],
        families: &[],
        default: None,
        source: "S2 (encoding disputed by S1 comments)",
    },
    KeyRule {
        setting: S::AdminPassword,
        keys: &["static.security.user_password"],
        decode: Decode::Composite(admin_password),
        harden: &[],
        families: &[],
        default: None,
        source: "S1",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_groups_come_from_the_rules() {
        // Groups the rules use, and the others V8x templates show.
        for key in [
            "network.snmp.enable",
            "auto_provision.server.url",
            "security.trust_certificates",
            "wui.http_enable",
            "firmware.url",
            "wifi.enable",
            "bluetooth.enable",
            "trusted_certificates.x",
            "openvpn.enable",
        ] {
            assert!(is_static_group(key), "{key}");
        }
        for rule in RULES {
            for key in rule.keys.iter().filter_map(|k| k.strip_prefix("static.")) {
                assert!(is_static_group(key), "{key}");
            }
        }
        // Keys V8x writes without `static.`, and prefixes that are not a whole group.
        for key in [
            "features.bluetooth_enable",
            "account.1.srtp_encryption",
            "push_xml.server",
            "network",
            "networking.x",
            "wifix.enable",
        ] {
            assert!(!is_static_group(key), "{key}");
        }
    }
}
