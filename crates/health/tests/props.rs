//! Properties: health assessment never panics, whatever a live object holds.

use ferrocd_health::{HealthCustomizations, assess_with_children};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("True"),
            Just("False"),
            Just("Pending"),
            Just("Running"),
            Just("Failed"),
            Just("Bound"),
            Just("LoadBalancer"),
            Just("Unschedulable"),
            Just("OnDelete"),
            Just("0/3 nodes are available: 3 Insufficient nvidia.com/gpu."),
            Just("CrashLoopBackOff"),
            Just("OOMKilled"),
            Just("Healthy"),
            Just("Paused"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
        "[a-zA-Z0-9 ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("status"),
                        Just("spec"),
                        Just("conditions"),
                        Just("type"),
                        Just("phase"),
                        Just("reason"),
                        Just("message"),
                        Just("replicas"),
                        Just("updatedReplicas"),
                        Just("availableReplicas"),
                        Just("paused"),
                        Just("observedGeneration"),
                        Just("containerStatuses"),
                        Just("state"),
                        Just("waiting"),
                        Just("terminated"),
                        Just("lastState"),
                        Just("ingress"),
                        Just("loadBalancer"),
                        Just("suspend"),
                        Just("health"),
                        Just("updateStrategy"),
                    ]
                    .prop_map(str::to_string),
                    inner,
                ),
                0..6,
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    let kinds = prop_oneof![
        Just(("apps/v1", "Deployment")),
        Just(("apps/v1", "StatefulSet")),
        Just(("apps/v1", "DaemonSet")),
        Just(("apps/v1", "ReplicaSet")),
        Just(("v1", "Pod")),
        Just(("batch/v1", "Job")),
        Just(("batch/v1", "CronJob")),
        Just(("v1", "Service")),
        Just(("networking.k8s.io/v1", "Ingress")),
        Just(("v1", "PersistentVolumeClaim")),
        Just(("autoscaling/v2", "HorizontalPodAutoscaler")),
        Just(("apiregistration.k8s.io/v1", "APIService")),
        Just(("apiextensions.k8s.io/v1", "CustomResourceDefinition")),
        Just(("v1", "Namespace")),
        Just(("argoproj.io/v1alpha1", "Application")),
        Just(("argoproj.io/v1alpha1", "Rollout")),
        Just(("ml.example.com/v1", "Model")),
    ];
    (kinds, json_value(), json_value(), json_value()).prop_map(
        |((api, kind), spec, status, meta)| {
            json!({"apiVersion": api, "kind": kind, "metadata": {"name": "x", "generation": meta},
               "spec": spec, "status": status})
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics(obj in object(), child in object()) {
        let _ = assess_with_children(&obj, &[&child], &HealthCustomizations::default());
    }

    #[test]
    fn config_map_parsing_never_panics(
        key in prop_oneof![
            Just("resource.customizations".to_string()),
            "resource\\.customizations\\.health\\.[a-z._*]{0,10}",
        ],
        text in "[a-z:/*\\n \\-\"'|.{}]{0,80}",
    ) {
        let cm = json!({"kind": "ConfigMap", "data": {key: text}});
        if let Ok(c) = ferrocd_health::HealthCustomizations::from_config_map(&cm) {
            let obj = json!({"apiVersion": "a.b/v1", "kind": "K", "metadata": {"name": "x"}});
            let _ = ferrocd_health::assess(&obj, &c);
        }
    }

    #[test]
    fn never_panics_on_any_json(v in json_value()) {
        let _ = assess_with_children(&v, &[], &HealthCustomizations::default());
    }
}
