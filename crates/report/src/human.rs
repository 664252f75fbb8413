use crate::{summarize, Identity, Status, Subject};
use hookswitch_controls::{control, Profile};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Grouped by subject, then a summary per control.
pub fn human<I: Identity>(
    files: &[Subject<I>],
    profile: Profile,
    sink: &mut dyn Write,
) -> io::Result<()> {
    for f in files {
        let mut out = String::new();
        let what = f.identity.describe(f.skipped.is_some());
        let _ = writeln!(out, "{}: {what}", f.path);
        if !f.layers.is_empty() {
            let _ = writeln!(
                out,
                "  layers (highest priority first): {}",
                f.layers.join(", ")
            );
        }
        if let Some(e) = &f.error {
            let _ = writeln!(out, "  ERROR {e}");
        }
        for w in &f.warnings {
            let _ = writeln!(out, "  WARNING {w}");
        }
        if let Some(s) = &f.skipped {
            let _ = writeln!(out, "  skipped: {s}");
        }
        let mut findings: Vec<_> = f.findings.iter().collect();
        findings.sort_by_key(|x| (x.status, std::cmp::Reverse(x.severity), x.control));
        for x in findings {
            let line = x.line.map(|l| format!(":{l}")).unwrap_or_default();
            let tag = match x.status {
                Status::Fail => "FAIL",
                Status::Pass => "pass",
                Status::NotAssessable => "n/a ",
            };
            let _ = writeln!(
                out,
                "  {tag} {:<13} {:<6} {}{line}  {}",
                x.control,
                x.severity.as_str(),
                x.key,
                x.detail
            );
            if x.status == Status::Fail {
                let _ = writeln!(out, "       fix: {}", x.remediation);
            }
        }
        sink.write_all(out.as_bytes())?;
    }
    let mut out = String::new();
    let s = summarize(files);
    let _ = writeln!(out, "\nSummary ({} profile): {} files, {} audited, {} errors, {} skipped; findings: {} fail, {} pass, {} not assessable",
        if profile == Profile::Sensitive { "sensitive" } else { "standard" },
        s.files, s.audited, s.errors, s.skipped, s.findings.fail, s.findings.pass, s.findings.not_assessable);
    let _ = writeln!(
        out,
        "{:<13} {:>5} {:>5} {:>5}  title",
        "control", "fail", "pass", "n/a"
    );
    for (id, c) in &s.controls {
        let title = control(id).map(|c| c.title).unwrap_or("");
        let _ = writeln!(
            out,
            "{id:<13} {:>5} {:>5} {:>5}  {title}",
            c.fail, c.pass, c.not_assessable
        );
    }
    sink.write_all(out.as_bytes())
}
