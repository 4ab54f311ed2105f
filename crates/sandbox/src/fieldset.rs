//! Field sets in the `FieldsV1` format of `managedFields` (`f:name`, `k:{…}`, `v:…`, `.`), with
//! the operations server-side apply needs: build from an applied configuration, diff two
//! objects, set algebra, and look-up/removal of a path inside an object.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::merge_keys::{ListKind, item_key, list_kind};

/// A set of field paths as a tree. `member` means the node itself is in the set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// The node itself is owned.
    pub member: bool,
    /// Children by encoded path element (`f:spec`, `k:{"name":"web"}`, `v:"x"`, `i:0`).
    pub children: BTreeMap<String, FieldSet>,
}

/// A path of encoded elements.
pub type FieldPath = Vec<String>;

fn leaf() -> FieldSet {
    FieldSet {
        member: true,
        children: BTreeMap::new(),
    }
}

impl FieldSet {
    /// Whether nothing is in the set.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// The set of an applied configuration (what an Apply operation owns).
    pub fn from_object(obj: &Value) -> FieldSet {
        let mut fs = FieldSet::default();
        if let Value::Object(m) = obj {
            for (k, v) in m {
                fs.children.insert(format!("f:{k}"), value_set(k, v));
            }
        }
        fs
    }

    /// `FieldsV1` JSON.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, c) in &self.children {
            if !c.is_empty() {
                m.insert(k.clone(), c.to_json());
            }
        }
        Value::Object(m)
    }

    /// Parses `FieldsV1` JSON.
    pub fn from_json(v: &Value) -> FieldSet {
        let mut fs = FieldSet::default();
        match v.as_object() {
            Some(m) if m.is_empty() => fs.member = true,
            Some(m) => {
                for (k, c) in m {
                    if k == "." {
                        fs.member = true;
                    } else {
                        fs.children.insert(k.clone(), FieldSet::from_json(c));
                    }
                }
            }
            None => {}
        }
        fs
    }

    /// Union in place.
    pub fn union_with(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (k, c) in &other.children {
            self.children.entry(k.clone()).or_default().union_with(c);
        }
    }

    /// `self - other` in place.
    pub fn subtract(&mut self, other: &FieldSet) {
        if other.member {
            self.member = false;
        }
        for (k, c) in &other.children {
            if let Some(mine) = self.children.get_mut(k) {
                mine.subtract(c);
            }
        }
        self.children.retain(|_, c| !c.is_empty());
    }

    /// The member paths, depth first.
    pub fn paths(&self) -> Vec<FieldPath> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut FieldPath, out: &mut Vec<FieldPath>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (k, c) in &self.children {
            prefix.push(k.clone());
            c.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Whether a path is a member.
    pub fn contains(&self, path: &[String]) -> bool {
        let mut cur = self;
        for pe in path {
            match cur.children.get(pe) {
                Some(c) => cur = c,
                None => return false,
            }
        }
        cur.member
    }

    /// Whether a path or anything below it is a member.
    pub fn touches(&self, path: &[String]) -> bool {
        let mut cur = self;
        for pe in path {
            match cur.children.get(pe) {
                Some(c) => cur = c,
                None => return false,
            }
        }
        !cur.is_empty()
    }

    /// Adds a path.
    pub fn insert(&mut self, path: &[String]) {
        let mut cur = self;
        for pe in path {
            cur = cur.children.entry(pe.clone()).or_default();
        }
        cur.member = true;
    }

    /// Keeps only the fields a manager may own on the given part of an object: for the main
    /// resource everything but `apiVersion`, `kind`, server-owned metadata and (when `status`
    /// is a subresource) `status`; for the status subresource only `status`.
    pub fn restrict(&mut self, status_subresource: bool, for_status: bool) {
        self.member = false;
        if for_status {
            self.children.retain(|k, _| k == "f:status");
            return;
        }
        self.children.remove("f:apiVersion");
        self.children.remove("f:kind");
        if status_subresource {
            self.children.remove("f:status");
        }
        if let Some(meta) = self.children.get_mut("f:metadata") {
            meta.member = false;
            meta.children.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "f:labels" | "f:annotations" | "f:finalizers" | "f:ownerReferences"
                )
            });
        }
        self.children.retain(|_, c| !c.is_empty());
    }
}

fn value_set(field: &str, v: &Value) -> FieldSet {
    match v {
        Value::Object(m) if m.is_empty() => leaf(),
        Value::Object(m) => {
            let mut fs = FieldSet::default();
            for (k, c) in m {
                fs.children.insert(format!("f:{k}"), value_set(k, c));
            }
            fs
        }
        Value::Array(items) => match list_kind(field, items) {
            ListKind::Atomic => leaf(),
            _ if items.is_empty() => leaf(),
            ListKind::Set => {
                let mut fs = FieldSet::default();
                for i in items {
                    fs.children.insert(format!("v:{i}"), leaf());
                }
                fs
            }
            ListKind::Keyed(keys) => {
                let mut fs = FieldSet::default();
                for i in items {
                    let mut item = FieldSet::from_object(i);
                    item.member = true;
                    let k = Value::Object(item_key(&keys, i));
                    fs.children.insert(format!("k:{k}"), item);
                }
                fs
            }
        },
        _ => leaf(),
    }
}

/// The fields an Update operation changed or added going from `old` to `new`.
pub fn changed(old: &Value, new: &Value) -> FieldSet {
    let mut fs = FieldSet::default();
    diff_into(None, old, new, &mut fs);
    fs
}

fn diff_into(field: Option<&str>, old: &Value, new: &Value, fs: &mut FieldSet) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) if !n.is_empty() => {
            for (k, nv) in n {
                let key = format!("f:{k}");
                match o.get(k) {
                    Some(ov) => {
                        let mut child = FieldSet::default();
                        diff_into(Some(k), ov, nv, &mut child);
                        if !child.is_empty() {
                            fs.children.insert(key, child);
                        }
                    }
                    None => {
                        let mut child = value_set(k, nv);
                        child.member = true;
                        fs.children.insert(key, child);
                    }
                }
            }
        }
        (Value::Array(o), Value::Array(n)) => match list_kind(field.unwrap_or_default(), n) {
            ListKind::Keyed(keys) => {
                for item in n {
                    let k = item_key(&keys, item);
                    let enc = format!("k:{}", Value::Object(k.clone()));
                    let prev = o.iter().find(|i| item_key(&keys, i) == k);
                    match prev {
                        Some(p) => {
                            let mut child = FieldSet::default();
                            diff_into(None, p, item, &mut child);
                            if !child.is_empty() {
                                fs.children.insert(enc, child);
                            }
                        }
                        None => {
                            let mut child = FieldSet::from_object(item);
                            child.member = true;
                            fs.children.insert(enc, child);
                        }
                    }
                }
            }
            ListKind::Set => {
                for item in n {
                    if !o.contains(item) {
                        fs.children.insert(format!("v:{item}"), leaf());
                    }
                }
            }
            ListKind::Atomic => fs.member = true,
        },
        _ => fs.member = true,
    }
}

/// The fields present in `old` and absent from `new`.
pub fn removed(old: &Value, new: &Value) -> FieldSet {
    changed(new, old).only_added_nodes(new)
}

impl FieldSet {
    /// Keeps the paths that do not exist in `obj` (used to turn a reverse diff into removals).
    fn only_added_nodes(mut self, obj: &Value) -> FieldSet {
        let paths = self.paths();
        let mut out = FieldSet::default();
        for p in paths {
            if lookup(obj, &p).is_none() {
                out.insert(&p);
            }
        }
        self.children.clear();
        out
    }
}

fn decode_key(pe: &str) -> Option<Map<String, Value>> {
    serde_json::from_str::<Value>(pe.strip_prefix("k:")?)
        .ok()?
        .as_object()
        .cloned()
}

fn find_item<'a>(parent_field: &str, items: &'a [Value], pe: &str) -> Option<usize> {
    if let Some(rest) = pe.strip_prefix("v:") {
        let v: Value = serde_json::from_str(rest).ok()?;
        return items.iter().position(|i| *i == v);
    }
    if let Some(rest) = pe.strip_prefix("i:") {
        let i: usize = rest.parse().ok()?;
        return (i < items.len()).then_some(i);
    }
    let key = decode_key(pe)?;
    let keys: Vec<&'static str> = match list_kind(parent_field, items) {
        ListKind::Keyed(k) => k,
        _ => return None,
    };
    let _: &'a [Value] = items;
    items.iter().position(|i| item_key(&keys, i) == key)
}

/// The value at a path, if present.
pub fn lookup<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    let mut last_field = "";
    for pe in path {
        if let Some(f) = pe.strip_prefix("f:") {
            cur = cur.as_object()?.get(f)?;
            last_field = f;
        } else {
            let items = cur.as_array()?;
            let idx = find_item(last_field, items, pe)?;
            cur = &items[idx];
            last_field = "";
        }
    }
    Some(cur)
}

/// Removes the value at a path; returns whether something was removed.
pub fn remove(obj: &mut Value, path: &[String]) -> bool {
    let Some((last, parent_path)) = path.split_last() else {
        return false;
    };
    let parent_field = parent_path
        .last()
        .and_then(|p| p.strip_prefix("f:"))
        .unwrap_or_default()
        .to_string();
    let mut cur = obj;
    let mut last_field = String::new();
    for pe in parent_path {
        if let Some(f) = pe.strip_prefix("f:") {
            let Some(next) = cur.as_object_mut().and_then(|m| m.get_mut(f)) else {
                return false;
            };
            cur = next;
            last_field = f.to_string();
        } else {
            let Some(items) = cur.as_array_mut() else {
                return false;
            };
            let Some(idx) = find_item(&last_field, items, pe) else {
                return false;
            };
            cur = &mut items[idx];
            last_field.clear();
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        cur.as_object_mut().is_some_and(|m| m.remove(f).is_some())
    } else if let Some(items) = cur.as_array_mut() {
        match find_item(&parent_field, items, last) {
            Some(i) => {
                items.remove(i);
                true
            }
            None => false,
        }
    } else {
        false
    }
}

/// Renders a path the way conflict messages do (`.spec.containers[name="web"].image`).
pub fn display(path: &[String]) -> String {
    let mut s = String::new();
    for pe in path {
        if let Some(f) = pe.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = decode_key(pe) {
            let parts: Vec<String> = k.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push('[');
            s.push_str(&parts.join(","));
            s.push(']');
        } else if let Some(v) = pe.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        } else if let Some(i) = pe.strip_prefix("i:") {
            s.push_str(&format!("[{i}]"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "mlflow", "labels": {"app": "mlflow"}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "server", "image": "mlflow:2.9", "ports": [{"containerPort": 5000}]}]}}}})
    }

    #[test]
    fn apply_set_has_keyed_items_and_leaves() {
        let mut fs = FieldSet::from_object(&deploy());
        fs.restrict(true, false);
        let j = fs.to_json();
        assert_eq!(
            j,
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"server\"}": {".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":5000,\"protocol\":\"TCP\"}": {
                            ".": {}, "f:containerPort": {}}}}}}}}})
        );
        assert_eq!(FieldSet::from_json(&j), fs);
    }

    #[test]
    fn lookup_and_remove_follow_keys() {
        let mut d = deploy();
        let path: FieldPath = vec![
            "f:spec".into(),
            "f:template".into(),
            "f:spec".into(),
            "f:containers".into(),
            "k:{\"name\":\"server\"}".into(),
            "f:image".into(),
        ];
        assert_eq!(lookup(&d, &path), Some(&json!("mlflow:2.9")));
        assert_eq!(
            display(&path),
            ".spec.template.spec.containers[name=\"server\"].image"
        );
        assert!(remove(&mut d, &path));
        assert!(lookup(&d, &path).is_none());
        assert!(remove(&mut d, &path[..5]));
        assert_eq!(d["spec"]["template"]["spec"]["containers"], json!([]));
    }

    #[test]
    fn diff_reports_changed_added_and_removed() {
        let old = deploy();
        let mut new = deploy();
        new["spec"]["replicas"] = json!(3);
        new["metadata"]["labels"]["team"] = json!("ml");
        new["metadata"]["labels"]
            .as_object_mut()
            .map(|m| m.remove("app"));
        let c = changed(&old, &new);
        assert!(c.contains(&["f:spec".into(), "f:replicas".into()]));
        assert!(c.contains(&["f:metadata".into(), "f:labels".into(), "f:team".into()]));
        assert!(!c.touches(&["f:spec".into(), "f:template".into()]));
        let r = removed(&old, &new);
        assert_eq!(
            r.paths(),
            vec![vec![
                "f:metadata".to_string(),
                "f:labels".into(),
                "f:app".into()
            ]]
        );
    }

    #[test]
    fn subtract_prunes_empty_nodes() {
        let mut a = FieldSet::from_json(&json!({"f:data": {"f:a": {}, "f:b": {}}}));
        a.subtract(&FieldSet::from_json(
            &json!({"f:data": {"f:a": {}, "f:b": {}}}),
        ));
        assert!(a.is_empty());
        assert_eq!(a.to_json(), json!({}));
    }
}
