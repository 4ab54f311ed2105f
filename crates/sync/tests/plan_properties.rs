//! Property tests: the planner never panics on arbitrary annotations and objects, keeps
//! phase and wave order, and never plans a prune it must not.

mod support;

use ferrocd_model::{ResourceKey, SyncOptions, SyncPhase};
use ferrocd_sync::{PlanInput, PlanOptions, TaskAction, is_tracked_by, plan};
use proptest::prelude::*;
use serde_json::{Value, json};

const KINDS: &[(&str, &str)] = &[
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("v1", "Namespace"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("serving.example.com/v1", "InferenceService"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
];

fn annotation_value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        "[A-Za-z0-9,=\\- ]{0,24}".prop_map(Some),
        prop::sample::select(vec![
            "PreSync",
            "Sync",
            "PostSync",
            "SyncFail",
            "Skip",
            "PreSync,PostSync",
            "pre-install",
            "post-upgrade",
            "test",
            "crd-install",
            "-3",
            "7",
            "2147483647",
            "Prune=false",
            "PruneLast=true",
            "Replace=true",
            "HookSucceeded",
            "before-hook-creation",
        ])
        .prop_map(|s| Some(s.to_string())),
    ]
}

fn object() -> impl Strategy<Value = Value> {
    (
        0..KINDS.len(),
        prop::sample::select(vec!["a", "b", "c", ""]),
        prop::sample::select(vec!["ml", "", "airflow"]),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "argocd.argoproj.io/hook",
                    "argocd.argoproj.io/sync-wave",
                    "argocd.argoproj.io/sync-options",
                    "argocd.argoproj.io/hook-delete-policy",
                    "argocd.argoproj.io/tracking-id",
                    "helm.sh/hook",
                    "helm.sh/hook-weight",
                    "helm.sh/hook-delete-policy",
                ]),
                annotation_value(),
            ),
            0..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(kind, name, ns, annotations, generate)| {
            let (api, kind) = KINDS[kind];
            let mut o = json!({"apiVersion": api, "kind": kind,
                "metadata": {"name": name, "namespace": ns, "annotations": {}}});
            for (k, v) in annotations {
                if let Some(v) = v {
                    o["metadata"]["annotations"][k] = json!(v);
                }
            }
            if generate {
                o["metadata"]["generateName"] = json!("gen-");
            }
            o
        })
}

fn live_object() -> impl Strategy<Value = Value> {
    (
        object(),
        prop::sample::select(vec!["mlflow", "airflow", ""]),
        any::<bool>(),
    )
        .prop_map(|(mut o, app, label)| {
            let key = ResourceKey::from_object(&o);
            if label {
                o["metadata"]["labels"] = json!({"app.kubernetes.io/instance": app});
            } else if !app.is_empty() {
                o["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] =
                    json!(key.tracking_id(app));
            }
            o
        })
}

fn options() -> impl Strategy<Value = PlanOptions> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(
            prop::sample::select(vec![
                "CreateNamespace=true",
                "PruneLast=true",
                "ApplyOutOfSyncOnly=true",
                "Replace=true",
                "Prune=false",
                "FailOnSharedResource=true",
            ]),
            0..3,
        ),
        any::<bool>(),
    )
        .prop_map(
            |(prune, allow_empty, skip_hooks, list, selective)| PlanOptions {
                sync_options: SyncOptions::from_list(&list),
                prune,
                allow_empty,
                skip_hooks,
                destination_namespace: Some("ml".into()),
                resources: if selective {
                    vec![ferrocd_model::SyncOperationResource {
                        kind: "ConfigMap".into(),
                        name: "a".into(),
                        ..Default::default()
                    }]
                } else {
                    Vec::new()
                },
                ..Default::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn planner_never_panics_and_keeps_order(
        desired in prop::collection::vec(object(), 0..8),
        live in prop::collection::vec(live_object(), 0..8),
        options in options(),
    ) {
        let input = PlanInput {
            app: "mlflow".into(),
            desired: desired.into_iter().map(|o| (ResourceKey::from_object(&o), o)).collect(),
            live: live.into_iter().map(|o| (ResourceKey::from_object(&o), o)).collect(),
            options,
            ..Default::default()
        };
        let Ok(plan) = plan(&input) else { return Ok(()); };
        for pair in plan.tasks.windows(2) {
            prop_assert!((pair[0].phase, pair[0].wave) <= (pair[1].phase, pair[1].wave),
                "out of order: {:?}/{} then {:?}/{}",
                pair[0].phase, pair[0].wave, pair[1].phase, pair[1].wave);
        }
        for task in &plan.tasks {
            if task.prune_candidate {
                prop_assert!(input.desired.iter().all(|(k, _)| k != &task.key));
                prop_assert!(input.live.contains_key(&task.key));
            } else {
                prop_assert!(task.action != TaskAction::Prune);
            }
            if task.action == TaskAction::Prune {
                prop_assert!(input.options.prune);
                prop_assert!(!input.desired.is_empty() || input.options.allow_empty);
                prop_assert!(input.desired.iter().all(|(k, _)| k != &task.key));
                let live = input.live.get(&task.key);
                prop_assert!(live.is_some_and(|l| is_tracked_by(l, &task.key, "mlflow")));
                prop_assert_eq!(task.phase, SyncPhase::Sync);
            }
            if input.options.is_selective() || input.options.skip_hooks {
                prop_assert!(!task.is_hook);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Named, distinct objects always plan (unless FailOnSharedResource meets another
    /// app's object), and every desired object gets exactly the tasks its hooks ask for.
    #[test]
    fn well_formed_input_always_plans(
        desired in prop::collection::vec(object(), 0..10),
        live in prop::collection::vec(live_object(), 0..10),
        options in options(),
    ) {
        let mut seen = std::collections::BTreeSet::new();
        let desired: Vec<(ResourceKey, Value)> = desired
            .into_iter()
            .map(|mut o| {
                if o["metadata"]["name"] == "" {
                    o["metadata"]["name"] = json!("named");
                }
                o["metadata"].as_object_mut().map(|m| m.remove("generateName"));
                (ResourceKey::from_object(&o), o)
            })
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect();
        let input = PlanInput {
            app: "mlflow".into(),
            desired,
            live: live.into_iter().map(|o| (ResourceKey::from_object(&o), o)).collect(),
            options,
            ..Default::default()
        };
        match plan(&input) {
            Ok(plan) => {
                let steps = plan.steps();
                for pair in steps.windows(2) {
                    prop_assert!((pair[0].0, pair[0].1) < (pair[1].0, pair[1].1));
                }
                for (key, obj) in &input.desired {
                    let annotations = &obj["metadata"]["annotations"];
                    let hook = annotations.get("argocd.argoproj.io/hook").is_some()
                        || annotations.get("helm.sh/hook").is_some();
                    let count = plan.tasks.iter().filter(|t| &t.key == key).count();
                    if !input.options.selects(key) {
                        prop_assert_eq!(count, 0);
                    } else if !hook {
                        prop_assert_eq!(count, 1, "{}", key);
                        let task = plan.tasks.iter().find(|t| &t.key == key);
                        prop_assert_eq!(task.map(|t| t.phase), Some(SyncPhase::Sync));
                    }
                }
            }
            Err(err) => {
                prop_assert!(input.options.sync_options.fail_on_shared_resource, "{err}");
            }
        }
    }
}
