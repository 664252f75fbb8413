//! `hookswitch controls`: the catalogue, as a table or JSON; `--coverage` (or `--vendor V`):
//! the control × vendor matrix of what a configuration file can show.

use crate::flags::{CatalogueFormat, ControlsArgs};
use crate::output::emit;
use hookswitch_controls::{Profile, CATALOGUE};
use hookswitch_vendors::{keys, Vendor};

pub fn run(args: ControlsArgs) -> Result<u8, String> {
    let text = if args.coverage || args.vendor.is_some() {
        let vendors: Vec<Vendor> = match args.vendor {
            Some(v) => vec![v],
            None => Vendor::ALL.to_vec(),
        };
        match args.format {
            CatalogueFormat::Table => coverage_table(&vendors),
            CatalogueFormat::Json => {
                serde_json::to_string_pretty(&coverage_json(&vendors)).map_err(|e| e.to_string())?
                    + "\n"
            }
        }
    } else {
        match args.format {
            CatalogueFormat::Json => {
                serde_json::to_string_pretty(CATALOGUE).map_err(|e| e.to_string())? + "\n"
            }
            CatalogueFormat::Table => table(),
        }
    };
    emit(None, text.as_bytes())?;
    Ok(0)
}

/// Each config-checked control with the setting it reads, and one coverage cell per vendor.
fn coverage_rows(vendors: &[Vendor]) -> Vec<(&'static str, &'static str, Vec<String>)> {
    CATALOGUE
        .iter()
        .filter_map(|c| {
            let setting = c.requirement?.setting;
            let cells = vendors
                .iter()
                .map(|&v| keys::coverage(v, setting).to_string())
                .collect();
            Some((c.id, setting.name(), cells))
        })
        .collect()
}

fn coverage_table(vendors: &[Vendor]) -> String {
    let rows = coverage_rows(vendors);
    let widths: Vec<usize> = vendors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            rows.iter()
                .map(|(_, _, cells)| cells[i].len())
                .chain([v.as_str().len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |id: &str, setting: &str, cells: &[String]| {
        let mut l = format!("{id:<13} {setting:<24}");
        for (cell, w) in cells.iter().zip(&widths) {
            l.push_str(&format!(" {cell:<w$}"));
        }
        l.trim_end().to_string() + "\n"
    };
    let header: Vec<String> = vendors.iter().map(|v| v.as_str().to_uppercase()).collect();
    let mut out = line("CONTROL", "SETTING", &header);
    for (id, setting, cells) in &rows {
        out.push_str(&line(id, setting, cells));
    }
    let assessable: Vec<String> = vendors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let n = rows.iter().filter(|(_, _, c)| c[i] != "-").count();
            format!("{v} {n}/{}", rows.len())
        })
        .collect();
    out.push_str(&format!(
        "assessable from a file: {}\n\
         yes: a verified key in every format and model; only …: those formats or model families (pass --model or --inventory); -: no verified key (always not_assessable; see reference/vendor-config-keys.md)\n\
         {} other controls are checked by a probe or an attestation only (hookswitch controls)\n",
        assessable.join(", "),
        CATALOGUE.len() - rows.len()
    ));
    out
}

fn coverage_json(vendors: &[Vendor]) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = coverage_rows(vendors)
        .into_iter()
        .map(|(id, setting, cells)| {
            let by_vendor: serde_json::Map<String, serde_json::Value> = vendors
                .iter()
                .zip(cells)
                .map(|(v, c)| (v.to_string(), c.into()))
                .collect();
            serde_json::json!({"control": id, "setting": setting, "coverage": by_vendor})
        })
        .collect();
    serde_json::Value::Array(rows)
}

fn table() -> String {
    let mut out = format!(
        "{:<13} {:<6} {:<19} {:<9} {:<42} {}\n",
        "ID", "SEV", "CHECK", "PROFILE", "SECTION", "TITLE"
    );
    for c in CATALOGUE {
        let profile = if c.profile == Profile::Sensitive {
            "sensitive"
        } else {
            "standard"
        };
        out.push_str(&format!(
            "{:<13} {:<6} {:<19} {:<9} {:<42} {}\n",
            c.id,
            c.severity.as_str(),
            c.check.as_str(),
            profile,
            c.section,
            c.title
        ));
    }
    out.push_str(&format!("{} controls\n", CATALOGUE.len()));
    out
}
