//! Go duration strings (`5s`, `1m30s`, `1.5h`, `300ms`), as used by Argo CD for retry
//! backoff and sync windows.

use std::time::Duration;

/// A duration string that is not a valid Go duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}")]
pub struct DurationError {
    /// The text that failed to parse.
    pub input: String,
}

/// Parses a Go duration: an optional sign, then one or more decimal numbers (with an
/// optional fraction) each followed by a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`).
/// `0` alone is accepted. Negative durations and overflow are errors.
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let err = || DurationError {
        input: input.to_string(),
    };
    let (negative, mut rest) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(err());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| !(c.is_alphabetic()))
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(err()),
        };
        let int_value: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| err())?
        };
        let mut value = int_value.checked_mul(unit_nanos).ok_or_else(err)?;
        // Fraction: only the digits that can matter at nanosecond precision.
        let mut scale = unit_nanos;
        for digit in frac_part.bytes().take(20) {
            scale /= 10;
            if scale == 0 {
                break;
            }
            value += u128::from(digit - b'0') * scale;
        }
        total = total.checked_add(value).ok_or_else(err)?;
        rest = after;
    }
    // Go durations are int64 nanoseconds.
    if total > i64::MAX as u128 {
        return Err(err());
    }
    if negative && total != 0 {
        return Err(err());
    }
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| err())?;
    let nanos = u32::try_from(total % 1_000_000_000).map_err(|_| err())?;
    Ok(Duration::new(secs, nanos))
}

/// Parses a retry backoff duration as Argo CD does: a Go duration, or a bare number of
/// seconds (`"5"`).
pub fn parse_backoff_duration(input: &str) -> Result<Duration, DurationError> {
    if !input.is_empty() && input.bytes().all(|b| b.is_ascii_digit()) {
        return input
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| DurationError {
                input: input.to_string(),
            });
    }
    parse_go_duration(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_go_durations() {
        let ok = |s: &str| parse_go_duration(s).expect(s);
        assert_eq!(ok("5s"), Duration::from_secs(5));
        assert_eq!(ok("3m"), Duration::from_secs(180));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("300ms"), Duration::from_millis(300));
        assert_eq!(ok("2us"), Duration::from_micros(2));
        assert_eq!(ok("2µs"), Duration::from_micros(2));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("-0s"), Duration::ZERO);
        assert_eq!(ok("+10s"), Duration::from_secs(10));
        assert_eq!(ok("1h0m0s"), Duration::from_secs(3600));
    }

    #[test]
    fn rejects_bad_durations() {
        for bad in [
            "",
            "5",
            "5x",
            "s",
            "1.s.",
            "-5s",
            "5 s",
            "1h-5m",
            ".s",
            "9999999999999h",
            "+",
            "1d",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should fail");
        }
        assert_eq!(
            parse_go_duration("5x").unwrap_err().to_string(),
            r#"invalid duration "5x""#
        );
    }

    #[test]
    fn backoff_accepts_bare_seconds() {
        assert_eq!(parse_backoff_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_backoff_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_backoff_duration("5x").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = parse_go_duration(&s);
        }

        #[test]
        fn whole_seconds_round_trip(n in 0u64..1_000_000) {
            prop_assert_eq!(parse_go_duration(&format!("{n}s")), Ok(Duration::from_secs(n)));
            let (h, m, s) = (n / 3600, (n / 60) % 60, n % 60);
            prop_assert_eq!(parse_go_duration(&format!("{h}h{m}m{s}s")), Ok(Duration::from_secs(n)));
        }
    }
}
