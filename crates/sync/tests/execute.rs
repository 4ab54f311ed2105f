//! The executor against a TestCluster (sandbox, or a real cluster with
//! FERROCD_TEST_REAL_CLUSTER=1): termination, CRDs created in the same sync, operation
//! retries, wave timeouts.

use std::time::Duration;

use ferrocd_cluster::testing::TestCluster;
use ferrocd_diff::DiffOptions;
use ferrocd_health::HealthCustomizations;
use ferrocd_manifest::parse_documents;
use ferrocd_model::{Backoff, OperationPhase, ResourceKey, RetryStrategy};
use ferrocd_sync::{
    CancelHandle, CompareInput, ExecuteOptions, ExecuteOutcome, PlanInput, PlanOptions,
    PrepareOptions, SyncEvent, SyncPlan, compare, execute, live, plan, prepare,
};
use serde_json::json;

async fn make_plan(tc: &TestCluster, app: &str, ns: &str, yaml: &str) -> SyncPlan {
    let manifests = parse_documents(yaml, "app.yaml").expect("parse");
    let desired = prepare(
        &tc.cluster,
        &manifests,
        &PrepareOptions {
            app: app.into(),
            destination_namespace: ns.into(),
        },
    )
    .await
    .expect("prepare");
    let inventory = live::load(&tc.cluster, app, &desired).await.expect("live");
    let comparison = compare(&CompareInput {
        app,
        desired: &desired,
        live: &inventory,
        diff: &DiffOptions::default(),
        health: &HealthCustomizations::default(),
    })
    .expect("compare");
    plan(&PlanInput {
        app: app.into(),
        desired: desired.to_plan_input(),
        live: inventory.tracked.clone(),
        out_of_sync: comparison.out_of_sync(),
        options: PlanOptions {
            destination_namespace: Some(ns.into()),
            ..Default::default()
        },
    })
    .expect("plan")
}

/// A cluster for one test. kube's TLS needs a process-wide crypto provider, which the
/// sandbox installs but a real cluster (FERROCD_TEST_REAL_CLUSTER=1) does not.
async fn start(gpus: u32) -> TestCluster {
    let _ = rustls::crypto::ring::default_provider().install_default();
    TestCluster::start_with_gpus(gpus).await
}

async fn namespace(tc: &TestCluster, name: &str) -> String {
    let ns = tc.namespace(name);
    tc.cluster
        .apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            &Default::default(),
        )
        .await
        .expect("namespace");
    ns
}

async fn run(
    tc: &TestCluster,
    plan: &SyncPlan,
    opts: &ExecuteOptions,
    cancel: &CancelHandle,
    mut on_event: impl FnMut(&SyncEvent) + Send + Sync,
) -> ExecuteOutcome {
    execute(&tc.cluster, plan, opts, cancel, &mut on_event).await
}

const WAVES: &str = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: wave-0, annotations: {argocd.argoproj.io/sync-wave: "0"}}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: wave-1, annotations: {argocd.argoproj.io/sync-wave: "1"}}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: wave-2, annotations: {argocd.argoproj.io/sync-wave: "2"}}
data: {a: b}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_stops_between_tasks() {
    let tc = start(0).await;
    let ns = namespace(&tc, "terminate").await;
    let plan = make_plan(&tc, "airflow", &ns, WAVES).await;
    let cancel = CancelHandle::new();
    let trigger = cancel.clone();
    let outcome = run(&tc, &plan, &ExecuteOptions::default(), &cancel, |e| {
        if let SyncEvent::Operation(r) = e
            && r.key.name == "wave-0"
            && r.action == "apply"
        {
            trigger.terminate();
        }
    })
    .await;
    assert_eq!(outcome.phase, OperationPhase::Failed);
    assert_eq!(outcome.message, "operation terminated");
    for (name, exists) in [("wave-0", true), ("wave-1", false), ("wave-2", false)] {
        let key = ResourceKey::new("", "ConfigMap", ns.as_str(), name);
        assert_eq!(
            tc.cluster.get(&key).await.expect("get").is_some(),
            exists,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_and_its_resources_in_one_sync() {
    let tc = start(0).await;
    let ns = namespace(&tc, "crd").await;
    let group = format!("{}.serving.example.dev", tc.namespace("g"));
    let yaml = format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: inferenceservices.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: InferenceService, plural: inferenceservices, singular: inferenceservice, listKind: InferenceServiceList}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: {group}/v1
kind: InferenceService
metadata: {{name: fraud-detector}}
spec:
  model: {{format: onnx, storageUri: "s3://models/fraud/3"}}
"#
    );
    let plan = make_plan(&tc, "serving", &ns, &yaml).await;
    let cr = plan
        .tasks
        .iter()
        .find(|t| t.key.kind == "InferenceService")
        .expect("CR task");
    assert!(cr.needs_discovery_refresh);
    assert_eq!(cr.key.namespace, ns, "placed from the CRD's scope");
    let mut ops = Vec::new();
    let outcome = run(
        &tc,
        &plan,
        &ExecuteOptions::default(),
        &CancelHandle::new(),
        |e| {
            if let SyncEvent::Operation(r) = e {
                ops.push((r.key.kind.clone(), r.action.clone()));
            }
        },
    )
    .await;
    assert_eq!(
        outcome.phase,
        OperationPhase::Succeeded,
        "{}",
        outcome.message
    );
    let live = tc
        .cluster
        .get(&ResourceKey::new(
            group.as_str(),
            "InferenceService",
            ns.as_str(),
            "fraud-detector",
        ))
        .await
        .expect("get");
    assert!(live.is_some());
    let crd = ops
        .iter()
        .position(|(k, a)| k == "CustomResourceDefinition" && a == "apply");
    let isvc = ops
        .iter()
        .position(|(k, a)| k == "InferenceService" && a == "apply");
    assert!(crd < isvc && isvc.is_some(), "{ops:?}");
    // Leave no cluster-scoped garbage on a shared cluster.
    let _ = tc
        .cluster
        .delete(
            &ResourceKey::new(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "",
                format!("inferenceservices.{group}"),
            ),
            &Default::default(),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_are_retried_per_strategy() {
    let tc = start(0).await;
    let Some(sandbox) = tc.sandbox.as_ref() else {
        return; // fault injection needs the sandbox
    };
    let ns = namespace(&tc, "retry").await;
    let plan = make_plan(&tc, "airflow", &ns, WAVES).await;
    let opts = ExecuteOptions {
        retry: Some(RetryStrategy {
            limit: Some(3),
            backoff: Some(Backoff {
                duration: Some("1s".into()),
                factor: Some(1),
                max_duration: Some("1s".into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        request: ferrocd_sync::RequestPolicy {
            attempts: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let faults = sandbox.faults().clone();
    faults.set_error_code(500);
    faults.set_error_rate(ferrocd_sandbox::Verb::Patch, 1.0);
    let mut retries = Vec::new();
    let outcome = run(&tc, &plan, &opts, &CancelHandle::new(), |e| {
        if let SyncEvent::Retrying {
            attempt, message, ..
        } = e
        {
            retries.push((*attempt, message.clone()));
            faults.clear();
        }
    })
    .await;
    assert_eq!(
        outcome.phase,
        OperationPhase::Succeeded,
        "{}",
        outcome.message
    );
    assert_eq!(outcome.retries, 1);
    assert_eq!(retries.len(), 1);
    assert!(
        retries[0].1.contains("failed to apply (dry run)"),
        "{}",
        retries[0].1
    );

    // Without a strategy the same failure ends the operation with the server's message.
    sandbox.faults().set_error_code(500);
    sandbox
        .faults()
        .set_error_rate(ferrocd_sandbox::Verb::Patch, 1.0);
    let outcome = run(
        &tc,
        &plan,
        &ExecuteOptions {
            retry: None,
            ..opts
        },
        &CancelHandle::new(),
        |_| {},
    )
    .await;
    sandbox.faults().clear();
    assert_eq!(outcome.phase, OperationPhase::Failed);
    assert!(outcome.message.contains("apply"), "{}", outcome.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_that_never_gets_healthy_times_out_with_the_reason() {
    let tc = start(0).await;
    let ns = namespace(&tc, "wave-timeout").await;
    let yaml = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: llm, annotations: {argocd.argoproj.io/sync-wave: "0"}}
spec:
  replicas: 1
  selector: {matchLabels: {app: llm}}
  template:
    metadata: {labels: {app: llm}}
    spec:
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.6.3
        resources: {limits: {nvidia.com/gpu: 1}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: after-llm, annotations: {argocd.argoproj.io/sync-wave: "1"}}
"#;
    let plan = make_plan(&tc, "llm", &ns, yaml).await;
    let opts = ExecuteOptions {
        timeout: Some(Duration::from_secs(3)),
        ..Default::default()
    };
    let outcome = run(&tc, &plan, &opts, &CancelHandle::new(), |_| {}).await;
    assert_eq!(outcome.phase, OperationPhase::Failed);
    assert!(outcome.message.contains("timed out"), "{}", outcome.message);
    assert!(
        outcome.message.contains("deployment.apps/llm"),
        "{}",
        outcome.message
    );
    assert!(
        outcome.message.to_lowercase().contains("gpu"),
        "{}",
        outcome.message
    );
    let after = tc
        .cluster
        .get(&ResourceKey::new("", "ConfigMap", ns.as_str(), "after-llm"))
        .await
        .expect("get");
    assert!(after.is_none(), "wave 1 ran before wave 0 was healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_slower_than_their_time_limit_fail_with_a_clear_message() {
    let tc = start(0).await;
    let Some(sandbox) = tc.sandbox.as_ref() else {
        return; // latency injection needs the sandbox
    };
    let ns = namespace(&tc, "latency").await;
    let plan = make_plan(&tc, "airflow", &ns, WAVES).await;
    sandbox.faults().set_latency(Duration::from_millis(400));
    let opts = ExecuteOptions {
        request: ferrocd_sync::RequestPolicy {
            attempts: 2,
            timeout: Duration::from_millis(150),
            ..Default::default()
        },
        ..Default::default()
    };
    let outcome = run(&tc, &plan, &opts, &CancelHandle::new(), |_| {}).await;
    sandbox.faults().clear();
    assert_eq!(outcome.phase, OperationPhase::Failed);
    assert!(
        outcome.message.contains("request timed out after 0.15s"),
        "{}",
        outcome.message
    );
    // Conflicts on every other write converge through the request retries. With the default
    // 6 attempts a write fails for good once in 64, which over the plan's writes made this
    // check fail now and then; 16 attempts with short backoffs keep it about retries.
    sandbox.faults().set_conflict_rate(0.5);
    let retrying = ExecuteOptions {
        request: ferrocd_sync::RequestPolicy {
            attempts: 16,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(100),
            ..Default::default()
        },
        ..Default::default()
    };
    let outcome = run(&tc, &plan, &retrying, &CancelHandle::new(), |_| {}).await;
    sandbox.faults().clear();
    assert_eq!(
        outcome.phase,
        OperationPhase::Succeeded,
        "{}",
        outcome.message
    );
}
