//! `batch/v1` Job: complete, failed, suspended, running.

use serde_json::Value;

use crate::HealthAssessment;
use crate::gpu;
use crate::object::{bool_at, condition, int_or_zero};

/// Health of a Job; `children` may hold its Pods (for GPU waits).
pub fn check(obj: &Value, children: &[&Value]) -> HealthAssessment {
    if let Some(failed) = condition(obj, "Failed")
        && failed.is_true()
    {
        let message = if failed.message.is_empty() {
            failed.reason
        } else {
            failed.message
        };
        return HealthAssessment::degraded(if message.is_empty() {
            "Job failed"
        } else {
            message
        });
    }
    if let Some(complete) = condition(obj, "Complete")
        && complete.is_true()
    {
        return HealthAssessment::healthy(if complete.message.is_empty() {
            "Job completed"
        } else {
            complete.message
        });
    }
    if bool_at(obj, "/spec/suspend") || condition(obj, "Suspended").is_some_and(|c| c.is_true()) {
        return HealthAssessment::suspended("Job is suspended");
    }
    if let Some(message) = gpu::waiting_pod(children) {
        return HealthAssessment::progressing(message);
    }
    HealthAssessment::progressing(format!(
        "Job is running: {} active, {} succeeded, {} failed",
        int_or_zero(obj, "/status/active"),
        int_or_zero(obj, "/status/succeeded"),
        int_or_zero(obj, "/status/failed")
    ))
}
