//! Prometheus metrics with Argo CD's names and labels, so that existing dashboards and
//! alerts keep working:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `argocd_app_info` | gauge (always 1) | name, namespace, project, sync_status, health_status, dest_server, dest_namespace, repo, autosync_enabled |
//! | `argocd_app_sync_total` | counter | name, namespace, project, dest_server, phase |
//! | `argocd_app_reconcile` | histogram (seconds) | namespace, dest_server |
//! | `argocd_app_k8s_request_total` | counter | name, namespace, project, server, response_code, verb, resource_kind, resource_namespace |
//! | `argocd_git_request_total` | counter | repo, request_type (`fetch`, `ls-remote`) |
//! | `argocd_git_request_duration_seconds` | histogram | repo, request_type |
//! | `argocd_cluster_api_resource_objects` | gauge | server |
//!
//! [`metrics_router`] serves them at `GET /metrics` in the OpenMetrics text format.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Path the metrics are served at.
pub const METRICS_PATH: &str = "/metrics";
/// Content type of [`Metrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Buckets of `argocd_app_reconcile`, in seconds (Argo CD's).
pub const RECONCILE_BUCKETS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];
/// Buckets of `argocd_git_request_duration_seconds`, in seconds.
pub const GIT_REQUEST_BUCKETS: [f64; 8] = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0];

/// Labels of `argocd_app_info`: one series per application, describing its state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, EncodeLabelSet)]
pub struct AppInfoLabels {
    /// Application name.
    pub name: String,
    /// Namespace the Application lives in.
    pub namespace: String,
    /// Project.
    pub project: String,
    /// `Synced`, `OutOfSync` or `Unknown`.
    pub sync_status: String,
    /// `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or `Unknown`.
    pub health_status: String,
    /// Destination server URL.
    pub dest_server: String,
    /// Destination namespace.
    pub dest_namespace: String,
    /// Source repository URL (the first source's).
    pub repo: String,
    /// `true` when automated sync is on.
    pub autosync_enabled: String,
}

/// Labels of `argocd_app_sync_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, EncodeLabelSet)]
pub struct SyncLabels {
    /// Application name.
    pub name: String,
    /// Namespace the Application lives in.
    pub namespace: String,
    /// Project.
    pub project: String,
    /// Destination server URL.
    pub dest_server: String,
    /// Final operation phase: `Succeeded`, `Failed`, `Error`.
    pub phase: String,
}

/// Labels of `argocd_app_k8s_request_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, EncodeLabelSet)]
pub struct K8sRequestLabels {
    /// Application name.
    pub name: String,
    /// Namespace the Application lives in.
    pub namespace: String,
    /// Project.
    pub project: String,
    /// API server URL.
    pub server: String,
    /// HTTP status code of the response.
    pub response_code: String,
    /// `Get`, `List`, `Watch`, `Patch`, `Delete`, ...
    pub verb: String,
    /// Kind of the resource requested.
    pub resource_kind: String,
    /// Namespace of the resource requested.
    pub resource_namespace: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReconcileLabels {
    namespace: String,
    dest_server: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct GitRequestLabels {
    repo: String,
    request_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ClusterLabels {
    server: String,
}

/// A kind of request to a Git server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitRequestType {
    /// Fetching objects.
    Fetch,
    /// Listing refs (resolving a revision).
    LsRemote,
}

impl GitRequestType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Fetch => "fetch",
            Self::LsRemote => "ls-remote",
        }
    }
}

fn reconcile_histogram() -> Histogram {
    Histogram::new(RECONCILE_BUCKETS)
}

fn git_request_histogram() -> Histogram {
    Histogram::new(GIT_REQUEST_BUCKETS)
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The controller's metrics and their registry. Cheap to update from many tasks.
pub struct Metrics {
    registry: Registry,
    app_info: Family<AppInfoLabels, Gauge>,
    /// Current `argocd_app_info` labels per (namespace, name), to drop a stale series.
    app_info_current: Mutex<HashMap<(String, String), AppInfoLabels>>,
    app_sync: Family<SyncLabels, Counter>,
    app_reconcile: HistogramFamily<ReconcileLabels>,
    k8s_request: Family<K8sRequestLabels, Counter>,
    git_request: Family<GitRequestLabels, Counter>,
    git_request_duration: HistogramFamily<GitRequestLabels>,
    cluster_objects: Family<ClusterLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("apps", &self.app_info_current.lock().len())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let app_info = Family::<AppInfoLabels, Gauge>::default();
        let app_sync = Family::<SyncLabels, Counter>::default();
        let app_reconcile: HistogramFamily<ReconcileLabels> =
            Family::new_with_constructor(reconcile_histogram);
        let k8s_request = Family::<K8sRequestLabels, Counter>::default();
        let git_request = Family::<GitRequestLabels, Counter>::default();
        let git_request_duration: HistogramFamily<GitRequestLabels> =
            Family::new_with_constructor(git_request_histogram);
        let cluster_objects = Family::<ClusterLabels, Gauge>::default();
        // Counters get their `_total` suffix from the encoder.
        registry.register(
            "argocd_app_info",
            "Information about application.",
            app_info.clone(),
        );
        registry.register(
            "argocd_app_sync",
            "Number of application syncs.",
            app_sync.clone(),
        );
        registry.register(
            "argocd_app_reconcile",
            "Application reconciliation performance in seconds.",
            app_reconcile.clone(),
        );
        registry.register(
            "argocd_app_k8s_request",
            "Number of kubernetes requests executed during application reconciliation.",
            k8s_request.clone(),
        );
        registry.register(
            "argocd_git_request",
            "Number of git requests performed by repo server",
            git_request.clone(),
        );
        registry.register(
            "argocd_git_request_duration_seconds",
            "Git requests duration seconds.",
            git_request_duration.clone(),
        );
        registry.register(
            "argocd_cluster_api_resource_objects",
            "Number of k8s resource objects in the cache.",
            cluster_objects.clone(),
        );
        Self {
            registry,
            app_info,
            app_info_current: Mutex::new(HashMap::new()),
            app_sync,
            app_reconcile,
            k8s_request,
            git_request,
            git_request_duration,
            cluster_objects,
        }
    }

    /// Sets the application's `argocd_app_info` series, replacing the one it had before
    /// (so a status change leaves no stale series behind).
    pub fn set_app_info(&self, labels: &AppInfoLabels) {
        let key = (labels.namespace.clone(), labels.name.clone());
        let mut current = self.app_info_current.lock();
        if let Some(previous) = current.get(&key)
            && previous != labels
        {
            self.app_info.remove(previous);
        }
        self.app_info.get_or_create(labels).set(1);
        current.insert(key, labels.clone());
    }

    /// Removes every per-application series of a deleted application.
    pub fn remove_app(&self, namespace: &str, name: &str) {
        let key = (namespace.to_string(), name.to_string());
        if let Some(previous) = self.app_info_current.lock().remove(&key) {
            self.app_info.remove(&previous);
        }
    }

    /// Counts one finished sync operation.
    pub fn inc_sync(&self, labels: &SyncLabels) {
        self.app_sync.get_or_create(labels).inc();
    }

    /// Records how long one reconciliation of an application took.
    pub fn observe_reconcile(&self, namespace: &str, dest_server: &str, took: Duration) {
        self.app_reconcile
            .get_or_create(&ReconcileLabels {
                namespace: namespace.to_string(),
                dest_server: dest_server.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts one Kubernetes API request made for an application.
    pub fn inc_k8s_request(&self, labels: &K8sRequestLabels) {
        self.k8s_request.get_or_create(labels).inc();
    }

    /// Counts one request to a Git server and records its duration.
    pub fn observe_git_request(&self, repo: &str, request_type: GitRequestType, took: Duration) {
        let labels = GitRequestLabels {
            repo: repo.to_string(),
            request_type: request_type.as_str().to_string(),
        };
        self.git_request.get_or_create(&labels).inc();
        self.git_request_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Sets the number of live objects cached for the cluster at `server`.
    pub fn set_cluster_objects(&self, server: &str, objects: u64) {
        self.cluster_objects
            .get_or_create(&ClusterLabels {
                server: server.to_string(),
            })
            .set(i64::try_from(objects).unwrap_or(i64::MAX));
    }

    /// Removes the cache series of a cluster that is no longer managed.
    pub fn remove_cluster(&self, server: &str) {
        self.cluster_objects.remove(&ClusterLabels {
            server: server.to_string(),
        });
    }

    /// Every metric in the OpenMetrics text format ([`OPENMETRICS_CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("encoding metrics failed");
        }
        out
    }
}

/// A router serving `GET /metrics` from `metrics`.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(METRICS_PATH, get(serve_metrics))
        .with_state(metrics)
}

async fn serve_metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], metrics.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mlflow(sync: &str, health: &str) -> AppInfoLabels {
        AppInfoLabels {
            name: "mlflow-dev".into(),
            namespace: "argocd".into(),
            project: "data-platform".into(),
            sync_status: sync.into(),
            health_status: health.into(),
            dest_server: "https://kubernetes.default.svc".into(),
            dest_namespace: "mlflow".into(),
            repo: "https://git.acme.io/ml/platform-gitops".into(),
            autosync_enabled: "true".into(),
        }
    }

    #[test]
    fn status_change_replaces_app_info_series() {
        let m = Metrics::new();
        m.set_app_info(&mlflow("OutOfSync", "Progressing"));
        m.set_app_info(&mlflow("Synced", "Healthy"));
        let text = m.encode();
        assert!(text.contains("# TYPE argocd_app_info gauge"), "{text}");
        assert!(text.contains("sync_status=\"Synced\""), "{text}");
        assert!(!text.contains("OutOfSync"), "stale series left: {text}");
        assert_eq!(text.matches("argocd_app_info{").count(), 1, "{text}");
        m.remove_app("argocd", "mlflow-dev");
        assert!(!m.encode().contains("argocd_app_info{"));
    }

    #[test]
    fn counters_and_histograms_encode_with_argo_names() {
        let m = Metrics::new();
        let sync = SyncLabels {
            name: "airflow-prod".into(),
            namespace: "argocd".into(),
            project: "data-platform".into(),
            dest_server: "https://prod.k8s.acme.io".into(),
            phase: "Succeeded".into(),
        };
        m.inc_sync(&sync);
        m.inc_sync(&sync);
        m.observe_reconcile(
            "argocd",
            "https://prod.k8s.acme.io",
            Duration::from_millis(300),
        );
        m.observe_git_request(
            "https://git.acme.io/ml/platform-gitops",
            GitRequestType::LsRemote,
            Duration::from_millis(50),
        );
        m.set_cluster_objects("https://prod.k8s.acme.io", 1234);
        m.inc_k8s_request(&K8sRequestLabels {
            verb: "Patch".into(),
            response_code: "200".into(),
            ..K8sRequestLabels::default()
        });
        let text = m.encode();
        for needle in [
            "argocd_app_sync_total{name=\"airflow-prod\",namespace=\"argocd\",project=\"data-platform\",dest_server=\"https://prod.k8s.acme.io\",phase=\"Succeeded\"} 2",
            "argocd_app_reconcile_bucket{le=\"0.25\",namespace=\"argocd\",dest_server=\"https://prod.k8s.acme.io\"} 0",
            "argocd_app_reconcile_bucket{le=\"0.5\",namespace=\"argocd\",dest_server=\"https://prod.k8s.acme.io\"} 1",
            "argocd_app_reconcile_count{namespace=\"argocd\",dest_server=\"https://prod.k8s.acme.io\"} 1",
            "argocd_git_request_total{repo=\"https://git.acme.io/ml/platform-gitops\",request_type=\"ls-remote\"} 1",
            "argocd_git_request_duration_seconds_bucket{le=\"0.1\",repo=\"https://git.acme.io/ml/platform-gitops\",request_type=\"ls-remote\"} 1",
            "argocd_cluster_api_resource_objects{server=\"https://prod.k8s.acme.io\"} 1234",
            "argocd_app_k8s_request_total{",
            "# EOF",
        ] {
            assert!(text.contains(needle), "missing {needle} in:\n{text}");
        }
        m.remove_cluster("https://prod.k8s.acme.io");
        assert!(!m.encode().contains("argocd_cluster_api_resource_objects{"));
    }
}
