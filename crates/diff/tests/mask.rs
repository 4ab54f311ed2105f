//! Secret values are masked in every output: changes, normalized objects, text.

mod common;

use common::*;
use ferrocd_diff::{DiffOptions, DiffStatus, diff};
use serde_json::json;

const PLAIN: &str = "s3cret-Passw0rd";
const ENCODED: &str = "czNjcmV0LVBhc3N3MHJk";

fn outputs(d: &ferrocd_diff::ObjectDiff) -> String {
    format!(
        "{}\n{}\n{}",
        serde_json::to_string(&d.changes).expect("json"),
        serde_json::to_string(&(&d.normalized_desired, &d.normalized_live)).expect("json"),
        d.unified()
    )
}

#[test]
fn changed_secret_value_is_masked_with_different_masks() {
    let desired = fixture("secret-desired");
    let mut live = fixture("secret-live");
    set(&mut live, "/data/password", json!("b2xkLXBhc3N3b3Jk"));
    let d = diff(Some(&desired), Some(&live), &DiffOptions::default()).expect("diff");
    assert_eq!(d.status, DiffStatus::OutOfSync);
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].path, "/data/password");
    assert_eq!(d.changes[0].desired, Some(json!("++++++++")));
    assert_eq!(d.changes[0].live, Some(json!("+++++++++")));
    let all = outputs(&d);
    for secret in [PLAIN, ENCODED, "b2xkLXBhc3N3b3Jk", "bWxmbG93"] {
        assert!(!all.contains(secret), "{secret} leaked in {all}");
    }
    let text = d.unified();
    assert!(text.contains("-  password: +++++++++"), "{text}");
    assert!(text.contains("+  password: ++++++++"), "{text}");
}

#[test]
fn equal_secret_values_get_equal_masks() {
    let desired = fixture("secret-desired");
    let live = fixture("secret-live");
    let d = diff(Some(&desired), Some(&live), &DiffOptions::default()).expect("diff");
    assert_eq!(d.status, DiffStatus::Synced);
    assert_eq!(d.normalized_desired, d.normalized_live);
    assert_eq!(
        d.normalized_live
            .as_ref()
            .and_then(|l| l.pointer("/data/password")),
        Some(&json!("++++++++"))
    );
}

#[test]
fn missing_and_extraneous_secrets_are_masked() {
    let desired = fixture("secret-desired");
    let live = fixture("secret-live");
    let missing = diff(Some(&desired), None, &DiffOptions::default()).expect("diff");
    let extraneous = diff(None, Some(&live), &DiffOptions::default()).expect("diff");
    for d in [missing, extraneous] {
        let all = outputs(&d);
        assert!(!all.contains(PLAIN) && !all.contains(ENCODED), "{all}");
        assert!(all.contains("++++++++"));
    }
}

#[test]
fn added_secret_key_is_masked() {
    let mut desired = fixture("secret-desired");
    set(&mut desired, "/stringData/api-token", json!("tok-123456"));
    let live = fixture("secret-live");
    let d = diff(Some(&desired), Some(&live), &DiffOptions::default()).expect("diff");
    assert_eq!(d.changes.len(), 1);
    assert_eq!(d.changes[0].path, "/data/api-token");
    assert_eq!(d.changes[0].desired, Some(json!("++++++++")));
    assert!(!outputs(&d).contains("dG9rLTEyMzQ1Ng=="));
}

#[test]
fn config_maps_are_not_masked() {
    let desired = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "airflow-config", "namespace": "airflow"},
        "data": {"AIRFLOW__CORE__EXECUTOR": "KubernetesExecutor"}});
    let mut live = desired.clone();
    set(
        &mut live,
        "/data/AIRFLOW__CORE__EXECUTOR",
        json!("CeleryExecutor"),
    );
    let d = diff(Some(&desired), Some(&live), &DiffOptions::default()).expect("diff");
    assert_eq!(d.changes[0].live, Some(json!("CeleryExecutor")));
}
