//! Server-side apply: merge an applied configuration into the live object, track ownership in
//! `managedFields`, report conflicts with other managers, and remove the fields a manager
//! stopped applying when nobody else owns them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::fieldset::{self, FieldPath, FieldSet};
use crate::merge_keys::{ListKind, item_key, list_kind};

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    /// Field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the manager used.
    pub api_version: String,
    /// When the entry last changed.
    pub time: String,
    /// `status` for the status subresource, empty otherwise.
    pub subresource: String,
    /// Owned fields.
    pub set: FieldSet,
}

impl ManagedEntry {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.set.to_json(),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }
}

/// Reads `metadata.managedFields`.
pub fn read_managed(obj: &Value) -> Vec<ManagedEntry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| ManagedEntry {
                    manager: e["manager"].as_str().unwrap_or_default().to_string(),
                    operation: e["operation"].as_str().unwrap_or_default().to_string(),
                    api_version: e["apiVersion"].as_str().unwrap_or_default().to_string(),
                    time: e["time"].as_str().unwrap_or_default().to_string(),
                    subresource: e["subresource"].as_str().unwrap_or_default().to_string(),
                    set: FieldSet::from_json(&e["fieldsV1"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `metadata.managedFields` (dropping empty entries).
pub fn write_managed(obj: &mut Value, entries: &[ManagedEntry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.set.is_empty())
        .map(ManagedEntry::to_json)
        .collect();
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            m.remove("managedFields");
        } else {
            m.insert("managedFields".into(), Value::Array(list));
        }
    }
}

fn upsert(
    entries: &mut Vec<ManagedEntry>,
    manager: &str,
    operation: &str,
    subresource: &str,
    api_version: &str,
    time: &str,
    set: FieldSet,
) {
    if let Some(e) = entries
        .iter_mut()
        .find(|e| e.manager == manager && e.operation == operation && e.subresource == subresource)
    {
        e.set = set;
        e.time = time.to_string();
        e.api_version = api_version.to_string();
    } else {
        entries.push(ManagedEntry {
            manager: manager.to_string(),
            operation: operation.to_string(),
            api_version: api_version.to_string(),
            time: time.to_string(),
            subresource: subresource.to_string(),
            set,
        });
    }
}

/// A field owned by another manager with a different value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager.
    pub manager: String,
    /// The apiVersion it used.
    pub api_version: String,
    /// The field, displayed as `.spec.replicas`.
    pub field: String,
}

/// Formats conflicts like kube-apiserver.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    let mut by_manager: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for c in conflicts {
        by_manager
            .entry((c.manager.clone(), c.api_version.clone()))
            .or_default()
            .push(c.field.clone());
    }
    let n = conflicts.len();
    let parts: Vec<String> = by_manager
        .iter()
        .map(|((m, v), fields)| {
            if fields.len() == 1 {
                format!("conflict with \"{m}\" using {v}: {}", fields[0])
            } else {
                let list: Vec<String> = fields.iter().map(|f| format!("- {f}")).collect();
                format!("conflicts with \"{m}\" using {v}:\n{}", list.join("\n"))
            }
        })
        .collect();
    format!(
        "Apply failed with {n} conflict{}: {}",
        if n == 1 { "" } else { "s" },
        parts.join("\n")
    )
}

/// Parameters of one apply.
#[derive(Debug, Clone)]
pub struct ApplyRequest<'a> {
    /// Field manager.
    pub manager: &'a str,
    /// Take ownership of conflicting fields.
    pub force: bool,
    /// Whether the type has a status subresource.
    pub status_subresource: bool,
    /// Whether this apply targets the status subresource.
    pub for_status: bool,
    /// Timestamp for the entry.
    pub now: &'a str,
}

/// Applies `applied` onto `live` (or onto nothing, for a create). Returns the merged object
/// with updated `managedFields`, or the conflicts.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    req: &ApplyRequest<'_>,
) -> Result<Value, Vec<Conflict>> {
    let empty = json!({});
    let live_v = live.unwrap_or(&empty);
    let mut entries = read_managed(live_v);
    let sub = if req.for_status { "status" } else { "" };
    let api_version = applied["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut mine = FieldSet::from_object(applied);
    mine.restrict(req.status_subresource, req.for_status);

    // conflicts: leaf fields owned by someone else whose live value differs
    let leaf_paths: Vec<FieldPath> = mine
        .paths()
        .into_iter()
        .filter(|p| !has_children(&mine, p))
        .collect();
    let mut conflicts = Vec::new();
    let mut conflict_paths: Vec<(usize, FieldPath)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if (e.manager == req.manager && e.operation == "Apply") || e.subresource != sub {
            continue;
        }
        for p in &leaf_paths {
            if e.set.contains(p) && fieldset::lookup(applied, p) != fieldset::lookup(live_v, p) {
                conflicts.push(Conflict {
                    manager: e.manager.clone(),
                    api_version: e.api_version.clone(),
                    field: fieldset::display(p),
                });
                conflict_paths.push((i, p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !req.force {
        return Err(conflicts);
    }
    for (i, p) in conflict_paths {
        let mut one = FieldSet::default();
        one.insert(&p);
        entries[i].set.subtract(&one);
    }

    // fields this manager stopped applying and nobody else owns: remove them
    let mut merged = live_v.clone();
    if let Some(prev) = entries
        .iter()
        .find(|e| e.manager == req.manager && e.operation == "Apply" && e.subresource == sub)
    {
        let mut dropped = prev.set.clone();
        dropped.subtract(&mine);
        let mut paths = dropped.paths();
        paths.reverse();
        for p in paths {
            let owned_by_other = entries.iter().any(|e| {
                !(e.manager == req.manager && e.operation == "Apply" && e.subresource == sub)
                    && e.set.touches(&p)
            });
            if !owned_by_other && !mine.touches(&p) {
                fieldset::remove(&mut merged, &p);
            }
        }
    }
    merge_value("", &mut merged, applied);
    upsert(
        &mut entries,
        req.manager,
        "Apply",
        sub,
        &api_version,
        req.now,
        mine,
    );
    write_managed(&mut merged, &entries);
    Ok(merged)
}

fn has_children(fs: &FieldSet, path: &[String]) -> bool {
    let mut cur = fs;
    for pe in path {
        match cur.children.get(pe) {
            Some(c) => cur = c,
            None => return false,
        }
    }
    !cur.children.is_empty()
}

/// Merges `src` into `target` with Kubernetes list semantics (keyed lists merged by key,
/// sets unioned, atomic lists replaced).
pub fn merge_value(field: &str, target: &mut Value, src: &Value) {
    match (target, src) {
        (Value::Object(t), Value::Object(s)) => {
            for (k, v) in s {
                match t.get_mut(k) {
                    Some(tv) => merge_value(k, tv, v),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(s)) => match list_kind(field, s) {
            ListKind::Keyed(keys) => {
                for item in s {
                    let k = item_key(&keys, item);
                    match t.iter_mut().find(|i| item_key(&keys, i) == k) {
                        Some(ti) => merge_value("", ti, item),
                        None => t.push(item.clone()),
                    }
                }
            }
            ListKind::Set => {
                for item in s {
                    if !t.contains(item) {
                        t.push(item.clone());
                    }
                }
            }
            ListKind::Atomic => *t = s.clone(),
        },
        (t, s) => *t = s.clone(),
    }
}

/// Records an Update operation by `manager`: it takes the fields that changed from `old` to
/// `new`; others lose them; removed fields leave every set.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    status_subresource: bool,
    for_status: bool,
    now: &str,
) {
    let empty = json!({});
    let old_v = old.unwrap_or(&empty);
    let mut entries = read_managed(old_v);
    let mut changed = fieldset::changed(old_v, new);
    changed.restrict(status_subresource, for_status);
    let mut removed = fieldset::removed(old_v, new);
    removed.restrict(status_subresource, for_status);
    if changed.is_empty() && removed.is_empty() {
        write_managed(new, &entries);
        return;
    }
    let sub = if for_status { "status" } else { "" };
    for e in entries.iter_mut() {
        e.set.subtract(&removed);
        if !(e.manager == manager && e.operation == "Update" && e.subresource == sub) {
            e.set.subtract(&changed);
        }
    }
    let mut set = entries
        .iter()
        .find(|e| e.manager == manager && e.operation == "Update" && e.subresource == sub)
        .map(|e| e.set.clone())
        .unwrap_or_default();
    set.union_with(&changed);
    let api_version = new["apiVersion"].as_str().unwrap_or_default().to_string();
    if !set.is_empty() {
        upsert(&mut entries, manager, "Update", sub, &api_version, now, set);
    }
    write_managed(new, &entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(manager: &'a str, force: bool) -> ApplyRequest<'a> {
        ApplyRequest {
            manager,
            force,
            status_subresource: false,
            for_status: false,
            now: "2026-01-01T00:00:00Z",
        }
    }

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "airflow"}, "data": data})
    }

    #[test]
    fn first_apply_owns_its_fields() {
        let out = apply(None, &cm(json!({"a": "1"})), &req("ferrocd", false)).expect("apply");
        assert_eq!(out["data"], json!({"a": "1"}));
        let m = read_managed(&out);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].set.to_json(), json!({"f:data": {"f:a": {}}}));
    }

    #[test]
    fn conflict_unless_forced_then_ownership_moves() {
        let live = apply(None, &cm(json!({"a": "1"})), &req("alice", false)).expect("apply");
        let err =
            apply(Some(&live), &cm(json!({"a": "2"})), &req("bob", false)).expect_err("conflict");
        assert_eq!(err[0].field, ".data.a");
        assert_eq!(
            conflict_message(&err),
            "Apply failed with 1 conflict: conflict with \"alice\" using v1: .data.a"
        );
        // same value: shared ownership, no conflict
        assert!(apply(Some(&live), &cm(json!({"a": "1"})), &req("bob", false)).is_ok());
        let forced = apply(Some(&live), &cm(json!({"a": "2"})), &req("bob", true)).expect("forced");
        assert_eq!(forced["data"]["a"], "2");
        let m = read_managed(&forced);
        assert_eq!(m.len(), 1, "alice lost her only field: {m:?}");
        assert_eq!(m[0].manager, "bob");
    }

    #[test]
    fn fields_no_longer_applied_are_removed_unless_shared() {
        let live =
            apply(None, &cm(json!({"a": "1", "b": "2"})), &req("alice", false)).expect("apply");
        let live = apply(Some(&live), &cm(json!({"b": "2"})), &req("bob", false)).expect("apply");
        let out = apply(Some(&live), &cm(json!({})), &req("alice", false)).expect("apply");
        assert_eq!(out["data"], json!({"b": "2"}), "a removed, b kept for bob");
    }

    #[test]
    fn keyed_lists_merge_by_name() {
        let a = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "a"}]}}}});
        let live = apply(None, &a, &req("alice", false)).expect("apply");
        let b = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "b"}]}}}});
        let out = apply(Some(&live), &b, &req("bob", false)).expect("apply");
        let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, vec!["web", "sidecar"]);
    }

    #[test]
    fn update_takes_changed_fields_from_appliers() {
        let live =
            apply(None, &cm(json!({"a": "1", "b": "2"})), &req("alice", false)).expect("apply");
        let mut new = live.clone();
        new["data"]["a"] = json!("9");
        record_update(Some(&live), &mut new, "kubectl-edit", false, false, "t");
        let m = read_managed(&new);
        let alice = m.iter().find(|e| e.manager == "alice").expect("alice");
        assert_eq!(alice.set.to_json(), json!({"f:data": {"f:b": {}}}));
        let edit = m
            .iter()
            .find(|e| e.manager == "kubectl-edit")
            .expect("edit");
        assert_eq!(edit.operation, "Update");
        assert_eq!(edit.set.to_json(), json!({"f:data": {"f:a": {}}}));
    }
}
