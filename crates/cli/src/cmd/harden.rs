//! `hookswitch harden`: a hardened vendor configuration, new or patched.

use crate::flags::HardenArgs;
use crate::output::emit;
use hookswitch_vendors::{keys, patch, Format, Vendor};

pub fn run(args: HardenArgs) -> Result<u8, String> {
    let HardenArgs {
        vendor,
        file_format,
        model,
        profile,
        input,
        output,
    } = args;
    let bytes = match &input {
        Some(p) => Some(
            crate::scan::read_regular(p)
                .map_err(|e| e.to_string())
                .and_then(|r| r)
                .map_err(|e| format!("{}: {e}", p.display()))?,
        ),
        None => None,
    };
    let format = match (file_format, &bytes, &input) {
        (Some(f), _, _) => f,
        (None, Some(b), Some(p)) => {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            hookswitch_vendors::detect(&name, b)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .format
        }
        _ => Format::default_for(vendor),
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
    // A new file records its model, so auditing it later needs no --model.
    let bytes = bytes.or_else(|| {
        model
            .as_deref()
            .map(|m| patch::skeleton_for_model(format, Some(m)).into_bytes())
    });
    let hardened =
        patch::harden(format, bytes.as_deref(), profile.into(), family).map_err(|e| {
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
