//! Controller scale benchmark (issue 7, "Scale from the start").
//!
//! Ignored by default; run with
//! `cargo test -p ferrocd-controller --release --test scale_bench -- --ignored --nocapture
//! controller_scale` and `FERROCD_BENCH_APPS=<N>` (default 1000). Two sandbox API servers
//! run as separate processes (this test binary started again as the ignored test
//! `sandbox_process`), so that the resident memory measured is the controller's own: the
//! control plane (Applications, and the in-cluster destination) and a second cluster
//! registered through an Argo CD cluster Secret. One file:// Git repository holds N app
//! folders of 10 small resources each; N automated Applications (half to each cluster)
//! are created and the benchmark measures:
//!
//! 1. the initial sync: until every application is Synced and Healthy;
//! 2. one full refresh: every application queued at once (what the resync tick does),
//!    until every `status.reconciledAt` is at or after the moment of queueing;
//! 3. commit to Synced for one application while all the others are refreshing;
//! 4. the peak resident memory (`VmHWM`) of this process (controller and measurement;
//!    its baseline taken before the controller starts) and of each sandbox process.
//!
//! A phase that does not finish within `FERROCD_BENCH_TIMEOUT` seconds (default 900) is
//! reported with how far it got instead of failing the run.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::io::Read as _;
use std::process::{Child, Command, Stdio};

use ferrocd_cluster::{Cluster, WriteOptions};
use ferrocd_controller::{Controller, ControllerConfig, GitProvider, Metrics, PushEvent};
use ferrocd_model::{Application, HealthStatus, SyncStatusCode};
use ferrocd_source::testing::git;
use futures::StreamExt as _;
use serde_json::{Value, json};

/// The allocator of the `ferrocd` binary, so that the process measured is the one shipped.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    peak_rss_of("self")
}

/// Peak resident set size of process `pid` (or `self`) in KiB, or 0 when unknown.
fn peak_rss_of(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
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

fn synced_healthy(app: &Application) -> bool {
    app.status.as_ref().is_some_and(|s| {
        s.sync.as_ref().and_then(|s| s.status) == Some(SyncStatusCode::Synced)
            && s.health.as_ref().and_then(|h| h.status) == Some(HealthStatus::Healthy)
    })
}

/// Waits until `done` holds for all `n` Applications, as the controller's watch sees
/// them (polling the API server for thousands of Applications would load the server and
/// this process more than the controller does). Returns the elapsed time, or `None`
/// (after printing progress) when `timeout` passes first.
async fn wait_all(
    controller: &Controller,
    n: usize,
    what: &str,
    timeout: Duration,
    done: impl Fn(&Application) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    let mut last_report = Instant::now();
    loop {
        let (ok, known) = controller.count_applications(&done);
        if known >= n && ok >= n {
            return Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            println!("{what}: not reached in {timeout:?} ({ok}/{n})");
            return None;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            println!(
                "  {what}: {ok}/{n} after {:.0?} (queue {}, RSS {} MiB)",
                start.elapsed(),
                controller.queue_len(),
                current_rss_kib() / 1024
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Current resident set size of this process in KiB (`VmRSS`).
fn current_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// A minimal `tracing` subscriber for diagnosing a run: with `FERROCD_BENCH_LOG=warn`,
/// `info` or `debug`, events at that level or above are printed to stderr with the
/// seconds since start.
struct BenchLog {
    max: tracing::Level,
    start: Instant,
}

impl tracing::Subscriber for BenchLog {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.level() <= &self.max
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                let _ = write!(self.0, " {}={value:?}", field.name());
            }
        }
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        eprintln!(
            "{:9.3} {} {}{}",
            self.start.elapsed().as_secs_f64(),
            event.metadata().level(),
            event.metadata().target(),
            fields.0
        );
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn init_log() {
    let level = match std::env::var("FERROCD_BENCH_LOG").as_deref() {
        Ok("warn") => tracing::Level::WARN,
        Ok("info") => tracing::Level::INFO,
        Ok("debug") => tracing::Level::DEBUG,
        _ => return,
    };
    let _ = tracing::subscriber::set_global_default(BenchLog {
        max: level,
        start: Instant::now(),
    });
}

/// What a sandbox process reports once it serves.
#[derive(serde::Deserialize, serde::Serialize)]
struct SandboxInfo {
    url: String,
    token: String,
    ca_pem: String,
    kubeconfig: String,
}

/// A sandbox API server in a child process; it exits when its stdin closes.
struct SandboxProcess {
    child: Child,
    info: SandboxInfo,
    cluster: Cluster,
    _dir: tempfile::TempDir,
}

impl SandboxProcess {
    /// Starts this test binary again as the `sandbox_process` test, with `nodes` nodes.
    async fn start(nodes: u64) -> SandboxProcess {
        let dir = tempfile::tempdir().expect("sandbox dir");
        let out = dir.path().join("sandbox.json");
        let exe = std::env::current_exe().expect("test binary path");
        let child = Command::new(exe)
            .args(["sandbox_process", "--exact", "--ignored", "--nocapture"])
            .env(SANDBOX_OUT, &out)
            .env("FERROCD_BENCH_SANDBOX_NODES", nodes.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the sandbox process");
        let started = Instant::now();
        let info: SandboxInfo = loop {
            if let Ok(text) = std::fs::read_to_string(&out)
                && let Ok(info) = serde_json::from_str(&text)
            {
                break info;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the sandbox process did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, &info.kubeconfig).expect("write kubeconfig");
        let cluster = Cluster::from_kubeconfig(Some(&kubeconfig), None)
            .await
            .expect("connect to the sandbox process");
        SandboxProcess {
            child,
            info,
            cluster,
            _dir: dir,
        }
    }

    fn peak_rss_kib(&self) -> u64 {
        peak_rss_of(&self.child.id().to_string())
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Environment variable naming the file a sandbox process writes its [`SandboxInfo`] to.
const SANDBOX_OUT: &str = "FERROCD_BENCH_SANDBOX_OUT";

/// Not a test: the body of a sandbox process started by [`controller_scale`]. Serves
/// one sandbox (simulation on, `FERROCD_BENCH_SANDBOX_NODES` nodes) until stdin closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "started by controller_scale as a separate process"]
async fn sandbox_process() {
    let Some(out) = std::env::var_os(SANDBOX_OUT) else {
        return;
    };
    let nodes = env_u64("FERROCD_BENCH_SANDBOX_NODES", 3) as u32;
    let sandbox = ferrocd_sandbox::Sandbox::start(ferrocd_sandbox::SandboxOptions {
        nodes,
        ..Default::default()
    })
    .await
    .expect("start the sandbox");
    let info = SandboxInfo {
        url: sandbox.url(),
        token: sandbox.token().to_string(),
        ca_pem: sandbox.ca_pem().to_string(),
        kubeconfig: sandbox.kubeconfig_yaml(),
    };
    let out = std::path::PathBuf::from(out);
    let staging = out.with_extension("tmp");
    std::fs::write(&staging, serde_json::to_vec(&info).expect("encode")).expect("write info");
    std::fs::rename(&staging, &out).expect("publish info");
    let _ = tokio::task::spawn_blocking(|| {
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
    })
    .await;
    sandbox.shutdown().await;
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
#[ignore = "benchmark: run with --release -- --ignored --nocapture controller_scale"]
async fn controller_scale() {
    if std::env::var_os(SANDBOX_OUT).is_some() {
        return;
    }
    init_log();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n = env_u64("FERROCD_BENCH_APPS", 1000).max(2) as usize;
    let timeout = Duration::from_secs(env_u64("FERROCD_BENCH_TIMEOUT", 900));
    let workers = env_u64("FERROCD_BENCH_WORKERS", 8) as usize;
    let total = Instant::now();

    // Each cluster runs ~n/2 one-replica Deployments; a node holds 110 pods.
    let nodes = (n as u64 / 2).div_ceil(100) + 2;
    let local = SandboxProcess::start(nodes).await;
    let remote = SandboxProcess::start(nodes).await;
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
        let config = json!({"bearerToken": remote.info.token,
            "tlsClientConfig": {"caData": base64::engine::general_purpose::STANDARD
                .encode(&remote.info.ca_pem)}});
        apply(
            cp,
            &json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "prod-us-east-1", "namespace": "argocd",
                    "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
                "stringData": {"name": "prod-us-east-1", "server": remote.info.url,
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
    let remote_server = remote.info.url.clone();

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
    let apps: Vec<Value> = (0..n)
        .map(|i| {
            let server = if i % 2 == 0 {
                "https://kubernetes.default.svc"
            } else {
                remote_server.as_str()
            };
            application(i, &repo_url, server, "bench")
        })
        .collect();
    futures::stream::iter(apps.iter())
        .for_each_concurrent(16, |app| apply(cp, app))
        .await;
    let created = start.elapsed();
    println!("created {n} Applications in {created:.1?}");
    let initial = wait_all(&controller, n, "initial sync", timeout, synced_healthy)
        .await
        .map(|_| start.elapsed());
    println!("initial sync: {}", fmt_time(initial));
    let after_initial_kib = peak_rss_kib();
    // Let the last operations' follow-up reconciliations drain before the refresh.
    let quiet = Instant::now();
    while controller.queue_len() > 0 && quiet.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // (2) One full refresh of every application.
    let mark = next_second().await;
    let refresh_start = Instant::now();
    controller.resync_all();
    let refresh = wait_all(&controller, n, "full refresh", timeout, |a| {
        a.status
            .as_ref()
            .and_then(|s| s.reconciled_at.as_deref())
            .is_some_and(|t| t >= mark.as_str())
    })
    .await
    .map(|_| refresh_start.elapsed());
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
    controller.resync_all();
    controller.on_push(&PushEvent {
        provider: GitProvider::GitHub,
        repo_urls: vec![repo_url.clone()],
        revision: second.clone(),
        git_ref: "refs/heads/main".into(),
        default_branch: Some("main".into()),
        changed_files: vec![format!("apps/{}/resources.yaml", app_name(target))],
    });
    let target_name = app_name(target);
    let commit_to_synced = loop {
        let app = controller.application("argocd", &target_name);
        if let Some(app) = &app
            && synced_healthy(app)
            && app
                .status
                .as_ref()
                .and_then(|s| s.sync.as_ref())
                .and_then(|s| s.revision.as_deref())
                == Some(second.as_str())
        {
            break Some(start.elapsed());
        }
        if start.elapsed() > timeout {
            println!(
                "commit to Synced: not reached; status {:?}",
                app.and_then(|a| a.status.clone())
            );
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let queued_left = controller.queue_len();
    println!(
        "commit to Synced: {} ({queued_left} apps still queued then)",
        fmt_time(commit_to_synced)
    );
    let peak_kib = peak_rss_kib();
    let (local_kib, remote_kib) = (local.peak_rss_kib(), remote.peak_rss_kib());

    println!();
    println!(
        "| apps | initial sync | full refresh | commit → Synced (others refreshing) | controller peak RSS (before start) | sandbox peak RSS (control plane, second) |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {n} | {} | {} | {} | {} MiB ({} MiB) | {} MiB, {} MiB |",
        fmt_time(initial),
        fmt_time(refresh),
        fmt_time(commit_to_synced),
        peak_kib / 1024,
        baseline_kib / 1024,
        local_kib / 1024,
        remote_kib / 1024,
    );
    println!(
        "(workers {workers}; {nodes} nodes per sandbox; Applications created in {created:.1?}; controller peak RSS after initial sync {} MiB; whole run {:.0?})",
        after_initial_kib / 1024,
        total.elapsed()
    );

    controller.shutdown().await;
    local.stop();
    remote.stop();
    assert!(initial.is_some(), "initial sync did not finish");
}
