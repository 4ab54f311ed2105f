//! The real `kubectl` against the cluster: api-resources, get -o yaml, create, apply
//! --server-side (with --dry-run=server), diff --server-side, patch (merge, json, strategic),
//! wait, rollout status and delete.

mod common;

use common::TestCluster;

fn manifests(ns: &str, image: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: mlflow
  namespace: {ns}
  labels: {{app: mlflow}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: mlflow}}
  template:
    metadata:
      labels: {{app: mlflow}}
    spec:
      containers:
      - name: server
        image: {image}
        ports:
        - containerPort: 5000
---
apiVersion: v1
kind: Service
metadata:
  name: mlflow
  namespace: {ns}
spec:
  selector: {{app: mlflow}}
  ports:
  - port: 80
    targetPort: 5000
"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_resources_and_get_yaml() {
    let tc = TestCluster::start().await;
    let out = tc.kubectl_ok(&["api-resources"], None);
    for needle in [
        "deployments",
        "deploy",
        "apps/v1",
        "customresourcedefinitions",
        "horizontalpodautoscalers",
        "leases",
    ] {
        assert!(out.contains(needle), "api-resources lacks {needle}:\n{out}");
    }
    let line = out
        .lines()
        .find(|l| l.starts_with("configmaps "))
        .expect("configmaps line");
    assert!(
        line.contains("cm") && line.contains("true") && line.contains("ConfigMap"),
        "{line}"
    );
    let yaml = tc.kubectl_ok(&["get", "namespace", "default", "-o", "yaml"], None);
    assert!(
        yaml.contains("kind: Namespace")
            && yaml.contains("name: default")
            && yaml.contains("phase: Active"),
        "{yaml}"
    );
    let table = tc.kubectl_ok(&["get", "namespaces"], None);
    assert!(
        table.starts_with("NAME") && table.contains("kube-system"),
        "{table}"
    );
    tc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_and_delete() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("kubectl-create").await;
    let cm = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: airflow-vars\n  namespace: {ns}\ndata:\n  schedule: '@daily'\n"
    );
    let out = tc.kubectl_ok(&["create", "-f", "-"], Some(&cm));
    assert!(out.contains("configmap/airflow-vars created"), "{out}");
    let again = tc.kubectl_stdin(&["create", "-f", "-"], Some(&cm));
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("AlreadyExists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let yaml = tc.kubectl_ok(
        &["-n", &ns, "get", "configmap", "airflow-vars", "-o", "yaml"],
        None,
    );
    assert!(
        yaml.contains("schedule: '@daily'")
            && yaml.contains("resourceVersion:")
            && yaml.contains("uid:"),
        "{yaml}"
    );
    // generator commands send protobuf bodies
    let out = tc.kubectl_ok(
        &[
            "-n",
            &ns,
            "create",
            "configmap",
            "mlflow-env",
            "--from-literal=MLFLOW_PORT=5000",
        ],
        None,
    );
    assert!(out.contains("configmap/mlflow-env created"), "{out}");
    let yaml = tc.kubectl_ok(
        &["-n", &ns, "get", "configmap", "mlflow-env", "-o", "yaml"],
        None,
    );
    assert!(yaml.contains("MLFLOW_PORT: \"5000\""), "{yaml}");
    let out = tc.kubectl_ok(
        &[
            "-n",
            &ns,
            "create",
            "secret",
            "generic",
            "s3-creds",
            "--from-literal=key=abc",
        ],
        None,
    );
    assert!(out.contains("secret/s3-creds created"), "{out}");
    let yaml = tc.kubectl_ok(
        &["-n", &ns, "get", "secret", "s3-creds", "-o", "yaml"],
        None,
    );
    assert!(
        yaml.contains("key: YWJj") && yaml.contains("type: Opaque"),
        "{yaml}"
    );
    let extra_ns = format!("{ns}-extra");
    let out = tc.kubectl_ok(&["create", "namespace", &extra_ns], None);
    assert!(
        out.contains(&format!("namespace/{extra_ns} created")),
        "{out}"
    );
    tc.kubectl_ok(&["delete", "namespace", &extra_ns, "--wait=false"], None);
    let out = tc.kubectl_ok(&["-n", &ns, "delete", "configmap", "airflow-vars"], None);
    assert!(out.contains("deleted"), "{out}");
    let gone = tc.kubectl(&["-n", &ns, "get", "configmap", "airflow-vars"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("NotFound"));
    tc.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_dry_run_diff_wait_rollout_patch() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("kubectl-apply").await;
    let v1 = manifests(&ns, "ghcr.io/mlflow/mlflow:v2.9.2", 2);
    // dry run first: nothing is created
    let out = tc.kubectl_ok(
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        Some(&v1),
    );
    assert!(
        out.contains("deployment.apps/mlflow serverside-applied (server dry run)"),
        "{out}"
    );
    assert!(
        !tc.kubectl(&["-n", &ns, "get", "deployment", "mlflow"])
            .status
            .success()
    );

    let out = tc.kubectl_ok(&["apply", "--server-side", "-f", "-"], Some(&v1));
    assert!(
        out.contains("deployment.apps/mlflow serverside-applied"),
        "{out}"
    );
    tc.kubectl_ok(
        &[
            "-n",
            &ns,
            "wait",
            "--for=condition=Available",
            "deployment/mlflow",
            "--timeout=60s",
        ],
        None,
    );
    let out = tc.kubectl_ok(
        &[
            "-n",
            &ns,
            "rollout",
            "status",
            "deployment/mlflow",
            "--timeout=60s",
        ],
        None,
    );
    assert!(out.contains("successfully rolled out"), "{out}");

    // no drift: diff exits 0
    let same = tc.kubectl_stdin(&["diff", "--server-side", "-f", "-"], Some(&v1));
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    let v2 = manifests(&ns, "ghcr.io/mlflow/mlflow:v2.10.0", 3);
    let diff = tc.kubectl_stdin(&["diff", "--server-side", "-f", "-"], Some(&v2));
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff exits 1 on changes: {}",
        String::from_utf8_lossy(&diff.stderr)
    );
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        text.contains("-  replicas: 2") && text.contains("+  replicas: 3"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with('+') && l.contains("image: ghcr.io/mlflow/mlflow:v2.10.0")),
        "{text}"
    );

    tc.kubectl_ok(&["apply", "--server-side", "-f", "-"], Some(&v2));
    let out = tc.kubectl_ok(
        &[
            "-n",
            &ns,
            "rollout",
            "status",
            "deployment/mlflow",
            "--timeout=60s",
        ],
        None,
    );
    assert!(out.contains("successfully rolled out"), "{out}");

    // patch types
    tc.kubectl_ok(
        &[
            "-n",
            &ns,
            "patch",
            "deployment",
            "mlflow",
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"team":"ml"}}}"#,
        ],
        None,
    );
    tc.kubectl_ok(
        &[
            "-n",
            &ns,
            "patch",
            "deployment",
            "mlflow",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":1}]"#,
        ],
        None,
    );
    tc.kubectl_ok(&["-n", &ns, "patch", "deployment", "mlflow", "--type=strategic", "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"server","env":[{"name":"MLFLOW_TRACKING_URI","value":"http://mlflow"}]}]}}}}"#], None);
    let yaml = tc.kubectl_ok(
        &["-n", &ns, "get", "deployment", "mlflow", "-o", "yaml"],
        None,
    );
    assert!(
        yaml.contains("team: ml")
            && yaml.contains("replicas: 1")
            && yaml.contains("MLFLOW_TRACKING_URI"),
        "{yaml}"
    );
    assert!(
        yaml.contains("image: ghcr.io/mlflow/mlflow:v2.10.0"),
        "strategic merge kept the image:\n{yaml}"
    );

    let pod = tc.kubectl_ok(
        &[
            "-n",
            &ns,
            "get",
            "pods",
            "-l",
            "app=mlflow",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ],
        None,
    );
    let logs = tc.kubectl_ok(&["-n", &ns, "logs", pod.trim()], None);
    assert!(logs.contains("is simulated"), "{logs}");
    let described = tc.kubectl_ok(&["-n", &ns, "describe", "deployment", "mlflow"], None);
    assert!(
        described.contains("ScalingReplicaSet") && described.contains("NewReplicaSetAvailable"),
        "{described}"
    );

    // a second applier conflicts on replicas now owned by kubectl-patch
    let conflict = tc.kubectl_stdin(&["apply", "--server-side", "-f", "-"], Some(&v2));
    assert!(!conflict.status.success());
    let err = String::from_utf8_lossy(&conflict.stderr);
    assert!(
        err.contains("conflict") && err.contains(".spec.replicas"),
        "{err}"
    );
    tc.kubectl_ok(
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        Some(&v2),
    );

    let out = tc.kubectl_ok(&["delete", "-f", "-"], Some(&v2));
    assert!(out.contains("deployment.apps \"mlflow\" deleted"), "{out}");
    tc.finish().await;
}
