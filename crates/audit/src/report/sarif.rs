use crate::{FileReport, Status};
use hookswitch_controls::{Profile, Severity, CATALOGUE};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultKind, ResultLevel, Run, Sarif, Tool, ToolComponent,
};
use std::collections::BTreeMap;

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

/// SARIF 2.1.0, with the controls as rules.
pub fn sarif(files: &[FileReport], profile: Profile) -> String {
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
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for f in files {
        if let Some(e) = f.error.as_ref().or(f.skipped.as_ref()) {
            let lvl = if f.error.is_some() { "error" } else { "note" };
            notifications.push(
                Notification::builder()
                    .message(Message::builder().text(format!("{}: {e}", f.path)).build())
                    .level(serde_json::json!(lvl))
                    .locations(vec![location(&f.path, None)])
                    .build(),
            );
        }
        for x in &f.findings {
            let index = controls
                .iter()
                .position(|c| c.id == x.control)
                .map(|i| i as i64);
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
            let mut text = format!("{}: {} ({})", x.control, x.detail, x.key);
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
            result.rule_index = index;
            results.push(result);
        }
    }
    let driver = ToolComponent::builder()
        .name("hookswitch".to_string())
        .semantic_version(env!("CARGO_PKG_VERSION").to_string())
        .information_uri("https://www.nsa.gov/".to_string())
        .rules(rules)
        .build();
    let invocation = Invocation::builder()
        .execution_successful(true)
        .tool_execution_notifications(notifications)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .build();
    let log = Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json".to_string())
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    serde_json::to_string_pretty(&log).unwrap_or_default()
}
