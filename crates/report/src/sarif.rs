use crate::{Finding, Status, Subject, Warning};
use hookswitch_controls::{Profile, Severity, CATALOGUE};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultKind, ResultLevel, Tool, ToolComponent,
};
use std::collections::BTreeMap;
use std::io::{self, Write};

fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn location(path: &str, line: Option<u32>) -> Location {
    located(path, line, None)
}

fn located(path: &str, line: Option<u32>, col: Option<u32>) -> Location {
    let artifact = ArtifactLocation::builder().uri(path.to_string()).build();
    let physical = match (line, col) {
        (Some(l), Some(c)) => PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(
                Region::builder()
                    .start_line(l as i64)
                    .start_column(c as i64)
                    .build(),
            )
            .build(),
        (Some(l), None) => PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(Region::builder().start_line(l as i64).build())
            .build(),
        (None, _) => PhysicalLocation::builder()
            .artifact_location(artifact)
            .build(),
    };
    Location::builder().physical_location(physical).build()
}

/// The rule of a subject's warnings (a skipped defective line, a weakly protected file).
/// They are results at level `warning`, not tool notifications: viewers (GitHub code
/// scanning, the VS Code SARIF viewer) show results at their line, and hide notifications.
pub const WARNING_RULE: &str = "hookswitch/input-warning";

fn warning_rule() -> ReportingDescriptor {
    let text = |t: &str| {
        MultiformatMessageString::builder()
            .text(t.to_string())
            .build()
    };
    ReportingDescriptor::builder()
        .id(WARNING_RULE.to_string())
        .name("Input warning".to_string())
        .short_description(text("A part of the input was skipped or is weakly protected"))
        .full_description(text(
            "A defective line or attribute (a template leftover, a line without `=`, a duplicated attribute) was skipped, and the controls were judged on the rest of the file; or the file is protected only weakly.",
        ))
        .help(text("Correct the line in the template that renders this file."))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(serde_json::json!("warning"))
                .build(),
        )
        .build()
}

fn warning_result(path: &str, w: &Warning, rule_index: usize) -> SarifResult {
    let mut result = SarifResult::builder()
        .rule_id(WARNING_RULE.to_string())
        .kind(ResultKind::Fail)
        .level(ResultLevel::Warning)
        .message(Message::builder().text(w.text.clone()).build())
        .locations(vec![located(path, w.line, w.col)])
        .build();
    result.rule_index = Some(rule_index as i64);
    result
}

/// SARIF 2.1.0, with the controls as rules. The log is streamed: the run's header is
/// written with serde-sarif's types, then each result as it is built.
pub fn sarif<I>(files: &[Subject<I>], profile: Profile, out: &mut dyn Write) -> io::Result<()> {
    let controls: Vec<_> = CATALOGUE.iter().filter(|c| c.in_profile(profile)).collect();
    let rules: Vec<ReportingDescriptor> = controls
        .iter()
        .map(|c| {
            let mut props = BTreeMap::new();
            props.insert("section".to_string(), serde_json::json!(c.section));
            props.insert("check".to_string(), serde_json::json!(c.check.as_str()));
            props.insert("stig".to_string(), serde_json::json!(c.stig));
            props.insert("severity".to_string(), serde_json::json!(c.severity));
            ReportingDescriptor::builder()
                .id(c.id.to_string())
                .name(c.title.to_string())
                .short_description(
                    MultiformatMessageString::builder()
                        .text(c.title.to_string())
                        .build(),
                )
                .full_description(
                    MultiformatMessageString::builder()
                        .text(c.rationale.to_string())
                        .build(),
                )
                .help(
                    MultiformatMessageString::builder()
                        .text(c.remediation.to_string())
                        .build(),
                )
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(serde_json::json!(level(c.severity)))
                        .build(),
                )
                .properties(PropertyBag::builder().additional_properties(props).build())
                .build()
        })
        .chain(std::iter::once(warning_rule()))
        .collect();
    let notifications: Vec<Notification> = files
        .iter()
        .filter_map(|f| {
            let (text, lvl) = match (&f.error, &f.skipped) {
                (Some(e), _) => (e.clone(), "error"),
                (None, Some(s)) => (format!("{}: {s}", f.path), "note"),
                (None, None) => return None,
            };
            Some(
                Notification::builder()
                    .message(Message::builder().text(text).build())
                    .level(serde_json::json!(lvl))
                    .locations(vec![location(&f.path, None)])
                    .build(),
            )
        })
        .collect();
    let driver = ToolComponent::builder()
        .name("hookswitch".to_string())
        .semantic_version(env!("CARGO_PKG_VERSION").to_string())
        .rules(rules)
        .build();
    let tool = Tool::builder().driver(driver).build();
    let invocation = Invocation::builder()
        .execution_successful(true)
        .tool_execution_notifications(notifications)
        .build();
    out.write_all(b"{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{\"tool\":")?;
    serde_json::to_writer(&mut *out, &tool)?;
    out.write_all(b",\"invocations\":[")?;
    serde_json::to_writer(&mut *out, &invocation)?;
    out.write_all(b"],\"results\":[")?;
    let mut first = true;
    for f in files {
        for x in &f.findings {
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            out.write_all(b"\n")?;
            serde_json::to_writer(&mut *out, &result(f, x, &controls))?;
        }
        for w in &f.warnings {
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            out.write_all(b"\n")?;
            serde_json::to_writer(&mut *out, &warning_result(&f.path, w, controls.len()))?;
        }
    }
    out.write_all(b"\n]}]}\n")
}

fn result<I>(
    f: &Subject<I>,
    x: &Finding,
    controls: &[&hookswitch_controls::Control],
) -> SarifResult {
    let (kind, lvl) = match x.status {
        Status::Fail => (
            ResultKind::Fail,
            match x.severity {
                Severity::High => ResultLevel::Error,
                Severity::Medium => ResultLevel::Warning,
                Severity::Low => ResultLevel::Note,
            },
        ),
        Status::Pass => (ResultKind::Pass, ResultLevel::None),
        Status::NotAssessable => (ResultKind::Review, ResultLevel::None),
    };
    let mut text = format!("{}: {}", x.control, x.detail);
    if !x.key.is_empty() {
        text.push_str(&format!(" ({})", x.key));
    }
    if x.status == Status::Fail {
        text.push_str(&format!(". Fix: {}", x.remediation));
    }
    let mut props = BTreeMap::new();
    props.insert("status".to_string(), serde_json::json!(x.status.as_str()));
    props.insert("remediation".to_string(), serde_json::json!(x.remediation));
    if let Some(v) = &x.value {
        props.insert("value".to_string(), serde_json::json!(v));
    }
    let mut result = SarifResult::builder()
        .rule_id(x.control.to_string())
        .kind(kind)
        .level(lvl)
        .message(Message::builder().text(text).build())
        .locations(vec![location(&f.path, x.line)])
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();
    result.rule_index = controls
        .iter()
        .position(|c| c.id == x.control)
        .map(|i| i as i64);
    result
}
