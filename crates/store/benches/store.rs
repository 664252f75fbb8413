//! The store's hot paths, on SQLite and (with `HOOKSWITCH_TEST_POSTGRES`) PostgreSQL: a
//! fleet enrolled in one batch, device lookups by certificate fingerprint (what the server
//! does per TLS connection), and fetch-log records through the batched writer.
//! Run: `scripts/postgres.sh -- cargo bench -p hookswitch-store --bench store`.
//! Figures only; nothing here asserts a time.

use std::time::{Duration, Instant};

use hookswitch_store::{
    CertFingerprint, DeviceId, FetchLogConfig, FetchRecord, FetchResult, NewDevice, Store,
};

fn fingerprint(n: usize) -> CertFingerprint {
    CertFingerprint::of_der(format!("device certificate {n}").as_bytes())
}

async fn run(label: &str, url: &str, devices: usize, records: usize) {
    let store = Store::open(url).await.expect("open");
    let batch: Vec<_> = (0..devices)
        .map(|n| {
            let device = NewDevice::new(&format!("phone-{n:06}"), "yealink", "T54W", None).unwrap();
            (device, vec![fingerprint(n)])
        })
        .collect();
    let started = Instant::now();
    store.add_devices(&batch).await.expect("enroll");
    let enroll = started.elapsed();

    let started = Instant::now();
    for n in 0..devices {
        let found = store.device_by_fingerprint(&fingerprint(n)).await.unwrap();
        assert!(found.is_some());
    }
    let sequential = started.elapsed();

    let started = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in (t..devices).step_by(8) {
                    store.device_by_fingerprint(&fingerprint(n)).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent = started.elapsed();

    let (log, writer) = store.fetch_log(FetchLogConfig::default());
    let device = DeviceId::parse("phone-000001").unwrap();
    let started = Instant::now();
    for n in 0..records {
        let path = format!("/targets/config/{n}.cfg");
        log.record(
            FetchRecord::now(Some(device.clone()), &path, Some(1), FetchResult::Served).unwrap(),
        );
        if n % 1000 == 999 {
            tokio::task::yield_now().await; // as request handlers do between requests
        }
    }
    let queued = started.elapsed();
    let stats = writer.shutdown().await;
    let logged = started.elapsed();

    let per_s = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!("{label}:");
    println!(
        "  enroll {devices} devices + certificates in one transaction: {:.2} s ({:.0} devices/s)",
        enroll.as_secs_f64(),
        per_s(devices, enroll)
    );
    println!(
        "  lookup by fingerprint: {:.0}/s sequential ({:.0} µs each), {:.0}/s with 8 tasks",
        per_s(devices, sequential),
        sequential.as_secs_f64() * 1e6 / devices as f64,
        per_s(devices, concurrent)
    );
    println!(
        "  fetch log: {records} records queued in {:.1} ms ({:.2} µs per record() call); \
         written {} in {:.2} s ({:.0} records/s), dropped {}, failed {}",
        queued.as_secs_f64() * 1e3,
        queued.as_secs_f64() * 1e6 / records as f64,
        stats.written,
        logged.as_secs_f64(),
        per_s(stats.written as usize, logged),
        stats.dropped,
        stats.failed
    );
    store.close().await;
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: a small smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let (devices, records) = if full {
        (10_000, 100_000)
    } else {
        (200, 2_000)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
        run("SQLite (WAL)", &sqlite, devices, records).await;
        match std::env::var("HOOKSWITCH_TEST_POSTGRES")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin) => {
                use sqlx::Connection;
                let name = format!("hs_bench_{}", std::process::id());
                let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut c)
                    .await
                    .unwrap();
                let (base, _) = admin.rsplit_once('/').unwrap();
                run("PostgreSQL", &format!("{base}/{name}"), devices, records).await;
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            None => println!("PostgreSQL: SKIPPED (HOOKSWITCH_TEST_POSTGRES is not set)"),
        }
    });
    if !full {
        println!(
            "  (smoke run under cargo test; run `cargo bench -p hookswitch-store` for figures)"
        );
    }
}
