//! One loader for `audit` and `harden`: each input is read (and parsed) once, even when
//! `--layered` groups it into a device, and `harden --in` refuses what the audit skips.

mod common;

use hookswitch::scan::{audit_files, audit_files_reading, collect, read_input, Options};
use hookswitch_controls::Profile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Duration;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn layered_audit_reads_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    copy_dir(&examples().join("yealink"), &d.join("yealink"));
    copy_dir(&examples().join("poly"), &d.join("poly"));
    // One directory both vendors' rules look at: a Yealink MAC file beside a Poly master
    // that lists it, and a Poly layer that does not parse (its device stops there).
    let mixed = d.join("mixed");
    copy_dir(&examples().join("poly"), &mixed);
    std::fs::copy(
        examples().join("yealink/805ec0aabbcc.cfg"),
        mixed.join("0004f2aabbcc.cfg"),
    )
    .unwrap();
    std::fs::write(mixed.join("0004f2aabbcc-user.cfg"), "<polycomConfig><a").unwrap();
    let files = collect(&[d.to_path_buf()]).unwrap();
    let opts = Options {
        profile: Profile::Standard,
        model: None,
        inventory: None,
        layered: true,
        progress: false,
    };
    let reads: Mutex<BTreeMap<PathBuf, usize>> = Mutex::new(BTreeMap::new());
    let counting = |p: &Path| {
        *reads.lock().unwrap().entry(p.to_path_buf()).or_default() += 1;
        read_input(p)
    };
    let audit = audit_files_reading(&files, &opts, &counting);
    let reads = reads.into_inner().unwrap();
    assert_eq!(reads.keys().cloned().collect::<Vec<_>>(), files);
    for (path, n) in &reads {
        assert_eq!(*n, 1, "{} read {n} times", path.display());
    }
    // The layering happened: devices of both vendors, and the failed one.
    let device = |end: &str| {
        audit
            .reports
            .iter()
            .find(|r| r.path.ends_with(end) && !r.layers.is_empty())
            .unwrap_or_else(|| panic!("no device {end}"))
    };
    assert_eq!(
        device("yealink/805ec0aabbcc.cfg").layers,
        ["805ec0aabbcc.cfg", "y000000000096.cfg"]
    );
    assert_eq!(
        device("poly/0004f2aabbcc").layers,
        ["0004f2aabbcc-user.cfg", "site.cfg"]
    );
    let failed = device("mixed/0004f2aabbcc");
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("0004f2aabbcc-user.cfg:1:"),
        "{:?}",
        failed.error
    );
    // Layers after the failed one are still audited on their own.
    assert!(audit
        .reports
        .iter()
        .any(|r| r.path.ends_with("mixed/site.cfg") && !r.findings.is_empty()));
    // The production reader gives the same reports.
    let plain = audit_files(&files, &opts);
    let summary = |rs: &[hookswitch_audit::FileReport]| -> Vec<String> {
        rs.iter()
            .map(|r| {
                format!(
                    "{} {:?} {:?} {:?} {}",
                    r.path,
                    r.layers,
                    r.error,
                    r.skipped,
                    r.findings.len()
                )
            })
            .collect()
    };
    assert_eq!(summary(&plain.reports), summary(&audit.reports));
}

#[test]
fn harden_refuses_what_the_audit_skips_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fifo = d.join("y000000000044.cfg");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::os::unix::fs::symlink(".", d.join("again.cfg")).unwrap();
    std::os::unix::fs::symlink("loop-b.cfg", d.join("loop-a.cfg")).unwrap();
    std::os::unix::fs::symlink("loop-a.cfg", d.join("loop-b.cfg")).unwrap();
    let big = d.join("big.cfg");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(16 * 1024 * 1024 + 1)
        .unwrap();
    for (name, why) in [
        ("y000000000044.cfg", "FIFO"),
        ("again.cfg", "symbolic link to a directory; not followed"),
        ("loop-a.cfg", "symbolic link loop; not followed"),
        ("big.cfg", "files over 16 MiB are not read"),
    ] {
        let p = d.join(name);
        let out = run_bounded_args(&[
            "harden".as_ref(),
            "--vendor".as_ref(),
            "yealink".as_ref(),
            "--in".as_ref(),
            p.as_os_str(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(&p.display().to_string()) && stderr.contains(why),
            "{name}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{name}");
    }
}

fn run_bounded_args(args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookswitch"));
    cmd.args(args);
    common::run_bounded(cmd, Duration::from_secs(30))
}
