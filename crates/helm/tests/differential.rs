//! Differential suite: every chart under `testdata/charts/` × several values
//! sets, rendered by the real `helm template` (from `FERROCD_TOOLS_BIN` or
//! `scripts/install-reference-tools`) and by [`ferrocd_helm::render_chart`];
//! the documents must come in the same order from the same templates and be
//! deep-equal after YAML parsing. Also checks errors and prints a timing
//! comparison (`--ignored` benchmark).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

mod support;

use ferrocd_helm::{RenderOptions, render_chart};
use serde_json::Value as Json;

fn tools_bin() -> PathBuf {
    ferrocd_reference_tools::bin_dir()
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// The charts as the tests render them: a copy of `testdata/charts` in which every
/// chart with `file://` dependencies has had `helm dependency build` run, so that
/// those dependencies (the `ml-common` library, shared subcharts) sit in its
/// `charts/` folder as `.tgz` archives packaged by the real helm.
///
/// nextest runs every test in its own process, several at once: each process stages into a
/// private folder and renames it to a name keyed by the content of `testdata/charts`; the
/// first rename wins and the others use it. Copies of other content are removed only once
/// they are an hour old, so a run never deletes what a concurrent one reads.
fn charts_dir() -> &'static Path {
    static STAGED: OnceLock<PathBuf> = OnceLock::new();
    STAGED.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let source = testdata().join("charts");
        let root = tmp.join(format!("differential-charts-{}", content_key(&source)));
        if root.is_dir() {
            return root;
        }
        if let Ok(entries) = std::fs::read_dir(tmp) {
            for e in entries.flatten() {
                let stale = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > std::time::Duration::from_secs(3600));
                if stale
                    && e.file_name()
                        .to_string_lossy()
                        .starts_with("differential-charts-")
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let staging = tmp.join(format!("staging-charts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        support::copy_dir(&source, &staging);
        let helm = tools_bin().join("helm");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&staging)
            .expect("staged charts")
            .flatten()
            .map(|e| e.path())
            .collect();
        names.sort();
        // Twice: a dependency that has file:// dependencies of its own is packaged
        // again once those are in place.
        for dir in names.iter().chain(names.iter()) {
            let chart = std::fs::read_to_string(dir.join("Chart.yaml")).unwrap_or_default();
            if !chart.contains("repository: file://") {
                continue;
            }
            let out = Command::new(&helm)
                .args(["dependency", "build", "--skip-refresh"])
                .arg(dir)
                .output()
                .expect("helm runs");
            assert!(
                out.status.success(),
                "helm dependency build {}: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if std::fs::rename(&staging, &root).is_err() {
            // Another process got there first with the same content.
            assert!(root.is_dir(), "staging {} failed", root.display());
            let _ = std::fs::remove_dir_all(&staging);
        }
        root
    })
}

/// A digest of every path and file under `dir`, in sorted order.
fn content_key(dir: &Path) -> String {
    use sha2::{Digest, Sha256};
    fn walk(dir: &Path, base: &Path, hasher: &mut Sha256) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read chart dir")
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let rel = path.strip_prefix(base).unwrap_or(&path);
            hasher.update(rel.to_string_lossy().as_bytes());
            hasher.update([0]);
            if path.is_dir() {
                walk(&path, base, hasher);
            } else {
                hasher.update(std::fs::read(&path).expect("read chart file"));
                hasher.update([0]);
            }
        }
    }
    let mut hasher = Sha256::new();
    walk(dir, dir, &mut hasher);
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Case {
    chart: &'static str,
    release: &'static str,
    namespace: &'static str,
    values: &'static [&'static str],
    set: &'static [&'static str],
    set_string: &'static [&'static str],
    set_json: &'static [&'static str],
    flags: &'static [&'static str],
}

const BASE: Case = Case {
    chart: "",
    release: "r",
    namespace: "",
    values: &[],
    set: &[],
    set_string: &[],
    set_json: &[],
    flags: &[],
};

fn cases() -> Vec<Case> {
    vec![
        Case {
            chart: "airflow",
            release: "airflow",
            ..BASE
        },
        Case {
            chart: "airflow",
            release: "etl",
            namespace: "data",
            values: &["airflow-prod.yaml"],
            ..BASE
        },
        Case {
            chart: "airflow",
            release: "pipelines-dev",
            values: &["airflow-k8s-executor.yaml"],
            ..BASE
        },
        Case {
            chart: "airflow",
            release: "batch",
            values: &["airflow-prod.yaml"],
            set: &[
                "workers.replicas=10,image.tag=2.10.0",
                r"workers.nodeSelector.kubernetes\.io/arch=arm64",
                "ingress.tls=false",
            ],
            set_string: &["webserver.defaultUser.username=12345"],
            set_json: &[r#"workers.extraEnv=[{"name":"LOG_LEVEL","value":"debug"}]"#],
            ..BASE
        },
        Case {
            chart: "model-server",
            release: "resnet",
            ..BASE
        },
        Case {
            chart: "model-server",
            release: "llm",
            namespace: "inference",
            values: &["model-server-hpa.yaml"],
            ..BASE
        },
        Case {
            chart: "model-server",
            release: "bert",
            values: &["model-server-cpu.yaml"],
            ..BASE
        },
        Case {
            chart: "model-server",
            release: "mix",
            values: &["model-server-hpa.yaml", "model-server-cpu.yaml"],
            set: &["gpu.enabled=true,service.ports.grpc=null"],
            ..BASE
        },
        Case {
            chart: "ml-stack",
            release: "ml",
            ..BASE
        },
        Case {
            chart: "ml-stack",
            release: "ml-prod",
            values: &["ml-stack-prod.yaml"],
            ..BASE
        },
        Case {
            chart: "ml-stack",
            release: "lab",
            set: &["mlflow.enabled=false,tags.monitoring=true,global.env=lab"],
            ..BASE
        },
        Case {
            chart: "feature-store",
            release: "feast",
            ..BASE
        },
        Case {
            chart: "feature-store",
            release: "feast",
            flags: &["--include-crds"],
            ..BASE
        },
        Case {
            chart: "feature-store",
            release: "feast",
            flags: &["--include-crds", "--skip-tests"],
            set: &["migrations.weight=3"],
            ..BASE
        },
        Case {
            chart: "feature-store",
            release: "feast",
            flags: &["--skip-crds"],
            set: &["migrations.enabled=false"],
            ..BASE
        },
        Case {
            chart: "mlflow",
            release: "mlflow",
            ..BASE
        },
        Case {
            chart: "mlflow",
            release: "tracking",
            namespace: "ml",
            values: &["mlflow-prod.yaml"],
            ..BASE
        },
        Case {
            chart: "mlflow",
            release: "exp",
            values: &["mlflow-prod.yaml"],
            set: &["tracking.port=5001,auth.enabled=false"],
            flags: &["--kube-version", "1.27.3"],
            ..BASE
        },
        Case {
            chart: "gpu-inference",
            release: "llm",
            ..BASE
        },
        Case {
            chart: "gpu-inference",
            release: "llm-large",
            namespace: "inference",
            values: &["gpu-inference-large.yaml"],
            ..BASE
        },
        Case {
            chart: "gpu-inference",
            release: "edge",
            set: &["shards=3,modelsPerGroup=1,maintenance.window=45m"],
            set_string: &["cacheTTLSeconds=120"],
            ..BASE
        },
        Case {
            chart: "alert-rules",
            release: "prod-alerts",
            ..BASE
        },
        Case {
            chart: "alert-rules",
            release: "serving",
            values: &["alert-rules-strict.yaml"],
            ..BASE
        },
        Case {
            chart: "alert-rules",
            release: "merged",
            values: &["alert-rules-strict.yaml"],
            set_json: &[r#"groups.training={"interval":"2m","rules":{}}"#],
            // A null for a key the defaults lack stays in the values (Helm's coalesce).
            set: &["owner.pager.service=PABC,owner.escalation=null,owner.slack=null"],
            ..BASE
        },
        Case {
            chart: "platform-secrets",
            release: "sec",
            namespace: "ml",
            ..BASE
        },
        Case {
            chart: "platform-secrets",
            release: "feast",
            namespace: "features",
            values: &["platform-secrets-rotated.yaml"],
            flags: &["--kube-version", "1.20.5"],
            ..BASE
        },
        Case {
            chart: "platform-secrets",
            release: "old-api",
            values: &["platform-secrets-rotated.yaml"],
            flags: &[
                "--kube-version",
                "1.29.0",
                "--api-versions",
                "batch/v1/CronJob",
            ],
            set: &["rotation.suspend=false"],
            ..BASE
        },
        Case {
            chart: "spark-operator",
            release: "spark",
            ..BASE
        },
        Case {
            chart: "spark-operator",
            release: "spark-operator",
            namespace: "spark-system",
            values: &["spark-operator-webhook.yaml"],
            ..BASE
        },
        Case {
            chart: "spark-operator",
            release: "batch",
            values: &["spark-operator-webhook.yaml"],
            set: &["rbac.create=false,metrics.enable=false,serviceAccounts.spark.create=false"],
            flags: &["--include-crds", "--kube-version", "1.31.2"],
            ..BASE
        },
        Case {
            chart: "ray-cluster",
            release: "tune",
            ..BASE
        },
        Case {
            chart: "ray-cluster",
            release: "llm-train",
            namespace: "ray",
            values: &["ray-cluster-gpu.yaml"],
            ..BASE
        },
        Case {
            chart: "ray-cluster",
            release: "sweep",
            set: &[
                "workerGroups.a100.gpus=4,autoscaler.idleTimeoutSeconds=60,head.rayStartParams.num-cpus=2",
            ],
            set_json: &[r#"common.containerEnv=[{"name":"WANDB_MODE","value":"offline"}]"#],
            ..BASE
        },
        Case {
            chart: "triton-server",
            release: "vision",
            set: &["storageUri=s3://models/triton"],
            ..BASE
        },
        Case {
            chart: "triton-server",
            release: "serving",
            namespace: "kserve",
            values: &["triton-server-models.yaml"],
            ..BASE
        },
        Case {
            chart: "triton-server",
            release: "shadow",
            values: &["triton-server-models.yaml"],
            set: &["canaryTrafficPercent=null,modelConfig=false,protocol=grpc-v2"],
            ..BASE
        },
        Case {
            chart: "kafka",
            release: "events",
            namespace: "streaming",
            ..BASE
        },
        Case {
            chart: "kafka",
            release: "features",
            namespace: "streaming",
            values: &["kafka-external.yaml"],
            ..BASE
        },
        Case {
            chart: "kafka",
            release: "dev",
            set: &["replicas=1,persistence.enabled=false,pdb.maxUnavailable=0"],
            set_string: &["config.min\\.insync\\.replicas=1"],
            ..BASE
        },
        Case {
            chart: "grafana-dashboards",
            release: "grafana",
            namespace: "monitoring",
            ..BASE
        },
        Case {
            chart: "grafana-dashboards",
            release: "serving-dash",
            values: &["grafana-dashboards-alerting.yaml"],
            ..BASE
        },
        Case {
            chart: "secret-sync",
            release: "secrets",
            namespace: "ml",
            flags: &["--include-crds"],
            ..BASE
        },
        Case {
            chart: "secret-sync",
            release: "aws-secrets",
            values: &["secret-sync-aws.yaml"],
            flags: &["--skip-tests"],
            ..BASE
        },
        Case {
            chart: "secret-sync",
            release: "no-tests",
            set: &["tests.enabled=false,migrationJob.enabled=false"],
            flags: &["--skip-crds"],
            ..BASE
        },
        Case {
            chart: "cert-issuers",
            release: "certs",
            namespace: "gateway",
            flags: &["--include-crds"],
            ..BASE
        },
        Case {
            chart: "cert-issuers",
            release: "internal",
            values: &["cert-issuers-internal.yaml"],
            flags: &["--kube-version", "1.29.4"],
            ..BASE
        },
        Case {
            chart: "cert-issuers",
            release: "internal",
            values: &["cert-issuers-internal.yaml"],
            set: &["selfSigned=false"],
            flags: &["--skip-crds", "--kube-version", "v1.30.1"],
            ..BASE
        },
        Case {
            chart: "notebook-hub",
            release: "hub",
            namespace: "notebooks",
            ..BASE
        },
        Case {
            chart: "notebook-hub",
            release: "hub",
            namespace: "research",
            values: &["notebook-hub-github.yaml"],
            ..BASE
        },
        Case {
            chart: "notebook-hub",
            release: "lab",
            set: &["culling.timeout=7200,culling.every=300,singleuser.storage=50Gi"],
            ..BASE
        },
        Case {
            chart: "batch-scoring",
            release: "nightly",
            ..BASE
        },
        Case {
            chart: "batch-scoring",
            release: "scoring",
            namespace: "batch",
            values: &["batch-scoring-many.yaml"],
            ..BASE
        },
        Case {
            chart: "vector-db",
            release: "rag",
            ..BASE
        },
        Case {
            chart: "vector-db",
            release: "rag-prod",
            namespace: "retrieval",
            values: &["vector-db-cluster.yaml"],
            ..BASE
        },
        Case {
            chart: "vector-db",
            release: "ro",
            set: &["readOnlyApiKey=viewer-key,config.cluster.enabled=true"],
            set_string: &["image.tag=1.12"],
            ..BASE
        },
        Case {
            chart: "training-pipelines",
            release: "train",
            ..BASE
        },
        Case {
            chart: "training-pipelines",
            release: "distill",
            values: &["training-pipelines-minimal.yaml"],
            ..BASE
        },
        Case {
            chart: "training-pipelines",
            release: "custom-store",
            set: &["artifact-store.bucket=team-a-artifacts,templates.train.gpus=8"],
            ..BASE
        },
        Case {
            chart: "model-monitoring",
            release: "monitors",
            namespace: "ml-ops",
            ..BASE
        },
        Case {
            chart: "model-monitoring",
            release: "ranking",
            values: &["model-monitoring-strict.yaml"],
            ..BASE
        },
        Case {
            chart: "feature-cache",
            release: "online",
            ..BASE
        },
        Case {
            chart: "feature-cache",
            release: "online-ha",
            namespace: "features",
            values: &["feature-cache-ha.yaml"],
            ..BASE
        },
        Case {
            chart: "feature-cache",
            release: "no-ha",
            values: &["feature-cache-ha.yaml"],
            set: &["tags.ha=false,primaryConnection.port=6380"],
            ..BASE
        },
        Case {
            chart: "annotation-tool",
            release: "labels",
            ..BASE
        },
        Case {
            chart: "annotation-tool",
            release: "labels-old",
            set: &["ingress.tls=false"],
            flags: &[
                "--kube-version",
                "1.22.3",
                "--api-versions",
                "monitoring.coreos.com/v1/ServiceMonitor",
            ],
            ..BASE
        },
        Case {
            chart: "annotation-tool",
            release: "legacy",
            flags: &[
                "--kube-version",
                "1.19.16",
                "--api-versions",
                "autoscaling/v2beta2",
            ],
            set: &["autoscaling.max=10"],
            ..BASE
        },
        Case {
            chart: "inference-graph",
            release: "search",
            ..BASE
        },
        Case {
            chart: "inference-graph",
            release: "edge",
            values: &["inference-graph-lite.yaml"],
            ..BASE
        },
        Case {
            chart: "etl-dags",
            release: "etl",
            namespace: "airflow",
            ..BASE
        },
        Case {
            chart: "etl-dags",
            release: "training-dags",
            values: &["etl-dags-training.yaml"],
            ..BASE
        },
        Case {
            chart: "etl-dags",
            release: "etl-set",
            set: &["variables.retries=7,variables.zip=02134,pools.gpu=16"],
            set_string: &["variables.enabled=false"],
            ..BASE
        },
        Case {
            chart: "llm-router",
            release: "router",
            ..BASE
        },
        Case {
            chart: "llm-router",
            release: "router-edge",
            values: &["llm-router-cheap.yaml"],
            ..BASE
        },
        Case {
            chart: "dask-gateway",
            release: "dask",
            namespace: "notebooks",
            ..BASE
        },
        Case {
            chart: "dask-gateway",
            release: "dask-large",
            values: &["dask-gateway-large.yaml"],
            ..BASE
        },
        Case {
            chart: "dask-gateway",
            release: "dask-proxy",
            set: &["proxy.ports.tcp=9786,backend.worker.threads=4"],
            ..BASE
        },
        Case {
            chart: "gpu-operator-lite",
            release: "gpu",
            namespace: "gpu-operator",
            ..BASE
        },
        Case {
            chart: "gpu-operator-lite",
            release: "gpu",
            namespace: "gpu-operator",
            set: &[
                "daemonsets.tolerations[0].effect=NoExecute,driver.enabled=true,migStrategy=single",
            ],
            flags: &["--api-versions", "monitoring.coreos.com/v1"],
            ..BASE
        },
        Case {
            chart: "gpu-operator-lite",
            release: "gpu-lab",
            set: &[
                "dcgmExporter.serviceMonitor=true,devicePlugin.enabled=false,daemonsets.tolerations[1].key=lab",
            ],
            set_string: &["driver.version=535.183.01"],
            ..BASE
        },
        Case {
            chart: "serving-runtimes",
            release: "runtimes",
            namespace: "kserve",
            ..BASE
        },
        Case {
            chart: "serving-runtimes",
            release: "runtimes-custom",
            values: &["serving-runtimes-custom.yaml"],
            ..BASE
        },
        Case {
            chart: "serving-runtimes",
            release: "one",
            set: &["maxRuntimes=1,runtimes.triton.disabled=true"],
            ..BASE
        },
        Case {
            chart: "object-store",
            release: "minio",
            namespace: "data",
            ..BASE
        },
        Case {
            chart: "object-store",
            release: "lake",
            set: &["endpoint=http://minio.data.svc/,rootUser=lake-admin"],
            set_json: &[
                r#"buckets=[{"name":"raw","policy":"none","versioning":true},{"name":"curated","policy":"download"}]"#,
            ],
            ..BASE
        },
        // New charts (ml-common library as a packaged .tgz dependency).
        Case {
            chart: "spark-history",
            release: "spark-history",
            ..BASE
        },
        Case {
            chart: "spark-history",
            release: "history",
            namespace: "spark",
            values: &["spark-history-s3.yaml"],
            ..BASE
        },
        Case {
            chart: "spark-history",
            release: "dev",
            values: &["spark-history-dev.yaml"],
            flags: &["--kube-version", "1.24.1"],
            ..BASE
        },
        Case {
            chart: "vllm-server",
            release: "llama",
            namespace: "llm",
            ..BASE
        },
        Case {
            chart: "vllm-server",
            release: "llama-70b",
            namespace: "llm",
            values: &["vllm-server-70b.yaml"],
            ..BASE
        },
        Case {
            chart: "vllm-server",
            release: "qwen",
            values: &["vllm-server-cpu.yaml"],
            set: &["model.gpuMemoryUtilization=0.5,extraArgs[0]=--enforce-eager"],
            ..BASE
        },
        Case {
            chart: "workflow-engine",
            release: "pipelines",
            namespace: "ml-pipelines",
            ..BASE
        },
        Case {
            chart: "workflow-engine",
            release: "team-a",
            namespace: "ml-team-a",
            values: &["workflow-engine-namespaced.yaml"],
            flags: &[
                "--include-crds",
                "--api-versions",
                "monitoring.coreos.com/v1/ServiceMonitor",
            ],
            ..BASE
        },
        Case {
            chart: "workflow-engine",
            release: "wf",
            values: &["workflow-engine-minimal.yaml"],
            flags: &["--skip-tests", "--kube-version", "1.30.0"],
            ..BASE
        },
        Case {
            chart: "metrics-stack",
            release: "prometheus",
            namespace: "monitoring",
            ..BASE
        },
        Case {
            chart: "metrics-stack",
            release: "prom-prod",
            namespace: "monitoring",
            values: &["metrics-stack-prod.yaml"],
            ..BASE
        },
        Case {
            chart: "metrics-stack",
            release: "edge",
            values: &["metrics-stack-lean.yaml"],
            set_string: &["global.externalLabels.zone=edge-{{ .Release.Name }}"],
            ..BASE
        },
        Case {
            chart: "ml-ci-runners",
            release: "ci",
            namespace: "ci",
            ..BASE
        },
        Case {
            chart: "ml-ci-runners",
            release: "ci-quirks",
            values: &["ml-ci-runners-quirks.yaml"],
            set: &["on.tag=v1,y=true,features.cache=no"],
            set_string: &["limits.hexMask=0x2F"],
            ..BASE
        },
        Case {
            chart: "ml-ci-runners",
            release: "gpu-ci",
            values: &["ml-ci-runners-gpu-only.yaml"],
            ..BASE
        },
        Case {
            chart: "worker-pool",
            release: "scoring",
            ..BASE
        },
        Case {
            chart: "worker-pool",
            release: "batch-gpu",
            namespace: "batch",
            values: &["worker-pool-gpu.yaml"],
            ..BASE
        },
        Case {
            chart: "worker-pool",
            release: "wp",
            set: &[
                "fullnameOverride=preprocess-workers,replicas=0,global.broker=amqp://rabbit:5672",
            ],
            ..BASE
        },
        Case {
            chart: "ml-suite",
            release: "team-a",
            namespace: "ml-suite",
            ..BASE
        },
        Case {
            chart: "ml-suite",
            release: "prod",
            values: &["ml-suite-prod.yaml"],
            ..BASE
        },
        Case {
            chart: "ml-suite",
            release: "cpu",
            values: &["ml-suite-cpu-only.yaml"],
            ..BASE
        },
        Case {
            chart: "ml-suite",
            release: "no-tracking",
            set: &["tracking.enabled=false,cpuPool.enabled=false,gpuPool.gpu.count=8"],
            ..BASE
        },
        Case {
            chart: "metadata-db",
            release: "ml",
            namespace: "data",
            ..BASE
        },
        Case {
            chart: "metadata-db",
            release: "ml-ha",
            namespace: "data",
            values: &["metadata-db-ha.yaml"],
            ..BASE
        },
        Case {
            chart: "metadata-db",
            release: "airflow",
            values: &["metadata-db-external-secret.yaml"],
            set: &["readReplicas.count=3,primary.persistence.storageClass=standard"],
            ..BASE
        },
        Case {
            chart: "dns-sync",
            release: "dns",
            namespace: "kube-system",
            ..BASE
        },
        Case {
            chart: "dns-sync",
            release: "dns-cf",
            values: &["dns-sync-cloudflare.yaml"],
            ..BASE
        },
        Case {
            chart: "dns-sync",
            release: "lab-dns",
            values: &["dns-sync-rfc2136.yaml"],
            set: &["provider.rfc2136.port=5353,interval=30s"],
            ..BASE
        },
        Case {
            chart: "queue-manager",
            release: "gpu-queues",
            ..BASE
        },
        Case {
            chart: "queue-manager",
            release: "llm-queues",
            values: &["queue-manager-h100.yaml"],
            ..BASE
        },
        Case {
            chart: "queue-manager",
            release: "shared",
            values: &["queue-manager-one-team.yaml"],
            set: &["flavors.a100.nodes=2,cpuPerGpu=8"],
            ..BASE
        },
        Case {
            chart: "ingress-gateway",
            release: "ingress",
            namespace: "ingress",
            ..BASE
        },
        Case {
            chart: "ingress-gateway",
            release: "edge",
            namespace: "ingress",
            values: &["ingress-gateway-edge.yaml"],
            flags: &["--kube-version", "1.27.9"],
            ..BASE
        },
        Case {
            chart: "ingress-gateway",
            release: "public",
            values: &["ingress-gateway-hpa.yaml"],
            set: &["controller.config.proxy-body-size=1g,controller.replicas=5"],
            ..BASE
        },
    ]
}

fn flag_value(c: &Case, name: &str) -> Option<String> {
    c.flags
        .windows(2)
        .find(|w| w[0] == name)
        .map(|w| w[1].to_string())
}

fn options(c: &Case) -> RenderOptions {
    let td = testdata();
    RenderOptions {
        release_name: c.release.into(),
        namespace: c.namespace.into(),
        value_files: c
            .values
            .iter()
            .map(|v| td.join("charts/values").join(v))
            .collect(),
        set: c.set.iter().map(|s| s.to_string()).collect(),
        set_string: c.set_string.iter().map(|s| s.to_string()).collect(),
        set_json: c.set_json.iter().map(|s| s.to_string()).collect(),
        include_crds: c.flags.contains(&"--include-crds"),
        skip_crds: c.flags.contains(&"--skip-crds"),
        skip_tests: c.flags.contains(&"--skip-tests"),
        kube_version: flag_value(c, "--kube-version").unwrap_or_default(),
        api_versions: c
            .flags
            .windows(2)
            .filter(|w| w[0] == "--api-versions")
            .map(|w| w[1].to_string())
            .collect(),
        ..RenderOptions::default()
    }
}

fn helm_command(helm: &Path, c: &Case) -> Command {
    let td = testdata();
    let mut cmd = Command::new(helm);
    cmd.arg("template")
        .arg(c.release)
        .arg(charts_dir().join(c.chart));
    if !c.namespace.is_empty() {
        cmd.args(["--namespace", c.namespace]);
    }
    for v in c.values {
        cmd.arg("--values").arg(td.join("charts/values").join(v));
    }
    for s in c.set {
        cmd.args(["--set", s]);
    }
    for s in c.set_string {
        cmd.args(["--set-string", s]);
    }
    for s in c.set_json {
        cmd.args(["--set-json", s]);
    }
    cmd.args(c.flags);
    cmd
}

fn describe(c: &Case) -> String {
    format!(
        "{} {} values={:?} set={:?} flags={:?}",
        c.chart, c.release, c.values, c.set, c.flags
    )
}

fn check(helm: &Path, c: &Case) -> Result<usize, String> {
    let out = helm_command(helm, c).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{}: helm failed: {}",
            describe(c),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let expected = support::parse_helm_output(&String::from_utf8_lossy(&out.stdout));
    let dir = charts_dir().join(c.chart);
    let got = render_chart(&dir, &options(c))
        .map_err(|e| format!("{}: render failed: {e}", describe(c)))?;
    let got: Vec<(String, Json)> = got.into_iter().map(|d| (d.source, d.object)).collect();
    let exp_ids: Vec<String> = expected
        .iter()
        .map(|(s, o)| format!("{s} {}/{}", o["kind"], o["metadata"]["name"]))
        .collect();
    let got_ids: Vec<String> = got
        .iter()
        .map(|(s, o)| format!("{s} {}/{}", o["kind"], o["metadata"]["name"]))
        .collect();
    if exp_ids != got_ids {
        return Err(format!(
            "{}: documents differ\nhelm:    {exp_ids:#?}\nferrocd: {got_ids:#?}",
            describe(c)
        ));
    }
    for ((s, e), (_, g)) in expected.iter().zip(&got) {
        if e != g {
            return Err(format!(
                "{}: {s} differs\nhelm:\n{}\nferrocd:\n{}",
                describe(c),
                serde_json::to_string_pretty(e).unwrap_or_default(),
                serde_json::to_string_pretty(g).unwrap_or_default()
            ));
        }
    }
    Ok(expected.len())
}

#[test]
fn charts_render_like_helm_template() {
    let helm = tools_bin().join("helm");
    let cases = cases();
    let results: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = cases.iter().map(|c| s.spawn(|| check(&helm, c))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("case panicked".into())))
            .collect()
    });
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let docs: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert!(docs > 40, "only {docs} documents compared");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
#[ignore = "benchmark: cargo test -p ferrocd-helm --release --test differential -- --ignored --nocapture"]
fn benchmark_against_helm_template() {
    let helm = tools_bin().join("helm");
    let mut ratios = Vec::new();
    for c in cases() {
        let dir = charts_dir().join(c.chart);
        let opts = options(&c);
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            render_chart(&dir, &opts).expect("renders");
            ours.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let out = helm_command(&helm, &c).output().expect("helm runs");
            assert!(out.status.success());
            theirs.push(t.elapsed().as_secs_f64());
        }
        let (o, h) = (median(ours), median(theirs));
        ratios.push(h / o);
        println!(
            "{:<60} ferrocd {:>8.2} ms  helm {:>8.2} ms  {:>6.1}x",
            describe(&c),
            o * 1e3,
            h * 1e3,
            h / o
        );
    }
    println!("median speed-up: {:.1}x", median(ratios));
}

#[test]
fn required_and_parse_errors_read_like_helm() {
    let helm = tools_bin().join("helm");
    let bad = [
        Case {
            chart: "model-server",
            release: "x",
            set: &["autoscaling.enabled=true,autoscaling.maxReplicas=null"],
            ..BASE
        },
        Case {
            chart: "model-server",
            release: "x",
            set: &["autoscaling.enabled=true,autoscaling.maxReplicas="],
            ..BASE
        },
        Case {
            chart: "alert-rules",
            release: "Prod-Alerts",
            ..BASE
        },
        Case {
            chart: "triton-server",
            release: "x",
            ..BASE
        },
        Case {
            chart: "secret-sync",
            release: "x",
            set: &["store.provider=gcp"],
            ..BASE
        },
        Case {
            chart: "secret-sync",
            release: "x",
            values: &["secret-sync-aws.yaml"],
            set: &["store.aws.region=null"],
            ..BASE
        },
        Case {
            chart: "spark-operator",
            release: "x",
            flags: &["--kube-version", "1.22.9"],
            ..BASE
        },
        Case {
            chart: "annotation-tool",
            release: "x",
            flags: &["--kube-version", "1.18.20"],
            ..BASE
        },
        Case {
            chart: "alert-rules",
            release: "a-release-name-that-is-much-too-long-for-helm-to-accept",
            ..BASE
        },
        // JSON has no infinity: helm's YAML → JSON conversion refuses `.inf`.
        Case {
            chart: "ml-ci-runners",
            release: "x",
            values: &["ml-ci-runners-inf.yaml"],
            ..BASE
        },
        Case {
            chart: "spark-history",
            release: "x",
            set: &["eventLog.dir=ftp://archive/spark"],
            ..BASE
        },
        Case {
            chart: "vllm-server",
            release: "x",
            set: &["tensorParallel=2,gpu.enabled=false"],
            ..BASE
        },
        Case {
            chart: "vllm-server",
            release: "x",
            set: &["autoscaling.enabled=true,autoscaling.maxReplicas=null"],
            ..BASE
        },
        Case {
            chart: "metrics-stack",
            release: "x",
            set_string: &["server.retention=2 weeks"],
            ..BASE
        },
        Case {
            chart: "spark-history",
            release: "x",
            flags: &["--kube-version", "1.22.0"],
            ..BASE
        },
        Case {
            chart: "dns-sync",
            release: "x",
            set: &["provider.name=azure"],
            ..BASE
        },
        Case {
            chart: "dns-sync",
            release: "x",
            set: &["provider.name=rfc2136,provider.rfc2136.host=ns1"],
            ..BASE
        },
        Case {
            chart: "queue-manager",
            release: "x",
            set: &["teams[0].share=0.9"],
            ..BASE
        },
        Case {
            chart: "metadata-db",
            release: "x",
            set: &["tls.enabled=true"],
            ..BASE
        },
        Case {
            chart: "ingress-gateway",
            release: "x",
            set: &["controller.kind=StatefulSet"],
            ..BASE
        },
    ];
    for c in &bad {
        let out = helm_command(&helm, c).output().expect("helm runs");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The message runs from "Error: " to the blank line before helm's hint.
        let helm_msg = stderr
            .split_once("Error: ")
            .map(|(_, m)| m.split("\n\n").next().unwrap_or(m).trim_end())
            .expect("helm error line")
            .to_string();
        let err = render_chart(&charts_dir().join(c.chart), &options(c)).expect_err("must fail");
        assert_eq!(err.to_string(), helm_msg, "{}", describe(c));
    }
}

/// Helm lists schema violations in map order, so lines are compared as sets.
fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with("Error: "))
        .filter(|l| !l.contains("values don't meet"))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn schema_violations_read_like_helm() {
    let helm = tools_bin().join("helm");
    let bad = [
        Case {
            chart: "mlflow",
            release: "x",
            set: &[
                "replicaCount=0,image.repository=Not Valid,image.extra=1",
                "tracking.port=70000,tracking.artifactRoot=ftp://x",
                "auth.adminUser=ab,podLabels.team=null",
            ],
            ..BASE
        },
        Case {
            chart: "mlflow",
            release: "x",
            set: &["tracking.backendStore=null,image.pullPolicy=Sometimes"],
            set_json: &[
                r#"ingress.paths=["/","/","api"]"#,
                "podLabels={\"gpu\":true}",
            ],
            ..BASE
        },
        Case {
            chart: "mlflow",
            release: "x",
            set_string: &["replicaCount=3"],
            set_json: &["ingress.paths=[]"],
            ..BASE
        },
        Case {
            chart: "notebook-hub",
            release: "x",
            set: &["culling.timeout=5,auth.type=ldap"],
            set_json: &[r#"auth.admins=["ada","ada"]"#, r#"profiles=[{"slug":"x"}]"#],
            ..BASE
        },
    ];
    for c in &bad {
        let out = helm_command(&helm, c).output().expect("helm runs");
        assert!(!out.status.success(), "{}: helm accepted it", describe(c));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let err = render_chart(&charts_dir().join(c.chart), &options(c)).expect_err("must fail");
        let ours = err.to_string();
        assert!(
            ours.starts_with("values don't meet the specifications of the schema(s)"),
            "{ours}"
        );
        assert_eq!(
            sorted_lines(&ours),
            sorted_lines(&stderr),
            "{}",
            describe(c)
        );
    }
}
