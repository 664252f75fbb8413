// Shared by every parser target: parse, read every setting, evaluate, and check that
// hardening either refuses or yields a file that parses again and is a fixed point.
// A defective line or attribute is a warning and the parse goes on: the oracle accepts
// that, and checks that each warning points into the file and that they stay bounded.
use hookswitch_controls::{Profile, Setting};
use hookswitch_vendors::{observe, parse, patch, Document, Format, MAX_WARNINGS};

fn check_warnings(doc: &Document, data: &[u8]) {
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    assert!(doc.warnings.len() <= MAX_WARNINGS + 1, "unbounded warnings");
    for w in &doc.warnings {
        assert!(w.line >= 1 && w.line as usize <= lines && w.col >= 1, "warning outside the file: {w}");
    }
}

pub fn exercise(format: Format, data: &[u8]) {
    let Ok(doc) = parse(format, data) else { return };
    check_warnings(&doc, data);
    for &s in Setting::ALL {
        let _ = observe(&doc, s, Some("grp"));
    }
    let _ = hookswitch_audit::evaluate(&doc, None, Profile::Sensitive);
    if let Ok(h) = patch::harden(format, Some(data), Profile::Sensitive, Some("grp")) {
        let again = parse(format, &h.bytes);
        assert!(again.is_ok(), "hardened output does not parse: {:?}", again.err());
        if let Ok(again) = &again {
            check_warnings(again, &h.bytes);
        }
        let twice = patch::harden(format, Some(&h.bytes), Profile::Sensitive, Some("grp")).expect("harden of hardened");
        assert_eq!(twice.bytes, h.bytes, "harden is not idempotent");
    }
}
