//! `argoproj.io/v1alpha1` Rollout (Argo Rollouts): the controller's own `status.phase`
//! when it writes one, otherwise its conditions and replica counts.

use serde_json::Value;

use crate::HealthAssessment;
use crate::object::{bool_at, condition, int_at, int_or_zero, str_at};

/// Health of an Argo Rollout.
pub fn check(obj: &Value) -> HealthAssessment {
    // observedGeneration is a string in older Rollout versions; int_at accepts both.
    if let (Some(generation), Some(observed)) = (
        int_at(obj, "/metadata/generation"),
        int_at(obj, "/status/observedGeneration"),
    ) && observed < generation
    {
        return HealthAssessment::progressing("Waiting for rollout spec update to be observed");
    }
    if let Some(c) = condition(obj, "InvalidSpec")
        && c.is_true()
    {
        return HealthAssessment::degraded(c.message);
    }
    let message = str_at(obj, "/status/message").unwrap_or("");
    match str_at(obj, "/status/phase") {
        Some("Healthy") => return HealthAssessment::healthy(message),
        Some("Progressing") => return HealthAssessment::progressing(message),
        Some("Degraded") => return HealthAssessment::degraded(message),
        Some("Paused") => return HealthAssessment::suspended(message),
        _ => {}
    }
    if bool_at(obj, "/status/abort") {
        return HealthAssessment::degraded("Rollout is aborted");
    }
    if bool_at(obj, "/spec/paused")
        || !crate::object::array_at(obj, "/status/pauseConditions").is_empty()
    {
        return HealthAssessment::suspended("Rollout is paused");
    }
    if let Some(c) = condition(obj, "Progressing")
        && c.reason == "ProgressDeadlineExceeded"
    {
        return HealthAssessment::degraded(c.message);
    }
    let replicas = int_at(obj, "/spec/replicas").unwrap_or(1);
    let updated = int_or_zero(obj, "/status/updatedReplicas");
    let available = int_or_zero(obj, "/status/availableReplicas");
    if updated < replicas {
        return HealthAssessment::progressing(
            "Waiting for roll out to finish: More replicas need to be updated",
        );
    }
    if available < updated {
        return HealthAssessment::progressing(
            "Waiting for roll out to finish: updated replicas are still becoming available",
        );
    }
    HealthAssessment::healthy("")
}
