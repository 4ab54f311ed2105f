//! Drift: real changes must be seen. One test per case.

mod common;

use common::*;
use ferrocd_diff::{DiffOptions, DiffStatus, FieldChange, ObjectDiff, app_sync_status, diff};
use ferrocd_model::SyncStatusCode;
use serde_json::{Value, json};

fn compare(desired: &Value, live: &Value) -> ObjectDiff {
    diff(Some(desired), Some(live), &DiffOptions::default()).expect("diff")
}

fn only_change(d: &ObjectDiff) -> &FieldChange {
    assert_eq!(d.status, DiffStatus::OutOfSync);
    assert_eq!(d.changes.len(), 1, "changes: {:#?}", d.changes);
    &d.changes[0]
}

#[test]
fn changed_image_is_drift() {
    let (desired, mut live) = deployment();
    // kubectl set image deployment/triton-inference triton=...:24.06-py3
    set(
        &mut live,
        &format!("{CONTAINERS}/0/image"),
        json!("nvcr.io/nvidia/tritonserver:24.06-py3"),
    );
    let d = compare(&desired, &live);
    let c = only_change(&d);
    assert_eq!(c.path, "/spec/template/spec/containers[name=triton]/image");
    assert_eq!(
        c.desired,
        Some(json!("nvcr.io/nvidia/tritonserver:24.05-py3"))
    );
    assert_eq!(c.live, Some(json!("nvcr.io/nvidia/tritonserver:24.06-py3")));
    let text = d.unified();
    assert!(
        text.contains("-        image: nvcr.io/nvidia/tritonserver:24.06-py3"),
        "{text}"
    );
    assert!(
        text.contains("+        image: nvcr.io/nvidia/tritonserver:24.05-py3"),
        "{text}"
    );
}

#[test]
fn edited_env_var_is_drift() {
    let (desired, mut live) = deployment();
    set(
        &mut live,
        &format!("{CONTAINERS}/0/env/0/value"),
        json!("1"),
    );
    let d = compare(&desired, &live);
    let c = only_change(&d);
    assert_eq!(
        c.path,
        "/spec/template/spec/containers[name=triton]/env[name=LOG_VERBOSE]/value"
    );
}

#[test]
fn env_var_removed_from_live_is_drift() {
    let (desired, mut live) = deployment();
    remove(&mut live, &format!("{CONTAINERS}/0/env/1"));
    let d = compare(&desired, &live);
    let c = only_change(&d);
    assert_eq!(
        c.path,
        "/spec/template/spec/containers[name=triton]/env[name=MODEL_CACHE]"
    );
    assert_eq!(c.live, None);
}

#[test]
fn env_var_removed_from_git_that_ferrocd_applied_is_drift() {
    let (mut desired, live) = deployment();
    remove(&mut desired, &format!("{CONTAINERS}/0/env/1"));
    let d = compare(&desired, &live);
    let c = only_change(&d);
    assert_eq!(
        c.path,
        "/spec/template/spec/containers[name=triton]/env[name=MODEL_CACHE]"
    );
    assert_eq!(c.desired, None);
    assert_eq!(
        c.live,
        Some(json!({"name": "MODEL_CACHE", "value": "/cache"}))
    );
}

#[test]
fn field_not_applied_by_ferrocd_and_not_desired_is_not_drift() {
    let (mut desired, mut live) = deployment();
    remove(&mut desired, &format!("{CONTAINERS}/0/env/1"));
    // The same live object, but another manager applied it: not ferrocd's to remove.
    set(
        &mut live,
        "/metadata/managedFields/0/manager",
        json!("helm"),
    );
    assert_eq!(compare(&desired, &live).status, DiffStatus::Synced);
    // And the field manager is a parameter.
    let opts = DiffOptions {
        field_manager: "helm".to_string(),
        ..DiffOptions::default()
    };
    let d = diff(Some(&desired), Some(&live), &opts).expect("diff");
    assert_eq!(d.status, DiffStatus::OutOfSync);
}

#[test]
fn label_removed_from_git_that_ferrocd_applied_is_drift() {
    let (mut desired, live) = deployment();
    remove(&mut desired, "/metadata/labels/app.kubernetes.io~1part-of");
    let d = compare(&desired, &live);
    let c = only_change(&d);
    assert_eq!(c.path, "/metadata/labels/app.kubernetes.io~1part-of");
}

#[test]
fn changed_label_is_drift() {
    let (desired, mut live) = deployment();
    set(
        &mut live,
        "/metadata/labels/app.kubernetes.io~1part-of",
        json!("legacy"),
    );
    let c = only_change(&compare(&desired, &live)).clone();
    assert_eq!(c.path, "/metadata/labels/app.kubernetes.io~1part-of");
    assert_eq!(c.desired, Some(json!("ml-platform")));
}

#[test]
fn removed_label_is_drift() {
    let (desired, mut live) = deployment();
    remove(&mut live, "/metadata/labels/app.kubernetes.io~1part-of");
    let c = only_change(&compare(&desired, &live)).clone();
    assert_eq!(c.live, None);
}

#[test]
fn scaled_replicas_are_drift() {
    let (desired, mut live) = deployment();
    set(&mut live, "/spec/replicas", json!(5));
    assert_eq!(
        only_change(&compare(&desired, &live)).path,
        "/spec/replicas"
    );
}

#[test]
fn changed_quantity_is_drift() {
    let (desired, mut live) = deployment();
    set(
        &mut live,
        &format!("{CONTAINERS}/0/resources/limits/cpu"),
        json!("8"),
    );
    assert_eq!(compare(&desired, &live).status, DiffStatus::OutOfSync);
    let (desired, mut live) = deployment();
    // 16G (decimal) is not 16Gi (binary).
    set(
        &mut live,
        &format!("{CONTAINERS}/0/resources/limits/memory"),
        json!("16G"),
    );
    assert_eq!(compare(&desired, &live).status, DiffStatus::OutOfSync);
}

#[test]
fn quantity_equivalence_is_only_for_resources() {
    let (mut desired, mut live) = deployment();
    set(
        &mut desired,
        &format!("{CONTAINERS}/0/env/0/value"),
        json!("1"),
    );
    set(
        &mut live,
        &format!("{CONTAINERS}/0/env/0/value"),
        json!("1000m"),
    );
    assert_eq!(compare(&desired, &live).status, DiffStatus::OutOfSync);
}

#[test]
fn changed_args_are_drift() {
    let (desired, mut live) = deployment();
    set(
        &mut live,
        &format!("{CONTAINERS}/0/args/1"),
        json!("--model-repository=s3://models/old"),
    );
    assert_eq!(
        only_change(&compare(&desired, &live)).path,
        "/spec/template/spec/containers[name=triton]/args/1"
    );
}

#[test]
fn deleted_object_is_missing() {
    let (desired, _) = deployment();
    let d = diff(Some(&desired), None, &DiffOptions::default()).expect("diff");
    assert_eq!(d.status, DiffStatus::Missing);
    assert_eq!(d.sync_status(), SyncStatusCode::OutOfSync);
    assert!(d.unified().contains("+kind: Deployment"));
}

#[test]
fn object_no_longer_in_git_is_extraneous() {
    let (_, live) = deployment();
    let d = diff(None, Some(&live), &DiffOptions::default()).expect("diff");
    assert_eq!(d.status, DiffStatus::Extraneous);
    assert!(d.counts_against_app());
    assert_eq!(app_sync_status(&[d]), SyncStatusCode::OutOfSync);
}

#[test]
fn ignore_extraneous_keeps_the_app_synced() {
    let (desired, mut live) = deployment();
    set(
        &mut live,
        "/metadata/annotations/argocd.argoproj.io~1compare-options",
        json!("IgnoreExtraneous"),
    );
    let extraneous = diff(None, Some(&live), &DiffOptions::default()).expect("diff");
    assert_eq!(extraneous.status, DiffStatus::Extraneous);
    assert!(!extraneous.counts_against_app());
    let synced = diff(
        Some(&desired),
        Some(&fixture("deployment-live")),
        &DiffOptions::default(),
    )
    .expect("diff");
    assert_eq!(
        app_sync_status(&[extraneous, synced.clone()]),
        SyncStatusCode::Synced
    );
    // A Missing object still makes the app OutOfSync.
    let missing = diff(Some(&desired), None, &DiffOptions::default()).expect("diff");
    assert_eq!(
        app_sync_status(&[synced, missing]),
        SyncStatusCode::OutOfSync
    );
}

#[test]
fn changed_service_port_is_drift() {
    let desired = fixture("service-desired");
    let mut live = fixture("service-live");
    set(&mut live, "/spec/ports/0/targetPort", json!(5001));
    let c = only_change(&compare(&desired, &live)).clone();
    assert_eq!(c.path, "/spec/ports[port=80,protocol=TCP]/targetPort");
}

#[test]
fn nothing_to_compare_is_an_error() {
    assert!(diff(None, None, &DiffOptions::default()).is_err());
}
