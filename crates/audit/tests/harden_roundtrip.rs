//! Property tests for every writable vendor format and both profiles:
//! - `audit(harden(x))` has no failing finding for any control the vendor can express;
//! - `harden` is idempotent;
//! - `harden --in` keeps every unrelated line byte for byte.

use hookswitch_audit::{evaluate, Status};
use hookswitch_controls::{config_controls, Profile};
use hookswitch_vendors::patch::{harden, secure_pairs};
use hookswitch_vendors::{keys, parse, Format};
use proptest::prelude::*;

const WRITABLE: [Format; 9] = [
    Format::PolyXml,
    Format::YealinkV7x,
    Format::YealinkV8x,
    Format::CiscoCucm,
    Format::CiscoMpp,
    Format::GrandstreamText,
    Format::GrandstreamXmlV1,
    Format::GrandstreamXmlV2,
    Format::SnomXml,
];

fn family(format: Format) -> Option<&'static str> {
    (format.vendor() == hookswitch_vendors::Vendor::Grandstream).then_some("grp")
}

/// Keys this format knows (rule keys, plus harden keys), spelled for the format.
fn known_keys(format: Format) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in keys::rules_for(format) {
        for k in r.keys.iter().chain(r.harden.iter().map(|(k, _)| k)) {
            let mut k = k.replace('*', "1");
            if format == Format::YealinkV7x {
                if let Some(rest) = k.strip_prefix("static.") {
                    k = rest.to_string();
                }
            }
            if format == Format::GrandstreamXmlV2 {
                match keys::grandstream_alias(&k) {
                    Some(a) => k = a.to_string(),
                    None => continue,
                }
            }
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    out
}

/// Values worth trying for one key: every value its rules document, plus noise.
fn values_for(format: Format, key: &str) -> Vec<String> {
    let mut out: Vec<String> = vec!["0".into(), "1".into(), String::new()];
    for r in keys::rules_for(format) {
        let spelled: Vec<String> = r
            .keys
            .iter()
            .chain(r.harden.iter().map(|(k, _)| k))
            .map(|k| k.replace('*', "1"))
            .collect();
        if !spelled.iter().any(|k| {
            k.ends_with(key.trim_start_matches("static."))
                || keys::grandstream_alias(k) == Some(key)
        }) {
            continue;
        }
        if let keys::Decode::Map(table) = r.decode {
            out.extend(table.iter().map(|(k, _)| k.to_string()));
        }
        out.extend(r.harden.iter().map(|(_, v)| v.to_string()));
        if matches!(r.decode, keys::Decode::Url) {
            out.extend([
                "tftp://192.0.2.1/x".to_string(),
                "https://prov.example/".to_string(),
                "/$PSN.xml".to_string(),
            ]);
        }
    }
    out.extend(["admin:admin".to_string(), "any".to_string()]);
    out
}

fn setting_strategy(format: Format) -> BoxedStrategy<(String, String)> {
    proptest::sample::select(known_keys(format))
        .prop_flat_map(move |k| {
            let values = values_for(format, &k);
            let noise = "[a-zA-Z0-9 &<>\"'._:/-]{0,12}".prop_map(|s| s.trim().to_string());
            (
                Just(k),
                prop_oneof![4 => proptest::sample::select(values), 1 => noise],
            )
        })
        .boxed()
}

fn xml_escape(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Render settings plus unrelated lines in the format's real syntax.
fn render(format: Format, settings: &[(String, String)], noise: &[(String, String)]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut n = noise.iter();
    let kv = matches!(
        format,
        Format::YealinkV7x | Format::YealinkV8x | Format::GrandstreamText
    );
    for (k, v) in settings {
        if let Some((nk, nv)) = n.next() {
            lines.push(if kv {
                format!("# note {nv}\nunrelated.{nk} = {nv}")
            } else {
                match format {
                    Format::PolyXml => format!(
                        "  <!-- note {} -->\n  <x unrelated.{nk}=\"{}\"/>",
                        xml_escape(nv).replace("--", "- -"),
                        xml_escape(nv)
                    ),
                    Format::GrandstreamXmlV2 => format!(
                        "    <item name=\"unrelated.{nk}\">{}</item>",
                        xml_escape(nv)
                    ),
                    _ => format!("    <unrelated_{nk}>{}</unrelated_{nk}>", xml_escape(nv)),
                }
            });
        }
        lines.push(match format {
            _ if kv => format!("{k} = {v}"),
            Format::PolyXml => format!("  <s {k}=\"{}\"/>", xml_escape(v)),
            Format::GrandstreamXmlV2 => format!("    <item name=\"{k}\">{}</item>", xml_escape(v)),
            Format::CiscoMpp => format!("  <{k} ua=\"na\">{}</{k}>", xml_escape(v)),
            Format::SnomXml => format!("    <{k} perm=\"\">{}</{k}>", xml_escape(v)),
            _ => format!("    <{k}>{}</{k}>", xml_escape(v)),
        });
    }
    let body = lines.join("\n");
    match format {
        Format::PolyXml => format!("<?xml version=\"1.0\"?>\n<polycomConfig>\n{body}\n</polycomConfig>\n"),
        Format::YealinkV7x | Format::YealinkV8x => format!("#!version:1.0.0.1\n{body}\n"),
        Format::GrandstreamText => format!("{body}\n"),
        Format::CiscoCucm => format!("<device>\n  <vendorConfig>\n{body}\n  </vendorConfig>\n</device>\n"),
        Format::CiscoMpp => format!("<flat-profile>\n{body}\n</flat-profile>\n"),
        Format::GrandstreamXmlV1 => format!("<gs_provision version=\"1\">\n  <config version=\"1\">\n{body}\n  </config>\n</gs_provision>\n"),
        Format::GrandstreamXmlV2 => format!("<gs_provision version=\"1\">\n  <config version=\"2\">\n{body}\n  </config>\n</gs_provision>\n"),
        Format::SnomXml => format!("<settings>\n  <phone-settings>\n{body}\n  </phone-settings>\n</settings>\n"),
        Format::YealinkEncrypted => unreachable!(),
    }
}

fn input_strategy() -> impl Strategy<Value = (Format, Profile, String)> {
    (
        proptest::sample::select(WRITABLE.to_vec()),
        proptest::bool::ANY,
    )
        .prop_flat_map(|(format, sensitive)| {
            let profile = if sensitive {
                Profile::Sensitive
            } else {
                Profile::Standard
            };
            let settings = proptest::collection::vec(setting_strategy(format), 0..24);
            let noise = proptest::collection::vec(("[a-z]{1,6}", "[a-z0-9 ]{0,8}"), 0..6);
            (settings, noise).prop_map(move |(s, n)| {
                // Poly device.* keys only count with their .set flags: give most of them the flags.
                let mut s = s;
                if format == Format::PolyXml {
                    let flags: Vec<(String, String)> = s
                        .iter()
                        .filter(|(k, _)| k.starts_with("device.") && !k.ends_with(".set"))
                        .map(|(k, _)| (format!("{k}.set"), "1".to_string()))
                        .collect();
                    s.extend(flags);
                    s.push(("device.set".into(), "1".into()));
                }
                (format, profile, render(format, &s, &n))
            })
        })
}

/// The controls a vendor can express for this document.
fn expressible(
    doc: &hookswitch_vendors::Document,
    profile: Profile,
    family: Option<&str>,
) -> Vec<&'static str> {
    config_controls(profile)
        .filter(|c| matches!(secure_pairs(doc, c.requirement.unwrap().setting, family), Ok(p) if !p.is_empty()))
        .map(|c| c.id)
        .collect()
}

fn check_roundtrip(
    format: Format,
    profile: Profile,
    input: Option<&[u8]>,
) -> Result<(), TestCaseError> {
    let fam = family(format);
    let once = harden(format, input, profile, fam)
        .map_err(|e| TestCaseError::fail(format!("harden: {e}")))?;
    let doc = parse(format, &once.bytes).map_err(|e| {
        TestCaseError::fail(format!(
            "hardened output does not parse: {e}\n{}",
            String::from_utf8_lossy(&once.bytes)
        ))
    })?;
    let can = expressible(&doc, profile, fam);
    for f in evaluate(&doc, fam, profile) {
        prop_assert!(
            !(f.status == Status::Fail && can.contains(&f.control)),
            "{format}: {} still fails after harden: {}\n{}",
            f.control,
            f.detail,
            String::from_utf8_lossy(&once.bytes)
        );
    }
    let twice = harden(format, Some(&once.bytes), profile, fam).unwrap();
    prop_assert_eq!(
        &twice.bytes,
        &once.bytes,
        "{} harden is not idempotent",
        format
    );
    prop_assert!(twice.changes.is_empty());
    if let Some(input) = input {
        // Lines that mention no changed key survive byte for byte, in order.
        // (Indexed keys such as Snom `user_savp[1]` are written as `<user_savp idx="1">`.)
        let changed: Vec<&str> = once
            .changes
            .iter()
            .map(|c| c.key.split('[').next().unwrap_or(&c.key))
            .collect();
        let out = String::from_utf8_lossy(&once.bytes).into_owned();
        let mut rest = out.as_str();
        for line in String::from_utf8_lossy(input).lines() {
            if changed.iter().any(|k| line.contains(k)) {
                continue;
            }
            match rest.find(line) {
                Some(at) => rest = &rest[at + line.len()..],
                None => prop_assert!(
                    false,
                    "{format}: line {line:?} was not kept\n--- in\n{}\n--- out\n{out}",
                    String::from_utf8_lossy(input)
                ),
            }
        }
    }
    Ok(())
}

#[test]
fn hardened_skeletons_pass_every_expressible_control() {
    for format in WRITABLE {
        for profile in [Profile::Standard, Profile::Sensitive] {
            check_roundtrip(format, profile, None).unwrap();
        }
    }
}

#[test]
fn hardening_the_insecure_examples_clears_every_expressible_failure() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs");
    let mut seen = 0;
    for vendor in std::fs::read_dir(&dir).unwrap() {
        for file in std::fs::read_dir(vendor.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Ok(d) = hookswitch_vendors::detect(&name, &bytes) else {
                continue;
            };
            if !d.format.writable() {
                assert!(harden(d.format, Some(&bytes), Profile::Standard, None).is_err());
                continue;
            }
            if parse(d.format, &bytes).unwrap().config_files.is_some() {
                let e = harden(d.format, Some(&bytes), Profile::Standard, None).unwrap_err();
                assert!(e.reason.contains("master file"), "{e}");
                continue;
            }
            check_roundtrip(d.format, Profile::Sensitive, Some(&bytes))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen >= 16, "only {seen} examples");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn generated_files_harden_clean_and_idempotent((format, profile, text) in input_strategy()) {
        check_roundtrip(format, profile, Some(text.as_bytes()))?;
    }
}
