//! HorizontalPodAutoscalers: the sandbox has no metrics pipeline, so an autoscaler keeps its
//! target within `[minReplicas, maxReplicas]` and reports the conditions a healthy autoscaler
//! reports. A test (or the demo) makes it scale by setting the annotation
//! `sandbox.ferrocd.dev/desired-replicas` on the autoscaler, as if load had changed.

use serde_json::{Value, json};

use super::{Sim, condition, ids};
use crate::meta;

/// Annotation on an autoscaler: the replica count the simulated load asks for.
pub const DESIRED_REPLICAS_ANNOTATION: &str = "sandbox.ferrocd.dev/desired-replicas";

const MANAGER: &str = "horizontal-pod-autoscaler";

/// Reconciles one autoscaler.
pub fn reconcile(sim: &mut Sim, ns: &str, name: &str) {
    let Some(hpa) = sim.get(ids::HPAS, ns, name) else {
        return;
    };
    if meta::deleting(&hpa) {
        return;
    }
    let spec = &hpa["spec"];
    let min = spec["minReplicas"].as_i64().unwrap_or(1).max(1);
    let max = spec["maxReplicas"].as_i64().unwrap_or(min).max(min);
    let target_kind = spec["scaleTargetRef"]["kind"].as_str().unwrap_or_default();
    let target_name = spec["scaleTargetRef"]["name"].as_str().unwrap_or_default();
    let target_id = match target_kind {
        "Deployment" => Some(ids::DEPLOYMENTS),
        "StatefulSet" => Some(ids::STATEFULSETS),
        "ReplicaSet" => Some(ids::REPLICASETS),
        _ => None,
    };
    let old = hpa.get("status");
    let target = target_id.and_then(|id| sim.get(id, ns, target_name).map(|t| (id, t)));
    let Some((target_id, target)) = target else {
        let message = format!(
            "the HPA controller was unable to get the target's current scale: {} {target_name:?} not found",
            target_kind.to_lowercase()
        );
        let status = json!({"currentReplicas": 0, "desiredReplicas": 0, "conditions": [
            condition("AbleToScale", false, "FailedGetScale", &message, old)]});
        sim.set_status(ids::HPAS, &hpa, strip_update_times(status), MANAGER);
        return;
    };
    let current = target["spec"]["replicas"].as_i64().unwrap_or(1);
    let wanted = hpa["metadata"]["annotations"][DESIRED_REPLICAS_ANNOTATION]
        .as_str()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(current);
    let desired = wanted.clamp(min, max);
    if desired != current {
        let mut body = (*target).clone();
        body["spec"]["replicas"] = json!(desired);
        if let Err(e) = sim.replace(target_id, body, MANAGER) {
            tracing::debug!(error = %e, "autoscaler could not scale its target");
            return;
        }
    }
    let limited = wanted != desired;
    let status = json!({
        "currentReplicas": current,
        "desiredReplicas": desired,
        "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
            "current": {"averageUtilization": 42, "averageValue": "210m"}}}],
        "conditions": [
            condition("AbleToScale", true, "ReadyForNewScale",
                "recommended size matches current size", old),
            condition("ScalingActive", true, "ValidMetricFound",
                "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)", old),
            if limited {
                condition("ScalingLimited", true, "TooManyReplicas",
                    "the desired replica count is more than the maximum replica count", old)
            } else {
                condition("ScalingLimited", false, "DesiredWithinRange",
                    "the desired count is within the acceptable range", old)
            },
        ],
    });
    sim.set_status(ids::HPAS, &hpa, strip_update_times(status), MANAGER);
}

/// HPA conditions carry only `lastTransitionTime`.
fn strip_update_times(mut status: Value) -> Value {
    if let Some(conditions) = status["conditions"].as_array_mut() {
        for c in conditions {
            if let Some(c) = c.as_object_mut() {
                c.remove("lastUpdateTime");
            }
        }
    }
    status
}
