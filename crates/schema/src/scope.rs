//! The scope (namespaced or cluster-wide) of the built-in Kubernetes kinds.

/// Whether objects of the built-in kind `group`/`kind` live in a namespace.
///
/// Returns `None` for kinds this crate does not know (custom resources): their scope comes
/// from the cluster's discovery or from their CustomResourceDefinition.
pub fn is_namespaced(group: &str, kind: &str) -> Option<bool> {
    let namespaced = match (group, kind) {
        (
            "",
            "Pod"
            | "Service"
            | "ServiceAccount"
            | "ConfigMap"
            | "Secret"
            | "Endpoints"
            | "Event"
            | "LimitRange"
            | "PersistentVolumeClaim"
            | "PodTemplate"
            | "ReplicationController"
            | "ResourceQuota"
            | "Binding",
        ) => true,
        ("", "Namespace" | "Node" | "PersistentVolume" | "ComponentStatus") => false,
        (
            "apps" | "extensions",
            "Deployment" | "DaemonSet" | "ReplicaSet" | "StatefulSet" | "ControllerRevision",
        ) => true,
        ("batch", "Job" | "CronJob") => true,
        ("autoscaling", "HorizontalPodAutoscaler") => true,
        ("policy", "PodDisruptionBudget") => true,
        ("policy", "PodSecurityPolicy") => false,
        ("networking.k8s.io" | "extensions", "Ingress" | "NetworkPolicy") => true,
        ("networking.k8s.io", "IngressClass" | "IPAddress" | "ServiceCIDR") => false,
        ("discovery.k8s.io", "EndpointSlice") => true,
        ("events.k8s.io", "Event") => true,
        ("coordination.k8s.io", "Lease") => true,
        ("rbac.authorization.k8s.io", "Role" | "RoleBinding" | "RoleList" | "RoleBindingList") => {
            true
        }
        (
            "rbac.authorization.k8s.io",
            "ClusterRole" | "ClusterRoleBinding" | "ClusterRoleList" | "ClusterRoleBindingList",
        ) => false,
        ("storage.k8s.io", "StorageClass" | "VolumeAttachment" | "CSIDriver" | "CSINode") => false,
        ("storage.k8s.io", "CSIStorageCapacity") => true,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => false,
        ("apiregistration.k8s.io", "APIService") => false,
        (
            "admissionregistration.k8s.io",
            "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding",
        ) => false,
        ("scheduling.k8s.io", "PriorityClass") => false,
        ("node.k8s.io", "RuntimeClass") => false,
        ("flowcontrol.apiserver.k8s.io", "FlowSchema" | "PriorityLevelConfiguration") => false,
        ("certificates.k8s.io", "CertificateSigningRequest") => false,
        ("authentication.k8s.io", "TokenReview" | "SelfSubjectReview") => false,
        (
            "authorization.k8s.io",
            "SubjectAccessReview" | "SelfSubjectAccessReview" | "SelfSubjectRulesReview",
        ) => false,
        ("authorization.k8s.io", "LocalSubjectAccessReview") => true,
        ("resource.k8s.io", "ResourceClaim" | "ResourceClaimTemplate") => true,
        ("resource.k8s.io", "DeviceClass" | "ResourceSlice") => false,
        _ => return None,
    };
    Some(namespaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_of_common_kinds() {
        assert_eq!(is_namespaced("", "ConfigMap"), Some(true));
        assert_eq!(is_namespaced("", "Namespace"), Some(false));
        assert_eq!(is_namespaced("apps", "Deployment"), Some(true));
        assert_eq!(
            is_namespaced("rbac.authorization.k8s.io", "ClusterRole"),
            Some(false)
        );
        assert_eq!(
            is_namespaced("rbac.authorization.k8s.io", "RoleBinding"),
            Some(true)
        );
        assert_eq!(
            is_namespaced("apiextensions.k8s.io", "CustomResourceDefinition"),
            Some(false)
        );
        assert_eq!(is_namespaced("storage.k8s.io", "StorageClass"), Some(false));
        assert_eq!(is_namespaced("", "PersistentVolume"), Some(false));
    }

    #[test]
    fn unknown_kinds_have_no_known_scope() {
        assert_eq!(is_namespaced("example.com", "Widget"), None);
        // The group matters: a core-group Deployment does not exist.
        assert_eq!(is_namespaced("", "Deployment"), None);
    }
}
