//! Parsing Argo CD manifests and writing them back must lose no field and add none.

use std::path::{Path, PathBuf};

use ferrocd_model::{AppProject, Application, HealthStatus, IntOrString, SyncStatusCode};
use serde_json::Value;

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/roundtrip")
        .join(name)
}

fn read(name: &str) -> (String, String) {
    let path = testdata(name);
    let text = std::fs::read_to_string(&path).expect("read testdata");
    (text, path.display().to_string())
}

fn untyped(text: &str) -> Value {
    serde_saphyr::from_str::<Value>(text).expect("valid YAML")
}

fn files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(testdata(""))
        .expect("testdata dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

#[test]
fn at_least_ten_cases() {
    assert!(files().len() >= 10, "{:?}", files());
}

#[test]
fn every_file_round_trips_through_json_and_yaml() {
    for name in files() {
        let (text, file) = read(&name);
        let original = untyped(&text);
        let (as_json, as_yaml) = if name.starts_with("project-") {
            let p = AppProject::from_yaml(&text, &file).unwrap_or_else(|e| panic!("{e}"));
            (
                serde_json::to_value(&p).expect("to json"),
                serde_saphyr::to_string(&p).expect("to yaml"),
            )
        } else {
            let a = Application::from_yaml(&text, &file).unwrap_or_else(|e| panic!("{e}"));
            (
                serde_json::to_value(&a).expect("to json"),
                serde_saphyr::to_string(&a).expect("to yaml"),
            )
        };
        assert_eq!(original, as_json, "{name}: JSON round trip differs");
        assert_eq!(
            original,
            untyped(&as_yaml),
            "{name}: YAML round trip differs:\n{as_yaml}"
        );
    }
}

#[test]
fn helm_multi_source_is_typed() {
    let (text, file) = read("app-helm-multisource-values-ref.yaml");
    let app = Application::from_yaml(&text, &file).expect("valid");
    assert!(app.has_multiple_sources());
    let sources = app.spec.sources_list();
    assert_eq!(sources.len(), 2);
    let helm = sources[0].helm.as_ref().expect("helm");
    assert_eq!(helm.release_name.as_deref(), Some("mlflow"));
    assert_eq!(helm.value_files[0], "$values/envs/prod/mlflow/values.yaml");
    assert_eq!(helm.parameters[1].force_string, Some(true));
    assert_eq!(helm.skip_crds, Some(true));
    assert_eq!(helm.api_versions.len(), 1);
    assert!(helm.extra.is_empty(), "{:?}", helm.extra);
    assert!(sources[0].is_helm_repo());
    assert_eq!(
        app.spec
            .source_by_ref("values")
            .map(|s| s.repo_url.as_str()),
        Some("https://git.example.org/platform/ml-gitops.git")
    );
    assert!(app.spec.sync_option_enabled("CreateNamespace"));
    assert!(!app.spec.sync_option_enabled("PruneLast"));
    assert_eq!(app.metadata.finalizers.len(), 1);
}

#[test]
fn kustomize_is_typed() {
    let (text, file) = read("app-kustomize-images.yaml");
    let app = Application::from_yaml(&text, &file).expect("valid");
    assert!(!app.has_multiple_sources());
    let k = app.spec.sources_list()[0]
        .kustomize
        .clone()
        .expect("kustomize");
    assert_eq!(k.images.len(), 3);
    assert_eq!(k.replicas[0].count, Some(IntOrString::Int(2)));
    assert_eq!(
        k.replicas[1].count.as_ref().and_then(|c| c.as_int()),
        Some(6)
    );
    assert_eq!(
        k.patches[0]
            .target
            .as_ref()
            .and_then(|t| t.label_selector.as_deref()),
        Some("component=worker")
    );
    assert_eq!(k.patches[1].options.get("allowNameChange"), Some(&true));
    assert_eq!(k.label_include_templates, Some(true));
    assert!(k.extra.is_empty());
    assert_eq!(app.spec.destination.name.as_deref(), Some("data-eu1"));
    assert_eq!(app.spec.revision_history_limit, Some(5));
}

#[test]
fn jsonnet_is_typed() {
    let (text, file) = read("app-directory-jsonnet.yaml");
    let app = Application::from_yaml(&text, &file).expect("valid");
    let dir = app
        .spec
        .source
        .as_ref()
        .and_then(|s| s.directory.as_ref())
        .expect("dir");
    let jsonnet = dir.jsonnet.as_ref().expect("jsonnet");
    assert_eq!(jsonnet.ext_vars[1].code, Some(true));
    assert_eq!(jsonnet.tlas[1].name, "modelRepository");
    assert_eq!(jsonnet.libs, ["vendor", "jsonnet/lib"]);
    // `automated: {}` turns automated sync on with default settings.
    assert!(app.spec.automated().is_some());
}

#[test]
fn automated_retry_is_typed() {
    let (text, file) = read("app-automated-retry.yaml");
    let app = Application::from_yaml(&text, &file).expect("valid");
    let policy = app.spec.sync_policy.as_ref().expect("policy");
    let automated = app.spec.automated().expect("automated");
    assert_eq!(automated.self_heal, Some(true));
    let retry = policy.retry.as_ref().expect("retry");
    assert_eq!(retry.limit, Some(5));
    let backoff = retry.backoff.as_ref().expect("backoff");
    assert_eq!(backoff.duration.as_deref(), Some("5s"));
    assert_eq!(backoff.factor, Some(2));
    assert_eq!(backoff.max_duration.as_deref(), Some("3m"));
    let typed = app.spec.typed_sync_options();
    assert!(typed.create_namespace && typed.prune_last && typed.apply_out_of_sync_only);
    assert_eq!(
        typed.prune_propagation_policy,
        ferrocd_model::sync_options::PropagationPolicy::Foreground
    );
    assert_eq!(
        app.spec.sync_options()[3],
        (
            "PrunePropagationPolicy".to_string(),
            "foreground".to_string()
        )
    );
}

#[test]
fn status_is_typed() {
    let (text, file) = read("app-with-status.yaml");
    let app = Application::from_yaml(&text, &file).expect("valid");
    let status = app.status.as_ref().expect("status");
    assert_eq!(status.resources.len(), 3);
    assert_eq!(status.resources[1].requires_pruning, Some(true));
    assert_eq!(status.resources[2].sync_wave, Some(-1));
    assert_eq!(
        status.sync.as_ref().and_then(|s| s.status),
        Some(SyncStatusCode::OutOfSync)
    );
    assert_eq!(
        status.health.as_ref().and_then(|h| h.status),
        Some(HealthStatus::Progressing)
    );
    assert_eq!(status.history[1].id, 1);
    let op = status.operation_state.as_ref().expect("operation state");
    assert!(op.phase.expect("phase").is_completed());
    let results = &op.sync_result.as_ref().expect("sync result").resources;
    assert_eq!(results[1].hook_type, Some(ferrocd_model::HookType::PreSync));
    assert_eq!(
        status
            .summary
            .as_ref()
            .expect("summary")
            .external_urls
            .len(),
        1
    );
    assert_eq!(app.metadata.extra.get("generation"), Some(&Value::from(42)));
    let sync = app
        .operation
        .as_ref()
        .and_then(|o| o.sync.as_ref())
        .expect("sync");
    assert_eq!(sync.resources[0].name, "spark-operator");
}

#[test]
fn unknown_fields_are_kept_where_they_are() {
    let (text, file) = read("app-unknown-fields.yaml");
    let app = Application::from_yaml(&text, &file).expect("valid");
    assert_eq!(
        app.extra.get("vendorExtension"),
        Some(&Value::from("keep-me"))
    );
    assert!(app.spec.extra.contains_key("notAnArgoField"));
    let source = app.spec.source.as_ref().expect("source");
    assert!(source.extra.contains_key("futureSourceField"));
    assert!(
        source
            .helm
            .as_ref()
            .expect("helm")
            .extra
            .contains_key("experimentalFlag")
    );
    assert!(app.spec.destination.extra.contains_key("clusterShard"));
    assert_eq!(
        app.metadata.extra.get("generateName"),
        Some(&Value::from("ray-"))
    );
}

#[test]
fn project_is_typed() {
    let (text, file) = read("project-ml-platform.yaml");
    let p = AppProject::from_yaml(&text, &file).expect("valid");
    assert_eq!(p.name(), "ml-platform");
    assert_eq!(p.spec.roles.len(), 2);
    assert_eq!(p.spec.roles[0].jwt_tokens[1].exp, Some(1_749_536_000));
    assert_eq!(p.spec.cluster_resource_whitelist[0].group(), "");
    assert_eq!(p.spec.sync_windows[1].duration, "1h30m");
    assert_eq!(p.spec.signature_keys[0].key_id, "4AEE18F83AFDEB23");
    assert!(p.spec.extra.contains_key("destinationServiceAccounts"));
    let status = p.status.as_ref().expect("status");
    assert_eq!(status.jwt_tokens_by_role["ci-deployer"].items.len(), 2);
}

#[test]
fn built_application_serializes_minimally() {
    use ferrocd_model::{ApplicationSource, ApplicationSpec, ObjectMeta};
    let spec = ApplicationSpec {
        project: "default".into(),
        source: Some(ApplicationSource {
            repo_url: "https://git.example.org/ml/serving.git".into(),
            path: Some("triton".into()),
            ..Default::default()
        }),
        destination: ferrocd_model::ApplicationDestination {
            server: Some("https://kubernetes.default.svc".into()),
            namespace: Some("serving".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let app = Application::new(ObjectMeta::named("triton", "argocd"), spec);
    let json = serde_json::to_value(&app).expect("json");
    assert_eq!(
        json,
        serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "triton", "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://git.example.org/ml/serving.git", "path": "triton"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "serving"}
            }
        })
    );
    assert!(app.validate().is_empty(), "{}", app.validate());
}

mod generated {
    use super::*;
    use ferrocd_model::{
        ApplicationDestination, ApplicationSource, ApplicationSpec, HelmParameter, HelmSource,
        ObjectMeta,
    };
    use proptest::prelude::*;

    /// Strings that YAML emitters must quote for YAML 1.1 readers, plus plain ones.
    fn tricky() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("yes".to_string()),
            Just("on".to_string()),
            Just("y".to_string()),
            Just("NO".to_string()),
            Just("~".to_string()),
            Just("null".to_string()),
            Just("1.0".to_string()),
            Just("0x1F".to_string()),
            Just("012".to_string()),
            Just("1e3".to_string()),
            Just("".to_string()),
            Just("- item".to_string()),
            Just("a: b".to_string()),
            Just("#comment".to_string()),
            Just("*alias".to_string()),
            Just("line1\nline2\n".to_string()),
            Just(" padded ".to_string()),
            "[a-zA-Z0-9._/-]{1,20}",
            "\\PC{0,24}",
        ]
    }

    prop_compose! {
        fn source()(
            repo in "https://git\\.example\\.org/[a-z]{1,8}\\.git",
            path in proptest::option::of(tricky()),
            revision in proptest::option::of(tricky()),
            params in proptest::collection::vec((tricky(), proptest::option::of(tricky()), proptest::option::of(any::<bool>())), 0..4),
            values in proptest::option::of(tricky()),
        ) -> ApplicationSource {
            let helm = (!params.is_empty() || values.is_some()).then(|| HelmSource {
                values,
                parameters: params
                    .into_iter()
                    .map(|(name, value, force_string)| HelmParameter { name, value, force_string, ..Default::default() })
                    .collect(),
                ..Default::default()
            });
            ApplicationSource { repo_url: repo, path, target_revision: revision, helm, ..Default::default() }
        }
    }

    proptest! {
        #[test]
        fn typed_applications_survive_yaml(
            sources in proptest::collection::vec(source(), 1..3),
            namespace in proptest::option::of(tricky()),
            labels in proptest::collection::btree_map("[a-z]{1,8}", tricky(), 0..3),
            limit in proptest::option::of(any::<i64>()),
        ) {
            let mut app = Application::new(
                ObjectMeta { name: "gen".into(), labels, ..Default::default() },
                ApplicationSpec {
                    project: "default".into(),
                    destination: ApplicationDestination {
                        server: Some("https://kubernetes.default.svc".into()),
                        namespace,
                        ..Default::default()
                    },
                    revision_history_limit: limit,
                    ..Default::default()
                },
            );
            if sources.len() == 1 {
                app.spec.source = sources.into_iter().next();
            } else {
                app.spec.sources = sources;
            }
            let yaml = app.to_yaml().expect("emit");
            let back: Application = serde_saphyr::from_str(&yaml).expect("parse back");
            prop_assert_eq!(back, app);
        }
    }
}

#[test]
fn api_server_schema_accepts_every_file_without_pruning() {
    let crds = ferrocd_model::crds();
    let schema_for = |kind: &str| {
        crds.iter()
            .find(|c| c["spec"]["names"]["kind"] == kind)
            .map(|c| c["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone())
            .expect("crd")
    };
    let (app_schema, project_schema) = (schema_for("Application"), schema_for("AppProject"));
    for name in files() {
        let (text, _) = read(&name);
        let object = untyped(&text);
        let schema = if name.starts_with("project-") {
            &project_schema
        } else {
            &app_schema
        };
        let problems = ferrocd_model::crd::schema_problems(schema, &object);
        assert!(problems.is_empty(), "{name}: {problems:#?}");
    }
}
