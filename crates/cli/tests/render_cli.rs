//! `ferrocd render` end to end: the real binary against directories, `file://` repositories
//! and a real smart-HTTP Git server with basic auth. One test per bad-input case.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferrocd_source::testing::{GitHttpServer, make_fixture, rev_parse};

fn ferrocd(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrocd"))
        .args(args)
        .env("FERROCD_CACHE_DIR", cache)
        .env_remove("FERROCD_REPO_CREDS")
        .output()
        .expect("running ferrocd")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

struct Fixture {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let script = testdata("make_gitops_repo.sh");
        Fixture {
            dir: make_fixture(script.to_str().expect("utf-8 path")),
            cache: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn bare(&self) -> PathBuf {
        self.dir.path().join("gitops.git")
    }
    fn file_url(&self) -> String {
        format!("file://{}", self.bare().display())
    }
    fn sha(&self, rev: &str) -> String {
        rev_parse(&self.bare(), rev)
    }
    /// Writes an Application file and renders it.
    fn render_app(&self, app_yaml: &str, extra: &[&str]) -> Output {
        let file = self.dir.path().join("app.yaml");
        std::fs::write(&file, app_yaml).expect("write app");
        let mut args = vec!["render", file.to_str().expect("utf-8")];
        args.extend_from_slice(extra);
        ferrocd(&args, self.cache.path())
    }
}

fn app(repo_url: &str, revision: &str, path: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: serving\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: {repo_url}\n    targetRevision: \"{revision}\"\n    path: {path}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: serving\n"
    )
}

fn golden(name: &str, actual: &str) {
    let path = testdata(&format!("golden/{name}"));
    if std::env::var_os("FERROCD_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set FERROCD_UPDATE_GOLDEN=1 to create)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "golden file {name} differs");
}

#[test]
fn golden_directory_source() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = repo_root().join("examples/ml-platform/apps/monitoring");
    let out = ferrocd(&["render", dir.to_str().expect("utf-8")], cache.path());
    assert!(out.status.success(), "{}", stderr(&out));
    golden("monitoring.yaml", &stdout(&out));
}

#[test]
fn golden_jsonnet_source_and_json_output() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = repo_root().join("examples/ml-platform/apps/feature-store");
    let out = ferrocd(
        &[
            "render",
            dir.to_str().expect("utf-8"),
            "--jsonnet",
            "--ext-str",
            "env=prod",
            "--tla-code",
            "replicas=3",
            "-o",
            "json",
        ],
        cache.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json list");
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    assert_eq!(list[1]["spec"]["replicas"], 3);
    golden("feature-store.json", &stdout(&out));
}

#[test]
fn jsonnet_files_are_skipped_without_the_flag() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = repo_root().join("examples/ml-platform/apps/feature-store");
    let out = ferrocd(&["render", dir.to_str().expect("utf-8")], cache.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn include_exclude_and_recurse_flags() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = repo_root().join("examples/ml-platform/apps/monitoring");
    let d = dir.to_str().expect("utf-8");
    let out = ferrocd(
        &[
            "render",
            d,
            "--include",
            "{namespace.yaml,alert-rules.json}",
            "-o",
            "json",
        ],
        cache.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let kinds: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|o| o["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["ConfigMap", "Namespace"]);
    let out = ferrocd(
        &["render", d, "--exclude", "*.json", "-o", "json"],
        cache.path(),
    );
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(4));
}

#[test]
fn every_revision_form_over_file_url() {
    let fx = Fixture::new();
    let cases = [
        ("HEAD", "main", "2.1.0-rc.1"),
        ("main", "main", "2.1.0-rc.1"),
        ("dev", "dev", "dev"),
        ("v1.2.0", "v1.2.0", "1.2.0"),
        ("1.2.*", "v1.2.5", "1.2.5"),
        (">=1.0.0 <2.0.0", "v1.2.5", "1.2.5"),
        ("^1.0", "v1.2.5", "1.2.5"),
        ("*", "v2.0.0", "2.0.0"),
    ];
    for (revision, expect_ref, release) in cases {
        let out = fx.render_app(
            &app(&fx.file_url(), revision, "apps/serving"),
            &["-o", "json"],
        );
        assert!(out.status.success(), "{revision}: {}", stderr(&out));
        let sha = fx.sha(expect_ref);
        assert!(
            stderr(&out).contains(&format!("revision: {sha}")),
            "{revision}: {}",
            stderr(&out)
        );
        let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        assert_eq!(
            list[0]["metadata"]["labels"]["release"], release,
            "{revision}"
        );
    }
    // Full and short commit ids.
    let sha = fx.sha("v1.0.0");
    for revision in [sha.clone(), sha[..8].to_string()] {
        let out = fx.render_app(&app(&fx.file_url(), &revision, "apps/serving"), &[]);
        assert!(out.status.success(), "{revision}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("revision: {sha}")));
        assert!(stdout(&out).contains("model-server:1.0.0"));
    }
}

#[test]
fn revision_flag_overrides_target_revision() {
    let fx = Fixture::new();
    let out = fx.render_app(
        &app(&fx.file_url(), "main", "apps/serving"),
        &["--revision", "v1.0.0"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("model-server:1.0.0"));
    assert!(stderr(&out).contains(&format!("revision: {}", fx.sha("v1.0.0"))));
}

#[test]
fn smart_http_with_basic_auth() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some(("gitops", "s3cr3t-pw")));
    let url = server.url("gitops.git");
    let creds = fx.dir.path().join("creds.yaml");
    std::fs::write(
        &creds,
        format!("repositories:\n  - url: {url}\n    username: gitops\n    password: s3cr3t-pw\n"),
    )
    .expect("write creds");
    let out = fx.render_app(
        &app(&url, "v1.2.5", "apps/serving"),
        &["--repo-creds", creds.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("model-server:1.2.5"));

    // Wrong password: one clear line, exit 1, and the password never shows.
    let bad = fx.dir.path().join("bad-creds.yaml");
    std::fs::write(
        &bad,
        format!(
            "repositories:\n  - url: {url}\n    username: gitops\n    password: wr0ng-pw-xyz\n"
        ),
    )
    .expect("write creds");
    let cache = tempfile::tempdir().expect("tempdir");
    let file = fx.dir.path().join("app.yaml");
    let out = ferrocd(
        &[
            "render",
            file.to_str().expect("utf-8"),
            "--repo-creds",
            bad.to_str().expect("utf-8"),
        ],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("authentication failed"), "{err}");
    assert!(
        !err.contains("wr0ng-pw-xyz") && !stdout(&out).contains("wr0ng-pw-xyz"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // Credentials written into the URL are not echoed either.
    let leaky_url = url.replace("http://", "http://gitops:wr0ng-pw-xyz@");
    let out = fx.render_app(&app(&leaky_url, "main", "apps/serving"), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("wr0ng-pw-xyz"), "{}", stderr(&out));
}

#[test]
fn jsonnet_application_with_ext_vars_tlas_and_libs() {
    let fx = Fixture::new();
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: features, namespace: argocd}}\nspec:\n  project: default\n  source:\n    repoURL: {}\n    targetRevision: main\n    path: apps/features\n    directory:\n      jsonnet:\n        extVars:\n          - {{name: env, value: prod}}\n          - {{name: shards, value: '2 * 4', code: true}}\n        tlas:\n          - {{name: team, value: recsys}}\n        libs: [lib]\n  destination: {{server: https://kubernetes.default.svc, namespace: features}}\n",
        fx.file_url()
    );
    let out = fx.render_app(&yaml, &["-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(list[0]["metadata"]["name"], "features-prod");
    assert_eq!(list[0]["metadata"]["labels"]["team"], "recsys");
    assert_eq!(list[0]["data"]["shards"], "8");
}

#[test]
fn multi_source_with_ref_source() {
    let fx = Fixture::new();
    let url = fx.file_url();
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: multi, namespace: argocd}}\nspec:\n  project: default\n  sources:\n    - repoURL: {url}\n      targetRevision: v1.0.0\n      path: apps/serving\n    - repoURL: {url}\n      targetRevision: main\n      ref: values\n    - repoURL: {url}\n      targetRevision: dev\n      path: apps/leaky\n      directory: {{include: ok.yaml}}\n  destination: {{server: https://kubernetes.default.svc, namespace: serving}}\n"
    );
    let out = fx.render_app(&yaml, &["-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["model-server", "model-server", "ok"]);
    let err = stderr(&out);
    for rev in ["v1.0.0", "main", "dev"] {
        assert!(
            err.contains(&format!("revision: {}", fx.sha(rev))),
            "{rev}: {err}"
        );
    }
}

#[test]
fn helm_value_files_that_escape_or_miss_their_ref_are_refused() {
    let fx = Fixture::new();
    let url = fx.file_url();
    let helm_app = |value_file: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: airflow, namespace: argocd}}\nspec:\n  project: default\n  sources:\n    - repoURL: {url}\n      targetRevision: main\n      path: apps/airflow\n      helm:\n        valueFiles: ['{value_file}']\n    - repoURL: {url}\n      targetRevision: main\n      ref: values\n  destination: {{server: https://kubernetes.default.svc, namespace: airflow}}\n"
        )
    };
    let out = fx.render_app(&helm_app("$values/envs/missing.yaml"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("value file \"envs/missing.yaml\" does not exist"),
        "{}",
        stderr(&out)
    );
    // Refused by validation, before anything is fetched.
    let out = fx.render_app(&helm_app("$values/../../../etc/passwd"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("valueFiles[0]: must not point outside the repository"),
        "{}",
        stderr(&out)
    );
    let out = fx.render_app(&helm_app("$nope/values.yaml"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown source ref \"$nope\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kustomize_application_with_argo_overrides() {
    let fx = Fixture::new();
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: mlflow, namespace: argocd}}\nspec:\n  project: default\n  source:\n    repoURL: {}\n    targetRevision: main\n    path: apps/mlflow/overlays/prod\n    kustomize:\n      namespace: mlflow\n      images: ['ghcr.io/example/mlflow:2.15.0']\n      commonLabels: {{team: ml-platform}}\n  destination: {{server: https://kubernetes.default.svc, namespace: mlflow}}\n",
        fx.file_url()
    );
    let out = fx.render_app(&yaml, &["-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let deploy = list
        .as_array()
        .expect("list")
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("deployment");
    assert_eq!(deploy["metadata"]["name"], "prod-mlflow");
    assert_eq!(deploy["metadata"]["namespace"], "mlflow");
    assert_eq!(deploy["metadata"]["labels"]["team"], "ml-platform");
    assert_eq!(deploy["spec"]["replicas"], 2);
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "ghcr.io/example/mlflow:2.15.0");
    // The generated ConfigMap name (with its content hash) is referenced by the Deployment.
    let cm = list
        .as_array()
        .expect("list")
        .iter()
        .find(|o| o["kind"] == "ConfigMap")
        .expect("configmap");
    assert_eq!(
        container["envFrom"][0]["configMapRef"]["name"],
        cm["metadata"]["name"]
    );
}

#[test]
fn helm_application_with_value_file_from_ref_source() {
    let fx = Fixture::new();
    let url = fx.file_url();
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: airflow, namespace: argocd}}\nspec:\n  project: default\n  sources:\n    - repoURL: {url}\n      targetRevision: main\n      path: apps/airflow\n      helm:\n        releaseName: af\n        valueFiles: ['$values/envs/prod/values.yaml']\n    - repoURL: {url}\n      targetRevision: main\n      ref: values\n  destination: {{server: https://kubernetes.default.svc, namespace: airflow}}\n"
    );
    let out = fx.render_app(&yaml, &["-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(list[0]["metadata"]["name"], "af-scheduler");
    assert_eq!(list[0]["spec"]["replicas"], 3);
    // Parameters override value files, as with helm --set.
    let with_param = yaml.replace(
        "        releaseName: af\n",
        "        releaseName: af\n        parameters: [{name: scheduler.replicas, value: '5'}]\n",
    );
    let out = fx.render_app(&with_param, &["-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(list[0]["spec"]["replicas"], 5);
}

#[test]
fn helm_chart_folder_matches_helm_template_flags() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("templates")).expect("mkdir");
    std::fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: workers\nversion: 0.3.0\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("values.yaml"),
        "replicas: 1\nqueue: default\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("templates/workers.yaml"),
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {{ .Release.Name }}-workers\n  namespace: {{ .Release.Namespace }}\nspec:\n  replicas: {{ .Values.replicas }}\n  serviceName: workers\n  template:\n    metadata:\n      labels: {queue: {{ .Values.queue | quote }}}\n",
    )
    .expect("write");
    let out = ferrocd(
        &[
            "render",
            dir.path().to_str().expect("utf-8"),
            "--release-name",
            "af",
            "-n",
            "airflow",
            "--set",
            "replicas=4",
            "--set-string",
            "queue=gpu",
        ],
        cache.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("# Source: workers/templates/workers.yaml"),
        "{text}"
    );
    assert!(
        text.contains("name: af-workers") && text.contains("namespace: airflow"),
        "{text}"
    );
    assert!(
        text.contains("replicas: 4") && text.contains("queue: gpu"),
        "{text}"
    );
}

#[test]
fn plugin_sources_answer_not_supported_yet() {
    let fx = Fixture::new();
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: p, namespace: argocd}}\nspec:\n  project: default\n  source:\n    repoURL: {}\n    targetRevision: main\n    path: apps/serving\n    plugin: {{name: envsubst}}\n  destination: {{server: https://kubernetes.default.svc, namespace: p}}\n",
        fx.file_url()
    );
    let out = fx.render_app(&yaml, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not supported yet"),
        "{}",
        stderr(&out)
    );
}

// ---- bad input: one test per case; exit code 1, one clear line, no panic ----

fn assert_one_line_error(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "nothing is printed on failure");
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("ok.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: b\n   labels: {}\n",
    )
    .expect("write");
    let out = ferrocd(
        &["render", dir.path().to_str().expect("utf-8")],
        cache.path(),
    );
    assert_one_line_error(&out, "error: svc.yaml:5:");
}

#[test]
fn malformed_application_names_the_field() {
    let fx = Fixture::new();
    let yaml = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec:\n  project: default\n  source:\n    path: apps/serving\n  destination: {namespace: x}\n";
    let out = fx.render_app(yaml, &[]);
    assert_one_line_error(&out, "spec.source.repoURL");
    let out = fx.render_app(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec: [\n",
        &[],
    );
    assert_one_line_error(&out, "app.yaml:");
}

#[test]
fn missing_path_is_named() {
    let fx = Fixture::new();
    let out = fx.render_app(&app(&fx.file_url(), "main", "apps/does-not-exist"), &[]);
    assert_one_line_error(&out, "path \"apps/does-not-exist\" does not exist");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = ferrocd(&["render", "/definitely/not/here"], cache.path());
    assert_one_line_error(&out, "/definitely/not/here: no such file or directory");
}

#[test]
fn unknown_revision_is_named() {
    let fx = Fixture::new();
    let out = fx.render_app(&app(&fx.file_url(), "release-42", "apps/serving"), &[]);
    assert_one_line_error(&out, "revision \"release-42\" not found");
    let out = fx.render_app(&app(&fx.file_url(), "9.9.*", "apps/serving"), &[]);
    assert_one_line_error(&out, "9.9.*");
}

#[test]
fn unreachable_repository_is_named() {
    let fx = Fixture::new();
    // A port nothing listens on (bound then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let out = fx.render_app(
        &app(
            &format!("http://127.0.0.1:{port}/gitops.git"),
            "main",
            "apps/serving",
        ),
        &[],
    );
    assert_one_line_error(&out, "unreachable");
    let out = fx.render_app(
        &app("file:///nonexistent/repo.git", "main", "apps/serving"),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn path_escaping_the_repository_is_refused() {
    let fx = Fixture::new();
    for path in ["../../etc", "/etc", "apps/../../.."] {
        let out = fx.render_app(&app(&fx.file_url(), "main", path), &[]);
        assert_one_line_error(&out, "spec.source.path: must");
        assert!(
            stderr(&out).contains("outside the repository") || stderr(&out).contains("relative"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn symlink_pointing_outside_is_refused() {
    let fx = Fixture::new();
    let out = fx.render_app(&app(&fx.file_url(), "main", "apps/leaky"), &[]);
    assert_one_line_error(&out, "apps/leaky/outside.yaml");
    assert!(stderr(&out).contains("refusing to read outside the repository"));
}

#[test]
fn include_glob_escaping_is_refused() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = repo_root().join("examples/ml-platform/apps/monitoring");
    let out = ferrocd(
        &[
            "render",
            dir.to_str().expect("utf-8"),
            "--include",
            "../../*.yaml",
        ],
        cache.path(),
    );
    assert_one_line_error(&out, "include glob \"../../*.yaml\" escapes with ..");
}

#[test]
fn kustomize_helm_charts_need_enable_helm() {
    let cache = tempfile::tempdir().expect("tempdir");
    let case = repo_root().join("crates/kustomize/testdata/cases/helm-values-inline");
    let dir = case.to_str().expect("utf-8");
    let out = ferrocd(&["render", dir], cache.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--enable-helm"), "{}", stderr(&out));
    let out = ferrocd(
        &["render", dir, "--enable-helm", "-o", "json"],
        cache.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert!(!list.as_array().expect("list").is_empty());
}

#[test]
fn kustomize_remote_git_resources_go_through_the_repo_cache() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some(("gitops", "kust-pw")));
    let creds = fx.dir.path().join("creds.yaml");
    std::fs::write(
        &creds,
        format!(
            "repositories:\n  - url: {}\n    username: gitops\n    password: kust-pw\n",
            server.url("gitops.git")
        ),
    )
    .expect("write creds");
    let overlay = tempfile::tempdir().expect("tempdir");
    let remote_http = format!("{}//apps/mlflow/base?ref=v1.0.0", server.url("gitops.git"));
    let remote_file = format!("{}//apps/mlflow/overlays/prod?ref=dev", fx.file_url());
    std::fs::write(
        overlay.path().join("kustomization.yaml"),
        format!("resources:\n  - {remote_http}\n  - {remote_file}\nnamespace: ml\n"),
    )
    .expect("write kustomization");
    let out = ferrocd(
        &[
            "render",
            overlay.path().to_str().expect("utf-8"),
            "--repo-creds",
            creds.to_str().expect("utf-8"),
            "-o",
            "json",
        ],
        fx.cache.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let names: Vec<String> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|o| {
            format!(
                "{}/{}@{}",
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or(""),
                o["metadata"]["namespace"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        names.iter().any(|n| n == "Deployment/mlflow@ml"),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n == "Deployment/prod-mlflow@ml"),
        "{names:?}"
    );
    assert!(server.request_count() > 0, "fetched over smart HTTP");
}
