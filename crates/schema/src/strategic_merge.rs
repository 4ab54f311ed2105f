//! Kubernetes strategic merge patch.
//!
//! A strategic merge patch is a partial object. Maps merge recursively, `null` deletes a
//! field, and lists merge according to the list's strategy ([`crate::list_strategy`]): lists
//! of maps with a merge key merge element by element, set-like primitive lists gain the patch
//! values, other lists are replaced.
//!
//! Directives:
//! * `$patch: delete` in a map deletes that map (in a keyed list: the matching element; at the
//!   top level: the whole object, returned as `Value::Null`);
//! * `$patch: replace` in a map replaces the original map by the patch map; a list element
//!   `{"$patch": "replace"}` replaces the original list by the other patch elements;
//! * `$patch: merge` is the default and is only removed;
//! * `$retainKeys: [a, b]` drops every field of the original map not named in the list before
//!   merging;
//! * `$deleteFromPrimitiveList/<field>: [v, ...]` removes those values from the primitive list
//!   `<field>`;
//! * `$setElementOrder/<field>: [...]` orders the merged list `<field>`: the elements it names
//!   come first in its order, the others follow in their previous relative order.
//!
//! Key order is deterministic: the original's keys keep their places, new keys follow in the
//! patch's order.

use serde_json::{Map, Value};

use crate::ListStrategy;
use crate::lists::{is_builtin, list_strategy};

/// An error while applying a strategic merge patch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    /// The patch's top level is not a map.
    #[error("strategic merge patch must be a map, got {found}")]
    PatchNotObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A list element of a keyed list lacks the merge key.
    #[error("list element at {path} does not contain its merge key `{key}`")]
    MissingMergeKey {
        /// Dotted field path of the list.
        path: String,
        /// The merge key.
        key: &'static str,
    },
    /// A `$patch` directive has an unknown value.
    #[error("unknown $patch directive `{value}` at {path}")]
    UnknownDirective {
        /// Dotted field path of the map holding the directive.
        path: String,
        /// The directive's value.
        value: String,
    },
    /// A directive that needs a list got something else.
    #[error("directive `{directive}` at {path} must be a list")]
    DirectiveNotList {
        /// Dotted field path of the map holding the directive.
        path: String,
        /// The directive key.
        directive: String,
    },
}

/// How lists of kinds unknown to this crate (custom resources) are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownLists {
    /// Replace them, as a JSON merge patch does (the API server's behaviour).
    #[default]
    Replace,
    /// Merge lists of maps whose elements all carry one of the well-known keys (`mountPath`,
    /// `devicePath`, `ip`, `type`, `topologyKey`, `name`, `containerPort`, looked up in that
    /// order) by that key; replace other lists. This is what Kustomize does when it has no
    /// schema for a kind.
    InferKeys,
}

/// Where merged list elements go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// Original elements keep their places; new patch elements are appended (the API
    /// server's behaviour).
    #[default]
    OriginalFirst,
    /// Patch elements come first in patch order (merged with their originals), then the
    /// original elements the patch does not mention (Kustomize's behaviour).
    PatchFirst,
}

/// Options of [`merge_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeOptions {
    /// How lists of unknown kinds merge.
    pub unknown_lists: UnknownLists,
    /// Where merged list elements go.
    pub list_order: ListOrder,
    /// Treat `$retainKeys`, `$setElementOrder/…` and `$deleteFromPrimitiveList/…` as
    /// ordinary fields, as Kustomize does (only `$patch` is a directive then).
    pub literal_directives: bool,
}

impl MergeOptions {
    /// The semantics of `kustomize build` (kyaml): patch elements first, lists of unknown
    /// kinds replaced, only `$patch` interpreted.
    pub fn kustomize() -> Self {
        Self {
            unknown_lists: UnknownLists::Replace,
            list_order: ListOrder::PatchFirst,
            literal_directives: true,
        }
    }
}

/// Keys Kustomize tries, in order, to merge lists it has no schema for.
const INFERRED_KEYS: &[&str] = &[
    "mountPath",
    "devicePath",
    "ip",
    "type",
    "topologyKey",
    "name",
    "containerPort",
];

/// Applies the strategic merge patch `patch` to `original`, an object of `group`/`kind`.
///
/// Returns `Value::Null` when the patch deletes the whole object (`$patch: delete` at the top
/// level).
pub fn merge(
    original: &Value,
    patch: &Value,
    group: &str,
    kind: &str,
) -> Result<Value, MergeError> {
    merge_with(original, patch, group, kind, &MergeOptions::default())
}

/// [`merge`] with options.
pub fn merge_with(
    original: &Value,
    patch: &Value,
    group: &str,
    kind: &str,
    options: &MergeOptions,
) -> Result<Value, MergeError> {
    let Value::Object(patch) = patch else {
        return Err(MergeError::PatchNotObject {
            found: type_name(patch),
        });
    };
    let merger = Merger {
        group,
        kind,
        builtin: is_builtin(group, kind),
        options: *options,
    };
    let empty = Map::new();
    let original = original.as_object().unwrap_or(&empty);
    let mut path = Vec::new();
    Ok(match merger.merge_map(original, patch, &mut path)? {
        Some(map) => Value::Object(map),
        None => Value::Null,
    })
}

/// Removes every directive from a patch-like value, as if it were merged into nothing.
/// `$patch: delete` maps vanish (returned as `None` at the top).
pub fn strip_directives(
    value: &Value,
    group: &str,
    kind: &str,
) -> Result<Option<Value>, MergeError> {
    let merger = Merger {
        group,
        kind,
        builtin: is_builtin(group, kind),
        options: MergeOptions::default(),
    };
    merger.merge_value(None, value, &mut Vec::new())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

struct Merger<'a> {
    group: &'a str,
    kind: &'a str,
    builtin: bool,
    options: MergeOptions,
}

fn dotted(path: &[String]) -> String {
    if path.is_empty() {
        "<root>".to_string()
    } else {
        path.join(".")
    }
}

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM: &str = "$deleteFromPrimitiveList/";
const SET_ORDER: &str = "$setElementOrder/";

impl Merger<'_> {
    fn strategy(&self, path: &[String], original: &[Value], patch: &[Value]) -> ListStrategy {
        let fields: Vec<&str> = path.iter().map(String::as_str).collect();
        let strategy = list_strategy(self.group, self.kind, &fields);
        if strategy != ListStrategy::Atomic
            || self.builtin
            || self.options.unknown_lists == UnknownLists::Replace
        {
            return strategy;
        }
        infer_key(original, patch).map_or(ListStrategy::Atomic, ListStrategy::MergeByKey)
    }

    fn merge_value(
        &self,
        original: Option<&Value>,
        patch: &Value,
        path: &mut Vec<String>,
    ) -> Result<Option<Value>, MergeError> {
        match patch {
            Value::Null => Ok(None),
            Value::Object(p) => {
                let empty = Map::new();
                let o = match original {
                    Some(Value::Object(o)) => o,
                    _ => &empty,
                };
                Ok(self.merge_map(o, p, path)?.map(Value::Object))
            }
            Value::Array(p) => {
                let o: &[Value] = match original {
                    Some(Value::Array(o)) => o,
                    _ => &[],
                };
                Ok(Some(Value::Array(self.merge_list(o, p, path)?)))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    fn merge_map(
        &self,
        original: &Map<String, Value>,
        patch: &Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<Option<Map<String, Value>>, MergeError> {
        match patch.get(PATCH) {
            None => {}
            Some(Value::String(d)) if d == "merge" => {}
            Some(Value::String(d)) if d == "delete" => return Ok(None),
            Some(Value::String(d)) if d == "replace" => {
                let mut out = Map::new();
                for (k, v) in patch {
                    if k == PATCH || (!self.options.literal_directives && is_directive_key(k)) {
                        continue;
                    }
                    path.push(k.clone());
                    let cleaned = self.merge_value(None, v, path);
                    path.pop();
                    if let Some(v) = cleaned? {
                        out.insert(k.clone(), v);
                    }
                }
                return Ok(Some(out));
            }
            Some(other) => {
                return Err(MergeError::UnknownDirective {
                    path: dotted(path),
                    value: match other {
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    },
                });
            }
        }

        let mut result = original.clone();
        let literal = self.options.literal_directives;
        if let Some(retain) = patch.get(RETAIN_KEYS).filter(|_| !literal) {
            let Value::Array(keys) = retain else {
                return Err(MergeError::DirectiveNotList {
                    path: dotted(path),
                    directive: RETAIN_KEYS.to_string(),
                });
            };
            result.retain(|k, _| keys.iter().any(|r| r.as_str() == Some(k)));
        }

        let mut orders: Vec<(&str, &Vec<Value>)> = Vec::new();
        for (k, v) in patch.iter().filter(|_| !literal) {
            if let Some(field) = k.strip_prefix(DELETE_FROM) {
                let Value::Array(values) = v else {
                    return Err(MergeError::DirectiveNotList {
                        path: dotted(path),
                        directive: k.clone(),
                    });
                };
                if let Some(Value::Array(list)) = result.get_mut(field) {
                    list.retain(|item| !values.contains(item));
                }
            } else if let Some(field) = k.strip_prefix(SET_ORDER) {
                let Value::Array(order) = v else {
                    return Err(MergeError::DirectiveNotList {
                        path: dotted(path),
                        directive: k.clone(),
                    });
                };
                orders.push((field, order));
            }
        }

        for (k, v) in patch {
            if k == PATCH || (!literal && is_directive_key(k)) {
                continue;
            }
            path.push(k.clone());
            let merged = self.merge_value(result.get(k), v, path);
            path.pop();
            match merged? {
                Some(v) => {
                    result.insert(k.clone(), v);
                }
                None => {
                    result.shift_remove(k);
                }
            }
        }

        for (field, order) in orders {
            path.push(field.to_string());
            if let Some(Value::Array(list)) = result.get_mut(field) {
                let strategy = self.strategy(path, list, order);
                reorder(list, order, strategy);
            }
            path.pop();
        }
        Ok(Some(result))
    }

    fn merge_list(
        &self,
        original: &[Value],
        patch: &[Value],
        path: &mut Vec<String>,
    ) -> Result<Vec<Value>, MergeError> {
        let is_replace_marker = |v: &Value| {
            v.as_object()
                .and_then(|m| m.get(PATCH))
                .and_then(Value::as_str)
                == Some("replace")
                && v.as_object().is_some_and(|m| m.len() == 1)
        };
        let replace = patch.iter().any(is_replace_marker);
        let strategy = self.strategy(path, original, patch);
        if replace || strategy == ListStrategy::Atomic {
            let mut out = Vec::with_capacity(patch.len());
            for item in patch.iter().filter(|v| !is_replace_marker(v)) {
                if let Some(v) = self.merge_value(None, item, path)? {
                    out.push(v);
                }
            }
            return Ok(out);
        }
        if self.options.list_order == ListOrder::PatchFirst {
            return self.merge_list_patch_first(original, patch, strategy, path);
        }
        let mut result = original.to_vec();
        match strategy {
            ListStrategy::Atomic => {}
            ListStrategy::MergePrimitives => {
                for item in patch {
                    if !result.contains(item) {
                        result.push(item.clone());
                    }
                }
            }
            ListStrategy::MergeByKey(key) => {
                for item in patch {
                    let Value::Object(p) = item else {
                        if !result.contains(item) {
                            result.push(item.clone());
                        }
                        continue;
                    };
                    let directive = p.get(PATCH).and_then(Value::as_str);
                    let Some(key_value) = p.get(key) else {
                        if directive == Some("merge") && p.len() == 1 {
                            continue;
                        }
                        return Err(MergeError::MissingMergeKey {
                            path: dotted(path),
                            key,
                        });
                    };
                    let found = result
                        .iter()
                        .position(|o| o.as_object().and_then(|m| m.get(key)) == Some(key_value));
                    if directive == Some("delete") {
                        if let Some(i) = found {
                            result.remove(i);
                        }
                        continue;
                    }
                    match found {
                        Some(i) => {
                            let empty = Map::new();
                            let o = result[i].as_object().unwrap_or(&empty);
                            match self.merge_map(o, p, path)? {
                                Some(m) => result[i] = Value::Object(m),
                                None => {
                                    result.remove(i);
                                }
                            }
                        }
                        None => {
                            if let Some(m) = self.merge_map(&Map::new(), p, path)? {
                                result.push(Value::Object(m));
                            }
                        }
                    }
                }
            }
        }
        Ok(result)
    }
}

impl Merger<'_> {
    /// Kustomize's list merge: patch elements first, then untouched originals.
    fn merge_list_patch_first(
        &self,
        original: &[Value],
        patch: &[Value],
        strategy: ListStrategy,
        path: &mut Vec<String>,
    ) -> Result<Vec<Value>, MergeError> {
        let mut used = vec![false; original.len()];
        let mut result = Vec::with_capacity(original.len() + patch.len());
        match strategy {
            ListStrategy::Atomic => {}
            ListStrategy::MergePrimitives => {
                for item in patch {
                    if result.contains(item) {
                        continue;
                    }
                    if let Some(i) = original.iter().position(|o| o == item) {
                        used[i] = true;
                    }
                    result.push(item.clone());
                }
            }
            ListStrategy::MergeByKey(key) => {
                for item in patch {
                    let Value::Object(p) = item else {
                        if !result.contains(item) {
                            result.push(item.clone());
                        }
                        continue;
                    };
                    let directive = p.get(PATCH).and_then(Value::as_str);
                    let Some(key_value) = p.get(key) else {
                        if directive == Some("merge") && p.len() == 1 {
                            continue;
                        }
                        return Err(MergeError::MissingMergeKey {
                            path: dotted(path),
                            key,
                        });
                    };
                    let found = original.iter().enumerate().position(|(i, o)| {
                        !used[i] && o.as_object().and_then(|m| m.get(key)) == Some(key_value)
                    });
                    if let Some(i) = found {
                        used[i] = true;
                    }
                    if directive == Some("delete") {
                        continue;
                    }
                    let empty = Map::new();
                    let o = found
                        .and_then(|i| original[i].as_object())
                        .unwrap_or(&empty);
                    if let Some(m) = self.merge_map(o, p, path)? {
                        result.push(Value::Object(m));
                    }
                }
            }
        }
        result.extend(
            original
                .iter()
                .zip(&used)
                .filter(|(_, u)| !**u)
                .map(|(o, _)| o.clone()),
        );
        Ok(result)
    }
}

fn is_directive_key(k: &str) -> bool {
    k == PATCH || k == RETAIN_KEYS || k.starts_with(DELETE_FROM) || k.starts_with(SET_ORDER)
}

/// The key Kustomize would merge a schema-less list of maps by.
fn infer_key(original: &[Value], patch: &[Value]) -> Option<&'static str> {
    let mut items = original.iter().chain(patch).filter(|v| {
        // Directive-only markers do not take part.
        !v.as_object()
            .is_some_and(|m| m.keys().all(|k| is_directive_key(k)))
    });
    let first = items.next()?.as_object()?;
    let key = INFERRED_KEYS.iter().find(|k| first.contains_key(**k))?;
    let all_have = original.iter().chain(patch).all(|v| {
        v.as_object()
            .is_some_and(|m| m.contains_key(*key) || m.keys().all(|k| is_directive_key(k)))
    });
    all_have.then_some(*key)
}

/// Orders `list` by `order`: named elements first in that order, the rest after.
fn reorder(list: &mut Vec<Value>, order: &[Value], strategy: ListStrategy) {
    let identity = |v: &Value| -> Option<Value> {
        match strategy {
            ListStrategy::MergeByKey(key) => v.as_object().and_then(|m| m.get(key)).cloned(),
            _ => Some(v.clone()),
        }
    };
    let wanted: Vec<Option<Value>> = order.iter().map(identity).collect();
    let mut ranked: Vec<(usize, usize, Value)> = list
        .drain(..)
        .enumerate()
        .map(|(i, v)| {
            let id = identity(&v);
            let rank = wanted
                .iter()
                .position(|w| w.is_some() && *w == id)
                .unwrap_or(wanted.len());
            (rank, i, v)
        })
        .collect();
    ranked.sort_by_key(|(rank, i, _)| (*rank, *i));
    list.extend(ranked.into_iter().map(|(_, _, v)| v));
}

#[cfg(test)]
mod tests;
