//! The resource types the sandbox serves: the built-in Kubernetes kinds and the kinds that
//! CustomResourceDefinitions add at run time.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::Value;

/// One served resource type (a `group/version` + plural name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group ("" for the core group).
    pub group: String,
    /// API version inside the group.
    pub version: String,
    /// Kind of one object.
    pub kind: String,
    /// Plural (the URL segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names for kubectl.
    pub short_names: Vec<String>,
    /// Categories such as `all`.
    pub categories: Vec<String>,
    /// Whether `/status` is a subresource (the main resource then ignores status changes).
    pub status_subresource: bool,
    /// Whether `/scale` is a subresource.
    pub scale_subresource: bool,
    /// Whether `metadata.generation` is maintained.
    pub tracks_generation: bool,
    /// Whether the type comes from a CustomResourceDefinition.
    pub custom: bool,
}

impl ResourceType {
    /// The store key of the type: `group/plural`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// `apiVersion` of objects of this type.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The qualified resource name used in error messages (`deployments.apps`).
    pub fn qualified(&self) -> String {
        self.dotted_with_group(&self.plural)
    }

    /// The qualified kind used in `Invalid` messages (`Deployment.apps`).
    pub fn qualified_kind(&self) -> String {
        self.dotted_with_group(&self.kind)
    }

    /// `name.group`, or just `name` in the core group.
    fn dotted_with_group(&self, name: &str) -> String {
        if self.group.is_empty() {
            name.to_string()
        } else {
            format!("{name}.{}", self.group)
        }
    }

    /// The URL prefix of the group version (`/api/v1` or `/apis/apps/v1`).
    pub fn gv_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

struct Builtin {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    all: bool,
    status: bool,
    scale: bool,
    generation: bool,
}

const fn b(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    flags: (bool, bool, bool, bool),
) -> Builtin {
    Builtin {
        group,
        version,
        kind,
        plural,
        namespaced,
        short,
        all: flags.0,
        status: flags.1,
        scale: flags.2,
        generation: flags.3,
    }
}

// flags: (category all, status subresource, scale subresource, generation)
const NONE: (bool, bool, bool, bool) = (false, false, false, false);
const BUILTINS: &[Builtin] = &[
    b(
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
        &["ns"],
        (false, true, false, false),
    ),
    b("", "v1", "ConfigMap", "configmaps", true, &["cm"], NONE),
    b("", "v1", "Secret", "secrets", true, &[], NONE),
    b(
        "",
        "v1",
        "Service",
        "services",
        true,
        &["svc"],
        (true, true, false, false),
    ),
    b("", "v1", "Endpoints", "endpoints", true, &["ep"], NONE),
    b(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        &["sa"],
        NONE,
    ),
    b(
        "",
        "v1",
        "Pod",
        "pods",
        true,
        &["po"],
        (true, true, false, true),
    ),
    b(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        false,
        &["pv"],
        (false, true, false, false),
    ),
    b(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        &["pvc"],
        (false, true, false, false),
    ),
    b(
        "",
        "v1",
        "Node",
        "nodes",
        false,
        &["no"],
        (false, true, false, false),
    ),
    b("", "v1", "Event", "events", true, &["ev"], NONE),
    b(
        "",
        "v1",
        "LimitRange",
        "limitranges",
        true,
        &["limits"],
        NONE,
    ),
    b(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        true,
        &["quota"],
        (false, true, false, false),
    ),
    b(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        &["deploy"],
        (true, true, true, true),
    ),
    b(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        &["sts"],
        (true, true, true, true),
    ),
    b(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        &["ds"],
        (true, true, false, true),
    ),
    b(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        &["rs"],
        (true, true, true, true),
    ),
    b(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        true,
        &[],
        NONE,
    ),
    b(
        "batch",
        "v1",
        "Job",
        "jobs",
        true,
        &[],
        (true, true, false, true),
    ),
    b(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        true,
        &["cj"],
        (true, true, false, true),
    ),
    b(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        true,
        &["ing"],
        (false, true, false, true),
    ),
    b(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        false,
        &[],
        (false, false, false, true),
    ),
    b(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
        (false, false, false, true),
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
        NONE,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
        NONE,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
        NONE,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
        NONE,
    ),
    b(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        &["hpa"],
        (true, true, false, true),
    ),
    b(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
        (false, true, false, true),
    ),
    b(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        &[],
        NONE,
    ),
    b(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        &["sc"],
        NONE,
    ),
    b(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        (false, true, false, true),
    ),
];

/// Types by (group, version, plural).
type TypeMap = BTreeMap<(String, String, String), Arc<ResourceType>>;

/// The served resource types; CRDs add and remove entries at run time.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<RwLock<TypeMap>>,
}

impl Registry {
    /// A registry with the built-in kinds.
    pub fn builtin() -> Registry {
        let reg = Registry::default();
        {
            let mut map = reg.inner.write();
            for bt in BUILTINS {
                let rt = ResourceType {
                    group: bt.group.into(),
                    version: bt.version.into(),
                    kind: bt.kind.into(),
                    plural: bt.plural.into(),
                    singular: bt.kind.to_lowercase(),
                    namespaced: bt.namespaced,
                    short_names: bt.short.iter().map(|s| s.to_string()).collect(),
                    categories: if bt.all { vec!["all".into()] } else { vec![] },
                    status_subresource: bt.status,
                    scale_subresource: bt.scale,
                    tracks_generation: bt.generation,
                    custom: false,
                };
                map.insert(
                    (rt.group.clone(), rt.version.clone(), rt.plural.clone()),
                    Arc::new(rt),
                );
            }
        }
        reg
    }

    /// Looks up a type by group, version and plural.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.inner
            .read()
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// Looks up a type by apiVersion and kind.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let (group, version) = split_api_version(api_version);
        self.inner
            .read()
            .values()
            .find(|rt| rt.group == group && rt.version == version && rt.kind == kind)
            .cloned()
    }

    /// Looks up the (first) type of a group with the given plural, whatever its version.
    pub fn by_group_plural(&self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.inner
            .read()
            .values()
            .find(|rt| rt.group == group && rt.plural == plural)
            .cloned()
    }

    /// Looks up a type by group and kind, whatever its version.
    pub fn by_group_kind(&self, group: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.inner
            .read()
            .values()
            .find(|rt| rt.group == group && rt.kind == kind)
            .cloned()
    }

    /// All types, sorted by group, version, plural.
    pub fn all(&self) -> Vec<Arc<ResourceType>> {
        self.inner.read().values().cloned().collect()
    }

    /// Adds or replaces a type.
    pub fn insert(&self, rt: ResourceType) {
        self.inner.write().insert(
            (rt.group.clone(), rt.version.clone(), rt.plural.clone()),
            Arc::new(rt),
        );
    }

    /// Removes all custom types of a group with the given plural.
    pub fn remove_custom(&self, group: &str, plural: &str) {
        self.inner
            .write()
            .retain(|_, rt| !(rt.custom && rt.group == group && rt.plural == plural));
    }

    /// The API groups (excluding the core group) with their versions, in a stable order:
    /// built-in groups first, then custom groups by name.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut order: Vec<String> = Vec::new();
        for bt in BUILTINS {
            if !bt.group.is_empty() && !order.iter().any(|g| g == bt.group) {
                order.push(bt.group.to_string());
            }
        }
        let map = self.inner.read();
        let mut custom: Vec<String> = map
            .values()
            .filter(|rt| !rt.group.is_empty() && !order.contains(&rt.group))
            .map(|rt| rt.group.clone())
            .collect();
        custom.sort();
        custom.dedup();
        order.extend(custom);
        order
            .into_iter()
            .filter_map(|g| {
                let mut versions: Vec<String> = map
                    .values()
                    .filter(|rt| rt.group == g)
                    .map(|rt| rt.version.clone())
                    .collect();
                versions.dedup();
                if versions.is_empty() {
                    None
                } else {
                    Some((g, versions))
                }
            })
            .collect()
    }

    /// The types of one group version.
    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.inner
            .read()
            .values()
            .filter(|rt| rt.group == group && rt.version == version)
            .cloned()
            .collect()
    }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// Builds the resource types a CRD object declares (one per served version).
pub fn from_crd(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default().to_string();
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or_default().to_string();
    let kind = names["kind"].as_str().unwrap_or_default().to_string();
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Vec::new();
    }
    let singular = names["singular"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let str_list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let mut out = Vec::new();
    for ver in spec["versions"].as_array().into_iter().flatten() {
        if ver["served"].as_bool() == Some(false) {
            continue;
        }
        let Some(version) = ver["name"].as_str() else {
            continue;
        };
        out.push(ResourceType {
            group: group.clone(),
            version: version.to_string(),
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced,
            short_names: str_list(&names["shortNames"]),
            categories: str_list(&names["categories"]),
            status_subresource: ver["subresources"].get("status").is_some(),
            scale_subresource: ver["subresources"].get("scale").is_some(),
            tracks_generation: true,
            custom: true,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_lookup_by_kind_and_plural() {
        let reg = Registry::builtin();
        let d = reg
            .by_kind("apps/v1", "Deployment")
            .expect("deployment type");
        assert_eq!(d.plural, "deployments");
        assert!(d.status_subresource && d.scale_subresource && d.namespaced);
        assert_eq!(d.qualified(), "deployments.apps");
        let ns = reg.get("", "v1", "namespaces").expect("namespaces");
        assert!(!ns.namespaced);
        assert!(reg.get("", "v1", "nothing").is_none());
    }

    #[test]
    fn crd_declares_served_versions_only() {
        let crd = json!({"spec": {"group": "ml.example.com", "scope": "Cluster",
        "names": {"plural": "models", "kind": "Model", "shortNames": ["mdl"]},
        "versions": [
            {"name": "v1", "served": true, "subresources": {"status": {}}},
            {"name": "v0", "served": false}
        ]}});
        let types = from_crd(&crd);
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].singular, "model");
        assert!(!types[0].namespaced && types[0].status_subresource && types[0].custom);
        assert_eq!(types[0].short_names, vec!["mdl".to_string()]);
    }
}
