//! Identity of a Kubernetes object independent of its API version.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identity of an object: group, kind, namespace and name. The version is left out on
/// purpose: `apps/v1` and `apps/v1beta2` Deployments with the same name are the same object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct ResourceKey {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResourceKey {
    /// Builds a key from its four parts.
    pub fn new(
        group: impl Into<String>,
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Reads the key of a Kubernetes object in JSON form (`apiVersion`, `kind`,
    /// `metadata.namespace`, `metadata.name`). Missing parts become empty strings.
    pub fn from_object(obj: &serde_json::Value) -> Self {
        let str_at = |ptr: &str| obj.pointer(ptr).and_then(|v| v.as_str()).unwrap_or("");
        Self {
            group: group_of_api_version(str_at("/apiVersion")).to_string(),
            kind: str_at("/kind").to_string(),
            namespace: str_at("/metadata/namespace").to_string(),
            name: str_at("/metadata/name").to_string(),
        }
    }

    /// The Argo CD tracking-id value for this object in application `app`:
    /// `<app>:<group>/<kind>:<namespace>/<name>`.
    pub fn tracking_id(&self, app: &str) -> String {
        format!(
            "{app}:{}/{}:{}/{}",
            self.group, self.kind, self.namespace, self.name
        )
    }

    /// Parses an Argo CD tracking-id value into the application name and the key.
    pub fn parse_tracking_id(value: &str) -> Option<(String, ResourceKey)> {
        let (app, rest) = value.split_once(':')?;
        let (gk, nn) = rest.split_once(':')?;
        let (group, kind) = gk.split_once('/')?;
        let (namespace, name) = nn.split_once('/')?;
        if app.is_empty() || kind.is_empty() || name.is_empty() {
            return None;
        }
        Some((
            app.to_string(),
            ResourceKey::new(group, kind, namespace, name),
        ))
    }
}

/// The group part of an `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of_api_version(api_version: &str) -> &str {
    match api_version.split_once('/') {
        Some((group, _)) => group,
        None => "",
    }
}

impl fmt::Display for ResourceKey {
    /// `group/Kind namespace/name`, the form used in messages (`apps/Deployment ml/api`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.group.is_empty() {
            write!(f, "{}/", self.group)?;
        }
        write!(f, "{}", self.kind)?;
        if self.namespace.is_empty() {
            write!(f, " {}", self.name)
        } else {
            write!(f, " {}/{}", self.namespace, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_id_round_trips() {
        let key = ResourceKey::new("apps", "Deployment", "ml", "api");
        let id = key.tracking_id("mlflow");
        assert_eq!(id, "mlflow:apps/Deployment:ml/api");
        assert_eq!(
            ResourceKey::parse_tracking_id(&id),
            Some(("mlflow".to_string(), key))
        );
    }

    #[test]
    fn tracking_id_of_core_cluster_scoped_object() {
        let key = ResourceKey::new("", "Namespace", "", "ml");
        assert_eq!(key.tracking_id("root"), "root:/Namespace:/ml");
        assert_eq!(
            ResourceKey::parse_tracking_id("root:/Namespace:/ml"),
            Some(("root".to_string(), key))
        );
        assert_eq!(ResourceKey::parse_tracking_id("garbage"), None);
    }

    #[test]
    fn key_from_object_ignores_version() {
        let obj = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "namespace": "b"}});
        assert_eq!(
            ResourceKey::from_object(&obj),
            ResourceKey::new("apps", "Deployment", "b", "a")
        );
        assert_eq!(
            ResourceKey::from_object(&obj).to_string(),
            "apps/Deployment b/a"
        );
    }
}
