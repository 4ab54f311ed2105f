//! How list fields of the built-in kinds merge: the `patchStrategy`/`patchMergeKey` and
//! `x-kubernetes-list-map-keys` markers of the Kubernetes API, as one table.
//!
//! Paths are the field names from the object root down to the list, with list positions
//! left out: the `env` list of any container of a Deployment is
//! `["spec", "template", "spec", "containers", "env"]`.
//!
//! Pod specs appear at different places in different workload kinds; the table for them is
//! written once relative to the `PodSpec` and found through [`pod_spec_prefix`].

/// How a strategic merge patch combines a list with the list it patches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListStrategy {
    /// The patch list replaces the whole original list (no `patchStrategy`).
    Atomic,
    /// A list of maps merged element by element, matched by the given key
    /// (`patchStrategy: merge`, `patchMergeKey: <key>`).
    MergeByKey(&'static str),
    /// A set-like list of primitives: patch values are added when missing
    /// (`patchStrategy: merge` on a list of scalars).
    MergePrimitives,
}

/// Where the `PodSpec` sits inside an object of the given kind, if the kind has one.
pub(crate) fn pod_spec_prefix(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    const POD: &[&str] = &["spec"];
    const TEMPLATE: &[&str] = &["spec", "template", "spec"];
    const CRON: &[&str] = &["spec", "jobTemplate", "spec", "template", "spec"];
    const POD_TEMPLATE: &[&str] = &["template", "spec"];
    match (group, kind) {
        ("", "Pod") => Some(POD),
        ("", "PodTemplate") => Some(POD_TEMPLATE),
        ("", "ReplicationController") => Some(TEMPLATE),
        ("apps" | "extensions", "Deployment" | "DaemonSet" | "ReplicaSet") => Some(TEMPLATE),
        ("apps", "StatefulSet") => Some(TEMPLATE),
        ("batch", "Job") => Some(TEMPLATE),
        ("batch", "CronJob") => Some(CRON),
        _ => None,
    }
}

/// Whether a pod spec field holds containers.
fn is_container_list(field: &str) -> bool {
    matches!(
        field,
        "containers" | "initContainers" | "ephemeralContainers"
    )
}

/// Whether the kind is a built-in kind known to this crate.
pub(crate) fn is_builtin(group: &str, kind: &str) -> bool {
    crate::scope::is_namespaced(group, kind).is_some()
}

/// The strategy for a list inside a `PodSpec`, `rel` being the path below the pod spec.
fn pod_spec_list(rel: &[&str]) -> Option<ListStrategy> {
    use ListStrategy::*;
    let strategy = match rel {
        [c] if is_container_list(c) => MergeByKey("name"),
        ["volumes"] => MergeByKey("name"),
        ["imagePullSecrets"] => MergeByKey("name"),
        ["hostAliases"] => MergeByKey("ip"),
        ["topologySpreadConstraints"] => MergeByKey("topologyKey"),
        ["resourceClaims"] => MergeByKey("name"),
        ["schedulingGates"] => MergeByKey("name"),
        [c, "ports"] if is_container_list(c) => MergeByKey("containerPort"),
        [c, "env"] if is_container_list(c) => MergeByKey("name"),
        [c, "volumeMounts"] if is_container_list(c) => MergeByKey("mountPath"),
        [c, "volumeDevices"] if is_container_list(c) => MergeByKey("devicePath"),
        _ => return None,
    };
    Some(strategy)
}

/// The SSA list-map keys for a list inside a `PodSpec`.
fn pod_spec_map_keys(rel: &[&str]) -> Option<&'static [&'static str]> {
    let keys: &'static [&'static str] = match rel {
        [c] if is_container_list(c) => &["name"],
        ["volumes"] | ["imagePullSecrets"] | ["resourceClaims"] | ["schedulingGates"] => &["name"],
        ["hostAliases"] => &["ip"],
        ["topologySpreadConstraints"] => &["topologyKey", "whenUnsatisfiable"],
        [c, "ports"] if is_container_list(c) => &["containerPort", "protocol"],
        [c, "env"] if is_container_list(c) => &["name"],
        [c, "volumeMounts"] if is_container_list(c) => &["mountPath"],
        [c, "volumeDevices"] if is_container_list(c) => &["devicePath"],
        [c, "resources", "claims"] if is_container_list(c) => &["name"],
        [c, "resizePolicy"] if is_container_list(c) => &["resourceName"],
        _ => return None,
    };
    Some(keys)
}

/// The strategy for lists of `ObjectMeta`, wherever an `ObjectMeta` sits.
fn object_meta_list(path: &[&str]) -> Option<ListStrategy> {
    match path {
        [.., "metadata", "finalizers"] => Some(ListStrategy::MergePrimitives),
        [.., "metadata", "ownerReferences"] => Some(ListStrategy::MergeByKey("uid")),
        _ => None,
    }
}

/// How the list at `path` (field names from the object root, list positions left out) of an
/// object of `group`/`kind` is merged by a strategic merge patch.
///
/// `ObjectMeta` lists (`finalizers`, `ownerReferences`) follow their markers for every kind.
/// Other lists of unknown kinds (custom resources) are [`ListStrategy::Atomic`], as with a JSON
/// merge patch.
pub fn list_strategy(group: &str, kind: &str, path: &[&str]) -> ListStrategy {
    use ListStrategy::*;
    if let Some(strategy) = object_meta_list(path) {
        return strategy;
    }
    if !is_builtin(group, kind) {
        return Atomic;
    }
    if let Some(prefix) = pod_spec_prefix(group, kind)
        && let Some(rel) = path.strip_prefix(prefix)
        && let Some(strategy) = pod_spec_list(rel)
    {
        return strategy;
    }
    match (group, kind, path) {
        (_, _, ["status", "conditions"]) => MergeByKey("type"),
        ("", "Service", ["spec", "ports"]) => MergeByKey("port"),
        ("", "ServiceAccount", ["secrets"]) => MergeByKey("name"),
        ("", "Pod", ["status", "podIPs"]) => MergeByKey("ip"),
        ("", "Pod", ["status", "hostIPs"]) => MergeByKey("ip"),
        ("", "Node", ["status", "addresses"]) => MergeByKey("type"),
        ("", "Node", ["spec", "podCIDRs"]) => MergePrimitives,
        _ => Atomic,
    }
}

/// The `x-kubernetes-list-map-keys` of the list at `path`, when it is a `map` list: the keys
/// server-side apply identifies elements by. This differs from the strategic merge key for
/// container ports (`containerPort` + `protocol`), Service ports (`port` + `protocol`) and
/// topology spread constraints (`topologyKey` + `whenUnsatisfiable`).
///
/// Returns `None` for atomic and set lists and for unknown kinds.
pub fn list_map_keys(group: &str, kind: &str, path: &[&str]) -> Option<&'static [&'static str]> {
    match path {
        [.., "metadata", "ownerReferences"] => return Some(&["uid"]),
        [.., "metadata", "managedFields"] | [.., "metadata", "finalizers"] => return None,
        _ => {}
    }
    if !is_builtin(group, kind) {
        return None;
    }
    if let Some(prefix) = pod_spec_prefix(group, kind)
        && let Some(rel) = path.strip_prefix(prefix)
        && let Some(keys) = pod_spec_map_keys(rel)
    {
        return Some(keys);
    }
    match (group, kind, path) {
        (_, _, ["status", "conditions"]) => Some(&["type"]),
        ("", "Service", ["spec", "ports"]) => Some(&["port", "protocol"]),
        ("", "ServiceAccount", ["secrets"]) => Some(&["name"]),
        ("", "Pod", ["status", "podIPs"] | ["status", "hostIPs"]) => Some(&["ip"]),
        ("", "Node", ["status", "addresses"]) => Some(&["type"]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::ListStrategy::*;
    use super::*;

    const WORKLOADS: &[(&str, &str, &[&str])] = &[
        ("", "Pod", &["spec"]),
        ("apps", "Deployment", &["spec", "template", "spec"]),
        ("apps", "StatefulSet", &["spec", "template", "spec"]),
        ("apps", "DaemonSet", &["spec", "template", "spec"]),
        ("apps", "ReplicaSet", &["spec", "template", "spec"]),
        ("batch", "Job", &["spec", "template", "spec"]),
        (
            "batch",
            "CronJob",
            &["spec", "jobTemplate", "spec", "template", "spec"],
        ),
        ("", "PodTemplate", &["template", "spec"]),
        ("", "ReplicationController", &["spec", "template", "spec"]),
    ];

    fn at(prefix: &[&'static str], rest: &[&'static str]) -> Vec<&'static str> {
        prefix.iter().chain(rest).copied().collect()
    }

    #[test]
    fn pod_spec_lists_work_under_every_workload_kind() {
        for (group, kind, prefix) in WORKLOADS {
            let s = |rest: &[&'static str]| list_strategy(group, kind, &at(prefix, rest));
            assert_eq!(s(&["containers"]), MergeByKey("name"), "{kind}");
            assert_eq!(s(&["initContainers"]), MergeByKey("name"), "{kind}");
            assert_eq!(s(&["ephemeralContainers"]), MergeByKey("name"), "{kind}");
            assert_eq!(s(&["volumes"]), MergeByKey("name"), "{kind}");
            assert_eq!(s(&["containers", "env"]), MergeByKey("name"), "{kind}");
            assert_eq!(s(&["initContainers", "env"]), MergeByKey("name"));
            assert_eq!(s(&["containers", "envFrom"]), Atomic, "{kind}");
            assert_eq!(s(&["containers", "volumeMounts"]), MergeByKey("mountPath"));
            assert_eq!(
                s(&["containers", "volumeDevices"]),
                MergeByKey("devicePath")
            );
            assert_eq!(s(&["containers", "ports"]), MergeByKey("containerPort"));
            assert_eq!(s(&["containers", "args"]), Atomic);
            assert_eq!(s(&["containers", "command"]), Atomic);
            assert_eq!(s(&["imagePullSecrets"]), MergeByKey("name"));
            assert_eq!(s(&["tolerations"]), Atomic);
            assert_eq!(s(&["hostAliases"]), MergeByKey("ip"));
            assert_eq!(s(&["topologySpreadConstraints"]), MergeByKey("topologyKey"));
            assert_eq!(s(&["readinessGates"]), Atomic);
        }
    }

    #[test]
    fn pod_spec_paths_do_not_leak_to_other_positions() {
        // A Deployment's `spec.containers` is not a pod spec path.
        assert_eq!(
            list_strategy("apps", "Deployment", &["spec", "containers"]),
            Atomic
        );
        // A Pod's template path is not a pod spec path.
        assert_eq!(
            list_strategy("", "Pod", &["spec", "template", "spec", "containers"]),
            Atomic
        );
    }

    #[test]
    fn metadata_lists_for_all_kinds() {
        for (group, kind) in [("", "ConfigMap"), ("example.com", "Widget")] {
            assert_eq!(
                list_strategy(group, kind, &["metadata", "finalizers"]),
                MergePrimitives
            );
            assert_eq!(
                list_strategy(group, kind, &["metadata", "ownerReferences"]),
                MergeByKey("uid")
            );
        }
        assert_eq!(
            list_strategy(
                "apps",
                "Deployment",
                &["spec", "template", "metadata", "finalizers"]
            ),
            MergePrimitives
        );
    }

    #[test]
    fn other_builtin_lists() {
        assert_eq!(
            list_strategy("", "Service", &["spec", "ports"]),
            MergeByKey("port")
        );
        assert_eq!(
            list_strategy("", "Service", &["spec", "externalIPs"]),
            Atomic
        );
        assert_eq!(
            list_strategy("apps", "Deployment", &["status", "conditions"]),
            MergeByKey("type")
        );
        assert_eq!(
            list_strategy("", "ServiceAccount", &["secrets"]),
            MergeByKey("name")
        );
        assert_eq!(
            list_strategy("", "Node", &["spec", "podCIDRs"]),
            MergePrimitives
        );
        assert_eq!(list_strategy("", "Node", &["spec", "taints"]), Atomic);
        assert_eq!(
            list_strategy("networking.k8s.io", "Ingress", &["spec", "rules"]),
            Atomic
        );
        assert_eq!(
            list_strategy("rbac.authorization.k8s.io", "Role", &["rules"]),
            Atomic
        );
    }

    #[test]
    fn unknown_kinds_replace_lists() {
        assert_eq!(
            list_strategy(
                "example.com",
                "Widget",
                &["spec", "template", "spec", "containers"]
            ),
            Atomic
        );
        assert_eq!(
            list_strategy("argoproj.io", "Rollout", &["status", "conditions"]),
            Atomic
        );
    }

    #[test]
    fn list_map_keys_differ_from_merge_keys_where_documented() {
        assert_eq!(
            list_map_keys(
                "apps",
                "Deployment",
                &["spec", "template", "spec", "containers", "ports"]
            ),
            Some(&["containerPort", "protocol"][..])
        );
        assert_eq!(
            list_map_keys("", "Service", &["spec", "ports"]),
            Some(&["port", "protocol"][..])
        );
        assert_eq!(
            list_map_keys("", "Pod", &["spec", "topologySpreadConstraints"]),
            Some(&["topologyKey", "whenUnsatisfiable"][..])
        );
        assert_eq!(
            list_map_keys("", "Pod", &["spec", "containers"]),
            Some(&["name"][..])
        );
        assert_eq!(list_map_keys("", "Pod", &["spec", "tolerations"]), None);
        assert_eq!(
            list_map_keys("example.com", "Widget", &["spec", "items"]),
            None
        );
        assert_eq!(
            list_map_keys("example.com", "Widget", &["metadata", "ownerReferences"]),
            Some(&["uid"][..])
        );
    }
}
