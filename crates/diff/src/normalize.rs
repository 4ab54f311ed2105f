//! Normalization of desired and live objects before they are compared: what the server
//! writes (status, uid, resourceVersion, generation, creationTimestamp, managedFields,
//! selfLink, the kubectl last-applied annotation) is removed, `null`s are removed from
//! desired (they mean "absent"), a Secret's `stringData` is folded into `data`, and a
//! Service's allocated `clusterIP`/`clusterIPs` are dropped unless desired asks for a
//! specific address.

use base64::Engine;
use serde_json::{Map, Value};

/// The kubectl client-side apply annotation.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Metadata fields written by the server.
const SERVER_METADATA: [&str; 8] = [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// Normalizes a desired object.
pub(crate) fn desired(obj: &mut Value) {
    remove_nulls(obj);
    common(obj);
}

/// Normalizes a live object.
pub(crate) fn live(obj: &mut Value) {
    common(obj);
}

fn common(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let kind = map
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let api_version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let core = !api_version.contains('/');
    if !(core && kind == "Secret") {
        // A Secret has no status; other kinds keep theirs only on the server's side.
        map.remove("status");
    }
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        for field in SERVER_METADATA {
            meta.remove(field);
        }
        if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
            annotations.remove(LAST_APPLIED);
            if annotations.is_empty() {
                meta.remove("annotations");
            }
        }
    }
    if core && kind == "Secret" {
        fold_string_data(map);
    }
}

/// Moves `stringData` into `data` (base64-encoded), as the API server does on write.
fn fold_string_data(secret: &mut Map<String, Value>) {
    let Some(Value::Object(string_data)) = secret.remove("stringData") else {
        return;
    };
    let data = secret
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Value::Object(data) = data {
        for (key, value) in string_data {
            let text = match value {
                Value::String(s) => s,
                Value::Null => continue,
                other => other.to_string(),
            };
            let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            data.insert(key, Value::String(encoded));
        }
    }
}

/// Drops a Service's server-allocated cluster IPs from both sides unless desired pins one.
pub(crate) fn service_cluster_ips(desired: &mut Value, live: &mut Value) {
    let is_service = |v: &Value| {
        v.get("kind").and_then(Value::as_str) == Some("Service")
            && !v
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .contains('/')
    };
    if !is_service(desired) || !is_service(live) {
        return;
    }
    for field in ["clusterIP", "clusterIPs"] {
        let pinned = desired
            .pointer(&format!("/spec/{field}"))
            .is_some_and(|v| match v {
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => a.iter().any(|x| x.as_str().is_some_and(|s| !s.is_empty())),
                _ => false,
            });
        if !pinned {
            for side in [&mut *desired, &mut *live] {
                if let Some(Value::Object(spec)) = side.get_mut("spec") {
                    spec.remove(field);
                }
            }
        }
    }
}

fn remove_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, child| !child.is_null());
            for child in map.values_mut() {
                remove_nulls(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(remove_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_data_is_folded() {
        let mut s = json!({"apiVersion": "v1", "kind": "Secret",
            "data": {"a": "eA=="}, "stringData": {"b": "hello", "a": "y"}});
        desired(&mut s);
        assert_eq!(
            s,
            json!({"apiVersion": "v1", "kind": "Secret",
            "data": {"a": "eQ==", "b": "aGVsbG8="}})
        );
    }

    #[test]
    fn server_fields_are_removed() {
        let mut d = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "c", "uid": "u", "resourceVersion": "1", "creationTimestamp": null,
            "annotations": {LAST_APPLIED: "{}"}}, "status": {"x": 1}});
        live(&mut d);
        assert_eq!(
            d,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        );
        let mut rendered = json!({"kind": "ConfigMap", "metadata": {"name": "c",
            "labels": null, "creationTimestamp": null}, "data": {"k": null, "j": "v"}});
        desired(&mut rendered);
        assert_eq!(
            rendered,
            json!({"kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"j": "v"}})
        );
    }
}
