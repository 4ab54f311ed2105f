//! Patches: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and Kubernetes strategic merge
//! patch with merge keys and the `$patch`, `$retainKeys`, `$deleteFromPrimitiveList` and
//! `$setElementOrder` directives.

use serde_json::{Map, Value};

use crate::merge_keys::{ListKind, item_key, list_kind};

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is not of the expected shape.
    #[error("invalid patch: {0}")]
    Invalid(String),
    /// A JSON patch operation failed (a `test` did not hold, a path is missing, …).
    #[error("the JSON patch could not be applied: {0}")]
    JsonPatch(String),
}

/// Applies an RFC 6902 JSON patch.
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| PatchError::Invalid(e.to_string()))?;
    json_patch::patch(doc, &ops).map_err(|e| PatchError::JsonPatch(e.to_string()))
}

/// Applies an RFC 7386 merge patch.
pub fn merge_patch(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    if !patch.is_object() {
        return Err(PatchError::Invalid(
            "a merge patch must be a JSON object".into(),
        ));
    }
    json_patch::merge(doc, patch);
    Ok(())
}

/// Applies a strategic merge patch.
pub fn strategic_merge_patch(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    if !patch.is_object() {
        return Err(PatchError::Invalid(
            "a strategic merge patch must be a JSON object".into(),
        ));
    }
    smp_object(doc, patch);
    Ok(())
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn smp_object(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = strip_directives(patch);
            return;
        }
        Some("delete") => {
            *target = Value::Object(Map::new());
            return;
        }
        _ => {}
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(t) = target.as_object_mut() else {
        return;
    };
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match t.get_mut(k) {
            Some(tv) => smp_field(k, tv, v),
            None => {
                let mut fresh = if v.is_array() {
                    Value::Array(vec![])
                } else {
                    Value::Null
                };
                if v.is_object() {
                    fresh = Value::Object(Map::new());
                }
                smp_field(k, &mut fresh, v);
                t.insert(k.clone(), fresh);
            }
        }
    }
    for (k, v) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/")
            && let (Some(Value::Array(items)), Some(del)) = (t.get_mut(field), v.as_array())
        {
            items.retain(|i| !del.contains(i));
        }
    }
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
}

fn smp_field(field: &str, target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(_) => smp_object(target, patch),
        Value::Array(items) => {
            let existing: Vec<Value> = target.as_array().cloned().unwrap_or_default();
            let mut probe = existing.clone();
            probe.extend(items.iter().cloned());
            match list_kind(field, &probe) {
                ListKind::Keyed(keys) => {
                    let mut out = existing;
                    if items
                        .iter()
                        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
                    {
                        out.clear();
                    }
                    for item in items {
                        let directive = item.get("$patch").and_then(Value::as_str);
                        if directive == Some("replace")
                            && item.as_object().is_some_and(|m| m.len() == 1)
                        {
                            continue;
                        }
                        let key = item_key(&keys, item);
                        let pos = out.iter().position(|i| item_key(&keys, i) == key);
                        match (directive, pos) {
                            (Some("delete"), Some(i)) => {
                                out.remove(i);
                            }
                            (Some("delete"), None) => {}
                            (_, Some(i)) => smp_object(&mut out[i], item),
                            (_, None) => out.push(strip_directives(item)),
                        }
                    }
                    *target = Value::Array(out);
                }
                ListKind::Set => {
                    let mut out = existing;
                    for i in items {
                        if !out.contains(i) {
                            out.push(i.clone());
                        }
                    }
                    *target = Value::Array(out);
                }
                ListKind::Atomic => *target = strip_directives(patch),
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"spec": {"containers": [
            {"name": "model", "image": "triton:24.01", "env": [{"name": "A", "value": "1"}]},
            {"name": "exporter", "image": "exporter:1"}]}})
    }

    #[test]
    fn strategic_merges_containers_by_name() {
        let mut p = pod();
        strategic_merge_patch(
            &mut p,
            &json!({"spec": {"containers": [
            {"name": "model", "image": "triton:24.02", "env": [{"name": "B", "value": "2"}]}]}}),
        )
        .expect("patch");
        let c = &p["spec"]["containers"];
        assert_eq!(c.as_array().map(Vec::len), Some(2));
        assert_eq!(c[0]["image"], "triton:24.02");
        assert_eq!(
            c[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
    }

    #[test]
    fn strategic_delete_and_replace_directives() {
        let mut p = pod();
        strategic_merge_patch(
            &mut p,
            &json!({"spec": {"containers": [
            {"name": "exporter", "$patch": "delete"}]}}),
        )
        .expect("patch");
        assert_eq!(p["spec"]["containers"].as_array().map(Vec::len), Some(1));
        let mut p = pod();
        strategic_merge_patch(
            &mut p,
            &json!({"spec": {"$patch": "replace", "containers": []}}),
        )
        .expect("patch");
        assert_eq!(p["spec"], json!({"containers": []}));
    }

    #[test]
    fn merge_and_json_patch() {
        let mut p = pod();
        merge_patch(&mut p, &json!({"spec": {"containers": [{"name": "only"}]}})).expect("merge");
        assert_eq!(p["spec"]["containers"], json!([{"name": "only"}]));
        json_patch(
            &mut p,
            &json!([{"op": "replace", "path": "/spec/containers/0/name", "value": "x"}]),
        )
        .expect("json patch");
        assert_eq!(p["spec"]["containers"][0]["name"], "x");
        assert!(
            json_patch(
                &mut p,
                &json!([{"op": "test", "path": "/spec/containers/0/name", "value": "y"}])
            )
            .is_err()
        );
        assert!(json_patch(&mut p, &json!({"op": "add"})).is_err());
    }
}
