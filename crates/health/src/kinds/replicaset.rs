//! `apps/v1` ReplicaSet: replica failures and available replicas.

use serde_json::Value;

use crate::HealthAssessment;
use crate::gpu;
use crate::object::{condition, generation_observed, int_at, int_or_zero, name};

/// Health of a ReplicaSet; `children` may hold its Pods (for GPU waits).
pub fn check(obj: &Value, children: &[&Value]) -> HealthAssessment {
    let assessment = replicas(obj);
    if assessment.status > ferrocd_model::HealthStatus::Healthy
        && let Some(message) = gpu::waiting_pod(children)
    {
        return HealthAssessment::progressing(message);
    }
    assessment
}

fn replicas(obj: &Value) -> HealthAssessment {
    if !generation_observed(obj) {
        return HealthAssessment::progressing(
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        );
    }
    if let Some(failure) = condition(obj, "ReplicaFailure")
        && failure.is_true()
    {
        return HealthAssessment::degraded(failure.message);
    }
    let wanted = int_at(obj, "/spec/replicas").unwrap_or(1);
    let available = int_or_zero(obj, "/status/availableReplicas");
    if available < wanted {
        return HealthAssessment::progressing(format!(
            "Waiting for replica set {:?} to be ready: {available} out of {wanted} replicas are available...",
            name(obj)
        ));
    }
    HealthAssessment::healthy("")
}
