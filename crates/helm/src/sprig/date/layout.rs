//! Go reference-time layouts (`Mon Jan 2 15:04:05 MST 2006`): splitting a
//! layout into elements, formatting a time with it, and parsing text with it.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, Zoned};

/// One element of a layout.
#[derive(Debug, Clone, PartialEq)]
enum Elem {
    Lit(String),
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekday,
    Weekday,
    Day,
    UnderDay,
    ZeroDay,
    YearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm(bool),
    ZoneName,
    /// Numeric offset: `z` uses `Z` for UTC; `colon`; `short` is hours only.
    Offset {
        z: bool,
        colon: bool,
        short: bool,
    },
    /// Fractional seconds: digit count, and `9`s (trailing zeros trimmed).
    Frac(usize, bool),
}

const TABLE: &[(&str, Elem)] = &[
    ("January", Elem::LongMonth),
    ("Jan", Elem::Month),
    ("Monday", Elem::LongWeekday),
    ("Mon", Elem::Weekday),
    ("MST", Elem::ZoneName),
    ("2006", Elem::LongYear),
    ("002", Elem::YearDay),
    ("01", Elem::ZeroMonth),
    ("02", Elem::ZeroDay),
    ("03", Elem::ZeroHour12),
    ("04", Elem::ZeroMinute),
    ("05", Elem::ZeroSecond),
    ("06", Elem::Year),
    ("15", Elem::Hour),
    ("_2", Elem::UnderDay),
    ("1", Elem::NumMonth),
    ("2", Elem::Day),
    ("3", Elem::Hour12),
    ("4", Elem::Minute),
    ("5", Elem::Second),
    ("PM", Elem::Pm(true)),
    ("pm", Elem::Pm(false)),
    (
        "Z07:00",
        Elem::Offset {
            z: true,
            colon: true,
            short: false,
        },
    ),
    (
        "Z0700",
        Elem::Offset {
            z: true,
            colon: false,
            short: false,
        },
    ),
    (
        "Z07",
        Elem::Offset {
            z: true,
            colon: false,
            short: true,
        },
    ),
    (
        "-07:00",
        Elem::Offset {
            z: false,
            colon: true,
            short: false,
        },
    ),
    (
        "-0700",
        Elem::Offset {
            z: false,
            colon: false,
            short: false,
        },
    ),
    (
        "-07",
        Elem::Offset {
            z: false,
            colon: false,
            short: true,
        },
    ),
];

fn split(layout: &str) -> Vec<Elem> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(['.', ',']) {
            let run = after.len() - after.trim_start_matches('0').len();
            let nines = after.len() - after.trim_start_matches('9').len();
            let n = run.max(nines);
            let next_digit = after[n..].starts_with(|c: char| c.is_ascii_digit());
            if n > 0 && !next_digit {
                flush(&mut lit, &mut out);
                out.push(Elem::Frac(n, nines > 0));
                rest = &after[n..];
                continue;
            }
        }
        for (pat, elem) in TABLE {
            if let Some(after) = rest.strip_prefix(pat) {
                flush(&mut lit, &mut out);
                out.push(elem.clone());
                rest = after;
                continue 'outer;
            }
        }
        let mut cs = rest.chars();
        if let Some(c) = cs.next() {
            lit.push(c);
        }
        rest = cs.as_str();
    }
    flush(&mut lit, &mut out);
    out
}

fn flush(lit: &mut String, out: &mut Vec<Elem>) {
    if !lit.is_empty() {
        out.push(Elem::Lit(std::mem::take(lit)));
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn offset_text(secs: i32, z: bool, colon: bool, short: bool) -> String {
    if z && secs == 0 {
        return "Z".into();
    }
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m) = (a / 3600, (a % 3600) / 60);
    match (short, colon) {
        (true, _) => format!("{sign}{h:02}"),
        (false, true) => format!("{sign}{h:02}:{m:02}"),
        (false, false) => format!("{sign}{h:02}{m:02}"),
    }
}

/// Formats a time with a Go layout.
pub(crate) fn format(t: &Zoned, layout: &str) -> String {
    let mut out = String::new();
    let hour12 = |h: i8| if h % 12 == 0 { 12 } else { h % 12 };
    let offset = t.offset().seconds();
    for e in split(layout) {
        match e {
            Elem::Lit(s) => out.push_str(&s),
            Elem::LongMonth => out.push_str(MONTHS[(t.month() - 1) as usize]),
            Elem::Month => out.push_str(&MONTHS[(t.month() - 1) as usize][..3]),
            Elem::NumMonth => out.push_str(&t.month().to_string()),
            Elem::ZeroMonth => out.push_str(&format!("{:02}", t.month())),
            Elem::LongWeekday => {
                out.push_str(DAYS[t.weekday().to_monday_zero_offset() as usize]);
            }
            Elem::Weekday => {
                out.push_str(&DAYS[t.weekday().to_monday_zero_offset() as usize][..3]);
            }
            Elem::Day => out.push_str(&t.day().to_string()),
            Elem::UnderDay => out.push_str(&format!("{:>2}", t.day())),
            Elem::ZeroDay => out.push_str(&format!("{:02}", t.day())),
            Elem::YearDay => out.push_str(&format!("{:03}", t.day_of_year())),
            Elem::Hour => out.push_str(&format!("{:02}", t.hour())),
            Elem::Hour12 => out.push_str(&hour12(t.hour()).to_string()),
            Elem::ZeroHour12 => out.push_str(&format!("{:02}", hour12(t.hour()))),
            Elem::Minute => out.push_str(&t.minute().to_string()),
            Elem::ZeroMinute => out.push_str(&format!("{:02}", t.minute())),
            Elem::Second => out.push_str(&t.second().to_string()),
            Elem::ZeroSecond => out.push_str(&format!("{:02}", t.second())),
            Elem::LongYear => out.push_str(&format!("{:04}", t.year())),
            Elem::Year => out.push_str(&format!("{:02}", t.year().rem_euclid(100))),
            Elem::Pm(upper) => {
                let s = if t.hour() >= 12 { "PM" } else { "AM" };
                out.push_str(&if upper {
                    s.to_string()
                } else {
                    s.to_lowercase()
                });
            }
            Elem::ZoneName => {
                let info = t.time_zone().to_offset_info(t.timestamp());
                let abbr = info.abbreviation();
                if abbr.is_empty() || abbr.starts_with(['+', '-']) {
                    out.push_str(&offset_text(offset, false, false, false));
                } else {
                    out.push_str(abbr);
                }
            }
            Elem::Offset { z, colon, short } => {
                out.push_str(&offset_text(offset, z, colon, short));
            }
            Elem::Frac(n, nines) => {
                let digits = format!("{:09}", t.subsec_nanosecond());
                let mut d = digits[..n.min(9)].to_string();
                if nines {
                    d = d.trim_end_matches('0').to_string();
                    if !d.is_empty() {
                        out.push('.');
                        out.push_str(&d);
                    }
                } else {
                    out.push('.');
                    out.push_str(&d);
                }
            }
        }
    }
    out
}

fn take_num(s: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

fn take_name<'a>(s: &'a str, names: &[&str], short: bool) -> Option<(usize, &'a str)> {
    names.iter().enumerate().find_map(|(i, n)| {
        let n = if short { &n[..3] } else { n };
        s.get(..n.len())
            .filter(|p| p.eq_ignore_ascii_case(n))
            .map(|_| (i, &s[n.len()..]))
    })
}

/// Parses `value` with a Go layout; times without an offset are in `tz`.
pub(crate) fn parse(layout: &str, value: &str, tz: &TimeZone) -> Result<Zoned, String> {
    let err = |rest: &str, elem: &str| {
        format!("parsing time {value:?} as {layout:?}: cannot parse {rest:?} as {elem:?}")
    };
    let (mut year, mut month, mut day, mut hour, mut min, mut sec, mut nanos) =
        (1i64, 1i64, 1i64, 0i64, 0i64, 0i64, 0i64);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut rest = value;
    for e in split(layout) {
        let name = match &e {
            Elem::LongYear => "2006",
            Elem::Year => "06",
            Elem::ZeroMonth | Elem::NumMonth => "01",
            Elem::ZeroDay | Elem::Day | Elem::UnderDay => "02",
            Elem::Hour | Elem::Hour12 | Elem::ZeroHour12 => "15",
            Elem::Minute | Elem::ZeroMinute => "04",
            Elem::Second | Elem::ZeroSecond => "05",
            _ => "",
        };
        let step: Option<&str> = match e {
            Elem::Lit(ref l) => rest.strip_prefix(l.as_str()),
            Elem::LongYear => take_num(rest, 4, 4).map(|(n, r)| {
                year = n;
                r
            }),
            Elem::Year => take_num(rest, 2, 2).map(|(n, r)| {
                year = if n >= 69 { 1900 + n } else { 2000 + n };
                r
            }),
            Elem::ZeroMonth | Elem::NumMonth => take_num(rest, 1, 2).map(|(n, r)| {
                month = n;
                r
            }),
            Elem::LongMonth | Elem::Month => {
                take_name(rest, &MONTHS, e == Elem::Month).map(|(i, r)| {
                    month = i as i64 + 1;
                    r
                })
            }
            Elem::LongWeekday | Elem::Weekday => {
                take_name(rest, &DAYS, e == Elem::Weekday).map(|(_, r)| r)
            }
            Elem::ZeroDay | Elem::Day | Elem::UnderDay => {
                take_num(rest.trim_start_matches(' '), 1, 2).map(|(n, r)| {
                    day = n;
                    r
                })
            }
            Elem::YearDay => take_num(rest, 3, 3).map(|(_, r)| r),
            Elem::Hour | Elem::Hour12 | Elem::ZeroHour12 => take_num(rest, 1, 2).map(|(n, r)| {
                hour = n;
                r
            }),
            Elem::Minute | Elem::ZeroMinute => take_num(rest, 1, 2).map(|(n, r)| {
                min = n;
                r
            }),
            Elem::Second | Elem::ZeroSecond => take_num(rest, 1, 2).map(|(n, r)| {
                sec = n;
                r
            }),
            Elem::Pm(_) => {
                let p = rest.get(..2).map(str::to_ascii_uppercase);
                match p.as_deref() {
                    Some("AM") => pm = Some(false),
                    Some("PM") => pm = Some(true),
                    _ => {}
                }
                pm.map(|_| &rest[2..])
            }
            Elem::ZoneName => {
                let n = rest.bytes().take_while(|b| b.is_ascii_uppercase()).count();
                if rest[..n] == *"UTC" || rest[..n] == *"GMT" {
                    offset = Some(0);
                }
                (n >= 3).then(|| &rest[n..])
            }
            Elem::Offset { z, colon, short } => {
                if z && rest.starts_with('Z') {
                    offset = Some(0);
                    Some(&rest[1..])
                } else {
                    parse_offset(rest, colon, short).map(|(o, r)| {
                        offset = Some(o);
                        r
                    })
                }
            }
            Elem::Frac(_, _) => {
                let after = rest.strip_prefix(['.', ',']);
                match after {
                    Some(a) => {
                        let n = a.bytes().take_while(u8::is_ascii_digit).count();
                        let digits = format!("{:0<9}", &a[..n.min(9)]);
                        nanos = digits.parse().unwrap_or(0);
                        Some(&a[n..])
                    }
                    None => Some(rest),
                }
            }
        };
        rest = step.ok_or_else(|| {
            let elem = if name.is_empty() {
                match &e {
                    Elem::Lit(l) => l.clone(),
                    other => format!("{other:?}"),
                }
            } else {
                name.to_string()
            };
            err(rest, &elem)
        })?;
        // A fraction may follow seconds even when the layout has none.
        if matches!(e, Elem::Second | Elem::ZeroSecond) && rest.starts_with('.') {
            let a = &rest[1..];
            let n = a.bytes().take_while(u8::is_ascii_digit).count();
            if n > 0 {
                nanos = format!("{:0<9}", &a[..n.min(9)]).parse().unwrap_or(0);
                rest = &a[n..];
            }
        }
    }
    if !rest.is_empty() {
        return Err(format!("parsing time {value:?}: extra text: {rest:?}"));
    }
    match pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let out_of_range = || format!("parsing time {value:?}: day out of range");
    let dt = DateTime::new(
        year as i16,
        month as i8,
        day as i8,
        hour as i8,
        min as i8,
        sec as i8,
        nanos as i32,
    )
    .map_err(|_| out_of_range())?;
    match offset {
        Some(o) => {
            let off = Offset::from_seconds(o).map_err(|e| e.to_string())?;
            let ts: Timestamp = off.to_timestamp(dt).map_err(|e| e.to_string())?;
            Ok(ts.to_zoned(TimeZone::fixed(off)))
        }
        None => dt.to_zoned(tz.clone()).map_err(|e| e.to_string()),
    }
}

fn parse_offset(s: &str, colon: bool, short: bool) -> Option<(i32, &str)> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, r) = take_num(&s[1..], 2, 2)?;
    if short {
        return Some((sign * (h as i32) * 3600, r));
    }
    let r = if colon { r.strip_prefix(':')? } else { r };
    let (m, r) = take_num(r, 2, 2)?;
    Some((sign * (h as i32 * 3600 + m as i32 * 60), r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, tz: &str) -> Zoned {
        Timestamp::from_second(secs)
            .expect("ts")
            .to_zoned(TimeZone::get(tz).expect("zone"))
    }

    #[test]
    fn formats_reference_layouts() {
        let t = at(1_700_000_000, "UTC");
        assert_eq!(
            format(&t, "2006-01-02T15:04:05Z07:00"),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            format(&t, "Mon Jan _2 15:04:05 2006"),
            "Tue Nov 14 22:13:20 2023"
        );
        assert_eq!(format(&t, "3:04pm"), "10:13pm");
        let k = at(1_700_000_000, "Asia/Kolkata");
        assert_eq!(
            format(&k, "02/01/06 03PM .000 -0700 Z07:00"),
            "15/11/23 03AM .000 +0530 +05:30"
        );
    }

    #[test]
    fn parses_what_it_formats() {
        let t = parse(
            "2006-01-02T15:04:05Z07:00",
            "2024-03-09T10:30:00+02:00",
            &TimeZone::UTC,
        )
        .expect("parses");
        assert_eq!(t.timestamp().as_second(), 1_709_973_000);
        let e = parse("2006-01-02", "nope", &TimeZone::UTC).expect_err("fails");
        assert_eq!(
            e,
            r#"parsing time "nope" as "2006-01-02": cannot parse "nope" as "2006""#
        );
        assert!(parse("2006-01-02", "2024-02-30", &TimeZone::UTC).is_err());
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_is_identity(secs in 0i64..4_000_000_000) {
            let t = at(secs, "UTC");
            let layout = "2006-01-02T15:04:05Z07:00";
            let back = parse(layout, &format(&t, layout), &TimeZone::UTC).expect("parses");
            proptest::prop_assert_eq!(back.timestamp(), t.timestamp());
        }

        #[test]
        fn parse_never_panics(layout in "\\PC{0,12}", value in "\\PC{0,12}") {
            let _ = parse(&layout, &value, &TimeZone::UTC);
        }
    }
}
