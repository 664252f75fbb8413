//! A careless root operator and hostile local files: `-o` paths that are devices, FIFOs or
//! symlinks, and audit inputs that are FIFOs, devices, symlink loops or unreadable.
//! Needs root for `mknod` (the project's CI runs as root).

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hookswitch"))
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs")
}

fn audit_to(out: &Path) -> Output {
    let mut cmd = bin();
    cmd.args(["audit", "--format", "json", "-o"])
        .arg(out)
        .arg(examples().join("snom"));
    common::run_bounded(cmd, Duration::from_secs(60))
}

fn mknod(path: &Path, kind: &str, major: u32, minor: u32) {
    let st = Command::new("mknod")
        .arg(path)
        .args([kind, &major.to_string(), &minor.to_string()])
        .status()
        .expect("mknod");
    assert!(st.success(), "mknod {} needs root", path.display());
}

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo")
        .success());
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn output_into_a_character_device_writes_through_and_keeps_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    mknod(&null, "c", 1, 3);
    let out = audit_to(&null);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = std::fs::symlink_metadata(&null).unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "the device node was replaced by a {:?}",
        meta.file_type()
    );
    assert_eq!(meta.rdev(), std::fs::metadata("/dev/null").unwrap().rdev());
    assert_eq!(names_in(dir.path()), ["null"], "no temp file left behind");
}

#[test]
fn output_into_a_fifo_streams_to_its_reader() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.fifo");
    mkfifo(&fifo);
    // A second name for the FIFO, to unblock the reader if the old code replaces `fifo`.
    let keep = dir.path().join("keep.fifo");
    std::fs::hard_link(&fifo, &keep).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = audit_to(&fifo);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if !reader.is_finished() {
        // Old behaviour: the FIFO was replaced, so nobody ever opened it for writing.
        // Open it ourselves so the reader thread ends, then fail.
        let _ = std::fs::OpenOptions::new().write(true).open(&keep);
    }
    let got = reader.join().unwrap();
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo(),
        "the FIFO was replaced"
    );
    let v: serde_json::Value = serde_json::from_slice(&got).expect("the report came through");
    assert_eq!(v["summary"]["files"], 2);
}

#[test]
fn output_through_a_symlink_replaces_its_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("reports")).unwrap();
    let target = dir.path().join("reports/latest.json");
    std::fs::write(&target, "old").unwrap();
    // A chain of two links, one relative.
    let link1 = dir.path().join("current.json");
    std::os::unix::fs::symlink("reports/latest.json", &link1).unwrap();
    let link2 = dir.path().join("report.json");
    std::os::unix::fs::symlink(&link1, &link2).unwrap();
    let out = audit_to(&link2);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for l in [&link1, &link2] {
        assert!(
            std::fs::symlink_metadata(l)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{} was replaced",
            l.display()
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(v["summary"]["files"], 2);
    assert_eq!(names_in(&dir.path().join("reports")), ["latest.json"]);
}

#[test]
fn output_to_a_link_to_our_own_stdout_prints_the_report() {
    // What `-o /dev/stdout` is: a symlink to /proc/self/fd/1. A link of our own in a temp
    // directory, so the old behaviour (replace the link) cannot touch the real /dev/stdout.
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &link).unwrap();
    let out = audit_to(&link);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {:?}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v["summary"]["files"], 2);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn output_to_a_block_device_or_directory_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let blk = dir.path().join("disk");
    mknod(&blk, "b", 7, 200);
    let out = audit_to(&blk);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&*blk.to_string_lossy()) && err.contains("block device"),
        "{err}"
    );
    assert!(std::fs::symlink_metadata(&blk)
        .unwrap()
        .file_type()
        .is_block_device());
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let out = audit_to(&sub);
    assert_eq!(out.status.code(), Some(2));
    assert!(sub.is_dir());
    assert_eq!(names_in(dir.path()), ["disk", "sub"]);
}

fn json_files(out: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["files"].as_array().unwrap().clone()
}

fn entry<'a>(files: &'a [serde_json::Value], end: &str) -> &'a serde_json::Value {
    files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(end))
        .unwrap_or_else(|| panic!("{end} not in report: {files:?}"))
}

#[test]
fn non_regular_inputs_and_symlink_loops_are_reported_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(
        examples().join("cisco/SEP00112233DDEE.cnf.xml"),
        d.join("SEP00112233DDEE.cnf.xml"),
    )
    .unwrap();
    mkfifo(&d.join("y000000000044.cfg"));
    mknod(&d.join("zero.cfg"), "c", 1, 5);
    std::os::unix::fs::symlink("loop-b.cfg", d.join("loop-a.cfg")).unwrap();
    std::os::unix::fs::symlink("loop-a.cfg", d.join("loop-b.cfg")).unwrap();
    std::os::unix::fs::symlink(".", d.join("again")).unwrap();
    std::os::unix::fs::symlink("gone.cfg", d.join("dangling.cfg")).unwrap();
    // Walking the directory.
    let mut cmd = bin();
    cmd.args(["audit", "--format", "json"]).arg(d);
    let out = common::run_bounded(cmd, Duration::from_secs(60));
    assert_eq!(
        out.status.code(),
        Some(0),
        "only skips besides a clean file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = json_files(&out);
    let skipped = |end: &str| {
        entry(&files, end)["skipped"]
            .as_str()
            .unwrap_or_else(|| panic!("{end}: no skip reason: {files:?}"))
            .to_string()
    };
    assert!(skipped("y000000000044.cfg").contains("FIFO"));
    assert!(skipped("zero.cfg").contains("character device"));
    assert!(skipped("loop-a.cfg").contains("symbolic link loop"));
    assert!(skipped("loop-b.cfg").contains("symbolic link loop"));
    assert!(skipped("again").contains("not followed"));
    assert!(skipped("dangling.cfg").contains("dangling"));
    assert!(entry(&files, "SEP00112233DDEE.cnf.xml")["skipped"].is_null());
    // Given by name: a FIFO with no writer and an endless device are not opened for reading.
    // (The old code blocked on the FIFO and read /dev/zero until memory ran out; the shell's
    // `ulimit -v` keeps that from taking the machine down.)
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "ulimit -v 4000000; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_hookswitch"),
        "audit",
        "--format",
        "json",
    ])
    .arg(d.join("y000000000044.cfg"))
    .arg(d.join("zero.cfg"))
    .arg(d.join("SEP00112233DDEE.cnf.xml"));
    let out = common::run_bounded(cmd, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0));
    let files = json_files(&out);
    assert!(entry(&files, "y000000000044.cfg")["skipped"]
        .as_str()
        .unwrap()
        .contains("FIFO"));
    assert!(entry(&files, "zero.cfg")["skipped"]
        .as_str()
        .unwrap()
        .contains("character device"));
}

/// The uid of this process (from /proc, without libc).
fn euid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

#[test]
fn an_unreadable_input_makes_the_exit_code_2_even_when_the_rest_is_clean() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let clean = d.join("SEP00112233DDEE.cnf.xml");
    std::fs::copy(examples().join("cisco/SEP00112233DDEE.cnf.xml"), &clean).unwrap();
    std::fs::set_permissions(&clean, std::fs::Permissions::from_mode(0o644)).unwrap();
    let secret = d.join("SEP001122AABBCC.cnf.xml");
    std::fs::copy(examples().join("cisco/SEP001122AABBCC.cnf.xml"), &secret).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = bin();
    cmd.args(["audit", "--format", "json"]).arg(d);
    if euid() == 0 {
        // Root reads a 0000 file; run as nobody so the file is really unreadable.
        cmd.uid(65534).gid(65534);
    }
    let out = common::run_bounded(cmd, Duration::from_secs(60));
    let files = json_files(&out);
    let err = entry(&files, "SEP001122AABBCC.cnf.xml")["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{files:?}"))
        .to_string();
    assert!(
        err.contains("SEP001122AABBCC.cnf.xml") && err.contains("ermission denied"),
        "{err}"
    );
    assert!(entry(&files, "SEP00112233DDEE.cnf.xml")["error"].is_null());
    assert_eq!(
        out.status.code(),
        Some(2),
        "a file that could not be read is an IO error, not a clean audit"
    );
}

#[test]
fn the_signer_process_exits_non_zero_on_a_corrupt_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("online");
    let pass = "correct horse battery staple";
    let gen = bin()
        .args(["keys", "generate", "--role", "timestamp", "--out"])
        .arg(keys.join("timestamp.key"))
        .env("HOOKSWITCH_KEY_PASSPHRASE", pass)
        .output()
        .unwrap();
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let state = keys.join("signer-state.json");
    std::fs::write(&state, "not json").unwrap();
    let mut cmd = bin();
    cmd.args(["signer", "--listen", "127.0.0.1:0", "--key-dir"])
        .arg(&keys)
        .env("HOOKSWITCH_KEY_PASSPHRASE", pass)
        .env(
            "HOOKSWITCH_SIGNER_TOKEN",
            "0123456789abcdef0123456789abcdef-test",
        );
    // The old signer started (and served until killed) with its rollback state reset.
    let out = common::run_bounded(cmd, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&*state.to_string_lossy()) && err.contains("corrupt"),
        "{err}"
    );
}
