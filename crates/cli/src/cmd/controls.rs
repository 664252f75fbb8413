//! `hookswitch controls`: the catalogue, as a table or JSON.

use crate::flags::{CatalogueFormat, ControlsArgs};
use crate::output::emit;
use hookswitch_controls::{Profile, CATALOGUE};

pub fn run(args: ControlsArgs) -> Result<u8, String> {
    let text = match args.format {
        CatalogueFormat::Json => {
            serde_json::to_string_pretty(CATALOGUE).map_err(|e| e.to_string())? + "\n"
        }
        CatalogueFormat::Table => table(),
    };
    emit(None, text.as_bytes())?;
    Ok(0)
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
