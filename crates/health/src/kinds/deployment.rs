//! `apps/v1` Deployment: paused, progress deadline, and the rollout progress messages
//! `kubectl rollout status` prints.

use serde_json::Value;

use crate::HealthAssessment;
use crate::gpu;
use crate::object::{bool_at, condition, generation_observed, int_at, int_or_zero, name};

/// Health of a Deployment; `children` may hold its Pods (for GPU waits).
pub fn check(obj: &Value, children: &[&Value]) -> HealthAssessment {
    if bool_at(obj, "/spec/paused") {
        return HealthAssessment::suspended("Deployment is paused");
    }
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
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        );
    }
    if let Some(progressing) = condition(obj, "Progressing")
        && progressing.reason == "ProgressDeadlineExceeded"
    {
        return HealthAssessment::degraded(format!(
            "Deployment {name:?} exceeded its progress deadline"
        ));
    }
    let replicas = int_at(obj, "/spec/replicas").unwrap_or(1);
    let updated = int_or_zero(obj, "/status/updatedReplicas");
    let current = int_or_zero(obj, "/status/replicas");
    let available = int_or_zero(obj, "/status/availableReplicas");
    if updated < replicas {
        return HealthAssessment::progressing(format!(
            "Waiting for deployment {name:?} rollout to finish: {updated} out of {replicas} new replicas have been updated..."
        ));
    }
    if current > updated {
        return HealthAssessment::progressing(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            current - updated
        ));
    }
    if available < updated {
        return HealthAssessment::progressing(format!(
            "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
        ));
    }
    HealthAssessment::healthy(format!("deployment {name:?} successfully rolled out"))
}
