//! `v1` PersistentVolumeClaim: Bound, Pending, Lost.

use serde_json::Value;

use crate::HealthAssessment;
use crate::object::str_at;

/// Health of a PersistentVolumeClaim.
pub fn check(obj: &Value) -> HealthAssessment {
    match str_at(obj, "/status/phase") {
        Some("Bound") => HealthAssessment::healthy(format!(
            "bound to volume {}",
            str_at(obj, "/spec/volumeName").unwrap_or("")
        )),
        Some("Pending") => HealthAssessment::progressing("Waiting for the claim to be bound"),
        Some("Lost") => HealthAssessment::degraded("The claim lost its underlying volume"),
        Some(other) => HealthAssessment::unknown(format!("unknown claim phase {other:?}")),
        None => HealthAssessment::progressing("Waiting for the claim to be bound"),
    }
}
