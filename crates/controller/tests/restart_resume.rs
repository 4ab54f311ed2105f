//! A controller stopped in the middle of a sync: the operation stays `Running` with the
//! hooks that already succeeded, and the next controller finishes it without running a
//! hook twice. The sandbox keeps pods starting for a few seconds, so the sync spends time
//! on its PreSync hook Job and on the health of its wave-2 Deployment (which gates wave 3).

mod support;

use std::time::{Duration, Instant};

use ferrocd_cluster::Cluster;
use ferrocd_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};
use support::*;

const POD_START: Duration = Duration::from_secs(3);

const HOOK: &str = "apiVersion: batch/v1
kind: Job
metadata:
  generateName: feature-store-migrate-
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/ml-platform/feature-store-migrate:0.9.2
          args: [\"--schema\", \"v12\"]
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: fraud-detector
  annotations:
    argocd.argoproj.io/sync-wave: \"2\"
spec:
  replicas: 1
  selector:
    matchLabels: {app: fraud-detector}
  template:
    metadata:
      labels: {app: fraud-detector}
    spec:
      containers:
        - name: server
          image: ghcr.io/ml-platform/fraud-detector:1.4.0
          resources:
            limits: {cpu: \"1\", memory: 2Gi}
";

/// Wave 3: the sync waits for the wave-2 Deployment to be healthy before applying it.
const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: fraud-detector
  annotations:
    argocd.argoproj.io/sync-wave: \"3\"
spec:
  selector: {app: fraud-detector}
  ports:
    - port: 8080
";

async fn hook_jobs(cluster: &Cluster, ns: &str) -> Vec<String> {
    cluster
        .list("batch", "Job", Some(ns))
        .await
        .expect("list jobs")
        .iter()
        .filter_map(|j| j["metadata"]["name"].as_str().map(str::to_string))
        .filter(|n| n.starts_with("feature-store-migrate-"))
        .collect()
}

fn presync_in(st: &Value, phase: &str) -> bool {
    st["operationState"]["syncResult"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["hookType"] == "PreSync" && r["hookPhase"] == phase)
}

fn presync_succeeded(st: &Value) -> bool {
    st["operationState"]["syncResult"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["hookType"] == "PreSync" && r["hookPhase"] == "Succeeded")
}

/// A sandbox whose pods start after [`POD_START`], with the CRDs, and a repository whose
/// `serving/` app has a PreSync hook Job, a ConfigMap, a wave-2 Deployment and a wave-3
/// Service.
async fn slow_fixture() -> (Sandbox, Cluster, tempfile::TempDir, tempfile::TempDir) {
    let sandbox = Sandbox::start(SandboxOptions {
        pod_ready_delay: POD_START,
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let dir = tempfile::tempdir().expect("dir");
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let cluster = Cluster::from_kubeconfig(Some(&kubeconfig), None)
        .await
        .expect("connect");
    cluster
        .install_crds(&ferrocd_model::crds(), Duration::from_secs(10))
        .await
        .expect("CRDs");
    apply(
        &cluster,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}),
    )
    .await;
    let repo = tempfile::tempdir().expect("repo");
    let r = repo.path();
    git(r, &["init", "-q", "-b", "main"]);
    write(&r.join("serving/configmap.yaml"), &config_map("1.4.0"));
    write(&r.join("serving/migrate.yaml"), HOOK);
    write(&r.join("serving/deployment.yaml"), DEPLOYMENT);
    write(&r.join("serving/service.yaml"), SERVICE);
    git(r, &["add", "-A"]);
    git(
        r,
        &[
            "commit",
            "-q",
            "-m",
            "fraud detector with its feature store migration",
        ],
    );
    (sandbox, cluster, dir, repo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_in_the_middle_of_a_sync_resumes_without_running_a_hook_twice() {
    let (sandbox, cluster, _dir, repo) = slow_fixture().await;
    let r = repo.path();
    let cache = tempfile::tempdir().expect("cache");
    let first = start_controller(&cluster, cache.path(), Duration::from_secs(600)).await;
    let ns = "fraud-serving";
    apply(&cluster, application("fraud-prod", r, ns, false)).await;
    request_operation(
        &cluster,
        "fraud-prod",
        json!({"sync": {}, "initiatedBy": {"username": "alice"}}),
    )
    .await;
    // Stop the controller once the hook has succeeded and the sync waits for wave 2.
    let status = wait_status(&cluster, "fraud-prod", "the PreSync hook done", |st| {
        st["operationState"]["phase"] == "Running" && presync_succeeded(st)
    })
    .await;
    assert!(history_len(&status) == 0, "{status:#}");
    let stopped_at = Instant::now();
    first.shutdown().await;
    assert!(stopped_at.elapsed() < ferrocd_controller::SHUTDOWN_GRACE);
    let status = app_object(&cluster, "fraud-prod").await["status"].clone();
    assert_eq!(status["operationState"]["phase"], "Running", "{status:#}");
    assert!(presync_succeeded(&status), "{status:#}");
    assert_eq!(hook_jobs(&cluster, ns).await.len(), 1);

    // A new controller resumes and finishes the operation.
    let cache = tempfile::tempdir().expect("cache");
    let second = start_controller(&cluster, cache.path(), Duration::from_secs(600)).await;
    let status = wait_status(&cluster, "fraud-prod", "the sync finished", |st| {
        st["operationState"]["phase"] != "Running" && history_len(st) == 1
    })
    .await;
    assert_eq!(status["operationState"]["phase"], "Succeeded", "{status:#}");
    assert_eq!(status["history"][0]["initiatedBy"]["username"], "alice");
    assert!(
        presync_succeeded(&status),
        "the hook stays in the result: {status:#}"
    );
    let deployment = cluster
        .get(&key("apps", "Deployment", ns, "fraud-detector"))
        .await
        .expect("get")
        .expect("deployment applied");
    assert_eq!(deployment["status"]["readyReplicas"], 1, "{deployment:#}");
    let jobs = hook_jobs(&cluster, ns).await;
    assert_eq!(jobs.len(), 1, "the hook ran once: {jobs:?}");
    wait_status(&cluster, "fraud-prod", "Synced and Healthy", synced_healthy).await;
    second.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_a_running_sync_stops_it_before_the_next_wave() {
    let (sandbox, cluster, _dir, repo) = slow_fixture().await;
    let cache = tempfile::tempdir().expect("cache");
    let controller = start_controller(&cluster, cache.path(), Duration::from_secs(600)).await;
    let ns = "fraud-terminate";
    apply(
        &cluster,
        application("fraud-canary", repo.path(), ns, false),
    )
    .await;
    request_operation(
        &cluster,
        "fraud-canary",
        json!({"sync": {}, "initiatedBy": {"username": "alice"}}),
    )
    .await;
    wait_status(&cluster, "fraud-canary", "the sync under way", |st| {
        st["operationState"]["phase"] == "Running" && presync_succeeded(st)
    })
    .await;
    // What `ferrocd app terminate-op` and the API write.
    cluster
        .merge_patch(
            &app_key("fraud-canary"),
            &json!({"status": {"operationState": {"phase": "Terminating"}}}),
        )
        .await
        .expect("terminate");
    let status = wait_status(&cluster, "fraud-canary", "the operation ended", |st| {
        let phase = st["operationState"]["phase"].as_str().unwrap_or_default();
        phase != "Running" && phase != "Terminating"
    })
    .await;
    assert_eq!(status["operationState"]["phase"], "Failed", "{status:#}");
    let message = status["operationState"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("terminated"), "{message}");
    assert_eq!(
        history_len(&status),
        0,
        "a terminated sync is no deployment"
    );
    // Wave 3 never came.
    tokio::time::sleep(POD_START).await;
    assert!(
        cluster
            .get(&key("", "Service", ns, "fraud-detector"))
            .await
            .expect("get")
            .is_none()
    );
    assert_eq!(hook_jobs(&cluster, ns).await.len(), 1);
    controller.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_while_a_hook_runs_waits_for_that_hook_instead_of_starting_another() {
    let (sandbox, cluster, _dir, repo) = slow_fixture().await;
    let cache = tempfile::tempdir().expect("cache");
    let first = start_controller(&cluster, cache.path(), Duration::from_secs(600)).await;
    let ns = "fraud-hook-running";
    apply(
        &cluster,
        application("fraud-staging", repo.path(), ns, false),
    )
    .await;
    request_operation(
        &cluster,
        "fraud-staging",
        json!({"sync": {}, "initiatedBy": {"username": "alice"}}),
    )
    .await;
    wait_status(
        &cluster,
        "fraud-staging",
        "the PreSync hook running",
        |st| st["operationState"]["phase"] == "Running" && presync_in(st, "Running"),
    )
    .await;
    first.shutdown().await;
    let status = app_object(&cluster, "fraud-staging").await["status"].clone();
    assert_eq!(status["operationState"]["phase"], "Running", "{status:#}");
    let jobs = hook_jobs(&cluster, ns).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");

    let cache = tempfile::tempdir().expect("cache");
    let second = start_controller(&cluster, cache.path(), Duration::from_secs(600)).await;
    let status = wait_status(&cluster, "fraud-staging", "the sync finished", |st| {
        st["operationState"]["phase"] != "Running" && history_len(st) == 1
    })
    .await;
    assert_eq!(status["operationState"]["phase"], "Succeeded", "{status:#}");
    assert!(presync_succeeded(&status), "{status:#}");
    assert_eq!(
        hook_jobs(&cluster, ns).await,
        jobs,
        "the same hook Job, once"
    );
    second.shutdown().await;
    sandbox.shutdown().await;
}
