//! The builtin functions of Go templates: `and or not len index slice print
//! printf println html js urlquery eq ne lt le gt ge call`.
//! (`and` and `or` short-circuit and live in the executor.)

use crate::func::FuncError;
use crate::gofmt;
use crate::value::Value;

const BUILTINS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

/// Whether `name` is a builtin function.
pub(crate) fn is_builtin(name: &str) -> bool {
    BUILTINS.contains(&name)
}

/// The arity of a builtin: (minimum, maximum).
pub(crate) fn arity(name: &str) -> (usize, Option<usize>) {
    match name {
        "and" | "or" | "index" | "slice" | "printf" | "eq" | "call" => (1, None),
        "not" | "len" => (1, Some(1)),
        "lt" | "le" | "gt" | "ge" | "ne" => (2, Some(2)),
        _ => (0, None),
    }
}

fn fail(msg: impl Into<String>) -> FuncError {
    FuncError::Failed(msg.into())
}

/// Calls a builtin other than `and`/`or`. `callee` is the text of the first
/// argument node, for `call`'s error messages.
pub(crate) fn call_builtin(name: &str, args: &[Value], callee: &str) -> Result<Value, FuncError> {
    match name {
        "not" => Ok(Value::Bool(!args[0].is_true())),
        "len" => len(&args[0]),
        "index" => index(&args[0], &args[1..]),
        "slice" => slice(&args[0], &args[1..]),
        "print" => Ok(Value::string(gofmt::sprint(args))),
        "println" => Ok(Value::string(gofmt::sprintln(args))),
        "printf" => match &args[0] {
            Value::String(f) => Ok(Value::string(gofmt::sprintf(f, &args[1..]))),
            Value::Nil => Err(FuncError::Invalid {
                expected: "string".into(),
            }),
            other => Err(FuncError::WrongType {
                expected: "string".into(),
                got: other.type_name(),
            }),
        },
        "html" => Ok(Value::string(html_escape(&eval_args(args)))),
        "js" => Ok(Value::string(js_escape(&eval_args(args)))),
        "urlquery" => Ok(Value::string(query_escape(&eval_args(args)))),
        "eq" => eq(&args[0], &args[1..]).map(Value::Bool),
        "ne" => eq(&args[0], &args[1..2]).map(|b| Value::Bool(!b)),
        "lt" => lt(&args[0], &args[1]).map(Value::Bool),
        "le" => le(&args[0], &args[1]).map(Value::Bool),
        "gt" => le(&args[0], &args[1]).map(|b| Value::Bool(!b)),
        "ge" => lt(&args[0], &args[1]).map(|b| Value::Bool(!b)),
        "call" => call(&args[0], &args[1..], callee),
        _ => Err(fail(format!("unknown builtin {name}"))),
    }
}

/// Go's `evalArgs`: a lone string as is, otherwise `fmt.Sprint` with nil as `<no value>`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| {
            if a.is_nil() {
                Value::string("<no value>")
            } else {
                a.clone()
            }
        })
        .collect();
    gofmt::sprint(&printable)
}

fn len(v: &Value) -> Result<Value, FuncError> {
    let n = match v {
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::Object(o) if o.map_entries().is_some() => {
            o.map_entries().map(|e| e.len()).unwrap_or_default()
        }
        Value::Nil => return Err(fail("len of nil pointer")),
        other => return Err(fail(format!("len of type {}", other.type_name()))),
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

fn index_arg(idx: &Value, cap: usize) -> Result<usize, FuncError> {
    let x: i128 = match idx {
        Value::Int(i) | Value::Int64(i) => i128::from(*i),
        Value::Uint64(u) => i128::from(*u),
        Value::Nil => return Err(fail("cannot index slice/array with nil")),
        other => {
            return Err(fail(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )));
        }
    };
    if x < 0 || x > cap as i128 {
        return Err(fail(format!("index out of range: {x}")));
    }
    Ok(x as usize)
}

fn index(item: &Value, idxs: &[Value]) -> Result<Value, FuncError> {
    if item.is_nil() {
        return Err(fail("index of untyped nil"));
    }
    let mut cur = item.clone();
    for idx in idxs {
        cur = match &cur {
            Value::Nil => return Err(fail("index of nil pointer")),
            Value::List(l) => {
                let x = index_arg(idx, l.len())?;
                match l.get(x) {
                    Some(v) => v.clone(),
                    None => return Err(fail(format!("index out of range: {x}"))),
                }
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Int(i64::from(*b)),
                    None => return Err(fail(format!("index out of range: {x}"))),
                }
            }
            Value::Map(m) => match idx {
                Value::String(k) => m.get(k).unwrap_or(Value::Nil),
                Value::Nil => return Err(fail("value is nil; should be of type string")),
                other => {
                    return Err(fail(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    )));
                }
            },
            other => {
                return Err(fail(format!(
                    "can't index item of type {}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(cur)
}

fn slice(item: &Value, idxs: &[Value]) -> Result<Value, FuncError> {
    if item.is_nil() {
        return Err(fail("slice of untyped nil"));
    }
    if idxs.len() > 3 {
        return Err(fail(format!("too many slice indexes: {}", idxs.len())));
    }
    let cap = match item {
        Value::String(s) => {
            if idxs.len() == 3 {
                return Err(fail("cannot 3-index slice a string"));
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => {
            return Err(fail(format!(
                "can't slice item of type {}",
                other.type_name()
            )));
        }
    };
    let mut bounds = [0, cap, cap];
    for (k, idx) in idxs.iter().enumerate() {
        bounds[k] = index_arg(idx, cap)?;
    }
    if bounds[0] > bounds[1] {
        return Err(fail(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        )));
    }
    if idxs.len() == 3 && bounds[1] > bounds[2] {
        return Err(fail(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        )));
    }
    Ok(match item {
        Value::String(s) => {
            Value::string(String::from_utf8_lossy(&s.as_bytes()[bounds[0]..bounds[1]]).into_owned())
        }
        Value::List(l) => Value::list(l[bounds[0]..bounds[1]].iter().cloned()),
        _ => Value::Nil,
    })
}

fn call(f: &Value, args: &[Value], callee: &str) -> Result<Value, FuncError> {
    match f {
        Value::Func(f) => f(args),
        Value::Nil => Err(fail("call of nil")),
        other => Err(fail(format!(
            "non-function {callee} of type {}",
            other.type_name()
        ))),
    }
}

#[derive(PartialEq)]
enum Basic<'a> {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a str),
}

fn basic(v: &Value) -> Option<Basic<'_>> {
    Some(match v {
        Value::Bool(b) => Basic::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Basic::Int(*i),
        Value::Uint64(u) => Basic::Uint(*u),
        Value::Float64(x) => Basic::Float(*x),
        Value::String(s) => Basic::Str(s),
        _ => return None,
    })
}

const INCOMPATIBLE: &str = "incompatible types for comparison";
const INVALID_TYPE: &str = "invalid type for comparison";

fn eq(a: &Value, rest: &[Value]) -> Result<bool, FuncError> {
    if rest.is_empty() {
        return Err(fail("missing argument for comparison"));
    }
    for b in rest {
        let truth = match (basic(a), basic(b)) {
            (Some(x), Some(y)) => match (x, y) {
                (Basic::Bool(x), Basic::Bool(y)) => x == y,
                (Basic::Int(x), Basic::Int(y)) => x == y,
                (Basic::Uint(x), Basic::Uint(y)) => x == y,
                (Basic::Float(x), Basic::Float(y)) => x == y,
                (Basic::Str(x), Basic::Str(y)) => x == y,
                (Basic::Int(x), Basic::Uint(y)) | (Basic::Uint(y), Basic::Int(x)) => {
                    x >= 0 && x as u64 == y
                }
                _ => return Err(fail(INCOMPATIBLE)),
            },
            (Some(_), None) | (None, Some(_)) => {
                if a.is_nil() || b.is_nil() {
                    false
                } else {
                    return Err(fail(INCOMPATIBLE));
                }
            }
            (None, None) => {
                if a.is_nil() || b.is_nil() {
                    a.is_nil() && b.is_nil()
                } else {
                    match (a, b) {
                        (Value::Object(x), Value::Object(y)) => std::sync::Arc::ptr_eq(x, y),
                        (Value::List(_), Value::List(_))
                        | (Value::Map(_), Value::Map(_))
                        | (Value::Func(_), Value::Func(_)) => {
                            let shown = gofmt::sprintf("%s", std::slice::from_ref(b));
                            return Err(fail(format!(
                                "non-comparable type {shown}: {}",
                                b.type_name()
                            )));
                        }
                        _ => {
                            return Err(fail(format!(
                                "non-comparable types {}: {}, {}: {}",
                                gofmt::sprintf("%s", std::slice::from_ref(a)),
                                a.type_name(),
                                b.type_name(),
                                b
                            )));
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let x = basic(a).ok_or_else(|| fail(INVALID_TYPE))?;
    let y = basic(b).ok_or_else(|| fail(INVALID_TYPE))?;
    Ok(match (x, y) {
        (Basic::Bool(_), Basic::Bool(_)) => return Err(fail(INVALID_TYPE)),
        (Basic::Int(x), Basic::Int(y)) => x < y,
        (Basic::Uint(x), Basic::Uint(y)) => x < y,
        (Basic::Float(x), Basic::Float(y)) => x < y,
        (Basic::Str(x), Basic::Str(y)) => x < y,
        (Basic::Int(x), Basic::Uint(y)) => x < 0 || (x as u64) < y,
        (Basic::Uint(x), Basic::Int(y)) => y >= 0 && x < y as u64,
        _ => return Err(fail(INCOMPATIBLE)),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, FuncError> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '`' => out.push_str("\\u0060"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            c if gofmt::is_print(c) => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04X}", unit));
                }
            }
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
