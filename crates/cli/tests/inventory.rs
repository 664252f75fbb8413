//! `audit --inventory` and `controls --coverage`, through the real binary (issue 12).

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hookswitch"))
        .args(args)
        .output()
        .expect("run hookswitch")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn file<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("{name} not in report"))
}

fn status_of(file: &serde_json::Value, control: &str) -> Vec<String> {
    file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["control"] == control)
        .map(|f| f["status"].as_str().unwrap().to_string())
        .collect()
}

/// A Grandstream alias file and a Cisco SPA file, both named by MAC only.
fn fleet(dir: &Path) {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendors/tests/keys/cfgc074ad112233.xml");
    std::fs::copy(fixture, dir.join("cfgc074ad112233.xml")).unwrap();
    std::fs::write(
        dir.join("001122AABBCC.xml"),
        "<flat-profile>\n  <Speakerphone_Enable ua=\"na\">Yes</Speakerphone_Enable>\n</flat-profile>\n",
    )
    .unwrap();
}

#[test]
fn the_inventory_gives_the_model_of_files_named_by_mac() {
    let dir = tempfile::tempdir().unwrap();
    let configs = dir.path().join("configs");
    std::fs::create_dir(&configs).unwrap();
    fleet(&configs);
    let configs = configs.to_str().unwrap();
    // Without the inventory, family-keyed keys cannot be read.
    // HS-MIC-01 (speakerphone) is a control of the sensitive profile.
    let v = json(&run(&[
        "audit",
        "--format",
        "json",
        "--profile",
        "sensitive",
        configs,
    ]));
    let gs = file(&v, "cfgc074ad112233.xml");
    assert_eq!(status_of(gs, "HS-TEL-03"), vec!["not_assessable"]);
    assert_eq!(
        status_of(file(&v, "001122AABBCC.xml"), "HS-MIC-01"),
        vec!["not_assessable"]
    );

    let inventory = dir.path().join("inventory.csv");
    std::fs::write(
        &inventory,
        "id,mac,vendor,model,site,zone\n\
         reception,C0:74:AD:11:22:33,grandstream,GRP2612,HQ,normal\n\
         boardroom,00-11-22-aa-bb-cc,cisco,SPA525G2,HQ,\n",
    )
    .unwrap();
    // The inventory wins over --model, which stays the fallback for unlisted files.
    let v = json(&run(&[
        "audit",
        "--format",
        "json",
        "--profile",
        "sensitive",
        "--model",
        "GXP2124",
        "--inventory",
        inventory.to_str().unwrap(),
        configs,
    ]));
    let gs = file(&v, "cfgc074ad112233.xml");
    assert_eq!(gs["model"], "GRP2612");
    assert_eq!(gs["family"], "grp");
    assert_eq!(
        status_of(gs, "HS-TEL-03"),
        vec!["fail"],
        "\"Disable SSH\" = No"
    );
    assert_eq!(status_of(gs, "HS-BT-01"), vec!["fail"]);
    let spa = file(&v, "001122AABBCC.xml");
    assert_eq!(spa["family"], "spa5xx");
    assert_eq!(status_of(spa, "HS-MIC-01"), vec!["fail"]);
}

#[test]
fn an_inventory_of_another_vendor_is_not_used_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path());
    let inventory = dir.path().join("inventory.csv");
    std::fs::write(
        &inventory,
        "id,mac,vendor,model\nx,c074ad112233,yealink,T54W\n",
    )
    .unwrap();
    let v = json(&run(&[
        "audit",
        "--format",
        "json",
        "--inventory",
        inventory.to_str().unwrap(),
        dir.path().join("cfgc074ad112233.xml").to_str().unwrap(),
    ]));
    let gs = file(&v, "cfgc074ad112233.xml");
    assert!(gs["model"].is_null());
    let warnings = gs["warnings"].to_string();
    assert!(
        warnings.contains("inventory lists c074ad112233 (line 2) as yealink T54W"),
        "{warnings}"
    );
}

#[test]
fn a_bad_inventory_names_file_line_and_column_and_audits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path());
    let inventory = dir.path().join("inv.csv");
    std::fs::write(
        &inventory,
        "id,mac,vendor,model\na,c074ad112233,grandstream,GRP2612\nb,c074ad11223,grandstream,GRP2612\nc,001122aabbcc,nokia,X\n",
    )
    .unwrap();
    let out = run(&[
        "audit",
        "--inventory",
        inventory.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "nothing is audited on a bad inventory"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let shown = inventory.display().to_string();
    assert!(err.contains(&format!("{shown}:3: column \"mac\"")), "{err}");
    assert!(
        err.contains(&format!("{shown}:4: column \"vendor\"")),
        "{err}"
    );
}

#[test]
fn coverage_matrix_per_vendor() {
    let out = run(&["controls", "--coverage"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let row = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} not in\n{text}"))
            .split_whitespace()
            .skip(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Every vendor reads the SIP transport now (Snom from user_host/user_outbound).
    assert_eq!(row("HS-CRYPTO-01"), "yes yes yes yes yes");
    assert_eq!(row("HS-APP-01"), "- - - - -");
    assert!(text.contains("assessable from a file: poly"), "{text}");

    let v = json(&run(&[
        "controls",
        "--vendor",
        "grandstream",
        "--format",
        "json",
    ]));
    let cell = |id: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["control"] == id)
            .unwrap()["coverage"]["grandstream"]
            .clone()
    };
    assert_eq!(cell("HS-CRYPTO-02"), "yes");
    assert_eq!(cell("HS-BT-01"), "only grp");
    assert_eq!(cell("HS-SW-02"), "-");
    assert!(v[0]["coverage"].get("poly").is_none(), "one vendor only");
}
