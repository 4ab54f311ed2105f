//! `autoscaling` HorizontalPodAutoscaler (v1 and v2): AbleToScale, ScalingActive and
//! ScalingLimited conditions.
//!
//! A condition that is False with a `Failed*` or `Invalid*` reason (the target cannot be
//! fetched or scaled, metrics are unavailable, the selector is wrong) is Degraded.
//! `ScalingActive=False` with reason `ScalingDisabled` (target scaled to zero) is
//! Suspended. `AbleToScale=True` is Healthy; without conditions yet, Progressing.
//! `autoscaling/v1` objects carry conditions in the
//! `autoscaling.alpha.kubernetes.io/conditions` annotation, which is read too.

use serde_json::Value;

use crate::HealthAssessment;
use crate::object::str_at;

/// Health of a HorizontalPodAutoscaler.
pub fn check(obj: &Value) -> HealthAssessment {
    let conditions = conditions(obj);
    if conditions.is_empty() {
        return HealthAssessment::progressing("Waiting to autoscale");
    }
    let field = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    for c in &conditions {
        let reason = field(c, "reason");
        if field(c, "status") == "False"
            && (reason.starts_with("Failed") || reason.starts_with("Invalid"))
        {
            return HealthAssessment::degraded(format!("{reason}: {}", field(c, "message")));
        }
    }
    for c in &conditions {
        if field(c, "type") == "ScalingActive"
            && field(c, "status") == "False"
            && field(c, "reason") == "ScalingDisabled"
        {
            return HealthAssessment::suspended(field(c, "message"));
        }
    }
    for c in &conditions {
        if field(c, "type") == "AbleToScale" && field(c, "status") == "True" {
            return HealthAssessment::healthy(field(c, "message"));
        }
    }
    HealthAssessment::progressing("Waiting to autoscale")
}

fn conditions(obj: &Value) -> Vec<Value> {
    if let Some(list) = obj.pointer("/status/conditions").and_then(Value::as_array) {
        return list.clone();
    }
    str_at(
        obj,
        "/metadata/annotations/autoscaling.alpha.kubernetes.io~1conditions",
    )
    .and_then(|text| serde_json::from_str::<Vec<Value>>(text).ok())
    .unwrap_or_default()
}
