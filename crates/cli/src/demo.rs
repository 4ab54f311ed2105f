//! `ferrocd demo`: GitOps on one machine in one command. An embedded sandbox is both the
//! control-plane and the target cluster; `examples/ml-platform` (built into the binary)
//! becomes a Git repository in `DIR/gitops`; the controller bootstraps the dev cluster from
//! its app-of-apps root and keeps it in sync. A commit in `DIR/gitops` is picked up within
//! seconds (the demo watches the repository's HEAD and also serves the Git webhook).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use ferrocd_cluster::{Cluster, WriteOptions};
use ferrocd_controller::{
    Controller, ControllerConfig, GitProvider, Metrics, PushEvent, WebhookSecrets, metrics_router,
    webhook_router,
};
use ferrocd_sandbox::{Sandbox, SandboxOptions};
use rust_embed::RustEmbed;
use serde_json::{Value, json};

/// The example repository, embedded so that the binary alone can run the demo.
#[derive(RustEmbed)]
#[folder = "../../examples/ml-platform"]
struct Example;

/// Prints a line on stdout; a closed stdout (the reader went away) does not stop the demo.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The repository URL the example's Applications use; the demo rewrites it to its own.
const PLACEHOLDER_REPO: &str = "https://git.example.com/platform/ml-platform.git";

/// Flags of `ferrocd demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where everything lives: `DIR/gitops` (the Git repository), `DIR/kubeconfig`, the
    /// sandbox's state and the repository cache. Default: the user's data directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Port of the web endpoints (webhook, metrics; the UI once the server ships).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Port of the ferrocd API server (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub api_server_port: u16,
    /// Port of the sandbox API server (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub api_port: u16,
    /// Exit once every application is Synced and Healthy (for scripts and tests)
    /// instead of running until Ctrl-C.
    #[arg(long)]
    pub exit_when_ready: bool,
    /// How long to wait for every application to become Synced and Healthy.
    #[arg(long, default_value_t = 120)]
    pub ready_timeout: u64,
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| crate::controller_cmd::data_dir().join("demo"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir.canonicalize().context("resolving the demo directory")?;

    let sandbox = Sandbox::start(SandboxOptions {
        port: args.api_port,
        data_dir: Some(dir.join("sandbox")),
        gpus_per_node: 2,
        ..Default::default()
    })
    .await
    .context("starting the sandbox cluster")?;
    let kubeconfig = dir.join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig)
        .context("writing the kubeconfig")?;
    let cluster = Cluster::from_kubeconfig(Some(&kubeconfig), None).await?;
    cluster
        .install_crds(&ferrocd_model::crds(), Duration::from_secs(10))
        .await
        .context("installing the CRDs")?;
    apply(
        &cluster,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}}),
    )
    .await?;

    let repo = dir.join("gitops");
    let repo_url = format!("file://{}", repo.display());
    if !repo.join(".git").exists() {
        write_example(&repo, &repo_url)?;
        git(&repo, &["init", "-q", "-b", "main"])?;
        git(&repo, &["add", "-A"])?;
        git(
            &repo,
            &["commit", "-q", "-m", "ml-platform: initial import"],
        )?;
    }

    let metrics = Arc::new(Metrics::new());
    let controller = Controller::start(
        ControllerConfig {
            app_resync: Duration::from_secs(30),
            repo_cache_dir: dir.join("repo-cache"),
            ..Default::default()
        },
        cluster.clone(),
        metrics.clone(),
    )
    .await?;

    // Web endpoints: the Git webhook and metrics.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("listening on 127.0.0.1:{}", args.port))?;
    let web = listener.local_addr()?;
    let c = controller.clone();
    let router = webhook_router(WebhookSecrets::default(), move |event| c.on_push(&event))
        .merge(metrics_router(metrics));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    install_post_commit_hook(&repo, web.port())?;
    tokio::spawn(watch_head(
        repo.clone(),
        repo_url.clone(),
        controller.clone(),
    ));

    // Bootstrap: the project, then the dev root (app of apps).
    for file in [
        "projects/data-platform-project.yaml",
        "clusters/dev-us-east-1/root.yaml",
    ] {
        let text =
            std::fs::read_to_string(repo.join(file)).with_context(|| format!("reading {file}"))?;
        for doc in ferrocd_manifest::parse_documents(&text, file)? {
            apply(&cluster, doc.object).await?;
        }
    }

    // The API server, on its own loopback port.
    let api = ferrocd_server::start(ferrocd_server::ServerConfig {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], args.api_server_port)),
        namespace: "argocd".to_string(),
        client: Some(cluster.client().clone()),
        api: crate::manifest_renderer::api_options(),
    })
    .await
    .context("starting the API server")?;
    let known_password = match api.initial_admin_password() {
        Some(p) => Some(p.expose().to_string()),
        // A second run on the same DIR: the first run's password is kept in the Secret.
        None => initial_admin_password(&cluster).await,
    };
    let password = known_password
        .clone()
        .unwrap_or_else(|| "(unchanged: see the Secret argocd-initial-admin-secret)".to_string());
    // Log the CLI in: `ferrocd app list` works at once.
    let config_path = crate::config::path();
    let cli_login = match &known_password {
        Some(p) => crate::login::login_and_save(
            &config_path,
            "demo",
            crate::config::ServerEntry {
                server: api.addr().to_string(),
                plain_text: true,
                insecure: false,
            },
            "admin",
            p,
        )
        .await
        .map_err(|f| f.message()),
        None => Err("the admin password is unknown".to_string()),
    };

    say!("ferrocd demo is starting");
    say!("  Git repository : {}", repo.display());
    say!(
        "  kubeconfig     : {}   (kubectl --kubeconfig {0} get applications -n argocd)",
        kubeconfig.display()
    );
    say!("  webhook        : http://{web}/api/webhook   metrics: http://{web}/metrics");
    say!(
        "  API server     : http://{}/api/v1   login: admin / {password}",
        api.addr()
    );
    say!(
        "  CLI            : ferrocd app list --kubeconfig {}",
        kubeconfig.display()
    );
    say!("  web UI         : http://{}/   login: admin", api.addr());
    match &cli_login {
        Ok(_) => say!(
            "  CLI login      : context 'demo' in {}   (ferrocd app list)",
            config_path.display()
        ),
        Err(e) => say!(
            "  CLI login      : not logged in ({e}); run `ferrocd login {} --plaintext`",
            api.addr()
        ),
    }
    let started = Instant::now();
    let ready = wait_ready(&cluster, Duration::from_secs(args.ready_timeout)).await;
    match &ready {
        Ok(apps) => say!(
            "ready: {apps} applications Synced and Healthy after {:.1}s",
            started.elapsed().as_secs_f64()
        ),
        Err(e) => eprintln!("not ready: {e}"),
    }
    if args.exit_when_ready {
        controller.shutdown().await;
        let _ = api.shutdown().await;
        sandbox.shutdown().await;
        return ready.map(|_| ());
    }
    say!(
        "commit to {} and watch the cluster follow; Ctrl-C stops",
        repo.display()
    );
    ferrocd_sandbox::cli::wait_for_signal().await?;
    controller.shutdown().await;
    let _ = api.shutdown().await;
    sandbox.shutdown().await;
    Ok(())
}

/// The password in `argocd-initial-admin-secret`, when it is there.
async fn initial_admin_password(cluster: &Cluster) -> Option<String> {
    let secret = cluster
        .get(&ferrocd_model::ResourceKey {
            group: String::new(),
            kind: "Secret".into(),
            namespace: "argocd".into(),
            name: "argocd-initial-admin-secret".into(),
        })
        .await
        .ok()??;
    if let Some(p) = secret
        .pointer("/stringData/password")
        .and_then(Value::as_str)
    {
        return Some(p.to_string());
    }
    let encoded = secret.pointer("/data/password")?.clone();
    let bytes: k8s_openapi::ByteString = serde_json::from_value(encoded).ok()?;
    String::from_utf8(bytes.0).ok()
}

async fn apply(cluster: &Cluster, obj: Value) -> anyhow::Result<()> {
    cluster
        .apply(&obj, &WriteOptions::default())
        .await
        .with_context(|| {
            format!(
                "applying {} {}",
                obj["kind"].as_str().unwrap_or_default(),
                obj["metadata"]["name"].as_str().unwrap_or_default()
            )
        })?;
    Ok(())
}

/// Writes the embedded example to `repo`, pointing its Applications at `repo_url`.
fn write_example(repo: &Path, repo_url: &str) -> anyhow::Result<()> {
    for path in Example::iter() {
        let Some(file) = Example::get(&path) else {
            continue;
        };
        let target = repo.join(path.as_ref());
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let data = file.data.into_owned();
        let data = match String::from_utf8(data) {
            Ok(text) => text.replace(PLACEHOLDER_REPO, repo_url).into_bytes(),
            Err(e) => e.into_bytes(),
        };
        std::fs::write(&target, data).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

fn git(repo: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "ferrocd demo")
        .env("GIT_AUTHOR_EMAIL", "demo@ferrocd.invalid")
        .env("GIT_COMMITTER_NAME", "ferrocd demo")
        .env("GIT_COMMITTER_EMAIL", "demo@ferrocd.invalid")
        .output()
        .context("running git (the demo needs the git command)")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A post-commit hook that notifies the demo's webhook (when curl is installed); the
/// HEAD watcher covers the case without it.
fn install_post_commit_hook(repo: &Path, port: u16) -> anyhow::Result<()> {
    let hook = repo.join(".git/hooks/post-commit");
    if let Some(parent) = hook.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let script = format!(
        "#!/bin/sh\n# Written by `ferrocd demo`: tell the controller about the new commit.\n\
         command -v curl >/dev/null 2>&1 || exit 0\n\
         rev=$(git rev-parse HEAD)\n\
         curl -s -o /dev/null -X POST http://127.0.0.1:{port}/api/webhook \\\n\
           -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \\\n\
           -d \"{{\\\"ref\\\":\\\"refs/heads/main\\\",\\\"after\\\":\\\"$rev\\\",\\\"repository\\\":{{\\\"html_url\\\":\\\"file://{repo}\\\",\\\"default_branch\\\":\\\"main\\\"}}}}\" || true\n",
        repo = repo.display()
    );
    std::fs::write(&hook, script)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Polls the repository's HEAD every second and tells the controller about new commits.
async fn watch_head(repo: PathBuf, repo_url: String, controller: Controller) {
    let mut last = git(&repo, &["rev-parse", "HEAD"]).unwrap_or_default();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Ok(head) = git(&repo, &["rev-parse", "HEAD"]) else {
            continue;
        };
        if head != last {
            controller.on_push(&PushEvent {
                provider: GitProvider::GitHub,
                repo_urls: vec![repo_url.clone()],
                revision: head.clone(),
                git_ref: "refs/heads/main".to_string(),
                changed_files: Vec::new(),
                default_branch: Some("main".to_string()),
            });
            last = head;
        }
    }
}

/// Waits until there is at least one Application and every one is Synced and Healthy;
/// returns how many there are.
async fn wait_ready(cluster: &Cluster, timeout: Duration) -> anyhow::Result<usize> {
    let deadline = Instant::now() + timeout;
    let mut last_report = Instant::now();
    loop {
        let apps = cluster
            .list("argoproj.io", "Application", Some("argocd"))
            .await
            .unwrap_or_default();
        let pending: Vec<String> = apps
            .iter()
            .filter(|a| {
                a["status"]["sync"]["status"] != "Synced"
                    || a["status"]["health"]["status"] != "Healthy"
            })
            .map(|a| {
                format!(
                    "{} ({}/{})",
                    a["metadata"]["name"].as_str().unwrap_or_default(),
                    a["status"]["sync"]["status"].as_str().unwrap_or("Unknown"),
                    a["status"]["health"]["status"]
                        .as_str()
                        .unwrap_or("Unknown")
                )
            })
            .collect();
        // The root plus its children: wait until the children exist too.
        if apps.len() > 1 && pending.is_empty() {
            return Ok(apps.len());
        }
        if Instant::now() > deadline {
            bail!(
                "applications not ready after {timeout:?}: {}",
                pending.join(", ")
            );
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            say!("  waiting for: {}", pending.join(", "));
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
