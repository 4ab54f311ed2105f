//! Server-side apply field ownership (`metadata.managedFields`, `fieldsType: FieldsV1`).
//!
//! A FieldsV1 document is a tree whose keys name path elements: `f:<name>` a map field,
//! `k:<json map>` a list element by its key fields, `v:<json value>` a set element by
//! value, `i:<n>` a list element by position, and `.` the element itself. ferrocd reads
//! it for two things: the fields its own manager applied (a field it applied before and
//! that is no longer desired is drift), and the fields other managers own
//! (`managedFieldsManagers` in ignoreDifferences removes them from the comparison).

use serde_json::{Map, Value};

use crate::DiffError;

/// One element of a FieldsV1 path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathElement {
    /// `f:<name>`: a field of a map.
    Field(String),
    /// `k:{...}`: a list element identified by its key fields.
    Key(Map<String, Value>),
    /// `v:<value>`: a set element identified by its value.
    Value(Value),
    /// `i:<n>`: a list element by position.
    Index(usize),
}

/// A set of owned fields, as a tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSet {
    /// Whether the element itself (`.`) is owned.
    pub owns_self: bool,
    /// Owned children.
    pub children: Vec<(PathElement, FieldSet)>,
}

impl FieldSet {
    /// Parses one FieldsV1 document.
    pub fn parse(fields_v1: &Value) -> Result<FieldSet, String> {
        let Some(map) = fields_v1.as_object() else {
            return Err("fieldsV1 is not a map".to_string());
        };
        let mut set = FieldSet::default();
        for (key, child) in map {
            if key == "." {
                set.owns_self = true;
                continue;
            }
            let element = parse_element(key)?;
            set.children.push((element, FieldSet::parse(child)?));
        }
        Ok(set)
    }

    /// The union of the FieldsV1 of every `managedFields` entry written by `manager`.
    pub fn of_manager(managed_fields: &Value, manager: &str) -> Result<FieldSet, DiffError> {
        Self::of_managers(managed_fields, &[manager])
    }

    /// The union of the FieldsV1 of every `managedFields` entry written by any of `managers`.
    pub fn of_managers(
        managed_fields: &Value,
        managers: &[impl AsRef<str>],
    ) -> Result<FieldSet, DiffError> {
        let mut out = FieldSet::default();
        let Some(entries) = managed_fields.as_array() else {
            return Ok(out);
        };
        for entry in entries {
            let Some(name) = entry.get("manager").and_then(Value::as_str) else {
                continue;
            };
            if !managers.iter().any(|m| m.as_ref() == name) {
                continue;
            }
            if entry
                .get("fieldsType")
                .and_then(Value::as_str)
                .is_some_and(|t| t != "FieldsV1")
            {
                continue;
            }
            let Some(fields) = entry.get("fieldsV1") else {
                continue;
            };
            let set = FieldSet::parse(fields).map_err(|message| DiffError::ManagedFields {
                manager: name.to_string(),
                message,
            })?;
            out.union(set);
        }
        Ok(out)
    }

    fn union(&mut self, other: FieldSet) {
        self.owns_self |= other.owns_self;
        for (element, set) in other.children {
            match self.children.iter_mut().find(|(e, _)| *e == element) {
                Some((_, mine)) => mine.union(set),
                None => self.children.push((element, set)),
            }
        }
    }

    /// Whether nothing is owned.
    pub fn is_empty(&self) -> bool {
        !self.owns_self && self.children.is_empty()
    }

    /// The owned subtree of a map field.
    pub fn field(&self, name: &str) -> Option<&FieldSet> {
        self.children.iter().find_map(|(e, s)| match e {
            PathElement::Field(f) if f == name => Some(s),
            _ => None,
        })
    }

    /// The owned subtree of a list element: by key fields, by value or by position.
    pub fn element(&self, item: &Value, index: usize) -> Option<&FieldSet> {
        self.children.iter().find_map(|(e, s)| {
            let hit = match e {
                PathElement::Key(keys) => key_matches(keys, item),
                PathElement::Value(v) => v == item,
                PathElement::Index(i) => *i == index,
                PathElement::Field(_) => false,
            };
            hit.then_some(s)
        })
    }

    /// Removes from `value` every field in this set (used for fields owned by ignored
    /// managers). A list element whose owned fields are all removed and that is itself
    /// owned is removed whole, unless only its key fields would remain.
    pub fn remove_from(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (element, set) in &self.children {
                    let PathElement::Field(name) = element else {
                        continue;
                    };
                    if set.children.is_empty() {
                        map.remove(name);
                    } else if let Some(child) = map.get_mut(name) {
                        set.remove_from(child);
                    }
                }
            }
            Value::Array(items) => {
                let mut keep = Vec::with_capacity(items.len());
                for (index, mut item) in std::mem::take(items).into_iter().enumerate() {
                    match self.element(&item, index) {
                        Some(set) if set.children.is_empty() => {}
                        Some(set) => {
                            let keys = self.children.iter().find_map(|(e, _)| match e {
                                PathElement::Key(k) if key_matches(k, &item) => Some(k.clone()),
                                _ => None,
                            });
                            set.remove_from(&mut item);
                            let only_keys = match (&item, &keys) {
                                (Value::Object(m), Some(k)) => m.keys().all(|f| k.contains_key(f)),
                                (Value::Object(m), None) => m.is_empty(),
                                _ => false,
                            };
                            if !(set.owns_self && only_keys) {
                                keep.push(item);
                            }
                        }
                        None => keep.push(item),
                    }
                }
                *items = keep;
            }
            _ => {}
        }
    }
}

/// Whether a list element carries the key fields of a `k:` element. A missing `protocol`
/// counts as `TCP`, the server's default for ports.
pub(crate) fn key_matches(keys: &Map<String, Value>, item: &Value) -> bool {
    keys.iter().all(|(k, v)| match item.get(k) {
        Some(actual) => crate::compare::scalars_equal(actual, v, false),
        None => k == "protocol" && v.as_str() == Some("TCP"),
    })
}

fn parse_element(key: &str) -> Result<PathElement, String> {
    let (prefix, rest) = key
        .split_once(':')
        .ok_or_else(|| format!("fieldsV1 key {key:?} has no prefix"))?;
    match prefix {
        "f" => Ok(PathElement::Field(rest.to_string())),
        "k" => match serde_json::from_str::<Value>(rest) {
            Ok(Value::Object(map)) => Ok(PathElement::Key(map)),
            _ => Err(format!("fieldsV1 key {key:?} is not a JSON map")),
        },
        "v" => serde_json::from_str(rest)
            .map(PathElement::Value)
            .map_err(|e| format!("fieldsV1 key {key:?} is not a JSON value: {e}")),
        "i" => rest
            .parse()
            .map(PathElement::Index)
            .map_err(|_| format!("fieldsV1 key {key:?} is not an index")),
        _ => Err(format!(
            "fieldsV1 key {key:?} has unknown prefix {prefix:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn fields_v1() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            "f:[a-zA-Z.]{0,6}",
            "k:\\{\"name\":\"[a-z]{0,4}\"\\}",
            "k:[{}\\[\\]\":a-z0-9,]{0,12}",
            "v:[\"a-z0-9]{0,6}",
            "i:-?[0-9]{0,3}",
            Just(".".to_string()),
            "[a-z:]{0,4}",
        ];
        Just(json!({})).prop_recursive(4, 32, 4, move |inner| {
            prop::collection::vec((key.clone(), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(v in fields_v1(), item in "[a-z]{0,4}", i in 0usize..4) {
            if let Ok(set) = FieldSet::parse(&v) {
                let _ = set.element(&json!({"name": item}), i);
                let mut obj = json!({"a": [{"name": item}], "b": {"c": 1}});
                set.remove_from(&mut obj);
            }
        }
    }

    fn fields() -> Value {
        json!({
            "f:metadata": {"f:labels": {"f:app": {}, "f:team": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"server\"}": {".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}
                }}},
                "f:finalizers": {"v:\"ml.example.com/cleanup\"": {}},
                "f:args": {"i:0": {}}
            }
        })
    }

    #[test]
    fn parses_every_element_kind() {
        let set = FieldSet::parse(&fields()).expect("valid");
        let spec = set.field("spec").expect("spec");
        assert!(spec.field("replicas").is_some());
        let containers = spec
            .field("template")
            .and_then(|t| t.field("spec"))
            .and_then(|s| s.field("containers"))
            .expect("containers");
        let server = containers
            .element(&json!({"name": "server", "image": "x"}), 5)
            .expect("server by key");
        assert!(server.owns_self);
        let port = server
            .field("ports")
            .and_then(|p| p.element(&json!({"containerPort": 8080}), 0));
        assert!(port.is_some(), "protocol defaults to TCP");
        assert!(containers.element(&json!({"name": "other"}), 0).is_none());
        let finalizers = spec.field("finalizers").expect("finalizers");
        assert!(
            finalizers
                .element(&json!("ml.example.com/cleanup"), 3)
                .is_some()
        );
        assert!(
            spec.field("args")
                .and_then(|a| a.element(&json!("--x"), 0))
                .is_some()
        );
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(FieldSet::parse(&json!({"x:y": {}})).is_err());
        assert!(FieldSet::parse(&json!({"k:[1]": {}})).is_err());
        assert!(FieldSet::parse(&json!({"i:x": {}})).is_err());
        assert!(FieldSet::parse(&json!("f:a")).is_err());
    }

    #[test]
    fn union_of_entries_by_manager() {
        let managed = json!([
            {"manager": "ferrocd", "operation": "Apply", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:paused": {}}}},
            {"manager": "ferrocd", "operation": "Apply", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:spec": {"f:selector": {}}}}
        ]);
        let set = FieldSet::of_manager(&managed, "ferrocd").expect("valid");
        let spec = set.field("spec").expect("spec");
        assert!(spec.field("replicas").is_some());
        assert!(spec.field("selector").is_some());
        assert!(spec.field("paused").is_none());
    }

    #[test]
    fn removes_owned_fields() {
        let set = FieldSet::parse(&json!({"f:spec": {"f:replicas": {},
            "f:containers": {"k:{\"name\":\"istio-proxy\"}": {".": {}, "f:image": {}}}}}))
        .expect("valid");
        let mut obj = json!({"spec": {"replicas": 3, "paused": false, "containers": [
            {"name": "app", "image": "a"}, {"name": "istio-proxy", "image": "proxy"}]}});
        set.remove_from(&mut obj);
        assert_eq!(
            obj,
            json!({"spec": {"paused": false, "containers": [{"name": "app", "image": "a"}]}})
        );
    }
}
