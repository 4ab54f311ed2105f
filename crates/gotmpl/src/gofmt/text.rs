//! String verbs (`%s %q %x %X %v`) and Go's quoting (`strconv.Quote`).

use super::{Spec, bad_verb, pad};
use crate::value::Value;

pub(super) fn fmt_string_verb(out: &mut String, arg: &Value, s: &str, verb: char, spec: &Spec) {
    let truncated: &str = match spec.prec {
        Some(p) => match s.char_indices().nth(p) {
            Some((idx, _)) => &s[..idx],
            None => s,
        },
        None => s,
    };
    match verb {
        'v' if spec.sharp_v => {
            let mut q = String::new();
            quote_string(&mut q, s, false);
            pad(out, &q, spec);
        }
        'v' | 's' => pad(out, truncated, spec),
        'q' => {
            let mut q = String::new();
            if spec.sharp && can_backquote(truncated) {
                q.push('`');
                q.push_str(truncated);
                q.push('`');
            } else {
                quote_string(&mut q, truncated, spec.plus);
            }
            pad(out, &q, spec);
        }
        'x' | 'X' => {
            let bytes: &[u8] = match spec.prec {
                Some(p) => &s.as_bytes()[..p.min(s.len())],
                None => s.as_bytes(),
            };
            let mut h = String::new();
            for (k, b) in bytes.iter().enumerate() {
                if spec.space && k > 0 {
                    h.push(' ');
                }
                if spec.sharp && (spec.space || k == 0) {
                    h.push_str(if verb == 'X' { "0X" } else { "0x" });
                }
                if verb == 'X' {
                    h.push_str(&format!("{b:02X}"));
                } else {
                    h.push_str(&format!("{b:02x}"));
                }
            }
            pad(out, &h, spec);
        }
        _ => bad_verb(out, arg, verb, spec),
    }
}

fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\u{7f}')))
}

/// Go's `unicode.IsPrint`, approximated: graphic characters and the ASCII space.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x2028..=0x202E
        | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xFFFE | 0xFFFF
        | 0xF0000..=0x10FFFF | 0xE0001 | 0xE0020..=0xE007F)
}

fn escape_char(out: &mut String, c: char, quote: char, ascii_only: bool) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x80 && is_print(c) => out.push(c),
        c if !ascii_only && is_print(c) => out.push(c),
        c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Go's `strconv.Quote` (or `QuoteToASCII` when `ascii_only`).
pub(super) fn quote_string(out: &mut String, s: &str, ascii_only: bool) {
    out.push('"');
    for c in s.chars() {
        escape_char(out, c, '"', ascii_only);
    }
    out.push('"');
}

pub(super) fn quote_rune(out: &mut String, c: char, ascii_only: bool) {
    out.push('\'');
    escape_char(out, c, '\'', ascii_only);
    out.push('\'');
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_string(&mut out, s, false);
    out
}
