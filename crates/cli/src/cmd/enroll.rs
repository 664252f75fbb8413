//! `hookswitch enroll`: what is loaded onto an endpoint out of band, the trusted root and
//! its identity.

use crate::flags::EnrollArgs;
use crate::output::emit;
use hookswitch_repository::Repository;

pub fn run(args: EnrollArgs) -> Result<u8, String> {
    let EnrollArgs {
        repo,
        device_id,
        serial,
        output,
    } = args;
    let (root, bytes) = Repository::open(&repo).latest_root()?;
    let text = if serial {
        hookswitch_trust::enrollment::write_serial(&bytes, root.version, &device_id)?
    } else {
        hookswitch_trust::enrollment::write_json(&bytes, &device_id)?
    };
    emit(output.as_deref(), text.as_bytes())?;
    Ok(0)
}
