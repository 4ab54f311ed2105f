//! `helmCharts` behaviour that the differential suite cannot show: messages of errors
//! that kubectl words differently, `enable_helm`, and the repository boundary.

use std::path::Path;

use ferrocd_kustomize::{KustomizeError, KustomizeOptions, LoadRestrictor, build};
use serde_json::Value;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }
}

const CHART: &[(&str, &str)] = &[
    (
        "charts/feature-store/Chart.yaml",
        "apiVersion: v2\nname: feature-store\nversion: 0.3.0\n",
    ),
    (
        "charts/feature-store/values.yaml",
        "onlineStore: redis\nreplicas: 1\n",
    ),
    (
        "charts/feature-store/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-feast\ndata:\n  store: {{ .Values.onlineStore }}\n  replicas: {{ .Values.replicas | quote }}\n",
    ),
];

fn enabled() -> KustomizeOptions {
    KustomizeOptions {
        enable_helm: true,
        ..Default::default()
    }
}

#[test]
fn charts_need_enable_helm() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), CHART);
    write(
        tmp.path(),
        &[("kustomization.yaml", "helmCharts:\n- name: feature-store\n")],
    );
    let err = build(tmp.path(), &KustomizeOptions::default()).expect_err("not enabled");
    assert!(
        matches!(err, KustomizeError::HelmNotEnabled { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--enable-helm"), "{err}");
    let objs = build(tmp.path(), &enabled()).expect("enabled");
    assert_eq!(objs.len(), 1);
    assert_eq!(objs[0]["metadata"]["name"], "release-name-feast");
    assert_eq!(objs[0]["data"]["store"], "redis");
}

#[test]
fn a_chart_to_download_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        tmp.path(),
        &[(
            "kustomization.yaml",
            "helmCharts:\n- name: mlflow\n  repo: https://charts.example.com\n  version: 1.2.3\n",
        )],
    );
    let err = build(tmp.path(), &enabled()).expect_err("remote");
    let msg = err.to_string();
    assert!(
        msg.contains("'mlflow'") && msg.contains("remote charts are not supported yet"),
        "{msg}"
    );
    assert!(msg.contains("mlflow-1.2.3"), "{msg}");
}

#[test]
fn a_missing_local_chart_names_the_chart() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        tmp.path(),
        &[("kustomization.yaml", "helmCharts:\n- name: airflow\n")],
    );
    let err = build(tmp.path(), &enabled()).expect_err("missing");
    assert!(matches!(err, KustomizeError::ChartNotFound { .. }), "{err}");
    assert!(err.to_string().contains("'airflow'"), "{err}");
}

#[test]
fn a_chart_home_outside_the_repository_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), CHART);
    write(
        tmp.path(),
        &[
            ("repo/app/values.yaml", "replicas: 2\n"),
            (
                "repo/app/kustomization.yaml",
                "helmGlobals:\n  chartHome: ../../charts\nhelmCharts:\n- name: feature-store\n  valuesFile: values.yaml\n",
            ),
        ],
    );
    let app = tmp.path().join("repo/app");
    let mut opts = enabled();
    opts.load_restrictor = LoadRestrictor::None;
    // Without a repository root the chart may live anywhere (as in kustomize).
    let objs = build(&app, &opts).expect("no repo root");
    assert_eq!(objs[0]["data"]["replicas"], "2");
    opts.repo_root = Some(tmp.path().join("repo"));
    let err = build(&app, &opts).expect_err("outside repo");
    assert!(matches!(err, KustomizeError::OutsideRoot { .. }), "{err}");
}

#[test]
fn inline_values_are_not_left_behind_and_transformers_apply() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), CHART);
    write(
        tmp.path(),
        &[(
            "kustomization.yaml",
            "namePrefix: ml-\nnamespace: features\nhelmCharts:\n- name: feature-store\n  releaseName: feast\n  valuesInline:\n    onlineStore: dynamodb\n",
        )],
    );
    let objs = build(tmp.path(), &enabled()).expect("build");
    let cm: &Value = &objs[0];
    assert_eq!(cm["metadata"]["name"], "ml-feast-feast");
    assert_eq!(cm["metadata"]["namespace"], "features");
    assert_eq!(cm["data"]["store"], "dynamodb");
    assert_eq!(cm["data"]["replicas"], "1");
}

#[test]
fn unknown_chart_fields_are_rejected() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), CHART);
    write(
        tmp.path(),
        &[(
            "kustomization.yaml",
            "helmCharts:\n- name: feature-store\n  valueFile: typo.yaml\n",
        )],
    );
    let err = build(tmp.path(), &enabled()).expect_err("typo");
    assert!(err.to_string().contains("helmCharts[0]"), "{err}");
}
