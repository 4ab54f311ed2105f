//! `ignoreDifferences`, as Argo CD has them: rules from the Application
//! (`spec.ignoreDifferences`) and system-wide rules from `argocd-cm`
//! (`resource.customizations.ignoreDifferences.<group>_<Kind>`,
//! `resource.customizations.ignoreDifferences.all`, and the older `resource.customizations`
//! map). A rule selects objects by group, kind (both may use `*`), name and namespace
//! (empty selects all) and names what to leave out of the comparison: JSON pointers, jq
//! path expressions and the fields owned by given field managers. Matched paths are
//! removed from both desired and live before comparing.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::managed_fields::FieldSet;
use crate::{DiffError, jq};

/// One ignoreDifferences rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IgnoreRule {
    /// API group (`apps`; empty for core); `*` wildcards allowed.
    pub group: String,
    /// Kind; `*` wildcards allowed; empty matches every kind.
    pub kind: String,
    /// Object name; empty matches every name.
    pub name: String,
    /// Namespace; empty matches every namespace.
    pub namespace: String,
    /// RFC 6901 JSON pointers (`/spec/replicas`).
    pub json_pointers: Vec<String>,
    /// jq path expressions (`.spec.template.spec.containers[] | select(.name == "istio-proxy")`).
    pub jq_path_expressions: Vec<String>,
    /// Field managers whose fields are ignored (`kube-controller-manager`).
    pub managed_fields_managers: Vec<String>,
}

/// The body of an `argocd-cm` ignoreDifferences value (no selector: the key selects).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RuleBody {
    json_pointers: Vec<String>,
    jq_path_expressions: Vec<String>,
    managed_fields_managers: Vec<String>,
}

const IGNORE_PREFIX: &str = "resource.customizations.ignoreDifferences.";

impl IgnoreRule {
    /// Whether the rule applies to an object of this group, kind, namespace and name.
    pub fn matches(&self, group: &str, kind: &str, namespace: &str, name: &str) -> bool {
        glob(&self.group, group)
            && (self.kind.is_empty() || glob(&self.kind, kind))
            && (self.name.is_empty() || self.name == name)
            && (self.namespace.is_empty() || self.namespace == namespace)
    }

    /// Reads the Application's `spec.ignoreDifferences` list.
    pub fn from_application(app: &Value) -> Result<Vec<IgnoreRule>, DiffError> {
        match app.pointer("/spec/ignoreDifferences") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(list) => serde_json::from_value(list.clone()).map_err(|e| DiffError::Settings {
                key: "spec.ignoreDifferences".to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// Reads the system-wide rules of an `argocd-cm` ConfigMap (whole object or `data`).
    pub fn from_config_map(cm: &Value) -> Result<Vec<IgnoreRule>, DiffError> {
        let data = cm.get("data").unwrap_or(cm);
        let Some(data) = data.as_object() else {
            return Ok(Vec::new());
        };
        let mut rules = Vec::new();
        for (key, value) in data {
            let Some(selector) = key.strip_prefix(IGNORE_PREFIX) else {
                continue;
            };
            let (group, kind) = if selector == "all" {
                ("*".to_string(), String::new())
            } else {
                match selector.split_once('_') {
                    Some((g, k)) => (g.to_string(), k.to_string()),
                    None => (String::new(), selector.to_string()),
                }
            };
            let text = value.as_str().ok_or_else(|| DiffError::Settings {
                key: key.clone(),
                message: "value is not a string".to_string(),
            })?;
            let body: RuleBody = parse_yaml(key, text)?;
            rules.push(body.into_rule(group, kind));
        }
        if let Some(legacy) = data.get("resource.customizations").and_then(Value::as_str) {
            let map: Value = parse_yaml("resource.customizations", legacy)?;
            for (gk, entry) in map.as_object().into_iter().flatten() {
                let Some(text) = entry.get("ignoreDifferences").and_then(Value::as_str) else {
                    continue;
                };
                let key = format!("resource.customizations[{gk}].ignoreDifferences");
                let body: RuleBody = parse_yaml(&key, text)?;
                let (group, kind) = gk.rsplit_once('/').unwrap_or(("", gk));
                rules.push(body.into_rule(group.to_string(), kind.to_string()));
            }
        }
        Ok(rules)
    }
}

impl RuleBody {
    fn into_rule(self, group: String, kind: String) -> IgnoreRule {
        IgnoreRule {
            group,
            kind,
            json_pointers: self.json_pointers,
            jq_path_expressions: self.jq_path_expressions,
            managed_fields_managers: self.managed_fields_managers,
            ..IgnoreRule::default()
        }
    }
}

fn parse_yaml<T: serde::de::DeserializeOwned + Default>(
    key: &str,
    text: &str,
) -> Result<T, DiffError> {
    if text.trim().is_empty() {
        return Ok(T::default());
    }
    serde_saphyr::from_str(text).map_err(|e| DiffError::Settings {
        key: key.to_string(),
        message: e.to_string(),
    })
}

/// `*`-only glob matching.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == text;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if text.len() < first.len() + last.len() || !text.starts_with(first) || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Applies the matching rules to both sides.
pub(crate) fn apply(
    rules: &[&IgnoreRule],
    desired: &mut Option<Value>,
    live: &mut Option<Value>,
    live_managed_fields: Option<&Value>,
    jq_timeout: Duration,
) -> Result<(), DiffError> {
    for rule in rules {
        for pointer in &rule.json_pointers {
            for side in [desired.as_mut(), live.as_mut()].into_iter().flatten() {
                remove_pointer(side, pointer);
            }
        }
        for expression in &rule.jq_path_expressions {
            for side in [desired.as_mut(), live.as_mut()].into_iter().flatten() {
                let paths = jq::paths(expression, side, jq_timeout)?;
                jq::remove_all(side, paths);
            }
        }
        if !rule.managed_fields_managers.is_empty()
            && let Some(managed) = live_managed_fields
        {
            let owned = FieldSet::of_managers(managed, &rule.managed_fields_managers)?;
            for side in [desired.as_mut(), live.as_mut()].into_iter().flatten() {
                owned.remove_from(side);
            }
        }
    }
    Ok(())
}

/// Removes the value at an RFC 6901 pointer (no-op when absent or malformed).
pub(crate) fn remove_pointer(value: &mut Value, pointer: &str) {
    if pointer.is_empty() || !pointer.starts_with('/') {
        return;
    }
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// Checks the jq expressions of rules compile, so bad settings are reported up front.
pub fn validate(rules: &[IgnoreRule]) -> Result<(), DiffError> {
    for rule in rules {
        for expression in &rule.jq_path_expressions {
            jq::check(expression)?;
        }
    }
    Ok(())
}

/// Sync option `RespectIgnoreDifferences=true`: the desired object to apply, where every
/// field an ignoreDifferences rule selects keeps its live value (or is left out when live
/// has none), so that a sync does not undo what the rules say to ignore (the replicas an
/// HPA set, a sidecar a webhook injected). Fields owned by `managedFieldsManagers` are left
/// out of desired, so ferrocd does not claim them.
pub fn respect_ignore_differences(
    desired: &Value,
    live: Option<&Value>,
    rules: &[IgnoreRule],
    jq_timeout: Duration,
) -> Result<Value, DiffError> {
    let mut out = desired.clone();
    let Some(live) = live else {
        return Ok(out);
    };
    let key = ferrocd_model::ResourceKey::from_object(desired);
    let managed = live.pointer("/metadata/managedFields");
    for rule in rules
        .iter()
        .filter(|r| r.matches(&key.group, &key.kind, &key.namespace, &key.name))
    {
        for pointer in &rule.json_pointers {
            match live.pointer(pointer) {
                Some(v) => {
                    if let Some(slot) = out.pointer_mut(pointer) {
                        *slot = v.clone();
                    }
                }
                None => remove_pointer(&mut out, pointer),
            }
        }
        for expression in &rule.jq_path_expressions {
            // The same expression selects the corresponding values on both sides; they
            // are paired in order when it selects as many on each side (positions in
            // keyed lists may differ), else by identical path.
            let mine = jq::paths(expression, &out, jq_timeout)?;
            let theirs = jq::paths(expression, live, jq_timeout)?;
            let mut gone = Vec::new();
            for (i, path) in mine.iter().enumerate() {
                let live_path = if mine.len() == theirs.len() {
                    theirs.get(i)
                } else {
                    theirs.iter().find(|p| *p == path)
                };
                match live_path.and_then(|p| jq::get(live, p)) {
                    Some(v) => jq::replace(&mut out, path, v.clone()),
                    None => gone.push(path.clone()),
                }
            }
            jq::remove_all(&mut out, gone);
        }
        if !rule.managed_fields_managers.is_empty()
            && let Some(managed) = managed
        {
            FieldSet::of_managers(managed, &rule.managed_fields_managers)?.remove_from(&mut out);
        }
    }
    Ok(out)
}
