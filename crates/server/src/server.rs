//! Starting and running the server.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use ferrocd_model::Sensitive;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{ApiOptions, AppState};
use crate::error::ServerError;
use crate::store::Store;

/// How to run the server.
#[derive(Clone)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1:8080` by default; port 0 picks a free port).
    pub listen: SocketAddr,
    /// Namespace of Applications, AppProjects, settings and Secrets (`argocd`).
    pub namespace: String,
    /// Client for the control-plane cluster; the default kubeconfig when `None`.
    pub client: Option<kube::Client>,
    /// API behaviour.
    pub api: ApiOptions,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("namespace", &self.namespace)
            .field("client", &self.client.is_some())
            .field("api", &self.api)
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            namespace: "argocd".into(),
            client: None,
            api: ApiOptions::default(),
        }
    }
}

/// The whole HTTP surface: the API under `/api/v1`, `/healthz` and the web UI on every other
/// path.
pub fn router(state: AppState) -> Router {
    crate::api::router(state)
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::ui::router())
}

/// A server running in the background.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    initial_admin_password: Option<Sensitive>,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), std::io::Error>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin password, when this start generated it (it is also in the Secret
    /// `argocd-initial-admin-secret`).
    pub fn initial_admin_password(&self) -> Option<&Sensitive> {
        self.initial_admin_password.as_ref()
    }

    /// The shared state (for tests and embedding).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Ends event streams, stops accepting requests and waits up to 10 seconds for requests
    /// in flight; then drops the remaining connections.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        self.state.close_streams();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(10), &mut self.task).await {
            Ok(Ok(result)) => result.map_err(ServerError::Serve),
            Ok(Err(e)) => Err(ServerError::Serve(std::io::Error::other(e))),
            Err(_) => {
                tracing::warn!("connections still open after 10 s, dropping them");
                self.task.abort();
                Ok(())
            }
        }
    }

    /// Waits until the server stops by itself (it only does on error).
    pub async fn wait(mut self) -> Result<(), ServerError> {
        match (&mut self.task).await {
            Ok(result) => result.map_err(ServerError::Serve),
            Err(e) => Err(ServerError::Serve(std::io::Error::other(e))),
        }
    }
}

/// Connects, prepares `argocd-secret` (signing key, admin password) and the default project,
/// binds and serves in the background.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let client = match config.client {
        Some(c) => c,
        None => kube::Client::try_default()
            .await
            .map_err(ServerError::Client)?,
    };
    let store = Store::new(client, config.namespace.clone());
    let initial_admin_password = store.bootstrap().await?;
    let state = AppState::new(store, config.api);
    // Fail early on a broken policy or settings, with the cause.
    state.store().load().await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen.to_string(),
        source,
    })?;
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, namespace = %config.namespace, "ferrocd API server listening");
    Ok(RunningServer {
        addr,
        initial_admin_password,
        state,
        stop: Some(stop),
        task,
    })
}

/// Runs the server until Ctrl-C (SIGINT) or SIGTERM.
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    let running = start(config).await?;
    let terminate = async {
        #[cfg(unix)]
        {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("ferrocd API server stopping");
    running.shutdown().await
}
