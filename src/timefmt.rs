//! RFC 3339 UTC formatting of capture times with full nanosecond precision.

use time::OffsetDateTime;

/// Formats nanoseconds since the epoch as `2026-11-22T05:18:58.123456789Z`.
///
/// The fraction keeps 9 digits so no capture precision is lost; times outside the range `time`
/// can represent fall back to the raw number of nanoseconds.
pub fn rfc3339(time_ns: i64) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(time_ns)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.nanosecond()
        ),
        Err(_) => format!("{time_ns}ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_and_fraction() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(1_700_000_000_123_456_789), "2023-11-14T22:13:20.123456789Z");
    }
}
