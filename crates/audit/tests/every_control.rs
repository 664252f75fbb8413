//! Every applicable control appears in every file's findings, with a reason (issue 12), and
//! the audit-level consequences of the real-file fixtures in `crates/vendors/tests/real/`.

use hookswitch_audit::{evaluate, Finding, Status};
use hookswitch_controls::{config_controls, Profile};
use hookswitch_vendors::{load, parse, Format, Loaded};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<Finding> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../vendors/tests/real")
        .join(name);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    match load(name, &bytes) {
        Loaded::Config { doc, .. } => evaluate(&doc, None, Profile::Sensitive),
        other => panic!("{name}: {other:?}"),
    }
}

fn of<'f>(findings: &'f [Finding], control: &str) -> Vec<&'f Finding> {
    findings.iter().filter(|f| f.control == control).collect()
}

/// The smallest file of each format: nothing set at all.
const EMPTY: &[(Format, &str)] = &[
    (Format::PolyXml, "<polycomConfig/>"),
    (Format::YealinkV7x, "#!version:1.0.0.1\n"),
    (Format::YealinkV8x, "#!version:1.0.0.1\n"),
    (Format::YealinkEncrypted, "#!key_ciphertext:AAAA\n"),
    (Format::CiscoCucm, "<device/>"),
    (Format::CiscoMpp, "<flat-profile/>"),
    (Format::GrandstreamText, ""),
    (
        Format::GrandstreamXmlV1,
        "<gs_provision><config version=\"1\"/></gs_provision>",
    ),
    (
        Format::GrandstreamXmlV2,
        "<gs_provision><config version=\"2\"/></gs_provision>",
    ),
    (Format::SnomXml, "<settings/>"),
];

#[test]
fn every_applicable_control_has_a_finding_with_a_reason_in_every_format() {
    for profile in [Profile::Standard, Profile::Sensitive] {
        let want: BTreeSet<&str> = config_controls(profile).map(|c| c.id).collect();
        for &(format, text) in EMPTY {
            let doc = parse(format, text.as_bytes()).unwrap();
            for family in [None, Some("grp")] {
                let findings = evaluate(&doc, family, profile);
                let got: BTreeSet<&str> = findings.iter().map(|f| f.control).collect();
                let missing: Vec<_> = want.difference(&got).collect();
                assert!(
                    missing.is_empty(),
                    "{format} {family:?}: no finding for {missing:?}"
                );
                for f in &findings {
                    assert!(
                        !f.detail.is_empty(),
                        "{format}: {} has no reason",
                        f.control
                    );
                }
            }
        }
    }
}

#[test]
fn per_account_crypto_controls_are_not_assessable_when_no_account_sets_them() {
    let findings = fixture("yealink-account-without-crypto.cfg");
    for control in ["HS-CRYPTO-01", "HS-CRYPTO-02"] {
        let f = of(&findings, control);
        assert_eq!(f.len(), 1, "{control}: {f:?}");
        assert_eq!(f[0].status, Status::NotAssessable);
        assert!(f[0].detail.contains("no instance"), "{}", f[0].detail);
    }
}

#[test]
fn a_plain_http_listener_fails_web_02_even_without_the_ui_switch() {
    let findings = fixture("poly-http-listener.cfg");
    let f = of(&findings, "HS-WEB-02");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].status, Status::Fail, "{}", f[0].detail);
    let f = of(&findings, "HS-WEB-01");
    assert_eq!(f[0].status, Status::Fail, "the UI is on: {}", f[0].detail);
}

#[test]
fn a_bluetooth_feature_flag_alone_fails_bt_01() {
    let findings = fixture("poly-bluetooth-feature-only.cfg");
    assert_eq!(of(&findings, "HS-BT-01")[0].status, Status::Fail);
}

#[test]
fn a_file_with_defective_lines_is_still_audited() {
    let findings = fixture("yealink-defective-lines.cfg");
    assert_eq!(of(&findings, "HS-WLAN-01")[0].status, Status::Fail);
    assert_eq!(of(&findings, "HS-SNMP-01")[0].status, Status::Pass);
}
