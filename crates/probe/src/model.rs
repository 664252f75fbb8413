//! What a probe observed and what it means, as serde types.

use crate::wire::{Fingerprint, HttpReply, KexInit, SipReply};
use hookswitch_controls::Control;
use serde::{Serialize, Serializer};

pub use hookswitch_report::Status;

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
    pub detail: Evidence,
}

impl Service {
    pub fn new(
        port: u16,
        proto: &'static str,
        service: &'static str,
        state: State,
        detail: Evidence,
    ) -> Service {
        Service {
            port,
            proto,
            service,
            state,
            detail,
        }
    }
}

/// What one probe recorded. Written as the variant's fields alone (untagged): the
/// service's name is beside it, in `Service::service`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Evidence {
    /// Nothing to record: the port did not answer, or its answer was not the protocol asked.
    Empty {},
    /// Something other than the expected protocol answered: its first bytes, printable.
    Unrecognised {
        banner: String,
    },
    Telnet {
        /// What the server printed once its option negotiation was refused.
        banner: String,
        /// The options it asked for, e.g. `DO 24`.
        options: Vec<String>,
    },
    Ssh(Ssh),
    Http(HttpReply),
    Https(Https),
    Snmp(Snmp),
    Tftp(Tftp),
    /// SIP over UDP or TCP.
    Sip {
        fingerprint: Fingerprint,
        #[serde(flatten)]
        reply: SipReply,
    },
    /// SIP over TLS (5061).
    SipTls {
        /// The negotiated TLS version.
        tls: String,
        /// None when the server completed the handshake but did not answer OPTIONS.
        status: Option<u16>,
        user_agent: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Ssh {
    Identified {
        /// `SSH-<proto>-<software>`.
        ident: String,
        /// Protocol 1 offered (`SSH-1.x`, including 1.99).
        ssh1: bool,
        /// The server's KEXINIT name-lists, when it sent one after our identification.
        #[serde(flatten)]
        algorithms: Option<KexInit>,
    },
    /// The port answered without an SSH identification line.
    Unidentified {
        banner: String,
        /// Written as `"ident": ""`, the shape tools already read.
        #[serde(rename = "ident", serialize_with = "empty_string")]
        no_ident: (),
    },
}

fn empty_string<S: Serializer>(_: &(), s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("")
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Https {
    /// The TLS 1.2/1.3 version negotiated; None when no handshake completed.
    pub tls: Option<String>,
    /// Legacy versions the server accepted a ClientHello for (`TLSv1.0`, `TLSv1.1`).
    pub legacy_tls_accepted: Vec<&'static str>,
    /// The web page over the negotiated session (None without a handshake).
    #[serde(flatten)]
    pub page: Option<HttpReply>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snmp {
    /// Versions that returned a real sysDescr to a default community.
    pub v1: bool,
    pub v2c: bool,
    /// Answered an SNMPv3 discovery (no credentials needed).
    pub v3: bool,
    /// `v1 community "public": sysDescr "…"`, one per accepted guess.
    pub community_accepted: Vec<String>,
    /// The v3 engine ID, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tftp {
    /// Provisioning files the server sent (the transfer is aborted after the first block).
    pub readable: Vec<String>,
    /// `file: server's error message`.
    pub not_readable: Vec<String>,
}

impl Evidence {
    /// The product string nmap's XML shows: the first of Server, User-Agent, SSH
    /// identification and banner that was recorded.
    pub fn product(&self) -> Option<&str> {
        match self {
            Evidence::Empty {} | Evidence::Snmp(_) | Evidence::Tftp(_) => None,
            Evidence::Unrecognised { banner } | Evidence::Telnet { banner, .. } => Some(banner),
            Evidence::Ssh(Ssh::Identified { ident, .. }) => Some(ident),
            Evidence::Ssh(Ssh::Unidentified { .. }) => Some(""),
            Evidence::Http(page) => page.server.as_deref(),
            Evidence::Https(h) => h.page.as_ref().and_then(|p| p.server.as_deref()),
            Evidence::Sip { reply, .. } => reply.server.as_deref().or(reply.user_agent.as_deref()),
            Evidence::SipTls { user_agent, .. } => user_agent.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Always a catalogue entry (see `assess`); written as its ID.
    #[serde(serialize_with = "control_id")]
    pub control: &'static Control,
    pub status: Status,
    pub evidence: String,
    pub probe: &'static str,
    /// When the evidence was gathered (RFC 3339, UTC).
    pub timestamp: String,
}

fn control_id<S: Serializer>(c: &&'static Control, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.id)
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub address: String,
    pub services: Vec<Service>,
    pub findings: Vec<Finding>,
}
