//! `ferrocd sync` against a TestCluster: the seed scenarios (waves, hooks, HPA, GPU),
//! prune options, sync options, selective sync, dry run, faults and errors.

mod direct_support;

use direct_support::{Env, rv};
use serde_json::Value;

fn operations(v: &Value) -> Vec<(String, String, String, String)> {
    v["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or_default().to_string(),
                o["name"].as_str().unwrap_or_default().to_string(),
                o["action"].as_str().unwrap_or_default().to_string(),
                o["result"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn position(
    ops: &[(String, String, String, String)],
    kind: &str,
    name_prefix: &str,
    action: &str,
) -> usize {
    ops.iter()
        .position(|(k, n, a, _)| k == kind && n.starts_with(name_prefix) && a == action)
        .unwrap_or_else(|| panic!("no {action} of {kind} {name_prefix}* in {ops:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wave_zero_configmap_lands_before_wave_one_cronjob() {
    let env = Env::new("waves").await;
    env.set_source(
        r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: feature-backfill
  annotations: {argocd.argoproj.io/sync-wave: "1"}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: backfill
            image: ghcr.io/example/feature-backfill:1.4.2
            envFrom: [{configMapRef: {name: backfill-settings}}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: backfill-settings
  annotations: {argocd.argoproj.io/sync-wave: "0"}
data:
  FEATURE_STORE_URL: redis://feast-online:6379
"#,
    );
    let run = env.ferrocd("sync", "features", &["-o", "json"]).await;
    run.expect(0);
    let v = run.json();
    let ops = operations(&v);
    let cm_apply = position(&ops, "ConfigMap", "backfill-settings", "apply");
    let cm_healthy = position(&ops, "ConfigMap", "backfill-settings", "wait");
    let cron_apply = position(&ops, "CronJob", "feature-backfill", "apply");
    assert!(cm_apply < cm_healthy && cm_healthy < cron_apply, "{ops:#?}");
    assert_eq!(ops[cm_healthy].3, "Healthy");
    let waves: Vec<i64> = v["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| o["wave"].as_i64().unwrap_or(-99))
        .collect();
    assert!(
        waves.windows(2).all(|w| w[0] <= w[1]),
        "waves out of order: {waves:?}"
    );
    let cm = env
        .get("", "ConfigMap", "backfill-settings")
        .await
        .unwrap_or_default();
    let cron = env
        .get("batch", "CronJob", "feature-backfill")
        .await
        .unwrap_or_default();
    let ts = |o: &Value| {
        o.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        !ts(&cm).is_empty() && ts(&cm) <= ts(&cron),
        "{} > {}",
        ts(&cm),
        ts(&cron)
    );
    assert_eq!(v["health"]["status"], "Healthy");
}

const SERVING: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: mlflow
spec:
  replicas: 1
  selector: {matchLabels: {app: mlflow}}
  template:
    metadata: {labels: {app: mlflow}}
    spec:
      containers:
      - name: server
        image: ghcr.io/mlflow/mlflow:v2.16.0
---
apiVersion: batch/v1
kind: Job
metadata:
  generateName: mlflow-db-migrate-
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: ghcr.io/mlflow/mlflow:v2.16.0
        command: [mlflow, db, upgrade, postgresql://mlflow-db:5432/mlflow]
"#;

fn smoke_test(fail: bool) -> String {
    format!(
        r#"---
apiVersion: batch/v1
kind: Job
metadata:
  name: mlflow-smoke-test
  annotations:
    argocd.argoproj.io/hook: PostSync
    argocd.argoproj.io/hook-delete-policy: HookSucceeded
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations: {{sandbox.ferrocd.dev/fail: "{fail}"}}
    spec:
      restartPolicy: Never
      containers:
      - name: smoke
        image: curlimages/curl:8.10.1
        command: [curl, -sf, http://mlflow:5000/health]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presync_migration_before_deployment_and_postsync_smoke_test_after() {
    let env = Env::new("hooks").await;
    env.set_source(&format!("{SERVING}{}", smoke_test(false)));
    let run = env.ferrocd("sync", "mlflow", &["-o", "json"]).await;
    run.expect(0);
    let ops = operations(&run.json());
    let migrate = position(&ops, "Job", "mlflow-db-migrate-", "create");
    let migrated = position(&ops, "Job", "mlflow-db-migrate-", "hook");
    let deploy = position(&ops, "Deployment", "mlflow", "apply");
    let smoke = position(&ops, "Job", "mlflow-smoke-test", "apply");
    let smoked = position(&ops, "Job", "mlflow-smoke-test", "hook");
    assert!(
        migrate < migrated && migrated < deploy && deploy < smoke && smoke < smoked,
        "{ops:#?}"
    );
    assert_eq!(ops[migrated].3, "Succeeded");
    assert_eq!(ops[smoked].3, "Succeeded");
    // HookSucceeded: the smoke test is gone.
    let deleted = position(&ops, "Job", "mlflow-smoke-test", "delete");
    assert_eq!(ops[deleted].3, "Deleted");
    assert!(env.get("batch", "Job", "mlflow-smoke-test").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_postsync_hook_runs_syncfail_hook_and_fails() {
    let env = Env::new("hook-fail").await;
    if env.tc.is_real() {
        return; // the failure annotation is a sandbox feature
    }
    let notify = r#"---
apiVersion: v1
kind: ConfigMap
metadata:
  name: sync-failed-notice
  annotations:
    argocd.argoproj.io/hook: SyncFail
data: {channel: ml-platform-alerts}
"#;
    env.set_source(&format!("{SERVING}{}{notify}", smoke_test(true)));
    let run = env
        .ferrocd("sync", "mlflow", &["-o", "json", "--timeout", "60"])
        .await;
    run.expect(1);
    let v = run.json();
    assert_eq!(v["phase"], "Failed");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("mlflow-smoke-test"),
        "{}",
        v["message"]
    );
    let ops = operations(&v);
    let failed = position(&ops, "Job", "mlflow-smoke-test", "hook");
    assert_eq!(ops[failed].3, "Failed");
    let notice = position(&ops, "ConfigMap", "sync-failed-notice", "apply");
    assert!(failed < notice);
    assert!(
        env.get("", "ConfigMap", "sync-failed-notice")
            .await
            .is_some()
    );
    // HookSucceeded only: the failed Job stays for inspection.
    assert!(env.get("batch", "Job", "mlflow-smoke-test").await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_scaled_deployment_stays_synced_without_writes() {
    let env = Env::new("hpa").await;
    env.set_source(&format!(
        r#"{SERVING_DEPLOYMENT}---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: model-server
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: model-server}}
  minReplicas: 2
  maxReplicas: 8
  metrics:
  - type: Resource
    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}
"#
    ));
    let rules = env.write(
        "ignore.yaml",
        "- group: apps\n  kind: Deployment\n  jsonPointers: [/spec/replicas]\n",
    );
    let rules = rules.to_str().unwrap_or_default();
    // RespectIgnoreDifferences keeps the autoscaler's replicas; ApplyOutOfSyncOnly skips
    // the Synced Deployment, so that not even managedFields change.
    let opts = [
        "--ignore-differences",
        rules,
        "--sync-option",
        "RespectIgnoreDifferences=true",
        "--sync-option",
        "ApplyOutOfSyncOnly=true",
    ];
    env.ferrocd("sync", "serving", &opts).await.expect(0);
    // The autoscaler scales the Deployment.
    env.kubectl(&[
        "-n",
        &env.ns,
        "scale",
        "deployment/model-server",
        "--replicas=5",
    ])
    .await
    .expect(0);
    env.kubectl(&[
        "-n",
        &env.ns,
        "rollout",
        "status",
        "deployment/model-server",
        "--timeout=60s",
    ])
    .await
    .expect(0);
    env.ferrocd("diff", "serving", &opts[..2]).await.expect(0);
    let before = env
        .get("apps", "Deployment", "model-server")
        .await
        .unwrap_or_default();
    let status = env
        .ferrocd("status", "serving", &["-o", "json", opts[0], opts[1]])
        .await
        .json();
    assert_eq!(status["sync"]["status"], "Synced");
    // A second sync writes nothing to the Deployment: no sync loop.
    env.ferrocd("sync", "serving", &opts).await.expect(0);
    let after = env
        .get("apps", "Deployment", "model-server")
        .await
        .unwrap_or_default();
    assert_eq!(after.pointer("/spec/replicas"), Some(&Value::from(5)));
    assert_eq!(
        rv(&before),
        rv(&after),
        "the second sync wrote the Deployment"
    );
    assert_eq!(
        before.pointer("/metadata/generation"),
        after.pointer("/metadata/generation")
    );
}

const SERVING_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: model-server
spec:
  replicas: 2
  selector: {matchLabels: {app: model-server}}
  template:
    metadata: {labels: {app: model-server}}
    spec:
      containers:
      - name: triton
        image: nvcr.io/nvidia/tritonserver:24.08-py3
        resources: {requests: {cpu: 500m, memory: 1Gi}}
"#;

fn gpu_deployment() -> &'static str {
    r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: llm-inference
spec:
  replicas: 1
  selector: {matchLabels: {app: llm-inference}}
  template:
    metadata: {labels: {app: llm-inference}}
    spec:
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.6.3
        resources:
          limits: {nvidia.com/gpu: 1}
"#
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu_inference_waits_for_capacity() {
    let env = Env::with_gpus("gpu-none", 0).await;
    env.set_source(gpu_deployment());
    let run = env.ferrocd("sync", "llm", &["--timeout", "4"]).await;
    run.expect(1);
    assert!(run.stderr.contains("Progressing"), "{}", run.stderr);
    let status = env.ferrocd("status", "llm", &["-o", "json"]).await.json();
    assert_eq!(status["health"]["status"], "Progressing", "{status:#}");
    let message = status["health"]["message"].as_str().unwrap_or_default();
    assert!(message.to_lowercase().contains("gpu"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu_inference_becomes_healthy_with_gpus() {
    let env = Env::with_gpus("gpu-some", 1).await;
    if env.tc.is_real() {
        return;
    }
    env.set_source(gpu_deployment());
    let run = env
        .ferrocd("sync", "llm", &["-o", "json", "--timeout", "60"])
        .await;
    run.expect(0);
    assert_eq!(run.json()["health"]["status"], "Healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_honours_prune_false_and_prune_last() {
    let env = Env::new("prune").await;
    let cm = |name: &str, options: &str| {
        format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  annotations: {{argocd.argoproj.io/sync-options: \"{options}\"}}\ndata: {{k: v}}\n"
        )
    };
    let keep = cm("airflow-keep", "Prune=false");
    let last = cm("airflow-last", "PruneLast=true");
    let plain = cm("airflow-plain", "");
    let anchor = cm("airflow-anchor", "");
    env.set_source(&format!("{keep}{last}{plain}{anchor}"));
    env.ferrocd("sync", "airflow", &[]).await.expect(0);
    env.set_source(&anchor);
    // Without --prune nothing is deleted.
    env.ferrocd("sync", "airflow", &[]).await.expect(0);
    assert!(env.get("", "ConfigMap", "airflow-plain").await.is_some());
    let run = env
        .ferrocd("sync", "airflow", &["--prune", "-o", "json"])
        .await;
    run.expect(0);
    let ops = operations(&run.json());
    let plain_pruned = position(&ops, "ConfigMap", "airflow-plain", "prune");
    let last_pruned = position(&ops, "ConfigMap", "airflow-last", "prune");
    assert!(plain_pruned < last_pruned, "{ops:#?}");
    assert!(
        ops.iter()
            .all(|(_, n, a, _)| !(n == "airflow-keep" && a == "prune")),
        "{ops:#?}"
    );
    assert!(env.get("", "ConfigMap", "airflow-keep").await.is_some());
    assert!(env.get("", "ConfigMap", "airflow-last").await.is_none());
    assert!(env.get("", "ConfigMap", "airflow-plain").await.is_none());
    assert!(env.get("", "ConfigMap", "airflow-anchor").await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_propagation_orphan_keeps_replicasets() {
    let env = Env::new("orphan").await;
    env.set_source(SERVING_DEPLOYMENT);
    env.ferrocd("sync", "serving", &[]).await.expect(0);
    env.set_source("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: anchor}\n");
    env.ferrocd(
        "sync",
        "serving",
        &["--prune", "--sync-option", "PrunePropagationPolicy=orphan"],
    )
    .await
    .expect(0);
    assert!(
        env.get("apps", "Deployment", "model-server")
            .await
            .is_none()
    );
    let rs = env
        .kubectl(&["-n", &env.ns, "get", "replicasets", "-o", "name"])
        .await;
    assert!(
        rs.stdout.contains("replicaset.apps/model-server-"),
        "{}",
        rs.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_namespace_option_creates_the_destination() {
    let env = Env::new("create-ns").await;
    env.set_source("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mlflow-env}\ndata: {a: b}\n");
    let target = env.tc.namespace("created-by-sync");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferrocd"));
    let out = cmd
        .args([
            "sync",
            "--app",
            "mlflow",
            "--sync-option",
            "CreateNamespace=true",
            "-n",
            &target,
            "--kubeconfig",
        ])
        .arg(env.tc.kubeconfig())
        .arg(env.app_dir())
        .output()
        .await
        .expect("run ferrocd");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cm = env
        .tc
        .cluster
        .get(&ferrocd_model::ResourceKey::new(
            "",
            "ConfigMap",
            target.as_str(),
            "mlflow-env",
        ))
        .await
        .expect("get");
    assert!(cm.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_and_server_side_apply_options() {
    let env = Env::new("replace").await;
    env.set_source(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: spark-defaults\n  annotations: {argocd.argoproj.io/sync-options: Replace=true}\ndata: {spark.executor.memory: 4g}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: spark-env}\ndata: {SPARK_HOME: /opt/spark}\n",
    );
    let run = env
        .ferrocd(
            "sync",
            "spark",
            &["-o", "json", "--sync-option", "ServerSideApply=true"],
        )
        .await;
    run.expect(0);
    let ops = operations(&run.json());
    position(&ops, "ConfigMap", "spark-defaults", "replace");
    position(&ops, "ConfigMap", "spark-env", "apply");
    let managers = |o: Value| -> Vec<(String, String)> {
        o.pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| {
                (
                    m["manager"].as_str().unwrap_or_default().to_string(),
                    m["operation"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let replaced = managers(
        env.get("", "ConfigMap", "spark-defaults")
            .await
            .unwrap_or_default(),
    );
    assert!(
        replaced.contains(&("ferrocd".into(), "Update".into())),
        "{replaced:?}"
    );
    let applied = managers(
        env.get("", "ConfigMap", "spark-env")
            .await
            .unwrap_or_default(),
    );
    assert!(
        applied.contains(&("ferrocd".into(), "Apply".into())),
        "{applied:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_sync_touches_only_the_named_resource() {
    let env = Env::new("selective").await;
    let source = |v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata: {{v: \"{v}\"}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: b}}\ndata: {{v: \"{v}\"}}\n"
        )
    };
    env.set_source(&source("1"));
    env.ferrocd("sync", "sel", &[]).await.expect(0);
    env.set_source(&source("2"));
    env.ferrocd("sync", "sel", &["--resource", ":ConfigMap:a"])
        .await
        .expect(0);
    let a = env.get("", "ConfigMap", "a").await.unwrap_or_default();
    let b = env.get("", "ConfigMap", "b").await.unwrap_or_default();
    assert_eq!(a["data"]["v"], "2");
    assert_eq!(b["data"]["v"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing() {
    let env = Env::new("dry-run").await;
    env.set_source(&format!("{SERVING_DEPLOYMENT}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{a: b}}\n"));
    let run = env
        .ferrocd("sync", "dry", &["--dry-run", "-o", "json"])
        .await;
    run.expect(0);
    let v = run.json();
    assert_eq!(v["dryRun"], true);
    assert!(
        operations(&v).iter().all(|(_, _, a, _)| a == "dry-run"),
        "{v:#}"
    );
    assert!(
        env.get("apps", "Deployment", "model-server")
            .await
            .is_none()
    );
    assert!(env.get("", "ConfigMap", "c").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_and_bystanders_untouched() {
    let env = Env::new("faults").await;
    let Some(sandbox) = env.tc.sandbox.as_ref() else {
        return; // fault injection needs the sandbox
    };
    let bystander = env
        .apply_directly(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "team-notes", "namespace": env.ns}, "data": {"owner": "data-eng"}}))
        .await;
    env.set_source(&format!("{SERVING_DEPLOYMENT}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{a: b}}\n"));
    use ferrocd_sandbox::Verb;
    let faults = sandbox.faults();
    faults.set_error_code(503);
    faults.set_error_rate(Verb::Patch, 0.3);
    faults.set_error_rate(Verb::Get, 0.2);
    faults.force_conflicts(2);
    faults.set_latency(std::time::Duration::from_millis(20));
    faults.drop_watches();
    let run = env.ferrocd("sync", "faulty", &["--timeout", "90"]).await;
    faults.clear();
    run.expect(0);
    let after = env
        .get("", "ConfigMap", "team-notes")
        .await
        .unwrap_or_default();
    assert_eq!(rv(&bystander), rv(&after), "the bystander was written");

    // Every apply fails: a clear message, exit 1, bystander still untouched.
    env.set_source("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\ndata: {a: b}\n");
    // (kube's client retries 503s itself until the request times out; a 500 comes back.)
    faults.set_error_code(500);
    faults.set_error_rate(Verb::Patch, 1.0);
    let run = env.ferrocd("sync", "faulty", &["--timeout", "30"]).await;
    faults.clear();
    run.expect(1);
    assert!(run.stderr.contains("failed to apply"), "{}", run.stderr);
    assert!(run.stderr.contains("(dry run)"), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    let after = env
        .get("", "ConfigMap", "team-notes")
        .await
        .unwrap_or_default();
    assert_eq!(rv(&bystander), rv(&after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_exit_2_with_one_line_and_change_nothing() {
    let env = Env::new("errors").await;
    env.set_source("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\ndata: [\n");
    let run = env.ferrocd("sync", "broken", &[]).await;
    run.expect(2);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("app.yaml:"), "{}", run.stderr);
    assert!(env.get("", "ConfigMap", "ok").await.is_none());

    env.set_source("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n");
    let bad = env.write("bad-kubeconfig", "this: is: not: a kubeconfig");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferrocd"))
        .args(["diff", "--app", "x", "--kubeconfig"])
        .arg(&bad)
        .arg(env.app_dir())
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("kubeconfig"), "{stderr}");

    let unreachable = env.write(
        "unreachable",
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: x}\n",
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferrocd"))
        .args(["status", "--app", "x", "--kubeconfig"])
        .arg(&unreachable)
        .arg(env.app_dir())
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("127.0.0.1:1"), "{stderr}");
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "ml-platform")
        .env("GIT_AUTHOR_EMAIL", "ml@example.dev")
        .env("GIT_COMMITTER_NAME", "ml-platform")
        .env("GIT_COMMITTER_EMAIL", "ml@example.dev")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_file_brings_namespace_metadata_options_and_ignore_rules() {
    let env = Env::new("application").await;
    let work = env.dir.path().join("work");
    std::fs::create_dir_all(work.join("serving")).expect("mkdir");
    std::fs::write(work.join("serving/deploy.yaml"), SERVING_DEPLOYMENT).expect("write");
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "model server"]);
    git(
        env.dir.path(),
        &["clone", "-q", "--bare", "work", "gitops.git"],
    );
    let target = env.tc.namespace("managed-ns");
    let app = format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: model-serving, namespace: argocd}}
spec:
  project: default
  source:
    repoURL: file://{}
    targetRevision: main
    path: serving
  destination: {{server: "https://kubernetes.default.svc", namespace: {target}}}
  ignoreDifferences:
  - group: apps
    kind: Deployment
    jsonPointers: [/spec/replicas]
  syncPolicy:
    syncOptions: [CreateNamespace=true]
    managedNamespaceMetadata:
      labels: {{team: ml-platform}}
      annotations: {{cost-center: gpu-inference}}
"#,
        env.dir.path().join("gitops.git").display()
    );
    let app_file = env.write("application.yaml", &app);
    let cache = env.dir.path().join("cache");
    let run = |verb: &'static str| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferrocd"));
        cmd.arg(verb)
            .arg("--kubeconfig")
            .arg(env.tc.kubeconfig())
            .arg(&app_file)
            .env("FERROCD_CACHE_DIR", &cache);
        cmd
    };
    let out = run("sync").output().await.expect("sync");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ns = env
        .tc
        .cluster
        .get(&ferrocd_model::ResourceKey::new(
            "",
            "Namespace",
            "",
            target.as_str(),
        ))
        .await
        .expect("get")
        .unwrap_or_default();
    assert_eq!(
        ns.pointer("/metadata/labels/team"),
        Some(&Value::from("ml-platform"))
    );
    assert_eq!(
        ns.pointer("/metadata/annotations/cost-center"),
        Some(&Value::from("gpu-inference"))
    );
    // The Application's ignoreDifferences hold: scaling is no drift.
    let scale = env
        .kubectl(&[
            "-n",
            &target,
            "scale",
            "deployment/model-server",
            "--replicas=4",
        ])
        .await;
    scale.expect(0);
    let out = run("diff").output().await.expect("diff");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The tracking name is the Application's.
    let deploy = env
        .tc
        .cluster
        .get(&ferrocd_model::ResourceKey::new(
            "apps",
            "Deployment",
            target.as_str(),
            "model-server",
        ))
        .await
        .expect("get")
        .unwrap_or_default();
    let id = deploy
        .pointer("/metadata/annotations/argocd.argoproj.io~1tracking-id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(id.starts_with("model-serving:apps/Deployment:"), "{id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_render_prunes_nothing_without_allow_empty() {
    let env = Env::new("empty").await;
    env.set_source("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mlflow-env}\ndata: {a: b}\n");
    env.ferrocd("sync", "mlflow", &[]).await.expect(0);
    env.set_source("# everything was deleted from Git by mistake\n");
    let run = env.ferrocd("sync", "mlflow", &["--prune"]).await;
    run.expect(0);
    assert!(run.stderr.contains("allowEmpty"), "{}", run.stderr);
    assert!(env.get("", "ConfigMap", "mlflow-env").await.is_some());
    env.ferrocd("sync", "mlflow", &["--prune", "--allow-empty"])
        .await
        .expect(0);
    assert!(env.get("", "ConfigMap", "mlflow-env").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_rendered_twice_is_an_error_naming_both() {
    let env = Env::new("duplicate").await;
    // The second copy names the namespace the first one gets by default: same object.
    env.set_source(&format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: mlflow-env}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: mlflow-env, namespace: {}}}\n",
        env.ns
    ));
    let run = env.ferrocd("diff", "mlflow", &[]).await;
    run.expect(2);
    assert!(run.stderr.contains("rendered twice"), "{}", run.stderr);
    assert!(
        run.stderr.contains("app.yaml:1") && run.stderr.contains("app.yaml:5"),
        "{}",
        run.stderr
    );
}
