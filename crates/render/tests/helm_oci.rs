//! Applications whose source is a chart in an OCI registry: Debian's `docker-registry`
//! (the CNCF distribution registry) on loopback, charts pushed with the real `helm push`,
//! rendered through [`AppRenderer`] and compared with `helm template oci://...`.
//! Anonymous and htpasswd (basic challenge) registries are both exercised.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocd_model::Application;
use ferrocd_render::application::{AppRenderOptions, AppRenderer};
use ferrocd_source::{CredentialStore, RepoCache};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

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

/// A `docker-registry` process on a free loopback port, killed on drop.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Starts the registry; with `user`, behind htpasswd basic auth.
    fn start(user: Option<(&str, &str)>) -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).is_file(),
            "{REGISTRY_BIN} is not installed: run scripts/install-deps (Debian package docker-registry)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((name, password)) = user {
            let hash = bcrypt::hash(password, 5).expect("bcrypt");
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{name}:{hash}\n")).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: ml-registry\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry runs");
        let registry = Registry {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Helm with its registry config and caches inside `home`, never the user's.
fn helm_in(home: &Path) -> Command {
    let mut cmd = Command::new(helm());
    cmd.env("HELM_REGISTRY_CONFIG", home.join("registry.json"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"));
    cmd
}

/// Packages model-server at `versions` and pushes them to `oci://host/charts`.
fn push(home: &Path, host: &str, versions: &[&str], user: Option<(&str, &str)>) {
    let dist = home.join("dist");
    for version in versions {
        run(helm_in(home)
            .arg("package")
            .arg(chart_dir("model-server"))
            .args(["--version", version, "-d"])
            .arg(&dist));
        let mut cmd = helm_in(home);
        cmd.arg("push")
            .arg(dist.join(format!("model-server-{version}.tgz")))
            .arg(format!("oci://{host}/charts"))
            .arg("--plain-http");
        if let Some((u, p)) = user {
            cmd.args(["--username", u, "--password", p]);
        }
        run(&mut cmd);
    }
}

fn app(repo_url: &str, revision: &str, helm: &str) -> Application {
    let yaml = format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: bert
  namespace: argocd
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: serving
  source:
    repoURL: {repo_url}
    chart: model-server
    targetRevision: "{revision}"
{helm}"#
    );
    Application::from_yaml(&yaml, "app.yaml").expect("application parses")
}

fn helm_template_oci(
    home: &Path,
    host: &str,
    version: &str,
    args: &[&str],
    user: Option<(&str, &str)>,
) -> Vec<serde_json::Value> {
    let mut cmd = helm_in(home);
    cmd.args(["template", "bert"])
        .arg(format!("oci://{host}/charts/model-server"))
        .args(["--version", version, "--plain-http"])
        .args(["--namespace", "serving", "--include-crds"])
        .args(args);
    if let Some((u, p)) = user {
        cmd.args(["--username", u, "--password", p]);
    }
    let out = run(&mut cmd);
    ferrocd_manifest::parse_documents(&out, "helm")
        .expect("helm output parses")
        .into_iter()
        .map(|m| m.object)
        .collect()
}

fn objects(rendered: &ferrocd_render::application::RenderedApp) -> Vec<serde_json::Value> {
    rendered.manifests().map(|m| m.object.clone()).collect()
}

#[test]
fn oci_charts_render_like_helm_template() {
    let registry = Registry::start(None);
    let home = tempfile::tempdir().expect("tempdir");
    push(
        home.path(),
        &registry.host(),
        &["0.9.1", "1.0.0", "1.0.4", "1.1.0-rc.1"],
        None,
    );
    let cache = Arc::new(RepoCache::new(
        home.path().join("ferrocd"),
        CredentialStore::new(),
    ));
    let renderer = AppRenderer::new(cache);
    let repo_url = format!("oci://{}/charts", registry.host());

    // An exact tag.
    let values = "    helm:\n      valuesObject:\n        gpu:\n          enabled: true\n";
    let rendered = renderer
        .render(
            &app(&repo_url, "1.0.0", values),
            &AppRenderOptions::default(),
        )
        .expect("renders 1.0.0");
    assert_eq!(rendered.revisions(), ["1.0.0"]);
    let expected = helm_template_oci(
        home.path(),
        &registry.host(),
        "1.0.0",
        &["--set", "gpu.enabled=true"],
        None,
    );
    assert!(expected.len() >= 2);
    assert_eq!(objects(&rendered), expected);

    // A constraint over the tag list (pre-releases excluded).
    let rendered = renderer
        .render(&app(&repo_url, "1.*", ""), &AppRenderOptions::default())
        .expect("renders 1.*");
    assert_eq!(rendered.revisions(), ["1.0.4"]);
    assert_eq!(
        objects(&rendered),
        helm_template_oci(home.path(), &registry.host(), "1.0.4", &[], None)
    );

    // A missing version lists the tags that exist.
    let err = renderer
        .render(&app(&repo_url, "2.0.0", ""), &AppRenderOptions::default())
        .expect_err("no 2.0.0");
    let msg = err.to_string();
    assert!(
        msg.contains("chart \"model-server\" has no version matching \"2.0.0\" (available: 1.1.0-rc.1, 1.0.4, 1.0.0, 0.9.1)"),
        "{msg}"
    );
    // A repository that does not exist.
    let err = renderer
        .render(
            &app(&format!("oci://{}/elsewhere", registry.host()), "1.0.0", ""),
            &AppRenderOptions::default(),
        )
        .expect_err("no such repository");
    assert!(err.to_string().contains("model-server"), "{err}");
}

#[test]
fn oci_registries_with_basic_auth_use_helm_repository_secrets() {
    let user = ("ml-ci", "p4ss-w0rd-oci");
    let registry = Registry::start(Some(user));
    let home = tempfile::tempdir().expect("tempdir");
    push(home.path(), &registry.host(), &["2.3.0"], Some(user));
    let repo_url = format!("oci://{}/charts", registry.host());

    let anonymous = AppRenderer::new(Arc::new(RepoCache::new(
        home.path().join("anon"),
        CredentialStore::new(),
    )));
    let err = anonymous
        .render(&app(&repo_url, "2.3.0", ""), &AppRenderOptions::default())
        .expect_err("needs credentials");
    assert!(err.to_string().contains("authentication failed"), "{err}");

    let secret = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "ml-registry",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repository"}
        },
        "stringData": {
            "type": "helm",
            "enableOCI": "true",
            "url": format!("{}/charts", registry.host()),
            "username": user.0,
            "password": user.1
        }
    });
    let store = CredentialStore::from_secrets([&secret]).expect("secret");
    let renderer = AppRenderer::new(Arc::new(RepoCache::new(home.path().join("auth"), store)));
    let rendered = renderer
        .render(&app(&repo_url, "~2.3", ""), &AppRenderOptions::default())
        .expect("renders with credentials");
    assert_eq!(rendered.revisions(), ["2.3.0"]);
    assert_eq!(
        objects(&rendered),
        helm_template_oci(home.path(), &registry.host(), "2.3.0", &[], Some(user))
    );
}
