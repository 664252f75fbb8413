//! The catalogue against its sources: the guidance text and the DISA benchmarks.

use hookswitch_controls::{CheckMethod, CATALOGUE};
use std::collections::{BTreeSet, HashSet};

const GUIDANCE: &str = include_str!("../../../reference/uc-vvoip-endpoint-guidance.md");

fn clean(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .replace('*', "")
        .trim()
        .to_string()
}

/// Headings that have a "Mitigations" child heading.
fn sections_with_mitigations() -> BTreeSet<String> {
    let headings: Vec<(usize, String)> = GUIDANCE
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| (l.chars().take_while(|c| *c == '#').count(), clean(l)))
        .collect();
    let mut out = BTreeSet::new();
    for (i, (level, title)) in headings.iter().enumerate() {
        if title == "Mitigations" {
            let parent = headings[..i].iter().rev().find(|(l, _)| l < level);
            out.insert(parent.expect("Mitigations heading has a parent").1.clone());
        }
    }
    out
}

#[test]
fn every_section_with_mitigations_has_a_control() {
    let sections = sections_with_mitigations();
    assert_eq!(sections.len(), 14, "{sections:?}");
    let covered: HashSet<&str> = CATALOGUE.iter().map(|c| c.section).collect();
    let missing: Vec<_> = sections
        .iter()
        .filter(|s| !covered.contains(s.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "sections with mitigations but no control: {missing:?}"
    );
}

#[test]
fn every_control_cites_a_real_heading_word_for_word() {
    let headings: HashSet<String> = GUIDANCE
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(clean)
        .collect();
    for c in CATALOGUE {
        assert!(
            headings.contains(c.section),
            "{}: section {:?} is not a heading",
            c.id,
            c.section
        );
    }
}

#[test]
fn every_stig_id_exists_in_the_disa_benchmarks() {
    for c in CATALOGUE {
        for id in c.stig {
            assert!(
                hookswitch_stig::find_rule(id).is_some(),
                "{}: {id} not in reference/stig",
                c.id
            );
        }
    }
}

#[test]
fn ids_are_unique_and_well_formed() {
    let mut seen = HashSet::new();
    for c in CATALOGUE {
        assert!(seen.insert(c.id), "duplicate id {}", c.id);
        assert!(c.id.starts_with("HS-") && c.id.len() <= 14, "{}", c.id);
        assert!(!c.title.is_empty() && !c.rationale.is_empty() && !c.remediation.is_empty());
        assert!(!c.applies_to.is_empty(), "{}", c.id);
    }
}

#[test]
fn config_checked_controls_and_only_those_carry_a_requirement() {
    for c in CATALOGUE {
        assert_eq!(
            c.check == CheckMethod::Config,
            c.requirement.is_some(),
            "{}: check {:?} vs requirement",
            c.id,
            c.check
        );
    }
}

#[test]
fn json_has_the_documented_fields() {
    let v = serde_json::to_value(CATALOGUE).unwrap();
    let first = &v[0];
    for k in ["id", "title", "section", "severity", "check", "stig"] {
        assert!(first.get(k).is_some(), "missing {k}");
    }
    assert_eq!(first["check"], "probe");
}
