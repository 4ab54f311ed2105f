//! `apiregistration.k8s.io/v1` APIService: the Available condition.

use serde_json::Value;

use crate::HealthAssessment;
use crate::object::condition;

/// Health of an APIService.
pub fn check(obj: &Value) -> HealthAssessment {
    match condition(obj, "Available") {
        Some(c) if c.is_true() => HealthAssessment::healthy(c.message),
        Some(c) => HealthAssessment::progressing(format!("{}: {}", c.reason, c.message)),
        None => HealthAssessment::progressing("Waiting to be processed"),
    }
}
