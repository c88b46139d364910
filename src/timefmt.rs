//! RFC 3339 UTC formatting of capture times.

use time::OffsetDateTime;

/// Digits of second fraction to print: 9 for nanosecond captures, 6 for microsecond ones, 0 for
/// certificate validity (whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    Seconds,
    Micros,
    Nanos,
}

/// Formats nanoseconds since the epoch as `2026-11-22T05:18:58.123456Z` (with `Micros`).
///
/// Fractions are truncated, never rounded, so a time never moves into the next second. Times
/// outside years 0 to 9999 fall back to the raw number of nanoseconds.
pub(crate) fn rfc3339(time_ns: i64, precision: Precision) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(time_ns)) else {
        return format!("{time_ns}ns");
    };
    // Written digit by digit into one buffer: a report prints a few of these per event, and
    // `format!` cost 4% of a fleet run.
    let mut out = String::with_capacity(30);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return format!("{time_ns}ns");
    }
    push_digits(&mut out, year.unsigned_abs(), 4);
    out.push('-');
    push_digits(&mut out, u32::from(u8::from(t.month())), 2);
    out.push('-');
    push_digits(&mut out, u32::from(t.day()), 2);
    out.push('T');
    push_digits(&mut out, u32::from(t.hour()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.minute()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.second()), 2);
    match precision {
        Precision::Seconds => {}
        Precision::Micros => {
            out.push('.');
            push_digits(&mut out, t.nanosecond() / 1000, 6);
        }
        Precision::Nanos => {
            out.push('.');
            push_digits(&mut out, t.nanosecond(), 9);
        }
    }
    out.push('Z');
    out
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut divisor = 10u32.pow(width - 1);
    while divisor > 0 {
        let digit = (value / divisor) % 10;
        out.push(char::from(b'0' + digit as u8));
        divisor /= 10;
    }
}

/// Formats whole seconds since the epoch (certificate validity).
pub(crate) fn rfc3339_seconds(secs: i64) -> String {
    match secs.checked_mul(1_000_000_000) {
        Some(ns) => rfc3339(ns, Precision::Seconds),
        None => format!("{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_each_precision() {
        let t = 1_700_000_000_123_456_789;
        assert_eq!(
            rfc3339(t, Precision::Nanos),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(rfc3339(t, Precision::Micros), "2023-11-14T22:13:20.123456Z");
        assert_eq!(rfc3339(t, Precision::Seconds), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(0, Precision::Micros), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn times_before_the_epoch_and_out_of_range() {
        assert_eq!(
            rfc3339(-1_000, Precision::Micros),
            "1969-12-31T23:59:59.999999Z"
        );
        assert_eq!(rfc3339_seconds(i64::MAX), format!("{}s", i64::MAX));
    }
}
