//! `apiextensions.k8s.io/v1` CustomResourceDefinition: Established, NamesAccepted,
//! NonStructuralSchema and Terminating.

use serde_json::Value;

use crate::HealthAssessment;
use crate::object::condition;

/// Health of a CustomResourceDefinition.
pub fn check(obj: &Value) -> HealthAssessment {
    if let Some(c) = condition(obj, "Terminating")
        && c.is_true()
    {
        return HealthAssessment::progressing(format!("CRD is terminating: {}", c.message));
    }
    if let Some(c) = condition(obj, "NamesAccepted")
        && c.is_false()
    {
        return HealthAssessment::degraded(format!(
            "CRD names have not been accepted: {}",
            c.message
        ));
    }
    if let Some(c) = condition(obj, "NonStructuralSchema")
        && c.is_true()
    {
        return HealthAssessment::degraded(format!(
            "CRD has a non-structural schema: {}",
            c.message
        ));
    }
    match condition(obj, "Established") {
        Some(c) if c.is_true() => HealthAssessment::healthy("CRD is established"),
        Some(c) if c.is_false() => {
            HealthAssessment::degraded(format!("CRD is not established: {}", c.message))
        }
        _ => HealthAssessment::progressing("Waiting for the CRD to be established"),
    }
}
