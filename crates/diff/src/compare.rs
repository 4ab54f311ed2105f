//! The comparison of a normalized desired object with a normalized live object.
//!
//! Desired is compared as a subset of live: a field the desired object does not specify is
//! the server's business (defaults, fields written by controllers) and is left out, unless
//! ferrocd's own field manager applied it before (then it was removed from Git and is
//! drift). Lists whose elements have keys (`containers` by `name`, ports by
//! `containerPort`+`protocol`, ... from `ferrocd-schema`) are matched by key, so their
//! order does not matter; other lists are compared position by position and must have the
//! same length. Scalars are equal when they are the same JSON value, when a number and a
//! string spell the same number (int-or-string fields such as `targetPort`), or, in
//! resource fields, when they are the same quantity (`1000m` = `1`). An empty map or list
//! or a `null` in desired equals an absent field.
//!
//! The walk also builds the *projected live* object: live restricted to what desired
//! specifies (using desired's spelling where the two are equivalent) plus the owned
//! fields that are no longer desired. Its YAML against desired's is the text diff.

use serde_json::{Map, Value};

use crate::FieldChange;
use crate::managed_fields::{FieldSet, key_matches};
use crate::quantity;

/// Compares one object; returns the changes and the projected live object.
pub(crate) fn compare<'d>(
    group: &'d str,
    kind: &'d str,
    desired: &'d Value,
    live: &Value,
    owned: Option<&FieldSet>,
) -> (Vec<FieldChange>, Value) {
    let mut walk = Walk {
        group,
        kind,
        names: Vec::new(),
        path: String::new(),
        changes: Vec::new(),
    };
    let projected = walk
        .value(desired, Some(live), owned)
        .unwrap_or(Value::Null);
    (walk.changes, projected)
}

struct Walk<'a> {
    group: &'a str,
    kind: &'a str,
    /// Field names from the root (list positions left out), for schema look-ups.
    names: Vec<&'a str>,
    /// Display path of the current value.
    path: String,
    changes: Vec<FieldChange>,
}

/// Whether a value counts as absent (`null`, `{}` or `[]`).
pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Scalar equality with int-or-string and, when `quantities`, quantity equivalence.
pub(crate) fn scalars_equal(a: &Value, b: &Value, quantities: bool) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            s.trim() == n.to_string() || (quantities && quantity::same_quantity(a, b))
        }
        (Value::String(_), Value::String(_)) => quantities && quantity::same_quantity(a, b),
        _ => false,
    }
}

impl<'a> Walk<'a> {
    fn change(&mut self, desired: Option<&Value>, live: Option<&Value>) {
        self.changes.push(FieldChange {
            path: if self.path.is_empty() {
                "/".to_string()
            } else {
                self.path.clone()
            },
            desired: desired.cloned(),
            live: live.cloned(),
        });
    }

    /// Compares `desired` with `live` at the current path; returns the projected live.
    fn value(
        &mut self,
        desired: &'a Value,
        live: Option<&Value>,
        owned: Option<&FieldSet>,
    ) -> Option<Value> {
        let Some(live) = live else {
            if is_empty(desired) {
                return Some(desired.clone());
            }
            self.change(Some(desired), None);
            return None;
        };
        match (desired, live) {
            (Value::Object(d), Value::Object(l)) => Some(Value::Object(self.map(d, l, owned))),
            (Value::Array(d), Value::Array(l)) => Some(Value::Array(self.list(d, l, owned))),
            (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => {
                if is_empty(desired) && is_empty(live) {
                    return Some(desired.clone());
                }
                self.change(Some(desired), Some(live));
                Some(live.clone())
            }
            _ => {
                let n = self.names.len();
                let parent = n.checked_sub(2).map(|i| self.names[i]);
                let quantities = quantity::is_quantity_field(parent, self.names.last().copied());
                if scalars_equal(desired, live, quantities) {
                    Some(desired.clone())
                } else {
                    self.change(Some(desired), Some(live));
                    Some(live.clone())
                }
            }
        }
    }

    fn map(
        &mut self,
        desired: &'a Map<String, Value>,
        live: &Map<String, Value>,
        owned: Option<&FieldSet>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, d) in desired {
            let mark = self.path.len();
            self.path.push('/');
            self.path.push_str(&escape(key));
            self.names.push(key.as_str());
            let child_owned = owned.and_then(|o| o.field(key));
            if let Some(v) = self.value(d, live.get(key), child_owned) {
                out.insert(key.clone(), v);
            }
            self.names.pop();
            self.path.truncate(mark);
        }
        if let Some(owned) = owned {
            for (key, l) in live {
                if desired.contains_key(key) || is_empty(l) || owned.field(key).is_none() {
                    continue;
                }
                let mark = self.path.len();
                self.path.push('/');
                self.path.push_str(&escape(key));
                self.change(None, Some(l));
                self.path.truncate(mark);
                out.insert(key.clone(), l.clone());
            }
        }
        out
    }

    /// The key fields of the list at the current path, if its elements are matched by key.
    fn list_keys(&self, desired: &[Value]) -> Option<Vec<&'static str>> {
        let names = &self.names;
        let keys: Vec<&'static str> =
            match ferrocd_schema::list_map_keys(self.group, self.kind, names) {
                Some(keys) => keys.to_vec(),
                None => match ferrocd_schema::list_strategy(self.group, self.kind, names) {
                    ferrocd_schema::ListStrategy::MergeByKey(key) => vec![key],
                    _ => return None,
                },
            };
        let first = *keys.first()?;
        let all_keyed = desired
            .iter()
            .all(|item| item.get(first).is_some_and(|v| !v.is_null()));
        all_keyed.then_some(keys)
    }

    fn is_set_list(&self) -> bool {
        let names = &self.names;
        ferrocd_schema::list_strategy(self.group, self.kind, names)
            == ferrocd_schema::ListStrategy::MergePrimitives
    }

    fn list(
        &mut self,
        desired: &'a [Value],
        live: &[Value],
        owned: Option<&FieldSet>,
    ) -> Vec<Value> {
        if let Some(keys) = self.list_keys(desired) {
            return self.keyed_list(&keys, desired, live, owned);
        }
        if self.is_set_list() {
            return self.set_list(desired, live, owned);
        }
        if desired.len() != live.len() {
            self.change(
                Some(&Value::Array(desired.to_vec())),
                Some(&Value::Array(live.to_vec())),
            );
            return live.to_vec();
        }
        let mut out = Vec::with_capacity(desired.len());
        for (i, (d, l)) in desired.iter().zip(live).enumerate() {
            let mark = self.path.len();
            self.path.push_str(&format!("/{i}"));
            // Atomic lists are owned whole: no ownership below them.
            if let Some(v) = self.value(d, Some(l), None) {
                out.push(v);
            }
            self.path.truncate(mark);
        }
        out
    }

    fn keyed_list(
        &mut self,
        keys: &[&str],
        desired: &'a [Value],
        live: &[Value],
        owned: Option<&FieldSet>,
    ) -> Vec<Value> {
        let key_of = |item: &Value| -> Map<String, Value> {
            keys.iter()
                .filter_map(|k| match item.get(*k) {
                    Some(v) if !v.is_null() => Some((k.to_string(), v.clone())),
                    _ if *k == "protocol" => Some((k.to_string(), Value::from("TCP"))),
                    _ => None,
                })
                .collect()
        };
        let mut used = vec![false; live.len()];
        let mut out = Vec::with_capacity(desired.len());
        for d in desired {
            let key = key_of(d);
            let found = live
                .iter()
                .enumerate()
                .find(|(i, l)| !used[*i] && key_matches(&key, l));
            let mark = self.path.len();
            self.path.push_str(&selector(&key));
            match found {
                Some((i, l)) => {
                    used[i] = true;
                    let child_owned = owned.and_then(|o| o.element(l, i));
                    if let Some(v) = self.value(d, Some(l), child_owned) {
                        out.push(v);
                    }
                }
                None => self.change(Some(d), None),
            }
            self.path.truncate(mark);
        }
        if let Some(owned) = owned {
            for (i, l) in live.iter().enumerate() {
                if used[i] || owned.element(l, i).is_none() {
                    continue;
                }
                let mark = self.path.len();
                self.path.push_str(&selector(&key_of(l)));
                self.change(None, Some(l));
                self.path.truncate(mark);
                out.push(l.clone());
            }
        }
        out
    }

    fn set_list(
        &mut self,
        desired: &[Value],
        live: &[Value],
        owned: Option<&FieldSet>,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        for d in desired {
            if live.iter().any(|l| scalars_equal(d, l, false)) {
                out.push(d.clone());
            } else {
                let mark = self.path.len();
                self.path.push_str(&format!("[{}]", compact(d)));
                self.change(Some(d), None);
                self.path.truncate(mark);
            }
        }
        if let Some(owned) = owned {
            for (i, l) in live.iter().enumerate() {
                if desired.iter().any(|d| scalars_equal(d, l, false))
                    || owned.element(l, i).is_none()
                {
                    continue;
                }
                let mark = self.path.len();
                self.path.push_str(&format!("[{}]", compact(l)));
                self.change(None, Some(l));
                self.path.truncate(mark);
                out.push(l.clone());
            }
        }
        out
    }
}

/// `[name=server]` or `[containerPort=8080,protocol=TCP]`.
fn selector(key: &Map<String, Value>) -> String {
    let parts: Vec<String> = key
        .iter()
        .map(|(k, v)| format!("{k}={}", compact(v)))
        .collect();
    format!("[{}]", parts.join(","))
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// JSON pointer escaping of one segment.
fn escape(segment: &str) -> std::borrow::Cow<'_, str> {
    if segment.contains(['~', '/']) {
        segment.replace('~', "~0").replace('/', "~1").into()
    } else {
        segment.into()
    }
}
