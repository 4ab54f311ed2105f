//! Noise: differences that are not drift must leave the object Synced. One test per case.

mod common;

use common::*;
use ferrocd_diff::{DiffOptions, DiffStatus, ObjectDiff, diff};
use serde_json::{Value, json};

fn compare(desired: &Value, live: &Value) -> ObjectDiff {
    diff(Some(desired), Some(live), &DiffOptions::default()).expect("diff")
}

fn assert_synced(desired: &Value, live: &Value) {
    let d = compare(desired, live);
    assert_eq!(d.status, DiffStatus::Synced, "changes: {:#?}", d.changes);
    assert!(d.unified().is_empty());
}

#[test]
fn server_defaults_status_and_metadata_are_noise() {
    let (desired, live) = deployment();
    assert_synced(&desired, &live);
}

#[test]
fn kubectl_last_applied_annotation_is_noise() {
    let (desired, mut live) = deployment();
    set(
        &mut live,
        "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration",
        json!("{\"kind\":\"Deployment\"}"),
    );
    assert_synced(&desired, &live);
    let d = compare(&desired, &live);
    let text = serde_json::to_string(&d.normalized_live).expect("json");
    assert!(!text.contains("last-applied"));
}

#[test]
fn fields_written_by_other_controllers_are_noise() {
    let (desired, mut live) = deployment();
    set(
        &mut live,
        "/metadata/annotations/vpa.ml.example.com~1recommendation",
        json!("cpu=3"),
    );
    set(&mut live, "/metadata/labels/team", json!("inference"));
    assert_synced(&desired, &live);
}

#[test]
fn milli_cpu_equals_whole_cpu() {
    let (mut desired, live) = deployment();
    set(
        &mut desired,
        &format!("{CONTAINERS}/0/resources/limits/cpu"),
        json!("4000m"),
    );
    assert_synced(&desired, &live);
}

#[test]
fn binary_memory_spellings_are_equal() {
    let (mut desired, mut live) = deployment();
    set(
        &mut desired,
        &format!("{CONTAINERS}/0/resources/limits/memory"),
        json!("16384Mi"),
    );
    set(
        &mut live,
        &format!("{CONTAINERS}/0/resources/requests/memory"),
        json!("8Gi"),
    );
    assert_synced(&desired, &live);
}

#[test]
fn fractional_cpu_equals_millicores() {
    let (mut desired, mut live) = deployment();
    set(
        &mut desired,
        &format!("{CONTAINERS}/0/resources/requests/cpu"),
        json!("0.5"),
    );
    set(
        &mut live,
        &format!("{CONTAINERS}/0/resources/requests/cpu"),
        json!("500m"),
    );
    assert_synced(&desired, &live);
}

#[test]
fn gpu_count_as_number_equals_string() {
    let (desired, live) = deployment();
    // desired has `nvidia.com/gpu: 1` (a number), live "1" (a string).
    assert_eq!(
        desired.pointer(&format!("{CONTAINERS}/0/resources/limits/nvidia.com~1gpu")),
        Some(&json!(1))
    );
    assert_synced(&desired, &live);
}

#[test]
fn int_or_string_target_port() {
    let desired = fixture("service-desired");
    let live = fixture("service-live");
    assert_eq!(
        desired.pointer("/spec/ports/0/targetPort"),
        Some(&json!(5000))
    );
    assert_eq!(
        live.pointer("/spec/ports/0/targetPort"),
        Some(&json!("5000"))
    );
    assert_synced(&desired, &live);
}

#[test]
fn allocated_cluster_ips_are_noise() {
    let mut desired = fixture("service-desired");
    let live = fixture("service-live");
    assert_synced(&desired, &live);
    set(&mut desired, "/spec/clusterIP", json!(""));
    assert_synced(&desired, &live);
}

#[test]
fn pinned_cluster_ip_is_compared() {
    let mut desired = fixture("service-desired");
    let live = fixture("service-live");
    set(&mut desired, "/spec/clusterIP", json!("10.96.44.12"));
    assert_synced(&desired, &live);
    set(&mut desired, "/spec/clusterIP", json!("10.96.44.13"));
    assert_eq!(compare(&desired, &live).status, DiffStatus::OutOfSync);
}

#[test]
fn empty_maps_and_lists_equal_absent() {
    let (mut desired, live) = deployment();
    set(&mut desired, "/metadata/finalizers", json!([]));
    set(
        &mut desired,
        "/spec/template/metadata/annotations",
        json!({}),
    );
    set(&mut desired, &format!("{CONTAINERS}/0/envFrom"), json!([]));
    set(
        &mut desired,
        &format!("{CONTAINERS}/0/command"),
        json!(null),
    );
    set(&mut desired, "/spec/template/spec/nodeSelector", json!({}));
    assert_synced(&desired, &live);
}

#[test]
fn null_creation_timestamp_from_renderers_is_noise() {
    let (mut desired, live) = deployment();
    set(&mut desired, "/metadata/creationTimestamp", json!(null));
    set(
        &mut desired,
        "/spec/template/metadata/creationTimestamp",
        json!(null),
    );
    assert_synced(&desired, &live);
}

#[test]
fn keyed_list_order_is_noise() {
    let (desired, mut live) = deployment();
    at(&mut live, &format!("{CONTAINERS}/0/env"))
        .as_array_mut()
        .expect("env")
        .reverse();
    at(&mut live, &format!("{CONTAINERS}/0/ports"))
        .as_array_mut()
        .expect("ports")
        .reverse();
    assert_synced(&desired, &live);
    // The projected live keeps desired's order, so the text diff stays quiet.
    let d = compare(&desired, &live);
    assert_eq!(
        d.normalized_live
            .as_ref()
            .and_then(|l| l.pointer(&format!("{CONTAINERS}/0/env/0/name"))),
        Some(&json!("LOG_VERBOSE"))
    );
}

#[test]
fn secret_string_data_is_folded_into_data() {
    let desired = fixture("secret-desired");
    let live = fixture("secret-live");
    assert_synced(&desired, &live);
}

#[test]
fn container_port_protocol_default_is_noise() {
    let (desired, live) = deployment();
    assert_eq!(
        live.pointer(&format!("{CONTAINERS}/0/ports/0/protocol")),
        Some(&json!("TCP"))
    );
    assert!(
        desired
            .pointer(&format!("{CONTAINERS}/0/ports/0/protocol"))
            .is_none()
    );
    assert_synced(&desired, &live);
}
