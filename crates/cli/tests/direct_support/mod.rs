//! Shared set-up of the direct-mode tests: a TestCluster (sandbox, or the real cluster of
//! KUBECONFIG with FERROCD_TEST_REAL_CLUSTER=1), a namespace of its own, a source folder,
//! and helpers that run the real `ferrocd` binary and `kubectl` against it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use ferrocd_cluster::testing::TestCluster;
use ferrocd_model::ResourceKey;
use serde_json::{Value, json};

/// One test's world.
pub struct Env {
    pub tc: TestCluster,
    /// The test's namespace (exists).
    pub ns: String,
    pub dir: tempfile::TempDir,
}

/// What a command printed and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Panics with both streams unless the exit code is `code`.
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

impl Env {
    pub async fn new(name: &str) -> Self {
        Self::with_gpus(name, 0).await
    }

    pub async fn with_gpus(name: &str, gpus: u32) -> Self {
        // kube's TLS needs a process-wide crypto provider (the sandbox installs one; a real
        // cluster with FERROCD_TEST_REAL_CLUSTER=1 needs it here).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tc = TestCluster::start_with_gpus(gpus).await;
        let ns = tc.namespace(name);
        tc.cluster
            .apply(
                &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                &Default::default(),
            )
            .await
            .expect("create the test namespace");
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(dir.path().join("app")).expect("app folder");
        Self { tc, ns, dir }
    }

    /// The source folder.
    pub fn app_dir(&self) -> PathBuf {
        self.dir.path().join("app")
    }

    /// Replaces the source folder's content with one file.
    pub fn set_source(&self, yaml: &str) {
        let dir = self.app_dir();
        for entry in std::fs::read_dir(&dir).expect("read app folder").flatten() {
            std::fs::remove_file(entry.path()).expect("clean app folder");
        }
        std::fs::write(dir.join("app.yaml"), yaml).expect("write source");
    }

    /// Writes a file next to the source folder; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// Runs `ferrocd <verb> --app <app> --kubeconfig K -n NS <extra…> APP_DIR`.
    pub async fn ferrocd(&self, verb: &str, app: &str, extra: &[&str]) -> Run {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferrocd"));
        cmd.arg(verb)
            .arg("--app")
            .arg(app)
            .arg("--kubeconfig")
            .arg(self.tc.kubeconfig())
            .arg("-n")
            .arg(&self.ns)
            .args(extra)
            .arg(self.app_dir());
        Run::from(cmd.output().await.expect("run ferrocd"))
    }

    /// Runs the real kubectl against the cluster.
    pub async fn kubectl(&self, args: &[&str]) -> Run {
        let out = tokio::process::Command::new(ferrocd_reference_tools::kubectl())
            .arg("--kubeconfig")
            .arg(self.tc.kubeconfig())
            .args(args)
            .output()
            .await
            .expect("run kubectl");
        Run::from(out)
    }

    /// Reads a live object of the test namespace.
    pub async fn get(&self, group: &str, kind: &str, name: &str) -> Option<Value> {
        self.tc
            .cluster
            .get(&ResourceKey::new(group, kind, self.ns.as_str(), name))
            .await
            .expect("get")
    }

    /// Creates or updates an object directly (not through ferrocd).
    pub async fn apply_directly(&self, obj: Value) -> Value {
        self.tc
            .cluster
            .apply(
                &obj,
                &ferrocd_cluster::WriteOptions {
                    field_manager: "someone-else".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("apply directly")
    }
}

/// `metadata.resourceVersion` of an object.
pub fn rv(obj: &Value) -> String {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Relative path helper for messages.
pub fn show(p: &Path) -> String {
    p.display().to_string()
}
