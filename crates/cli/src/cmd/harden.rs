//! `hookswitch harden`: a hardened vendor configuration, new or patched.

use crate::flags::HardenArgs;
use crate::output::emit;
use crate::scan::{read_input, understand};
use hookswitch_vendors::{keys, patch, Format, Loaded, Vendor};

pub fn run(args: HardenArgs) -> Result<u8, String> {
    let HardenArgs {
        vendor,
        file_format,
        model,
        profile,
        input,
        output,
    } = args;
    // The audit's loader: one read, one detection (unless --file-format), one parse.
    let loaded = match &input {
        Some(p) => {
            let bytes = read_input(p).map_err(|e| format!("{}: {e}", p.display()))?;
            match understand(p, &bytes, file_format) {
                Loaded::Unrecognised { why, .. } => return Err(format!("{}: {why}", p.display())),
                Loaded::Config { detected, doc } => Some((detected.format, Ok(doc), bytes)),
                Loaded::Malformed { detected, error } => Some((detected.format, Err(error), bytes)),
            }
        }
        None => None,
    };
    let format = match &loaded {
        Some((format, _, _)) => *format,
        None => file_format.unwrap_or(Format::default_for(vendor)),
    };
    if format.vendor() != vendor {
        return Err(format!(
            "format {format} belongs to {}, not {vendor}",
            format.vendor()
        ));
    }
    let family = model.as_deref().and_then(|m| keys::family_of(vendor, m));
    if model.is_some() && family.is_none() && vendor == Vendor::Grandstream {
        return Err(format!(
            "unknown Grandstream model {:?}",
            model.unwrap_or_default()
        ));
    }
    let hardened = match &loaded {
        Some((_, doc, bytes)) => doc
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|doc| patch::harden_parsed(doc, bytes, profile.into(), family)),
        // A new file records its model, so auditing it later needs no --model.
        None => {
            let skeleton = model
                .as_deref()
                .map(|m| patch::skeleton_for_model(format, Some(m)).into_bytes());
            patch::harden(format, skeleton.as_deref(), profile.into(), family)
        }
    }
    .map_err(|e| {
        let src = input
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "(skeleton)".into());
        format!("{src}:{e}")
    })?;
    for c in &hardened.changes {
        match &c.old {
            Some(old) => eprintln!("changed {}: {old:?} -> {:?}", c.key, c.new),
            None => eprintln!("added   {} = {:?}", c.key, c.new),
        }
    }
    for (control, why) in &hardened.not_expressible {
        eprintln!("not set {control}: {why}");
    }
    emit(output.as_deref(), &hardened.bytes)?;
    Ok(0)
}
