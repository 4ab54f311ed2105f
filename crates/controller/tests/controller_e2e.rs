//! The controller end to end against a real API server (the sandbox, or the cluster of
//! `KUBECONFIG` with `FERROCD_TEST_REAL_CLUSTER=1`) and a real Git repository (file://):
//! automated sync, self-heal of a hand edit, a new commit picked up on refresh, a manual
//! sync through the `operation` field, history, a project violation, and deletion with the
//! resources finalizer.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferrocd_cluster::testing::TestCluster;
use ferrocd_cluster::{Cluster, WriteOptions};
use ferrocd_controller::{Controller, ControllerConfig, Metrics};
use serde_json::{Value, json};

mod support;
use support::{apply, config_map, git, key, synced_healthy, write};

const WAIT: Duration = Duration::from_secs(40);

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: fraud-detector
  annotations:
    argocd.argoproj.io/sync-wave: \"1\"
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
          envFrom:
            - configMapRef: {name: model-config}
";

/// A Git repository with one app folder `serving/`.
fn make_repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    write(&dir.join("serving/configmap.yaml"), &config_map("1.4.0"));
    write(&dir.join("serving/deployment.yaml"), DEPLOYMENT);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "fraud detector 1.4.0"]);
}

fn application(name: &str, repo: &Path, namespace: &str, automated: bool, project: &str) -> Value {
    let mut app = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd",
            "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
        "spec": {"project": project,
            "source": {"repoURL": format!("file://{}", repo.display()), "targetRevision": "main",
                "path": "serving"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}});
    if automated {
        app["spec"]["syncPolicy"]["automated"] = json!({"prune": true, "selfHeal": true});
    }
    app
}

async fn app_status(cluster: &Cluster, name: &str) -> Value {
    cluster
        .get(&key("argoproj.io", "Application", "argocd", name))
        .await
        .expect("get app")
        .map(|a| a["status"].clone())
        .unwrap_or(Value::Null)
}

async fn wait_status(
    cluster: &Cluster,
    name: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = app_status(cluster, name).await;
        if pred(&status) {
            return status;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{name}: timed out waiting for {what}; status: {status:#}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Stack {
    tc: TestCluster,
    controller: Controller,
    _cache: tempfile::TempDir,
}

async fn stack() -> Stack {
    let tc = TestCluster::start().await;
    tc.cluster
        .install_crds(&ferrocd_model::crds(), Duration::from_secs(10))
        .await
        .expect("install the CRDs");
    apply(
        &tc.cluster,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}),
    )
    .await;
    let cache = tempfile::tempdir().expect("cache dir");
    let config = ControllerConfig {
        app_resync: Duration::from_secs(3),
        repo_cache_dir: cache.path().to_path_buf(),
        ..Default::default()
    };
    let controller = Controller::start(config, tc.cluster.clone(), Arc::new(Metrics::new()))
        .await
        .expect("controller starts");
    Stack {
        tc,
        controller,
        _cache: cache,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automated_sync_self_heal_new_commit_and_deletion() {
    let s = stack().await;
    let cluster = &s.tc.cluster;
    let repo = tempfile::tempdir().expect("repo");
    make_repo(repo.path());
    let ns = s.tc.namespace("serving");
    apply(
        cluster,
        application("fraud-dev", repo.path(), &ns, true, "default"),
    )
    .await;

    // The comparison and the operation write their parts of the status separately: wait
    // for both.
    let status = wait_status(cluster, "fraud-dev", "Synced, Healthy and recorded", |st| {
        synced_healthy(st) && st["history"].as_array().is_some_and(|h| !h.is_empty())
    })
    .await;
    let first = git(repo.path(), &["rev-parse", "HEAD"]);
    assert_eq!(status["sync"]["revision"], first.as_str());
    assert_eq!(status["sourceType"], "Directory");
    assert_eq!(
        status["history"].as_array().map(Vec::len),
        Some(1),
        "{status:#}"
    );
    assert_eq!(status["history"][0]["revision"], first.as_str());
    assert_eq!(status["operationState"]["phase"], "Succeeded");
    assert_eq!(
        status["operationState"]["operation"]["initiatedBy"]["automated"],
        true
    );
    let images = status["summary"]["images"].as_array().expect("images");
    assert!(images.contains(&json!("ghcr.io/ml-platform/fraud-detector:1.4.0")));
    let cm_key = key("", "ConfigMap", &ns, "model-config");
    let cm = cluster.get(&cm_key).await.expect("get").expect("applied");
    assert_eq!(
        cm["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        format!("fraud-dev:/ConfigMap:{ns}/model-config")
    );

    // Drift: a hand edit is reverted by self-heal.
    let mut edited = cm.clone();
    edited["data"]["MODEL_VERSION"] = json!("9.9.9-hotfix");
    edited["metadata"]
        .as_object_mut()
        .expect("meta")
        .remove("managedFields");
    cluster
        .apply(
            &edited,
            &WriteOptions {
                field_manager: "kubectl-edit".into(),
                ..Default::default()
            },
        )
        .await
        .expect("hand edit");
    let started = std::time::Instant::now();
    let deadline = started + Duration::from_secs(15);
    loop {
        let cm = cluster.get(&cm_key).await.expect("get").expect("exists");
        if cm["data"]["MODEL_VERSION"] == "1.4.0" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "self-heal did not revert the edit: {cm:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let healed_in = started.elapsed();
    assert!(
        healed_in < Duration::from_secs(10),
        "self-heal took {healed_in:?}"
    );

    // A new commit is picked up on refresh and synced.
    write(
        &repo.path().join("serving/configmap.yaml"),
        &config_map("1.5.0"),
    );
    git(
        repo.path(),
        &["commit", "-q", "-am", "promote fraud detector 1.5.0"],
    );
    let second = git(repo.path(), &["rev-parse", "HEAD"]);
    s.controller.on_push(&ferrocd_controller::PushEvent {
        provider: ferrocd_controller::GitProvider::GitHub,
        repo_urls: vec![format!("file://{}", repo.path().display())],
        revision: second.clone(),
        git_ref: "refs/heads/main".into(),
        default_branch: Some("main".into()),
        changed_files: vec!["serving/configmap.yaml".into()],
    });
    let status = wait_status(cluster, "fraud-dev", "the second commit synced", |st| {
        synced_healthy(st)
            && st["sync"]["revision"] == second.as_str()
            && st["history"]
                .as_array()
                .and_then(|h| h.last())
                .is_some_and(|h| h["revision"] == second.as_str())
    })
    .await;
    // One entry per sync: the first, the self-heal, and this one.
    let history = status["history"].as_array().expect("history");
    assert_eq!(history.last().expect("entry")["revision"], second.as_str());
    assert_eq!(history.len(), 3, "{status:#}");
    assert_eq!(history[2]["id"], 2);
    let cm = cluster.get(&cm_key).await.expect("get").expect("exists");
    assert_eq!(cm["data"]["MODEL_VERSION"], "1.5.0");

    // Deleting the Application deletes its resources first (finalizer).
    cluster
        .delete(
            &key("argoproj.io", "Application", "argocd", "fraud-dev"),
            &Default::default(),
        )
        .await
        .expect("delete app");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let app = cluster
            .get(&key("argoproj.io", "Application", "argocd", "fraud-dev"))
            .await
            .expect("get");
        let cm = cluster.get(&cm_key).await.expect("get");
        if app.is_none() && cm.is_none() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "app or resources still there"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.controller.shutdown().await;
    s.tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_sync_through_the_operation_field_and_project_violation() {
    let s = stack().await;
    let cluster = &s.tc.cluster;
    let repo = tempfile::tempdir().expect("repo");
    make_repo(repo.path());
    let ns = s.tc.namespace("manual");
    apply(
        cluster,
        application("fraud-prod", repo.path(), &ns, false, "default"),
    )
    .await;
    // Not automated: it stays OutOfSync and nothing is applied.
    let status = wait_status(cluster, "fraud-prod", "OutOfSync", |st| {
        st["sync"]["status"] == "OutOfSync"
    })
    .await;
    assert_eq!(status["health"]["status"], "Missing", "{status:#}");
    assert!(
        cluster
            .get(&key("", "ConfigMap", &ns, "model-config"))
            .await
            .expect("get")
            .is_none()
    );

    // A manual sync, requested as the CLI and the UI do: the `operation` field.
    let patch =
        json!({"operation": {"sync": {"prune": true}, "initiatedBy": {"username": "alice"}}});
    cluster
        .merge_patch(
            &key("argoproj.io", "Application", "argocd", "fraud-prod"),
            &patch,
        )
        .await
        .expect("request sync");
    let status = wait_status(
        cluster,
        "fraud-prod",
        "Synced, Healthy and recorded",
        |st| synced_healthy(st) && st["history"].as_array().is_some_and(|h| !h.is_empty()),
    )
    .await;
    assert_eq!(status["history"][0]["initiatedBy"]["username"], "alice");
    let app = cluster
        .get(&key("argoproj.io", "Application", "argocd", "fraud-prod"))
        .await
        .expect("get")
        .expect("app");
    assert!(
        app.get("operation").is_none_or(Value::is_null),
        "operation consumed: {app:#}"
    );

    // Promote by a commit plus a manual sync (prod is a manual gate).
    write(
        &repo.path().join("serving/configmap.yaml"),
        &config_map("1.5.0"),
    );
    git(
        repo.path(),
        &[
            "commit",
            "-q",
            "-am",
            "promote fraud detector 1.5.0 to prod",
        ],
    );
    let second = git(repo.path(), &["rev-parse", "HEAD"]);
    let app_key = key("argoproj.io", "Application", "argocd", "fraud-prod");
    let cm_key = key("", "ConfigMap", &ns, "model-config");
    cluster
        .merge_patch(
            &app_key,
            &json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}},
            "operation": {"sync": {}, "initiatedBy": {"username": "release-manager"}}}),
        )
        .await
        .expect("request promotion sync");
    let status = wait_status(cluster, "fraud-prod", "the promotion recorded", |st| {
        st["history"].as_array().is_some_and(|h| h.len() == 2)
            && st["operationState"]["phase"] == "Succeeded"
    })
    .await;
    assert_eq!(
        status["history"][1]["revision"],
        second.as_str(),
        "{status:#}"
    );
    let cm = cluster.get(&cm_key).await.expect("get").expect("exists");
    assert_eq!(cm["data"]["MODEL_VERSION"], "1.5.0");

    // A project that does not permit the repository: a condition, nothing applied.
    apply(
        cluster,
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
        "metadata": {"name": "locked", "namespace": "argocd"},
        "spec": {"sourceRepos": ["https://git.example.com/platform/*"],
            "destinations": [{"server": "*", "namespace": "*"}]}}),
    )
    .await;
    let other_ns = s.tc.namespace("locked");
    apply(
        cluster,
        application("fraud-locked", repo.path(), &other_ns, true, "locked"),
    )
    .await;
    let status = wait_status(cluster, "fraud-locked", "a project condition", |st| {
        st["conditions"].as_array().is_some_and(|c| !c.is_empty())
    })
    .await;
    let message = status["conditions"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(status["conditions"][0]["type"], "InvalidSpecError");
    assert!(
        message.contains("is not permitted in project 'locked'"),
        "{message}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        cluster
            .get(&key("", "ConfigMap", &other_ns, "model-config"))
            .await
            .expect("get")
            .is_none()
    );
    s.controller.shutdown().await;
    s.tc.shutdown().await;
}
