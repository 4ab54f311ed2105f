//! Builders shared by the plan tests: realistic ML-platform objects.

#![allow(dead_code)]

use std::collections::BTreeMap;

use ferrocd_model::ResourceKey;
use ferrocd_sync::{PlanInput, SyncPlan};
use serde_json::{Value, json};

/// The application every test plans for.
pub const APP: &str = "mlflow";

/// An object with apiVersion, kind, namespace, name and annotations.
pub fn obj(api_version: &str, kind: &str, ns: &str, name: &str, annotations: Value) -> Value {
    let mut metadata = json!({"name": name, "annotations": annotations});
    if !ns.is_empty() {
        metadata["namespace"] = json!(ns);
    }
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata})
}

/// The same object as it lives in the cluster, tracked by `app`.
pub fn tracked(mut object: Value, app: &str) -> Value {
    let key = ResourceKey::from_object(&object);
    object["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] =
        json!(key.tracking_id(app));
    object["metadata"]["uid"] = json!(format!("uid-{}", key.name));
    object
}

/// Keys objects for [`PlanInput::desired`].
pub fn desired(objects: Vec<Value>) -> Vec<(ResourceKey, Value)> {
    objects
        .into_iter()
        .map(|o| (ResourceKey::from_object(&o), o))
        .collect()
}

/// Keys objects for [`PlanInput::live`].
pub fn live(objects: Vec<Value>) -> BTreeMap<ResourceKey, Value> {
    objects
        .into_iter()
        .map(|o| (ResourceKey::from_object(&o), o))
        .collect()
}

/// An input for [`APP`] with these desired and live objects.
pub fn input(desired_objects: Vec<Value>, live_objects: Vec<Value>) -> PlanInput {
    PlanInput {
        app: APP.into(),
        desired: desired(desired_objects),
        live: live(live_objects),
        ..Default::default()
    }
}

/// Plans and fails the test on a planning error.
pub fn plan_ok(input: &PlanInput) -> SyncPlan {
    match ferrocd_sync::plan(input) {
        Ok(plan) => plan,
        Err(err) => panic!("planning failed: {err}"),
    }
}

/// One line per task: `Phase/wave action Kind name`.
pub fn summary(plan: &SyncPlan) -> Vec<String> {
    plan.tasks
        .iter()
        .map(|t| {
            format!(
                "{:?}/{} {} {} {}",
                t.phase, t.wave, t.action, t.key.kind, t.key.name
            )
        })
        .collect()
}
