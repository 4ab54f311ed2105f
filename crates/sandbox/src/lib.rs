//! ferrocd-sandbox: a Kubernetes-API-compatible server on loopback with simulated workloads.
//!
//! The sandbox speaks enough of the Kubernetes API (HTTPS, bearer token, discovery, CRUD,
//! watch, patch, server-side apply, status subresources, CRDs) that kube-rs and the real
//! `kubectl` work against it unchanged, and it simulates controllers, a scheduler and kubelets
//! so that Deployments roll out, Jobs complete, Services get endpoints and PVCs bind.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferrocd_sandbox::SandboxError> {
//! let sandbox = ferrocd_sandbox::Sandbox::start(Default::default()).await?;
//! let client = sandbox.client().await?;
//! # let _ = client;
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Simulation conventions:
//! - a Pod becomes Ready `pod_ready_delay` after it is scheduled;
//! - a Job's pods succeed after that delay, or fail when the pod template carries the
//!   annotation `sandbox.ferrocd.dev/fail: "true"` (see [`sim::FAIL_ANNOTATION`]);
//! - a Pod that requests more `nvidia.com/gpu` than any node has free stays Pending with
//!   `PodScheduled=False`, reason `Unschedulable`, and the kube-scheduler's message.
#![deny(missing_docs)]

pub mod apiserver;
pub mod apply;
pub mod cli;
pub mod defaults;
pub mod faults;
pub mod fieldset;
mod http;
pub mod kubeconfig;
pub mod merge_keys;
pub mod meta;
pub mod patch;
pub mod persist;
pub mod resources;
pub mod selector;
pub mod sim;
pub mod status;
pub mod store;
pub mod tls;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use apiserver::ApiServer;
pub use faults::{FaultConfig, FaultHandle, Verb};

/// Errors of starting or running the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Binding the listening socket failed.
    #[error("binding the sandbox listener on 127.0.0.1:{port}")]
    Bind {
        /// The requested port.
        port: u16,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Generating or loading TLS material failed.
    #[error("preparing TLS for the sandbox: {0}")]
    Tls(String),
    /// Reading or writing a file failed.
    #[error("accessing {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The snapshot file is not valid.
    #[error("reading the snapshot {path}: {message}")]
    Snapshot {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Building a kube client for the sandbox failed.
    #[error("building a client for the sandbox: {0}")]
    Client(String),
}

/// How to run the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// TCP port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Directory for persistent state (objects, CA, token); `None` keeps state in memory.
    pub data_dir: Option<PathBuf>,
    /// Number of simulated nodes.
    pub nodes: u32,
    /// `nvidia.com/gpu` capacity per node (0: no GPUs).
    pub gpus_per_node: u32,
    /// CPU capacity per node (cores).
    pub cpu_per_node: u32,
    /// Memory capacity per node (GiB).
    pub memory_gib_per_node: u32,
    /// Delay between a Pod being scheduled and becoming Ready.
    pub pod_ready_delay: Duration,
    /// Faults to inject from the start.
    pub faults: FaultConfig,
    /// Watch events kept per resource type (older positions get 410 Gone).
    pub watch_cache_size: usize,
    /// Interval of watch bookmarks.
    pub bookmark_interval: Duration,
    /// Whether to run the simulated controllers.
    pub simulate: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            port: 0,
            data_dir: None,
            nodes: 3,
            gpus_per_node: 0,
            cpu_per_node: 8,
            memory_gib_per_node: 32,
            pod_ready_delay: Duration::from_millis(300),
            faults: FaultConfig::default(),
            watch_cache_size: 1024,
            bookmark_interval: Duration::from_secs(5),
            simulate: true,
        }
    }
}

/// A running sandbox.
pub struct Sandbox {
    addr: SocketAddr,
    tls: tls::TlsMaterial,
    token: String,
    api: Arc<ApiServer>,
    faults: FaultHandle,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("url", &self.url()).finish()
    }
}

fn load_or_create_token(dir: Option<&Path>) -> Result<String, SandboxError> {
    let fresh = || format!("sandbox-{}", uuid::Uuid::new_v4().simple());
    let Some(dir) = dir else { return Ok(fresh()) };
    let path = dir.join("token");
    if let Ok(t) = std::fs::read_to_string(&path)
        && !t.trim().is_empty()
    {
        return Ok(t.trim().to_string());
    }
    let t = fresh();
    persist::write_atomic(&path, t.as_bytes())?;
    Ok(t)
}

impl Sandbox {
    /// Starts the sandbox: loads or creates state, binds 127.0.0.1, serves HTTPS and starts
    /// the simulation.
    pub async fn start(opts: SandboxOptions) -> Result<Sandbox, SandboxError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = opts.data_dir.as_deref();
        if let Some(d) = dir {
            std::fs::create_dir_all(d).map_err(|source| SandboxError::Io {
                path: d.to_path_buf(),
                source,
            })?;
        }
        let tls = match dir {
            Some(d) => tls::TlsMaterial::load_or_generate(d)?,
            None => tls::TlsMaterial::generate()?,
        };
        let token = load_or_create_token(dir)?;
        let store = Arc::new(store::Store::new(opts.watch_cache_size));
        let registry = resources::Registry::builtin();
        let restored = match dir {
            Some(d) => persist::load(&store, d)?,
            None => false,
        };
        let api = Arc::new(ApiServer::new(store.clone(), registry));
        if restored {
            // CRDs of the snapshot serve their kinds again
            for crd in store
                .list("apiextensions.k8s.io/customresourcedefinitions", None)
                .1
            {
                for t in resources::from_crd(&crd) {
                    api.registry.insert(t);
                }
            }
        }
        bootstrap(&api, &opts);

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .map_err(|source| SandboxError::Bind {
                port: opts.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            port: opts.port,
            source,
        })?;
        let faults = FaultHandle::new(opts.faults.clone());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let state = http::HttpState {
            api: api.clone(),
            token: token.clone(),
            faults: faults.clone(),
            bookmark_interval: opts.bookmark_interval,
            address: http::address_of(addr),
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server_config()?);
        let mut tasks = vec![tokio::spawn(http::serve(
            listener,
            acceptor,
            state,
            shutdown_rx.clone(),
        ))];
        if let Some(d) = &opts.data_dir {
            tasks.push(tokio::spawn(persist::run(
                store.clone(),
                d.clone(),
                Duration::from_millis(200),
                shutdown_rx.clone(),
            )));
        }
        if opts.simulate {
            tasks.extend(sim::spawn(
                api.clone(),
                sim::SimOptions::from(&opts),
                shutdown_rx,
            ));
        }
        tracing::info!(url = %format!("https://{addr}"), "sandbox listening");
        Ok(Sandbox {
            addr,
            tls,
            token,
            api,
            faults,
            shutdown,
            tasks,
        })
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.tls.ca_pem
    }

    /// A kubeconfig for this sandbox.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::render(&self.url(), &self.tls.ca_pem, &self.token)
    }

    /// Writes the kubeconfig to `path` (creating parent directories).
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// A kube client configured for this sandbox.
    pub async fn client(&self) -> Result<kube::Client, SandboxError> {
        let kc = kube::config::Kubeconfig::from_yaml(&self.kubeconfig_yaml())
            .map_err(|e| SandboxError::Client(e.to_string()))?;
        let cfg =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| SandboxError::Client(e.to_string()))?;
        kube::Client::try_from(cfg).map_err(|e| SandboxError::Client(e.to_string()))
    }

    /// The in-process fault injection handle.
    pub fn faults(&self) -> &FaultHandle {
        &self.faults
    }

    /// Direct access to the API core (for tests and the demo).
    pub fn api(&self) -> &Arc<ApiServer> {
        &self.api
    }

    /// Stops serving, stops the simulation and writes the final snapshot.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

/// Creates the objects every cluster has, unless they exist (restored state).
fn bootstrap(api: &ApiServer, opts: &SandboxOptions) {
    let ctx = apiserver::WriteContext::controller("kube-apiserver");
    let create = |api_version: &str, kind: &str, ns: &str, obj: Value| {
        let Some(rt) = api.registry.by_kind(api_version, kind) else {
            return;
        };
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if api.store.get(&rt.id(), ns, &name).is_none()
            && let Err(e) = api.create(&rt, ns, obj, &ctx)
        {
            tracing::warn!(kind, name, error = %e, "bootstrap object not created");
        }
    };
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        create("v1", "Namespace", "", json!({"metadata": {"name": ns}}));
    }
    create(
        "v1",
        "Service",
        "default",
        json!({
        "metadata": {"name": "kubernetes", "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}}),
    );
    create(
        "storage.k8s.io/v1",
        "StorageClass",
        "",
        json!({
        "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "sandbox.ferrocd.dev/hostpath", "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate", "allowVolumeExpansion": true}),
    );
    for i in 1..=opts.nodes {
        let node = sim::nodes::node_object(i, opts);
        let name = node["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        create("v1", "Node", "", node.clone());
        if let Some(rt) = api.registry.by_kind("v1", "Node") {
            let has_status = api
                .store
                .get(&rt.id(), "", &name)
                .is_some_and(|n| n["status"]["capacity"] == node["status"]["capacity"]);
            if !has_status && let Err(e) = api.update(&rt, "", &name, node, &ctx, true) {
                tracing::warn!(node = %name, error = %e, "node status not set");
            }
        }
    }
}
