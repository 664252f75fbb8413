//! The controls catalogue: every mitigation of the NSA UC/VVoIP endpoint guidance (Part IV)
//! as one or more controls with a stable ID.
//!
//! Pure data, no IO. Other crates speak in control IDs; this crate is where a control is added.

mod catalogue;
pub mod settings;

pub use catalogue::CATALOGUE;
pub use settings::{
    FetchScheme, SecretState, Setting, SipTransport, SnmpSecurity, TlsVersion, Value,
};

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            _ => Err(format!(
                "unknown severity {s:?} (expected low, medium or high)"
            )),
        }
    }
}

/// How a control is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckMethod {
    /// A key in the vendor configuration file.
    Config,
    /// A network probe of the endpoint.
    Probe,
    /// The network around the endpoint (VLANs, filtering).
    Network,
    /// The signed (TUF) distribution of firmware, configuration and applications.
    SignedDistribution,
    /// Only a person can confirm it.
    Attestation,
}

impl CheckMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckMethod::Config => "config",
            CheckMethod::Probe => "probe",
            CheckMethod::Network => "network",
            CheckMethod::SignedDistribution => "signed-distribution",
            CheckMethod::Attestation => "attestation",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointKind {
    HardwarePhone,
    VideoPhone,
    DesktopVtc,
    RoomSystem,
    Softphone,
}

/// Which deployment a control belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Every endpoint.
    Standard,
    /// Endpoints in sensitive areas: adds the embedded-microphone controls.
    Sensitive,
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "standard" => Ok(Profile::Standard),
            "sensitive" => Ok(Profile::Sensitive),
            _ => Err(format!(
                "unknown profile {s:?} (expected standard or sensitive)"
            )),
        }
    }
}

/// A predicate on a normalized value.
pub type ValueTest = fn(Value) -> bool;

/// What a config-checked control requires of the normalized settings.
#[derive(Clone, Copy, Serialize)]
pub struct Requirement {
    pub setting: Setting,
    /// Human statement of the compliant state, e.g. "disabled".
    pub expected: &'static str,
    #[serde(skip)]
    pub compliant: ValueTest,
    /// The control only applies while this other setting satisfies the predicate
    /// (e.g. SNMP version matters only while SNMP is on).
    #[serde(skip)]
    pub only_when: Option<(Setting, ValueTest)>,
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requirement")
            .field("setting", &self.setting)
            .field("expected", &self.expected)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Control {
    pub id: &'static str,
    pub title: &'static str,
    /// The guidance heading this control comes from, word for word.
    pub section: &'static str,
    pub rationale: &'static str,
    pub severity: Severity,
    pub applies_to: &'static [EndpointKind],
    pub check: CheckMethod,
    /// Other ways the same control is observed (e.g. a probe confirming a config finding).
    pub also_checked_by: &'static [CheckMethod],
    pub profile: Profile,
    pub remediation: &'static str,
    /// DISA rule (Group) IDs, each present in `reference/stig/`.
    pub stig: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirement: Option<Requirement>,
}

impl Control {
    pub fn in_profile(&self, profile: Profile) -> bool {
        self.profile <= profile
    }
}

/// Look a control up by ID.
pub fn control(id: &str) -> Option<&'static Control> {
    CATALOGUE.iter().find(|c| c.id == id)
}

/// Controls whose requirement is checked in configuration files.
pub fn config_controls(profile: Profile) -> impl Iterator<Item = &'static Control> {
    CATALOGUE
        .iter()
        .filter(move |c| c.requirement.is_some() && c.in_profile(profile))
}
