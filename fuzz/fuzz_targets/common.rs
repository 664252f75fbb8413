// Shared by every parser target: parse, read every setting, evaluate, and check that
// hardening either refuses or yields a file that parses again and is a fixed point.
use hookswitch_controls::{Profile, Setting};
use hookswitch_vendors::{observe, parse, patch, Format};

pub fn exercise(format: Format, data: &[u8]) {
    let Ok(doc) = parse(format, data) else { return };
    for &s in Setting::ALL {
        let _ = observe(&doc, s, Some("grp"));
    }
    let _ = hookswitch_audit::evaluate(&doc, None, Profile::Sensitive);
    if let Ok(h) = patch::harden(format, Some(data), Profile::Sensitive, Some("grp")) {
        let again = parse(format, &h.bytes);
        assert!(again.is_ok(), "hardened output does not parse: {:?}", again.err());
        let twice = patch::harden(format, Some(&h.bytes), Profile::Sensitive, Some("grp")).expect("harden of hardened");
        assert_eq!(twice.bytes, h.bytes, "harden is not idempotent");
    }
}
