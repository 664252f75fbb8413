//! What a probe observed and what it means, as serde types.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Open,
    /// Refused (TCP RST or ICMP port unreachable).
    Closed,
    /// An ICMP error other than port unreachable, or a network that drops the probe.
    Filtered,
    /// No answer within the timeout (and retries, for UDP). Never reported as closed.
    Timeout,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Filtered => "filtered",
            State::Timeout => "timeout",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub port: u16,
    pub proto: &'static str,
    pub service: &'static str,
    pub state: State,
    /// Service-specific evidence (banner, versions, status, …).
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Fail,
    Pass,
    NotAssessable,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub control: &'static str,
    pub status: Status,
    pub evidence: String,
    pub probe: &'static str,
    /// When the evidence was gathered (RFC 3339, UTC).
    pub timestamp: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub address: String,
    pub services: Vec<Service>,
    pub findings: Vec<Finding>,
}
