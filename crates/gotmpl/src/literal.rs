//! Go literal syntax: quoted strings, character constants and numbers
//! (`0x1F`, `0o17`, `0b101`, `1_000`, `1e3`, `0x1p-2`), as `strconv` reads them.

use crate::ast::Number;

/// Reads one (possibly escaped) character from `s` inside a literal quoted with `quote`.
/// Returns the character (or byte for `\x`/octal escapes) and the rest.
fn unquote_char(s: &str, quote: char) -> Option<(UnquotedChar, &str)> {
    let mut it = s.chars();
    let c = it.next()?;
    if c == quote && (quote == '\'' || quote == '"') {
        return None;
    }
    if c != '\\' {
        return Some((UnquotedChar::Char(c), it.as_str()));
    }
    let e = it.next()?;
    let rest = it.as_str();
    let simple = match e {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return None;
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Some((UnquotedChar::Char(c), rest));
    }
    match e {
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = rest.get(..n)?;
            let v = u32::from_str_radix(hex, 16).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let rest = &rest[n..];
            if e == 'x' {
                return Some((UnquotedChar::Byte(v as u8), rest));
            }
            Some((UnquotedChar::Char(char::from_u32(v)?), rest))
        }
        '0'..='7' => {
            let oct = s.get(1..4)?;
            if !oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return None;
            }
            let v = u32::from_str_radix(oct, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((UnquotedChar::Byte(v as u8), &s[4..]))
        }
        _ => None,
    }
}

enum UnquotedChar {
    Char(char),
    Byte(u8),
}

/// Go's `strconv.Unquote` for `"..."` and `` `...` `` literals.
pub(crate) fn unquote(lit: &str) -> Option<String> {
    if lit.len() >= 2 && lit.starts_with('`') && lit.ends_with('`') {
        return Some(lit[1..lit.len() - 1].replace('\r', ""));
    }
    if lit.len() < 2 || !lit.starts_with('"') || !lit.ends_with('"') {
        return None;
    }
    let mut s = &lit[1..lit.len() - 1];
    let mut bytes: Vec<u8> = Vec::with_capacity(s.len());
    while !s.is_empty() {
        let (c, rest) = unquote_char(s, '"')?;
        match c {
            UnquotedChar::Char(c) => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            UnquotedChar::Byte(b) => bytes.push(b),
        }
        s = rest;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Parses a number token the way Go's template parser does; the error is Go's message.
pub(crate) fn parse_number(text: &str, is_char: bool) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        uint: None,
        float: None,
        is_complex: false,
    };
    if is_char {
        let inner = &text[1..];
        let (c, tail) = unquote_char(inner, '\'').ok_or_else(|| "invalid syntax".to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let v = match c {
            UnquotedChar::Char(c) => c as u32,
            UnquotedChar::Byte(b) => u32::from(b),
        };
        n.int = Some(i64::from(v));
        n.uint = Some(u64::from(v));
        n.float = Some(f64::from(v));
        return Ok(n);
    }
    if text.ends_with('i') {
        n.is_complex = true;
        return Ok(n);
    }
    let u = parse_uint(text);
    if let Some(u) = u {
        n.uint = Some(u);
    }
    if let Some(i) = parse_int(text) {
        n.int = Some(i);
        if i == 0 {
            n.uint = Some(0);
        }
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {text}"));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            crate::gofmt::quote(text)
        ));
    }
    Ok(n)
}

/// Splits a base prefix and checks Go's underscore rules; returns (radix, digits without underscores).
fn split_base(s: &str) -> Option<(u32, String)> {
    let (radix, body, prefixed) =
        if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            (16, r, true)
        } else if let Some(r) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
            (8, r, true)
        } else if let Some(r) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
            (2, r, true)
        } else if s.len() > 1 && s.starts_with('0') {
            (8, &s[1..], true)
        } else {
            (10, s, false)
        };
    if body.is_empty() {
        return None;
    }
    if !underscores_ok(body, prefixed) {
        return None;
    }
    Some((radix, body.replace('_', "")))
}

fn underscores_ok(body: &str, prefixed: bool) -> bool {
    let b = body.as_bytes();
    if b.last() == Some(&b'_') {
        return false;
    }
    if b.first() == Some(&b'_') && !prefixed {
        return false;
    }
    !body.contains("__")
}

fn parse_uint(s: &str) -> Option<u64> {
    let (radix, digits) = split_base(s)?;
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(&digits, radix).ok()
}

fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint(body)?;
    if neg {
        if u <= 1u64 << 63 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

fn parse_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        parse_hex_float(h)?
    } else {
        if !underscores_ok(body, false) || body.contains("_.") || body.contains("._") {
            return None;
        }
        let clean = body.replace('_', "");
        if !clean
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        clean.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn parse_hex_float(h: &str) -> Option<f64> {
    let clean = h.replace('_', "");
    let (mant, exp) = clean.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let shift = exp - 4 * i32::try_from(frac_part.len()).ok()?;
    Some(v * 2f64.powi(shift))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let n = parse_number("0x1F", false).unwrap();
        assert_eq!(n.int, Some(31));
        assert_eq!(parse_number("0o17", false).unwrap().int, Some(15));
        assert_eq!(parse_number("017", false).unwrap().int, Some(15));
        assert_eq!(parse_number("0b101", false).unwrap().int, Some(5));
        assert_eq!(parse_number("1_000", false).unwrap().int, Some(1000));
        assert_eq!(parse_number("1e3", false).unwrap().float, Some(1000.0));
        assert_eq!(parse_number("0x1p-2", false).unwrap().float, Some(0.25));
        assert_eq!(parse_number("-7", false).unwrap().int, Some(-7));
        assert_eq!(parse_number("'a'", true).unwrap().int, Some(97));
        assert_eq!(parse_number("'\\n'", true).unwrap().int, Some(10));
        assert!(
            parse_number("99999999999999999999", false)
                .unwrap_err()
                .contains("integer overflow")
        );
        assert!(
            parse_number("18446744073709551615", false)
                .unwrap()
                .int
                .is_none()
        );
        assert!(parse_number("1__0", false).is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(
            unquote("\"a\\tb\\x41\\u00e9\\101\"").as_deref(),
            Some("a\tbAéA")
        );
        assert_eq!(unquote("`a\\n`").as_deref(), Some("a\\n"));
        assert_eq!(unquote("\"\\q\""), None);
        assert_eq!(unquote("\"\\'\""), None);
    }
}
