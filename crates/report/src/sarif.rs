use crate::{Finding, Status, Subject};
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
    let artifact = ArtifactLocation::builder().uri(path.to_string()).build();
    let physical = match line {
        Some(l) => PhysicalLocation::builder()
            .artifact_location(artifact)
            .region(Region::builder().start_line(l as i64).build())
            .build(),
        None => PhysicalLocation::builder()
            .artifact_location(artifact)
            .build(),
    };
    Location::builder().physical_location(physical).build()
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
