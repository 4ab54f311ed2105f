//! Conversions between JSON data (what Helm's values are made of) and template
//! values, with Helm's number rules: every number read from YAML or JSON
//! becomes a Go `float64`, numbers produced by functions keep their Go type.

use ferrocd_gotmpl::{Map, Value};
use serde_json::Value as Json;

/// A JSON value as templates see it (`map[string]interface {}`, `[]interface {}`,
/// `float64`, `string`, `bool`, `nil`).
pub fn json_to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Float64(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::list(items.iter().map(json_to_value)),
        Json::Object(m) => Value::Map(Map::from_entries(
            m.iter().map(|(k, v)| (k.clone(), json_to_value(v))),
        )),
    }
}

/// Like [`json_to_value`], but integers keep an integer type (`int64`), as
/// values set with `--set` do.
pub fn json_to_value_typed(j: &Json) -> Value {
    match j {
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(0.0)),
        },
        Json::Array(items) => Value::list(items.iter().map(json_to_value_typed)),
        Json::Object(m) => Value::Map(Map::from_entries(
            m.iter().map(|(k, v)| (k.clone(), json_to_value_typed(v))),
        )),
        other => json_to_value(other),
    }
}

/// A template value as JSON data; objects and functions become `null`.
pub fn value_to_json(v: &Value) -> Json {
    value_to_json_depth(v, 0)
}

fn value_to_json_depth(v: &Value, depth: usize) -> Json {
    if depth > 200 {
        return Json::Null;
    }
    match v {
        Value::Nil | Value::Object(_) | Value::Func(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) | Value::Int64(i) => Json::from(*i),
        Value::Uint64(u) => Json::from(*u),
        Value::Float64(f) => float_json(*f),
        Value::String(s) => Json::String(s.to_string()),
        Value::List(l) => Json::Array(
            l.iter()
                .map(|x| value_to_json_depth(x, depth + 1))
                .collect(),
        ),
        Value::Map(m) => Json::Object(
            m.entries()
                .into_iter()
                .map(|(k, x)| (k, value_to_json_depth(&x, depth + 1)))
                .collect(),
        ),
    }
}

/// A float as JSON: integral values within the exact range as integers, as
/// Go's encoder prints them (`3`, not `3.0`).
fn float_json(f: f64) -> Json {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 {
        Json::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_float64_and_back() {
        let j: Json = serde_json::json!({"replicas": 3, "ratio": 0.5, "tags": ["a", null]});
        let v = json_to_value(&j);
        let m = v.as_map().unwrap();
        assert_eq!(m.get("replicas"), Some(Value::Float64(3.0)));
        assert_eq!(value_to_json(&v), j);
    }

    #[test]
    fn typed_keeps_integers() {
        let v = json_to_value_typed(&serde_json::json!({"n": 5, "f": 1.5}));
        let m = v.as_map().unwrap();
        assert_eq!(m.get("n"), Some(Value::Int64(5)));
        assert_eq!(m.get("f"), Some(Value::Float64(1.5)));
    }
}
