//! From rendered manifests to the desired state of an application: every object placed
//! in its namespace (the destination namespace for namespaced objects that name none,
//! none for cluster-scoped ones), stamped with the application's tracking annotation
//! `argocd.argoproj.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>` and keyed by
//! its [`ResourceKey`]. The same object rendered twice is an error naming both origins.
//!
//! The only I/O is the cluster's discovery index (is a kind namespaced?); kinds defined by
//! a CustomResourceDefinition of the same render are placed from that CRD's `spec.scope`,
//! so a first sync of an operator and its custom resources can be prepared before the
//! CRD exists.

use std::collections::{BTreeMap, HashMap};

use ferrocd_cluster::{Cluster, ClusterError};
use ferrocd_manifest::Manifest;
use ferrocd_model::ResourceKey;
use ferrocd_model::annotations::TRACKING_ID;
use serde_json::{Map, Value};

/// One desired object.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    /// Its identity after namespace placement (empty name for `generateName` hooks).
    pub key: ResourceKey,
    /// The object, placed and stamped with the tracking annotation.
    pub object: Value,
    /// Where it was rendered from (`file:line`).
    pub origin: String,
}

/// The desired state of an application, in render order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredState {
    /// The objects.
    pub objects: Vec<DesiredObject>,
}

impl DesiredState {
    /// The objects as the planner takes them.
    pub fn to_plan_input(&self) -> Vec<(ResourceKey, Value)> {
        self.objects
            .iter()
            .map(|o| (o.key.clone(), o.object.clone()))
            .collect()
    }

    /// The object with this key, if desired.
    pub fn get(&self, key: &ResourceKey) -> Option<&DesiredObject> {
        self.objects.iter().find(|o| &o.key == key)
    }

    /// The namespaces the objects live in (sorted, without the empty one).
    pub fn namespaces(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .objects
            .iter()
            .map(|o| o.key.namespace.clone())
            .filter(|n| !n.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// True when nothing is desired.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

/// Why the desired state could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The same object was rendered twice.
    #[error("object {key} is rendered twice: at {first} and at {second}")]
    Duplicate {
        /// The object.
        key: ResourceKey,
        /// Origin of the first copy.
        first: String,
        /// Origin of the second copy.
        second: String,
    },
    /// An object has no `metadata` map.
    #[error("{origin}: object {key} has no metadata")]
    NoMetadata {
        /// The object as far as known.
        key: ResourceKey,
        /// Where it was rendered from.
        origin: String,
    },
    /// The cluster does not serve the object's kind and no CRD of this render defines it.
    #[error("{origin}: placing {key}")]
    Placement {
        /// The object.
        key: ResourceKey,
        /// Where it was rendered from.
        origin: String,
        /// The cluster's answer.
        #[source]
        source: ClusterError,
    },
}

/// Options of [`prepare`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrepareOptions {
    /// The application's tracking name.
    pub app: String,
    /// Namespace for namespaced objects that name none (the Application's destination).
    pub destination_namespace: String,
}

/// Places, stamps and keys the rendered manifests of an application.
pub async fn prepare(
    cluster: &Cluster,
    manifests: &[Manifest],
    opts: &PrepareOptions,
) -> Result<DesiredState, PrepareError> {
    let crd_scopes = crd_scopes(manifests);
    let mut objects = Vec::with_capacity(manifests.len());
    let mut seen: HashMap<ResourceKey, String> = HashMap::new();
    for manifest in manifests {
        let mut object = manifest.object.clone();
        let origin = manifest.origin.to_string();
        let key = ResourceKey::from_object(&object);
        if !object.get("metadata").is_some_and(Value::is_object) {
            return Err(PrepareError::NoMetadata { key, origin });
        }
        match cluster
            .place_in_namespace(&mut object, &opts.destination_namespace)
            .await
        {
            Ok(()) => {}
            Err(ClusterError::UnknownKind { .. })
                if crd_scopes.contains_key(&(key.group.clone(), key.kind.clone())) =>
            {
                let namespaced = crd_scopes[&(key.group.clone(), key.kind.clone())];
                place_by_scope(&mut object, namespaced, &opts.destination_namespace);
            }
            Err(source) => {
                return Err(PrepareError::Placement {
                    key,
                    origin,
                    source,
                });
            }
        }
        let key = ResourceKey::from_object(&object);
        if !key.name.is_empty() {
            if let Some(first) = seen.get(&key) {
                return Err(PrepareError::Duplicate {
                    key,
                    first: first.clone(),
                    second: origin,
                });
            }
            seen.insert(key.clone(), origin.clone());
            stamp(&mut object, &key.tracking_id(&opts.app));
        }
        objects.push(DesiredObject {
            key,
            object,
            origin,
        });
    }
    Ok(DesiredState { objects })
}

/// Kinds defined by the CRDs of this render: (group, kind) → namespaced.
fn crd_scopes(manifests: &[Manifest]) -> BTreeMap<(String, String), bool> {
    manifests
        .iter()
        .filter(|m| {
            m.kind() == "CustomResourceDefinition"
                && m.api_version().starts_with("apiextensions.k8s.io/")
        })
        .filter_map(|m| {
            let group = m.object.pointer("/spec/group")?.as_str()?;
            let kind = m.object.pointer("/spec/names/kind")?.as_str()?;
            let scope = m
                .object
                .pointer("/spec/scope")
                .and_then(Value::as_str)
                .unwrap_or("Namespaced");
            Some(((group.to_string(), kind.to_string()), scope != "Cluster"))
        })
        .collect()
}

fn place_by_scope(obj: &mut Value, namespaced: bool, default_namespace: &str) {
    let Some(metadata) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let has = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if namespaced && !has && !default_namespace.is_empty() {
        metadata.insert(
            "namespace".into(),
            Value::String(default_namespace.to_string()),
        );
    } else if !namespaced {
        metadata.remove("namespace");
    }
}

/// Sets the tracking annotation of an object.
pub fn stamp(obj: &mut Value, tracking_id: &str) {
    let Some(metadata) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    if let Some(map) = annotations.as_object_mut() {
        map.insert(TRACKING_ID.into(), Value::String(tracking_id.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocd_manifest::Origin;
    use serde_json::json;

    #[test]
    fn stamp_adds_and_replaces_the_tracking_id() {
        let mut obj = json!({"metadata": {"name": "a", "annotations": {"x": "1", TRACKING_ID: "old:/ConfigMap:/a"}}});
        stamp(&mut obj, "mlflow:/ConfigMap:ml/a");
        assert_eq!(
            obj["metadata"]["annotations"][TRACKING_ID],
            "mlflow:/ConfigMap:ml/a"
        );
        assert_eq!(obj["metadata"]["annotations"]["x"], "1");
        let mut bare = json!({"metadata": {"name": "a", "annotations": null}});
        stamp(&mut bare, "a:/ConfigMap:ml/a");
        assert_eq!(
            bare["metadata"]["annotations"][TRACKING_ID],
            "a:/ConfigMap:ml/a"
        );
    }

    #[test]
    fn crd_scopes_read_group_kind_and_scope() {
        let crd = Manifest {
            object: json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "inferenceservices.serving.ml.dev"},
                "spec": {"group": "serving.ml.dev", "scope": "Namespaced",
                         "names": {"kind": "InferenceService", "plural": "inferenceservices"}}}),
            origin: Origin {
                file: "crd.yaml".into(),
                line: 1,
            },
        };
        let cluster_crd = Manifest {
            object: json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "gpupools.ml.dev"},
                "spec": {"group": "ml.dev", "scope": "Cluster", "names": {"kind": "GpuPool"}}}),
            origin: Origin::default(),
        };
        let scopes = crd_scopes(&[crd, cluster_crd]);
        assert_eq!(
            scopes.get(&("serving.ml.dev".into(), "InferenceService".into())),
            Some(&true)
        );
        assert_eq!(
            scopes.get(&("ml.dev".into(), "GpuPool".into())),
            Some(&false)
        );
    }

    #[test]
    fn place_by_scope_sets_or_removes_the_namespace() {
        let mut obj = json!({"metadata": {"name": "a"}});
        place_by_scope(&mut obj, true, "ml");
        assert_eq!(obj["metadata"]["namespace"], "ml");
        place_by_scope(&mut obj, false, "ml");
        assert!(obj["metadata"].get("namespace").is_none());
    }
}
