//! Applications whose source is a chart in a Helm repository: a real `helm package`d
//! chart and an `index.yaml` written by `helm repo index`, served over HTTP on loopback
//! (Python's `http.server`), rendered through [`AppRenderer`] and compared with
//! `helm template` of the same archive.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use ferrocd_model::Application;
use ferrocd_render::application::{AppRenderOptions, AppRenderer};
use ferrocd_source::{CredentialStore, RepoCache};

fn helm() -> PathBuf {
    ferrocd_reference_tools::helm()
}

fn chart_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../helm/testdata/charts")
        .join(name)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `python3 -m http.server` on a free loopback port, killed on drop.
struct StaticServer {
    child: Child,
    port: u16,
}

impl StaticServer {
    fn start(dir: &Path) -> StaticServer {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("server prints its port");
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected http.server banner {line:?}"));
        StaticServer { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/ml-charts", self.port)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A repository folder `ml-charts/` with model-server packaged at two versions.
fn repository(root: &Path) -> PathBuf {
    let repo = root.join("ml-charts");
    std::fs::create_dir_all(&repo).expect("mkdir");
    for version in ["1.2.0", "1.2.7", "1.3.0"] {
        run(Command::new(helm())
            .arg("package")
            .arg(chart_dir("model-server"))
            .args(["--version", version, "-d"])
            .arg(&repo));
    }
    run(Command::new(helm()).args(["repo", "index"]).arg(&repo));
    repo
}

fn app(repo_url: &str, revision: &str, helm: &str) -> Application {
    let yaml = format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: resnet
  namespace: argocd
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: inference
  source:
    repoURL: {repo_url}
    chart: model-server
    targetRevision: "{revision}"
{helm}"#
    );
    Application::from_yaml(&yaml, "app.yaml").expect("application parses")
}

fn helm_objects(archive: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let out = run(Command::new(helm())
        .args(["template", "resnet"])
        .arg(archive)
        .args(["--namespace", "inference", "--include-crds"])
        .args(args));
    ferrocd_manifest::parse_documents(&out, "helm")
        .expect("helm output parses")
        .into_iter()
        .map(|m| m.object)
        .collect()
}

#[test]
fn helm_repository_charts_render_like_helm_template() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = repository(tmp.path());
    let server = StaticServer::start(tmp.path());
    let cache = Arc::new(RepoCache::new(
        tmp.path().join("cache"),
        CredentialStore::new(),
    ));
    let renderer = AppRenderer::new(cache.clone());

    let helm_block = r#"    helm:
      valuesObject:
        autoscaling:
          enabled: true
          maxReplicas: 6
      parameters:
        - name: gpu.enabled
          value: "true"
"#;
    let rendered = renderer
        .render(
            &app(&server.url(), "1.2.*", helm_block),
            &AppRenderOptions::default(),
        )
        .expect("renders");
    assert_eq!(rendered.revisions(), ["1.2.7"]);
    let ours: Vec<serde_json::Value> = rendered.manifests().map(|m| m.object.clone()).collect();
    let values = tmp.path().join("values.yaml");
    std::fs::write(&values, "autoscaling:\n  enabled: true\n  maxReplicas: 6\n").expect("write");
    let theirs = helm_objects(
        &repo.join("model-server-1.2.7.tgz"),
        &[
            "--values",
            values.to_str().expect("utf8"),
            "--set",
            "gpu.enabled=true",
        ],
    );
    assert!(theirs.len() >= 3, "{}", theirs.len());
    assert_eq!(ours, theirs);
    assert!(ours.iter().any(|o| o["kind"] == "HorizontalPodAutoscaler"));

    // Latest stable without a revision; the archive is cached on disk.
    let rendered = renderer
        .render(&app(&server.url(), "", ""), &AppRenderOptions::default())
        .expect("renders latest");
    assert_eq!(rendered.revisions(), ["1.3.0"]);
    let ours: Vec<serde_json::Value> = rendered.manifests().map(|m| m.object.clone()).collect();
    assert_eq!(
        ours,
        helm_objects(&repo.join("model-server-1.3.0.tgz"), &[])
    );

    // An exact version already fetched renders with the server gone.
    let url = server.url();
    drop(server);
    let rendered = renderer
        .render(&app(&url, "1.2.7", ""), &AppRenderOptions::default())
        .expect("renders from the cache");
    assert_eq!(rendered.revisions(), ["1.2.7"]);
    let err = renderer
        .render(&app(&url, "1.2.0", ""), &AppRenderOptions::default())
        .expect_err("not cached, server gone");
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[test]
fn missing_versions_are_reported_with_what_exists() {
    let tmp = tempfile::tempdir().expect("tempdir");
    repository(tmp.path());
    let server = StaticServer::start(tmp.path());
    let cache = Arc::new(RepoCache::new(
        tmp.path().join("cache"),
        CredentialStore::new(),
    ));
    let renderer = AppRenderer::new(cache);
    let err = renderer
        .render(&app(&server.url(), "2.x", ""), &AppRenderOptions::default())
        .expect_err("no 2.x");
    assert_eq!(
        err.to_string(),
        format!(
            "repository {}: chart \"model-server\" has no version matching \"2.x\" (available: 1.3.0, 1.2.7, 1.2.0)",
            server.url()
        )
    );
    let err = renderer
        .render(
            &app("git@github.com:ml/charts.git", "1.0.0", ""),
            &AppRenderOptions::default(),
        )
        .expect_err("not a helm repository");
    assert!(
        err.to_string().contains("is not a Helm repository"),
        "{err}"
    );
}
