//! `ferrocd app|proj|repo|cluster` in `--core` mode against a sandbox API server with the
//! Argo CD CRDs installed. No controller runs: the tests check what the CLI writes
//! (specs, operations, Secrets) and what it prints.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferrocd_cluster::testing::TestCluster;
use ferrocd_cluster::{Cluster, WriteOptions};
use ferrocd_model::ResourceKey;
use serde_json::{Value, json};

const REPO: &str = "https://git.example.com/ml-platform/gitops.git";
const IN_CLUSTER: &str = "https://kubernetes.default.svc";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

struct Env {
    tc: TestCluster,
    ns: String,
    cache: tempfile::TempDir,
}

impl Env {
    async fn start() -> Self {
        let tc = TestCluster::start().await;
        let crds = ferrocd_manifest::parse_documents(&ferrocd_model::crds_yaml(), "crds.yaml")
            .expect("CRDs parse");
        for crd in &crds {
            tc.cluster
                .apply(&crd.object, &WriteOptions::default())
                .await
                .expect("install CRD");
        }
        let ns = tc.namespace("argocd");
        tc.cluster
            .apply(
                &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                &WriteOptions::default(),
            )
            .await
            .expect("create namespace");
        tc.cluster.refresh_discovery().await.expect("discovery");
        let cache = tempfile::tempdir().expect("cache dir");
        Env { tc, ns, cache }
    }

    fn cluster(&self) -> &Cluster {
        &self.tc.cluster
    }

    /// Runs `ferrocd ARGS --kubeconfig K -N NS` on a blocking thread.
    async fn run(&self, args: &[&str]) -> Run {
        let kubeconfig: PathBuf = self.tc.kubeconfig().to_path_buf();
        let ns = self.ns.clone();
        let cache = self.cache.path().to_path_buf();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_ferrocd"))
                .args(&args)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["-N", &ns])
                .env("FERROCD_CACHE", &cache)
                // Never the developer's own `ferrocd login` contexts.
                .env("FERROCD_CONFIG", cache.join("cli-config.yaml"))
                .env_remove("FERROCD_SERVER")
                .env_remove("FERROCD_AUTH_TOKEN")
                .output()
                .expect("run ferrocd");
            Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .await
        .expect("join")
    }

    async fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args).await;
        assert_eq!(
            r.code, 0,
            "ferrocd {args:?} failed: {}{}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    fn key(&self, group: &str, kind: &str, name: &str) -> ResourceKey {
        ResourceKey {
            group: group.into(),
            kind: kind.into(),
            namespace: self.ns.clone(),
            name: name.into(),
        }
    }

    async fn app(&self, name: &str) -> Option<Value> {
        self.cluster()
            .get(&self.key("argoproj.io", "Application", name))
            .await
            .expect("get application")
    }
}

fn create_args<'a>(name: &'a str, path: &'a str, ns: &'a str) -> Vec<&'a str> {
    vec![
        "app",
        "create",
        name,
        "--repo",
        REPO,
        "--path",
        path,
        "--revision",
        "main",
        "--dest-server",
        IN_CLUSTER,
        "--dest-namespace",
        ns,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_create_list_get_set_delete() {
    let env = Env::start().await;
    let mut args = create_args("mlflow-dev", "apps/mlflow/overlays/dev", "mlflow");
    args.extend(["--sync-option", "CreateNamespace=true"]);
    let out = env.ok(&args).await;
    assert!(out.contains("application 'mlflow-dev' created"), "{out}");
    env.ok(&create_args("airflow-dev", "apps/airflow", "airflow"))
        .await;

    let app = env.app("mlflow-dev").await.expect("created");
    assert_eq!(app["spec"]["source"]["repoURL"], REPO);
    assert_eq!(app["spec"]["destination"]["namespace"], "mlflow");
    assert_eq!(app["spec"]["project"], "default");
    assert_eq!(
        app["spec"]["syncPolicy"]["syncOptions"],
        json!(["CreateNamespace=true"])
    );

    // Same spec again is fine, a different one needs --upsert.
    let r = env
        .run(&create_args(
            "mlflow-dev",
            "apps/mlflow/overlays/prod",
            "mlflow",
        ))
        .await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--upsert"), "{}", r.stderr);
    let mut upsert = create_args("mlflow-dev", "apps/mlflow/overlays/dev", "mlflow");
    upsert.extend(["--upsert", "--sync-option", "CreateNamespace=true"]);
    env.ok(&upsert).await;

    let list = env.ok(&["app", "list"]).await;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(lines[0].starts_with("NAME"), "{list}");
    for col in [
        "CLUSTER",
        "NAMESPACE",
        "PROJECT",
        "STATUS",
        "HEALTH",
        "SYNCPOLICY",
        "REPO",
        "PATH",
        "TARGET",
    ] {
        assert!(lines[0].contains(col), "{col} missing: {list}");
    }
    assert!(
        lines[1].contains("airflow-dev") && lines[2].contains("mlflow-dev"),
        "{list}"
    );
    assert!(
        lines[2].contains("apps/mlflow/overlays/dev") && lines[2].contains("Manual"),
        "{list}"
    );
    // Columns line up: PATH starts at the same offset in every row.
    let at = lines[0].find("PATH").expect("PATH column");
    assert!(
        lines[2][at..].starts_with("apps/mlflow/overlays/dev"),
        "{list}"
    );

    let json_list: Value =
        serde_json::from_str(&env.ok(&["app", "list", "-o", "json"]).await).expect("json");
    assert_eq!(json_list.as_array().map(Vec::len), Some(2));
    let none = env.ok(&["app", "list", "-p", "data-platform"]).await;
    assert_eq!(none.lines().count(), 1, "{none}");

    let get = env.ok(&["app", "get", "mlflow-dev"]).await;
    assert!(get.contains(&format!("Repo:             {REPO}")), "{get}");
    assert!(
        get.contains("Path:             apps/mlflow/overlays/dev"),
        "{get}"
    );
    assert!(
        get.contains("GROUP") && get.contains("HOOK") && get.contains("MESSAGE"),
        "{get}"
    );
    let yaml = env.ok(&["app", "get", "mlflow-dev", "-o", "yaml"]).await;
    assert!(yaml.contains("kind: Application"), "{yaml}");

    let missing = env.run(&["app", "get", "nope"]).await;
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("application 'nope' not found")
            && missing.stderr.contains("ferrocd app list"),
        "{}",
        missing.stderr
    );

    env.ok(&[
        "app",
        "set",
        "airflow-dev",
        "--revision",
        "v2.9.1",
        "--sync-policy",
        "automated",
        "--self-heal",
        "--dest-name",
        "gpu-east",
    ])
    .await;
    let app = env.app("airflow-dev").await.expect("exists");
    assert_eq!(app["spec"]["source"]["targetRevision"], "v2.9.1");
    assert_eq!(app["spec"]["source"]["path"], "apps/airflow");
    assert_eq!(app["spec"]["syncPolicy"]["automated"]["selfHeal"], true);
    assert_eq!(app["spec"]["destination"]["name"], "gpu-east");
    assert!(app["spec"]["destination"].get("server").is_none(), "{app}");
    let list = env.ok(&["app", "list"]).await;
    assert!(
        list.lines()
            .any(|l| l.contains("airflow-dev") && l.contains("Auto")),
        "{list}"
    );
    env.ok(&["app", "set", "airflow-dev", "--sync-policy", "none"])
        .await;
    let app = env.app("airflow-dev").await.expect("exists");
    assert!(
        app["spec"]["syncPolicy"].get("automated").is_none(),
        "{app}"
    );

    // --cascade=false drops the finalizer: the app goes at once.
    env.ok(&["app", "delete", "airflow-dev", "--cascade=false"])
        .await;
    assert!(env.app("airflow-dev").await.is_none());
    // Cascade keeps (adds) the resources finalizer for the controller to honour.
    env.ok(&["app", "delete", "mlflow-dev"]).await;
    if let Some(app) = env.app("mlflow-dev").await {
        assert!(app["metadata"]["deletionTimestamp"].is_string(), "{app}");
        assert_eq!(
            app["metadata"]["finalizers"],
            json!(["resources-finalizer.argocd.argoproj.io"])
        );
    }
    env.tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_operations_sync_terminate_rollback_wait() {
    let env = Env::start().await;
    env.ok(&create_args("serving-dev", "apps/model-serving", "serving"))
        .await;

    let out = env
        .ok(&[
            "app",
            "sync",
            "serving-dev",
            "--async",
            "--prune",
            "--revision",
            "abc123",
            "--resource",
            "apps:Deployment:serving/triton",
            "--sync-option",
            "ServerSideApply=true",
        ])
        .await;
    assert!(
        out.contains("sync of application 'serving-dev' requested"),
        "{out}"
    );
    let app = env.app("serving-dev").await.expect("exists");
    let op = &app["operation"];
    assert_eq!(op["sync"]["revision"], "abc123");
    assert_eq!(op["sync"]["prune"], true);
    assert_eq!(
        op["sync"]["resources"],
        json!([{"group": "apps", "kind": "Deployment", "namespace": "serving", "name": "triton"}])
    );
    assert_eq!(op["sync"]["syncOptions"], json!(["ServerSideApply=true"]));
    assert!(
        op["initiatedBy"]["username"]
            .as_str()
            .is_some_and(|u| !u.is_empty()),
        "{op}"
    );

    // A second sync while one is pending is refused.
    let again = env.run(&["app", "sync", "serving-dev", "--async"]).await;
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("terminate-op"), "{}", again.stderr);

    env.ok(&["app", "terminate-op", "serving-dev"]).await;
    let app = env.app("serving-dev").await.expect("exists");
    assert_eq!(app["status"]["operationState"]["phase"], "Terminating");

    // Waiting for health never succeeds without a controller: exit 1 with what was seen.
    let wait = env
        .run(&["app", "wait", "serving-dev", "--health", "--timeout", "1"])
        .await;
    assert_eq!(wait.code, 1);
    assert!(
        wait.stderr.contains("timed out") && wait.stderr.contains("health Unknown"),
        "{}",
        wait.stderr
    );

    // Rollback: refused with automated sync, else an operation from the history entry.
    let history = json!([
        {"id": 0, "revision": "1111111", "deployedAt": "2026-11-01T10:00:00Z",
         "source": {"repoURL": REPO, "path": "apps/model-serving", "targetRevision": "v1"},
         "initiatedBy": {"username": "alice"}},
        {"id": 1, "revision": "2222222", "deployedAt": "2026-11-02T10:00:00Z",
         "source": {"repoURL": REPO, "path": "apps/model-serving", "targetRevision": "v2"},
         "initiatedBy": {"automated": true}}
    ]);
    env.cluster()
        .merge_patch(
            &env.key("argoproj.io", "Application", "serving-dev"),
            &json!({"operation": null, "status": {"history": history, "operationState": {"phase": "Succeeded"}},
                    "spec": {"syncPolicy": {"automated": {"prune": true}}}}),
        )
        .await
        .expect("patch");
    let h = env.ok(&["app", "history", "serving-dev"]).await;
    assert!(h.starts_with("ID"), "{h}");
    assert!(
        h.lines()
            .any(|l| l.starts_with('0') && l.contains("1111111") && l.contains("alice")),
        "{h}"
    );
    assert!(
        h.lines()
            .any(|l| l.starts_with('1') && l.contains("automated")),
        "{h}"
    );

    let refused = env.run(&["app", "rollback", "serving-dev"]).await;
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("disable auto-sync"),
        "{}",
        refused.stderr
    );
    assert!(env.app("serving-dev").await.expect("exists")["operation"].is_null());

    env.ok(&["app", "set", "serving-dev", "--sync-policy", "none"])
        .await;
    let bad = env.run(&["app", "rollback", "serving-dev", "7"]).await;
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("no history entry 7"), "{}", bad.stderr);
    env.ok(&["app", "rollback", "serving-dev"]).await;
    let app = env.app("serving-dev").await.expect("exists");
    assert_eq!(app["operation"]["sync"]["revision"], "1111111");
    assert_eq!(app["operation"]["sync"]["source"]["targetRevision"], "v1");

    // `app wait --operation` succeeds once the operation is gone and the state is final.
    env.cluster()
        .merge_patch(
            &env.key("argoproj.io", "Application", "serving-dev"),
            &json!({"operation": null, "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}}}),
        )
        .await
        .expect("patch");
    let out = env
        .ok(&[
            "app",
            "wait",
            "serving-dev",
            "--sync",
            "--health",
            "--timeout",
            "5",
        ])
        .await;
    assert!(out.contains("sync Synced, health Healthy"), "{out}");
    env.tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_sync_follows_the_operation_to_its_end() {
    let env = Env::start().await;
    env.ok(&create_args("monitoring", "apps/monitoring", "monitoring"))
        .await;
    let key = env.key("argoproj.io", "Application", "monitoring");
    // Play the controller: once the operation appears, report a failed sync.
    let cluster = env.cluster().clone();
    let controller = tokio::spawn(async move {
        for _ in 0..100 {
            let app = cluster.get(&key).await.ok().flatten().unwrap_or_default();
            if !app["operation"].is_null() {
                let state = json!({"phase": "Failed", "message": "one or more objects failed to apply",
                    "startedAt": "2026-11-22T00:00:00Z",
                    "syncResult": {"resources": [
                        {"group": "apps", "kind": "Deployment", "namespace": "monitoring", "name": "prometheus",
                         "status": "SyncFailed", "message": "admission webhook denied", "syncPhase": "Sync"}]}});
                let _ = cluster
                    .merge_patch(
                        &key,
                        &json!({"operation": null, "status": {"operationState": state}}),
                    )
                    .await;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    let r = env
        .run(&["app", "sync", "monitoring", "--timeout", "20"])
        .await;
    controller.await.expect("controller");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("prometheus") && r.stdout.contains("SyncFailed"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stdout.matches("prometheus").count(), 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("operation Failed: one or more objects failed to apply"),
        "{}",
        r.stdout
    );
    env.tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proj_create_add_destination_get() {
    let env = Env::start().await;
    env.ok(&[
        "proj",
        "create",
        "data-platform",
        "--description",
        "Airflow and MLflow",
        "--src",
        REPO,
        "--dest",
        "https://kubernetes.default.svc,airflow",
    ])
    .await;
    let dup = env.run(&["proj", "create", "data-platform"]).await;
    assert_eq!(dup.code, 1);
    env.ok(&[
        "proj",
        "add-destination",
        "data-platform",
        IN_CLUSTER,
        "mlflow",
    ])
    .await;
    env.ok(&[
        "proj",
        "add-source",
        "data-platform",
        "https://charts.example.com/ml",
    ])
    .await;
    let p = env
        .cluster()
        .get(&env.key("argoproj.io", "AppProject", "data-platform"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        p["spec"]["destinations"],
        json!([{"server": IN_CLUSTER, "namespace": "airflow"}, {"server": IN_CLUSTER, "namespace": "mlflow"}])
    );
    assert_eq!(
        p["spec"]["sourceRepos"],
        json!([REPO, "https://charts.example.com/ml"])
    );
    let get = env.ok(&["proj", "get", "data-platform"]).await;
    assert!(
        get.contains("Airflow and MLflow") && get.contains(&format!("{IN_CLUSTER},mlflow")),
        "{get}"
    );
    let list = env.ok(&["proj", "list"]).await;
    assert!(
        list.lines()
            .any(|l| l.starts_with("data-platform") && l.contains("2 entries")),
        "{list}"
    );
    let missing = env.run(&["proj", "get", "nope"]).await;
    assert!(
        missing.stderr.contains("ferrocd proj list"),
        "{}",
        missing.stderr
    );
    env.tc.shutdown().await;
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repo_and_cluster_secrets() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    env.ok(&[
        "repo",
        "add",
        REPO,
        "--username",
        "mlops-bot",
        "--password",
        "hunter2-very-secret",
    ])
    .await;
    let key = write(
        dir.path(),
        "id_ed25519",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    env.ok(&[
        "repo",
        "add",
        "git@git.example.com:ml/charts.git",
        "--ssh-private-key-path",
        key.to_str().expect("utf8"),
    ])
    .await;
    let dup = env.run(&["repo", "add", REPO]).await;
    assert_eq!(dup.code, 1);

    let secrets = env
        .cluster()
        .list("", "Secret", Some(&env.ns))
        .await
        .expect("list");
    let repo = secrets
        .iter()
        .find(|s| {
            s["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
                && (s["stringData"]["url"] == REPO || s["data"]["url"].is_string())
        })
        .expect("repository secret");
    assert!(
        repo["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("repo-"))
    );

    for output in [None, Some("json"), Some("yaml")] {
        let mut args = vec!["repo", "list"];
        if let Some(o) = output {
            args.extend(["-o", o]);
        }
        let list = env.ok(&args).await;
        assert!(list.contains(REPO) && list.contains("mlops-bot"), "{list}");
        assert!(!list.contains("hunter2"), "password printed: {list}");
        assert!(!list.contains("b3BlbnNzaA"), "key printed: {list}");
    }
    env.ok(&["repo", "rm", REPO]).await;
    let list = env.ok(&["repo", "list"]).await;
    assert!(
        !list.contains(REPO) && list.contains("git@git.example.com:ml/charts.git"),
        "{list}"
    );
    let gone = env.run(&["repo", "rm", REPO]).await;
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.contains("ferrocd repo list"), "{}", gone.stderr);

    let ca = write(
        dir.path(),
        "ca.pem",
        "-----BEGIN CERTIFICATE-----\nTUxQTEFURk9STQ==\n-----END CERTIFICATE-----\n",
    );
    env.ok(&[
        "cluster",
        "add",
        "gpu-east",
        "--url",
        "https://gpu-east.ml.example.com:6443",
        "--bearer-token",
        "sa-token-do-not-print",
        "--ca-file",
        ca.to_str().expect("utf8"),
    ])
    .await;
    let kubeconfig = write(
        dir.path(),
        "prod.kubeconfig",
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\ncontexts:\n- name: prod\n  context: {cluster: prod, user: deployer}\nclusters:\n- name: prod\n  cluster: {server: 'https://prod.ml.example.com:6443', insecure-skip-tls-verify: true}\nusers:\n- name: deployer\n  user: {token: prod-token-do-not-print}\n",
    );
    env.ok(&[
        "cluster",
        "add",
        "prod-us-east-1",
        "--kubeconfig-file",
        kubeconfig.to_str().expect("utf8"),
    ])
    .await;
    let secrets = env
        .cluster()
        .list("", "Secret", Some(&env.ns))
        .await
        .expect("list");
    let clusters: Vec<&Value> = secrets
        .iter()
        .filter(|s| s["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster")
        .collect();
    assert_eq!(clusters.len(), 2);
    let parsed: Vec<ferrocd_model::ClusterSecret> = clusters
        .iter()
        .map(|s| ferrocd_model::ClusterSecret::from_secret(s).expect("cluster secret"))
        .collect();
    let gpu = parsed
        .iter()
        .find(|c| c.name == "gpu-east")
        .expect("gpu-east");
    assert_eq!(gpu.server, "https://gpu-east.ml.example.com:6443");
    assert_eq!(
        gpu.config.bearer_token.as_ref().map(|t| t.expose()),
        Some("sa-token-do-not-print")
    );
    assert!(
        gpu.config
            .tls_client_config
            .ca_pem()
            .expect("base64")
            .is_some_and(|p| p.starts_with(b"-----BEGIN CERTIFICATE"))
    );
    let prod = parsed
        .iter()
        .find(|c| c.name == "prod-us-east-1")
        .expect("prod");
    assert_eq!(prod.server, "https://prod.ml.example.com:6443");
    assert_eq!(prod.config.tls_client_config.insecure, Some(true));

    for output in [None, Some("json")] {
        let mut args = vec!["cluster", "list"];
        if let Some(o) = output {
            args.extend(["-o", o]);
        }
        let list = env.ok(&args).await;
        assert!(
            list.contains("gpu-east") && list.contains("https://prod.ml.example.com:6443"),
            "{list}"
        );
        assert!(list.contains(IN_CLUSTER), "{list}");
        assert!(!list.contains("do-not-print"), "token printed: {list}");
    }
    env.ok(&["cluster", "rm", "gpu-east"]).await;
    env.ok(&["cluster", "rm", "https://prod.ml.example.com:6443"])
        .await;
    let list = env.ok(&["cluster", "list"]).await;
    assert!(
        !list.contains("gpu-east") && !list.contains("prod.ml"),
        "{list}"
    );
    let gone = env.run(&["cluster", "rm", "gpu-east"]).await;
    assert_eq!(gone.code, 1);
    env.tc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_manifests_resources_and_diff() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("gitops");
    std::fs::create_dir_all(work.join("apps/feature-store")).expect("mkdir");
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: feast-config\ndata:\n  registry: s3://ml-features/registry.db\n";
    write(&work.join("apps/feature-store"), "config.yaml", cm);
    use ferrocd_source::testing::git;
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "feature store"]);
    let url = format!("file://{}", work.display());
    let target_ns = env.tc.namespace("features");
    env.ok(&[
        "app",
        "create",
        "feature-store",
        "--repo",
        &url,
        "--path",
        "apps/feature-store",
        "--revision",
        "main",
        "--dest-server",
        IN_CLUSTER,
        "--dest-namespace",
        &target_ns,
    ])
    .await;
    let git_manifests = env
        .ok(&["app", "manifests", "feature-store", "--source", "git"])
        .await;
    assert!(
        git_manifests.contains("name: feast-config")
            && git_manifests.contains("s3://ml-features/registry.db"),
        "{git_manifests}"
    );

    // Nothing is deployed: the diff shows the ConfigMap and exits 1.
    env.cluster()
        .apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target_ns}}),
            &WriteOptions::default(),
        )
        .await
        .expect("namespace");
    let diff = env.run(&["app", "diff", "feature-store"]).await;
    assert_eq!(diff.code, 1, "{}{}", diff.stdout, diff.stderr);
    assert!(
        diff.stdout.contains("feast-config") && diff.stdout.contains("+"),
        "{}",
        diff.stdout
    );

    // Live manifests come from status.resources; Secret values are masked.
    env.cluster()
        .apply(
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "feast-s3", "namespace": target_ns},
                    "stringData": {"AWS_SECRET_ACCESS_KEY": "live-secret-value"}}),
            &WriteOptions::default(),
        )
        .await
        .expect("secret");
    env.cluster()
        .merge_patch(
            &env.key("argoproj.io", "Application", "feature-store"),
            &json!({"status": {"resources": [
                {"group": "", "version": "v1", "kind": "Secret", "namespace": target_ns, "name": "feast-s3",
                 "status": "Synced"},
                {"group": "", "version": "v1", "kind": "ConfigMap", "namespace": target_ns, "name": "feast-config",
                 "status": "OutOfSync", "health": {"status": "Missing"}}]}}),
        )
        .await
        .expect("patch status");
    let live = env.ok(&["app", "manifests", "feature-store"]).await;
    assert!(
        live.contains("name: feast-s3") && live.contains("++++++++"),
        "{live}"
    );
    assert!(
        !live.contains("live-secret-value") && !live.contains("bGl2ZS1zZWNyZXQtdmFsdWU"),
        "{live}"
    );
    let resources = env.ok(&["app", "resources", "feature-store"]).await;
    let lines: Vec<&str> = resources.lines().collect();
    assert!(
        lines[0].starts_with("GROUP") && lines[0].contains("HOOK"),
        "{resources}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ConfigMap") && l.contains("OutOfSync") && l.contains("Missing")),
        "{resources}"
    );
    env.tc.shutdown().await;
}
