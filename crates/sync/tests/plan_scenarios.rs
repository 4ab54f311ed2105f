//! The seed scenarios of the sync planner, on ML-platform objects.

mod support;

use ferrocd_model::sync_options::PropagationPolicy;
use ferrocd_model::{
    Application, HookType, ManagedNamespaceMetadata, ResourceKey, SyncOperation,
    SyncOperationResource, SyncOptions, SyncPhase,
};
use ferrocd_sync::{HookDeletePolicy, PlanError, PlanOptions, SyncTask, TaskAction, plan};
use serde_json::json;
use support::*;

fn deployment(name: &str, annotations: serde_json::Value) -> serde_json::Value {
    obj("apps/v1", "Deployment", "ml", name, annotations)
}

fn configmap(name: &str, annotations: serde_json::Value) -> serde_json::Value {
    obj("v1", "ConfigMap", "ml", name, annotations)
}

#[test]
fn configmap_in_wave_0_lands_before_cronjob_in_wave_1() {
    let cron = obj(
        "batch/v1",
        "CronJob",
        "ml",
        "feature-backfill",
        json!({"argocd.argoproj.io/sync-wave": "1"}),
    );
    let cm = configmap("backfill-config", json!({}));
    let plan = plan_ok(&input(vec![cron, cm], vec![]));
    assert_eq!(
        summary(&plan),
        [
            "Sync/0 apply ConfigMap backfill-config",
            "Sync/1 apply CronJob feature-backfill"
        ]
    );
    assert_eq!(plan.waves(SyncPhase::Sync), [0, 1]);
    let steps: Vec<(SyncPhase, i32, usize)> = plan
        .steps()
        .into_iter()
        .map(|(p, w, t)| (p, w, t.len()))
        .collect();
    assert_eq!(steps, [(SyncPhase::Sync, 0, 1), (SyncPhase::Sync, 1, 1)]);
}

#[test]
fn presync_migration_before_deployment_and_postsync_smoke_test_after() {
    let migrate = obj(
        "batch/v1",
        "Job",
        "ml",
        "mlflow-db-migrate",
        json!({"argocd.argoproj.io/hook": "PreSync",
               "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
    );
    let mut smoke = obj(
        "batch/v1",
        "Job",
        "ml",
        "",
        json!({"argocd.argoproj.io/hook": "PostSync"}),
    );
    smoke["metadata"]["generateName"] = json!("mlflow-smoke-");
    let server = deployment("mlflow-server", json!({}));
    let svc = obj("v1", "Service", "ml", "mlflow-server", json!({}));
    let plan = plan_ok(&input(vec![smoke, server, svc, migrate], vec![]));
    assert_eq!(
        summary(&plan),
        [
            "PreSync/0 apply Job mlflow-db-migrate",
            "Sync/0 apply Service mlflow-server",
            "Sync/0 apply Deployment mlflow-server",
            "PostSync/0 create Job ",
        ]
    );
    let pre = &plan.tasks[0];
    assert!(pre.is_hook);
    assert_eq!(pre.hook_type, Some(HookType::PreSync));
    assert_eq!(pre.hook_delete_policies, [HookDeletePolicy::HookSucceeded]);
    let post = &plan.tasks[3];
    assert_eq!(post.action, TaskAction::Create);
    assert_eq!(
        post.hook_delete_policies,
        [HookDeletePolicy::BeforeHookCreation],
        "Argo CD's default policy"
    );
    assert!(!plan.tasks[1].is_hook && plan.tasks[1].hook_delete_policies.is_empty());
}

#[test]
fn named_hook_with_a_live_instance_is_deleted_before_creation() {
    let migrate = obj(
        "batch/v1",
        "Job",
        "ml",
        "mlflow-db-migrate",
        json!({"argocd.argoproj.io/hook": "PreSync"}),
    );
    let previous = tracked(migrate.clone(), APP);
    let plan = plan_ok(&input(vec![migrate], vec![previous]));
    assert_eq!(
        summary(&plan),
        ["PreSync/0 delete-before-create Job mlflow-db-migrate"]
    );
}

#[test]
fn hook_listed_for_two_phases_runs_in_both() {
    let check = obj(
        "batch/v1",
        "Job",
        "ml",
        "gpu-quota-check",
        json!({"argocd.argoproj.io/hook": "PreSync,PostSync"}),
    );
    let plan = plan_ok(&input(vec![check], vec![]));
    assert_eq!(
        summary(&plan),
        [
            "PreSync/0 apply Job gpu-quota-check",
            "PostSync/0 apply Job gpu-quota-check"
        ]
    );
}

#[test]
fn syncfail_hooks_come_last_and_are_not_executable_in_the_normal_run() {
    let notify = obj(
        "batch/v1",
        "Job",
        "ml",
        "notify-oncall",
        json!({"argocd.argoproj.io/hook": "SyncFail", "argocd.argoproj.io/sync-wave": "-3"}),
    );
    let plan = plan_ok(&input(vec![notify, deployment("api", json!({}))], vec![]));
    assert_eq!(
        plan.tasks.last().map(|t| t.phase),
        Some(SyncPhase::SyncFail)
    );
    assert_eq!(plan.executable().count(), 1);
}

#[test]
fn removed_deployment_is_pruned_only_when_requested() {
    let keep = deployment("mlflow-server", json!({}));
    let old = tracked(deployment("mlflow-legacy-ui", json!({})), APP);
    let mut inp = input(vec![keep.clone()], vec![tracked(keep, APP), old]);
    let plan = plan_ok(&inp);
    assert_eq!(
        summary(&plan),
        [
            "Sync/0 skip: ignored (requires pruning) Deployment mlflow-legacy-ui",
            "Sync/0 apply Deployment mlflow-server",
        ]
    );
    inp.options.prune = true;
    let plan = plan_ok(&inp);
    assert_eq!(
        summary(&plan),
        [
            "Sync/0 prune Deployment mlflow-legacy-ui",
            "Sync/0 apply Deployment mlflow-server",
        ]
    );
    let prune = &plan.tasks[0];
    assert_eq!(prune.object["metadata"]["uid"], "uid-mlflow-legacy-ui");
    assert_eq!(
        prune.options.prune_propagation_policy,
        PropagationPolicy::Foreground
    );
}

#[test]
fn prune_false_annotation_keeps_the_object() {
    let pvc = tracked(
        obj(
            "v1",
            "PersistentVolumeClaim",
            "ml",
            "mlflow-artifacts",
            json!({"argocd.argoproj.io/sync-options": "Prune=false"}),
        ),
        APP,
    );
    let mut inp = input(vec![deployment("mlflow-server", json!({}))], vec![pvc]);
    inp.options.prune = true;
    let plan = plan_ok(&inp);
    assert_eq!(
        summary(&plan),
        [
            "Sync/0 prune skipped: ignored (no prune) PersistentVolumeClaim mlflow-artifacts",
            "Sync/0 apply Deployment mlflow-server",
        ]
    );
    assert_eq!(plan.executable().count(), 1);
}

#[test]
fn prune_confirm_waits_for_confirmation() {
    let ns_scoped = tracked(
        configmap(
            "feature-store-creds",
            json!({"argocd.argoproj.io/sync-options": "Prune=confirm"}),
        ),
        APP,
    );
    let mut inp = input(vec![deployment("api", json!({}))], vec![ns_scoped]);
    inp.options.prune = true;
    assert!(matches!(
        &plan_ok(&inp).tasks[0].action,
        TaskAction::PruneSkipped { reason } if reason.contains("confirmation")
    ));
    inp.options.prune_confirmed = true;
    assert_eq!(plan_ok(&inp).tasks[0].action, TaskAction::Prune);
}

#[test]
fn prune_last_moves_prunes_after_the_last_sync_wave() {
    let desired = vec![
        configmap("cfg", json!({})),
        deployment("model-server", json!({"argocd.argoproj.io/sync-wave": "2"})),
    ];
    let live = vec![
        tracked(configmap("old-cfg", json!({})), APP),
        tracked(
            deployment(
                "old-server",
                json!({"argocd.argoproj.io/sync-options": "PruneLast=true"}),
            ),
            APP,
        ),
    ];
    let mut inp = input(desired, live);
    inp.options.prune = true;
    assert_eq!(
        summary(&plan_ok(&inp)),
        [
            "Sync/0 prune ConfigMap old-cfg",
            "Sync/0 apply ConfigMap cfg",
            "Sync/2 apply Deployment model-server",
            "Sync/3 prune Deployment old-server",
        ]
    );
    // Application-wide PruneLast.
    inp.options.sync_options = SyncOptions::from_list(&["PruneLast=true"]);
    let plan = plan_ok(&inp);
    assert_eq!(
        summary(&plan),
        [
            "Sync/0 apply ConfigMap cfg",
            "Sync/2 apply Deployment model-server",
            "Sync/3 prune Deployment old-server",
            "Sync/3 prune ConfigMap old-cfg",
        ],
        "prunes in reverse kind order"
    );
}

#[test]
fn prunes_of_higher_waves_go_first() {
    let live = vec![
        tracked(configmap("w0", json!({})), APP),
        tracked(
            deployment("w5", json!({"argocd.argoproj.io/sync-wave": "5"})),
            APP,
        ),
    ];
    let mut inp = input(vec![configmap("keep", json!({}))], live);
    inp.options.prune = true;
    assert_eq!(
        summary(&plan_ok(&inp)),
        [
            "Sync/0 prune Deployment w5",
            "Sync/0 apply ConfigMap keep",
            "Sync/5 prune ConfigMap w0",
        ]
    );
}

#[test]
fn objects_of_another_app_are_never_pruned() {
    let airflow_cm = tracked(configmap("airflow-config", json!({})), "airflow");
    let mut labelled = configmap("labelled-by-airflow", json!({}));
    labelled["metadata"]["labels"] = json!({"app.kubernetes.io/instance": "airflow"});
    let untracked = configmap("hand-made", json!({}));
    // A pod created by a ReplicaSet inherits the instance label of its template.
    let mut pod = obj("v1", "Pod", "ml", "mlflow-server-7d9c-abcde", json!({}));
    pod["metadata"]["labels"] = json!({"app.kubernetes.io/instance": APP});
    pod["metadata"]["ownerReferences"] =
        json!([{"kind": "ReplicaSet", "name": "mlflow-server-7d9c"}]);
    // A copy of our tracking id on a different object.
    let mut copied = configmap("copied", json!({}));
    copied["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] =
        json!("mlflow:/ConfigMap:ml/original");
    let mut inp = input(
        vec![deployment("mlflow-server", json!({}))],
        vec![airflow_cm, labelled, untracked, pod, copied],
    );
    inp.options.prune = true;
    inp.options.allow_empty = true;
    let plan = plan_ok(&inp);
    assert_eq!(summary(&plan), ["Sync/0 apply Deployment mlflow-server"]);
    assert_eq!(plan.warnings.len(), 4, "{:?}", plan.warnings);
}

#[test]
fn label_tracked_objects_of_this_app_are_pruned() {
    let mut cm = configmap("label-tracked", json!({}));
    cm["metadata"]["labels"] = json!({"app.kubernetes.io/instance": APP});
    let mut inp = input(vec![deployment("api", json!({}))], vec![cm]);
    inp.options.prune = true;
    assert_eq!(plan_ok(&inp).tasks[0].action, TaskAction::Prune);
}

#[test]
fn empty_render_never_prunes_without_allow_empty() {
    let live = vec![
        tracked(deployment("mlflow-server", json!({})), APP),
        tracked(configmap("cfg", json!({})), APP),
    ];
    let mut inp = input(vec![], live);
    inp.options.prune = true;
    let plan = plan_ok(&inp);
    assert_eq!(plan.executable().count(), 0);
    assert!(
        plan.tasks
            .iter()
            .all(|t| matches!(&t.action, TaskAction::PruneSkipped { reason } if reason.contains("allowEmpty")))
    );
    assert_eq!(plan.warnings.len(), 1);
    inp.options.allow_empty = true;
    let plan = plan_ok(&inp);
    assert_eq!(
        summary(&plan),
        [
            "Sync/0 prune Deployment mlflow-server",
            "Sync/0 prune ConfigMap cfg"
        ]
    );
}

#[test]
fn helm_hooks_map_to_phases_and_weights() {
    let pre = obj(
        "batch/v1",
        "Job",
        "ml",
        "airflow-db-init",
        json!({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "-5",
               "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}),
    );
    let post = obj(
        "batch/v1",
        "Job",
        "ml",
        "airflow-create-user",
        json!({"helm.sh/hook": "post-install,post-upgrade", "helm.sh/hook-weight": "2"}),
    );
    let test = obj(
        "v1",
        "Pod",
        "ml",
        "airflow-test-connection",
        json!({"helm.sh/hook": "test"}),
    );
    let crd = obj(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "",
        "dags.airflow.example.com",
        json!({"helm.sh/hook": "crd-install"}),
    );
    let web = deployment("airflow-webserver", json!({}));
    let plan = plan_ok(&input(vec![web, test, post, pre, crd], vec![]));
    assert_eq!(
        summary(&plan),
        [
            "PreSync/-5 apply Job airflow-db-init",
            "Sync/0 apply CustomResourceDefinition dags.airflow.example.com",
            "Sync/0 skip: helm hook test does not run on sync Pod airflow-test-connection",
            "Sync/0 apply Deployment airflow-webserver",
            "PostSync/2 apply Job airflow-create-user",
        ]
    );
    assert_eq!(
        plan.tasks[0].hook_delete_policies,
        [
            HookDeletePolicy::HookSucceeded,
            HookDeletePolicy::BeforeHookCreation
        ]
    );
    assert!(!plan.tasks[1].is_hook, "crd-install is ignored");
}

#[test]
fn selective_sync_plans_only_listed_resources_and_no_hooks() {
    let desired = vec![
        deployment("mlflow-server", json!({})),
        configmap("mlflow-config", json!({})),
        obj(
            "batch/v1",
            "Job",
            "ml",
            "migrate",
            json!({"argocd.argoproj.io/hook": "PreSync"}),
        ),
    ];
    let live = vec![
        tracked(configmap("old-a", json!({})), APP),
        tracked(configmap("old-b", json!({})), APP),
    ];
    let mut inp = input(desired, live);
    inp.options.prune = true;
    inp.options.resources = vec![
        SyncOperationResource {
            group: Some("apps".into()),
            kind: "Deployment".into(),
            name: "mlflow-server".into(),
            ..Default::default()
        },
        SyncOperationResource {
            kind: "ConfigMap".into(),
            name: "old-b".into(),
            namespace: Some("ml".into()),
            ..Default::default()
        },
    ];
    assert_eq!(
        summary(&plan_ok(&inp)),
        [
            "Sync/0 prune ConfigMap old-b",
            "Sync/0 apply Deployment mlflow-server"
        ]
    );
}

#[test]
fn kind_order_within_a_wave() {
    let desired = vec![
        obj(
            "networking.k8s.io/v1",
            "Ingress",
            "ml",
            "a-ingress",
            json!({}),
        ),
        deployment("b-deploy", json!({})),
        obj("v1", "Service", "ml", "c-svc", json!({})),
        configmap("d-cm", json!({})),
        obj("v1", "ServiceAccount", "ml", "e-sa", json!({})),
        obj("v1", "Namespace", "", "ml", json!({})),
        obj(
            "serving.example.com/v1",
            "InferenceService",
            "ml",
            "f-llm",
            json!({}),
        ),
        obj("v1", "Secret", "ml", "g-secret", json!({})),
        obj(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "ml",
            "h-rb",
            json!({}),
        ),
        obj(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            "ml",
            "i-hpa",
            json!({}),
        ),
        configmap("a-cm", json!({})),
    ];
    let kinds: Vec<String> = plan_ok(&input(desired, vec![]))
        .tasks
        .iter()
        .map(|t| format!("{} {}", t.key.kind, t.key.name))
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace ml",
            "ServiceAccount e-sa",
            "Secret g-secret",
            "ConfigMap a-cm",
            "ConfigMap d-cm",
            "RoleBinding h-rb",
            "Service c-svc",
            "Deployment b-deploy",
            "HorizontalPodAutoscaler i-hpa",
            "Ingress a-ingress",
            "InferenceService f-llm",
        ]
    );
}

#[test]
fn create_namespace_comes_first_with_managed_metadata() {
    let pre = obj(
        "batch/v1",
        "Job",
        "ml",
        "warm-cache",
        json!({"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/sync-wave": "-10"}),
    );
    let mut inp = input(vec![deployment("api", json!({})), pre], vec![]);
    inp.options.sync_options = SyncOptions::from_list(&["CreateNamespace=true"]);
    inp.options.destination_namespace = Some("ml".into());
    inp.options.managed_namespace_metadata = Some(ManagedNamespaceMetadata {
        labels: [("team".to_string(), "ml-platform".to_string())].into(),
        annotations: [("owner".to_string(), "mlops@example.com".to_string())].into(),
        ..Default::default()
    });
    let plan = plan_ok(&inp);
    assert_eq!(
        summary(&plan),
        [
            format!("PreSync/{} apply Namespace ml", i32::MIN),
            "PreSync/-10 apply Job warm-cache".to_string(),
            "Sync/0 apply Deployment api".to_string(),
        ]
    );
    assert_eq!(
        plan.tasks[0].object,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml",
            "labels": {"team": "ml-platform"}, "annotations": {"owner": "mlops@example.com"}}})
    );
    assert!(
        plan.tasks[0].object["metadata"]["annotations"]
            .get("argocd.argoproj.io/tracking-id")
            .is_none(),
        "the managed namespace is not tracked, so it is never pruned"
    );
    // A desired Namespace of that name is not doubled, and still comes first (objects
    // in earlier waves than its own live in it).
    inp.desired.extend(desired(vec![obj(
        "v1",
        "Namespace",
        "",
        "ml",
        json!({"argocd.argoproj.io/sync-wave": "5"}),
    )]));
    let plan = plan_ok(&inp);
    let namespaces: Vec<&SyncTask> = plan
        .tasks
        .iter()
        .filter(|t| t.key.kind == "Namespace")
        .collect();
    assert_eq!(namespaces.len(), 1);
    assert_eq!(
        (namespaces[0].phase, namespaces[0].wave),
        (SyncPhase::PreSync, i32::MIN)
    );
    assert_eq!(
        summary(&plan)[0],
        format!("PreSync/{} apply Namespace ml", i32::MIN)
    );
}

#[test]
fn apply_out_of_sync_only_skips_synced_objects() {
    let a = deployment("in-sync", json!({}));
    let b = deployment("drifted", json!({}));
    let c = deployment("missing", json!({}));
    let mut inp = input(
        vec![a.clone(), b.clone(), c],
        vec![tracked(a, APP), tracked(b.clone(), APP)],
    );
    inp.out_of_sync.insert(ResourceKey::from_object(&b));
    inp.options.sync_options = SyncOptions::from_list(&["ApplyOutOfSyncOnly=true"]);
    let plan = plan_ok(&inp);
    assert_eq!(
        summary(&plan),
        [
            "Sync/0 apply Deployment drifted",
            "Sync/0 skip: in sync (ApplyOutOfSyncOnly) Deployment in-sync",
            "Sync/0 apply Deployment missing",
        ]
    );
}

#[test]
fn resource_options_layer_over_application_options() {
    let d = deployment(
        "triton",
        json!({"argocd.argoproj.io/sync-options": "Replace=true,Validate=false"}),
    );
    let mut inp = input(vec![d, deployment("plain", json!({}))], vec![]);
    inp.options.sync_options = SyncOptions::from_list(&["ServerSideApply=true"]);
    let plan = plan_ok(&inp);
    assert_eq!(plan.tasks[0].key.name, "plain");
    assert_eq!(plan.tasks[0].action, TaskAction::Apply);
    assert_eq!(plan.tasks[1].action, TaskAction::Replace);
    assert!(!plan.tasks[1].options.validate);
    assert_eq!(plan.tasks[1].options.server_side_apply, Some(true));
}

#[test]
fn custom_resources_of_a_new_crd_wait_for_discovery() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "inferenceservices.serving.example.com"},
        "spec": {"group": "serving.example.com", "names": {"kind": "InferenceService"}}});
    let isvc = obj(
        "serving.example.com/v1",
        "InferenceService",
        "ml",
        "llama",
        json!({}),
    );
    let plan = plan_ok(&input(vec![isvc.clone(), crd.clone()], vec![]));
    assert_eq!(plan.tasks[0].key.kind, "CustomResourceDefinition");
    assert!(!plan.tasks[0].needs_discovery_refresh);
    assert!(plan.tasks[1].needs_discovery_refresh);
    // Once the CRD is live, discovery already knows the kind.
    let plan = plan_ok(&input(vec![isvc, crd.clone()], vec![tracked(crd, APP)]));
    assert!(plan.tasks.iter().all(|t| !t.needs_discovery_refresh));
}

#[test]
fn refused_input() {
    let d = deployment("api", json!({}));
    assert!(matches!(
        plan(&input(vec![d.clone(), d.clone()], vec![])),
        Err(PlanError::Duplicate { .. })
    ));
    let nameless = deployment("", json!({}));
    assert!(matches!(
        plan(&input(vec![nameless], vec![])),
        Err(PlanError::MissingName { .. })
    ));
    let kindless = json!({"apiVersion": "v1", "metadata": {"name": "x"}});
    assert_eq!(
        plan(&input(vec![kindless], vec![])),
        Err(PlanError::MissingKind { index: 0 })
    );
    let mut inp = input(vec![d.clone()], vec![tracked(d, "airflow")]);
    inp.options.sync_options = SyncOptions::from_list(&["FailOnSharedResource=true"]);
    let err = plan(&inp).err();
    assert_eq!(
        err.map(|e| e.to_string()),
        Some("resource apps/Deployment ml/api is already managed by application airflow".into())
    );
}

#[test]
fn options_from_an_application_and_a_sync_request() {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: mlflow
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example.com/ml-platform.git
    path: apps/mlflow
  destination:
    server: https://kubernetes.default.svc
    namespace: mlflow
  syncPolicy:
    automated:
      prune: true
    syncOptions:
      - CreateNamespace=true
      - PruneLast=true
    managedNamespaceMetadata:
      labels:
        team: ml
"#;
    let app = match Application::from_yaml(yaml, "mlflow.yaml") {
        Ok(app) => app,
        Err(err) => panic!("{err}"),
    };
    let auto = PlanOptions::for_application(&app, None);
    assert!(auto.prune && !auto.allow_empty && !auto.dry_run);
    assert!(auto.sync_options.create_namespace && auto.sync_options.prune_last);
    assert_eq!(auto.destination_namespace.as_deref(), Some("mlflow"));
    assert_eq!(
        auto.managed_namespace_metadata
            .as_ref()
            .map(|m| m.labels.len()),
        Some(1)
    );
    let request = SyncOperation {
        dry_run: Some(true),
        sync_options: vec!["PruneLast=false".into()],
        ..Default::default()
    };
    let manual = PlanOptions::for_application(&app, Some(&request));
    assert!(!manual.prune && manual.dry_run && !manual.sync_options.prune_last);
}
