//! Object metadata as ferrocd needs it: the fields it reads (name, namespace, labels,
//! annotations, finalizers) typed, every other field kept as is so that an object read
//! from a file or a cluster is written back without loss.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Unknown fields kept verbatim, so that parsing and writing an object back loses nothing.
pub type Extra = BTreeMap<String, serde_json::Value>;

/// Metadata of a Kubernetes object (`metadata`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace; `None` for cluster-scoped objects or when left to the context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Finalizers, e.g. `resources-finalizer.argocd.argoproj.io`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// Every other metadata field (uid, resourceVersion, generation, managedFields, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ObjectMeta {
    /// Metadata with a name and a namespace.
    pub fn named(name: impl Into<String>, namespace: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: Some(namespace.into()),
            ..Self::default()
        }
    }

    /// The namespace, or `""` when unset.
    pub fn namespace_or_empty(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }
}

/// True when a value equals its type's default; used to leave absent structs absent.
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
