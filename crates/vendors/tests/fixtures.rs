//! The vendor parsers and key tables against the example files in `examples/configs`.

use hookswitch_controls::{FetchScheme, SecretState, Setting, SipTransport, Value};
use hookswitch_vendors::{detect, keys, observe, parse, Document, Format, Observed, Unrecognised};
use std::path::PathBuf;

fn example(rel: &str) -> (String, Vec<u8>) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/configs")
        .join(rel);
    let name = p.file_name().unwrap().to_string_lossy().into_owned();
    (
        name,
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
}

fn load(rel: &str) -> Document {
    let (name, bytes) = example(rel);
    let d = detect(&name, &bytes).unwrap();
    parse(d.format, &bytes).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn value(doc: &Document, s: Setting, family: Option<&str>) -> Option<Value> {
    let obs = observe(doc, s, family);
    assert_eq!(obs.len(), 1, "{s}: {obs:?}");
    match &obs[0].observed {
        Observed::Set { value } | Observed::Default { value } => Some(*value),
        Observed::Unknown { .. } => None,
    }
}

fn reason(doc: &Document, s: Setting, family: Option<&str>) -> String {
    match &observe(doc, s, family)[0].observed {
        Observed::Unknown { reason } => reason.clone(),
        other => panic!("{s}: expected unknown, got {other:?}"),
    }
}

const ON: Option<Value> = Some(Value::Enabled(true));
const OFF: Option<Value> = Some(Value::Enabled(false));

#[test]
fn every_example_is_detected_as_its_format() {
    let cases = [
        ("poly/site.cfg", Format::PolyXml),
        ("poly/000000000000.cfg", Format::PolyXml),
        ("yealink/y000000000096.cfg", Format::YealinkV8x),
        ("yealink/805ec0aabbcc.cfg", Format::YealinkV8x),
        ("yealink/y000000000044.cfg", Format::YealinkV7x),
        ("yealink/001565112233.cfg", Format::YealinkEncrypted),
        ("cisco/SEP001122AABBCC.cnf.xml", Format::CiscoCucm),
        ("cisco/mpp-8861-insecure.xml", Format::CiscoMpp),
        ("grandstream/cfggrp2612.txt", Format::GrandstreamText),
        ("grandstream/cfggrp2614.xml", Format::GrandstreamXmlV1),
        ("grandstream/cfggrp2616-alias.xml", Format::GrandstreamXmlV2),
        ("snom/snomD785-000413AABBCC.htm", Format::SnomXml),
    ];
    for (rel, want) in cases {
        let (name, bytes) = example(rel);
        assert_eq!(detect(&name, &bytes).unwrap().format, want, "{rel}");
    }
    let (name, bytes) = example("yealink/y000000000000.boot");
    assert!(matches!(detect(&name, &bytes), Err(Unrecognised::Index(_))));
    assert_eq!(
        detect("snomD785-000413AABBCC.htm", b"<settings/>")
            .unwrap()
            .model
            .as_deref(),
        Some("snomd785")
    );
    assert_eq!(
        detect(
            "cfggrp2612w.xml",
            b"<gs_provision><config version=\"2\"/></gs_provision>"
        )
        .unwrap()
        .model
        .as_deref(),
        Some("grp2612w")
    );
}

#[test]
fn binary_and_empty_files_are_not_vendor_files() {
    assert_eq!(detect("x.cfg", b"abc\0def"), Err(Unrecognised::Binary));
    assert_eq!(detect("x.cfg", b"  \n"), Err(Unrecognised::Empty));
    assert!(matches!(
        detect("x.xml", b"<html><body/></html>"),
        Err(Unrecognised::Unknown(_))
    ));
}

#[test]
fn cisco_cucm_inverted_flags() {
    let insecure = load("cisco/SEP001122AABBCC.cnf.xml");
    assert_eq!(
        value(&insecure, Setting::WebUi, None),
        ON,
        "webAccess 0 means enabled"
    );
    assert_eq!(
        value(&insecure, Setting::SshServer, None),
        ON,
        "sshAccess 0 means enabled"
    );
    assert_eq!(
        value(&insecure, Setting::PcPort, None),
        ON,
        "pcPort 0 means enabled"
    );
    assert_eq!(value(&insecure, Setting::PcVoiceVlanAccess, None), ON);
    assert_eq!(
        value(&insecure, Setting::SipTransport, None),
        Some(Value::Sip(SipTransport::Udp))
    );
    assert_eq!(value(&insecure, Setting::ConfigSigning, None), OFF);
    let hardened = load("cisco/SEP00112233DDEE.cnf.xml");
    assert_eq!(
        value(&hardened, Setting::WebUi, None),
        OFF,
        "webAccess 1 means disabled"
    );
    assert_eq!(
        value(&hardened, Setting::PcPort, None),
        OFF,
        "pcPort 1 means disabled"
    );
    assert_eq!(
        value(&hardened, Setting::Speakerphone, None),
        OFF,
        "disableSpeaker true"
    );
    assert!(reason(&hardened, Setting::TelnetServer, None).contains("no verified cisco key"));
}

#[test]
fn poly_device_keys_need_their_set_flags() {
    let site = load("poly/site.cfg");
    assert_eq!(value(&site, Setting::Wifi, None), ON);
    assert_eq!(
        value(&site, Setting::ProvisioningTransport, None),
        Some(Value::Fetch(FetchScheme::Tftp))
    );
    assert!(reason(&site, Setting::ProvisioningCertCheck, None).contains("ignored by the phone"));
    assert_eq!(
        value(&site, Setting::AdminPassword, None),
        Some(Value::Secret(SecretState::VendorDefault))
    );
    // The password itself never leaves the parser.
    let obs = observe(&site, Setting::AdminPassword, None);
    assert_eq!(obs[0].raw.as_deref(), Some("(secret withheld)"));
    // Without the master device.set flag nothing under device.* counts.
    let no_master = parse(Format::PolyXml, br#"<polycomConfig><d device.wifi.enabled.set="1" device.wifi.enabled="0"/></polycomConfig>"#).unwrap();
    assert!(reason(&no_master, Setting::Wifi, None).contains("device.set"));
    // Documented default: handsfree is on unless set.
    let empty = parse(Format::PolyXml, b"<polycomConfig/>").unwrap();
    assert!(matches!(
        observe(&empty, Setting::Speakerphone, None)[0].observed,
        Observed::Default {
            value: Value::Enabled(true)
        }
    ));
}

#[test]
fn yealink_v7x_and_v8x_spellings() {
    let v8 = load("yealink/y000000000096.cfg");
    let v7 = load("yealink/y000000000044.cfg");
    assert_eq!(value(&v8, Setting::Snmp, None), ON);
    assert_eq!(value(&v7, Setting::Snmp, None), ON);
    assert_eq!(
        observe(&v7, Setting::Snmp, None)[0].key,
        "network.snmp.enable"
    );
    assert_eq!(
        observe(&v8, Setting::Snmp, None)[0].key,
        "static.network.snmp.enable"
    );
    // features.* keys never had the prefix.
    assert_eq!(
        observe(&v7, Setting::Speakerphone, None)[0].key,
        "features.speaker_mode.enable"
    );
    // SRTP: only 0 has one meaning across the sources.
    assert_eq!(value(&v8, Setting::SrtpRequired, None), OFF);
    let srtp2 = parse(Format::YealinkV8x, b"account.1.srtp_encryption = 2\n").unwrap();
    assert!(reason(&srtp2, Setting::SrtpRequired, None).contains("no documented meaning"));
    // SNMP's documented default is off.
    let empty = parse(Format::YealinkV8x, b"#!version:1.0.0.1\n").unwrap();
    assert!(matches!(
        observe(&empty, Setting::Snmp, None)[0].observed,
        Observed::Default {
            value: Value::Enabled(false)
        }
    ));
    // One observation per SIP account.
    let two = parse(
        Format::YealinkV8x,
        b"account.1.sip_server.1.transport_type = 2\naccount.2.sip_server.1.transport_type = 0\n",
    )
    .unwrap();
    let obs = observe(&two, Setting::SipTransport, None);
    assert_eq!(obs.len(), 2);
    assert_eq!(obs[1].line, Some(2));
}

#[test]
fn yealink_encrypted_is_not_assessable() {
    let enc = load("yealink/001565112233.cfg");
    assert!(reason(&enc, Setting::WebUi, None).contains("AES-encrypted"));
}

#[test]
fn grandstream_pvalues_are_keyed_by_family() {
    let doc = parse(Format::GrandstreamText, b"P276 = 0\n").unwrap();
    assert_eq!(value(&doc, Setting::SshServer, Some("grp")), ON);
    assert!(reason(&doc, Setting::TelnetServer, Some("grp")).contains("model family grp"));
    assert_eq!(value(&doc, Setting::TelnetServer, Some("gxp2124")), ON);
    assert!(reason(&doc, Setting::SshServer, None).contains("--model"));
    assert_eq!(
        keys::family_of(hookswitch_vendors::Vendor::Grandstream, "GRP2612W"),
        Some("grp")
    );
    assert_eq!(
        keys::family_of(hookswitch_vendors::Vendor::Grandstream, "GXP2124"),
        Some("gxp2124")
    );
    assert_eq!(
        keys::family_of(hookswitch_vendors::Vendor::Grandstream, "GXP2160"),
        Some("gxp21xx")
    );
    // The alias form uses the same rules.
    let alias = load("grandstream/cfggrp2616-alias.xml");
    assert_eq!(value(&alias, Setting::WebPlainHttp, Some("grp")), ON);
    assert_eq!(
        value(&alias, Setting::SnmpSecurity, Some("grp")),
        Some(Value::Snmp(hookswitch_controls::SnmpSecurity::V3AuthPriv))
    );
    let v1 = load("grandstream/cfggrp2614.xml");
    assert_eq!(
        value(&v1, Setting::SnmpSecurity, Some("grp")),
        Some(Value::Snmp(hookswitch_controls::SnmpSecurity::V3NoPriv))
    );
}

#[test]
fn snom_indexed_settings() {
    let s = load("snom/snomD785-000413DDEEFF.htm");
    let obs = observe(&s, Setting::SrtpRequired, None);
    assert_eq!(obs[0].key, "user_srtp[1], user_savp[1]");
    assert_eq!(
        value(&s, Setting::WebUi, None),
        ON,
        "https still runs the web server"
    );
    assert_eq!(value(&s, Setting::WebPlainHttp, None), OFF);
}

#[test]
fn later_duplicates_win() {
    let d = parse(
        Format::YealinkV8x,
        b"static.wifi.enable = 1\nstatic.wifi.enable = 0\n",
    )
    .unwrap();
    let obs = observe(&d, Setting::Wifi, None);
    assert_eq!(obs[0].line, Some(2));
    assert_eq!(value(&d, Setting::Wifi, None), OFF);
}

#[test]
fn malformed_input_names_line_and_column() {
    // A bad line is a warning at its position; the file is an error only when no line reads.
    let d = parse(
        Format::YealinkV8x,
        b"#!version:1.0.0.1\nstatic.wifi.enable = 0\n  this line has no equals\n",
    )
    .unwrap();
    let w = &d.warnings[0];
    assert_eq!((w.line, w.col), (3, 3), "{w}");
    assert!(w.to_string().starts_with("3:3: skipped: expected"), "{w}");
    let e = parse(Format::YealinkV8x, b"#!version:1.0.0.1\n  no equals\n").unwrap_err();
    assert_eq!((e.line, e.col), (2, 3), "{e}");
    let e = parse(
        Format::CiscoCucm,
        b"<device>\n  <vendorConfig>\n    <pcPort>0</webAccess>\n</device>\n",
    )
    .unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    let e = parse(Format::SnomXml, b"<settings>\n<phone-settings>\n").unwrap_err();
    assert!(e.reason.contains("not closed"), "{e}");
    let e = parse(Format::CiscoMpp, b"<device/>").unwrap_err();
    assert!(e.reason.contains("expected <flat-profile>"), "{e}");
    let e = parse(Format::GrandstreamText, b"P2 = ok\nP3 = \xff\xfe\n").unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(e.reason.contains("UTF-8"));
    let d = parse(Format::PolyXml, b"<polycomConfig a.b=\"1\" a.b=\"2\"/>").unwrap();
    assert_eq!(d.warnings[0].line, 1, "{:?}", d.warnings);
    assert_eq!(d.get("a.b").unwrap().value, "2");
}

#[test]
fn a_byte_order_mark_does_not_shift_value_spans() {
    // Found by the fuzzer: quick-xml skipped the BOM without counting it.
    let input =
        b"\xef\xbb\xbf<device>\n<vendorConfig>\n<pcPort>0</pcPort>\n</vendorConfig>\n</device>\n";
    let h = hookswitch_vendors::patch::harden(
        Format::CiscoCucm,
        Some(input),
        hookswitch_controls::Profile::Standard,
        None,
    )
    .unwrap();
    let text = String::from_utf8(h.bytes).unwrap();
    assert!(text.contains("<pcPort>1</pcPort>"), "{text}");
    let doc = parse(Format::CiscoCucm, input).unwrap();
    assert_eq!(doc.get("pcPort").unwrap().line, 3);
}

#[test]
fn a_second_byte_order_mark_is_an_error_not_a_shift() {
    let input =
        b"\xef\xbb\xbf\xef\xbb\xbf<device><vendorConfig><pcPort>0</pcPort></vendorConfig></device>";
    let e = parse(Format::CiscoCucm, input).unwrap_err();
    assert!(e.reason.contains("byte-order mark"), "{e}");
}

/// `harden` run on a document the loader already parsed gives what `harden` gives from bytes.
#[test]
fn hardening_a_loaded_document_equals_hardening_its_bytes() {
    use hookswitch_controls::Profile;
    use hookswitch_vendors::{load, patch, Loaded};
    let mut inputs: Vec<(String, Vec<u8>)> = [
        "poly/site.cfg",
        "poly/000000000000.cfg",
        "yealink/y000000000096.cfg",
        "yealink/y000000000044.cfg",
        "yealink/001565112233.cfg",
        "cisco/SEP001122AABBCC.cnf.xml",
        "cisco/mpp-8861-insecure.xml",
        "grandstream/cfggrp2612.txt",
        "grandstream/cfggrp2616-alias.xml",
        "snom/snomD785-000413AABBCC.htm",
    ]
    .into_iter()
    .map(example)
    .collect();
    // A self-closing root is opened up (and parsed again) inside harden.
    inputs.push(("site.cfg".into(), b"<polycomConfig/>\n".to_vec()));
    for (name, bytes) in inputs {
        let Loaded::Config { detected, doc } = load(&name, &bytes) else {
            panic!("{name} does not load")
        };
        let family = detected
            .model
            .as_deref()
            .and_then(|m| keys::family_of(detected.format.vendor(), m));
        let from_bytes = patch::harden(detected.format, Some(&bytes), Profile::Sensitive, family);
        let from_doc = patch::harden_parsed(&doc, &bytes, Profile::Sensitive, family);
        match (from_bytes, from_doc) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.bytes, b.bytes, "{name}");
                assert_eq!(a.changes, b.changes, "{name}");
                assert!(
                    !a.changes.is_empty() || name.contains("000000000000"),
                    "{name}"
                );
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{name}"),
            (a, b) => panic!("{name}: {a:?} vs {b:?}"),
        }
    }
}
