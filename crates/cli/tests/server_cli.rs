//! `ferrocd login` and the `app|proj|repo|cluster` verbs through the ferrocd API server:
//! a sandbox control plane, the controller (in this process), `ferrocd server` (the real
//! binary, with its render pipeline) and a Git repository on disk. The CLI never gets a
//! kubeconfig: everything goes through the server, its sessions and its RBAC.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocd_cluster::{Cluster, WriteOptions};
use ferrocd_controller::{Controller, ControllerConfig, GitProvider, Metrics, PushEvent};
use ferrocd_model::ResourceKey;
use ferrocd_sandbox::{Sandbox, SandboxOptions};
use ferrocd_source::testing::git;
use serde_json::{Value, json};

const IN_CLUSTER: &str = "https://kubernetes.default.svc";
const READER_PASSWORD: &str = "dashboards-only-2026";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `ferrocd server` as a child process, killed on drop.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Env {
    sandbox: Option<Sandbox>,
    cluster: Cluster,
    controller: Controller,
    _server: ServerProcess,
    addr: String,
    dir: tempfile::TempDir,
    repo: PathBuf,
    repo_url: String,
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// The model server's plain-YAML folder, at a model version.
fn write_serving(repo: &Path, version: &str) {
    write(
        &repo.join("serving/configmap.yaml"),
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fraud-model\n  namespace: serving\ndata:\n  MODEL_VERSION: \"{version}\"\n  MODEL_URI: s3://models/fraud/{version}\n"
        ),
    );
    write(
        &repo.join("serving/service.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: fraud-model\n  namespace: serving\nspec:\n  selector:\n    app: fraud-model\n  ports:\n  - port: 8000\n    targetPort: 8000\n",
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Env {
    async fn start() -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("dir");
        let sandbox = Sandbox::start(SandboxOptions {
            pod_ready_delay: Duration::from_millis(50),
            ..SandboxOptions::default()
        })
        .await
        .expect("sandbox");
        let kubeconfig = dir.path().join("kubeconfig");
        sandbox.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        let cluster = Cluster::from_kubeconfig(Some(&kubeconfig), None)
            .await
            .expect("connect");
        cluster
            .install_crds(&ferrocd_model::crds(), Duration::from_secs(10))
            .await
            .expect("CRDs");
        let hash = bcrypt::hash(READER_PASSWORD, 4).expect("hash");
        for obj in [
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": "argocd"},
                "data": {"accounts.reader": "login"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "argocd-rbac-cm", "namespace": "argocd"},
                "data": {"policy.csv": "g, reader, role:readonly\n"}}),
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "argocd-secret", "namespace": "argocd"},
                "type": "Opaque",
                "stringData": {"accounts.reader.password": hash}}),
        ] {
            cluster
                .apply(&obj, &WriteOptions::default())
                .await
                .expect("seed");
        }

        let repo = dir.path().join("gitops");
        write_serving(&repo, "1.4.0");
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "fraud model 1.4.0"]);
        let repo_url = format!("file://{}", repo.display());

        let controller = Controller::start(
            ControllerConfig {
                app_resync: Duration::from_secs(2),
                revision_ttl: Duration::from_secs(1),
                repo_cache_dir: dir.path().join("repo-cache"),
                ..Default::default()
            },
            cluster.clone(),
            Arc::new(Metrics::new()),
        )
        .await
        .expect("controller");

        let addr = format!("127.0.0.1:{}", free_port());
        let server = Command::new(env!("CARGO_BIN_EXE_ferrocd"))
            .args(["server", "--listen", &addr, "--kubeconfig"])
            .arg(&kubeconfig)
            .env("FERROCD_CACHE", dir.path().join("render-cache"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ferrocd server");
        let server = ServerProcess(server);
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "ferrocd server did not listen");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Env {
            sandbox: Some(sandbox),
            cluster,
            controller,
            _server: server,
            addr,
            dir,
            repo,
            repo_url,
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("cli/config.yaml")
    }

    /// The admin password the server generated (`argocd-initial-admin-secret`).
    async fn admin_password(&self) -> String {
        let secret = self
            .cluster
            .get(&ResourceKey {
                group: String::new(),
                kind: "Secret".into(),
                namespace: "argocd".into(),
                name: "argocd-initial-admin-secret".into(),
            })
            .await
            .expect("get")
            .expect("initial admin secret");
        let bytes: k8s_openapi::ByteString =
            serde_json::from_value(secret["data"]["password"].clone()).expect("base64");
        String::from_utf8(bytes.0).expect("utf8")
    }

    /// Runs `ferrocd ARGS` with this test's CLI configuration and no kubeconfig.
    async fn run_with_stdin(&self, args: &[&str], stdin: Option<String>) -> Run {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let config = self.config_path();
        let cache = self.dir.path().join("render-cache");
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(env!("CARGO_BIN_EXE_ferrocd"))
                .args(&args)
                .env("FERROCD_CONFIG", &config)
                .env("FERROCD_CACHE", &cache)
                .env("KUBECONFIG", "/nonexistent/kubeconfig")
                .env_remove("FERROCD_SERVER")
                .env_remove("FERROCD_AUTH_TOKEN")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run ferrocd");
            if let (Some(mut input), Some(text)) = (child.stdin.take(), stdin) {
                let _ = input.write_all(text.as_bytes());
            }
            let out = child.wait_with_output().expect("wait");
            Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .await
        .expect("join")
    }

    async fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None).await
    }

    async fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args).await;
        assert_eq!(
            r.code, 0,
            "ferrocd {args:?} failed:\n{}\n{}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    async fn app_json(&self, name: &str) -> Value {
        let out = self.ok(&["app", "get", name, "-o", "json"]).await;
        serde_json::from_str(&out).expect("app get -o json")
    }

    /// Polls the application (through the CLI) until `done` holds.
    async fn until(&self, name: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let app = self.app_json(name).await;
            if done(&app) {
                return app;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {what}: {}",
                serde_json::to_string_pretty(&app["status"]).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn configmap(&self) -> Option<Value> {
        self.cluster
            .get(&ResourceKey {
                group: String::new(),
                kind: "ConfigMap".into(),
                namespace: "serving".into(),
                name: "fraud-model".into(),
            })
            .await
            .expect("get configmap")
    }

    async fn stop(mut self) {
        self.controller.shutdown().await;
        if let Some(s) = self.sandbox.take() {
            s.shutdown().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_mode_login_apps_rbac_and_logout() {
    let env = Env::start().await;
    let password = env.admin_password().await;

    // Before any login the CLI says how to reach a control plane.
    let none = env.run(&["app", "list"]).await;
    assert_ne!(none.code, 0, "{}", none.stdout);

    let login = env
        .run_with_stdin(
            &[
                "login",
                &env.addr,
                "--plaintext",
                "--username",
                "admin",
                "--password-stdin",
            ],
            Some(format!("{password}\n")),
        )
        .await;
    assert_eq!(login.code, 0, "{}{}", login.stdout, login.stderr);
    assert!(
        login.stdout.contains("'admin' logged in"),
        "{}",
        login.stdout
    );
    assert!(
        !login.stdout.contains(&password) && !login.stderr.contains(&password),
        "password printed"
    );
    // The configuration is private, holds a token and no password.
    let config_text = std::fs::read_to_string(env.config_path()).expect("config written");
    assert!(!config_text.contains(&password), "{config_text}");
    assert!(config_text.contains("auth-token:"), "{config_text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(env.config_path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "config mode {mode:o}");
    }
    let wrong = env
        .run_with_stdin(
            &[
                "login",
                &env.addr,
                "--plaintext",
                "--name",
                "typo",
                "--password-stdin",
            ],
            Some("not-the-password\n".into()),
        )
        .await;
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains("login to"), "{}", wrong.stderr);

    // Projects, repositories and clusters through the server.
    let src = env.repo_url.clone();
    env.ok(&[
        "proj",
        "create",
        "ml-serving",
        "--description",
        "model servers",
        "--src",
        &src,
        "--dest",
        &format!("{IN_CLUSTER},serving"),
    ])
    .await;
    env.ok(&[
        "proj",
        "add-source",
        "ml-serving",
        "https://git.example.com/ml/*",
    ])
    .await;
    let projects = env.ok(&["proj", "list", "-o", "wide"]).await;
    assert!(
        projects.contains("ml-serving") && projects.contains("https://git.example.com/ml/*"),
        "{projects}"
    );
    let proj = env.ok(&["proj", "get", "ml-serving"]).await;
    assert!(proj.contains("model servers"), "{proj}");

    env.ok(&[
        "repo",
        "add",
        "https://git.example.com/ml/charts.git",
        "--username",
        "mlops-bot",
        "--password",
        "hunter2-ci",
    ])
    .await;
    let repos = env.ok(&["repo", "list", "-o", "wide"]).await;
    assert!(
        repos.contains("https://git.example.com/ml/charts.git") && repos.contains("mlops-bot"),
        "{repos}"
    );
    assert!(repos.contains("CONNECTION"), "{repos}");
    assert!(!repos.contains("hunter2"), "password printed: {repos}");
    env.ok(&["repo", "rm", "https://git.example.com/ml/charts.git"])
        .await;
    let gone = env
        .run(&["repo", "rm", "https://git.example.com/ml/charts.git"])
        .await;
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.contains("ferrocd repo list"), "{}", gone.stderr);

    env.ok(&[
        "cluster",
        "add",
        "gpu-east",
        "--url",
        "https://gpu-east.ml.example.com:6443",
        "--bearer-token",
        "do-not-print-this",
        "--namespace",
        "serving",
    ])
    .await;
    let clusters = env.ok(&["cluster", "list"]).await;
    assert!(
        clusters.contains("https://gpu-east.ml.example.com:6443")
            && clusters.contains("gpu-east")
            && clusters.contains(IN_CLUSTER),
        "{clusters}"
    );
    assert!(!clusters.contains("do-not-print"), "{clusters}");
    env.ok(&["cluster", "rm", "gpu-east"]).await;
    assert!(
        !env.ok(&["cluster", "list", "-o", "json"])
            .await
            .contains("gpu-east")
    );

    // An application, end to end.
    env.ok(&[
        "app",
        "create",
        "fraud-model",
        "--repo",
        &src,
        "--path",
        "serving",
        "--revision",
        "main",
        "--project",
        "ml-serving",
        "--dest-server",
        IN_CLUSTER,
        "--dest-namespace",
        "serving",
        "--sync-option",
        "CreateNamespace=true",
    ])
    .await;
    let list = env.ok(&["app", "list"]).await;
    assert!(list.contains("argocd/fraud-model"), "{list}");
    let wide = env.ok(&["app", "list", "-o", "wide"]).await;
    assert!(
        wide.contains("REVISION") && wide.contains("LAST-SYNC"),
        "{wide}"
    );
    let refreshed = env
        .ok(&["app", "get", "fraud-model", "--hard-refresh", "-o", "json"])
        .await;
    assert!(refreshed.contains("fraud-model"), "{refreshed}");
    let missing = env.run(&["app", "get", "fraud-modle"]).await;
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("application 'fraud-modle' not found in namespace argocd"),
        "{}",
        missing.stderr
    );

    // Compared but not synced yet: the diff shows the missing objects and exits 1.
    env.until("fraud-model", "the first comparison", |a| {
        a["status"]["sync"]["status"] == "OutOfSync"
            && a["status"]["resources"]
                .as_array()
                .is_some_and(|r| r.len() == 2)
    })
    .await;
    let diff = env.run(&["app", "diff", "fraud-model"]).await;
    assert_eq!(diff.code, 1, "{}{}", diff.stdout, diff.stderr);
    assert!(diff.stdout.contains("fraud-model"), "{}", diff.stdout);
    let rendered = env
        .ok(&["app", "manifests", "fraud-model", "--source", "git"])
        .await;
    assert!(
        rendered.contains("MODEL_VERSION: \"1.4.0\"")
            || rendered.contains("MODEL_VERSION: '1.4.0'")
            || rendered.contains("MODEL_VERSION: 1.4.0"),
        "{rendered}"
    );

    let sync = env
        .run(&["app", "sync", "fraud-model", "--timeout", "90"])
        .await;
    assert_eq!(sync.code, 0, "{}{}", sync.stdout, sync.stderr);
    assert!(
        sync.stdout.contains("ConfigMap") && sync.stdout.contains("operation Succeeded"),
        "{}",
        sync.stdout
    );
    env.ok(&[
        "app",
        "wait",
        "fraud-model",
        "--sync",
        "--health",
        "--timeout",
        "60",
    ])
    .await;
    assert_eq!(
        env.configmap().await.expect("synced")["data"]["MODEL_VERSION"],
        "1.4.0"
    );
    let diff = env.run(&["app", "diff", "fraud-model"]).await;
    assert_eq!(diff.code, 0, "{}{}", diff.stdout, diff.stderr);
    let live = env.ok(&["app", "manifests", "fraud-model"]).await;
    assert!(live.contains("s3://models/fraud/1.4.0"), "{live}");
    let resources = env
        .ok(&["app", "resources", "fraud-model", "-o", "wide"])
        .await;
    assert!(
        resources.contains("SYNC-WAVE") && resources.contains("fraud-model"),
        "{resources}"
    );

    // A new model version, synced: two history entries; roll back to the first.
    write_serving(&env.repo, "1.5.0");
    git(&env.repo, &["commit", "-q", "-am", "fraud model 1.5.0"]);
    let head = git(&env.repo, &["rev-parse", "HEAD"]);
    env.controller.on_push(&PushEvent {
        provider: GitProvider::GitHub,
        repo_urls: vec![env.repo_url.clone()],
        revision: head.trim().to_string(),
        git_ref: "refs/heads/main".into(),
        changed_files: Vec::new(),
        default_branch: Some("main".into()),
    });
    env.until("fraud-model", "the new commit", |a| {
        a["status"]["sync"]["revision"].as_str() == Some(head.trim())
    })
    .await;
    env.ok(&["app", "sync", "fraud-model", "--timeout", "90"])
        .await;
    assert_eq!(
        env.configmap().await.expect("cm")["data"]["MODEL_VERSION"],
        "1.5.0"
    );
    let history = env
        .ok(&["app", "history", "fraud-model", "-o", "json"])
        .await;
    let history: Vec<Value> = serde_json::from_str(&history).expect("history json");
    assert_eq!(history.len(), 2, "{history:?}");
    let table = env
        .ok(&["app", "history", "fraud-model", "-o", "wide"])
        .await;
    assert!(table.contains("SOURCE") && table.contains(&src), "{table}");
    let first_id = history[0]["id"].as_i64().expect("id").to_string();
    env.ok(&["app", "rollback", "fraud-model", &first_id]).await;
    env.ok(&[
        "app",
        "wait",
        "fraud-model",
        "--operation",
        "--timeout",
        "60",
    ])
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while env.configmap().await.expect("cm")["data"]["MODEL_VERSION"] != "1.4.0" {
        assert!(Instant::now() < deadline, "rollback did not restore 1.4.0");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A read-only account: reads work, a sync is refused with the RBAC message.
    env.run_with_stdin(
        &[
            "login",
            &env.addr,
            "--plaintext",
            "--name",
            "reader",
            "--username",
            "reader",
            "--password-stdin",
        ],
        Some(format!("{READER_PASSWORD}\n")),
    )
    .await;
    let contexts = env.ok(&["context"]).await;
    assert!(
        contexts.contains("reader") && contexts.contains(&env.addr),
        "{contexts}"
    );
    assert!(env.ok(&["app", "list"]).await.contains("fraud-model"));
    let denied = env.run(&["app", "sync", "fraud-model"]).await;
    assert_eq!(denied.code, 1, "{}{}", denied.stdout, denied.stderr);
    assert!(
        denied.stderr.contains("permission denied") && denied.stderr.contains("argocd-rbac-cm"),
        "{}",
        denied.stderr
    );

    // Flags instead of a context: --server and --auth-token (the reader's session).
    let config_text = std::fs::read_to_string(env.config_path()).expect("config");
    let config: Value = serde_saphyr::from_str(&config_text).expect("config yaml");
    let reader_token = config["users"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["name"] == "reader"))
        .and_then(|u| u["auth-token"].as_str())
        .expect("reader token")
        .to_string();
    let flags = env
        .run(&[
            "app",
            "list",
            "-o",
            "json",
            "--server",
            &env.addr,
            "--plaintext",
            "--auth-token",
            &reader_token,
        ])
        .await;
    assert_eq!(flags.code, 0, "{}", flags.stderr);
    assert!(flags.stdout.contains("fraud-model"), "{}", flags.stdout);
    let bad_token = env
        .run(&[
            "app",
            "list",
            "--server",
            &env.addr,
            "--plaintext",
            "--auth-token",
            "forged",
        ])
        .await;
    assert_eq!(bad_token.code, 1);
    assert!(
        bad_token.stderr.contains("ferrocd login"),
        "{}",
        bad_token.stderr
    );

    // Back to admin: delete with its resources.
    env.ok(&["context", &env.addr]).await;
    env.ok(&["app", "delete", "fraud-model"]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = env.ok(&["app", "list", "-o", "json"]).await;
        if !list.contains("fraud-model") {
            break;
        }
        assert!(Instant::now() < deadline, "application not deleted: {list}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Logged out: the token is gone and the CLI says to log in.
    let out = env.ok(&["logout"]).await;
    assert!(out.contains("logged out"), "{out}");
    let after = env.run(&["app", "list"]).await;
    assert_eq!(after.code, 1, "{}{}", after.stdout, after.stderr);
    assert!(after.stderr.contains("ferrocd login"), "{}", after.stderr);
    env.stop().await;
}
