//! Go's `fmt` package semantics for [`Value`]s: `Sprint`, `Sprintln`, `Sprintf`
//! with verbs, flags, width, precision, argument indexes and Go's error markers
//! (`%!d(string=x)`, `%!d(MISSING)`, `%!(EXTRA int=2)`).

use crate::value::Value;

mod number;
mod text;

use number::{fmt_float_verb, fmt_integer_verb};
use text::fmt_string_verb;
pub(crate) use text::is_print;
pub use text::quote;

/// Formats like Go's `fmt.Sprint`: operands printed with `%v`, with a space
/// between two operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        print_arg(&mut out, arg, 'v', &Spec::default(), 0);
        prev_string = is_string;
    }
    out
}

/// Formats like Go's `fmt.Sprintln`: operands with `%v`, always separated by
/// spaces, followed by a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_arg(&mut out, arg, 'v', &Spec::default(), 0);
    }
    out.push('\n');
    out
}

/// Formats like Go's `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let bytes = format.as_bytes();
    let mut i = 0;
    let mut arg_num = 0usize;
    let mut reordered = false;
    while i < bytes.len() {
        // Copy literal text up to the next '%'.
        let start = i;
        while i < bytes.len() && bytes[i] != b'%' {
            i += 1;
        }
        out.push_str(&format[start..i]);
        if i >= bytes.len() {
            break;
        }
        i += 1; // skip '%'
        let mut spec = Spec::default();
        // Flags.
        while i < bytes.len() {
            match bytes[i] {
                b'#' => spec.sharp = true,
                b'0' => spec.zero = !spec.minus,
                b'+' => spec.plus = true,
                b'-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                b' ' => spec.space = true,
                _ => break,
            }
            i += 1;
        }
        let mut good_arg_num = true;
        // Argument index before width.
        let (n, ni, ok, found) = arg_index(format, i, arg_num, args.len());
        i = ni;
        if found {
            reordered = true;
            good_arg_num &= ok;
        }
        arg_num = n;
        // Width.
        if i < bytes.len() && bytes[i] == b'*' {
            i += 1;
            match int_from_arg(args, arg_num) {
                Some(w) => {
                    if w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                }
                None => out.push_str("%!(BADWIDTH)"),
            }
            arg_num += 1;
        } else {
            let (w, ni) = parse_num(bytes, i);
            if let Some(w) = w {
                spec.width = Some(w);
                if found && ni > i {
                    // "%[3]2d" is a bad index per Go.
                    good_arg_num = false;
                }
            }
            i = ni;
        }
        // Precision.
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            if found {
                // an index right before '.' is not allowed to be followed by precision digits
            }
            let (n, ni, ok, f2) = arg_index(format, i, arg_num, args.len());
            i = ni;
            if f2 {
                reordered = true;
                good_arg_num &= ok;
            }
            arg_num = n;
            if i < bytes.len() && bytes[i] == b'*' {
                i += 1;
                match int_from_arg(args, arg_num) {
                    Some(p) if p >= 0 => spec.prec = Some(p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                arg_num += 1;
            } else {
                let (p, ni) = parse_num(bytes, i);
                spec.prec = Some(p.unwrap_or(0));
                i = ni;
            }
        }
        if !found {
            let (n, ni, ok, f3) = arg_index(format, i, arg_num, args.len());
            i = ni;
            if f3 {
                reordered = true;
                good_arg_num &= ok;
            }
            arg_num = n;
        }
        if i >= bytes.len() {
            out.push_str("%!(NOVERB)");
            break;
        }
        let verb = match format[i..].chars().next() {
            Some(c) => c,
            None => break,
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
            continue;
        }
        if !good_arg_num {
            out.push_str("%!");
            out.push(verb);
            out.push_str("(BADINDEX)");
            continue;
        }
        if arg_num >= args.len() {
            out.push_str("%!");
            out.push(verb);
            out.push_str("(MISSING)");
            continue;
        }
        if verb == 'v' {
            if spec.sharp {
                spec.sharp = false;
                spec.sharp_v = true;
            }
            if spec.plus {
                spec.plus = false;
                spec.plus_v = true;
            }
        }
        print_arg(&mut out, &args[arg_num], verb, &spec, 0);
        arg_num += 1;
    }
    if !reordered && arg_num < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, arg) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if arg.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(&arg.type_name());
                out.push('=');
                print_arg(&mut out, arg, 'v', &Spec::default(), 0);
            }
        }
        out.push(')');
    }
    out
}

/// Parses `[n]` at `i`; returns (new arg number, new index, ok, found).
fn arg_index(format: &str, i: usize, arg_num: usize, nargs: usize) -> (usize, usize, bool, bool) {
    let bytes = format.as_bytes();
    if i >= bytes.len() || bytes[i] != b'[' {
        return (arg_num, i, true, false);
    }
    let Some(close) = format[i + 1..].find(']') else {
        // No closing bracket: Go skips to the end of the format's bracket scan.
        return (arg_num, bytes.len(), false, true);
    };
    let inner = &format[i + 1..i + 1 + close];
    let next = i + 1 + close + 1;
    match inner.parse::<usize>() {
        Ok(n) if n >= 1 && n <= nargs && inner.bytes().all(|b| b.is_ascii_digit()) => {
            (n - 1, next, true, true)
        }
        _ => (arg_num, next, false, true),
    }
}

fn parse_num(bytes: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let start = i;
    let mut n: usize = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        n = n
            .saturating_mul(10)
            .saturating_add(usize::from(bytes[i] - b'0'));
        if n > 1_000_000 {
            // Go treats absurd widths as bad; clamp to keep memory bounded.
            n = 1_000_000;
        }
        i += 1;
    }
    if i == start { (None, i) } else { (Some(n), i) }
}

fn int_from_arg(args: &[Value], n: usize) -> Option<i64> {
    let v = match args.get(n)? {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => i64::try_from(*u).ok()?,
        _ => return None,
    };
    if !(-1_000_000..=1_000_000).contains(&v) {
        return None;
    }
    Some(v)
}

/// Flags, width and precision of one verb.
#[derive(Clone, Debug, Default)]
pub(crate) struct Spec {
    pub minus: bool,
    pub plus: bool,
    pub sharp: bool,
    pub space: bool,
    pub zero: bool,
    pub plus_v: bool,
    pub sharp_v: bool,
    pub width: Option<usize>,
    pub prec: Option<usize>,
}

fn pad(out: &mut String, s: &str, spec: &Spec) {
    let Some(width) = spec.width else {
        out.push_str(s);
        return;
    };
    let n = s.chars().count();
    if n >= width {
        out.push_str(s);
        return;
    }
    let fill = width - n;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        let c = if spec.zero { '0' } else { ' ' };
        out.extend(std::iter::repeat_n(c, fill));
        out.push_str(s);
    }
}

fn pad_spaces(out: &mut String, s: &str, spec: &Spec) {
    let mut sp = spec.clone();
    sp.zero = false;
    pad(out, s, &sp);
}

fn bad_verb(out: &mut String, arg: &Value, verb: char, spec: &Spec) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if arg.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(&arg.type_name());
        out.push('=');
        let mut sp = spec.clone();
        sp.sharp_v = false;
        sp.plus_v = false;
        print_arg(out, arg, 'v', &sp, 1);
    }
    out.push(')');
}

/// How deeply nested maps and slices are printed.
const MAX_PRINT_DEPTH: usize = 200;

/// Prints one operand with a verb.
pub(crate) fn print_arg(out: &mut String, arg: &Value, verb: char, spec: &Spec, depth: usize) {
    // A map that (through `set`) contains itself would otherwise print forever.
    if depth > MAX_PRINT_DEPTH {
        out.push_str("<max depth>");
        return;
    }
    if verb == 'T' {
        pad_spaces(out, &arg.type_name(), spec);
        return;
    }
    match arg {
        Value::Nil => match verb {
            'v' => {
                if spec.sharp_v && depth > 0 {
                    pad_spaces(out, "interface {}(nil)", spec);
                } else {
                    pad_spaces(out, "<nil>", spec);
                }
            }
            _ if depth > 0 => pad_spaces(out, "<nil>", spec),
            _ => bad_verb(out, arg, verb, spec),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad_spaces(out, if *b { "true" } else { "false" }, spec),
            _ => bad_verb(out, arg, verb, spec),
        },
        Value::Int(i) | Value::Int64(i) => {
            fmt_integer_verb(out, arg, i.unsigned_abs(), *i < 0, false, verb, spec)
        }
        Value::Uint64(u) => fmt_integer_verb(out, arg, *u, false, true, verb, spec),
        Value::Float64(x) => fmt_float_verb(out, arg, *x, verb, spec),
        Value::String(s) => fmt_string_verb(out, arg, s, verb, spec),
        Value::List(items) => {
            if spec.sharp_v {
                out.push_str("[]interface {}{");
                for (k, it) in items.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    print_arg(out, it, verb, spec, depth + 1);
                }
                out.push('}');
                return;
            }
            out.push('[');
            for (k, it) in items.iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                print_arg(out, it, verb, spec, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            if spec.sharp_v {
                out.push_str("map[string]interface {}{");
                for (k, (key, v)) in m.entries().iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    print_arg(out, &Value::string(key.as_str()), verb, spec, depth + 1);
                    out.push(':');
                    print_arg(out, v, verb, spec, depth + 1);
                }
                out.push('}');
                return;
            }
            out.push_str("map[");
            for (k, (key, v)) in m.entries().iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                print_arg(out, &Value::string(key.as_str()), verb, spec, depth + 1);
                out.push(':');
                print_arg(out, v, verb, spec, depth + 1);
            }
            out.push(']');
        }
        Value::Object(o) => match verb {
            'v' | 's' => pad_spaces(out, &o.display(), spec),
            _ => bad_verb(out, arg, verb, spec),
        },
        Value::Func(_) => match verb {
            'v' | 'p' => pad_spaces(out, "0xc000010000", spec),
            _ => bad_verb(out, arg, verb, spec),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(format: &str, args: &[Value]) -> String {
        sprintf(format, args)
    }

    #[test]
    fn floats_follow_go_shortest_g() {
        let cases = [
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1.5, "1.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789.0, "1.23456789e+08"),
            (0.0, "0"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (100.0, "100"),
        ];
        for (x, want) in cases {
            assert_eq!(f("%v", &[Value::Float64(x)]), want, "{x}");
        }
    }

    #[test]
    fn float_precision_verbs() {
        assert_eq!(f("%.2f", &[Value::Float64(1.23456)]), "1.23");
        assert_eq!(f("%e", &[Value::Float64(1234.5678)]), "1.234568e+03");
        assert_eq!(f("%.3g", &[Value::Float64(1234.5678)]), "1.23e+03");
        assert_eq!(f("%.3g", &[Value::Float64(100.0)]), "100");
        assert_eq!(f("%g", &[Value::Float64(0.5)]), "0.5");
        assert_eq!(f("%8.2f|", &[Value::Float64(-1.5)]), "   -1.50|");
        assert_eq!(f("%08.2f", &[Value::Float64(-1.5)]), "-0001.50");
        assert_eq!(f("%+.1f", &[Value::Float64(2.0)]), "+2.0");
        assert_eq!(f("%.2f", &[Value::Float64(0.125)]), "0.12");
        assert_eq!(f("%G", &[Value::Float64(1e-7)]), "1E-07");
    }

    #[test]
    fn infinities_and_nan() {
        assert_eq!(
            f(
                "%f %v %+v",
                &[
                    Value::Float64(f64::INFINITY),
                    Value::Float64(f64::INFINITY),
                    Value::Float64(f64::NEG_INFINITY)
                ]
            ),
            "+Inf +Inf -Inf"
        );
        assert_eq!(
            f(
                "%v %+f %05v|",
                &[
                    Value::Float64(f64::NAN),
                    Value::Float64(f64::NAN),
                    Value::Float64(f64::NAN)
                ]
            ),
            "NaN +NaN   NaN|"
        );
    }

    #[test]
    fn integers() {
        assert_eq!(
            f(
                "%5d|%-5d|%05d",
                &[Value::Int(42), Value::Int(42), Value::Int(-42)]
            ),
            "   42|42   |-0042"
        );
        assert_eq!(
            f(
                "%x %X %#x %o %#o %O %b",
                &[
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(8),
                    Value::Int(8),
                    Value::Int(5)
                ]
            ),
            "ff FF 0xff 10 010 0o10 101"
        );
        assert_eq!(
            f(
                "%+d % d %.3d",
                &[Value::Int(5), Value::Int(5), Value::Int(7)]
            ),
            "+5  5 007"
        );
        assert_eq!(
            f(
                "%c %q %U %#U",
                &[
                    Value::Int(65),
                    Value::Int(65),
                    Value::Int(65),
                    Value::Int(65)
                ]
            ),
            "A 'A' U+0041 U+0041 'A'"
        );
    }

    #[test]
    fn errors_markers() {
        assert_eq!(f("%d", &[Value::string("x")]), "%!d(string=x)");
        assert_eq!(f("%d %d", &[Value::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(f("%d", &[Value::Int(1), Value::Int(2)]), "1%!(EXTRA int=2)");
        assert_eq!(f("%s", &[Value::Nil]), "%!s(<nil>)");
        assert_eq!(f("%z", &[Value::Int(1)]), "%!z(int=1)");
        assert_eq!(f("%", &[]), "%!(NOVERB)");
        assert_eq!(f("%[2]d %[1]d", &[Value::Int(1), Value::Int(2)]), "2 1");
        assert_eq!(f("%[3]d", &[Value::Int(1)]), "%!d(BADINDEX)");
        assert_eq!(f("%*d|", &[Value::Int(4), Value::Int(1)]), "   1|");
        assert_eq!(f("%*d|", &[Value::Int(-4), Value::Int(1)]), "1   |");
    }

    #[test]
    fn strings_and_composites() {
        assert_eq!(f("%q", &[Value::string("a\"b\n")]), "\"a\\\"b\\n\"");
        assert_eq!(
            f(
                "%x % x %#x",
                &[
                    Value::string("hi"),
                    Value::string("hi"),
                    Value::string("hi")
                ]
            ),
            "6869 68 69 0x6869"
        );
        assert_eq!(
            f(
                "%.2s|%5s|%-5s|",
                &[
                    Value::string("hello"),
                    Value::string("ab"),
                    Value::string("ab")
                ]
            ),
            "he|   ab|ab   |"
        );
        let m = Value::map([("b", Value::Int(2)), ("a", Value::Int(1))]);
        assert_eq!(f("%v", std::slice::from_ref(&m)), "map[a:1 b:2]");
        assert_eq!(f("%#v", &[m]), "map[string]interface {}{\"a\":1, \"b\":2}");
        let l = Value::list([Value::Int(1), Value::string("a"), Value::Nil]);
        assert_eq!(f("%v", std::slice::from_ref(&l)), "[1 a <nil>]");
        assert_eq!(
            f("%#v", std::slice::from_ref(&l)),
            "[]interface {}{1, \"a\", interface {}(nil)}"
        );
        assert_eq!(f("%d", &[l]), "[1 %!d(string=a) <nil>]");
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(
            sprint(&[
                Value::Int(1),
                Value::Int(2),
                Value::string("a"),
                Value::Int(3)
            ]),
            "1 2a3"
        );
        assert_eq!(sprintln(&[Value::Int(1), Value::string("a")]), "1 a\n");
    }
}
