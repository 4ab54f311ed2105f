//! Helpers shared by the integration tests: fixtures and JSON edits.

#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;

/// Loads `testdata/<name>.yaml` as JSON.
pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The value at a JSON pointer, mutably; panics when absent (a broken test).
pub fn at<'a>(v: &'a mut Value, pointer: &str) -> &'a mut Value {
    v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no value at {pointer}"))
}

/// Sets the value at a JSON pointer whose parent exists.
pub fn set(v: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    let key = key.replace("~1", "/").replace("~0", "~");
    match at(v, parent) {
        Value::Object(m) => {
            m.insert(key, value);
        }
        Value::Array(a) => {
            let i: usize = key.parse().expect("index");
            a[i] = value;
        }
        other => panic!("cannot set {pointer} in {other}"),
    }
}

/// Removes the value at a JSON pointer.
pub fn remove(v: &mut Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    let key = key.replace("~1", "/").replace("~0", "~");
    match at(v, parent) {
        Value::Object(m) => m.remove(&key).unwrap_or_else(|| panic!("no {pointer}")),
        Value::Array(a) => a.remove(key.parse().expect("index")),
        other => panic!("cannot remove {pointer} from {other}"),
    }
}

/// The triton Deployment pair: desired from Git, live as the server returns it.
pub fn deployment() -> (Value, Value) {
    (fixture("deployment-desired"), fixture("deployment-live"))
}

/// The container list pointer of the Deployment.
pub const CONTAINERS: &str = "/spec/template/spec/containers";
