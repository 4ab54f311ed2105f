//! One live object as the cache keeps it: trimmed to what diff, health and resource trees
//! need, with its identity, owners and application read once.
//!
//! Trimming drops `metadata.managedFields` except the entries of the managers the cache is
//! told to keep (ferrocd's own, for removed-from-Git drift), and the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation (a second copy of the
//! object). Everything else stays: health reads spec and status, trees read owner
//! references. Secret data is kept as the server sent it; nothing here logs objects.

use ferrocd_model::ResourceKey;
use ferrocd_model::annotations::tracking_app;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use kube::api::{DynamicObject, TypeMeta};
use serde_json::Value;

/// The annotation `kubectl apply` (client-side) stores a copy of the object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A live object held by the [`LiveCache`](super::LiveCache): its identity, owners and
/// application read once, and the trimmed object kept as compact JSON text (a tenth of
/// the memory of a parsed `serde_json::Value`), parsed again when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveObject {
    key: ResourceKey,
    uid: String,
    resource_version: String,
    app: Option<String>,
    owner_uids: Vec<String>,
    json: Box<str>,
    managed_fields: Option<Box<str>>,
}

impl LiveObject {
    /// Builds a cache entry from an object in JSON form, trimming it: `managedFields`
    /// entries of managers not in `keep_managers` and the last-applied annotation go.
    pub fn from_value(mut object: Value, keep_managers: &[String]) -> Self {
        let mut managed = None;
        if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            if let Some(Value::Array(entries)) = metadata.remove("managedFields") {
                let kept: Vec<Value> = entries
                    .into_iter()
                    .filter(|e| {
                        e.get("manager")
                            .and_then(Value::as_str)
                            .is_some_and(|m| keep_managers.iter().any(|k| k == m))
                    })
                    .collect();
                if !kept.is_empty() {
                    managed = Some(Value::Array(kept).to_string().into_boxed_str());
                }
            }
            let now_empty = match metadata.get_mut("annotations") {
                Some(Value::Object(annotations)) => {
                    annotations.remove(LAST_APPLIED);
                    annotations.is_empty()
                }
                _ => false,
            };
            if now_empty {
                metadata.remove("annotations");
            }
        }
        let str_at = |ptr: &str| {
            object
                .pointer(ptr)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let owner_uids = object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("uid").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        Self {
            key: ResourceKey::from_object(&object),
            uid: str_at("/metadata/uid"),
            resource_version: str_at("/metadata/resourceVersion"),
            app: tracking_app(&object),
            owner_uids,
            json: object.to_string().into_boxed_str(),
            managed_fields: managed,
        }
    }

    /// Builds a cache entry from what a watcher delivered. `api_version` and `kind` come
    /// from discovery: list items do not always carry them.
    pub(crate) fn from_dynamic(
        mut obj: DynamicObject,
        api_version: &str,
        kind: &str,
        keep_managers: &[String],
    ) -> Result<Self, serde_json::Error> {
        let kept: Vec<ManagedFieldsEntry> = obj
            .metadata
            .managed_fields
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| {
                e.manager
                    .as_deref()
                    .is_some_and(|m| keep_managers.iter().any(|k| k == m))
            })
            .collect();
        if let Some(annotations) = obj.metadata.annotations.as_mut() {
            annotations.remove(LAST_APPLIED);
            if annotations.is_empty() {
                obj.metadata.annotations = None;
            }
        }
        obj.types = Some(TypeMeta {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        });
        let managed_fields = if kept.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&kept)?.into_boxed_str())
        };
        let meta = &obj.metadata;
        // What `tracking_app` reads, without converting the whole object.
        let tracking = serde_json::json!({"metadata": {
            "annotations": meta.annotations.as_ref()
                .and_then(|a| a.get(ferrocd_model::annotations::TRACKING_ID))
                .map(|v| serde_json::json!({ferrocd_model::annotations::TRACKING_ID: v})),
            "labels": meta.labels.as_ref()
                .and_then(|l| l.get(ferrocd_model::annotations::INSTANCE_LABEL))
                .map(|v| serde_json::json!({ferrocd_model::annotations::INSTANCE_LABEL: v})),
        }});
        Ok(Self {
            key: ResourceKey::new(
                ferrocd_model::group_of_api_version(api_version),
                kind,
                meta.namespace.clone().unwrap_or_default(),
                meta.name.clone().unwrap_or_default(),
            ),
            uid: meta.uid.clone().unwrap_or_default(),
            resource_version: meta.resource_version.clone().unwrap_or_default(),
            app: tracking_app(&tracking),
            owner_uids: meta
                .owner_references
                .iter()
                .flatten()
                .map(|r| r.uid.clone())
                .collect(),
            json: serde_json::to_string(&obj)?.into_boxed_str(),
            managed_fields,
        })
    }

    /// Identity.
    pub fn key(&self) -> &ResourceKey {
        &self.key
    }

    /// `metadata.uid` (empty when the server sent none).
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// `metadata.resourceVersion`.
    pub fn resource_version(&self) -> &str {
        &self.resource_version
    }

    /// The application that tracks this object itself (annotation or instance label).
    pub fn app(&self) -> Option<&str> {
        self.app.as_deref()
    }

    /// UIDs of the owners in `metadata.ownerReferences`.
    pub fn owner_uids(&self) -> &[String] {
        &self.owner_uids
    }

    /// The trimmed object (no `managedFields`, no last-applied annotation), parsed.
    pub fn object(&self) -> Value {
        parse(&self.json)
    }

    /// The trimmed object as compact JSON text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The `managedFields` entries kept (those of the kept managers), as a JSON array —
    /// what `ferrocd_diff::diff_with_managed_fields` takes.
    pub fn managed_fields(&self) -> Option<Value> {
        self.managed_fields.as_deref().map(parse)
    }

    /// The object with the kept `managedFields` entries put back in its metadata, for
    /// callers that read them from the object (`ferrocd_diff::diff`).
    pub fn to_value_with_managed_fields(&self) -> Value {
        let mut out = self.object();
        if let (Some(managed), Some(metadata)) = (
            self.managed_fields(),
            out.get_mut("metadata").and_then(Value::as_object_mut),
        ) {
            metadata.insert("managedFields".to_string(), managed);
        }
        out
    }

    /// Bytes of JSON text held: object plus kept managed fields.
    pub fn bytes(&self) -> usize {
        self.json.len() + self.managed_fields.as_ref().map_or(0, |m| m.len())
    }
}

/// Parses text this module wrote from a `Value` or a `DynamicObject`; that cannot fail,
/// but a failure would read as `null` rather than panic.
fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "mlflow-5d9c7b-x2x4q", "namespace": "ml-dev", "uid": "pod-1",
                "resourceVersion": "42",
                "labels": {"app.kubernetes.io/name": "mlflow"},
                "annotations": {LAST_APPLIED: "{\"big\":\"copy\"}"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "mlflow-5d9c7b", "uid": "rs-1", "controller": true}],
                "managedFields": [
                    {"manager": "ferrocd", "operation": "Apply", "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:spec": {}}},
                    {"manager": "kube-controller-manager", "operation": "Update",
                     "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {}}}
                ]
            },
            "spec": {"containers": [{"name": "mlflow", "image": "ghcr.io/mlflow/mlflow:v2.16.2"}]},
            "status": {"phase": "Running"}
        })
    }

    #[test]
    fn trims_managed_fields_but_keeps_the_kept_managers() {
        let live = LiveObject::from_value(pod(), &["ferrocd".to_string()]);
        assert!(live.object().pointer("/metadata/managedFields").is_none());
        let managed = live.managed_fields();
        let managers: Vec<&str> = managed
            .iter()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|e| e["manager"].as_str())
            .collect();
        assert_eq!(managers, ["ferrocd"]);
        let back = live.to_value_with_managed_fields();
        assert_eq!(back["metadata"]["managedFields"][0]["manager"], "ferrocd");
    }

    #[test]
    fn drops_last_applied_and_an_emptied_annotation_map() {
        let live = LiveObject::from_value(pod(), &[]);
        assert!(live.object().pointer("/metadata/annotations").is_none());
        assert!(live.managed_fields().is_none());
        assert_eq!(live.object()["status"]["phase"], "Running");
        assert_eq!(live.object()["spec"]["containers"][0]["name"], "mlflow");
    }

    #[test]
    fn reads_identity_owners_and_app() {
        let mut obj = pod();
        obj["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] =
            json!("mlflow-dev:/Pod:ml-dev/mlflow-5d9c7b-x2x4q");
        let live = LiveObject::from_value(obj, &[]);
        assert_eq!(
            live.key(),
            &ResourceKey::new("", "Pod", "ml-dev", "mlflow-5d9c7b-x2x4q")
        );
        assert_eq!(live.uid(), "pod-1");
        assert_eq!(live.resource_version(), "42");
        assert_eq!(live.owner_uids(), ["rs-1".to_string()]);
        assert_eq!(live.app(), Some("mlflow-dev"));
        // the tracking annotation stays; only last-applied went
        assert!(
            live.object()
                .pointer("/metadata/annotations/argocd.argoproj.io~1tracking-id")
                .is_some()
        );
    }

    #[test]
    fn size_is_the_compact_json_length() {
        let live = LiveObject::from_value(pod(), &["ferrocd".to_string()]);
        let expected = live.object().to_string().len()
            + live.managed_fields().map_or(0, |m| m.to_string().len());
        assert_eq!(live.bytes(), expected);
        assert_eq!(live.json(), live.object().to_string());
        assert!(live.bytes() < serde_json::to_vec(&pod()).map(|v| v.len()).unwrap_or(0));
    }

    #[test]
    fn dynamic_objects_get_their_type_from_discovery() {
        let mut obj = pod();
        obj["metadata"]["labels"]["app.kubernetes.io/instance"] = json!("mlflow-dev");
        if let Some(m) = obj.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
        }
        let dynamic: DynamicObject = serde_json::from_value(obj).expect("a DynamicObject");
        let live = LiveObject::from_dynamic(dynamic, "v1", "Pod", &["ferrocd".to_string()])
            .expect("converted");
        assert_eq!(live.object()["apiVersion"], "v1");
        assert_eq!(live.object()["kind"], "Pod");
        assert_eq!(live.key().kind, "Pod");
        assert!(live.object().pointer("/metadata/managedFields").is_none());
        assert!(live.object().pointer("/metadata/annotations").is_none());
        assert_eq!(
            live.managed_fields()
                .and_then(|m| m.as_array().map(Vec::len)),
            Some(1)
        );
        assert_eq!(live.owner_uids(), ["rs-1".to_string()]);
        assert_eq!(live.app(), Some("mlflow-dev"));
        assert_eq!(live.uid(), "pod-1");
        assert_eq!(live.resource_version(), "42");
        assert_eq!(
            live.key(),
            &ResourceKey::new("", "Pod", "ml-dev", "mlflow-5d9c7b-x2x4q")
        );
    }
}
