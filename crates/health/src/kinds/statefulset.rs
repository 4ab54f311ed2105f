//! `apps/v1` StatefulSet: observed generation, ready replicas, partitioned and rolling
//! updates (messages as `kubectl rollout status` prints them).

use serde_json::Value;

use crate::HealthAssessment;
use crate::gpu;
use crate::object::{generation_observed, int_at, int_or_zero, str_at};

/// Health of a StatefulSet; `children` may hold its Pods (for GPU waits).
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
    if int_or_zero(obj, "/status/observedGeneration") == 0 || !generation_observed(obj) {
        return HealthAssessment::progressing(
            "Waiting for statefulset spec update to be observed...",
        );
    }
    let replicas = int_at(obj, "/spec/replicas").unwrap_or(1);
    let ready = int_or_zero(obj, "/status/readyReplicas");
    if ready < replicas {
        return HealthAssessment::progressing(format!(
            "Waiting for {} pods to be ready...",
            replicas - ready
        ));
    }
    if str_at(obj, "/spec/updateStrategy/type") == Some("OnDelete") {
        return HealthAssessment::healthy(format!(
            "statefulset has {ready} ready pods (update strategy OnDelete)"
        ));
    }
    if let Some(partition) = int_at(obj, "/spec/updateStrategy/rollingUpdate/partition")
        && partition > 0
    {
        let updated = int_or_zero(obj, "/status/updatedReplicas");
        let expected = (replicas - partition).max(0);
        if updated < expected {
            return HealthAssessment::progressing(format!(
                "Waiting for partitioned roll out to finish: {updated} out of {expected} new pods have been updated..."
            ));
        }
        return HealthAssessment::healthy(format!(
            "partitioned roll out complete: {updated} new pods have been updated..."
        ));
    }
    let update = str_at(obj, "/status/updateRevision").unwrap_or("");
    let current = str_at(obj, "/status/currentRevision").unwrap_or("");
    if !update.is_empty() && update != current {
        return HealthAssessment::progressing(format!(
            "waiting for statefulset rolling update to complete {} pods at revision {update}...",
            int_or_zero(obj, "/status/updatedReplicas")
        ));
    }
    HealthAssessment::healthy(format!(
        "statefulset rolling update complete {} pods at revision {current}...",
        int_or_zero(obj, "/status/currentReplicas")
    ))
}
