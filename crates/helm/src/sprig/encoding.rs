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
    f.insert("toJson", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(to_json(&a[0])))
    });
    f.insert("toRawJson", |a| {
        FuncError::check_arity(a, 1)?;
        let html_safe = to_json(&a[0]);
        Ok(Value::from(
            html_safe
                .replace("\\u003c", "<")
                .replace("\\u003e", ">")
                .replace("\\u0026", "&"),
        ))
    });
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
    fn json_escapes_html() {
        let v = Value::map([("a", Value::from("<b>&\"")), ("n", Value::Nil)]);
        assert_eq!(to_json(&v), r#"{"a":"\u003cb\u003e\u0026\"","n":null}"#);
    }
}
