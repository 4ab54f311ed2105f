//! Controller scale benchmark (issue 7, "Scale from the start").
//!
//! Ignored by default; run with
//! `cargo test -p ferrocd-controller --release --test scale_bench -- --ignored --nocapture`
//! and `FERROCD_BENCH_APPS=<N>` (default 1000). Two sandbox API servers run in this
//! process: the control plane (Applications, and the in-cluster destination) and a second
//! cluster registered through an Argo CD cluster Secret. One file:// Git repository holds
//! N app folders of 10 small resources each; N automated Applications (half to each
//! cluster) are created and the benchmark measures:
//!
//! 1. the initial sync: until every application is Synced and Healthy;
//! 2. one full refresh: every application queued at once (what the resync tick does),
//!    until every `status.reconciledAt` is at or after the moment of queueing;
//! 3. commit to Synced for one application while all the others are refreshing;
//! 4. the peak resident memory of the process (`VmHWM`), with the sandbox-only baseline
//!    taken before the controller starts.
//!
//! A phase that does not finish within `FERROCD_BENCH_TIMEOUT` seconds (default 900) is
//! reported with how far it got instead of failing the run.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocd_cluster::testing::TestCluster;
use ferrocd_cluster::{Cluster, WriteOptions};
use ferrocd_controller::{Controller, ControllerConfig, GitProvider, Metrics, PushEvent};
use ferrocd_source::testing::git;
use futures::StreamExt as _;
use serde_json::{Value, json};

const MODELS: [&str; 6] = [
    "fraud-detector",
    "churn-predictor",
    "recsys-ranker",
    "demand-forecast",
    "embedding-server",
    "image-classifier",
];

/// Peak resident set size of this process in KiB (`VmHWM`), or 0 when unknown.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn app_name(i: usize) -> String {
    format!("{}-{i:05}", MODELS[i % MODELS.len()])
}

/// The 10 resources of app `i`: 8 ConfigMaps, a Service and a 1-replica Deployment.
fn app_manifests(i: usize, model_version: &str) -> String {
    let model = MODELS[i % MODELS.len()];
    let mut out = String::new();
    let configs = [
        ("model-config", format!("MODEL_NAME: {model}\n  MODEL_VERSION: \"{model_version}\"")),
        ("feature-store", "FEAST_REGISTRY: s3://ml-platform/feast/registry.db\n  ONLINE_STORE: redis://feast-redis:6379".to_string()),
        ("mlflow-tracking", "MLFLOW_TRACKING_URI: http://mlflow.mlflow.svc:5000".to_string()),
        ("batching", "MAX_BATCH_SIZE: \"32\"\n  BATCH_TIMEOUT_MS: \"15\"".to_string()),
        ("logging", "LOG_LEVEL: info\n  LOG_FORMAT: json".to_string()),
        ("metrics", "PROMETHEUS_PORT: \"9090\"\n  METRICS_PATH: /metrics".to_string()),
        ("drift-monitor", "DRIFT_THRESHOLD: \"0.15\"\n  REFERENCE_WINDOW: 7d".to_string()),
        ("airflow-hooks", "RETRAIN_DAG: retrain_model\n  AIRFLOW_URL: http://airflow-webserver.airflow.svc:8080".to_string()),
    ];
    for (name, data) in configs {
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {model}-{name}\ndata:\n  {data}\n"
        );
    }
    let _ = write!(
        out,
        "---
apiVersion: v1
kind: Service
metadata:
  name: {model}
spec:
  selector: {{app: {model}}}
  ports:
    - {{name: http, port: 80, targetPort: 8080}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {model}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {model}}}
  template:
    metadata:
      labels: {{app: {model}}}
    spec:
      containers:
        - name: server
          image: ghcr.io/ml-platform/{model}:{model_version}
          ports: [{{containerPort: 8080}}]
          envFrom:
            - configMapRef: {{name: {model}-model-config}}
"
    );
    out
}

fn write_app(repo: &Path, i: usize, version: &str) {
    let dir = repo.join("apps").join(app_name(i));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("resources.yaml"), app_manifests(i, version)).expect("write");
}

async fn apply(cluster: &Cluster, obj: &Value) {
    cluster
        .apply(obj, &WriteOptions::default())
        .await
        .unwrap_or_else(|e| panic!("apply {}: {e}", obj["metadata"]["name"]));
}

fn application(i: usize, repo_url: &str, server: &str, prefix: &str) -> Value {
    let name = app_name(i);
    json!({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"project": "default",
            "source": {"repoURL": repo_url, "targetRevision": "main",
                "path": format!("apps/{name}")},
            "destination": {"server": server, "namespace": format!("{prefix}-{name}")},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true},
                "syncOptions": ["CreateNamespace=true"]}}})
}

async fn list_apps(cluster: &Cluster) -> Vec<Value> {
    cluster
        .list("argoproj.io", "Application", Some("argocd"))
        .await
        .unwrap_or_default()
}

fn synced_healthy(app: &Value) -> bool {
    let s = &app["status"];
    s["sync"]["status"] == "Synced" && s["health"]["status"] == "Healthy"
}

/// Polls the Applications until `done` holds for all `n` of them. Returns the elapsed
/// time, or `None` (after printing progress) when `timeout` passes first.
async fn wait_all(
    cluster: &Cluster,
    n: usize,
    what: &str,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let apps = list_apps(cluster).await;
        let ok = apps.iter().filter(|a| done(a)).count();
        if apps.len() >= n && ok >= n {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            println!("{what}: not reached in {timeout:?} ({ok}/{n})");
            return None;
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            println!("  {what}: {ok}/{n} after {:.0?}", start.elapsed());
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn now_second() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Sleeps to the start of the next whole second and returns it in the format of
/// `status.reconciledAt` (second resolution), so that `>=` means "reconciled after".
async fn next_second() -> String {
    let before = now_second();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = now_second();
        if now != before {
            return now;
        }
    }
}

fn fmt_time(d: Option<Duration>) -> String {
    d.map_or_else(
        || "not reached".to_string(),
        |d| format!("{:.1} s", d.as_secs_f64()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn controller_scale() {
    let n = env_u64("FERROCD_BENCH_APPS", 1000).max(2) as usize;
    let timeout = Duration::from_secs(env_u64("FERROCD_BENCH_TIMEOUT", 900));
    let workers = env_u64("FERROCD_BENCH_WORKERS", 8) as usize;
    let total = Instant::now();

    let local = TestCluster::start().await;
    let remote = TestCluster::start().await;
    let Some(remote_sandbox) = &remote.sandbox else {
        println!("the benchmark needs sandboxes (FERROCD_TEST_REAL_CLUSTER is set); skipped");
        return;
    };
    let cp = &local.cluster;
    cp.install_crds(&ferrocd_model::crds(), Duration::from_secs(10))
        .await
        .expect("install the CRDs");
    apply(
        cp,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}),
    )
    .await;
    {
        use base64::Engine as _;
        let config = json!({"bearerToken": remote_sandbox.token(),
            "tlsClientConfig": {"caData": base64::engine::general_purpose::STANDARD
                .encode(remote_sandbox.ca_pem())}});
        apply(
            cp,
            &json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "prod-us-east-1", "namespace": "argocd",
                    "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
                "stringData": {"name": "prod-us-east-1", "server": remote_sandbox.url(),
                    "config": config.to_string()}}),
        )
        .await;
    }

    // The Git repository: N app folders, one commit.
    let repo = tempfile::tempdir().expect("repo");
    git(repo.path(), &["init", "-q", "-b", "main"]);
    for i in 0..n {
        write_app(repo.path(), i, "1.0.0");
    }
    git(repo.path(), &["add", "-A"]);
    git(
        repo.path(),
        &["commit", "-q", "-m", "ml platform: N model servers"],
    );
    let repo_url = format!("file://{}", repo.path().display());
    let remote_server = remote_sandbox.url().to_string();

    let baseline_kib = peak_rss_kib();
    let cache = tempfile::tempdir().expect("cache dir");
    let config = ControllerConfig {
        // The periodic resync stays out of the way: the refresh below is triggered by hand.
        app_resync: Duration::from_secs(3600),
        repo_cache_dir: cache.path().to_path_buf(),
        workers,
        ..Default::default()
    };
    let controller = Controller::start(config, cp.clone(), Arc::new(Metrics::new()))
        .await
        .expect("controller starts");

    // (1) Initial sync: create the Applications, half to each cluster.
    let start = Instant::now();
    let prefix = local.namespace("b");
    let apps: Vec<Value> = (0..n)
        .map(|i| {
            let server = if i % 2 == 0 {
                "https://kubernetes.default.svc"
            } else {
                remote_server.as_str()
            };
            application(i, &repo_url, server, &prefix)
        })
        .collect();
    futures::stream::iter(apps.iter())
        .for_each_concurrent(16, |app| apply(cp, app))
        .await;
    let created = start.elapsed();
    println!("created {n} Applications in {created:.1?}");
    let initial = wait_all(cp, n, "initial sync", timeout, synced_healthy)
        .await
        .map(|_| start.elapsed());
    println!("initial sync: {}", fmt_time(initial));
    let after_initial_kib = peak_rss_kib();

    // (2) One full refresh of every application.
    let mark = next_second();
    let mark = mark.await;
    for i in 0..n {
        controller.refresh("argocd", &app_name(i), false);
    }
    let refresh = wait_all(cp, n, "full refresh", timeout, |a| {
        a["status"]["reconciledAt"]
            .as_str()
            .is_some_and(|t| t >= mark.as_str())
    })
    .await;
    println!("full refresh: {}", fmt_time(refresh));

    // (3) A commit to one app while all the others refresh.
    let target = n / 2;
    write_app(repo.path(), target, "1.1.0");
    git(
        repo.path(),
        &["commit", "-q", "-am", "promote one model to 1.1.0"],
    );
    let second = git(repo.path(), &["rev-parse", "HEAD"]);
    let start = Instant::now();
    for i in 0..n {
        controller.refresh("argocd", &app_name(i), false);
    }
    controller.on_push(&PushEvent {
        provider: GitProvider::GitHub,
        repo_urls: vec![repo_url.clone()],
        revision: second.clone(),
        git_ref: "refs/heads/main".into(),
        default_branch: Some("main".into()),
        changed_files: vec![format!("apps/{}/resources.yaml", app_name(target))],
    });
    let target_key = ferrocd_model::ResourceKey {
        group: "argoproj.io".into(),
        kind: "Application".into(),
        namespace: "argocd".into(),
        name: app_name(target),
    };
    let commit_to_synced = loop {
        let app = cp
            .get(&target_key)
            .await
            .ok()
            .flatten()
            .unwrap_or(Value::Null);
        if synced_healthy(&app) && app["status"]["sync"]["revision"] == second.as_str() {
            break Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            println!("commit to Synced: not reached; status {:#}", app["status"]);
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let queued_left = controller.queue_len();
    println!(
        "commit to Synced: {} ({queued_left} apps still queued then)",
        fmt_time(commit_to_synced)
    );
    let peak_kib = peak_rss_kib();

    println!();
    println!(
        "| apps | initial sync | full refresh | commit → Synced (others refreshing) | peak RSS | sandbox-only RSS | controller share |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {n} | {} | {} | {} | {} MiB | {} MiB | ~{} MiB |",
        fmt_time(initial),
        fmt_time(refresh),
        fmt_time(commit_to_synced),
        peak_kib / 1024,
        baseline_kib / 1024,
        peak_kib.saturating_sub(baseline_kib) / 1024,
    );
    println!(
        "(workers {workers}; Applications created in {created:.1?}; peak RSS after initial sync {} MiB; whole run {:.0?})",
        after_initial_kib / 1024,
        total.elapsed()
    );

    controller.shutdown().await;
    local.shutdown().await;
    remote.shutdown().await;
    assert!(initial.is_some(), "initial sync did not finish");
}
