//! `v1` Namespace: Active or Terminating.

use serde_json::Value;

use crate::HealthAssessment;
use crate::object::str_at;

/// Health of a Namespace.
pub fn check(obj: &Value) -> HealthAssessment {
    match str_at(obj, "/status/phase") {
        Some("Active") | None => HealthAssessment::healthy(""),
        Some("Terminating") => HealthAssessment::progressing("Namespace is terminating"),
        Some(other) => HealthAssessment::unknown(format!("unknown namespace phase {other:?}")),
    }
}
