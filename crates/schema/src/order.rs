//! Install orders by kind: the one Argo CD and Helm apply objects in, and the legacy order
//! Kustomize sorts its output in.

/// The install order Argo CD and Helm use: namespaces and policies first, then
/// identities, configuration, storage, definitions, RBAC, services and workloads, routing
/// last. Kinds not in the list come after all of them.
const INSTALL_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// Kinds Kustomize's legacy order puts first, in this order.
const KUSTOMIZE_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds Kustomize's legacy order puts last, in this order.
const KUSTOMIZE_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The position of `kind` in the install order Argo CD and Helm use (lower installs first).
///
/// Known kinds get `0..35`; every other kind (custom resources included) gets the same
/// value, greater than all known ones, so that a stable sort keeps their relative order.
/// The group is accepted for symmetry with the other functions; the order is by kind only,
/// as in Argo CD and Helm.
pub fn kind_order(_group: &str, kind: &str) -> i32 {
    match INSTALL_ORDER.iter().position(|k| *k == kind) {
        Some(i) => i as i32,
        None => INSTALL_ORDER.len() as i32,
    }
}

/// The rank of `kind` in Kustomize's legacy output order: kinds of the "first" list get
/// negative ranks in list order, unlisted kinds `0`, kinds of the "last" list positive
/// ranks. Objects with equal ranks are then ordered by their identity (see the kustomize
/// crate).
pub fn kustomize_legacy_kind_order(kind: &str) -> i32 {
    if let Some(i) = KUSTOMIZE_FIRST.iter().position(|k| *k == kind) {
        return i as i32 - KUSTOMIZE_FIRST.len() as i32;
    }
    if let Some(i) = KUSTOMIZE_LAST.iter().position(|k| *k == kind) {
        return i as i32 + 1;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_order_puts_namespaces_first_and_unknown_last() {
        let kinds = [
            "Ingress",
            "Widget",
            "Deployment",
            "ConfigMap",
            "Namespace",
            "CustomResourceDefinition",
            "Service",
            "APIService",
        ];
        let mut sorted = kinds.to_vec();
        sorted.sort_by_key(|k| kind_order("", k));
        assert_eq!(
            sorted,
            [
                "Namespace",
                "ConfigMap",
                "CustomResourceDefinition",
                "Service",
                "Deployment",
                "Ingress",
                "APIService",
                "Widget"
            ]
        );
        assert_eq!(kind_order("", "Namespace"), 0);
        assert_eq!(kind_order("x", "Unknown"), kind_order("y", "Other"));
    }

    #[test]
    fn kustomize_legacy_order_has_first_middle_last() {
        assert!(kustomize_legacy_kind_order("Namespace") < kustomize_legacy_kind_order("Secret"));
        assert!(kustomize_legacy_kind_order("ConfigMap") < kustomize_legacy_kind_order("Service"));
        assert!(
            kustomize_legacy_kind_order("PodDisruptionBudget")
                < kustomize_legacy_kind_order("Ingress")
        );
        assert_eq!(kustomize_legacy_kind_order("Ingress"), 0);
        assert_eq!(kustomize_legacy_kind_order("Widget"), 0);
        assert!(kustomize_legacy_kind_order("ValidatingWebhookConfiguration") > 0);
        assert!(
            kustomize_legacy_kind_order("MutatingWebhookConfiguration")
                < kustomize_legacy_kind_order("ValidatingWebhookConfiguration")
        );
    }
}
