//! The example GitOps repository `examples/ml-platform`, as the demo and the docs use it:
//! every Application and AppProject is valid and consistent with the project, every app
//! folder renders with the real `ferrocd` binary exactly as the reference tools render it
//! (`helm template`, `kubectl kustomize`), the child Applications render from a Git
//! repository of the example, and dev and prod differ only where they should.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferrocd_model::{AppProject, Application};
use serde_json::Value;

/// The placeholder every Application and AppProject of the example points at.
const REPO_URL: &str = "https://git.example.com/platform/ml-platform.git";

fn example_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ml-platform")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `ferrocd` with its own repository cache.
fn ferrocd(args: &[&str]) -> Output {
    let cache = tempfile::tempdir().expect("tempdir");
    Command::new(env!("CARGO_BIN_EXE_ferrocd"))
        .args(args)
        .env("FERROCD_CACHE_DIR", cache.path())
        .env_remove("FERROCD_REPO_CREDS")
        .output()
        .expect("running ferrocd")
}

/// `ferrocd render ARGS -o json`, as a list of objects; panics with stderr on failure.
fn render(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = ferrocd(&all);
    assert!(
        out.status.success(),
        "ferrocd {all:?} failed: {}",
        stderr(&out)
    );
    match serde_json::from_slice(&out.stdout) {
        Ok(Value::Array(list)) => list,
        other => panic!("ferrocd {all:?}: expected a JSON list, got {other:?}"),
    }
}

/// Runs a reference tool and parses its YAML stream into objects.
fn reference(tool: PathBuf, args: &[&str]) -> Vec<Value> {
    let out = Command::new(&tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", tool.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        tool.display(),
        stderr(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    ferrocd_manifest::parse_documents(&text, "reference output")
        .unwrap_or_else(|e| panic!("{} {args:?}: {e}", tool.display()))
        .into_iter()
        .map(|m| m.object)
        .collect()
}

/// Asserts two renders equal object for object, in order, naming the first difference.
fn assert_same_objects(what: &str, ours: &[Value], theirs: &[Value]) {
    let ids = |list: &[Value]| -> Vec<String> { list.iter().map(object_id).collect() };
    assert_eq!(
        ids(ours),
        ids(theirs),
        "{what}: objects or their order differ"
    );
    for (a, b) in ours.iter().zip(theirs) {
        assert_eq!(a, b, "{what}: {} differs from the reference", object_id(a));
    }
}

fn object_id(o: &Value) -> String {
    format!(
        "{}/{}",
        o["kind"].as_str().unwrap_or("?"),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every YAML file under `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A YAML file of the example, with its path relative to the example root.
struct ArgoFile {
    rel: String,
    text: String,
}

/// The files of the example whose (single) document has the given kind of `argoproj.io`.
fn argo_files(kind: &str) -> Vec<ArgoFile> {
    let root = example_root();
    let mut out = Vec::new();
    for path in yaml_files(&root) {
        let text = std::fs::read_to_string(&path).expect("read");
        let rel = path
            .strip_prefix(&root)
            .expect("under root")
            .display()
            .to_string();
        // Helm templates are not YAML until rendered.
        if rel.contains("/templates/") {
            continue;
        }
        let Ok(docs) = ferrocd_manifest::parse_documents(&text, &rel) else {
            continue;
        };
        if docs
            .iter()
            .any(|m| m.kind() == kind && m.api_version().starts_with("argoproj.io/"))
        {
            assert_eq!(docs.len(), 1, "{rel}: one {kind} per file");
            out.push(ArgoFile { rel, text });
        }
    }
    out
}

fn applications() -> Vec<(String, Application)> {
    argo_files("Application")
        .into_iter()
        .map(|f| {
            let app = Application::from_yaml(&f.text, &f.rel)
                .unwrap_or_else(|e| panic!("{}: {e}", f.rel));
            (f.rel, app)
        })
        .collect()
}

fn project() -> AppProject {
    let files = argo_files("AppProject");
    assert_eq!(files.len(), 1, "one AppProject in the example");
    assert_eq!(files[0].rel, "projects/data-platform-project.yaml");
    AppProject::from_yaml(&files[0].text, &files[0].rel).expect("valid AppProject")
}

/// The environment an Application file belongs to (`clusters/<env>-us-east-1/...`).
fn env_of(rel: &str) -> &'static str {
    if rel.starts_with("clusters/dev-us-east-1/") {
        "dev"
    } else if rel.starts_with("clusters/prod-us-east-1/") {
        "prod"
    } else {
        panic!("{rel}: Applications live under clusters/<cluster>/")
    }
}

fn is_root(rel: &str) -> bool {
    rel.ends_with("/root.yaml")
}

fn source(app: &Application) -> &ferrocd_model::ApplicationSource {
    app.spec.source.as_ref().expect("single source")
}

#[test]
fn every_application_and_project_parses_and_validates() {
    let apps = applications();
    let names: BTreeSet<&str> = apps.iter().map(|(_, a)| a.name()).collect();
    let expected: BTreeSet<&str> = [
        "dev-us-east-1-root",
        "prod-us-east-1-root",
        "projects",
        "airflow-dev",
        "mlflow-dev",
        "model-serving-dev",
        "monitoring-dev",
        "feature-store-dev",
        "airflow-prod",
        "mlflow-prod",
        "model-serving-prod",
        "monitoring-prod",
        "feature-store-prod",
    ]
    .into_iter()
    .collect();
    assert_eq!(names, expected);
    assert_eq!(apps.len(), expected.len(), "no Application twice");
    for (rel, app) in &apps {
        assert_eq!(app.metadata.namespace.as_deref(), Some("argocd"), "{rel}");
        assert_eq!(app.spec.project, "data-platform", "{rel}");
        let src = source(app);
        assert_eq!(src.repo_url, REPO_URL, "{rel}");
        assert_eq!(src.target_revision.as_deref(), Some("HEAD"), "{rel}");
    }

    let project = project();
    assert_eq!(project.name(), "data-platform");
    assert_eq!(project.metadata.namespace.as_deref(), Some("argocd"));
    assert_eq!(project.spec.source_repos, [REPO_URL]);
    let whitelist: Vec<(&str, &str)> = project
        .spec
        .cluster_resource_whitelist
        .iter()
        .map(|gk| (gk.group(), gk.kind.as_str()))
        .collect();
    assert_eq!(whitelist, [("", "Namespace")]);
    let blacklist: Vec<(&str, &str)> = project
        .spec
        .namespace_resource_blacklist
        .iter()
        .map(|gk| (gk.group(), gk.kind.as_str()))
        .collect();
    assert_eq!(blacklist, [("", "ResourceQuota"), ("", "LimitRange")]);
    let orphans = project.spec.orphaned_resources.as_ref().expect("set");
    assert_eq!(orphans.warn, Some(false));
}

/// Glob of AppProject destinations: `*` matches any run of characters.
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((head, tail)) => {
            s.starts_with(head)
                && (0..=s.len() - head.len())
                    .any(|i| s.is_char_boundary(head.len() + i) && glob(tail, &s[head.len() + i..]))
        }
    }
}

#[test]
fn every_application_deploys_where_the_project_allows() {
    let project = project();
    for (rel, app) in applications() {
        let dest = &app.spec.destination;
        let ns = dest.namespace.as_deref().expect("namespace");
        let allowed = project.spec.destinations.iter().any(|d| {
            let cluster_ok = match (&d.server, &d.name) {
                (Some(s), _) if dest.server.is_some() => {
                    glob(s, dest.server.as_deref().unwrap_or(""))
                }
                (_, Some(n)) if dest.name.is_some() => glob(n, dest.name.as_deref().unwrap_or("")),
                _ => false,
            };
            cluster_ok && d.namespace.as_deref().is_some_and(|p| glob(p, ns))
        });
        assert!(
            allowed,
            "{rel}: destination {dest:?} not allowed by the project"
        );
    }
    assert!(glob("ml-*", "ml-dev"));
    assert!(!glob("ml-*", "monitoring"));
}

#[test]
fn child_application_paths_exist_and_roots_hold_their_children() {
    let root = example_root();
    let apps = applications();
    for (rel, app) in &apps {
        let path = source(app).path.as_deref().expect("path");
        assert!(
            root.join(path).is_dir(),
            "{rel}: source.path {path} is not a folder of the repository"
        );
        if is_root(rel) {
            let cluster = rel.trim_end_matches("/root.yaml");
            assert_eq!(path, format!("{cluster}/apps"), "{rel}");
            // The root renders to exactly the child Applications of its folder.
            let children = render(&[path_str(&root.join(path))]);
            let mut rendered: Vec<&str> = children
                .iter()
                .map(|o| {
                    assert_eq!(o["kind"], "Application", "{rel}: {}", object_id(o));
                    o["metadata"]["name"].as_str().unwrap_or("")
                })
                .collect();
            rendered.sort_unstable();
            let mut files: Vec<&str> = apps
                .iter()
                .filter(|(r, _)| r.starts_with(&format!("{cluster}/apps/")))
                .map(|(_, a)| a.name())
                .collect();
            files.sort_unstable();
            assert_eq!(rendered, files, "{rel}");
            assert_eq!(files.len(), if cluster.contains("dev") { 6 } else { 5 });
        }
    }
}

#[test]
fn dev_apps_are_automated_and_prod_apps_are_not() {
    for (rel, app) in applications() {
        let env = env_of(&rel);
        let dest = &app.spec.destination;
        let name = app.name();
        let options = app.spec.sync_options();
        let has_option = |k: &str| options.iter().any(|(key, v)| key == k && v == "true");
        match env {
            "dev" => {
                let auto = app
                    .spec
                    .automated()
                    .unwrap_or_else(|| panic!("{rel}: dev apps sync automatically"));
                assert_eq!(auto.prune, Some(true), "{rel}");
                assert_eq!(auto.self_heal, Some(true), "{rel}");
            }
            _ => assert!(
                app.spec.automated().is_none(),
                "{rel}: prod is a manual gate"
            ),
        }
        if is_root(&rel) || name == "projects" {
            assert_eq!(
                dest.server.as_deref(),
                Some("https://kubernetes.default.svc")
            );
            assert_eq!(dest.namespace.as_deref(), Some("argocd"), "{rel}");
            continue;
        }
        assert!(name.ends_with(&format!("-{env}")), "{rel}: {name}");
        match env {
            "dev" => {
                assert_eq!(
                    dest.server.as_deref(),
                    Some("https://kubernetes.default.svc"),
                    "{rel}"
                );
                assert_eq!(dest.name, None, "{rel}");
            }
            _ => {
                assert_eq!(dest.name.as_deref(), Some("prod-us-east-1"), "{rel}");
                assert_eq!(dest.server, None, "{rel}");
            }
        }
        let ns = if name.starts_with("monitoring-") {
            "monitoring".to_string()
        } else {
            format!("ml-{env}")
        };
        assert_eq!(dest.namespace.as_deref(), Some(ns.as_str()), "{rel}");
        assert!(has_option("CreateNamespace"), "{rel}");
        assert_eq!(
            app.metadata.finalizers,
            ["resources-finalizer.argocd.argoproj.io"],
            "{rel}"
        );
    }
}

#[test]
fn project_app_syncs_before_the_apps_that_use_it() {
    let apps = applications();
    let (rel, projects) = apps
        .iter()
        .find(|(_, a)| a.name() == "projects")
        .expect("projects app");
    assert_eq!(rel, "clusters/dev-us-east-1/apps/projects.yaml");
    assert_eq!(source(projects).path.as_deref(), Some("projects"));
    let wave = |a: &Application| {
        ferrocd_model::annotations::parse_sync_wave(
            a.metadata
                .annotations
                .get("argocd.argoproj.io/sync-wave")
                .map(String::as_str),
        )
    };
    assert_eq!(wave(projects), -1);
    for (rel, app) in &apps {
        if app.name() != "projects" {
            assert!(wave(app) >= 0, "{rel}: must sync after the project");
        }
    }
}

#[test]
fn helm_and_model_serving_sources_are_configured_like_argo_cd_expects() {
    for (rel, app) in applications() {
        let src = source(&app);
        let env = env_of(&rel);
        if app.name().starts_with("airflow-") {
            let helm = src.helm.as_ref().expect("helm");
            assert_eq!(helm.release_name.as_deref(), Some("airflow"), "{rel}");
            assert_eq!(helm.value_files, [format!("values/{env}.yaml")], "{rel}");
            assert!(
                example_root()
                    .join(src.path.as_deref().unwrap_or(""))
                    .join(&helm.value_files[0])
                    .is_file(),
                "{rel}"
            );
        }
        if app.name().starts_with("model-serving-") {
            assert_eq!(
                src.path.as_deref(),
                Some(format!("apps/model-serving/overlays/{env}").as_str())
            );
            let ignored = &app.spec.ignore_differences;
            assert_eq!(ignored.len(), 1, "{rel}");
            assert_eq!(ignored[0].group.as_deref(), Some("apps"));
            assert_eq!(ignored[0].kind, "Deployment");
            assert_eq!(ignored[0].json_pointers, ["/spec/replicas"]);
            assert!(
                app.spec.sync_option_enabled("RespectIgnoreDifferences"),
                "{rel}"
            );
        }
        if app.name().starts_with("feature-store-") {
            let jsonnet = src
                .directory
                .as_ref()
                .and_then(|d| d.jsonnet.as_ref())
                .expect("jsonnet");
            assert_eq!(jsonnet.ext_vars[0].name, "env");
            assert_eq!(jsonnet.ext_vars[0].value.as_deref(), Some(env));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Rendering, against the reference tools.

fn airflow_dir() -> PathBuf {
    example_root().join("apps/airflow")
}

#[test]
fn airflow_chart_matches_helm_template_for_every_values_file() {
    let chart = airflow_dir();
    let helm = ferrocd_reference_tools::helm();
    for values in [None, Some("values/dev.yaml"), Some("values/prod.yaml")] {
        let mut ours = vec![path_str(&chart), "--release-name", "airflow"];
        let mut theirs = vec!["template", "airflow", path_str(&chart)];
        let file = values.map(|v| chart.join(v));
        if let Some(f) = &file {
            ours.extend_from_slice(&["-f", path_str(f)]);
            theirs.extend_from_slice(&["-f", path_str(f)]);
        }
        let ours = render(&ours);
        let theirs = reference(helm.clone(), &theirs);
        assert_same_objects(&format!("airflow {values:?}"), &ours, &theirs);
        let kinds: BTreeSet<&str> = ours.iter().filter_map(|o| o["kind"].as_str()).collect();
        for kind in [
            "ConfigMap",
            "Secret",
            "Deployment",
            "StatefulSet",
            "Service",
            "ServiceAccount",
            "Job",
        ] {
            assert!(kinds.contains(kind), "airflow {values:?}: no {kind}");
        }
        let job = ours
            .iter()
            .find(|o| o["kind"] == "Job")
            .expect("migration job");
        assert_eq!(job["metadata"]["name"], "airflow-db-migrate");
        assert_eq!(
            job["metadata"]["annotations"]["helm.sh/hook"],
            "pre-install,pre-upgrade"
        );
    }
}

#[test]
fn airflow_prod_values_scale_up_and_make_the_scheduler_ha() {
    let chart = airflow_dir();
    let render_env = |env: &str| {
        let values = chart.join(format!("values/{env}.yaml"));
        render(&[
            path_str(&chart),
            "--release-name",
            "airflow",
            "-f",
            path_str(&values),
        ])
    };
    let find = |list: &[Value], kind: &str, name: &str| -> Value {
        list.iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind}/{name}"))
    };
    let dev = render_env("dev");
    let prod = render_env("prod");
    let replicas = |list: &[Value], kind: &str, name: &str| {
        find(list, kind, name)["spec"]["replicas"].as_i64()
    };
    assert_eq!(replicas(&dev, "Deployment", "airflow-scheduler"), Some(1));
    assert_eq!(replicas(&prod, "Deployment", "airflow-scheduler"), Some(2));
    assert_eq!(replicas(&dev, "StatefulSet", "airflow-worker"), Some(1));
    assert_eq!(replicas(&prod, "StatefulSet", "airflow-worker"), Some(3));
    assert!(!dev.iter().any(|o| o["kind"] == "PodDisruptionBudget"));
    find(&prod, "PodDisruptionBudget", "airflow-scheduler");
    let cfg = find(&prod, "ConfigMap", "airflow-config");
    let ini = cfg["data"]["airflow.cfg"].as_str().expect("airflow.cfg");
    assert!(ini.contains("[celery]\nworker_concurrency = 16\n"), "{ini}");
    assert!(
        ini.contains("instance_name = ML Platform Airflow (prod)"),
        "{ini}"
    );
    let dev_image =
        find(&dev, "Deployment", "airflow-webserver")["spec"]["template"]["spec"]["containers"][0]
            ["image"]
            .clone();
    assert_eq!(dev_image, "apache/airflow:2.10.5");
}

/// `ferrocd render DIR` and `kubectl kustomize DIR` of one kustomization.
fn assert_kustomize_matches(rel: &str) {
    let dir = example_root().join(rel);
    let ours = render(&[path_str(&dir)]);
    let theirs = reference(
        ferrocd_reference_tools::kubectl(),
        &["kustomize", path_str(&dir)],
    );
    assert!(!ours.is_empty(), "{rel}: nothing rendered");
    assert_same_objects(rel, &ours, &theirs);
}

#[test]
fn model_serving_matches_kubectl_kustomize() {
    for rel in [
        "apps/model-serving/base",
        "apps/model-serving/overlays/dev",
        "apps/model-serving/overlays/prod",
    ] {
        assert_kustomize_matches(rel);
    }
}

#[test]
fn mlflow_base_matches_kubectl_kustomize() {
    assert_kustomize_matches("apps/mlflow/base");
}

/// Renderer bug: a `configMapGenerator` with `behavior: replace` in an overlay drops the
/// labels the base gave the generated ConfigMap (kustomize keeps them).
#[test]
fn mlflow_overlays_match_kubectl_kustomize() {
    for rel in ["apps/mlflow/overlays/dev", "apps/mlflow/overlays/prod"] {
        assert_kustomize_matches(rel);
    }
}

#[test]
fn mlflow_overlays_render_their_environment() {
    for (env, replicas, tag, rwx) in [("dev", 1, "v2.17.0", false), ("prod", 2, "v2.16.2", true)] {
        let dir = example_root().join(format!("apps/mlflow/overlays/{env}"));
        let list = render(&[path_str(&dir)]);
        let deploy = list
            .iter()
            .find(|o| o["kind"] == "Deployment")
            .expect("deployment");
        assert_eq!(deploy["spec"]["replicas"], replicas, "{env}");
        let container = &deploy["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["image"],
            format!("ghcr.io/mlflow/mlflow:{tag}"),
            "{env}"
        );
        let backend = list
            .iter()
            .find(|o| {
                o["kind"] == "ConfigMap"
                    && o["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("mlflow-backend-"))
            })
            .expect("generated backend ConfigMap");
        let uri = backend["data"]["BACKEND_STORE_URI"].as_str().expect("uri");
        assert!(uri.starts_with("postgresql://"), "{env}: {uri}");
        // The Deployment reads the generated (hash-suffixed) ConfigMap.
        assert_eq!(
            container["envFrom"][1]["configMapRef"]["name"], backend["metadata"]["name"],
            "{env}"
        );
        let pvc = list
            .iter()
            .find(|o| o["kind"] == "PersistentVolumeClaim")
            .expect("pvc");
        assert_eq!(
            pvc["spec"]["accessModes"][0] == "ReadWriteMany",
            rwx,
            "{env}"
        );
        assert_eq!(deploy["metadata"]["labels"]["environment"], env);
    }
}

#[test]
fn monitoring_renders_its_files() {
    let dir = example_root().join("apps/monitoring");
    let ours = render(&[path_str(&dir)]);
    // The same objects as the files hold, each once.
    let mut expected = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("read dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        let docs =
            ferrocd_manifest::parse_documents(&text, &path.display().to_string()).expect("parse");
        expected.extend(docs.into_iter().map(|m| m.object));
    }
    assert_eq!(ours.len(), expected.len());
    for o in &expected {
        assert!(ours.contains(o), "{} not rendered as written", object_id(o));
    }
    for o in &ours {
        if o["kind"] != "Namespace" {
            assert_eq!(o["metadata"]["namespace"], "monitoring", "{}", object_id(o));
        }
    }
}

#[test]
fn feature_store_renders_with_the_applications_jsonnet_variables() {
    let dir = example_root().join("apps/feature-store");
    for (env, replicas) in [("dev", 1), ("prod", 2)] {
        let list = render(&[
            path_str(&dir),
            "--ext-str",
            &format!("env={env}"),
            "--tla-code",
            &format!("replicas={replicas}"),
        ]);
        let ids: Vec<String> = list.iter().map(object_id).collect();
        assert_eq!(
            ids,
            [
                "ConfigMap/feature-store-config",
                "Deployment/feature-server-us-east-1",
                "Deployment/feature-server-eu-west-1"
            ]
        );
        for o in &list[1..] {
            assert_eq!(o["spec"]["replicas"], replicas);
            assert_eq!(o["metadata"]["labels"]["environment"], env);
        }
    }
}

#[test]
fn rendered_objects_respect_the_project_resource_lists() {
    let root = example_root();
    let chart = airflow_dir();
    let prod_values = chart.join("values/prod.yaml");
    let renders = [
        render(&[
            path_str(&chart),
            "--release-name",
            "airflow",
            "-f",
            path_str(&prod_values),
        ]),
        render(&[path_str(&root.join("apps/mlflow/overlays/prod"))]),
        render(&[path_str(&root.join("apps/model-serving/overlays/prod"))]),
        render(&[path_str(&root.join("apps/monitoring"))]),
    ];
    for o in renders.iter().flatten() {
        let kind = o["kind"].as_str().unwrap_or("");
        assert!(
            !["ResourceQuota", "LimitRange"].contains(&kind),
            "{} is denied by the project",
            object_id(o)
        );
        // Cluster-scoped kinds other than Namespace are not whitelisted.
        assert!(
            ![
                "ClusterRole",
                "ClusterRoleBinding",
                "PriorityClass",
                "StorageClass",
                "CustomResourceDefinition",
                "PersistentVolume"
            ]
            .contains(&kind),
            "{} is cluster-scoped and not whitelisted",
            object_id(o)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Model serving: sync waves, the PreSync hook, dev vs prod, promotion.

fn model_serving(env: &str) -> Vec<Value> {
    let dir = example_root().join(format!("apps/model-serving/overlays/{env}"));
    render(&[path_str(&dir)])
}

fn by_kind<'a>(list: &'a [Value], kind: &str) -> &'a Value {
    list.iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn model_serving_waves_hook_gpu_and_autoscaler() {
    for env in ["dev", "prod"] {
        let list = model_serving(env);
        let wave = |kind: &str| {
            by_kind(&list, kind)["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
                .as_str()
                .map(str::to_string)
        };
        assert_eq!(wave("ConfigMap").as_deref(), Some("0"), "{env}");
        assert_eq!(wave("Deployment").as_deref(), Some("1"), "{env}");
        assert_eq!(
            wave("HorizontalPodAutoscaler").as_deref(),
            Some("2"),
            "{env}"
        );

        let job = by_kind(&list, "Job");
        assert_eq!(job["metadata"]["name"], "model-validate");
        let ann = &job["metadata"]["annotations"];
        assert_eq!(ann["argocd.argoproj.io/hook"], "PreSync");
        assert_eq!(
            ann["argocd.argoproj.io/hook-delete-policy"],
            "BeforeHookCreation"
        );

        let deploy = by_kind(&list, "Deployment");
        let container = &deploy["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["resources"]["limits"]["nvidia.com/gpu"], 1);
        assert_eq!(
            container["readinessProbe"]["httpGet"]["path"],
            "/v2/health/ready"
        );
        let hpa = by_kind(&list, "HorizontalPodAutoscaler");
        assert_eq!(hpa["spec"]["maxReplicas"], 4);
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["name"], "cpu",
            "{env}"
        );
        // Never more GPU pods than a small GPU pool holds.
        assert!(deploy["spec"]["replicas"].as_i64().is_some_and(|r| r <= 2));

        // The Deployment and the hook read the same model: the Deployment through the
        // generated ConfigMap, the hook (which runs before it exists) by value.
        let cm = by_kind(&list, "ConfigMap");
        assert_eq!(
            container["envFrom"][0]["configMapRef"]["name"],
            cm["metadata"]["name"]
        );
        let job_env = &job["spec"]["template"]["spec"]["containers"][0]["env"];
        let env_value = |name: &str| {
            job_env
                .as_array()
                .and_then(|l| l.iter().find(|e| e["name"] == name))
                .map(|e| e["value"].clone())
        };
        assert_eq!(
            env_value("MODEL_VERSION"),
            Some(cm["data"]["MODEL_VERSION"].clone())
        );
        assert_eq!(
            env_value("MODEL_NAME"),
            Some(cm["data"]["MODEL_NAME"].clone())
        );
    }
}

/// Removes what may differ between environments, returning what was removed as
/// `(object, field, value)` lines.
fn strip_intended_differences(list: &mut [Value]) -> BTreeSet<String> {
    let mut removed = BTreeSet::new();
    fn take(removed: &mut BTreeSet<String>, o: &mut Value, pointer: &str, id: &str) {
        let (parent, field) = pointer.rsplit_once('/').expect("pointer");
        if let Some(map) = o.pointer_mut(parent).and_then(Value::as_object_mut)
            && let Some(v) = map.remove(field)
        {
            removed.insert(format!("{id} {pointer} {v}"));
        }
    }
    for o in list.iter_mut() {
        let kind = o["kind"].as_str().unwrap_or("").to_string();
        match kind.as_str() {
            "ConfigMap" => {
                // The hash suffix follows the content, i.e. the model version.
                o["metadata"]["name"] = Value::from("model-config");
                take(&mut removed, o, "/data/MODEL_VERSION", &kind);
            }
            "Deployment" => {
                take(&mut removed, o, "/spec/replicas", &kind);
                take(
                    &mut removed,
                    o,
                    "/spec/template/spec/containers/0/resources",
                    &kind,
                );
                o["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"] =
                    Value::from("model-config");
            }
            "HorizontalPodAutoscaler" => take(&mut removed, o, "/spec/minReplicas", &kind),
            "Job" => {
                let env = &mut o["spec"]["template"]["spec"]["containers"][0]["env"];
                if let Some(items) = env.as_array_mut() {
                    for item in items.iter_mut() {
                        if item["name"] == "MODEL_VERSION" {
                            let v = item["value"].take();
                            removed.insert(format!("Job MODEL_VERSION {v}"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    removed
}

#[test]
fn model_serving_dev_and_prod_differ_only_in_version_replicas_and_resources() {
    let mut dev = model_serving("dev");
    let mut prod = model_serving("prod");
    let dev_removed = strip_intended_differences(&mut dev);
    let prod_removed = strip_intended_differences(&mut prod);
    assert_same_objects("model-serving dev vs prod", &dev, &prod);
    // And they do differ there.
    for line in [
        "ConfigMap /data/MODEL_VERSION \"1.5.0\"",
        "Job MODEL_VERSION \"1.5.0\"",
        "Deployment /spec/replicas 1",
        "HorizontalPodAutoscaler /spec/minReplicas 1",
    ] {
        assert!(dev_removed.contains(line), "dev: {line} in {dev_removed:?}");
    }
    for line in [
        "ConfigMap /data/MODEL_VERSION \"1.4.0\"",
        "Job MODEL_VERSION \"1.4.0\"",
        "Deployment /spec/replicas 2",
        "HorizontalPodAutoscaler /spec/minReplicas 2",
    ] {
        assert!(
            prod_removed.contains(line),
            "prod: {line} in {prod_removed:?}"
        );
    }
    let resources = |set: &BTreeSet<String>| {
        set.iter()
            .find(|l| l.contains("/resources"))
            .cloned()
            .expect("resources")
    };
    assert_ne!(resources(&dev_removed), resources(&prod_removed));
}

/// Copies a folder tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn promoting_a_model_version_is_one_line_and_rolls_the_server() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("ml-platform");
    copy_tree(&example_root().join("apps"), &repo.join("apps"));
    // The folder is its own repository (paths must not leave it).
    std::fs::create_dir_all(repo.join(".git")).expect("mkdir .git");

    let kustomization = |env: &str| {
        repo.join(format!(
            "apps/model-serving/overlays/{env}/kustomization.yaml"
        ))
    };
    let version_lines = |env: &str| -> Vec<String> {
        std::fs::read_to_string(kustomization(env))
            .expect("read")
            .lines()
            .filter(|l| l.contains("MODEL_VERSION="))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(version_lines("dev"), ["      - MODEL_VERSION=1.5.0"]);
    assert_eq!(version_lines("prod"), ["      - MODEL_VERSION=1.4.0"]);

    let overlay = |env: &str| repo.join(format!("apps/model-serving/overlays/{env}"));
    let before = render(&[path_str(&overlay("prod"))]);
    let text = std::fs::read_to_string(kustomization("prod")).expect("read");
    std::fs::write(
        kustomization("prod"),
        text.replace("MODEL_VERSION=1.4.0", "MODEL_VERSION=1.5.0"),
    )
    .expect("write");
    let after = render(&[path_str(&overlay("prod"))]);

    let cm_name = |list: &[Value]| by_kind(list, "ConfigMap")["metadata"]["name"].clone();
    assert_ne!(cm_name(&before), cm_name(&after), "new ConfigMap name");
    let deploy = by_kind(&after, "Deployment");
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
        cm_name(&after),
        "the Deployment rolls to the new ConfigMap"
    );
    assert_eq!(
        by_kind(&after, "ConfigMap")["data"]["MODEL_VERSION"],
        "1.5.0"
    );
    // Prod still differs from dev only in replicas and resources.
    let mut dev = render(&[path_str(&overlay("dev"))]);
    let mut prod = after;
    strip_intended_differences(&mut dev);
    strip_intended_differences(&mut prod);
    assert_same_objects("after promotion", &dev, &prod);
    assert_eq!(
        cm_name(&render(&[path_str(&overlay("dev"))])),
        cm_name(&render(&[path_str(&overlay("prod"))])),
        "same model config in dev and prod after promotion"
    );
}

// ---------------------------------------------------------------------------------------
// The child Applications themselves, rendered from a Git repository of the example.

/// A Git repository holding the example, committed; returns its `file://` URL.
fn example_git_repo(dir: &Path) -> String {
    let work = dir.join("ml-platform");
    let root = example_root();
    for sub in ["apps", "clusters", "projects"] {
        copy_tree(&root.join(sub), &work.join(sub));
    }
    use ferrocd_source::testing::git;
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "ml platform"]);
    format!("file://{}", work.display())
}

#[test]
fn child_applications_render_from_git_like_their_folders() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let url = example_git_repo(tmp.path());
    let root = example_root();
    let chart = airflow_dir();
    for (rel, app) in applications() {
        if is_root(&rel) || app.name() == "projects" {
            continue;
        }
        let env = env_of(&rel);
        let text = std::fs::read_to_string(root.join(&rel)).expect("read");
        let file = tmp.path().join(format!("{}.yaml", app.name()));
        std::fs::write(&file, text.replace(REPO_URL, &url)).expect("write");
        let from_app = render(&[path_str(&file)]);

        let path = source(&app).path.clone().expect("path");
        let dir = root.join(&path);
        let from_folder = if path == "apps/airflow" {
            let values = chart.join(format!("values/{env}.yaml"));
            render(&[
                path_str(&dir),
                "--release-name",
                "airflow",
                "-f",
                path_str(&values),
            ])
        } else if path == "apps/feature-store" {
            let replicas = if env == "dev" { 1 } else { 2 };
            render(&[
                path_str(&dir),
                "--ext-str",
                &format!("env={env}"),
                "--tla-code",
                &format!("replicas={replicas}"),
            ])
        } else {
            render(&[path_str(&dir)])
        };
        assert!(!from_app.is_empty(), "{rel}: nothing rendered");
        assert_same_objects(&rel, &from_app, &from_folder);
    }
}
