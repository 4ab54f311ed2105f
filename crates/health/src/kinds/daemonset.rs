//! `apps/v1` DaemonSet: observed generation, updated and available pods.

use serde_json::Value;

use crate::HealthAssessment;
use crate::gpu;
use crate::object::{generation_observed, int_or_zero, name, str_at};

/// Health of a DaemonSet; `children` may hold its Pods (for GPU waits, e.g. a GPU
/// node agent on a node pool that is scaling up).
pub fn check(obj: &Value, children: &[&Value]) -> HealthAssessment {
    let assessment = rollout(obj);
    if assessment.status > ferrocd_model::HealthStatus::Healthy
        && let Some(message) = gpu::waiting_pod(children)
    {
        return HealthAssessment::progressing(message);
    }
    assessment
}

fn rollout(obj: &Value) -> HealthAssessment {
    let name = name(obj);
    if !generation_observed(obj) {
        return HealthAssessment::progressing(
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        );
    }
    let desired = int_or_zero(obj, "/status/desiredNumberScheduled");
    let updated = int_or_zero(obj, "/status/updatedNumberScheduled");
    let available = int_or_zero(obj, "/status/numberAvailable");
    if str_at(obj, "/spec/updateStrategy/type") == Some("OnDelete") {
        return HealthAssessment::healthy(format!(
            "daemon set {updated} out of {desired} new pods have been updated (update strategy OnDelete)"
        ));
    }
    if updated < desired {
        return HealthAssessment::progressing(format!(
            "Waiting for daemon set {name:?} rollout to finish: {updated} out of {desired} new pods have been updated..."
        ));
    }
    if available < desired {
        return HealthAssessment::progressing(format!(
            "Waiting for daemon set {name:?} rollout to finish: {available} of {desired} updated pods are available..."
        ));
    }
    HealthAssessment::healthy(format!("daemon set {name:?} successfully rolled out"))
}
