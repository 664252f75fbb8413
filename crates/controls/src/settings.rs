//! The normalized settings model: the one vocabulary every vendor adapter maps into.
//!
//! A vendor key is decoded into a [`Setting`] with a [`Value`]; controls state their
//! requirement on that value. Nothing here knows any vendor.

use serde::Serialize;
use std::fmt;

/// Declares [`Setting`] with its names and [`Setting::ALL`], so a new setting is one line.
macro_rules! settings {
    ($($variant:ident = $name:literal,)*) => {
        /// One normalized endpoint setting.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Setting {
            $($variant,)*
        }

        impl Setting {
            /// Every setting, in declaration order.
            pub const ALL: &'static [Setting] = &[$(Setting::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Setting::$variant => $name,)*
                }
            }
        }
    };
}

settings! {
    TelnetServer = "telnet_server",
    SshServer = "ssh_server",
    WebUi = "web_ui",
    WebPlainHttp = "web_plain_http",
    Snmp = "snmp",
    SnmpSecurity = "snmp_security",
    Bluetooth = "bluetooth",
    Wifi = "wifi",
    PcPort = "pc_port",
    PcPortMirror = "pc_port_mirror",
    PcVoiceVlanAccess = "pc_voice_vlan_access",
    Speakerphone = "speakerphone",
    AppInstall = "app_install",
    RemoteActions = "remote_actions",
    ProvisioningTransport = "provisioning_transport",
    ProvisioningCertCheck = "provisioning_cert_check",
    FirmwareTransport = "firmware_transport",
    PeerFirmwareSharing = "peer_firmware_sharing",
    ConfigSigning = "config_signing",
    SipTransport = "sip_transport",
    SrtpRequired = "srtp_required",
    TlsMinimum = "tls_minimum",
    AdminPassword = "admin_password",
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The URL scheme or protocol a file is fetched with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchScheme {
    Tftp,
    Ftp,
    Http,
    Https,
    Ftps,
    /// A server URL the phone takes from an unauthenticated plug-and-play answer (SIP
    /// multicast SUBSCRIBE), whatever the configured URL says.
    PlugAndPlay,
}

/// SIP signalling transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SipTransport {
    Udp,
    Tcp,
    Tls,
    /// Chosen at run time (DNS NAPTR/SRV or "auto"): may fall back to cleartext.
    Negotiated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TlsVersion {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

/// The weakest SNMP access the endpoint allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SnmpSecurity {
    /// v1 or v2c: community strings in the clear.
    Community,
    /// v3 without privacy (noAuthNoPriv or authNoPriv).
    V3NoPriv,
    /// v3 with authentication and privacy.
    V3AuthPriv,
}

/// What is known about a configured secret; the secret itself is never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretState {
    Empty,
    VendorDefault,
    Set,
}

/// A normalized value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Value {
    Enabled(bool),
    Fetch(FetchScheme),
    Sip(SipTransport),
    Tls(TlsVersion),
    Snmp(SnmpSecurity),
    Secret(SecretState),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Enabled(true) => f.write_str("enabled"),
            Value::Enabled(false) => f.write_str("disabled"),
            Value::Fetch(s) => write!(f, "{s:?}"),
            Value::Sip(t) => write!(f, "{t:?}"),
            Value::Tls(v) => write!(f, "{v:?}"),
            Value::Snmp(s) => write!(f, "{s:?}"),
            Value::Secret(s) => write!(f, "{s:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_named_as_it_is_serialized() {
        for &s in Setting::ALL {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::from(s.name()),
                "{s:?}"
            );
        }
    }
}
