//! Timestamps on the command line: Unix nanoseconds or RFC 3339, in and out (UTC, no time zone
//! database needed).

const NS_PER_SEC: u64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Parses `--since`: Unix nanoseconds (`1700000000000000000`) or RFC 3339
/// (`2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.5+02:00`, `2024-01-02 03:04:05Z`).
pub fn parse_time_ns(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map_err(|e| format!("{s:?}: {e}"));
    }
    let Some((secs, frac_ns)) = parse_rfc3339(s) else {
        return Err(format!(
            "{s:?} is neither Unix nanoseconds nor an RFC 3339 time \
             (e.g. 2024-01-02T03:04:05Z or 2024-01-02T03:04:05.123+02:00)"
        ));
    };
    u64::try_from(secs)
        .ok()
        .and_then(|secs| secs.checked_mul(NS_PER_SEC)?.checked_add(frac_ns))
        .ok_or_else(|| {
            format!(
                "{s:?} is out of range: entry times are Unix nanoseconds in a u64, from \
                 {} to {}",
                format_rfc3339(0),
                format_rfc3339(u64::MAX)
            )
        })
}

/// The seconds since the Unix epoch (negative before it) and the nanoseconds of an RFC 3339
/// time; `None` if it is not one.
fn parse_rfc3339(s: &str) -> Option<(i64, u64)> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut frac_ns: u64 = 0;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = b.get(start..i)?;
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
        frac_ns = value * 10u64.pow(9 - digits.len() as u32);
    }
    let offset_secs: i64 = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && sep(i + 3, b":") => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(year, month, day) * SECS_PER_DAY
        + hour * 3600
        + minute * 60
        + second.min(59)
        - offset_secs;
    Some((secs, frac_ns))
}

/// Formats Unix nanoseconds as RFC 3339 in UTC with nanoseconds:
/// `2024-01-02T03:04:05.000000006Z`.
pub fn format_rfc3339(ns: u64) -> String {
    let secs = (ns / NS_PER_SEC) as i64;
    let frac = ns % NS_PER_SEC;
    let (days, rem) = (secs.div_euclid(SECS_PER_DAY), secs.rem_euclid(SECS_PER_DAY));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_offsets() {
        assert_eq!(parse_time_ns("0"), Ok(0));
        assert_eq!(parse_time_ns("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time_ns("2024-02-29T12:00:00.5Z"), Ok(1_709_208_000_500_000_000));
        assert_eq!(parse_time_ns("2024-02-29T14:00:00.5+02:00"), Ok(1_709_208_000_500_000_000));
        assert_eq!(format_rfc3339(1_709_208_000_500_000_000), "2024-02-29T12:00:00.500000000Z");
        for ns in
            [0, 1, 951_782_400_000_000_000, 1_709_208_000_500_000_007, 4_102_444_800 * NS_PER_SEC]
        {
            assert_eq!(parse_time_ns(&format_rfc3339(ns)), Ok(ns));
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(parse_time_ns(bad).is_err(), "{bad}");
        }
    }

    /// A well-formed time outside the u64 nanosecond range is named as such, not as a time
    /// that is not RFC 3339.
    #[test]
    fn out_of_range_times_say_so() {
        assert_eq!(parse_time_ns(&format_rfc3339(u64::MAX)), Ok(u64::MAX));
        for late in ["9999-12-31T23:59:59Z", "2554-07-21T23:34:34Z", "1969-12-31T23:59:59Z"] {
            let msg = parse_time_ns(late).unwrap_err();
            assert!(msg.contains("out of range"), "{late}: {msg}");
        }
    }
}
