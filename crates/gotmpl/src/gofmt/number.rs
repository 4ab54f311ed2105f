//! Integer and floating-point verbs: `%d %b %o %O %x %X %c %q %U` and
//! `%e %E %f %F %g %G %v`, with Go's flags, width and precision rules.

use super::text::{is_print, quote_rune};
use super::{Spec, bad_verb, pad_spaces};
use crate::value::Value;

pub(super) fn fmt_integer_verb(
    out: &mut String,
    arg: &Value,
    u: u64,
    neg: bool,
    unsigned: bool,
    verb: char,
    spec: &Spec,
) {
    match verb {
        'v' => {
            if spec.sharp_v && unsigned {
                let mut sp = spec.clone();
                sp.sharp = true;
                fmt_integer(out, u, neg, 16, 'x', &sp);
            } else {
                fmt_integer(out, u, neg, 10, verb, spec);
            }
        }
        'd' => fmt_integer(out, u, neg, 10, verb, spec),
        'b' => fmt_integer(out, u, neg, 2, verb, spec),
        'o' | 'O' => fmt_integer(out, u, neg, 8, verb, spec),
        'x' | 'X' => fmt_integer(out, u, neg, 16, verb, spec),
        'c' => {
            let c = rune_of(u, neg);
            pad_spaces(out, &c.to_string(), spec);
        }
        'q' => {
            let c = rune_of(u, neg);
            let mut s = String::new();
            if spec.sharp && c != '`' && is_print(c) && c != '\'' {
                s.push('\'');
                s.push(c);
                s.push('\'');
            } else {
                quote_rune(&mut s, c, spec.plus);
            }
            pad_spaces(out, &s, spec);
        }
        'U' => {
            let mut s = if neg {
                format!("U+{:04X}", u64::MAX - u + 1)
            } else {
                format!("U+{u:04X}")
            };
            if spec.sharp
                && !neg
                && let Some(c) = char::from_u32(u32::try_from(u).unwrap_or(u32::MAX))
                && is_print(c)
            {
                s.push_str(" '");
                s.push(c);
                s.push('\'');
            }
            pad_spaces(out, &s, spec);
        }
        _ => bad_verb(out, arg, verb, spec),
    }
}

fn rune_of(u: u64, neg: bool) -> char {
    if neg {
        return '\u{FFFD}';
    }
    u32::try_from(u)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

fn fmt_integer(out: &mut String, u: u64, neg: bool, base: u32, verb: char, spec: &Spec) {
    let mut prec = 0usize;
    if let Some(p) = spec.prec {
        prec = p;
        if p == 0 && u == 0 {
            if let Some(w) = spec.width {
                out.extend(std::iter::repeat_n(' ', w));
            }
            return;
        }
    } else if spec.zero
        && !spec.minus
        && let Some(w) = spec.width
    {
        prec = w;
        if neg || spec.plus || spec.space {
            prec = prec.saturating_sub(1);
        }
    }
    let mut digits = match base {
        2 => format!("{u:b}"),
        8 => format!("{u:o}"),
        16 if verb == 'X' => format!("{u:X}"),
        16 => format!("{u:x}"),
        _ => u.to_string(),
    };
    if digits.len() < prec {
        digits = "0".repeat(prec - digits.len()) + &digits;
    }
    let mut s = String::new();
    if neg {
        s.push('-');
    } else if spec.plus {
        s.push('+');
    } else if spec.space {
        s.push(' ');
    }
    if spec.sharp {
        match base {
            2 => s.push_str("0b"),
            8 if !digits.starts_with('0') => s.push('0'),
            16 if verb == 'X' => s.push_str("0X"),
            16 => s.push_str("0x"),
            _ => {}
        }
    }
    if verb == 'O' {
        s.push_str("0o");
    }
    s.push_str(&digits);
    pad_spaces(out, &s, spec);
}

pub(super) fn fmt_float_verb(out: &mut String, arg: &Value, x: f64, verb: char, spec: &Spec) {
    match verb {
        'v' => fmt_float(out, x, 'g', None, spec),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => fmt_float(out, x, verb, spec.prec, spec),
        _ => bad_verb(out, arg, verb, spec),
    }
}

/// Decimal digits (no leading zeros, trailing zeros trimmed) and decimal point position:
/// value = 0.d1d2d3... × 10^dp.
fn decimal_digits(x: f64, sig: Option<usize>) -> (String, i32) {
    let s = match sig {
        Some(n) => format!("{:.*e}", n.saturating_sub(1), x.abs()),
        None => format!("{:e}", x.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    if digits == "0" {
        return (digits, 1);
    }
    (digits, exp + 1)
}

fn exp_suffix(out: &mut String, e: i32, upper: bool) {
    out.push(if upper { 'E' } else { 'e' });
    out.push(if e < 0 { '-' } else { '+' });
    let a = e.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

/// Formats `|x|` in %e style with `prec` digits after the point.
fn format_e(x: f64, prec: usize, upper: bool) -> String {
    let s = format!("{:.*e}", prec, x.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let e: i32 = exp.parse().unwrap_or(0);
    let mut out = mant.to_string();
    exp_suffix(&mut out, e, upper);
    out
}

/// The number part (no sign) of a float in Go's %g style.
fn format_g(x: f64, prec: Option<usize>, upper: bool, sharp: bool) -> String {
    let shortest = prec.is_none();
    let p = match prec {
        Some(0) => Some(1),
        other => other,
    };
    let (digits, dp) = decimal_digits(x, p);
    let nd = digits.len() as i32;
    let mut eprec = p.map_or(nd, |p| p as i32);
    if !shortest && eprec > nd && nd >= dp {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    // With '#', Go keeps trailing zeros up to the precision.
    let keep = if sharp { p.unwrap_or(6) as i32 } else { nd };
    let exp = dp - 1;
    let mut s = String::new();
    if exp < -4 || exp >= eprec {
        let d = digits.as_bytes();
        s.push(d[0] as char);
        let frac_len = (keep.max(nd) - 1).max(0) as usize;
        if frac_len > 0 {
            s.push('.');
            for k in 1..=frac_len {
                s.push(d.get(k).map_or('0', |b| *b as char));
            }
        } else if sharp {
            s.push('.');
        }
        exp_suffix(&mut s, exp, upper);
    } else {
        let frac = (keep.max(nd) - dp).max(0) as usize;
        let d = digits.as_bytes();
        if dp <= 0 {
            s.push('0');
        } else {
            for k in 0..dp as usize {
                s.push(d.get(k).map_or('0', |b| *b as char));
            }
        }
        if frac > 0 {
            s.push('.');
            for k in 0..frac as i32 {
                let idx = dp + k;
                s.push(if idx < 0 {
                    '0'
                } else {
                    d.get(idx as usize).map_or('0', |b| *b as char)
                });
            }
        } else if sharp {
            s.push('.');
        }
    }
    s
}

fn fmt_float(out: &mut String, x: f64, verb: char, prec: Option<usize>, spec: &Spec) {
    let upper = verb.is_ascii_uppercase();
    let sign = if x.is_sign_negative() && !x.is_nan() {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    if x.is_infinite() {
        // Go keeps the sign of infinities even without '+'.
        let sign = if x < 0.0 {
            "-"
        } else if spec.space && !spec.plus {
            " "
        } else {
            "+"
        };
        pad_spaces(out, &format!("{sign}Inf"), spec);
        return;
    }
    if x.is_nan() {
        let sign = if spec.plus {
            "+"
        } else if spec.space {
            " "
        } else {
            ""
        };
        pad_spaces(out, &format!("{sign}NaN"), spec);
        return;
    }
    let body = match verb {
        'e' | 'E' => format_e(x, prec.unwrap_or(6), upper),
        'f' | 'F' => {
            let s = format!("{:.*}", prec.unwrap_or(6), x.abs());
            if spec.sharp && !s.contains('.') {
                s + "."
            } else {
                s
            }
        }
        _ => format_g(x, prec, upper, spec.sharp),
    };
    if spec.zero
        && !spec.minus
        && let Some(w) = spec.width
    {
        let len = sign.len() + body.len();
        out.push_str(sign);
        if len < w {
            out.extend(std::iter::repeat_n('0', w - len));
        }
        out.push_str(&body);
        return;
    }
    pad_spaces(out, &format!("{sign}{body}"), spec);
}
