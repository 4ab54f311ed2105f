//! Argument conversion with Go's rules for typed parameters and Sprig's
//! lenient conversions (`strval`, `toInt64`, `toFloat64`).

use ferrocd_gotmpl::{FuncError, Value, sprint};

/// A `string` parameter: only Go strings are accepted.
pub(crate) fn string(v: &Value) -> Result<&str, FuncError> {
    match v {
        Value::String(s) => Ok(s),
        Value::Nil => Err(FuncError::Invalid {
            expected: "string".into(),
        }),
        other => Err(FuncError::WrongType {
            expected: "string".into(),
            got: other.type_name(),
        }),
    }
}

/// An `int` parameter: only Go `int` values (and integer constants) are accepted.
pub(crate) fn int(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Nil => Err(FuncError::Invalid {
            expected: "int".into(),
        }),
        other => Err(FuncError::WrongType {
            expected: "int".into(),
            got: other.type_name(),
        }),
    }
}

/// A `bool` parameter.
pub(crate) fn boolean(v: &Value) -> Result<bool, FuncError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Nil => Err(FuncError::Invalid {
            expected: "bool".into(),
        }),
        other => Err(FuncError::WrongType {
            expected: "bool".into(),
            got: other.type_name(),
        }),
    }
}

/// Sprig's `strval`: strings as they are, anything else as `fmt.Sprintf("%v")`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        other => sprint(std::slice::from_ref(other)),
    }
}

/// Sprig's `toInt64` (via `cast`): numbers truncate, strings parse (base
/// prefixes allowed), booleans are 0/1, anything else is 0.
pub(crate) fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => *u as i64,
        Value::Float64(f) => {
            if f.is_finite() {
                *f as i64
            } else {
                i64::MIN
            }
        }
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => {
            parse_go_int(s.trim_end_matches(".0").trim_end_matches('.')).unwrap_or(0)
        }
        _ => 0,
    }
}

fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, h)
        } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, b)
        } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, o)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    let digits = digits.replace('_', "");
    let v = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// Sprig's `toFloat64` (via `cast`).
pub(crate) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Uint64(u) => *u as f64,
        Value::Float64(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`: nil, false, zero, and empty strings, lists and maps.
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i) | Value::Int64(i) => *i == 0,
        Value::Uint64(u) => *u == 0,
        Value::Float64(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Object(_) | Value::Func(_) => false,
    }
}

/// The elements of a list argument, or Sprig's error for other kinds.
pub(crate) fn list<'a>(v: &'a Value, func: &str) -> Result<&'a [Value], FuncError> {
    match v {
        Value::List(l) => Ok(l),
        other => Err(FuncError::msg(format!(
            "Cannot {func} on type {}",
            other.type_name()
        ))),
    }
}

/// Sprig's `strslice`: a list's elements as strings (nil elements dropped), or the value itself.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}
