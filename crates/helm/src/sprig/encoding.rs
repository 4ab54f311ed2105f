//! Sprig encoding functions: base64, SHA-256 and `toJson` (Go `encoding/json` output).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferrocd_gotmpl::{FuncError, FuncMap, Value};
use sha2::{Digest, Sha256};

use super::args::string;

/// Go's `json.Marshal` of a template value (sorted keys, HTML-safe escaping).
/// Values JSON cannot hold (functions, objects) encode as `null`.
pub fn to_json(v: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, v, 0);
    out
}

fn write_json(out: &mut String, v: &Value, depth: usize) {
    if depth > 200 {
        out.push_str("null");
        return;
    }
    match v {
        Value::Nil | Value::Object(_) | Value::Func(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint64(u) => out.push_str(&u.to_string()),
        Value::Float64(f) => out.push_str(&json_float(*f)),
        Value::String(s) => json_string(out, s),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, x, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.entries().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k);
                out.push(':');
                write_json(out, x, depth + 1);
            }
            out.push('}');
        }
    }
}

/// `encoding/json`'s float format: plain decimal, exponent form below 1e-6 or from 1e21.
pub(crate) fn json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        format!("{mant}e{sign}{digits}")
    } else {
        format!("{f}")
    }
}

fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Registers the encoding functions.
pub(crate) fn register(f: &mut FuncMap) {
    f.insert("b64enc", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(STANDARD.encode(string(&a[0])?)))
    });
    f.insert("b64dec", |a| {
        FuncError::check_arity(a, 1)?;
        // Sprig returns the decoding error's text instead of failing.
        Ok(Value::from(match STANDARD.decode(string(&a[0])?) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => e.to_string(),
        }))
    });
    f.insert("sha256sum", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(hex::encode(Sha256::digest(
            string(&a[0])?.as_bytes(),
        ))))
    });
    f.insert("sha1sum", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(hex::encode(sha1::Sha1::digest(
            string(&a[0])?.as_bytes(),
        ))))
    });
    f.insert("sha512sum", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(hex::encode(sha2::Sha512::digest(
            string(&a[0])?.as_bytes(),
        ))))
    });
    f.insert("adler32sum", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(adler32(string(&a[0])?.as_bytes()).to_string()))
    });
    f.insert("b32enc", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(base32_encode(string(&a[0])?.as_bytes())))
    });
    f.insert("b32dec", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(match base32_decode(string(&a[0])?) {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => "illegal base32 data".to_string(),
        }))
    });
    f.insert("toPrettyJson", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(indent_json(&to_json(&a[0]))))
    });
    f.insert("mustToPrettyJson", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(indent_json(&to_json(&a[0]))))
    });
    f.insert("mustToJson", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(to_json(&a[0])))
    });
    f.insert("mustToRawJson", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(raw_json(&a[0])))
    });
    f.insert("mustFromJson", |a| {
        FuncError::check_arity(a, 1)?;
        let json: serde_json::Value =
            serde_json::from_str(string(&a[0])?).map_err(|e| FuncError::msg(e.to_string()))?;
        Ok(crate::convert::json_to_value(&json))
    });
    f.insert("toJson", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(to_json(&a[0])))
    });
    f.insert("toRawJson", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(raw_json(&a[0])))
    });
}

fn raw_json(v: &Value) -> String {
    to_json(v)
        .replace("\\u003c", "<")
        .replace("\\u003e", ">")
        .replace("\\u0026", "&")
}

/// Adler-32 checksum (RFC 1950).
fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Standard base32 (RFC 4648) with `=` padding.
fn base32_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(B32[((bits >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::new();
    let (mut acc, mut nbits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = B32.iter().position(|&x| x == c)? as u32;
        acc = (acc << 5) | v;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
            acc &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

/// Go's `json.MarshalIndent(v, "", "  ")` layout applied to compact JSON.
fn indent_json(compact: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut in_str = false;
    let mut escaped = false;
    let chars: Vec<char> = compact.chars().collect();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                if chars.get(i + 1) == Some(&close) {
                    out.push(c);
                    out.push(close);
                    i += 2;
                    continue;
                }
                out.push(c);
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_floats_like_go() {
        assert_eq!(json_float(3.0), "3");
        assert_eq!(json_float(1.5), "1.5");
        assert_eq!(json_float(1e6), "1000000");
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1.5e-7), "1.5e-7");
        assert_eq!(json_float(0.000001), "0.000001");
    }

    #[test]
    fn base32_round_trips() {
        for s in ["", "g", "gp", "gpu", "gpu-", "gpu-node", "mlflow tracking"] {
            let enc = base32_encode(s.as_bytes());
            assert_eq!(enc.len() % 8, 0);
            assert_eq!(base32_decode(&enc).as_deref(), Some(s.as_bytes()));
        }
        assert_eq!(base32_encode(b"gpu-node"), "M5YHKLLON5SGK===");
    }

    #[test]
    fn pretty_json_keeps_empty_containers() {
        assert_eq!(
            indent_json(r#"{"a":[],"b":{"c":"x,:{"}}"#),
            "{\n  \"a\": [],\n  \"b\": {\n    \"c\": \"x,:{\"\n  }\n}"
        );
    }

    #[test]
    fn json_escapes_html() {
        let v = Value::map([("a", Value::from("<b>&\"")), ("n", Value::Nil)]);
        assert_eq!(to_json(&v), r#"{"a":"\u003cb\u003e\u0026\"","n":null}"#);
    }
}
