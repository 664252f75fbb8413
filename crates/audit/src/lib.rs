//! Evaluate the controls catalogue against normalized settings and write the results
//! in the formats auditors' tools read. Pure: no IO, no clock.

pub mod report;

use hookswitch_controls::{config_controls, Control, Profile, Severity, Value};
use hookswitch_vendors::patch::secure_pairs;
use hookswitch_vendors::{observe, Document, Format, Observation, Observed, Vendor};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Fail,
    Pass,
    NotAssessable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "fail",
            Status::Pass => "pass",
            Status::NotAssessable => "not_assessable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub control: &'static str,
    pub status: Status,
    pub severity: Severity,
    pub line: Option<u32>,
    /// The vendor key(s) consulted.
    pub key: String,
    /// The value as found; None when absent. Secrets are withheld.
    pub value: Option<String>,
    /// What to set, for this vendor, to comply.
    pub remediation: String,
    /// Why this status (e.g. the default that applied, or why it cannot be assessed).
    pub detail: String,
}

/// One input file and what came of it.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub vendor: Option<Vendor>,
    pub format: Option<Format>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// `path:line:col: reason` when the file could not be parsed or read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the file was not audited (too large, binary, not a vendor file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Things an auditor should know that are not control findings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For layered evaluation: the files that make up the device, highest priority first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<String>,
    pub findings: Vec<Finding>,
}

impl FileReport {
    pub fn new(path: impl Into<String>) -> Self {
        FileReport {
            path: path.into(),
            vendor: None,
            format: None,
            model: None,
            family: None,
            error: None,
            skipped: None,
            warnings: Vec::new(),
            layers: Vec::new(),
            findings: Vec::new(),
        }
    }
}

/// Evaluate every config control of `profile` against `doc`.
pub fn evaluate(doc: &Document, family: Option<&str>, profile: Profile) -> Vec<Finding> {
    let mut out = Vec::new();
    for control in config_controls(profile) {
        evaluate_control(doc, family, control, &mut out);
    }
    out
}

fn evaluate_control(
    doc: &Document,
    family: Option<&str>,
    control: &'static Control,
    out: &mut Vec<Finding>,
) {
    let Some(req) = control.requirement else {
        return;
    };
    let remediation = match secure_pairs(doc, req.setting, family) {
        Ok(pairs) if !pairs.is_empty() => {
            let sets: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
            format!("set {}", sets.join("; "))
        }
        Ok(_) => format!(
            "{} (this file has no instance of the key to set)",
            control.remediation
        ),
        Err(why) => format!("{} ({why})", control.remediation),
    };
    // Preconditions: e.g. the SNMP version only matters while SNMP is on.
    let mut applies_note = None;
    if let Some((cond, pred)) = req.only_when {
        let cond_obs = observe(doc, cond, family);
        let known: Vec<Value> = cond_obs.iter().filter_map(known_value).collect();
        if !known.is_empty() && known.len() == cond_obs.len() && known.iter().all(|v| !pred(*v)) {
            out.push(Finding {
                control: control.id,
                status: Status::Pass,
                severity: control.severity,
                line: cond_obs.iter().find_map(|o| o.line),
                key: cond_obs[0].key.clone(),
                value: cond_obs[0].raw.clone(),
                remediation,
                detail: format!("does not apply: {cond} is {}", known[0]),
            });
            return;
        }
        if known.len() < cond_obs.len() {
            applies_note = Some(format!(
                "applies only while {cond} is on, which cannot be assessed"
            ));
        }
    }
    for obs in observe(doc, req.setting, family) {
        let (status, detail) = match &obs.observed {
            Observed::Set { value } if (req.compliant)(*value) => {
                (Status::Pass, format!("{} is {value}", req.setting))
            }
            Observed::Default { value } if (req.compliant)(*value) => (
                Status::Pass,
                format!("not set; documented firmware default is {value}"),
            ),
            Observed::Set { value } => (
                Status::Fail,
                format!("{} is {value}; expected {}", req.setting, req.expected),
            ),
            Observed::Default { value } => (
                Status::Fail,
                format!(
                    "not set; documented firmware default is {value}; expected {}",
                    req.expected
                ),
            ),
            Observed::Unknown { reason } => (Status::NotAssessable, reason.clone()),
        };
        // A failing value whose precondition is unknown may not apply: do not claim a fail.
        let (status, detail) = match (&applies_note, status) {
            (Some(note), Status::Fail) => (Status::NotAssessable, format!("{detail}; {note}")),
            _ => (status, detail),
        };
        out.push(Finding {
            control: control.id,
            status,
            severity: control.severity,
            line: obs.line,
            key: obs.key.clone(),
            value: obs.raw.clone(),
            remediation: remediation.clone(),
            detail,
        });
    }
}

fn known_value(o: &Observation) -> Option<Value> {
    match o.observed {
        Observed::Set { value } | Observed::Default { value } => Some(value),
        Observed::Unknown { .. } => None,
    }
}

/// Counts per control and overall.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub fail: usize,
    pub pass: usize,
    pub not_assessable: usize,
}

impl Counts {
    fn add(&mut self, s: Status) {
        match s {
            Status::Fail => self.fail += 1,
            Status::Pass => self.pass += 1,
            Status::NotAssessable => self.not_assessable += 1,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub audited: usize,
    pub errors: usize,
    pub skipped: usize,
    pub findings: Counts,
    pub controls: BTreeMap<&'static str, Counts>,
}

pub fn summarize(files: &[FileReport]) -> Summary {
    let mut s = Summary {
        files: files.len(),
        ..Summary::default()
    };
    for f in files {
        if f.error.is_some() {
            s.errors += 1;
        } else if f.skipped.is_some() {
            s.skipped += 1;
        } else {
            s.audited += 1;
        }
        for finding in &f.findings {
            s.findings.add(finding.status);
            s.controls
                .entry(finding.control)
                .or_default()
                .add(finding.status);
        }
    }
    s
}

/// Is there a failing finding at or above `threshold`?
pub fn fails_at(files: &[FileReport], threshold: Severity) -> bool {
    files
        .iter()
        .flat_map(|f| &f.findings)
        .any(|f| f.status == Status::Fail && f.severity >= threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookswitch_vendors::parse;

    fn statuses(
        format: Format,
        text: &str,
        family: Option<&str>,
        control: &str,
    ) -> Vec<(Status, String)> {
        let doc = parse(format, text.as_bytes()).unwrap();
        evaluate(&doc, family, Profile::Standard)
            .into_iter()
            .filter(|f| f.control == control)
            .map(|f| (f.status, f.detail))
            .collect()
    }

    #[test]
    fn a_control_whose_precondition_is_off_passes_as_not_applicable() {
        let r = statuses(
            Format::GrandstreamText,
            "P21896 = 0\nP21904 = 1\n",
            Some("grp"),
            "HS-SNMP-02",
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0, Status::Pass);
        assert!(r[0].1.contains("does not apply"), "{}", r[0].1);
    }

    #[test]
    fn a_control_whose_precondition_is_on_is_judged() {
        let r = statuses(
            Format::GrandstreamText,
            "P21896 = 1\nP21904 = 2c\n",
            Some("grp"),
            "HS-SNMP-02",
        );
        assert_eq!(r[0].0, Status::Fail);
        let r = statuses(
            Format::GrandstreamText,
            "P21896 = 1\nP21904 = 3\nP21910 = 2\n",
            Some("grp"),
            "HS-SNMP-02",
        );
        assert_eq!(r[0].0, Status::Pass);
    }

    #[test]
    fn an_unknown_precondition_never_turns_into_a_fail() {
        // PC port state unknown (no key), PC reaches the voice VLAN: cannot claim a fail.
        let r = statuses(
            Format::CiscoCucm,
            "<device><vendorConfig><voiceVlanAccess>1</voiceVlanAccess></vendorConfig></device>",
            None,
            "HS-ETH-02",
        );
        assert_eq!(r[0].0, Status::NotAssessable, "{}", r[0].1);
        assert!(r[0].1.contains("cannot be assessed"));
        // …but a compliant value passes whatever the precondition.
        let r = statuses(
            Format::CiscoCucm,
            "<device><vendorConfig><voiceVlanAccess>0</voiceVlanAccess></vendorConfig></device>",
            None,
            "HS-ETH-02",
        );
        assert_eq!(r[0].0, Status::Pass);
    }

    #[test]
    fn documented_defaults_are_judged_and_said_so() {
        let r = statuses(
            Format::YealinkV8x,
            "#!version:1.0.0.1\n",
            None,
            "HS-SNMP-01",
        );
        assert_eq!(r[0].0, Status::Pass);
        assert!(r[0].1.contains("documented firmware default"), "{}", r[0].1);
    }

    #[test]
    fn fail_on_threshold_and_summary() {
        let doc = parse(
            Format::CiscoCucm,
            b"<device><vendorConfig><sshAccess>0</sshAccess><wifi>1</wifi></vendorConfig></device>",
        )
        .unwrap();
        let mut f = FileReport::new("a");
        f.findings = evaluate(&doc, None, Profile::Standard);
        let files = vec![f];
        assert!(fails_at(&files, Severity::Low));
        assert!(fails_at(&files, Severity::Medium), "wifi is medium");
        assert!(!fails_at(&files, Severity::High));
        let s = summarize(&files);
        assert_eq!(s.controls["HS-TEL-03"].fail, 1);
        assert_eq!(s.controls["HS-WLAN-01"].fail, 1);
        assert_eq!(s.audited, 1);
    }
}
