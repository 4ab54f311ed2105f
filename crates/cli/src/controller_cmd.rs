//! `ferrocd controller`: the application controller as a process, with `/metrics` and
//! optionally the Git webhook endpoint.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use ferrocd_cluster::Cluster;
use ferrocd_controller::{
    Controller, ControllerConfig, Metrics, WebhookSecrets, metrics_router, webhook_router,
};

/// Flags of `ferrocd controller`.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Kubeconfig of the control-plane cluster (default: $KUBECONFIG, ~/.kube/config, or
    /// the in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace of Applications, AppProjects and cluster Secrets.
    #[arg(long, default_value = "argocd")]
    pub namespace: String,
    /// More namespaces whose Applications are reconciled (repeatable).
    #[arg(long = "application-namespaces", value_name = "NS")]
    pub app_namespaces: Vec<String>,
    /// Seconds between full refreshes of every application (jittered by up to 10%).
    #[arg(long, default_value_t = 180)]
    pub app_resync: u64,
    /// Concurrent reconciliations.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Git mirrors and snapshots.
    #[arg(long, value_name = "DIR")]
    pub repo_cache_dir: Option<PathBuf>,
    /// Address of `/metrics` (Prometheus).
    #[arg(long, default_value = "127.0.0.1:8082")]
    pub metrics_addr: SocketAddr,
    /// Serve the Git webhook (`POST /api/webhook`) here too, for a controller running
    /// without the server; secrets come from the `argocd-secret` Secret.
    #[arg(long)]
    pub webhook_addr: Option<SocketAddr>,
}

/// Runs the controller until SIGINT/SIGTERM.
pub async fn run(args: ControllerArgs) -> anyhow::Result<()> {
    let cluster = Cluster::from_kubeconfig(args.kubeconfig.as_deref(), args.context.as_deref())
        .await
        .context("connecting to the control-plane cluster")?;
    let metrics = Arc::new(Metrics::new());
    let config = ControllerConfig {
        namespace: args.namespace.clone(),
        app_namespaces: args.app_namespaces,
        app_resync: Duration::from_secs(args.app_resync.max(1)),
        workers: args.workers.max(1),
        repo_cache_dir: args
            .repo_cache_dir
            .unwrap_or_else(|| data_dir().join("repo-cache")),
        ..Default::default()
    };
    let controller = Controller::start(config, cluster.clone(), metrics.clone()).await?;
    let metrics_listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .with_context(|| format!("listening on {}", args.metrics_addr))?;
    eprintln!(
        "metrics on http://{}/metrics",
        metrics_listener.local_addr()?
    );
    tokio::spawn(async move {
        let _ = axum::serve(metrics_listener, metrics_router(metrics)).await;
    });
    if let Some(addr) = args.webhook_addr {
        let secrets = webhook_secrets(&cluster, &args.namespace).await;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        eprintln!(
            "git webhook on http://{}/api/webhook",
            listener.local_addr()?
        );
        let c = controller.clone();
        let router = webhook_router(secrets, move |event| c.on_push(&event));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
    }
    ferrocd_sandbox::cli::wait_for_signal().await?;
    eprintln!("controller stopping");
    controller.shutdown().await;
    Ok(())
}

/// The webhook secrets of `argocd-secret` (none when it is absent).
pub async fn webhook_secrets(cluster: &Cluster, namespace: &str) -> WebhookSecrets {
    let key = ferrocd_model::ResourceKey {
        group: String::new(),
        kind: "Secret".to_string(),
        namespace: namespace.to_string(),
        name: "argocd-secret".to_string(),
    };
    match cluster.get(&key).await {
        Ok(Some(secret)) => WebhookSecrets::from_argocd_secret(&secret).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "argocd-secret webhook keys ignored");
            WebhookSecrets::default()
        }),
        _ => WebhookSecrets::default(),
    }
}

/// ferrocd's data directory: `$XDG_DATA_HOME/ferrocd` or `~/.local/share/ferrocd`.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("ferrocd");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/ferrocd"),
        None => std::env::temp_dir().join("ferrocd"),
    }
}
