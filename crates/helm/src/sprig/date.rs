//! Sprig's date functions on Go-style times: `now`, `date`, `dateInZone`,
//! `htmlDate`, `htmlDateInZone`, `dateModify`, `toDate`, `unixEpoch`, `ago`,
//! `duration`, `durationRound`, formatted and parsed with Go reference
//! layouts (`2006-01-02T15:04:05Z07:00`).

mod layout;

use std::sync::Arc;

use ferrocd_gotmpl::{FuncError, FuncMap, Object, Value};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};

use super::args::string;

/// A Go `time.Time` as templates see it.
#[derive(Debug, Clone)]
pub struct GoTime(pub Zoned);

impl GoTime {
    fn zero() -> GoTime {
        let ts = Timestamp::from_second(-62_135_596_800).unwrap_or(Timestamp::UNIX_EPOCH);
        GoTime(ts.to_zoned(TimeZone::UTC))
    }
}

impl Object for GoTime {
    fn type_name(&self) -> String {
        "time.Time".into()
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Unix"
                | "Nanosecond"
                | "Year"
                | "YearDay"
                | "Day"
                | "Hour"
                | "Minute"
                | "Second"
                | "Format"
                | "UTC"
                | "String"
        )
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, FuncError> {
        let z = &self.0;
        Ok(match name {
            "Unix" => Value::Int64(z.timestamp().as_second()),
            "Year" => Value::Int(i64::from(z.year())),
            "YearDay" => Value::Int(i64::from(z.day_of_year())),
            "Day" => Value::Int(i64::from(z.day())),
            "Hour" => Value::Int(i64::from(z.hour())),
            "Minute" => Value::Int(i64::from(z.minute())),
            "Second" => Value::Int(i64::from(z.second())),
            "Nanosecond" => Value::Int(i64::from(z.subsec_nanosecond())),
            "Format" => {
                FuncError::check_arity(args, 1)?;
                Value::from(layout::format(z, string(&args[0])?))
            }
            "UTC" => Value::Object(Arc::new(GoTime(z.with_time_zone(TimeZone::UTC)))),
            "String" => Value::from(self.display()),
            _ => return Err(FuncError::msg(format!("no method {name}"))),
        })
    }

    fn display(&self) -> String {
        layout::format(&self.0, "2006-01-02 15:04:05.999999999 -0700 MST")
    }
}

fn time_value(z: Zoned) -> Value {
    Value::Object(Arc::new(GoTime(z)))
}

/// The time an argument denotes: a `time.Time`, or Unix seconds as `int`/`int64`;
/// anything else is now (as Sprig does).
fn as_time(v: &Value) -> Zoned {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => {
            let secs = o.call_method("Unix", &[]).ok().and_then(|v| v.as_i64());
            let nanos = o
                .call_method("Nanosecond", &[])
                .ok()
                .and_then(|v| v.as_i64());
            Timestamp::new(secs.unwrap_or(0), nanos.unwrap_or(0) as i32)
                .unwrap_or(Timestamp::UNIX_EPOCH)
                .to_zoned(TimeZone::system())
        }
        Value::Int(s) | Value::Int64(s) => Timestamp::from_second(*s)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(TimeZone::system()),
        _ => Zoned::now(),
    }
}

fn zone(name: &str) -> TimeZone {
    match name {
        "" | "UTC" => TimeZone::UTC,
        "Local" => TimeZone::system(),
        other => TimeZone::get(other).unwrap_or(TimeZone::UTC),
    }
}

fn in_zone(fmt: &str, v: &Value, tz: &str) -> Value {
    let z = as_time(v).with_time_zone(zone(tz));
    Value::from(layout::format(&z, fmt))
}

/// Go's `time.ParseDuration`.
pub(crate) fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let bad = || format!("time: invalid duration \"{s}\"");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration \"{s}\""))?;
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            u => return Err(format!("time: unknown unit \"{u}\" in duration \"{s}\"")),
        };
        total += n * nanos;
        rest = &rest[unit_end..];
    }
    let d = SignedDuration::from_nanos(total as i64);
    Ok(if neg { -d } else { d })
}

/// Go's `time.Duration.String` for whole-second-or-finer durations.
pub(crate) fn format_duration(d: SignedDuration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    if n < 1_000_000_000 {
        let (v, unit) = if n < 1_000 {
            (n as f64, "ns")
        } else if n < 1_000_000 {
            (n as f64 / 1e3, "µs")
        } else {
            (n as f64 / 1e6, "ms")
        };
        return format!("{sign}{v}{unit}");
    }
    let (h, rem) = (n / 3_600_000_000_000, n % 3_600_000_000_000);
    let (m, rem) = (rem / 60_000_000_000, rem % 60_000_000_000);
    let secs = rem as f64 / 1e9;
    let mut out = String::from(sign);
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{secs}s"));
    out
}

/// Sprig's `durationRound`: the largest unit only (`2h`, `1mo`, `3y`).
fn duration_round(d: SignedDuration) -> String {
    let n = d.as_nanos().unsigned_abs();
    const SEC: u128 = 1_000_000_000;
    const MIN: u128 = 60 * SEC;
    const HOUR: u128 = 60 * MIN;
    const DAY: u128 = 24 * HOUR;
    const MONTH: u128 = 30 * DAY;
    const YEAR: u128 = 365 * DAY;
    let units = [
        (YEAR, "y"),
        (MONTH, "mo"),
        (DAY, "d"),
        (HOUR, "h"),
        (MIN, "m"),
        (SEC, "s"),
    ];
    for (size, unit) in units {
        if n > size {
            return format!("{}{unit}", n / size);
        }
    }
    "0s".into()
}

fn date_modify(a: &[Value]) -> Result<Result<Zoned, String>, FuncError> {
    FuncError::check_arity(a, 2)?;
    let m = string(&a[0])?;
    let t = match &a[1] {
        Value::Object(o) if o.type_name() == "time.Time" => as_time(&a[1]),
        other => {
            return Err(FuncError::WrongType {
                expected: "time.Time".into(),
                got: other.type_name(),
            });
        }
    };
    Ok(match parse_duration(m) {
        Ok(d) => t.checked_add(d).map_err(|e| e.to_string()),
        Err(e) => Err(e),
    })
}

fn to_date(a: &[Value]) -> Result<Result<Zoned, String>, FuncError> {
    FuncError::check_arity(a, 2)?;
    Ok(layout::parse(
        string(&a[0])?,
        string(&a[1])?,
        &TimeZone::system(),
    ))
}

/// Registers the date functions.
pub(crate) fn register(f: &mut FuncMap) {
    f.insert("now", |a| {
        FuncError::check_arity(a, 0)?;
        Ok(time_value(Zoned::now()))
    });
    f.insert("date", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(in_zone(string(&a[0])?, &a[1], "Local"))
    });
    f.insert("dateInZone", |a| {
        FuncError::check_arity(a, 3)?;
        Ok(in_zone(string(&a[0])?, &a[1], string(&a[2])?))
    });
    f.insert("date_in_zone", |a| {
        FuncError::check_arity(a, 3)?;
        Ok(in_zone(string(&a[0])?, &a[1], string(&a[2])?))
    });
    f.insert("htmlDate", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(in_zone("2006-01-02", &a[0], "Local"))
    });
    f.insert("htmlDateInZone", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(in_zone("2006-01-02", &a[0], string(&a[1])?))
    });
    for name in ["dateModify", "date_modify"] {
        f.insert(name, |a| {
            let original = a.get(1).cloned().unwrap_or_default();
            Ok(match date_modify(a)? {
                Ok(z) => time_value(z),
                Err(_) => original,
            })
        });
    }
    f.insert("mustDateModify", |a| {
        date_modify(a)?.map(time_value).map_err(FuncError::msg)
    });
    f.insert("toDate", |a| {
        Ok(time_value(to_date(a)?.unwrap_or_else(|_| GoTime::zero().0)))
    });
    f.insert("mustToDate", |a| {
        to_date(a)?.map(time_value).map_err(FuncError::msg)
    });
    f.insert("unixEpoch", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(
            as_time(&a[0]).timestamp().as_second().to_string(),
        ))
    });
    f.insert("ago", |a| {
        FuncError::check_arity(a, 1)?;
        let since = Zoned::now().timestamp().as_second() - as_time(&a[0]).timestamp().as_second();
        Ok(Value::from(format_duration(SignedDuration::from_secs(
            since,
        ))))
    });
    f.insert("duration", |a| {
        FuncError::check_arity(a, 1)?;
        let secs = match &a[0] {
            Value::String(s) => s.parse::<i64>().unwrap_or(0),
            Value::Int64(n) => *n,
            _ => 0,
        };
        Ok(Value::from(format_duration(SignedDuration::from_secs(
            secs,
        ))))
    });
    f.insert("durationRound", |a| {
        FuncError::check_arity(a, 1)?;
        let d = match &a[0] {
            Value::String(s) => parse_duration(s).unwrap_or(SignedDuration::ZERO),
            Value::Int64(n) => SignedDuration::from_nanos(*n),
            Value::Object(o) if o.type_name() == "time.Time" => SignedDuration::from_secs(
                Zoned::now().timestamp().as_second() - as_time(&a[0]).timestamp().as_second(),
            ),
            _ => SignedDuration::ZERO,
        };
        Ok(Value::from(duration_round(d)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go() {
        let d = |s: &str| parse_duration(s).expect("duration");
        assert_eq!(format_duration(d("1h1m1s")), "1h1m1s");
        assert_eq!(format_duration(d("90m")), "1h30m0s");
        assert_eq!(format_duration(d("1.5s")), "1.5s");
        assert_eq!(format_duration(d("-2m")), "-2m0s");
        assert_eq!(format_duration(d("250ms")), "250ms");
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn rounding_keeps_the_largest_unit() {
        let d = |s: &str| duration_round(parse_duration(s).expect("duration"));
        assert_eq!(d("2h10m5s"), "2h");
        assert_eq!(d("900h"), "1mo");
        assert_eq!(d("75m"), "1h");
        assert_eq!(d("0s"), "0s");
    }

    proptest::proptest! {
        #[test]
        fn durations_round_trip(secs in -1_000_000i64..1_000_000) {
            let d = SignedDuration::from_secs(secs);
            proptest::prop_assert_eq!(parse_duration(&format_duration(d)).expect("parses"), d);
        }

        #[test]
        fn duration_parser_never_panics(s in "\\PC{0,16}") {
            let _ = parse_duration(&s);
        }
    }
}
