//! Evaluate the controls catalogue against normalized settings: each configuration file
//! becomes a [`FileReport`] whose findings `hookswitch-report` writes. Pure: no IO, no clock.

use hookswitch_controls::{config_controls, Control, Profile, Value};
use hookswitch_report::{Identity, Subject};
use hookswitch_vendors::patch::secure_pairs;
use hookswitch_vendors::{observe, Document, Format, Observation, Observed, Vendor};
use serde::Serialize;

pub use hookswitch_report::{Finding, Status};

/// What an input file is: written inline in each file's JSON report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileIdentity {
    pub vendor: Option<Vendor>,
    pub format: Option<Format>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

impl FileIdentity {
    /// A file of `format`; the model as the file names it, if it does.
    pub fn new(format: Format, model: Option<String>) -> Self {
        FileIdentity {
            vendor: Some(format.vendor()),
            format: Some(format),
            model,
            family: None,
        }
    }
}

impl Identity for FileIdentity {
    fn describe(&self, skipped: bool) -> String {
        let what = match (self.vendor, self.format) {
            (Some(v), Some(fmt)) => format!("{v} ({fmt})"),
            _ => ().describe(skipped),
        };
        let model = self
            .model
            .as_deref()
            .map(|m| format!(", model {m}"))
            .unwrap_or_default();
        format!("{what}{model}")
    }
}

/// One input file and what came of it.
pub type FileReport = Subject<FileIdentity>;

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

#[cfg(test)]
mod tests {
    use super::*;
    use hookswitch_controls::Severity;
    use hookswitch_report::{fails_at, summarize};
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
