//! `networking.k8s.io/v1` Ingress: Healthy once the controller published an address.

use serde_json::Value;

use crate::HealthAssessment;
use crate::kinds::service::load_balancer;

/// Health of an Ingress.
pub fn check(obj: &Value) -> HealthAssessment {
    load_balancer(obj, "Ingress")
}
