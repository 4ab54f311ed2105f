//! `ferrocd server`: the REST API (Argo CD's paths under `/api/v1`) with local accounts,
//! sessions and RBAC.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use ferrocd_cluster::Cluster;
use ferrocd_server::ServerConfig;

/// Flags of `ferrocd server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Kubeconfig of the control-plane cluster (default: $KUBECONFIG, ~/.kube/config, or
    /// the in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Namespace of Applications, AppProjects, accounts and settings.
    #[arg(long, default_value = "argocd")]
    pub namespace: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The server's external URL as browsers reach it (else `url` of `argocd-cm`):
    /// SSO redirects to `<url>/auth/callback`.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// Runs the server until SIGINT/SIGTERM.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let cluster = Cluster::from_kubeconfig(args.kubeconfig.as_deref(), args.context.as_deref())
        .await
        .context("connecting to the control-plane cluster")?;
    let config = ServerConfig {
        listen: args.listen,
        namespace: args.namespace,
        client: Some(cluster.client().clone()),
        api: ferrocd_server::ApiOptions {
            url: args.url,
            ..crate::manifest_renderer::api_options()
        },
    };
    eprintln!("API server on http://{}/api/v1", args.listen);
    ferrocd_server::serve(config).await?;
    Ok(())
}
