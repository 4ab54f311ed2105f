//! Every validation rule, one test each: the error names the file and the field.

use ferrocd_model::{AppProject, Application, ModelError};
use proptest::prelude::*;

const FILE: &str = "apps/mlflow.yaml";

const VALID_APP: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: mlflow
  namespace: argocd
spec:
  project: ml-platform
  source:
    repoURL: https://git.example.org/ml/mlflow.git
    path: deploy
    targetRevision: main
  destination:
    server: https://kubernetes.default.svc
    namespace: mlflow
"#;

/// The valid application with `from` replaced by `to` (which must occur once).
fn app_with(from: &str, to: &str) -> String {
    assert_eq!(VALID_APP.matches(from).count(), 1, "{from:?}");
    VALID_APP.replace(from, to)
}

fn app_error(text: &str) -> String {
    match Application::from_yaml(text, FILE) {
        Ok(app) => panic!("accepted: {app:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn valid_application_is_accepted() {
    let app = Application::from_yaml(VALID_APP, FILE).expect("valid");
    assert_eq!(app.name(), "mlflow");
}

#[test]
fn repo_url_required() {
    let text = app_with("    repoURL: https://git.example.org/ml/mlflow.git\n", "");
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.source.repoURL: required")
    );
}

#[test]
fn path_must_be_relative() {
    let text = app_with("path: deploy", "path: /etc/deploy");
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.source.path: must be relative")
    );
}

#[test]
fn path_must_stay_inside_repository() {
    let text = app_with("path: deploy", "path: deploy/../../other");
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.source.path: must not point outside the repository")
    );
}

#[test]
fn sources_path_must_be_relative() {
    let text = app_with(
        "  source:\n    repoURL: https://git.example.org/ml/mlflow.git\n    path: deploy\n    targetRevision: main\n",
        "  sources:\n    - repoURL: https://git.example.org/ml/mlflow.git\n      path: deploy\n    - repoURL: https://git.example.org/ml/extra.git\n      path: /abs\n",
    );
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.sources[1].path: must be relative")
    );
}

#[test]
fn destination_needs_server_or_name() {
    let text = app_with("    server: https://kubernetes.default.svc\n", "");
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.destination: one of server or name is required")
    );
}

#[test]
fn destination_server_and_name_are_exclusive() {
    let text = app_with(
        "    server: https://kubernetes.default.svc\n",
        "    server: https://kubernetes.default.svc\n    name: in-cluster\n",
    );
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.destination: server and name are mutually exclusive")
    );
}

#[test]
fn source_and_sources_are_exclusive() {
    let text = app_with(
        "  destination:\n",
        "  sources:\n    - repoURL: https://git.example.org/ml/extra.git\n      path: x\n  destination:\n",
    );
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.source: spec.source and spec.sources are mutually exclusive")
    );
}

#[test]
fn a_source_is_required() {
    let text = app_with(
        "  source:\n    repoURL: https://git.example.org/ml/mlflow.git\n    path: deploy\n    targetRevision: main\n",
        "",
    );
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec: one of source or sources is required")
    );
}

#[test]
fn project_required() {
    let text = app_with("  project: ml-platform\n", "");
    assert_eq!(app_error(&text), format!("{FILE}: spec.project: required"));
}

#[test]
fn kind_must_be_application() {
    let text = app_with("kind: Application", "kind: AppProject");
    assert_eq!(
        app_error(&text),
        format!("{FILE}: kind: must be Application, got \"AppProject\"")
    );
}

#[test]
fn api_version_must_be_v1alpha1() {
    let text = app_with("argoproj.io/v1alpha1", "argoproj.io/v1beta1");
    assert_eq!(
        app_error(&text),
        format!("{FILE}: apiVersion: must be argoproj.io/v1alpha1, got \"argoproj.io/v1beta1\"")
    );
}

#[test]
fn name_required_and_valid() {
    let text = app_with("  name: mlflow\n", "");
    assert_eq!(app_error(&text), format!("{FILE}: metadata.name: required"));
    let text = app_with("  name: mlflow\n", "  name: MLflow_Prod\n");
    assert!(app_error(&text).starts_with(&format!(
        "{FILE}: metadata.name: invalid name \"MLflow_Prod\""
    )));
}

fn with_sync_policy(policy: &str) -> String {
    app_with(
        "  destination:\n",
        &format!("  syncPolicy:\n{policy}  destination:\n"),
    )
}

#[test]
fn backoff_duration_must_be_a_go_duration() {
    let text =
        with_sync_policy("    retry:\n      limit: 3\n      backoff:\n        duration: 5x\n");
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.syncPolicy.retry.backoff.duration: invalid duration \"5x\"")
    );
}

#[test]
fn backoff_max_duration_and_factor_checked() {
    let text = with_sync_policy(
        "    retry:\n      backoff:\n        duration: \"10\"\n        maxDuration: 1d\n        factor: 0\n",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.syncPolicy.retry.backoff.maxDuration: invalid duration \"1d\"; \
             spec.syncPolicy.retry.backoff.factor: must be at least 1"
        )
    );
}

#[test]
fn bare_seconds_backoff_is_accepted() {
    let text = with_sync_policy(
        "    retry:\n      backoff:\n        duration: \"30\"\n        maxDuration: 1h30m\n",
    );
    Application::from_yaml(&text, FILE).expect("valid");
}

#[test]
fn sync_options_must_be_key_value() {
    let text =
        with_sync_policy("    syncOptions:\n      - CreateNamespace=true\n      - PruneLast\n");
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.syncPolicy.syncOptions[1]: invalid sync option \"PruneLast\" (expected Key=Value)"
        )
    );
}

#[test]
fn unknown_values_ref_is_rejected() {
    let text = app_with(
        "  source:\n    repoURL: https://git.example.org/ml/mlflow.git\n    path: deploy\n    targetRevision: main\n",
        "  sources:\n    - repoURL: https://charts.example.org\n      chart: mlflow\n      targetRevision: 1.0.0\n      helm:\n        valueFiles:\n          - $values/prod.yaml\n          - $vals/prod.yaml\n    - repoURL: https://git.example.org/ml/values.git\n      ref: values\n",
    );
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.sources[0].helm.valueFiles[1]: unknown source ref \"$vals\"")
    );
}

#[test]
fn invalid_and_duplicate_refs() {
    let text = app_with(
        "  source:\n    repoURL: https://git.example.org/ml/mlflow.git\n    path: deploy\n    targetRevision: main\n",
        "  sources:\n    - repoURL: https://git.example.org/a.git\n      ref: cfg\n    - repoURL: https://git.example.org/b.git\n      ref: cfg\n    - repoURL: https://git.example.org/c.git\n      ref: my/ref\n",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.sources[1].ref: duplicate ref \"cfg\"; \
             spec.sources[2].ref: invalid ref \"my/ref\": use letters, digits, '-' or '_'"
        )
    );
}

#[test]
fn one_source_type_only() {
    let text = app_with(
        "    path: deploy\n",
        "    path: deploy\n    helm: {}\n    kustomize: {}\n",
    );
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.source: multiple source types (helm, kustomize) are set; use one")
    );
}

#[test]
fn helm_parameters_need_names() {
    let text = app_with(
        "    path: deploy\n",
        "    path: deploy\n    helm:\n      parameters:\n        - value: \"3\"\n      fileParameters:\n        - name: ca\n      valuesObject: [1]\n",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.source.helm.valuesObject: must be a mapping; \
             spec.source.helm.parameters[0].name: required; \
             spec.source.helm.fileParameters[0].path: required"
        )
    );
}

#[test]
fn kustomize_replicas_and_patches_checked() {
    let text = app_with(
        "    path: deploy\n",
        "    path: deploy\n    kustomize:\n      replicas:\n        - name: worker\n          count: many\n        - count: 2\n      patches:\n        - target: {kind: Deployment}\n",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.source.kustomize.replicas[0].count: must be an integer, got \"many\"; \
             spec.source.kustomize.replicas[1].name: required; \
             spec.source.kustomize.patches[0]: one of path or patch is required"
        )
    );
}

#[test]
fn jsonnet_vars_need_names() {
    let text = app_with(
        "    path: deploy\n",
        "    path: deploy\n    directory:\n      jsonnet:\n        tlas:\n          - value: x\n",
    );
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.source.directory.jsonnet.tlas[0].name: required")
    );
}

#[test]
fn plugin_entries_need_names() {
    let text = app_with(
        "    path: deploy\n",
        "    path: deploy\n    plugin:\n      env:\n        - value: x\n      parameters:\n        - string: yaml\n",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.source.plugin.env[0].name: required; \
             spec.source.plugin.parameters[0].name: required"
        )
    );
}

#[test]
fn ignore_differences_checked() {
    let text = app_with(
        "  destination:\n",
        "  ignoreDifferences:\n    - group: apps\n      jsonPointers: [spec/replicas]\n  destination:\n",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.ignoreDifferences[0].kind: required; \
             spec.ignoreDifferences[0].jsonPointers[0]: invalid JSON pointer \"spec/replicas\": must start with '/'"
        )
    );
}

#[test]
fn info_and_history_limit_checked() {
    let text = app_with(
        "  destination:\n",
        "  info:\n    - value: x\n  revisionHistoryLimit: -1\n  destination:\n",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.info[0].name: required; spec.revisionHistoryLimit: must not be negative"
        )
    );
}

#[test]
fn wrong_type_names_the_field() {
    let text = with_sync_policy("    retry:\n      limit: lots\n");
    let err = app_error(&text);
    assert!(
        err.starts_with(&format!(
            "{FILE}: spec.syncPolicy.retry.limit: invalid type"
        )),
        "{err}"
    );
}

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let text =
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: [unclosed\n";
    let err = Application::from_yaml(text, FILE).expect_err("syntax error");
    match &err {
        ModelError::Yaml {
            line,
            column,
            message,
            ..
        } => {
            assert!(*line >= 4, "line {line}");
            assert!(*column >= 1);
            assert!(!message.is_empty());
            assert!(!message.contains("at line"), "{message}");
            assert_eq!(
                err.to_string(),
                format!("{FILE}:{line}:{column}: {message}")
            );
        }
        other => panic!("expected a YAML error, got {other:?}"),
    }
}

#[test]
fn empty_and_non_mapping_documents() {
    assert_eq!(app_error(""), format!("{FILE}: document is empty"));
    assert_eq!(
        app_error("- a\n- b\n"),
        format!("{FILE}: expected a mapping with an Application, got a sequence")
    );
}

#[test]
fn all_problems_are_listed() {
    let err = Application::from_yaml(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec: {}\n",
        FILE,
    )
    .expect_err("invalid");
    let paths: Vec<&str> = err.field_errors().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["spec.project", "spec", "spec.destination"]);
}

const VALID_PROJECT: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: ml-platform
  namespace: argocd
spec:
  sourceRepos: ['https://git.example.org/*']
  destinations:
    - server: https://kubernetes.default.svc
      namespace: ml-*
  roles:
    - name: ci
      policies:
        - p, proj:ml-platform:ci, applications, sync, ml-platform/*, allow
  syncWindows:
    - kind: deny
      schedule: "0 22 * * *"
      duration: 8h
"#;

fn project_with(from: &str, to: &str) -> String {
    assert_eq!(VALID_PROJECT.matches(from).count(), 1, "{from:?}");
    VALID_PROJECT.replace(from, to)
}

fn project_error(text: &str) -> String {
    match AppProject::from_yaml(text, "projects/ml.yaml") {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn valid_project_is_accepted() {
    AppProject::from_yaml(VALID_PROJECT, "projects/ml.yaml").expect("valid");
}

#[test]
fn project_kind_checked() {
    let text = project_with("kind: AppProject", "kind: Application");
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: kind: must be AppProject, got \"Application\""
    );
}

#[test]
fn project_destination_needs_server_or_name() {
    let text = project_with(
        "    - server: https://kubernetes.default.svc\n      namespace",
        "    - namespace",
    );
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: spec.destinations[0]: one of server or name is required"
    );
}

#[test]
fn project_policy_subject_must_match_role() {
    let text = project_with("proj:ml-platform:ci,", "proj:other:ci,");
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: spec.roles[0].policies[0]: policy subject must be \"proj:ml-platform:ci\", got \"proj:other:ci\""
    );
}

#[test]
fn project_policy_object_must_be_in_project() {
    let text = project_with("sync, ml-platform/*", "sync, */*");
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: spec.roles[0].policies[0]: policy object must start with \"ml-platform/\", got \"*/*\""
    );
}

#[test]
fn project_duplicate_roles() {
    let text = project_with("  syncWindows:", "    - name: ci\n  syncWindows:");
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: spec.roles[1].name: duplicate role \"ci\""
    );
}

#[test]
fn project_sync_window_checked() {
    let text = project_with("kind: deny", "kind: block");
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: spec.syncWindows[0].kind: must be allow or deny, got \"block\""
    );
    let text = project_with("duration: 8h", "duration: 8 hours");
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: spec.syncWindows[0].duration: invalid duration \"8 hours\""
    );
    let text = project_with("\"0 22 * * *\"", "\"@nightly later\"");
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: spec.syncWindows[0].schedule: invalid schedule \"@nightly later\": expected 5 cron fields"
    );
}

#[test]
fn project_group_kinds_need_kind() {
    let text = project_with(
        "  roles:",
        "  clusterResourceWhitelist:\n    - group: ''\n  roles:",
    );
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: spec.clusterResourceWhitelist[0].kind: required"
    );
}

#[test]
fn project_signature_keys_are_hex() {
    let text = project_with(
        "  roles:",
        "  signatureKeys:\n    - keyID: not-a-key\n  roles:",
    );
    assert_eq!(
        project_error(&text),
        "projects/ml.yaml: spec.signatureKeys[0].keyID: invalid key ID \"not-a-key\": expected hexadecimal digits"
    );
}

proptest! {
    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        let _ = Application::from_yaml(&text, FILE);
        let _ = AppProject::from_yaml(&text, FILE);
    }

    #[test]
    fn random_yaml_like_text_never_panics(
        lines in proptest::collection::vec(
            ("[ ]{0,6}", "[a-zA-Z$/.:-]{0,12}", prop_oneof![Just(": "), Just(":"), Just("- "), Just(""), Just(": [")], "[a-zA-Z0-9 '\"{}\\[\\],*&!|>-]{0,16}"),
            0..24,
        )
    ) {
        let mut text = String::from("apiVersion: argoproj.io/v1alpha1\nkind: Application\n");
        for (indent, key, sep, value) in lines {
            text.push_str(&format!("{indent}{key}{sep}{value}\n"));
        }
        let _ = Application::from_yaml(&text, FILE);
    }

    #[test]
    fn mutated_valid_app_never_panics(pos in 0usize..400, insert in "[\\[\\]{}:\\-'\" \n#&*!|>a-z0-9]{1,4}") {
        let mut text = VALID_APP.to_string();
        let mut at = pos.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert_str(at, &insert);
        let _ = Application::from_yaml(&text, FILE);
    }
}

#[test]
fn yaml_1_1_booleans_are_not_strings() {
    // As with kubectl, `y` is a boolean in Kubernetes YAML, so a string field rejects it.
    let text = app_with(
        "    path: deploy\n",
        "    path: deploy\n    plugin:\n      parameters:\n        - name: p\n          string: y\n",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.source.plugin.parameters[0].string: invalid type: boolean `true`, expected a string"
        )
    );
}

#[test]
fn yaml_messages_speak_to_users() {
    let err = Application::from_yaml("a: 1\na: 2\n", FILE).expect_err("duplicate");
    assert_eq!(
        err.to_string(),
        format!("{FILE}:2:1: duplicate mapping key: a")
    );
    let err = Application::from_yaml("a: b\n---\nc: d\n", FILE).expect_err("two docs");
    assert_eq!(
        err.to_string(),
        format!("{FILE}:3:1: expected a single YAML document, found several")
    );
}

#[test]
fn destination_server_must_be_a_url() {
    let text = app_with(
        "server: https://kubernetes.default.svc",
        "server: kubernetes.default.svc",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.destination.server: invalid server \"kubernetes.default.svc\": must be an https:// or http:// URL"
        )
    );
}

#[test]
fn value_files_must_stay_inside_the_repository() {
    let text = app_with(
        "    path: deploy\n",
        "    path: charts/mlflow\n    helm:\n      valueFiles:\n        - ../../envs/prod.yaml\n        - ../../../etc/passwd\n        - https://config.example.org/values.yaml\n",
    );
    assert_eq!(
        app_error(&text),
        format!("{FILE}: spec.source.helm.valueFiles[1]: must not point outside the repository")
    );
    let text = app_with(
        "  source:\n    repoURL: https://git.example.org/ml/mlflow.git\n    path: deploy\n    targetRevision: main\n",
        "  sources:\n    - repoURL: https://charts.example.org\n      chart: mlflow\n      helm:\n        valueFiles:\n          - $values/../secrets.yaml\n    - repoURL: https://git.example.org/ml/values.git\n      ref: values\n",
    );
    assert_eq!(
        app_error(&text),
        format!(
            "{FILE}: spec.sources[0].helm.valueFiles[0]: must not point outside the repository"
        )
    );
}

#[test]
fn alias_bombs_are_refused_quickly() {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for name in 'b'..='k' {
        text.push_str(&format!(
            "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
        prev = name;
    }
    let started = std::time::Instant::now();
    let result = Application::from_yaml(&text, FILE);
    assert!(matches!(result, Err(ModelError::Yaml { .. })), "{result:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
