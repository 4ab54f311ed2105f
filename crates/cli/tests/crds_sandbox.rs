//! `ferrocd crds` is accepted by the real `kubectl apply --server-side`, and the API server
//! then serves Applications and AppProjects: run against `ferrocd sandbox` started as its
//! own process (so this also proves the `sandbox` command: kubeconfig out, clean exit on
//! SIGTERM).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn kubectl_bin() -> PathBuf {
    ferrocd_reference_tools::kubectl()
}

struct SandboxProcess {
    child: Child,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl SandboxProcess {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        let child = Command::new(env!("CARGO_BIN_EXE_ferrocd"))
            .args(["sandbox", "--port", "0", "--kubeconfig-out"])
            .arg(&kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting ferrocd sandbox");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !kubeconfig.exists() {
            assert!(
                Instant::now() < deadline,
                "sandbox wrote no kubeconfig within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The file is written once the server listens; give the write a moment to finish.
        std::thread::sleep(Duration::from_millis(100));
        SandboxProcess {
            child,
            kubeconfig,
            _dir: dir,
        }
    }

    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(kubectl_bin());
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).args(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("running kubectl");
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(text.as_bytes())
                .expect("writing stdin");
        }
        child.wait_with_output().expect("kubectl output")
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "sandbox did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "kubectl failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn crds_apply_server_side_and_serve_applications() {
    let crds = Command::new(env!("CARGO_BIN_EXE_ferrocd"))
        .arg("crds")
        .output()
        .expect("ferrocd crds");
    assert!(crds.status.success());
    let crds = String::from_utf8(crds.stdout).expect("utf-8");

    let sandbox = SandboxProcess::start();
    let applied = ok(&sandbox.kubectl(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "ferrocd",
            "-f",
            "-",
        ],
        Some(&crds),
    ));
    assert!(
        applied.contains("applications.argoproj.io serverside-applied"),
        "{applied}"
    );
    assert!(
        applied.contains("appprojects.argoproj.io serverside-applied"),
        "{applied}"
    );
    ok(&sandbox.kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "crd/applications.argoproj.io",
            "--timeout=20s",
        ],
        None,
    ));

    ok(&sandbox.kubectl(&["create", "namespace", "argocd"], None));
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/testdata/roundtrip");
    for file in [
        "app-helm-multisource-values-ref.yaml",
        "app-kustomize-images.yaml",
        "project-ml-platform.yaml",
    ] {
        let text = std::fs::read_to_string(testdata.join(file)).expect("read testdata");
        // Objects without a namespace land in argocd, as Argo CD expects them.
        ok(&sandbox.kubectl(
            &["apply", "--server-side", "-n", "argocd", "-f", "-"],
            Some(&text),
        ));
    }
    let apps = ok(&sandbox.kubectl(&["get", "applications", "-n", "argocd", "-o", "name"], None));
    assert_eq!(apps.lines().count(), 2, "{apps}");
    let projects = ok(&sandbox.kubectl(&["get", "appprojects", "-A", "-o", "name"], None));
    assert!(projects.lines().count() >= 1, "{projects}");
    // Short names from the CRD work.
    ok(&sandbox.kubectl(&["get", "apps.argoproj.io", "-n", "argocd"], None));

    let status = sandbox.stop();
    assert!(status.success(), "sandbox exit status {status}");
}
