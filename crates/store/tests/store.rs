//! One suite, run against SQLite and against PostgreSQL (`HOOKSWITCH_TEST_POSTGRES`, an admin
//! URL of a throwaway cluster: `scripts/postgres.sh` starts one; each test gets its own
//! database). Without it the PostgreSQL half says SKIPPED, and fails under CI.

use std::time::Duration;

use hookswitch_store::{
    CertFingerprint, DeviceId, FetchLogConfig, FetchRecord, FetchResult, Mac, NewDevice, Store,
    StoreError,
};
use sqlx::Connection;

#[path = "support/postgres.rs"]
mod postgres;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Sqlite,
    Postgres,
}

struct TestDb {
    kind: Kind,
    url: String,
    _dir: tempfile::TempDir,
}

/// A fresh, empty database of this kind, or None (after a loud SKIPPED) when PostgreSQL is
/// not configured.
async fn fresh(kind: Kind, test: &str) -> Option<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let url = match kind {
        Kind::Sqlite => format!("sqlite://{}", dir.path().join("store.db").display()),
        Kind::Postgres => postgres::fresh_database(test).await?,
    };
    Some(TestDb {
        kind,
        url,
        _dir: dir,
    })
}

/// Each case runs twice: `<case>::sqlite` and `<case>::postgres`.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = super::fresh(super::Kind::Sqlite, stringify!($case)).await.unwrap();
                super::$case(db).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = super::fresh(super::Kind::Postgres, stringify!($case)).await {
                    super::$case(db).await
                }
            }
        }
    )*};
}

on_both!(
    devices_are_found_by_id_mac_and_fingerprint,
    a_duplicate_id_or_mac_is_refused_naming_the_owner,
    a_fingerprint_belongs_to_one_device,
    invalid_ids_are_refused_with_the_rule,
    passwords_verify_and_every_refusal_costs_one_hash,
    a_tampered_hash_fails_closed,
    opening_twice_migrates_once,
    concurrent_first_opens_all_succeed,
    a_foreign_database_is_refused_untouched,
    the_fetch_log_writes_in_batches_and_on_time,
    two_handles_share_devices_and_one_fetch_log,
    a_failed_fetch_log_write_is_counted,
    a_batch_enrolls_all_or_nothing,
);

fn phone(id: &str, mac: Option<&str>) -> NewDevice {
    NewDevice::new(id, "yealink", "T54W", mac).unwrap()
}

fn fingerprint(n: u8) -> CertFingerprint {
    CertFingerprint::of_der(&[n; 100])
}

async fn devices_are_found_by_id_mac_and_fingerprint(db: TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    store
        .add_device(&phone("001565aabbcc", Some("00:15:65:AA:BB:CC")))
        .await
        .unwrap();
    store.add_device(&phone("lobby", None)).await.unwrap();
    store
        .add_certificate("001565aabbcc", &fingerprint(1))
        .await
        .unwrap();
    store
        .add_certificate("001565aabbcc", &fingerprint(2))
        .await
        .unwrap();

    let device = store.device("001565aabbcc").await.unwrap().unwrap();
    assert_eq!(device.mac.as_ref().map(Mac::as_str), Some("001565aabbcc"));
    assert_eq!(
        (device.vendor.as_str(), device.model.as_str()),
        ("yealink", "T54W")
    );
    let mut expected = vec![fingerprint(1), fingerprint(2)];
    expected.sort();
    assert_eq!(device.certificates, expected);
    assert!(!device.has_password);

    let by_fp = store.device_by_fingerprint(&fingerprint(2)).await.unwrap();
    assert_eq!(by_fp.as_ref(), Some(&device));
    let by_mac = store
        .device_by_mac(&Mac::parse("0015.65aa.bbcc").unwrap())
        .await
        .unwrap();
    assert_eq!(by_mac.as_ref(), Some(&device));
    assert_eq!(
        store.device_by_fingerprint(&fingerprint(3)).await.unwrap(),
        None
    );
    assert_eq!(store.device("nobody").await.unwrap(), None);

    let listed: Vec<String> = store
        .devices()
        .await
        .unwrap()
        .into_iter()
        .map(|d| format!("{}:{}", d.id, d.certificates.len()))
        .collect();
    assert_eq!(listed, ["001565aabbcc:2", "lobby:0"]);

    // Removal takes the certificates with it; a second removal names the missing device.
    store.remove_device("001565aabbcc").await.unwrap();
    assert_eq!(store.device("001565aabbcc").await.unwrap(), None);
    assert_eq!(
        store.device_by_fingerprint(&fingerprint(1)).await.unwrap(),
        None
    );
    let e = store.remove_device("001565aabbcc").await.unwrap_err();
    assert!(
        matches!(e, StoreError::UnknownDevice(ref id) if id == "001565aabbcc"),
        "{e}"
    );
    // The fingerprint is free again.
    store
        .add_certificate("lobby", &fingerprint(1))
        .await
        .unwrap();
}

async fn a_duplicate_id_or_mac_is_refused_naming_the_owner(db: TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    store
        .add_device(&phone("a", Some("001565aabbcc")))
        .await
        .unwrap();
    let e = store.add_device(&phone("a", None)).await.unwrap_err();
    assert_eq!(e.to_string(), "device a already exists");
    let e = store
        .add_device(&phone("b", Some("00-15-65-aa-bb-cc")))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "MAC 001565aabbcc already belongs to device a"
    );
    assert_eq!(store.device("b").await.unwrap(), None);

    // A device named by its MAC: another spelling of that MAC is the same device.
    store
        .add_device(&phone("0004f2aabbcc", None))
        .await
        .unwrap();
    for spelling in ["0004F2AABBCC", "00:04:f2:aa:bb:cc"] {
        let e = store.add_device(&phone(spelling, None)).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "MAC 0004f2aabbcc already belongs to device 0004f2aabbcc",
            "{spelling}"
        );
    }
    // An ID that is a MAC cannot be given another MAC.
    assert!(NewDevice::new("0004f2aabbcd", "poly", "VVX", Some("0004f2000000")).is_err());
}

async fn a_fingerprint_belongs_to_one_device(db: TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    store.add_device(&phone("a", None)).await.unwrap();
    store.add_device(&phone("b", None)).await.unwrap();
    store.add_certificate("a", &fingerprint(7)).await.unwrap();
    // Again for the same device: nothing changes.
    store.add_certificate("a", &fingerprint(7)).await.unwrap();

    let e = store
        .add_certificate("b", &fingerprint(7))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "{} is already enrolled for device a",
            fingerprint(7)
        )),
        "{e}"
    );
    assert!(store
        .device("b")
        .await
        .unwrap()
        .unwrap()
        .certificates
        .is_empty());
    let owner = store.device_by_fingerprint(&fingerprint(7)).await.unwrap();
    assert_eq!(owner.unwrap().id.as_str(), "a");

    let e = store
        .add_certificate("ghost", &fingerprint(8))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::UnknownDevice(ref id) if id == "ghost"),
        "{e}"
    );
}

async fn invalid_ids_are_refused_with_the_rule(db: TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    for bad in ["../etc/passwd", "", "a b", "x'; DROP TABLE devices; --"] {
        let e = NewDevice::new(bad, "poly", "VVX 450", None).unwrap_err();
        assert!(
            e.to_string().contains("1 to 64 of A-Z a-z 0-9 . _ : -"),
            "{bad:?}: {e}"
        );
        for e in [
            store.device(bad).await.unwrap_err(),
            store.remove_device(bad).await.unwrap_err(),
            store
                .set_password(bad, "long enough password")
                .await
                .unwrap_err(),
            store
                .add_certificate(bad, &fingerprint(1))
                .await
                .unwrap_err(),
        ] {
            assert!(matches!(e, StoreError::InvalidDeviceId(_)), "{bad:?}: {e}");
        }
    }
    // The quote above did nothing.
    assert!(store.devices().await.unwrap().is_empty());
}

async fn passwords_verify_and_every_refusal_costs_one_hash(db: TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    store.add_device(&phone("a", None)).await.unwrap();
    store.add_device(&phone("no-password", None)).await.unwrap();

    let e = store.set_password("a", "short").await.unwrap_err();
    assert!(matches!(e, StoreError::WeakPassword(_)), "{e}");
    let e = store
        .set_password("ghost", "long enough password")
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::UnknownDevice(_)), "{e}");
    store.set_password("a", "first password!").await.unwrap();
    store
        .set_password("a", "correct horse battery")
        .await
        .unwrap();
    assert!(store.device("a").await.unwrap().unwrap().has_password);

    let oversized = vec![b'x'; 100_000];
    let cases: [(&str, &[u8], bool); 7] = [
        ("a", b"correct horse battery", true),
        ("a", b"correct horse batterY", false),
        ("a", b"first password!", false),
        ("ghost", b"correct horse battery", false),
        ("no-password", b"", false),
        ("../a", b"correct horse battery", false),
        ("a", &oversized, false),
    ];
    for (id, candidate, expected) in cases {
        let before = store.password_checks();
        let ok = store.verify_password(id, candidate).await.unwrap();
        assert_eq!(ok, expected, "{id}");
        // Same path for a known, unknown or invalid device: exactly one Argon2id run.
        assert_eq!(store.password_checks(), before + 1, "{id}");
    }
}

async fn a_tampered_hash_fails_closed(db: TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    store.add_device(&phone("a", None)).await.unwrap();
    store
        .set_password("a", "correct horse battery")
        .await
        .unwrap();
    // Someone with write access to the database asks for 1 GiB per login.
    let tamper = "UPDATE device_passwords SET phc = REPLACE(phc, 'm=19456', 'm=1048576')";
    match db.kind {
        Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query(tamper).execute(&mut c).await.unwrap();
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(tamper).execute(&mut c).await.unwrap();
        }
    }
    let e = store
        .verify_password("a", b"correct horse battery")
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::BadStoredHash { .. })
            && e.to_string().contains("exceed the bounds"),
        "{e}"
    );
}

async fn opening_twice_migrates_once(db: TestDb) {
    let first = Store::open(&db.url).await.unwrap();
    first.add_device(&phone("a", None)).await.unwrap();
    first.close().await;
    let second = Store::open(&db.url).await.unwrap();
    let third = Store::open(&db.url).await.unwrap();
    assert!(second.device("a").await.unwrap().is_some());
    assert!(third.device("a").await.unwrap().is_some());
    let migrations: i64 = match db.kind {
        Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(&mut c)
                .await
                .unwrap()
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                .fetch_one(&mut c)
                .await
                .unwrap()
        }
    };
    assert_eq!(migrations, 1);
}

async fn a_foreign_database_is_refused_untouched(db: TestDb) {
    let create = "CREATE TABLE cats (name TEXT)";
    let count = "SELECT COUNT(*) FROM devices";
    match db.kind {
        Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&format!("{}?mode=rwc", db.url))
                .await
                .unwrap();
            sqlx::query(create).execute(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(create).execute(&mut c).await.unwrap();
            c.close().await.unwrap();
        }
    }
    let e = Store::open(&db.url).await.err().unwrap();
    assert!(
        matches!(e, StoreError::Foreign { ref tables, .. } if tables == &["cats"]),
        "{e}"
    );
    assert!(e.to_string().contains("not a hookswitch store"), "{e}");
    // No hookswitch table was added.
    let added = match db.kind {
        Kind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::query(count).execute(&mut c).await.is_ok()
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query(count).execute(&mut c).await.is_ok()
        }
    };
    assert!(!added);
}

/// Wait (bounded) until the log holds `n` records.
async fn wait_for_fetches(store: &Store, n: u64) {
    for _ in 0..200 {
        if store.fetch_count().await.unwrap() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the fetch log never reached {n} records (has {})",
        store.fetch_count().await.unwrap()
    );
}

async fn the_fetch_log_writes_in_batches_and_on_time(db: TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    let device = DeviceId::parse("001565aabbcc").unwrap();
    // A batch of 10 never fills with 3 records: only the interval can write them.
    let (log, writer) = store.fetch_log(FetchLogConfig {
        capacity: 1000,
        batch: 10,
        interval: Duration::from_millis(100),
    });
    for n in 0..3 {
        log.record(FetchRecord {
            device: Some(device.clone()),
            path: "/001565aabbcc.cfg".to_string(),
            version: Some(7),
            result: FetchResult::Served,
            at_ms: 1_000 + n,
        });
    }
    wait_for_fetches(&store, 3).await;

    // 25 more: two full batches, and five the shutdown writes.
    for n in 0..25 {
        log.record(
            FetchRecord::now(
                None,
                &format!("/metadata/{n}.root.json"),
                None,
                FetchResult::NotFound,
            )
            .unwrap(),
        );
    }
    let stats = writer.shutdown().await;
    assert_eq!(
        (stats.written, stats.dropped, stats.failed),
        (28, 0, 0),
        "{stats:?}"
    );
    assert_eq!(store.fetch_count().await.unwrap(), 28);

    let mine = store.recent_fetches(Some(&device), 10).await.unwrap();
    assert_eq!(mine.len(), 3);
    assert_eq!(mine[0].at_ms, 1_002, "newest first");
    assert_eq!(
        (mine[0].path.as_str(), mine[0].version, mine[0].result),
        ("/001565aabbcc.cfg", Some(7), FetchResult::Served)
    );
    // After shutdown a record is counted as dropped, not lost silently.
    log.record(FetchRecord::now(None, "/late", None, FetchResult::Served).unwrap());
    assert_eq!(log.stats().dropped, 1);
}

async fn two_handles_share_devices_and_one_fetch_log(db: TestDb) {
    let a = Store::open(&db.url).await.unwrap();
    let b = Store::open(&db.url).await.unwrap();
    a.add_device(&phone("via-a", None)).await.unwrap();
    b.add_device(&phone("via-b", None)).await.unwrap();
    b.add_certificate("via-a", &fingerprint(1)).await.unwrap();
    b.set_password("via-a", "correct horse battery")
        .await
        .unwrap();

    assert!(b.device("via-a").await.unwrap().is_some());
    assert!(a.device("via-b").await.unwrap().is_some());
    let found = a.device_by_fingerprint(&fingerprint(1)).await.unwrap();
    assert_eq!(found.unwrap().id.as_str(), "via-a");
    assert!(a
        .verify_password("via-a", b"correct horse battery")
        .await
        .unwrap());

    let config = FetchLogConfig {
        batch: 7,
        ..FetchLogConfig::default()
    };
    let (log_a, writer_a) = a.fetch_log(config);
    let (log_b, writer_b) = b.fetch_log(config);
    for n in 0..20 {
        let id = |s| Some(DeviceId::parse(s).unwrap());
        log_a.record(
            FetchRecord::now(
                id("via-a"),
                &format!("/a/{n}"),
                Some(1),
                FetchResult::Served,
            )
            .unwrap(),
        );
        log_b.record(
            FetchRecord::now(
                id("via-b"),
                &format!("/b/{n}"),
                Some(1),
                FetchResult::Served,
            )
            .unwrap(),
        );
    }
    assert_eq!(writer_a.shutdown().await.written, 20);
    assert_eq!(writer_b.shutdown().await.written, 20);
    for store in [&a, &b] {
        assert_eq!(store.fetch_count().await.unwrap(), 40);
        let of_b = store
            .recent_fetches(Some(&DeviceId::parse("via-b").unwrap()), 100)
            .await
            .unwrap();
        assert_eq!(of_b.len(), 20);
    }
}

/// A full channel drops records and counts them; `record` never waits. On a current-thread
/// runtime the writer cannot run between the calls, so exactly `capacity` fit.
#[tokio::test]
async fn a_full_channel_drops_and_counts() {
    let db = fresh(Kind::Sqlite, "full_channel").await.unwrap();
    let store = Store::open(&db.url).await.unwrap();
    let (log, writer) = store.fetch_log(FetchLogConfig {
        capacity: 4,
        batch: 100,
        interval: Duration::from_secs(3600),
    });
    for n in 0..10 {
        log.record(FetchRecord::now(None, &format!("/{n}"), None, FetchResult::Served).unwrap());
    }
    assert_eq!(log.stats().dropped, 6);
    let stats = writer.shutdown().await;
    assert_eq!((stats.written, stats.dropped), (4, 6));
    assert_eq!(store.fetch_count().await.unwrap(), 4);
}

#[tokio::test]
async fn a_corrupt_sqlite_file_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hookswitch.db");
    let garbage = b"this is a signer state file, not SQLite ".repeat(200);
    std::fs::write(&path, &garbage).unwrap();
    let url = format!("sqlite://{}", path.display());
    let e = Store::open(&url).await.err().unwrap();
    let text = e.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("not a SQLite database"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "the file was changed"
    );

    // A SQLite file whose header was damaged.
    let good = dir.path().join("good.db");
    let good_url = format!("sqlite://{}", good.display());
    Store::open(&good_url).await.unwrap().close().await;
    // Fold the WAL into the file, so page 1 is read from the damaged header.
    let mut c = sqlx::SqliteConnection::connect(&good_url).await.unwrap();
    sqlx::query("PRAGMA journal_mode = DELETE")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    assert!(!dir.path().join("good.db-wal").exists());
    let mut bytes = std::fs::read(&good).unwrap();
    bytes[..16].copy_from_slice(b"SQLite format 2\0");
    std::fs::write(&good, &bytes).unwrap();
    let e = Store::open(&good_url).await.err().unwrap();
    assert!(e.to_string().contains("not a SQLite database"), "{e}");
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_in_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/hookswitch/hookswitch.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(&url).await.unwrap();
    store.add_device(&phone("a", None)).await.unwrap();
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    // The file holds password hashes: owner only, whatever the umask (and so its WAL).
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&path.with_extension("db-wal")), 0o600);
}

#[tokio::test]
async fn unsupported_urls_are_named_without_their_password() {
    let e = Store::open("mysql://root:hunter2@127.0.0.1/x")
        .await
        .err()
        .unwrap();
    let text = e.to_string();
    assert!(
        text.contains("mysql://root:***@127.0.0.1/x") && text.contains("expected sqlite://"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
    // A PostgreSQL server that is not there: the error names the URL, not the password.
    let e = Store::open("postgres://u:hunter2@127.0.0.1:1/x")
        .await
        .err()
        .unwrap();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
}

/// `serve` and `device add` started together on a new store: both open it (five rounds, four
/// opens each, each round on a new database).
async fn concurrent_first_opens_all_succeed(db: TestDb) {
    let mut dbs = vec![];
    for _ in 1..5 {
        dbs.push(fresh(db.kind, "concurrent").await.unwrap());
    }
    dbs.push(db);
    for (round, url) in dbs.iter().map(|d| &d.url).enumerate() {
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Store::open(&url).await.map(|_| ()) })
            })
            .collect();
        for open in opens {
            let result = open.await.unwrap();
            assert!(result.is_ok(), "round {round}: {}", result.unwrap_err());
        }
    }
}

async fn a_failed_fetch_log_write_is_counted(db: TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    let (log, writer) = store.fetch_log(FetchLogConfig::default());
    store.close().await;
    log.record(FetchRecord::now(None, "/x", None, FetchResult::Served).unwrap());
    let stats = writer.shutdown().await;
    assert_eq!((stats.written, stats.failed), (0, 1), "{stats:?}");
    assert!(stats.last_error.is_some_and(|e| e.contains("closed")));
}

async fn a_batch_enrolls_all_or_nothing(db: TestDb) {
    let store = Store::open(&db.url).await.unwrap();
    let batch: Vec<_> = (0..3u8)
        .map(|n| {
            (
                phone(&format!("p{n}"), None),
                vec![fingerprint(10 + n), fingerprint(20 + n)],
            )
        })
        .collect();
    store.add_devices(&batch).await.unwrap();
    let found = store.device_by_fingerprint(&fingerprint(22)).await.unwrap();
    assert_eq!(found.unwrap().id.as_str(), "p2");

    // The third device brings a certificate p0 has: nothing of this batch is added.
    let clash = vec![
        (phone("q0", None), vec![fingerprint(30)]),
        (phone("q1", Some("001565000001")), vec![]),
        (phone("q2", None), vec![fingerprint(31), fingerprint(10)]),
    ];
    let e = store.add_devices(&clash).await.unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "{} is already enrolled for device p0",
            fingerprint(10)
        )),
        "{e}"
    );
    for id in ["q0", "q1", "q2"] {
        assert_eq!(store.device(id).await.unwrap(), None, "{id}");
    }
    assert_eq!(
        store.device_by_fingerprint(&fingerprint(30)).await.unwrap(),
        None
    );

    let e = store
        .add_devices(&[(phone("r", None), vec![]), (phone("r", None), vec![])])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("device r is listed twice"), "{e}");
    let e = store
        .add_devices(&[(phone("p1", None), vec![])])
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "device p1 already exists");
}
