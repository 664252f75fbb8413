//! The finding model shared by the config audit (a subject is a file) and the network
//! probe (a subject is a host), and the reports auditors' tools read: human, JSON, SARIF,
//! CKLB. Pure: no IO, no clock; each writer streams into a caller's `io::Write`.

mod cklb;
mod human;
mod json;
mod sarif;

pub use cklb::cklb;
pub use human::human;
pub use json::json;
pub use sarif::{sarif, WARNING_RULE};

use hookswitch_controls::Severity;
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
    /// The vendor key(s) consulted (for a probe: `probe:<name>`).
    pub key: String,
    /// The value as found; None when absent. Secrets are withheld.
    pub value: Option<String>,
    /// What to set, for this vendor, to comply.
    pub remediation: String,
    /// Why this status (e.g. the default that applied, or why it cannot be assessed).
    pub detail: String,
}

/// What a subject is, beyond its path: written inline in the JSON report, and described
/// on the human report's header line. `()` for subjects with nothing more to say.
pub trait Identity: Serialize {
    /// The header text after `path: `; `skipped` says the subject was not audited.
    fn describe(&self, skipped: bool) -> String;
}

impl Identity for () {
    /// The skip reason, on the next line, says what the subject is.
    fn describe(&self, skipped: bool) -> String {
        if skipped {
            "not audited"
        } else {
            "unrecognised"
        }
        .to_string()
    }
}

/// One thing that was assessed (a file, or a host) and what came of it.
#[derive(Debug, Clone, Serialize)]
pub struct Subject<I = ()> {
    /// A file path, or a host address.
    pub path: String,
    #[serde(flatten)]
    pub identity: I,
    /// `path:line:col: reason` when the subject could not be parsed or read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the subject was not audited (too large, binary, not a vendor file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Things an auditor should know that are not control findings (a defective line that
    /// was skipped, a weakly protected file). In JSON, each is its text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// For layered evaluation: the files that make up the device, highest priority first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<String>,
    pub findings: Vec<Finding>,
}

/// A warning about a subject, with the place it concerns when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `path:line:col: reason`, or `reason` for the subject as a whole.
    pub text: String,
    pub line: Option<u32>,
    pub col: Option<u32>,
}

impl Warning {
    /// A warning about the subject as a whole.
    pub fn new(text: impl Into<String>) -> Self {
        Warning {
            text: text.into(),
            line: None,
            col: None,
        }
    }

    /// A warning about one place of the file `path`.
    pub fn at(path: &str, line: u32, col: u32, reason: &str) -> Self {
        Warning {
            text: format!("{path}:{line}:{col}: {reason}"),
            line: Some(line),
            col: Some(col),
        }
    }
}

impl Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl<I: Default> Subject<I> {
    pub fn new(path: impl Into<String>) -> Self {
        Subject {
            path: path.into(),
            identity: I::default(),
            error: None,
            skipped: None,
            warnings: Vec::new(),
            layers: Vec::new(),
            findings: Vec::new(),
        }
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

pub fn summarize<I>(subjects: &[Subject<I>]) -> Summary {
    let mut s = Summary {
        files: subjects.len(),
        ..Summary::default()
    };
    for f in subjects {
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
pub fn fails_at<I>(subjects: &[Subject<I>], threshold: Severity) -> bool {
    subjects
        .iter()
        .flat_map(|f| &f.findings)
        .any(|f| f.status == Status::Fail && f.severity >= threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(control: &'static str, status: Status, severity: Severity) -> Finding {
        Finding {
            control,
            status,
            severity,
            line: None,
            key: String::new(),
            value: None,
            remediation: String::new(),
            detail: String::new(),
        }
    }

    #[test]
    fn counts_per_subject_and_control_and_the_fail_threshold() {
        let mut host: Subject = Subject::new("192.0.2.1");
        host.findings = vec![
            finding("HS-TEL-01", Status::Fail, Severity::Medium),
            finding("HS-TEL-03", Status::Pass, Severity::High),
            finding("HS-SNMP-02", Status::NotAssessable, Severity::High),
        ];
        let mut broken: Subject = Subject::new("b");
        broken.error = Some("b:1:1: bad".into());
        let mut skipped: Subject = Subject::new("c");
        skipped.skipped = Some("binary".into());
        let all = [host, broken, skipped];
        let s = summarize(&all);
        assert_eq!((s.files, s.audited, s.errors, s.skipped), (3, 1, 1, 1));
        assert_eq!(
            s.findings,
            Counts {
                fail: 1,
                pass: 1,
                not_assessable: 1
            }
        );
        assert_eq!(s.controls["HS-TEL-01"].fail, 1);
        assert!(fails_at(&all, Severity::Medium));
        assert!(
            !fails_at(&all, Severity::High),
            "a high pass or n/a is not a failure"
        );
    }

    #[test]
    fn warnings_are_strings_in_json_and_located_warning_results_in_sarif() {
        use hookswitch_controls::Profile;
        let mut file: Subject = Subject::new("d/y.cfg");
        file.warnings = vec![
            Warning::at("d/y.cfg", 3, 1, "skipped: expected `key = value`"),
            Warning::new("weakly protected"),
        ];
        file.findings = vec![finding("HS-TEL-01", Status::Pass, Severity::Medium)];
        let mut out = Vec::new();
        json(std::slice::from_ref(&file), Profile::Standard, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["files"][0]["warnings"],
            serde_json::json!([
                "d/y.cfg:3:1: skipped: expected `key = value`",
                "weakly protected"
            ])
        );
        let mut out = Vec::new();
        sarif(&[file], Profile::Standard, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let run = &v["runs"][0];
        let results = run["results"].as_array().unwrap();
        let warned: Vec<_> = results
            .iter()
            .filter(|r| r["ruleId"] == WARNING_RULE)
            .collect();
        assert_eq!(warned.len(), 2, "{results:?}");
        assert_eq!(warned[0]["level"], "warning");
        assert_eq!(warned[0]["kind"], "fail");
        let region = &warned[0]["locations"][0]["physicalLocation"]["region"];
        assert_eq!(
            (region["startLine"].as_u64(), region["startColumn"].as_u64()),
            (Some(3), Some(1))
        );
        assert!(warned[1]["locations"][0]["physicalLocation"]["region"].is_null());
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let idx = warned[0]["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], WARNING_RULE);
    }

    #[test]
    fn a_subject_without_identity_serializes_only_its_own_fields() {
        let host: Subject = Subject::new("192.0.2.1");
        assert_eq!(
            serde_json::to_string(&host).unwrap(),
            r#"{"path":"192.0.2.1","findings":[]}"#
        );
    }
}
