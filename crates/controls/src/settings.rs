//! The normalized settings model: the one vocabulary every vendor adapter maps into.
//!
//! A vendor key is decoded into a [`Setting`] with a [`Value`]; controls state their
//! requirement on that value. Nothing here knows any vendor.

use serde::Serialize;
use std::fmt;

/// One normalized endpoint setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    TelnetServer,
    SshServer,
    WebUi,
    WebPlainHttp,
    Snmp,
    SnmpSecurity,
    Bluetooth,
    Wifi,
    PcPort,
    PcPortMirror,
    PcVoiceVlanAccess,
    Speakerphone,
    AppInstall,
    RemoteActions,
    ProvisioningTransport,
    ProvisioningCertCheck,
    FirmwareTransport,
    PeerFirmwareSharing,
    ConfigSigning,
    SipTransport,
    SrtpRequired,
    TlsMinimum,
    AdminPassword,
}

impl Setting {
    pub fn name(self) -> &'static str {
        match self {
            Setting::TelnetServer => "telnet_server",
            Setting::SshServer => "ssh_server",
            Setting::WebUi => "web_ui",
            Setting::WebPlainHttp => "web_plain_http",
            Setting::Snmp => "snmp",
            Setting::SnmpSecurity => "snmp_security",
            Setting::Bluetooth => "bluetooth",
            Setting::Wifi => "wifi",
            Setting::PcPort => "pc_port",
            Setting::PcPortMirror => "pc_port_mirror",
            Setting::PcVoiceVlanAccess => "pc_voice_vlan_access",
            Setting::Speakerphone => "speakerphone",
            Setting::AppInstall => "app_install",
            Setting::RemoteActions => "remote_actions",
            Setting::ProvisioningTransport => "provisioning_transport",
            Setting::ProvisioningCertCheck => "provisioning_cert_check",
            Setting::FirmwareTransport => "firmware_transport",
            Setting::PeerFirmwareSharing => "peer_firmware_sharing",
            Setting::ConfigSigning => "config_signing",
            Setting::SipTransport => "sip_transport",
            Setting::SrtpRequired => "srtp_required",
            Setting::TlsMinimum => "tls_minimum",
            Setting::AdminPassword => "admin_password",
        }
    }
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
