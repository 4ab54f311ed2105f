//! Custom health checks from an `argocd-cm` ConfigMap.
//!
//! Two forms are read, as Argo CD does:
//! - one key per kind: `resource.customizations.health.<group>_<Kind>` (the core group is
//!   written `_Kind` or `Kind`), whose value is the Lua script;
//! - the older multi-key form: `resource.customizations`, a YAML map from `<group>/<Kind>`
//!   to `{health.lua: <script>}`, where group and kind may hold `*` wildcards
//!   (`"*.aws.crossplane.io/*"`, `argoproj.io/*`).
//!
//! Exact matches win over wildcards; among wildcards the first declared wins. A script
//! that fails (error, time or memory limit, bad result) gives `Unknown` with the error as
//! message. A script that returns `nil` (or a table without status) defers to the built-in
//! check. `resource.customizations.useOpenLibs.*` keys are accepted but do not widen the
//! sandbox: scripts never get `io` or the unsafe parts of `os`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::HealthAssessment;
use crate::lua::{LuaLimits, run_health_script};

const HEALTH_PREFIX: &str = "resource.customizations.health.";
const LEGACY_KEY: &str = "resource.customizations";

/// Errors reading customizations from a ConfigMap.
#[derive(Debug, thiserror::Error)]
pub enum CustomizationError {
    /// The ConfigMap has a `data` that is not a map of strings.
    #[error("reading argocd-cm: data.{key} is not a string")]
    NotAString {
        /// The offending key.
        key: String,
    },
    /// The legacy `resource.customizations` value is not valid YAML.
    #[error("parsing argocd-cm data.resource.customizations as YAML")]
    LegacyYaml {
        /// The YAML error.
        #[source]
        source: serde_saphyr::Error,
    },
    /// A key of the legacy form is not `<group>/<Kind>`.
    #[error("reading argocd-cm data.resource.customizations: key {key:?} is not <group>/<Kind>")]
    LegacyKey {
        /// The offending key.
        key: String,
    },
}

/// The Lua health checks of an `argocd-cm` ConfigMap, ready to run. Cheap to clone and
/// `Send + Sync`; compiled scripts are cached per thread.
#[derive(Debug, Clone, Default)]
pub struct HealthCustomizations {
    exact: HashMap<(String, String), Arc<str>>,
    wildcards: Vec<(String, String, Arc<str>)>,
    /// Limits applied to every script run.
    pub limits: LuaLimits,
}

impl HealthCustomizations {
    /// Reads the health scripts of an `argocd-cm` ConfigMap (a whole object with `data`,
    /// or just the `data` map).
    pub fn from_config_map(cm: &Value) -> Result<Self, CustomizationError> {
        let mut out = Self::default();
        let data = match cm.get("data") {
            Some(d) => d,
            None if cm.get("kind").is_none() => cm,
            None => return Ok(out),
        };
        let Some(data) = data.as_object() else {
            return Ok(out);
        };
        for (key, value) in data {
            if let Some(gk) = key.strip_prefix(HEALTH_PREFIX) {
                let script = value
                    .as_str()
                    .ok_or_else(|| CustomizationError::NotAString { key: key.clone() })?;
                let (group, kind) = match gk.split_once('_') {
                    Some((group, kind)) => (group, kind),
                    None => ("", gk),
                };
                out.insert(group, kind, script);
            }
        }
        if let Some(legacy) = data.get(LEGACY_KEY) {
            let text = legacy
                .as_str()
                .ok_or_else(|| CustomizationError::NotAString {
                    key: LEGACY_KEY.to_string(),
                })?;
            out.read_legacy(text)?;
        }
        Ok(out)
    }

    fn read_legacy(&mut self, text: &str) -> Result<(), CustomizationError> {
        if text.trim().is_empty() {
            return Ok(());
        }
        let map: ordered::OrderedMap = serde_saphyr::from_str(text)
            .map_err(|source| CustomizationError::LegacyYaml { source })?;
        for (key, entry) in map.0 {
            let Some(script) = entry.get("health.lua").and_then(Value::as_str) else {
                continue;
            };
            let (group, kind) = key
                .rsplit_once('/')
                .ok_or_else(|| CustomizationError::LegacyKey { key: key.clone() })?;
            if self
                .exact
                .contains_key(&(group.to_string(), kind.to_string()))
            {
                // The per-kind key form takes precedence over the legacy map.
                continue;
            }
            self.insert(group, kind, script);
        }
        Ok(())
    }

    /// Adds (or replaces) the script for a group and kind; `*` in either is a wildcard.
    pub fn insert(&mut self, group: &str, kind: &str, script: &str) {
        let script: Arc<str> = Arc::from(script);
        if group.contains('*') || kind.contains('*') {
            self.wildcards
                .push((group.to_string(), kind.to_string(), script));
        } else {
            self.exact
                .insert((group.to_string(), kind.to_string()), script);
        }
    }

    /// Whether no script is configured.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcards.is_empty()
    }

    /// The script that applies to a group and kind, if any.
    pub fn script_for(&self, group: &str, kind: &str) -> Option<&str> {
        if let Some(s) = self.exact.get(&(group.to_string(), kind.to_string())) {
            return Some(s);
        }
        self.wildcards
            .iter()
            .find(|(g, k, _)| glob_match(g, group) && glob_match(k, kind))
            .map(|(_, _, s)| &**s)
    }

    /// Runs the matching script: `None` when no script applies or it has no opinion.
    pub(crate) fn run(&self, group: &str, kind: &str, obj: &Value) -> Option<HealthAssessment> {
        let script = self.script_for(group, kind)?;
        match run_health_script(script, obj, &self.limits) {
            Ok(result) => result,
            Err(e) => Some(HealthAssessment::unknown(e.to_string())),
        }
    }
}

/// `*`-only glob matching (`*` matches any run of characters, including none).
fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
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

/// A YAML map read in document order (Argo CD gives the first matching wildcard).
mod ordered {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde_json::Value;

    pub(super) struct OrderedMap(pub Vec<(String, Value)>);

    impl<'de> Deserialize<'de> for OrderedMap {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = OrderedMap;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a map from <group>/<Kind> to customizations")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = map.next_entry::<String, Value>()? {
                        out.push((k, v));
                    }
                    Ok(OrderedMap(out))
                }
            }
            d.deserialize_map(V)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("*.aws.crossplane.io", "ec2.aws.crossplane.io"));
        assert!(!glob_match("*.aws.crossplane.io", "aws.crossplane.io"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXc"));
        assert!(glob_match("Kind", "Kind"));
    }
}
