//! What the controller's end-to-end tests share: a sandbox (or the cluster of `KUBECONFIG`)
//! with the CRDs and the `argocd` namespace, a controller on it, a real Git repository
//! (file://) with a model-serving app, and waits on the Application status.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocd_cluster::testing::TestCluster;
use ferrocd_cluster::{Cluster, WriteOptions};
use ferrocd_controller::{Controller, ControllerConfig, Metrics};
use ferrocd_model::ResourceKey;
pub use ferrocd_source::testing::git;
use serde_json::{Value, json};

/// How long a wait may take on a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(45);

/// A resource key.
pub fn key(group: &str, kind: &str, ns: &str, name: &str) -> ResourceKey {
    ResourceKey {
        group: group.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

/// The key of Application `name` in `argocd`.
pub fn app_key(name: &str) -> ResourceKey {
    key("argoproj.io", "Application", "argocd", name)
}

/// Server-side applies `obj` (field manager `ferrocd`).
pub async fn apply(cluster: &Cluster, obj: Value) {
    cluster
        .apply(&obj, &WriteOptions::default())
        .await
        .unwrap_or_else(|e| panic!("apply {}: {e}", obj["metadata"]["name"]));
}

/// Writes a file, creating its folder.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// The model configuration of the fraud detector at `version`.
pub fn config_map(version: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: model-config\ndata:\n  MODEL_NAME: fraud-detector\n  MODEL_VERSION: \"{version}\"\n"
    )
}

/// A Git repository with one app folder `serving/` holding the model configuration.
pub fn make_repo(dir: &Path) -> String {
    git(dir, &["init", "-q", "-b", "main"]);
    write(&dir.join("serving/configmap.yaml"), &config_map("1.4.0"));
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "fraud detector 1.4.0"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// Commits the model configuration at `version`; returns the commit.
pub fn commit_version(dir: &Path, version: &str) -> String {
    write(&dir.join("serving/configmap.yaml"), &config_map(version));
    git(
        dir,
        &["commit", "-q", "-am", &format!("fraud detector {version}")],
    );
    git(dir, &["rev-parse", "HEAD"])
}

/// The `file://` URL of a repository.
pub fn repo_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// An Application of the `serving/` folder of `repo` into `namespace`.
pub fn application(name: &str, repo: &Path, namespace: &str, automated: bool) -> Value {
    let mut app = json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default",
            "source": {"repoURL": repo_url(repo), "targetRevision": "main", "path": "serving"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}}});
    if automated {
        app["spec"]["syncPolicy"]["automated"] = json!({"prune": true, "selfHeal": true});
    }
    app
}

/// The Application `name` (Null when absent).
pub async fn app_object(cluster: &Cluster, name: &str) -> Value {
    cluster
        .get(&app_key(name))
        .await
        .expect("get app")
        .unwrap_or(Value::Null)
}

/// Polls the Application's status until `pred` holds; panics with the status after
/// [`WAIT`].
pub async fn wait_status(
    cluster: &Cluster,
    name: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = app_object(cluster, name).await["status"].clone();
        if pred(&status) {
            return status;
        }
        if Instant::now() > deadline {
            panic!("{name}: timed out waiting for {what}; status: {status:#}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls an object until `pred` holds on it (None when absent); returns it.
pub async fn wait_object(
    cluster: &Cluster,
    key: &ResourceKey,
    what: &str,
    timeout: Duration,
    pred: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let obj = cluster.get(key).await.expect("get object");
        if pred(obj.as_ref()) {
            return obj;
        }
        if Instant::now() > deadline {
            panic!("{key}: timed out waiting for {what}; object: {obj:#?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The `MODEL_VERSION` of the model configuration in `ns` (None when absent).
pub async fn model_version(cluster: &Cluster, ns: &str) -> Option<String> {
    cluster
        .get(&key("", "ConfigMap", ns, "model-config"))
        .await
        .expect("get config map")
        .and_then(|cm| cm["data"]["MODEL_VERSION"].as_str().map(str::to_string))
}

/// Synced and Healthy.
pub fn synced_healthy(s: &Value) -> bool {
    s["sync"]["status"] == "Synced" && s["health"]["status"] == "Healthy"
}

/// The number of history entries.
pub fn history_len(s: &Value) -> usize {
    s["history"].as_array().map_or(0, Vec::len)
}

/// A cluster with the CRDs and the `argocd` namespace.
pub async fn control_plane() -> TestCluster {
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
    tc
}

/// Starts a controller on `cluster` with `app_resync`.
pub async fn start_controller(cluster: &Cluster, cache: &Path, app_resync: Duration) -> Controller {
    let config = ControllerConfig {
        app_resync,
        repo_cache_dir: cache.to_path_buf(),
        ..Default::default()
    };
    Controller::start(config, cluster.clone(), Arc::new(Metrics::new()))
        .await
        .expect("controller starts")
}

/// A control plane with a running controller.
pub struct Stack {
    /// The cluster.
    pub tc: TestCluster,
    /// The controller.
    pub controller: Controller,
    /// The controller's repository cache.
    pub cache: tempfile::TempDir,
}

/// A control plane and a controller refreshing every `app_resync`.
pub async fn stack(app_resync: Duration) -> Stack {
    let tc = control_plane().await;
    let cache = tempfile::tempdir().expect("cache dir");
    let controller = start_controller(&tc.cluster, cache.path(), app_resync).await;
    Stack {
        tc,
        controller,
        cache,
    }
}

impl Stack {
    /// Stops the controller and the cluster.
    pub async fn shutdown(self) {
        self.controller.shutdown().await;
        self.tc.shutdown().await;
    }
}

/// Requests an operation through the Application's `operation` field.
pub async fn request_operation(cluster: &Cluster, name: &str, operation: Value) {
    cluster
        .merge_patch(&app_key(name), &json!({ "operation": operation }))
        .await
        .unwrap_or_else(|e| panic!("request an operation on {name}: {e}"));
}
