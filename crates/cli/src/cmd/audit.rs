//! `hookswitch audit`: vendor configuration files against the controls.

use crate::flags::{AuditArgs, AuditFormat};
use crate::output::emit_with;
use crate::scan::{audit_files, collect, Audit, Options};
use hookswitch_controls::Profile;
use hookswitch_inventory::Inventory;
use hookswitch_report as report;
use hookswitch_report::fails_at;
use std::io::IsTerminal;
use std::path::Path;

/// An inventory CSV is a few MB even for 100,000 devices.
const MAX_INVENTORY_BYTES: u64 = 256 * 1024 * 1024;

/// Read and parse `--inventory`; every bad row is named `file:line: column "…": why`.
fn read_inventory(path: &Path) -> Result<Inventory, String> {
    let shown = path.display();
    let bytes = hookswitch_atomicfile::read_regular(path, MAX_INVENTORY_BYTES)
        .map_err(|e| format!("{shown}: {e}"))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| format!("{shown}: not UTF-8: {e}"))?;
    Inventory::parse_csv(text).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("{shown}:{e}")).collect();
        format!("bad inventory (nothing audited):\n{}", lines.join("\n"))
    })
}

pub fn run(args: AuditArgs) -> Result<u8, String> {
    let AuditArgs {
        paths,
        format,
        fail_on,
        profile,
        layered,
        model,
        inventory,
        output,
    } = args;
    let profile: Profile = profile.into();
    let inventory = inventory.as_deref().map(read_inventory).transpose()?;
    let files = collect(&paths)?;
    let opts = Options {
        profile,
        model,
        inventory,
        layered,
        progress: std::io::stderr().is_terminal(),
    };
    let Audit {
        reports,
        unreadable,
    } = audit_files(&files, &opts);
    let write = |out: &mut dyn std::io::Write| match format {
        AuditFormat::Human => report::human(&reports, profile, out),
        AuditFormat::Json => report::json(&reports, profile, out),
        AuditFormat::Sarif => report::sarif(&reports, profile, out),
        AuditFormat::Cklb => {
            let target: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            report::cklb(&reports, profile, &target.join(" "), out)
        }
    };
    emit_with(output.as_deref(), write)?;
    if unreadable > 0 {
        // The report is incomplete: not a clean (or merely failing) audit.
        return Err(format!(
            "{unreadable} input file(s) could not be read (see the report)"
        ));
    }
    // A CI gate must not pass when it looked at nothing.
    if !reports
        .iter()
        .any(|r| r.identity.vendor.is_some() && r.error.is_none() && r.skipped.is_none())
    {
        return Err(format!(
            "nothing could be audited: none of the {} file(s) is a vendor configuration hookswitch reads (see the report)",
            reports.len()
        ));
    }
    Ok(if fails_at(&reports, fail_on.into()) {
        1
    } else {
        0
    })
}
