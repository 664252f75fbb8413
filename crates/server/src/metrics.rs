//! Counters for the `--metrics` listener, rendered as Prometheus text (format 0.0.4).

use crate::index::{Kind, Version};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why a request for a config was not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No client certificate and no `Authorization` header.
    NoCredentials,
    /// A certificate whose fingerprint is not enrolled and no CA issued.
    UnknownCertificate,
    /// A CA-issued certificate whose field does not match the CA's rule.
    NoDeviceId,
    /// A user name that is not an enrolled device, or a wrong password.
    BadPassword,
    /// Too many failures from this source address lately.
    Throttled,
    /// Every password check slot was busy.
    Busy,
    /// An authenticated device asked for another device's config.
    WrongDevice,
}

impl AuthFailure {
    const ALL: [AuthFailure; 7] = [
        AuthFailure::NoCredentials,
        AuthFailure::UnknownCertificate,
        AuthFailure::NoDeviceId,
        AuthFailure::BadPassword,
        AuthFailure::Throttled,
        AuthFailure::Busy,
        AuthFailure::WrongDevice,
    ];

    pub fn label(self) -> &'static str {
        match self {
            AuthFailure::NoCredentials => "no_credentials",
            AuthFailure::UnknownCertificate => "unknown_certificate",
            AuthFailure::NoDeviceId => "no_device_id",
            AuthFailure::BadPassword => "bad_password",
            AuthFailure::Throttled => "throttled",
            AuthFailure::Busy => "busy",
            AuthFailure::WrongDevice => "wrong_device",
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Served,
    NotFound,
    Denied,
}

impl Outcome {
    const ALL: [Outcome; 3] = [Outcome::Served, Outcome::NotFound, Outcome::Denied];

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Served => "served",
            Outcome::NotFound => "not_found",
            Outcome::Denied => "denied",
        }
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; 4],
    bytes: [AtomicU64; 4],
    outcomes: [AtomicU64; 3],
    handshakes_ok: AtomicU64,
    handshakes_failed: AtomicU64,
    auth_failures: [AtomicU64; 7],
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
}

fn kind_slot(kind: Kind) -> usize {
    Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

impl Metrics {
    pub fn served(&self, kind: Kind, bytes: usize) {
        self.requests[kind_slot(kind)].fetch_add(1, Relaxed);
        self.bytes[kind_slot(kind)].fetch_add(bytes as u64, Relaxed);
        self.outcome(Outcome::Served);
    }

    pub fn outcome(&self, o: Outcome) {
        let i = Outcome::ALL.iter().position(|x| *x == o).unwrap_or(0);
        self.outcomes[i].fetch_add(1, Relaxed);
    }

    pub fn handshake(&self, ok: bool) {
        if ok {
            &self.handshakes_ok
        } else {
            &self.handshakes_failed
        }
        .fetch_add(1, Relaxed);
    }

    pub fn auth_failure(&self, why: AuthFailure) {
        let i = AuthFailure::ALL.iter().position(|x| *x == why).unwrap_or(0);
        self.auth_failures[i].fetch_add(1, Relaxed);
    }

    pub fn reload(&self, ok: bool) {
        if ok {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        }
        .fetch_add(1, Relaxed);
    }

    /// The Prometheus text for these counters and the version being served at `now`.
    pub fn render(&self, version: &Version, now: i64) -> String {
        let mut s = String::new();
        let get = |a: &AtomicU64| a.load(Relaxed);
        s.push_str("# HELP hookswitch_requests_total Files served, by kind.\n# TYPE hookswitch_requests_total counter\n");
        for k in Kind::ALL {
            let v = get(&self.requests[kind_slot(k)]);
            let _ = writeln!(s, "hookswitch_requests_total{{kind=\"{}\"}} {v}", k.label());
        }
        s.push_str("# HELP hookswitch_response_bytes_total Body bytes served, by kind.\n# TYPE hookswitch_response_bytes_total counter\n");
        for k in Kind::ALL {
            let v = get(&self.bytes[kind_slot(k)]);
            let _ = writeln!(
                s,
                "hookswitch_response_bytes_total{{kind=\"{}\"}} {v}",
                k.label()
            );
        }
        s.push_str("# HELP hookswitch_fetches_total Requests, by result.\n# TYPE hookswitch_fetches_total counter\n");
        for (i, o) in Outcome::ALL.iter().enumerate() {
            let v = get(&self.outcomes[i]);
            let _ = writeln!(
                s,
                "hookswitch_fetches_total{{result=\"{}\"}} {v}",
                o.label()
            );
        }
        s.push_str("# HELP hookswitch_tls_handshakes_total TLS handshakes, by result.\n# TYPE hookswitch_tls_handshakes_total counter\n");
        let _ = writeln!(
            s,
            "hookswitch_tls_handshakes_total{{result=\"ok\"}} {}\nhookswitch_tls_handshakes_total{{result=\"failed\"}} {}",
            get(&self.handshakes_ok),
            get(&self.handshakes_failed)
        );
        s.push_str("# HELP hookswitch_auth_failures_total Config requests refused, by reason.\n# TYPE hookswitch_auth_failures_total counter\n");
        for (i, r) in AuthFailure::ALL.iter().enumerate() {
            let v = get(&self.auth_failures[i]);
            let _ = writeln!(
                s,
                "hookswitch_auth_failures_total{{reason=\"{}\"}} {v}",
                r.label()
            );
        }
        s.push_str("# HELP hookswitch_reloads_total Repository versions loaded, by result.\n# TYPE hookswitch_reloads_total counter\n");
        let _ = writeln!(
            s,
            "hookswitch_reloads_total{{result=\"ok\"}} {}\nhookswitch_reloads_total{{result=\"failed\"}} {}",
            get(&self.reloads_ok),
            get(&self.reloads_failed)
        );
        s.push_str("# HELP hookswitch_version_served Version of each top-level role being served.\n# TYPE hookswitch_version_served gauge\n");
        for (role, v) in [
            ("root", version.root),
            ("timestamp", version.timestamp),
            ("snapshot", version.snapshot),
        ] {
            let _ = writeln!(s, "hookswitch_version_served{{role=\"{role}\"}} {v}");
        }
        s.push_str("# HELP hookswitch_metadata_expiry_seconds Seconds until each role's served metadata expires (hashed bins: the earliest).\n# TYPE hookswitch_metadata_expiry_seconds gauge\n");
        for (role, at) in &version.expires {
            let _ = writeln!(
                s,
                "hookswitch_metadata_expiry_seconds{{role=\"{}\"}} {}",
                role.replace(['\\', '"', '\n'], "_"),
                at - now
            );
        }
        s
    }
}
