//! The cluster the conformance suite runs against: an in-process sandbox, or the real cluster
//! of `KUBECONFIG` when `FERROCD_TEST_REAL_CLUSTER=1`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ferrocd_sandbox::{Sandbox, SandboxOptions};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

/// A cluster for one test.
pub struct TestCluster {
    /// A client for it.
    pub client: kube::Client,
    /// Its kubeconfig file (for kubectl).
    pub kubeconfig: PathBuf,
    /// The sandbox, unless the cluster is real.
    pub sandbox: Option<Sandbox>,
    namespaces: Vec<String>,
    _dir: tempfile::TempDir,
}

/// Whether the suite targets a real cluster.
pub fn real_cluster() -> bool {
    std::env::var("FERROCD_TEST_REAL_CLUSTER").is_ok_and(|v| v == "1")
        && std::env::var_os("KUBECONFIG").is_some()
}

/// Options most tests use: fast pods.
pub fn fast() -> SandboxOptions {
    SandboxOptions {
        pod_ready_delay: Duration::from_millis(50),
        bookmark_interval: Duration::from_millis(200),
        ..SandboxOptions::default()
    }
}

impl TestCluster {
    /// A sandbox with fast pods, or the real cluster.
    pub async fn start() -> TestCluster {
        Self::start_with(fast()).await
    }

    /// A sandbox with the given options, or the real cluster.
    pub async fn start_with(opts: SandboxOptions) -> TestCluster {
        let dir = tempfile::tempdir().expect("tempdir");
        if real_cluster() {
            let kubeconfig = PathBuf::from(std::env::var_os("KUBECONFIG").expect("KUBECONFIG"));
            let client = kube::Client::try_default()
                .await
                .expect("client for the real cluster");
            return TestCluster {
                client,
                kubeconfig,
                sandbox: None,
                namespaces: Vec::new(),
                _dir: dir,
            };
        }
        let sandbox = Sandbox::start(opts).await.expect("sandbox starts");
        let kubeconfig = dir.path().join("kubeconfig");
        sandbox
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        let client = sandbox.client().await.expect("client");
        TestCluster {
            client,
            kubeconfig,
            sandbox: Some(sandbox),
            namespaces: Vec::new(),
            _dir: dir,
        }
    }

    /// Whether this is the sandbox (fault injection and timing checks only run there).
    pub fn is_sandbox(&self) -> bool {
        self.sandbox.is_some()
    }

    /// Creates a namespace with a unique name.
    pub async fn namespace(&mut self, prefix: &str) -> String {
        let name = format!("{prefix}-{}", &uuid_like()[..8]);
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
        api.create(&PostParams::default(), &ns)
            .await
            .expect("namespace created");
        self.namespaces.push(name.clone());
        name
    }

    /// Runs kubectl with the cluster's kubeconfig (needs a multi-thread runtime).
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, None)
    }

    /// Runs kubectl with input on stdin.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use std::io::Write;
        let mut cmd = Command::new(tools_bin().join("kubectl"));
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // kubectl talks to the in-process server: block this worker only, never the runtime
        tokio::task::block_in_place(|| {
            let mut child = cmd.spawn().expect("kubectl runs");
            if let Some(input) = stdin {
                child
                    .stdin
                    .take()
                    .expect("stdin")
                    .write_all(input.as_bytes())
                    .expect("stdin written");
            }
            child.wait_with_output().expect("kubectl finishes")
        })
    }

    /// Runs kubectl and asserts success; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl_stdin(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Deletes the test namespaces and stops the sandbox.
    pub async fn finish(self) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        for ns in &self.namespaces {
            let _ = api.delete(ns, &DeleteParams::default()).await;
        }
        if let Some(s) = self.sandbox {
            s.shutdown().await;
        }
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h: u64 = 1469598103934665603 ^ (n as u64) ^ u64::from(std::process::id());
    let mut s = String::new();
    for _ in 0..12 {
        h = h
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push(char::from(b'a' + ((h >> 33) % 26) as u8));
    }
    s
}

/// The directory with the reference `kubectl`: `FERROCD_TOOLS_BIN`, or what the project's
/// installer prints.
pub fn tools_bin() -> PathBuf {
    ferrocd_reference_tools::bin_dir()
}

/// Polls `f` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The `Status` of a failed API call.
pub fn status_of(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}
