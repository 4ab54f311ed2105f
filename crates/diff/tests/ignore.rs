//! ignoreDifferences: JSON pointers, jq path expressions, managed-fields managers, rule
//! selection, and the settings they come from.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ferrocd_diff::{DiffError, DiffOptions, DiffStatus, IgnoreRule, diff, validate_ignore_rules};
use serde_json::{Value, json};

fn status_with(rules: Vec<IgnoreRule>, desired: &Value, live: &Value) -> DiffStatus {
    let opts = DiffOptions {
        ignore: rules,
        ..DiffOptions::default()
    };
    diff(Some(desired), Some(live), &opts).expect("diff").status
}

fn rule(group: &str, kind: &str) -> IgnoreRule {
    IgnoreRule {
        group: group.to_string(),
        kind: kind.to_string(),
        ..IgnoreRule::default()
    }
}

/// The HPA scaled the Deployment to 5: kube-controller-manager now owns spec.replicas.
fn scaled_by_hpa() -> (Value, Value) {
    let (desired, mut live) = deployment();
    set(&mut live, "/spec/replicas", json!(5));
    let managed = at(&mut live, "/metadata/managedFields")
        .as_array_mut()
        .expect("managedFields");
    if let Some(spec) = managed[0]
        .pointer_mut("/fieldsV1/f:spec")
        .and_then(Value::as_object_mut)
    {
        spec.remove("f:replicas");
    }
    managed.push(
        json!({"manager": "kube-controller-manager", "operation": "Update",
        "apiVersion": "apps/v1", "subresource": "scale", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:replicas": {}}}}),
    );
    (desired, live)
}

#[test]
fn hpa_replicas_ignored_by_json_pointer() {
    let (desired, live) = scaled_by_hpa();
    assert_eq!(status_with(vec![], &desired, &live), DiffStatus::OutOfSync);
    let mut r = rule("apps", "Deployment");
    r.json_pointers = vec!["/spec/replicas".to_string()];
    assert_eq!(status_with(vec![r], &desired, &live), DiffStatus::Synced);
}

#[test]
fn hpa_replicas_ignored_by_managed_fields_manager() {
    let (desired, live) = scaled_by_hpa();
    let mut r = rule("apps", "Deployment");
    r.managed_fields_managers = vec!["kube-controller-manager".to_string()];
    assert_eq!(status_with(vec![r], &desired, &live), DiffStatus::Synced);
    // An image change is still seen.
    let mut live = live;
    set(&mut live, &format!("{CONTAINERS}/0/image"), json!("x:1"));
    let mut r = rule("apps", "Deployment");
    r.managed_fields_managers = vec!["kube-controller-manager".to_string()];
    assert_eq!(status_with(vec![r], &desired, &live), DiffStatus::OutOfSync);
}

#[test]
fn rules_select_by_group_kind_name_namespace() {
    let (desired, live) = scaled_by_hpa();
    let with = |f: &dyn Fn(&mut IgnoreRule)| {
        let mut r = rule("apps", "Deployment");
        r.json_pointers = vec!["/spec/replicas".to_string()];
        f(&mut r);
        status_with(vec![r], &desired, &live)
    };
    assert_eq!(
        with(&|r| r.name = "triton-inference".into()),
        DiffStatus::Synced
    );
    assert_eq!(with(&|r| r.name = "other".into()), DiffStatus::OutOfSync);
    assert_eq!(
        with(&|r| r.namespace = "ml-serving".into()),
        DiffStatus::Synced
    );
    assert_eq!(
        with(&|r| r.namespace = "default".into()),
        DiffStatus::OutOfSync
    );
    assert_eq!(
        with(&|r| r.kind = "StatefulSet".into()),
        DiffStatus::OutOfSync
    );
    assert_eq!(with(&|r| r.group = "".into()), DiffStatus::OutOfSync);
    assert_eq!(with(&|r| r.group = "*".into()), DiffStatus::Synced);
}

/// A mutating webhook injected istio-proxy during ferrocd's apply, so the container is
/// recorded as applied by ferrocd and shows as drift until ignored.
fn with_injected_sidecar() -> (Value, Value) {
    let (desired, mut live) = deployment();
    at(&mut live, CONTAINERS)
        .as_array_mut()
        .expect("containers")
        .push(json!({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.22.1",
            "args": ["proxy", "sidecar"], "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}));
    set(
        &mut live,
        "/spec/template/metadata/annotations",
        json!({"sidecar.istio.io/status": "{\"containers\":[\"istio-proxy\"]}"}),
    );
    let containers = at(
        &mut live,
        "/metadata/managedFields/0/fieldsV1/f:spec/f:template/f:spec/f:containers",
    );
    containers["k:{\"name\":\"istio-proxy\"}"] =
        json!({".": {}, "f:image": {}, "f:name": {}, "f:args": {}});
    let template_meta = at(
        &mut live,
        "/metadata/managedFields/0/fieldsV1/f:spec/f:template/f:metadata",
    );
    template_meta["f:annotations"] = json!({"f:sidecar.istio.io/status": {}});
    (desired, live)
}

#[test]
fn injected_sidecar_is_drift_without_rule() {
    let (desired, live) = with_injected_sidecar();
    let d = diff(Some(&desired), Some(&live), &DiffOptions::default()).expect("diff");
    let paths: Vec<&str> = d.changes.iter().map(|c| c.path.as_str()).collect();
    assert!(
        paths.contains(&"/spec/template/spec/containers[name=istio-proxy]"),
        "{paths:?}"
    );
}

#[test]
fn injected_sidecar_ignored_by_jq() {
    let (desired, live) = with_injected_sidecar();
    let mut r = rule("apps", "Deployment");
    r.jq_path_expressions = vec![
        ".spec.template.spec.containers[] | select(.name == \"istio-proxy\")".to_string(),
        ".spec.template.metadata.annotations.\"sidecar.istio.io/status\"".to_string(),
    ];
    assert_eq!(status_with(vec![r], &desired, &live), DiffStatus::Synced);
}

#[test]
fn injected_sidecar_ignored_by_json_pointers() {
    let (desired, live) = with_injected_sidecar();
    let mut r = rule("apps", "Deployment");
    r.json_pointers = vec![
        "/spec/template/spec/containers/1".to_string(),
        "/spec/template/metadata/annotations/sidecar.istio.io~1status".to_string(),
    ];
    assert_eq!(status_with(vec![r], &desired, &live), DiffStatus::Synced);
}

#[test]
fn jq_rule_does_not_hide_other_drift() {
    let (desired, mut live) = with_injected_sidecar();
    set(&mut live, &format!("{CONTAINERS}/0/image"), json!("x:1"));
    let mut r = rule("apps", "Deployment");
    r.jq_path_expressions = vec![
        ".spec.template.spec.containers[] | select(.name == \"istio-proxy\")".to_string(),
        ".spec.template.metadata.annotations".to_string(),
    ];
    let opts = DiffOptions {
        ignore: vec![r],
        ..DiffOptions::default()
    };
    let d = diff(Some(&desired), Some(&live), &opts).expect("diff");
    assert_eq!(d.changes.len(), 1, "{:#?}", d.changes);
    assert_eq!(
        d.changes[0].path,
        "/spec/template/spec/containers[name=triton]/image"
    );
}

#[test]
fn jq_compile_error_is_reported() {
    let (desired, live) = deployment();
    let mut r = rule("apps", "Deployment");
    r.jq_path_expressions = vec![".spec.template.spec.containers[ | select(".to_string()];
    let opts = DiffOptions {
        ignore: vec![r.clone()],
        ..DiffOptions::default()
    };
    let err = diff(Some(&desired), Some(&live), &opts).expect_err("bad jq");
    assert!(matches!(err, DiffError::Jq { .. }), "{err}");
    assert!(validate_ignore_rules(&[r]).is_err());
    let mut good = rule("apps", "Deployment");
    good.jq_path_expressions = vec![".spec.replicas".to_string()];
    assert!(validate_ignore_rules(&[good]).is_ok());
}

#[test]
fn jq_evaluation_has_a_time_limit() {
    let (desired, live) = deployment();
    let mut r = rule("apps", "Deployment");
    // Loops without producing a path for a very long time.
    r.jq_path_expressions = vec![".spec | select(range(1000000000000) | false)".to_string()];
    let opts = DiffOptions {
        ignore: vec![r],
        jq_timeout: Duration::from_millis(100),
        ..DiffOptions::default()
    };
    let started = Instant::now();
    let err = diff(Some(&desired), Some(&live), &opts).expect_err("timeout");
    assert!(matches!(err, DiffError::JqTimeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The stuck worker is abandoned; the next evaluation on this thread still works.
    let (desired, live) = with_injected_sidecar();
    let mut r = rule("apps", "Deployment");
    r.jq_path_expressions = vec![
        ".spec.template.spec.containers[] | select(.name == \"istio-proxy\")".to_string(),
        ".spec.template.metadata.annotations".to_string(),
    ];
    assert_eq!(status_with(vec![r], &desired, &live), DiffStatus::Synced);
}

#[test]
fn jq_endless_outputs_are_cut() {
    let (desired, live) = deployment();
    let mut r = rule("apps", "Deployment");
    r.jq_path_expressions = vec!["repeat(.spec)".to_string()];
    let opts = DiffOptions {
        ignore: vec![r],
        jq_timeout: Duration::from_millis(300),
        ..DiffOptions::default()
    };
    // Either the path limit or the time limit stops it; it must not hang.
    let started = Instant::now();
    let _ = diff(Some(&desired), Some(&live), &opts);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn jq_rule_that_does_not_fit_an_object_is_harmless() {
    let desired = fixture("service-desired");
    let live = fixture("service-live");
    let mut r = rule("*", "");
    r.jq_path_expressions =
        vec![".spec.template.spec.containers[] | select(.name == \"istio-proxy\")".to_string()];
    assert_eq!(status_with(vec![r], &desired, &live), DiffStatus::Synced);
}

#[test]
fn managed_fields_can_be_passed_separately() {
    let (desired, mut live) = scaled_by_hpa();
    let managed = live["metadata"]
        .as_object_mut()
        .and_then(|m| m.remove("managedFields"))
        .expect("managedFields");
    let mut r = rule("apps", "Deployment");
    r.managed_fields_managers = vec!["kube-controller-manager".to_string()];
    let opts = DiffOptions {
        ignore: vec![r],
        ..DiffOptions::default()
    };
    let without = ferrocd_diff::diff(Some(&desired), Some(&live), &opts).expect("diff");
    assert_eq!(without.status, DiffStatus::OutOfSync);
    let with =
        ferrocd_diff::diff_with_managed_fields(Some(&desired), Some(&live), Some(&managed), &opts)
            .expect("diff");
    assert_eq!(with.status, DiffStatus::Synced);
}

#[test]
fn application_rules_are_read() {
    let app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "inference"},
        "spec": {"ignoreDifferences": [
            {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
            {"group": "", "kind": "Secret", "name": "tls", "namespace": "ml",
             "jqPathExpressions": [".data.\"tls.crt\""],
             "managedFieldsManagers": ["cert-manager"]}]}});
    let rules = IgnoreRule::from_application(&app).expect("rules");
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].json_pointers, vec!["/spec/replicas"]);
    assert_eq!(rules[1].name, "tls");
    assert_eq!(rules[1].managed_fields_managers, vec!["cert-manager"]);
    let (desired, live) = scaled_by_hpa();
    assert_eq!(status_with(rules, &desired, &live), DiffStatus::Synced);
    let bad = json!({"spec": {"ignoreDifferences": [{"jsonPointers": "nope"}]}});
    assert!(IgnoreRule::from_application(&bad).is_err());
}

#[test]
fn system_rules_from_argocd_cm() {
    let cm = fixture("argocd-cm");
    let rules = IgnoreRule::from_config_map(&cm).expect("rules");
    assert_eq!(rules.len(), 3, "{rules:#?}");
    let (desired, live) = with_injected_sidecar();
    assert_eq!(
        status_with(rules.clone(), &desired, &live),
        DiffStatus::Synced
    );
    let (desired, live) = scaled_by_hpa();
    assert_eq!(
        status_with(rules.clone(), &desired, &live),
        DiffStatus::Synced
    );
    // The `all` rule applies to every kind: a webhook-written label on a Service.
    let desired = fixture("service-desired");
    let mut live = fixture("service-live");
    set(
        &mut live,
        "/metadata/labels/app.kubernetes.io~1name",
        json!("changed-by-webhook"),
    );
    live["metadata"]["managedFields"] = json!([{"manager": "label-webhook", "operation": "Update",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:app.kubernetes.io/name": {}}}}}]);
    assert_eq!(status_with(vec![], &desired, &live), DiffStatus::OutOfSync);
    assert_eq!(status_with(rules, &desired, &live), DiffStatus::Synced);
}

#[test]
fn respect_ignore_differences_keeps_live_values() {
    let (desired, live) = scaled_by_hpa();
    let mut pointer = rule("apps", "Deployment");
    pointer.json_pointers = vec!["/spec/replicas".to_string()];
    let applied = ferrocd_diff::respect_ignore_differences(
        &desired,
        Some(&live),
        &[pointer],
        Duration::from_secs(1),
    )
    .expect("respect");
    assert_eq!(applied.pointer("/spec/replicas"), Some(&json!(5)));
    assert_eq!(
        applied.pointer(&format!("{CONTAINERS}/0/image")),
        desired.pointer(&format!("{CONTAINERS}/0/image"))
    );

    let mut managers = rule("apps", "Deployment");
    managers.managed_fields_managers = vec!["kube-controller-manager".to_string()];
    let applied = ferrocd_diff::respect_ignore_differences(
        &desired,
        Some(&live),
        &[managers],
        Duration::from_secs(1),
    )
    .expect("respect");
    assert_eq!(applied.pointer("/spec/replicas"), None);

    // A jq-selected field that live does not have is left out of the apply.
    let mut jq = rule("apps", "Deployment");
    jq.jq_path_expressions = vec![
        ".spec.template.spec.containers[].env[] | select(.name == \"LOG_VERBOSE\")".to_string(),
    ];
    let mut live_without = live.clone();
    remove(&mut live_without, &format!("{CONTAINERS}/0/env/0"));
    let applied = ferrocd_diff::respect_ignore_differences(
        &desired,
        Some(&live_without),
        &[jq],
        Duration::from_secs(1),
    )
    .expect("respect");
    let env = applied
        .pointer(&format!("{CONTAINERS}/0/env"))
        .and_then(Value::as_array)
        .expect("env");
    assert_eq!(env.len(), 1);
    assert_eq!(env[0]["name"], json!("MODEL_CACHE"));
    // Paired by selection, not by position: live has LOG_VERBOSE second and edited.
    let mut jq = rule("apps", "Deployment");
    jq.jq_path_expressions = vec![
        ".spec.template.spec.containers[].env[] | select(.name == \"LOG_VERBOSE\")".to_string(),
    ];
    let mut live_reordered = live.clone();
    at(&mut live_reordered, &format!("{CONTAINERS}/0/env"))
        .as_array_mut()
        .expect("env")
        .reverse();
    set(
        &mut live_reordered,
        &format!("{CONTAINERS}/0/env/1/value"),
        json!("3"),
    );
    let applied = ferrocd_diff::respect_ignore_differences(
        &desired,
        Some(&live_reordered),
        &[jq],
        Duration::from_secs(1),
    )
    .expect("respect");
    assert_eq!(
        applied.pointer(&format!("{CONTAINERS}/0/env")),
        Some(
            &json!([{"name": "LOG_VERBOSE", "value": "3"}, {"name": "MODEL_CACHE", "value": "/cache"}])
        )
    );
    // Without live, desired is applied as is.
    let applied =
        ferrocd_diff::respect_ignore_differences(&desired, None, &[], Duration::from_secs(1))
            .expect("respect");
    assert_eq!(applied, desired);
}
