//! A cluster for tests: a fresh `ferrocd sandbox` on loopback, or — with
//! `FERROCD_TEST_REAL_CLUSTER=1` — the cluster `KUBECONFIG` points at, so the same
//! integration tests hold a real kube-apiserver to account.
//!
//! Tests on a real cluster share it, so each test works in namespaces it names with
//! [`TestCluster::namespace`] (a unique prefix per test run).

use std::path::{Path, PathBuf};

use crate::Cluster;

/// A cluster for one test, with a kubeconfig file on disk for processes under test.
pub struct TestCluster {
    /// The connection.
    pub cluster: Cluster,
    /// Kubeconfig file for this cluster.
    pub kubeconfig: PathBuf,
    /// The sandbox, when the test runs against one (for fault injection).
    pub sandbox: Option<ferrocd_sandbox::Sandbox>,
    prefix: String,
    _dir: tempfile::TempDir,
}

impl TestCluster {
    /// Starts a sandbox (with `gpus_per_node` GPUs per node), or connects to the real cluster
    /// when `FERROCD_TEST_REAL_CLUSTER=1`.
    pub async fn start_with_gpus(gpus_per_node: u32) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let prefix = format!("t{}", &uuid_like()[..6]);
        if std::env::var("FERROCD_TEST_REAL_CLUSTER").as_deref() == Ok("1") {
            let path = std::env::var_os("KUBECONFIG")
                .map(PathBuf::from)
                .expect("FERROCD_TEST_REAL_CLUSTER=1 needs KUBECONFIG");
            let kubeconfig = dir.path().join("kubeconfig");
            std::fs::copy(&path, &kubeconfig).expect("copy KUBECONFIG");
            let cluster = Cluster::from_kubeconfig(Some(&kubeconfig), None)
                .await
                .expect("connect to the cluster in KUBECONFIG");
            return Self {
                cluster,
                kubeconfig,
                sandbox: None,
                prefix,
                _dir: dir,
            };
        }
        let sandbox = ferrocd_sandbox::Sandbox::start(ferrocd_sandbox::SandboxOptions {
            gpus_per_node,
            ..Default::default()
        })
        .await
        .expect("start the sandbox");
        let kubeconfig = dir.path().join("kubeconfig");
        sandbox
            .write_kubeconfig(&kubeconfig)
            .expect("write kubeconfig");
        let cluster = Cluster::from_kubeconfig(Some(&kubeconfig), None)
            .await
            .expect("connect to the sandbox");
        Self {
            cluster,
            kubeconfig,
            sandbox: Some(sandbox),
            prefix,
            _dir: dir,
        }
    }

    /// Starts a sandbox without GPUs (see [`TestCluster::start_with_gpus`]).
    pub async fn start() -> Self {
        Self::start_with_gpus(0).await
    }

    /// A namespace name unique to this test run: `<prefix>-<name>`.
    pub fn namespace(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// Whether the test runs against a real cluster (and must not rely on sandbox-only
    /// behaviour such as fault injection).
    pub fn is_real(&self) -> bool {
        self.sandbox.is_none()
    }

    /// The kubeconfig path.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Stops the sandbox, if any.
    pub async fn shutdown(self) {
        if let Some(sandbox) = self.sandbox {
            sandbox.shutdown().await;
        }
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:012x}",
        (nanos ^ (std::process::id() as u128) << 20) & 0xffff_ffff_ffff
    )
}
