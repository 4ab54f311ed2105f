//! `ferrocd diff` against a TestCluster after a `ferrocd sync`: no noise (server defaults,
//! status, cluster IPs, quantities, empty maps and lists, list order), real drift (each
//! case a test), ignoreDifferences, IgnoreExtraneous and Secret masking.

mod direct_support;

use direct_support::Env;
use serde_json::json;

const APP: &str = "mlflow";

/// An MLflow tracking server: a ConfigMap, a Secret, a Deployment and a Service.
fn mlflow(extra_env: &str, label: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: mlflow-settings
  annotations: {{}}
data:
  MLFLOW_S3_ENDPOINT_URL: http://minio.storage:9000
  BACKEND_STORE: postgresql
---
apiVersion: v1
kind: Secret
metadata:
  name: mlflow-db
type: Opaque
stringData:
  password: s3cr3t-tracking-pw
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mlflow
  labels:
    app: mlflow
    tier: {label}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: mlflow}}
  template:
    metadata:
      labels: {{app: mlflow}}
      annotations: {{}}
    spec:
      containers:
      - name: server
        image: ghcr.io/mlflow/mlflow:v2.16.0
        args: []
        env:
        - name: MLFLOW_TRACKING_URI
          value: http://0.0.0.0:5000
        - name: GUNICORN_CMD_ARGS
          value: --workers 4
{extra_env}        ports:
        - containerPort: 5000
          name: http
        - containerPort: 9090
          name: metrics
        resources:
          requests:
            cpu: 1000m
            memory: 1024Mi
          limits:
            memory: 2Gi
---
apiVersion: v1
kind: Service
metadata:
  name: mlflow
spec:
  selector: {{app: mlflow}}
  ports:
  - name: http
    port: 80
    targetPort: 5000
"#
    )
}

async fn synced(name: &str) -> Env {
    let env = Env::new(name).await;
    env.set_source(&mlflow("", "tracking"));
    env.ferrocd("sync", APP, &[]).await.expect(0);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_noise_after_sync() {
    let env = synced("noise").await;
    let run = env.ferrocd("diff", APP, &[]).await;
    run.expect(0);
    assert_eq!(run.stdout, "", "no diff expected");
    // Quantities written the canonical way by another writer, and the container's
    // ports in the other order, are still the same state.
    let patch = env
        .kubectl(&[
            "-n", &env.ns, "patch", "deployment", "mlflow", "--type", "json", "-p",
            r#"[{"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/cpu","value":"1"},
                {"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/memory","value":"1Gi"}]"#,
        ])
        .await;
    patch.expect(0);
    env.ferrocd("diff", APP, &[]).await.expect(0);
    // status agrees: everything Synced.
    let status = env.ferrocd("status", APP, &["-o", "json"]).await;
    status.expect(0);
    let v = status.json();
    assert_eq!(v["sync"]["status"], "Synced");
    assert_eq!(v["resources"].as_array().map(Vec::len), Some(4));
    for r in v["resources"].as_array().into_iter().flatten() {
        assert_eq!(r["status"], "Synced", "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_set_image() {
    let env = synced("drift-image").await;
    env.kubectl(&[
        "-n",
        &env.ns,
        "set",
        "image",
        "deployment/mlflow",
        "server=ghcr.io/mlflow/mlflow:v2.17.1",
    ])
    .await
    .expect(0);
    let run = env.ferrocd("diff", APP, &[]).await;
    run.expect(1);
    assert!(
        run.stdout.contains("===== apps/Deployment"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("-        image: ghcr.io/mlflow/mlflow:v2.17.1"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("+        image: ghcr.io/mlflow/mlflow:v2.16.0"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_edited_env_var() {
    let env = synced("drift-env").await;
    env.kubectl(&[
        "-n",
        &env.ns,
        "set",
        "env",
        "deployment/mlflow",
        "GUNICORN_CMD_ARGS=--workers 16",
    ])
    .await
    .expect(0);
    let run = env.ferrocd("diff", APP, &[]).await;
    run.expect(1);
    assert!(run.stdout.contains("--workers 16"), "{}", run.stdout);
    assert!(
        run.stdout.contains("+          value: --workers 4"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_removed_env_var() {
    let env = synced("drift-env-gone").await;
    env.kubectl(&[
        "-n",
        &env.ns,
        "set",
        "env",
        "deployment/mlflow",
        "GUNICORN_CMD_ARGS-",
    ])
    .await
    .expect(0);
    let run = env.ferrocd("diff", APP, &[]).await;
    run.expect(1);
    assert!(
        run.stdout.contains("+        - name: GUNICORN_CMD_ARGS"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_changed_label() {
    let env = synced("drift-label").await;
    env.kubectl(&[
        "-n",
        &env.ns,
        "label",
        "--overwrite",
        "deployment/mlflow",
        "tier=experiments",
    ])
    .await
    .expect(0);
    let run = env.ferrocd("diff", APP, &[]).await;
    run.expect(1);
    assert!(
        run.stdout.contains("-    tier: experiments"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("+    tier: tracking"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_deleted_object() {
    let env = synced("drift-deleted").await;
    env.kubectl(&["-n", &env.ns, "delete", "configmap", "mlflow-settings"])
        .await
        .expect(0);
    let run = env.ferrocd("diff", APP, &[]).await;
    run.expect(1);
    assert!(run.stdout.contains("===== /ConfigMap"), "{}", run.stdout);
    assert!(
        run.stdout.contains("+  BACKEND_STORE: postgresql"),
        "{}",
        run.stdout
    );
    let status = env.ferrocd("status", APP, &["-o", "json"]).await.json();
    let cm = status["resources"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["kind"] == "ConfigMap").cloned())
        .unwrap_or_default();
    assert_eq!(cm["status"], "OutOfSync");
    assert_eq!(cm["health"]["status"], "Missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_object_no_longer_in_git() {
    let env = synced("drift-extraneous").await;
    // The ConfigMap leaves Git; it stays tracked in the cluster.
    let source = mlflow("", "tracking");
    let without: Vec<&str> = source.split("---\n").skip(1).collect();
    env.set_source(&without.join("---\n"));
    let run = env.ferrocd("diff", APP, &[]).await;
    run.expect(1);
    assert!(run.stdout.contains("===== /ConfigMap"), "{}", run.stdout);
    assert!(
        run.stdout.contains("-  BACKEND_STORE: postgresql"),
        "{}",
        run.stdout
    );
    let status = env.ferrocd("status", APP, &["-o", "json"]).await.json();
    let cm = status["resources"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["kind"] == "ConfigMap").cloned())
        .unwrap_or_default();
    assert_eq!(cm["requiresPruning"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_field_removed_from_git() {
    let env = Env::new("drift-removed-field").await;
    env.set_source(&mlflow(
        "        - name: MLFLOW_ARTIFACTS_DESTINATION\n          value: s3://ml-artifacts\n",
        "tracking",
    ));
    env.ferrocd("sync", APP, &[]).await.expect(0);
    env.set_source(&mlflow("", "tracking"));
    let run = env.ferrocd("diff", APP, &[]).await;
    run.expect(1);
    assert!(
        run.stdout
            .contains("-        - name: MLFLOW_ARTIFACTS_DESTINATION"),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_differences_json_pointers_jq_and_managers() {
    let env = synced("ignore").await;
    // An autoscaler owns replicas; a webhook injected a sidecar.
    env.apply_directly(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mlflow", "namespace": env.ns}, "spec": {"replicas": 3}}))
        .await;
    env.kubectl(&["-n", &env.ns, "patch", "deployment", "mlflow", "--type", "json", "-p",
        r#"[{"op":"add","path":"/spec/template/spec/containers/-","value":{"name":"istio-proxy","image":"istio/proxyv2:1.23.0"}}]"#])
        .await
        .expect(0);
    env.ferrocd("diff", APP, &[]).await.expect(1);

    let pointers = env.write(
        "pointers.yaml",
        "- group: apps\n  kind: Deployment\n  jsonPointers:\n  - /spec/replicas\n  - /spec/template/spec/containers/1\n",
    );
    env.ferrocd(
        "diff",
        APP,
        &[
            "--ignore-differences",
            pointers.to_str().unwrap_or_default(),
        ],
    )
    .await
    .expect(0);

    let jq = env.write(
        "argocd-cm.yaml",
        r#"apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, namespace: argocd}
data:
  resource.customizations.ignoreDifferences.apps_Deployment: |
    managedFieldsManagers:
    - someone-else
    jqPathExpressions:
    - .spec.template.spec.containers[] | select(.name == "istio-proxy")
"#,
    );
    env.ferrocd(
        "diff",
        APP,
        &["--ignore-differences", jq.to_str().unwrap_or_default()],
    )
    .await
    .expect(0);
    // Only the sidecar rule: the replicas are still drift. (A container Git does not
    // name is not drift by itself: the diff compares what Git specifies.)
    let sidecar = env.write(
        "sidecar.yaml",
        "- group: apps\n  kind: Deployment\n  jqPathExpressions:\n  - .spec.template.spec.containers[] | select(.name == \"istio-proxy\")\n",
    );
    let run = env
        .ferrocd(
            "diff",
            APP,
            &["--ignore-differences", sidecar.to_str().unwrap_or_default()],
        )
        .await;
    run.expect(1);
    assert!(run.stdout.contains("-  replicas: 3"), "{}", run.stdout);
    assert!(!run.stdout.contains("istio-proxy"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_extraneous_keeps_the_app_synced() {
    let env = Env::new("ignore-extraneous").await;
    let cache = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: feature-cache\n  annotations:\n    argocd.argoproj.io/compare-options: IgnoreExtraneous\ndata: {{k: v}}\n---\n{}",
        mlflow("", "tracking")
    );
    env.set_source(&cache);
    env.ferrocd("sync", APP, &[]).await.expect(0);
    env.set_source(&mlflow("", "tracking"));
    env.ferrocd("diff", APP, &[]).await.expect(0);
    let status = env.ferrocd("status", APP, &["-o", "json"]).await.json();
    assert_eq!(status["sync"]["status"], "Synced");
    let extra = status["resources"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["name"] == "feature-cache").cloned())
        .unwrap_or_default();
    assert_eq!(extra["requiresPruning"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_are_masked_everywhere() {
    let env = synced("mask").await;
    env.kubectl(&[
        "-n",
        &env.ns,
        "patch",
        "secret",
        "mlflow-db",
        "--type",
        "merge",
        "-p",
        r#"{"stringData":{"password":"leaked-by-hand"}}"#,
    ])
    .await
    .expect(0);
    let run = env.ferrocd("diff", APP, &[]).await;
    run.expect(1);
    assert!(run.stdout.contains("++++++++"), "{}", run.stdout);
    let json_diff = env.ferrocd("diff", APP, &["-o", "json"]).await;
    let sync = env.ferrocd("sync", APP, &["-o", "json"]).await;
    sync.expect(0);
    let status = env.ferrocd("status", APP, &[]).await;
    for (what, text) in [
        ("diff", &run.stdout),
        ("diff stderr", &run.stderr),
        ("diff -o json", &json_diff.stdout),
        ("sync", &sync.stdout),
        ("sync stderr", &sync.stderr),
        ("status", &status.stdout),
    ] {
        for secret in [
            "s3cr3t-tracking-pw",
            "leaked-by-hand",
            "czNjcjN0",
            "bGVha2Vk",
        ] {
            assert!(
                !text.contains(secret),
                "{what} shows a secret value:\n{text}"
            );
        }
    }
}
