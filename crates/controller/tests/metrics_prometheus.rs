//! A real Prometheus (Debian package `prometheus`) scrapes the metrics router on a
//! loopback port every second; the test then reads the series back through
//! Prometheus' HTTP API.

use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocd_controller::metrics::GitRequestType;
use ferrocd_controller::{AppInfoLabels, Metrics, SyncLabels, metrics_router};
use serde_json::Value;

/// Kills Prometheus when the test ends, whatever happens.
struct PrometheusProcess {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for PrometheusProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn prometheus_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("FERROCD_PROMETHEUS") {
        return PathBuf::from(p);
    }
    let candidates = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("prometheus"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([PathBuf::from("/usr/bin/prometheus")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "prometheus not found (set FERROCD_PROMETHEUS or install the Debian package): \
                 run scripts/install-deps"
            )
        })
}

fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local addr").port()
}

fn start_prometheus(target: &str) -> PrometheusProcess {
    let binary = prometheus_binary();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: ferrocd-controller\n    static_configs:\n      \
             - targets: ['{target}']\n"
        ),
    )
    .expect("write prometheus.yml");
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
    let child = Command::new(&binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    PrometheusProcess {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

fn prometheus_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
}

async fn query(client: &reqwest::Client, prom: &str, q: &str) -> Option<Vec<Value>> {
    let resp = client
        .get(format!("{prom}/api/v1/query"))
        .query(&[("query", q)])
        .send()
        .await
        .ok()?;
    let body: Value = resp.json().await.ok()?;
    if body["status"] != "success" {
        return None;
    }
    body["data"]["result"].as_array().cloned()
}

/// Polls `q` until `done` accepts the result, or fails after 45 s with Prometheus' view
/// of the target.
async fn wait_for(
    client: &reqwest::Client,
    prom: &PrometheusProcess,
    q: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(result) = query(client, &prom.url, q).await {
            if done(&result) {
                return result;
            }
            last = Some(result);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let targets = client
        .get(format!("{}/api/v1/targets", prom.url))
        .send()
        .await
        .ok();
    let targets = match targets {
        Some(r) => r.text().await.unwrap_or_default(),
        None => "unreachable".to_string(),
    };
    panic!(
        "query {q} did not reach the expected result; last: {last:?}\ntargets: {targets}\nlog: {}",
        prometheus_log(prom._dir.path())
    );
}

fn app(sync: &str, health: &str) -> AppInfoLabels {
    AppInfoLabels {
        name: "fraud-detector-dev".into(),
        namespace: "argocd".into(),
        project: "data-platform".into(),
        sync_status: sync.into(),
        health_status: health.into(),
        dest_server: "https://kubernetes.default.svc".into(),
        dest_namespace: "model-serving".into(),
        repo: "https://git.acme.io/ml/platform-gitops".into(),
        autosync_enabled: "true".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_argo_metrics() {
    let metrics = Arc::new(Metrics::new());
    metrics.set_app_info(&app("OutOfSync", "Progressing"));
    metrics.set_app_info(&AppInfoLabels {
        name: "airflow-prod".into(),
        dest_namespace: "airflow".into(),
        autosync_enabled: "false".into(),
        ..app("Synced", "Healthy")
    });
    metrics.inc_sync(&SyncLabels {
        name: "fraud-detector-dev".into(),
        namespace: "argocd".into(),
        project: "data-platform".into(),
        dest_server: "https://kubernetes.default.svc".into(),
        phase: "Succeeded".into(),
    });
    metrics.observe_reconcile(
        "argocd",
        "https://kubernetes.default.svc",
        Duration::from_millis(700),
    );
    metrics.observe_git_request(
        "https://git.acme.io/ml/platform-gitops",
        GitRequestType::Fetch,
        Duration::from_millis(180),
    );
    metrics.set_cluster_objects("https://kubernetes.default.svc", 412);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let target = listener.local_addr().expect("local addr").to_string();
    let router = metrics_router(metrics.clone());
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve metrics");
    });

    let prom = start_prometheus(&target);
    let client = reqwest::Client::new();

    let result = wait_for(&client, &prom, "argocd_app_info", |r| r.len() == 2).await;
    let dev = result
        .iter()
        .find(|s| s["metric"]["name"] == "fraud-detector-dev")
        .expect("fraud-detector-dev series");
    let labels = &dev["metric"];
    assert_eq!(labels["namespace"], "argocd");
    assert_eq!(labels["project"], "data-platform");
    assert_eq!(labels["sync_status"], "OutOfSync");
    assert_eq!(labels["health_status"], "Progressing");
    assert_eq!(labels["dest_server"], "https://kubernetes.default.svc");
    assert_eq!(labels["dest_namespace"], "model-serving");
    assert_eq!(labels["repo"], "https://git.acme.io/ml/platform-gitops");
    assert_eq!(labels["autosync_enabled"], "true");
    assert_eq!(labels["job"], "ferrocd-controller");
    assert_eq!(dev["value"][1], "1");

    let sync = wait_for(&client, &prom, "argocd_app_sync_total", |r| !r.is_empty()).await;
    assert_eq!(sync[0]["metric"]["phase"], "Succeeded");
    assert_eq!(sync[0]["value"][1], "1");

    let buckets = wait_for(
        &client,
        &prom,
        "argocd_app_reconcile_bucket{le=\"1.0\"}",
        |r| !r.is_empty(),
    )
    .await;
    assert_eq!(buckets[0]["value"][1], "1");
    assert_eq!(
        buckets[0]["metric"]["dest_server"],
        "https://kubernetes.default.svc"
    );

    let git = wait_for(&client, &prom, "argocd_git_request_total", |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(git[0]["metric"]["request_type"], "fetch");
    wait_for(
        &client,
        &prom,
        "argocd_git_request_duration_seconds_count",
        |r| r.len() == 1,
    )
    .await;
    let objects = wait_for(&client, &prom, "argocd_cluster_api_resource_objects", |r| {
        !r.is_empty()
    })
    .await;
    assert_eq!(objects[0]["value"][1], "412");

    // The app becomes Synced and Healthy: Prometheus sees the old series go stale and
    // only the new one remain.
    metrics.set_app_info(&app("Synced", "Healthy"));
    let result = wait_for(
        &client,
        &prom,
        "argocd_app_info{name=\"fraud-detector-dev\"}",
        |r| r.len() == 1 && r[0]["metric"]["sync_status"] == "Synced",
    )
    .await;
    assert_eq!(result[0]["metric"]["health_status"], "Healthy");

    // A deleted app disappears.
    metrics.remove_app("argocd", "airflow-prod");
    wait_for(
        &client,
        &prom,
        "argocd_app_info{name=\"airflow-prod\"}",
        |r| r.is_empty(),
    )
    .await;
}
