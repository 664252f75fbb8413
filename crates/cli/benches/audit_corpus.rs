//! Audit a generated corpus of mixed-vendor configuration files and print files/s and
//! peak RSS. Run: `cargo bench -p hookswitch --bench audit_corpus [-- FILES]`.
//!
//! The corpus is the bundled examples (insecure and hardened, every vendor and format),
//! each copy made unique and varied. Figures are medians of several passes over the same
//! files, with the 1-thread figure from the same run for a ratio.

use hookswitch::scan::{audit_files, collect, Options};
use hookswitch_controls::Profile;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn examples() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs");
    let mut out = Vec::new();
    for vendor in std::fs::read_dir(&dir).expect("examples") {
        for f in std::fs::read_dir(vendor.expect("dir").path()).expect("vendor dir") {
            let p = f.expect("entry").path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".boot") || name.starts_with("000000000000") {
                continue;
            }
            out.push((name, std::fs::read_to_string(&p).expect("read example")));
        }
    }
    out.sort();
    out
}

/// Write `n` files round-robin over the examples; every third copy flips 0/1 values.
fn generate(dir: &Path, n: usize) {
    let templates = examples();
    for i in 0..n {
        let (name, text) = &templates[i % templates.len()];
        let mut body = if i % 3 == 0 {
            text.replace(">0<", ">9<")
                .replace(">1<", ">0<")
                .replace(">9<", ">1<")
                .replace("= 1\n", "= 0\n")
        } else {
            text.clone()
        };
        // Keep each file unique without breaking its syntax.
        if body.starts_with('<') {
            let at = body.find("?>").map(|p| p + 2).unwrap_or(0);
            body.insert_str(at, &format!("<!-- copy {i} -->"));
        } else {
            body.push_str(&format!("# copy {i}\n"));
        }
        let sub = dir.join(format!("site{:03}", i % 100));
        std::fs::create_dir_all(&sub).expect("mkdir");
        std::fs::write(sub.join(format!("{i:05}-{name}")), body).expect("write");
    }
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn passes(files: &[PathBuf], threads: usize, rounds: usize) -> (f64, usize) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let opts = Options {
        profile: Profile::Sensitive,
        model: Some("GRP2612".into()),
        inventory: None,
        layered: false,
        progress: false,
    };
    let mut rates = Vec::new();
    let mut findings = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let reports = pool.install(|| audit_files(files, &opts)).reports;
        let secs = t.elapsed().as_secs_f64();
        findings = reports.iter().map(|r| r.findings.len()).sum();
        assert!(
            reports.iter().all(|r| r.error.is_none()),
            "generated corpus has unparsable files"
        );
        rates.push(files.len() as f64 / secs);
    }
    (median(rates), findings)
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: a small smoke run whose
    // debug-build figures mean nothing, so no target is printed.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if smoke { 500 } else { 10_000 });
    let dir = tempfile::tempdir().expect("tempdir");
    generate(dir.path(), n);
    let files = collect(&[dir.path().to_path_buf()]).expect("collect");
    assert_eq!(files.len(), n);
    // Warm the page cache, then reset the peak-RSS counter so it covers the audit only.
    let _ = passes(&files, 2, 1);
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = peak_rss_kib();
    let (rate2, findings) = passes(&files, 2, 5);
    let rss = peak_rss_kib();
    let (rate1, _) = passes(&files, 1, 5);
    println!("audit_corpus: {n} files, {findings} findings per pass, sensitive profile");
    println!("  2 threads: median {rate2:.0} files/s over 5 passes");
    println!("  1 thread:  median {rate1:.0} files/s over 5 passes");
    println!("  ratio 2 threads / 1 thread: {:.2}", rate2 / rate1);
    match (rss_before, rss) {
        (Some(b), Some(p)) => println!(
            "  peak RSS during the 2-thread passes: {:.1} MiB (process baseline {:.1} MiB)",
            p as f64 / 1024.0,
            b as f64 / 1024.0
        ),
        _ => println!("  peak RSS: unavailable (/proc/self/status)"),
    }
    if smoke {
        println!("  (debug-build smoke run under cargo test: no target; run `cargo bench`)");
    } else {
        println!("  target: >= 10000 files/s, < 200 MiB");
    }
}
