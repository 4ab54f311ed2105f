//! Transformer configuration: the built-in field specs (which fields hold labels,
//! annotations, names, references to other objects, images, replicas) and the additions a
//! kustomization's `configurations` and `crds` bring.

use serde::Deserialize;

use crate::fieldspec::FieldSpec;
use crate::kustomization::FieldSpecEntry;

/// Which referrer fields name an object of kind `kind`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NameRef {
    pub group: Option<String>,
    pub kind: String,
    pub referrers: Vec<FieldSpec>,
}

/// All field specs a build uses.
#[derive(Debug, Clone, Default)]
pub(crate) struct TransformerConfig {
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
    pub var_reference: Vec<FieldSpec>,
    pub name_reference: Vec<NameRef>,
}

/// The workload kinds with a pod template at `spec/template`.
const TEMPLATED: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "Job",
];

/// The places a pod spec sits, per kind.
fn pod_specs() -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("Pod", "spec")];
    for k in TEMPLATED.iter().chain(&["ReplicationController"]) {
        v.push((k, "spec/template/spec"));
    }
    v.push(("CronJob", "spec/jobTemplate/spec/template/spec"));
    v.push(("PodTemplate", "template/spec"));
    v
}

fn pod_refs(paths: &[&str]) -> Vec<FieldSpec> {
    let mut out = Vec::new();
    for (kind, base) in pod_specs() {
        for p in paths {
            out.push(FieldSpec::kind(kind, &format!("{base}/{p}"), false));
        }
    }
    out
}

fn name_ref(group: Option<&str>, kind: &str, referrers: Vec<FieldSpec>) -> NameRef {
    NameRef {
        group: group.map(str::to_string),
        kind: kind.to_string(),
        referrers,
    }
}

impl TransformerConfig {
    /// The built-in configuration.
    pub(crate) fn builtin() -> Self {
        let mut common_labels = vec![
            FieldSpec::any("metadata/labels", true),
            FieldSpec::gk("", "Service", "spec/selector", true),
            FieldSpec::gk("", "ReplicationController", "spec/selector", true),
            FieldSpec::gk(
                "",
                "ReplicationController",
                "spec/template/metadata/labels",
                true,
            ),
        ];
        for k in ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"] {
            common_labels.push(FieldSpec::kind(k, "spec/selector/matchLabels", true));
            common_labels.push(FieldSpec::kind(k, "spec/template/metadata/labels", true));
        }
        for k in ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"] {
            for aff in ["podAffinity", "podAntiAffinity"] {
                common_labels.push(FieldSpec::kind(
                    k,
                    &format!("spec/template/spec/affinity/{aff}/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels"),
                    false,
                ));
                common_labels.push(FieldSpec::kind(
                    k,
                    &format!("spec/template/spec/affinity/{aff}/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels"),
                    false,
                ));
            }
        }
        common_labels.extend([
            FieldSpec::kind(
                "StatefulSet",
                "spec/volumeClaimTemplates[]/metadata/labels",
                true,
            ),
            FieldSpec::gk("batch", "Job", "spec/selector/matchLabels", false),
            FieldSpec::gk("batch", "Job", "spec/template/metadata/labels", true),
            FieldSpec::gk(
                "batch",
                "CronJob",
                "spec/jobTemplate/spec/selector/matchLabels",
                false,
            ),
            FieldSpec::gk("batch", "CronJob", "spec/jobTemplate/metadata/labels", true),
            FieldSpec::gk(
                "batch",
                "CronJob",
                "spec/jobTemplate/spec/template/metadata/labels",
                true,
            ),
            FieldSpec::gk(
                "policy",
                "PodDisruptionBudget",
                "spec/selector/matchLabels",
                false,
            ),
            FieldSpec::gk(
                "networking.k8s.io",
                "NetworkPolicy",
                "spec/podSelector/matchLabels",
                false,
            ),
            FieldSpec::gk(
                "networking.k8s.io",
                "NetworkPolicy",
                "spec/ingress/from/podSelector/matchLabels",
                false,
            ),
            FieldSpec::gk(
                "networking.k8s.io",
                "NetworkPolicy",
                "spec/egress/to/podSelector/matchLabels",
                false,
            ),
        ]);
        let template_labels = common_labels
            .iter()
            .filter(|s| {
                s.path.iter().any(|p| p.contains("emplate"))
                    && !s
                        .path
                        .iter()
                        .any(|p| p.contains("elector") || p == "affinity")
            })
            .cloned()
            .collect();

        let mut common_annotations = vec![FieldSpec::any("metadata/annotations", true)];
        common_annotations.push(FieldSpec::gk(
            "",
            "ReplicationController",
            "spec/template/metadata/annotations",
            true,
        ));
        for k in ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"] {
            common_annotations.push(FieldSpec::kind(
                k,
                "spec/template/metadata/annotations",
                true,
            ));
        }
        common_annotations.extend([
            FieldSpec::gk("batch", "Job", "spec/template/metadata/annotations", true),
            FieldSpec::gk(
                "batch",
                "CronJob",
                "spec/jobTemplate/metadata/annotations",
                true,
            ),
            FieldSpec::gk(
                "batch",
                "CronJob",
                "spec/jobTemplate/spec/template/metadata/annotations",
                true,
            ),
        ]);

        let namespace = vec![
            FieldSpec::any("metadata/namespace", true),
            FieldSpec::kind(
                "ValidatingWebhookConfiguration",
                "webhooks/clientConfig/service/namespace",
                false,
            ),
            FieldSpec::kind(
                "MutatingWebhookConfiguration",
                "webhooks/clientConfig/service/namespace",
                false,
            ),
            FieldSpec::kind("APIService", "spec/service/namespace", false),
        ];

        // Container images are found by walking every `containers` list (see
        // `transform::apply_images`); configurations may add more fields.
        let images = Vec::new();

        let replicas = [
            "Deployment",
            "ReplicationController",
            "ReplicaSet",
            "StatefulSet",
        ]
        .iter()
        .map(|k| FieldSpec::kind(k, "spec/replicas", true))
        .collect();

        let configmap_refs = pod_refs(&[
            "volumes/configMap/name",
            "containers/env/valueFrom/configMapKeyRef/name",
            "initContainers/env/valueFrom/configMapKeyRef/name",
            "containers/envFrom/configMapRef/name",
            "initContainers/envFrom/configMapRef/name",
            "volumes/projected/sources/configMap/name",
        ]);
        let mut secret_refs = pod_refs(&[
            "volumes/secret/secretName",
            "containers/env/valueFrom/secretKeyRef/name",
            "initContainers/env/valueFrom/secretKeyRef/name",
            "containers/envFrom/secretRef/name",
            "initContainers/envFrom/secretRef/name",
            "imagePullSecrets/name",
            "volumes/projected/sources/secret/name",
        ]);
        secret_refs.extend([
            FieldSpec::gk("", "ServiceAccount", "imagePullSecrets/name", false),
            FieldSpec::kind("Ingress", "spec/tls/secretName", false),
        ]);
        let sa_refs = {
            let mut v = Vec::new();
            for (kind, base) in pod_specs() {
                v.push(FieldSpec::kind(
                    kind,
                    &format!("{base}/serviceAccountName"),
                    false,
                ));
                v.push(FieldSpec::kind(
                    kind,
                    &format!("{base}/serviceAccount"),
                    false,
                ));
            }
            v.push(FieldSpec::gk(
                "rbac.authorization.k8s.io",
                "RoleBinding",
                "subjects",
                false,
            ));
            v.push(FieldSpec::gk(
                "rbac.authorization.k8s.io",
                "ClusterRoleBinding",
                "subjects",
                false,
            ));
            v
        };
        let pvc_refs = pod_refs(&["volumes/persistentVolumeClaim/claimName"]);
        let pc_refs = pod_refs(&["priorityClassName"]);
        let name_reference = vec![
            name_ref(Some(""), "ConfigMap", configmap_refs),
            name_ref(Some(""), "Secret", secret_refs),
            name_ref(Some(""), "ServiceAccount", sa_refs),
            name_ref(
                Some(""),
                "Service",
                vec![
                    FieldSpec::kind(
                        "Ingress",
                        "spec/rules/http/paths/backend/service/name",
                        false,
                    ),
                    FieldSpec::kind("Ingress", "spec/defaultBackend/service/name", false),
                    FieldSpec::kind(
                        "Ingress",
                        "spec/rules/http/paths/backend/serviceName",
                        false,
                    ),
                    FieldSpec::kind("Ingress", "spec/backend/serviceName", false),
                    FieldSpec::gk("apps", "StatefulSet", "spec/serviceName", false),
                    FieldSpec::kind("APIService", "spec/service/name", false),
                    FieldSpec::kind(
                        "ValidatingWebhookConfiguration",
                        "webhooks/clientConfig/service/name",
                        false,
                    ),
                    FieldSpec::kind(
                        "MutatingWebhookConfiguration",
                        "webhooks/clientConfig/service/name",
                        false,
                    ),
                ],
            ),
            name_ref(
                Some("rbac.authorization.k8s.io"),
                "Role",
                vec![FieldSpec::gk(
                    "rbac.authorization.k8s.io",
                    "RoleBinding",
                    "roleRef/name",
                    false,
                )],
            ),
            name_ref(
                Some("rbac.authorization.k8s.io"),
                "ClusterRole",
                vec![
                    FieldSpec::gk(
                        "rbac.authorization.k8s.io",
                        "RoleBinding",
                        "roleRef/name",
                        false,
                    ),
                    FieldSpec::gk(
                        "rbac.authorization.k8s.io",
                        "ClusterRoleBinding",
                        "roleRef/name",
                        false,
                    ),
                ],
            ),
            name_ref(Some(""), "PersistentVolumeClaim", pvc_refs),
            name_ref(
                Some(""),
                "PersistentVolume",
                vec![FieldSpec::gk(
                    "",
                    "PersistentVolumeClaim",
                    "spec/volumeName",
                    false,
                )],
            ),
            name_ref(
                Some("storage.k8s.io"),
                "StorageClass",
                vec![
                    FieldSpec::gk("", "PersistentVolumeClaim", "spec/storageClassName", false),
                    FieldSpec::gk("", "PersistentVolume", "spec/storageClassName", false),
                    FieldSpec::kind(
                        "StatefulSet",
                        "spec/volumeClaimTemplates/spec/storageClassName",
                        false,
                    ),
                ],
            ),
            name_ref(Some("scheduling.k8s.io"), "PriorityClass", pc_refs),
        ];
        let name_reference = name_reference
            .into_iter()
            .chain(
                [
                    "Deployment",
                    "ReplicationController",
                    "ReplicaSet",
                    "StatefulSet",
                ]
                .iter()
                .map(|k| {
                    name_ref(
                        None,
                        k,
                        vec![FieldSpec::kind(
                            "HorizontalPodAutoscaler",
                            "spec/scaleTargetRef/name",
                            false,
                        )],
                    )
                }),
            )
            .collect();

        let mut var_reference = Vec::new();
        for (kind, base) in pod_specs() {
            for list in ["containers", "initContainers"] {
                for field in [
                    "args",
                    "command",
                    "env/value",
                    "image",
                    "workingDir",
                    "volumeMounts/mountPath",
                ] {
                    var_reference.push(FieldSpec::kind(
                        kind,
                        &format!("{base}/{list}/{field}"),
                        false,
                    ));
                }
            }
        }
        var_reference.extend([
            FieldSpec::kind("Ingress", "spec/rules/host", false),
            FieldSpec::kind("Ingress", "spec/tls/hosts", false),
            FieldSpec::kind("Ingress", "spec/tls/secretName", false),
            FieldSpec::kind("ConfigMap", "data", false),
            FieldSpec::kind("Service", "metadata/annotations", false),
            FieldSpec::kind("StatefulSet", "spec/serviceName", false),
            FieldSpec::any("metadata/labels", false),
            FieldSpec::any("metadata/annotations", false),
        ]);

        Self {
            common_labels,
            template_labels,
            common_annotations,
            name_prefix: vec![FieldSpec::any("metadata/name", false)],
            name_suffix: vec![FieldSpec::any("metadata/name", false)],
            namespace,
            images,
            replicas,
            var_reference,
            name_reference,
        }
    }

    /// Adds the specs of a `configurations` file.
    pub(crate) fn merge(&mut self, other: ConfigFile) {
        let conv = |v: Vec<FieldSpecEntry>| -> Vec<FieldSpec> {
            v.iter().map(FieldSpec::from_entry).collect()
        };
        extend_unique(&mut self.common_labels, conv(other.common_labels));
        extend_unique(&mut self.template_labels, conv(other.template_labels));
        extend_unique(&mut self.common_annotations, conv(other.common_annotations));
        extend_unique(&mut self.name_prefix, conv(other.name_prefix));
        extend_unique(&mut self.name_suffix, conv(other.name_suffix));
        extend_unique(&mut self.namespace, conv(other.namespace));
        extend_unique(&mut self.images, conv(other.images));
        extend_unique(&mut self.replicas, conv(other.replicas));
        extend_unique(&mut self.var_reference, conv(other.var_reference));
        for nr in other.name_reference {
            let referrers = conv(nr.field_specs);
            let group = nr
                .group
                .or_else(|| nr.version.as_ref().map(|_| String::new()));
            match self
                .name_reference
                .iter_mut()
                .find(|n| n.kind == nr.kind && (n.group == group || group.is_none()))
            {
                Some(existing) => extend_unique(&mut existing.referrers, referrers),
                None => self.name_reference.push(NameRef {
                    group,
                    kind: nr.kind,
                    referrers,
                }),
            }
        }
    }
}

fn extend_unique(into: &mut Vec<FieldSpec>, more: Vec<FieldSpec>) {
    for s in more {
        if !into.contains(&s) {
            into.push(s);
        }
    }
}

/// A `configurations` file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ConfigFile {
    pub common_labels: Vec<FieldSpecEntry>,
    pub template_labels: Vec<FieldSpecEntry>,
    pub common_annotations: Vec<FieldSpecEntry>,
    pub name_prefix: Vec<FieldSpecEntry>,
    pub name_suffix: Vec<FieldSpecEntry>,
    pub namespace: Vec<FieldSpecEntry>,
    pub images: Vec<FieldSpecEntry>,
    pub replicas: Vec<FieldSpecEntry>,
    pub var_reference: Vec<FieldSpecEntry>,
    pub name_reference: Vec<NameRefEntry>,
}

/// A `nameReference` entry of a configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct NameRefEntry {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: String,
    pub field_specs: Vec<FieldSpecEntry>,
}
