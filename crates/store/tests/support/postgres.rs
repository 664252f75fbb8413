//! A fresh PostgreSQL database per test, in the throwaway cluster `scripts/postgres.sh`
//! starts (its admin URL in `HOOKSWITCH_TEST_POSTGRES`). Included with `#[path]` by the
//! store's and the server's tests.

use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};

pub const POSTGRES_ENV: &str = "HOOKSWITCH_TEST_POSTGRES";

/// The URL of a new, empty database, or None (after a loud SKIPPED) when PostgreSQL is not
/// configured; under CI that is a failure.
pub async fn fresh_database(test: &str) -> Option<String> {
    let Some(admin) = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{POSTGRES_ENV} is unset under CI: scripts/test.sh must start PostgreSQL"
        );
        eprintln!("SKIPPED {test} on PostgreSQL: {POSTGRES_ENV} is not set (scripts/postgres.sh -- cargo test)");
        return None;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "hs_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        test
    );
    let mut admin_conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin_conn)
        .await
        .unwrap();
    admin_conn.close().await.unwrap();
    let (base, _db) = admin.rsplit_once('/').unwrap();
    Some(format!("{base}/{name}"))
}
