//! DISA XCCDF 1.1 benchmarks: a small parser and the voice/video benchmarks embedded as data.
//!
//! Pure: parsing works on bytes the caller hands in. The embedded benchmarks are the
//! unmodified DISA files in `data/`, so a control's STIG IDs and a checklist's rule texts
//! come from the real benchmark, never from memory.

use quick_xml::events::Event;
use quick_xml::Reader;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Benchmark {
    /// The XCCDF `Benchmark/@id`, e.g. `EVVM_Endpoint_SRG`.
    pub id: String,
    pub title: String,
    pub version: String,
    /// `plain-text id="release-info"`, e.g. "Release: 2 Benchmark Date: 24 Oct 2024".
    pub release_info: String,
    /// File name the benchmark came from (for `check_content_ref`).
    pub source: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    /// `Group/@id`, e.g. `V-259940`.
    pub group_id: String,
    pub group_title: String,
    /// `Rule/@id`, e.g. `SV-259940r948789_rule`.
    pub rule_id: String,
    pub severity: String,
    pub weight: String,
    /// `Rule/version` (the SRG/STIG ID).
    pub version: String,
    pub title: String,
    /// The `VulnDiscussion` part of the rule description.
    pub discussion: String,
    pub fix_text: String,
    pub check_content: String,
    pub ccis: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("{source_name}: byte {offset}: malformed XML: {reason}")]
    Xml {
        source_name: String,
        offset: u64,
        reason: String,
    },
    #[error("{source_name}: not an XCCDF benchmark (no <Benchmark> root)")]
    NotBenchmark { source_name: String },
}

/// Where inside a Rule/Group the text being read belongs.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    None,
    BenchTitle,
    BenchVersion,
    ReleaseInfo,
    GroupTitle,
    RuleTitle,
    RuleVersion,
    Description,
    FixText,
    CheckContent,
    Ident,
}

/// Parse one XCCDF 1.1 benchmark.
pub fn parse(source_name: &str, xml: &[u8]) -> Result<Benchmark, ParseError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut bench = Benchmark {
        id: String::new(),
        title: String::new(),
        version: String::new(),
        release_info: String::new(),
        source: source_name.to_string(),
        rules: Vec::new(),
    };
    let mut saw_root = false;
    let mut depth_in_rule = false;
    let mut rule = Rule::default();
    let mut field = Field::None;
    let mut text = String::new();
    let mut buf = Vec::new();
    let xml_err = |reader: &Reader<&[u8]>, e: &dyn std::fmt::Display| ParseError::Xml {
        source_name: source_name.to_string(),
        offset: reader.buffer_position(),
        reason: e.to_string(),
    };
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_err(&reader, &e))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(ev, Event::Empty(_));
                let name = e.local_name();
                let attr = |k: &[u8]| -> Result<String, ParseError> {
                    for a in e.attributes() {
                        let a = a.map_err(|err| xml_err(&reader, &err))?;
                        if a.key.local_name().as_ref() == k {
                            return a
                                .unescape_value()
                                .map(|v| v.into_owned())
                                .map_err(|err| xml_err(&reader, &err));
                        }
                    }
                    Ok(String::new())
                };
                match name.as_ref() {
                    b"Benchmark" => {
                        saw_root = true;
                        bench.id = attr(b"id")?;
                    }
                    b"Group" => {
                        rule = Rule {
                            group_id: attr(b"id")?,
                            ..Rule::default()
                        };
                    }
                    b"Rule" => {
                        depth_in_rule = true;
                        rule.rule_id = attr(b"id")?;
                        rule.severity = attr(b"severity")?;
                        rule.weight = attr(b"weight")?;
                    }
                    b"title" if !is_empty => {
                        field = if depth_in_rule {
                            Field::RuleTitle
                        } else if !rule.group_id.is_empty() {
                            Field::GroupTitle
                        } else if bench.title.is_empty() {
                            Field::BenchTitle
                        } else {
                            Field::None
                        };
                    }
                    b"version" if !is_empty => {
                        field = if depth_in_rule {
                            Field::RuleVersion
                        } else if rule.group_id.is_empty() {
                            Field::BenchVersion
                        } else {
                            Field::None
                        }
                    }
                    b"plain-text" if !is_empty && attr(b"id")? == "release-info" => {
                        field = Field::ReleaseInfo
                    }
                    b"description" if depth_in_rule && !is_empty => field = Field::Description,
                    b"fixtext" if !is_empty => field = Field::FixText,
                    b"check-content" if !is_empty => field = Field::CheckContent,
                    b"ident" if !is_empty && attr(b"system")?.ends_with("/cci") => {
                        field = Field::Ident
                    }
                    _ => {}
                }
                text.clear();
            }
            Event::Text(t) if field != Field::None => {
                text.push_str(&t.unescape().map_err(|e| xml_err(&reader, &e))?);
            }
            Event::CData(t) if field != Field::None => {
                text.push_str(&String::from_utf8_lossy(&t));
            }
            Event::End(ref e) => {
                let value = std::mem::take(&mut text);
                match (field, e.local_name().as_ref()) {
                    (Field::BenchTitle, b"title") => bench.title = value,
                    (Field::BenchVersion, b"version") => bench.version = value,
                    (Field::ReleaseInfo, b"plain-text") => bench.release_info = value,
                    (Field::GroupTitle, b"title") => rule.group_title = value,
                    (Field::RuleTitle, b"title") => rule.title = value,
                    (Field::RuleVersion, b"version") => rule.version = value,
                    (Field::Description, b"description") => {
                        rule.discussion = between(&value, "<VulnDiscussion>", "</VulnDiscussion>")
                            .unwrap_or(&value)
                            .to_string()
                    }
                    (Field::FixText, b"fixtext") => rule.fix_text = value,
                    (Field::CheckContent, b"check-content") => rule.check_content = value,
                    (Field::Ident, b"ident") => rule.ccis.push(value),
                    _ => {}
                }
                field = Field::None;
                match e.local_name().as_ref() {
                    b"Rule" => depth_in_rule = false,
                    b"Group" => {
                        if !rule.rule_id.is_empty() {
                            bench.rules.push(std::mem::take(&mut rule));
                        }
                        rule = Rule::default();
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_root {
        return Err(ParseError::NotBenchmark {
            source_name: source_name.to_string(),
        });
    }
    Ok(bench)
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let end = s[start..].find(close)? + start;
    Some(&s[start..end])
}

const EMBEDDED: &[(&str, &[u8])] = &[
    (
        "U_Voice_Video_Endpoint_SRG_V2R2_Manual-xccdf.xml",
        include_bytes!("../data/U_Voice_Video_Endpoint_SRG_V2R2_Manual-xccdf.xml"),
    ),
    (
        "U_EVVM_Endpoint_SRG_V1R2_Manual-xccdf.xml",
        include_bytes!("../data/U_EVVM_Endpoint_SRG_V1R2_Manual-xccdf.xml"),
    ),
    (
        "U_EVVM_Policy_SRG_V1R2_Manual-xccdf.xml",
        include_bytes!("../data/U_EVVM_Policy_SRG_V1R2_Manual-xccdf.xml"),
    ),
    (
        "U_VVoIP_STIG_V3R15_Manual-xccdf.xml",
        include_bytes!("../data/U_VVoIP_STIG_V3R15_Manual-xccdf.xml"),
    ),
    (
        "U_Voice_Video_Services_Policy_STIG_V3R18_Manual-xccdf.xml",
        include_bytes!("../data/U_Voice_Video_Services_Policy_STIG_V3R18_Manual-xccdf.xml"),
    ),
];

/// The embedded DISA benchmarks, parsed once.
pub fn embedded() -> &'static [Benchmark] {
    static PARSED: OnceLock<Vec<Benchmark>> = OnceLock::new();
    PARSED.get_or_init(|| {
        EMBEDDED
            .iter()
            // The embedded files are fixed at build time and parsed by a test; a failure
            // here is a build defect, not bad input.
            .map(|(name, bytes)| parse(name, bytes).expect("embedded DISA benchmark parses"))
            .collect()
    })
}

/// Find a rule by its Group ID (`V-…`) in the embedded benchmarks.
pub fn find_rule(group_id: &str) -> Option<(&'static Benchmark, &'static Rule)> {
    embedded().iter().find_map(|b| {
        b.rules
            .iter()
            .find(|r| r.group_id == group_id)
            .map(|r| (b, r))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_benchmarks_parse_with_their_rules() {
        let all = embedded();
        assert_eq!(all.len(), 5);
        let evvm = all.iter().find(|b| b.id == "EVVM_Endpoint_SRG").unwrap();
        assert_eq!(evvm.rules.len(), 47);
        assert!(
            evvm.release_info.contains("24 Oct 2024"),
            "{}",
            evvm.release_info
        );
        let (_, r) = find_rule("V-259940").unwrap();
        assert_eq!(r.rule_id, "SV-259940r948789_rule");
        assert_eq!(r.severity, "medium");
        assert_eq!(r.version, "SRG-NET-000015-VVEP-00100");
        assert_eq!(r.ccis, vec!["CCI-000213".to_string()]);
        assert!(r.discussion.starts_with("Many Enterprise Voice"));
        assert!(!r.discussion.contains("<FalsePositives>"));
        assert!(r.fix_text.starts_with("Configure the Enterprise"));
        assert!(r.check_content.starts_with("Verify the Enterprise"));
    }

    #[test]
    fn non_benchmark_and_malformed_input_are_errors() {
        assert!(matches!(
            parse("x.xml", b"<foo/>"),
            Err(ParseError::NotBenchmark { .. })
        ));
        let err = parse("x.xml", b"<Benchmark><Group id='a'></Benchmark>").unwrap_err();
        assert!(err.to_string().starts_with("x.xml: byte"), "{err}");
    }
}
