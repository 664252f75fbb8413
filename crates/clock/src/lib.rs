//! The one place hookswitch reads the wall clock. The pure crates (trust, audit, …) take the
//! time as an argument, so they can be tested at any instant.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
///
/// A clock set before 1970 is an error, not zero: metadata expiry is checked against this
/// value, and a clock read as 0 would make every expired file look fresh.
pub fn unix_now() -> Result<i64, ClockError> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| ClockError)?;
    i64::try_from(since.as_secs()).map_err(|_| ClockError)
}

/// Milliseconds since the Unix epoch (log timestamps), under the same rule as `unix_now`.
pub fn unix_now_ms() -> Result<i64, ClockError> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| ClockError)?;
    i64::try_from(since.as_millis()).map_err(|_| ClockError)
}

/// The system clock reads a time before 1970 (or beyond what an i64 holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockError;

impl std::fmt::Display for ClockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the system clock is set before 1970; set it before checking expiry dates")
    }
}

impl std::error::Error for ClockError {}

impl From<ClockError> for String {
    fn from(e: ClockError) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_time_after_this_code_was_written() {
        // 2026-01-01T00:00:00Z: a clock earlier than that is wrong on this machine too.
        assert!(super::unix_now().unwrap() > 1_767_225_600);
        assert!(super::unix_now_ms().unwrap() > 1_767_225_600_000);
    }
}
