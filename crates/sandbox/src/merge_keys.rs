//! Kubernetes list semantics for the lists that matter in practice: which lists are maps keyed
//! by some fields (containers by `name`, ports by `containerPort`/`protocol`, …), which are sets
//! of scalars (finalizers), and which are atomic (everything else). Used by server-side apply and
//! strategic merge patch. (The schema crate is meant to own this knowledge; this small table
//! keeps the sandbox self-contained.)

use serde_json::{Map, Value};

/// How a list is merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// A map keyed by these fields.
    Keyed(Vec<&'static str>),
    /// A set of scalars.
    Set,
    /// Replaced as a whole.
    Atomic,
}

/// The kind of the list stored under `field`, looking at its items when the field name alone
/// is ambiguous (container ports vs. service ports).
pub fn list_kind(field: &str, items: &[Value]) -> ListKind {
    let has = |k: &str| items.iter().any(|i| i.get(k).is_some());
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "secrets"
        | "resourceClaims" => ListKind::Keyed(vec!["name"]),
        "volumeMounts" => ListKind::Keyed(vec!["mountPath"]),
        "volumeDevices" => ListKind::Keyed(vec!["devicePath"]),
        "hostAliases" => ListKind::Keyed(vec!["ip"]),
        "ownerReferences" => ListKind::Keyed(vec!["uid"]),
        "conditions" => ListKind::Keyed(vec!["type"]),
        "topologySpreadConstraints" => ListKind::Keyed(vec!["topologyKey", "whenUnsatisfiable"]),
        "ports" if has("containerPort") => ListKind::Keyed(vec!["containerPort", "protocol"]),
        "ports" if has("port") => ListKind::Keyed(vec!["port", "protocol"]),
        "finalizers" => ListKind::Set,
        _ => ListKind::Atomic,
    }
}

/// The key object of one list item (with `protocol` defaulted to TCP as Kubernetes does).
pub fn item_key(keys: &[&str], item: &Value) -> Map<String, Value> {
    let mut m = Map::new();
    for k in keys {
        match item.get(*k) {
            Some(v) => {
                m.insert((*k).to_string(), v.clone());
            }
            None if *k == "protocol" => {
                m.insert("protocol".into(), Value::String("TCP".into()));
            }
            None => {}
        }
    }
    m
}

/// Whether a list item has the given key.
pub fn item_matches(keys: &[&str], item: &Value, key: &Map<String, Value>) -> bool {
    item_key(keys, item) == *key
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_are_keyed_by_context() {
        let c = [json!({"containerPort": 8080})];
        assert_eq!(
            list_kind("ports", &c),
            ListKind::Keyed(vec!["containerPort", "protocol"])
        );
        let s = [json!({"port": 80, "targetPort": 8080})];
        assert_eq!(
            list_kind("ports", &s),
            ListKind::Keyed(vec!["port", "protocol"])
        );
        assert_eq!(
            Value::Object(item_key(&["port", "protocol"], &s[0])),
            json!({"port": 80, "protocol": "TCP"})
        );
        assert_eq!(list_kind("args", &[json!("x")]), ListKind::Atomic);
        assert_eq!(list_kind("finalizers", &[json!("x")]), ListKind::Set);
    }
}
