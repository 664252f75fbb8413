//! Defects of real vendor files (issue 12), one hand-written fixture per class in
//! `tests/real/`, in each vendor's own syntax.

use hookswitch_controls::{Setting, SipTransport, Value};
use hookswitch_vendors::{
    detect, load, observe, parse, patch, Document, Format, Loaded, Observed, ParseError,
    Unrecognised,
};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/real")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Detected and parsed as the loader does it; a defective file must still be a `Config`.
fn loaded(name: &str) -> (Format, Document) {
    match load(name, &fixture(name)) {
        Loaded::Config { detected, doc } => (detected.format, doc),
        other => panic!("{name}: expected a parsed config, got {other:?}"),
    }
}

fn value(doc: &Document, s: Setting) -> Option<Value> {
    let obs = observe(doc, s, None);
    assert_eq!(obs.len(), 1, "{s}: {obs:?}");
    match &obs[0].observed {
        Observed::Set { value } | Observed::Default { value } => Some(*value),
        Observed::Unknown { .. } => None,
    }
}

fn at(w: &[ParseError]) -> Vec<(u32, u32)> {
    w.iter().map(|w| (w.line, w.col)).collect()
}

const ON: Option<Value> = Some(Value::Enabled(true));
const OFF: Option<Value> = Some(Value::Enabled(false));

// Class 1: one bad line or attribute is a warning; the rest of the file is audited.

#[test]
fn yealink_lines_without_equals_are_skipped_with_their_position() {
    let (format, doc) = loaded("yealink-defective-lines.cfg");
    assert_eq!(format, Format::YealinkV8x);
    // `key` alone, `key value`, and a template leftover `{""}`.
    assert_eq!(
        at(&doc.warnings),
        vec![(5, 1), (6, 1), (7, 1)],
        "{:?}",
        doc.warnings
    );
    assert!(doc.warnings[0].reason.contains("key = value"));
    assert_eq!(value(&doc, Setting::Wifi), ON, "line 8 still counts");
    assert_eq!(value(&doc, Setting::Bluetooth), ON);
    assert_eq!(value(&doc, Setting::Snmp), OFF);
}

#[test]
fn a_skipped_line_is_never_echoed_in_the_warning() {
    let doc = parse(
        Format::YealinkV8x,
        b"static.wifi.enable = 0\nstatic.security.user_password admin:Hunter2secret\n",
    )
    .unwrap();
    assert_eq!(doc.warnings.len(), 1);
    assert!(
        !doc.warnings[0].to_string().contains("Hunter2"),
        "{}",
        doc.warnings[0]
    );
}

#[test]
fn a_text_file_with_no_readable_line_is_still_an_error() {
    let e = parse(Format::YealinkV8x, b"this is not\na configuration file\n").unwrap_err();
    assert_eq!((e.line, e.col), (1, 1), "{e}");
    // Comments only: an empty configuration, not an error.
    assert!(parse(Format::YealinkV8x, b"#!version:1.0.0.1\n# nothing\n").is_ok());
}

#[test]
fn poly_duplicated_and_malformed_attributes_are_warnings() {
    let (format, doc) = loaded("poly-duplicate-attribute.cfg");
    assert_eq!(format, Format::PolyXml);
    let reasons: Vec<String> = doc.warnings.iter().map(ToString::to_string).collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("4:3:") && r.contains("reg.1.label is duplicated")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("6:") && r.contains("malformed attribute")),
        "the `{{\"\"}}` inside <feature>: {reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("9:1:") && r.contains("outside the root")),
        "the `{{\"\"}}` after the root: {reasons:?}"
    );
    // The later duplicate takes effect, as duplicated keys do everywhere.
    assert_eq!(doc.get("reg.1.label").unwrap().value, "Front desk");
    // And every setting around the defects is read.
    assert_eq!(value(&doc, Setting::Bluetooth), OFF);
    assert_eq!(value(&doc, Setting::TelnetServer), ON);
    assert_eq!(
        value(&doc, Setting::SipTransport),
        Some(Value::Sip(SipTransport::Udp))
    );
}

#[test]
fn cisco_unescaped_ampersand_and_unquoted_attribute_are_warnings() {
    let (format, doc) = loaded("SEP00112233EEFF.cnf.xml");
    assert_eq!(format, Format::CiscoCucm);
    let lines: Vec<u32> = doc.warnings.iter().map(|w| w.line).collect();
    assert!(lines.contains(&4), "unquoted attribute: {:?}", doc.warnings);
    assert!(lines.contains(&7), "bare `&`: {:?}", doc.warnings);
    assert!(
        lines.contains(&15),
        "leftover after the root: {:?}",
        doc.warnings
    );
    assert_eq!(doc.get("phoneLabel").unwrap().value, "R&D lab");
    assert_eq!(value(&doc, Setting::SshServer), OFF);
    assert_eq!(value(&doc, Setting::PcPort), OFF);
}

#[test]
fn grandstream_bare_ampersand_is_kept_with_a_warning() {
    let (format, doc) = loaded("cfg000b82aabbcc.xml");
    assert_eq!(format, Format::GrandstreamXmlV1);
    assert_eq!(at(&doc.warnings), vec![(6, 9)], "{:?}", doc.warnings);
    assert_eq!(doc.get("P3").unwrap().value, "Sales & Support");
    assert_eq!(doc.get("P276").unwrap().value, "0");
}

#[test]
fn grandstream_text_lines_without_equals_are_skipped() {
    let (format, doc) = loaded("cfg000b82aabbdd.txt");
    assert_eq!(format, Format::GrandstreamText);
    assert_eq!(
        at(&doc.warnings),
        vec![(3, 1), (4, 1)],
        "{:?}",
        doc.warnings
    );
    assert_eq!(doc.get("P21896").unwrap().value, "1");
    assert_eq!(doc.get("P276").unwrap().value, "0");
}

#[test]
fn snom_malformed_attributes_are_warnings() {
    let (format, doc) = loaded("snomD785-000413AABB00.htm");
    assert_eq!(format, Format::SnomXml);
    assert!(!doc.warnings.is_empty());
    assert!(
        doc.warnings.iter().all(|w| (4..=6).contains(&w.line)),
        "{:?}",
        doc.warnings
    );
    assert_eq!(doc.get("user_savp[1]").unwrap().value, "mandatory");
    assert_eq!(doc.get("xml_notify").unwrap().value, "on");
    assert_eq!(value(&doc, Setting::WebPlainHttp), ON);
}

#[test]
fn xml_that_is_not_xml_at_all_is_still_an_error() {
    assert!(parse(Format::PolyXml, b"{\"\"}\n").is_err());
    assert!(parse(Format::CiscoCucm, b"<device><vendorConfig></device>").is_err());
}

#[test]
fn hardening_a_file_with_warnings_keeps_the_defects_and_is_a_fixed_point() {
    use hookswitch_controls::Profile;
    for (name, format) in [
        ("yealink-defective-lines.cfg", Format::YealinkV8x),
        ("poly-duplicate-attribute.cfg", Format::PolyXml),
        ("SEP00112233EEFF.cnf.xml", Format::CiscoCucm),
        ("snomD785-000413AABB00.htm", Format::SnomXml),
    ] {
        let bytes = fixture(name);
        let once = patch::harden(format, Some(&bytes), Profile::Sensitive, None).unwrap();
        let warned = parse(format, &bytes).unwrap().warnings.len();
        let again = parse(format, &once.bytes).unwrap();
        assert_eq!(again.warnings.len(), warned, "{name}");
        let twice = patch::harden(format, Some(&once.bytes), Profile::Sensitive, None).unwrap();
        assert_eq!(twice.bytes, once.bytes, "{name}: harden is not idempotent");
    }
}

// Class 5: Yealink files that mix `static.`-prefixed and unprefixed keys.

#[test]
fn yealink_mixed_spellings_are_both_read() {
    let (_, doc) = loaded("yealink-mixed-spellings.cfg");
    assert_eq!(value(&doc, Setting::Snmp), OFF);
    assert_eq!(
        value(&doc, Setting::Wifi),
        ON,
        "`wifi.enable` in a static. file"
    );
    // Both spellings of one key: the later line wins.
    let obs = observe(&doc, Setting::ProvisioningCertCheck, None);
    assert_eq!(obs[0].line, Some(6), "{obs:?}");
    for format in [Format::YealinkV7x, Format::YealinkV8x] {
        let doc = parse(format, &fixture("yealink-mixed-spellings.cfg")).unwrap();
        assert_eq!(value(&doc, Setting::Wifi), ON, "{format}");
        assert_eq!(value(&doc, Setting::Snmp), OFF, "{format}");
    }
}

#[test]
fn hardening_a_mixed_file_fixes_the_spelling_it_has() {
    use hookswitch_controls::Profile;
    let bytes = fixture("yealink-mixed-spellings.cfg");
    let h = patch::harden(Format::YealinkV8x, Some(&bytes), Profile::Standard, None).unwrap();
    let text = String::from_utf8(h.bytes).unwrap();
    assert!(text.contains("\nwifi.enable = 0\n"), "{text}");
    assert!(
        !text.contains("static.wifi.enable"),
        "no second spelling added: {text}"
    );
}

// Class 6: detection weighs the whole file.

#[test]
fn a_cisco_79xx_file_with_one_yealink_line_is_not_yealink() {
    let bytes = fixture("SIP001122334455.cnf");
    match detect("SIP001122334455.cnf", &bytes) {
        Err(Unrecognised::Unknown(why)) => assert!(why.contains("key : value"), "{why}"),
        other => panic!("expected unrecognised, got {other:?}"),
    }
    // A Yealink file with a stray colon line is still Yealink.
    let yealink = b"static.wifi.enable = 0\nfeatures.bluetooth_enable = 0\nnote: kept\n";
    assert_eq!(detect("a.cfg", yealink).unwrap().format, Format::YealinkV8x);
}

// Class 7: a plain-HTTP listener implies the web UI is on.

#[test]
fn a_plain_http_listener_means_the_web_ui_is_on() {
    let (_, doc) = loaded("poly-http-listener.cfg");
    assert_eq!(value(&doc, Setting::WebPlainHttp), ON);
    let obs = observe(&doc, Setting::WebUi, None);
    assert_eq!(obs.len(), 1);
    assert_eq!(
        obs[0].observed,
        Observed::Set {
            value: Value::Enabled(true)
        }
    );
    assert!(
        obs[0].key.contains("httpd.cfg.secureTunnelRequired"),
        "{}",
        obs[0].key
    );
    // An explicit UI switch still wins over the implication.
    let doc = parse(
        Format::PolyXml,
        b"<polycomConfig httpd.enabled=\"0\" httpd.cfg.secureTunnelRequired=\"0\"/>",
    )
    .unwrap();
    assert_eq!(value(&doc, Setting::WebUi), OFF);
}

// Class 8: a feature flag that makes a radio available counts as enabled.

#[test]
fn poly_bluetooth_feature_flag_alone_counts_as_enabled() {
    let (_, doc) = loaded("poly-bluetooth-feature-only.cfg");
    assert_eq!(value(&doc, Setting::Bluetooth), ON);
}

// Class 3 (vendor side): a per-account setting with no account instance is observed.

#[test]
fn a_per_account_setting_with_no_instance_is_an_observation_with_a_reason() {
    let (_, doc) = loaded("yealink-account-without-crypto.cfg");
    for s in [Setting::SipTransport, Setting::SrtpRequired] {
        let obs = observe(&doc, s, None);
        assert_eq!(obs.len(), 1, "{s}: {obs:?}");
        match &obs[0].observed {
            Observed::Unknown { reason } => assert!(reason.contains("no instance"), "{reason}"),
            other => panic!("{s}: {other:?}"),
        }
    }
}

#[test]
fn hardening_after_a_defective_last_line_without_newline_is_a_fixed_point() {
    use hookswitch_controls::Profile;
    for (format, input) in [
        (Format::YealinkV8x, &b"static.wifi.enable = 1\n{\"\"}"[..]),
        (Format::GrandstreamText, &b"P276 = 1\nP2"[..]),
        (Format::PolyXml, &b"<polycomConfig a.b=\"1\" {\"\"}/>x"[..]),
        (Format::SnomXml, &b"<settings><phone-settings><xml_notify perm=R>on</xml_notify></phone-settings></settings>"[..]),
    ] {
        let once = patch::harden(format, Some(input), Profile::Sensitive, Some("grp")).unwrap();
        let twice = patch::harden(format, Some(&once.bytes), Profile::Sensitive, Some("grp")).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&twice.bytes),
            String::from_utf8_lossy(&once.bytes),
            "{format}"
        );
    }
}
