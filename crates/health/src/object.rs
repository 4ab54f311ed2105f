//! Reading the fields of a Kubernetes object in JSON form, tolerant of absent or
//! mistyped fields (live objects can be anything a user or a controller wrote).

use serde_json::Value;

/// The string at a JSON pointer, if it is a string.
pub(crate) fn str_at<'a>(obj: &'a Value, ptr: &str) -> Option<&'a str> {
    obj.pointer(ptr).and_then(Value::as_str)
}

/// The integer at a JSON pointer; numbers written as strings (`"3"`) are accepted.
pub(crate) fn int_at(obj: &Value, ptr: &str) -> Option<i64> {
    match obj.pointer(ptr)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The integer at a JSON pointer, or 0.
pub(crate) fn int_or_zero(obj: &Value, ptr: &str) -> i64 {
    int_at(obj, ptr).unwrap_or(0)
}

/// The boolean at a JSON pointer; `"true"` strings are accepted.
pub(crate) fn bool_at(obj: &Value, ptr: &str) -> bool {
    match obj.pointer(ptr) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The array at a JSON pointer, or an empty slice.
pub(crate) fn array_at<'a>(obj: &'a Value, ptr: &str) -> &'a [Value] {
    obj.pointer(ptr)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The object's name, or an empty string.
pub(crate) fn name(obj: &Value) -> &str {
    str_at(obj, "/metadata/name").unwrap_or("")
}

/// A standard status condition (`status.conditions[]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Condition<'a> {
    /// `status`: "True", "False" or "Unknown".
    pub status: &'a str,
    /// `reason`, or "".
    pub reason: &'a str,
    /// `message`, or "".
    pub message: &'a str,
}

impl Condition<'_> {
    pub(crate) fn is_true(&self) -> bool {
        self.status.eq_ignore_ascii_case("true")
    }

    pub(crate) fn is_false(&self) -> bool {
        self.status.eq_ignore_ascii_case("false")
    }
}

/// The condition of the given type in `status.conditions`, if present.
pub(crate) fn condition<'a>(obj: &'a Value, type_: &str) -> Option<Condition<'a>> {
    array_at(obj, "/status/conditions")
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
        .map(|c| Condition {
            status: c.get("status").and_then(Value::as_str).unwrap_or(""),
            reason: c.get("reason").and_then(Value::as_str).unwrap_or(""),
            message: c.get("message").and_then(Value::as_str).unwrap_or(""),
        })
}

/// Whether `metadata.generation` has been observed by the controller
/// (`status.observedGeneration >= metadata.generation`; absent generation counts as seen).
pub(crate) fn generation_observed(obj: &Value) -> bool {
    match int_at(obj, "/metadata/generation") {
        Some(generation) => int_or_zero(obj, "/status/observedGeneration") >= generation,
        None => true,
    }
}
