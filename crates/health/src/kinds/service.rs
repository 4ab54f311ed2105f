//! `v1` Service: a LoadBalancer waits for its ingress address.

use serde_json::Value;

use crate::HealthAssessment;
use crate::object::{array_at, str_at};

/// Health of a Service.
pub fn check(obj: &Value) -> HealthAssessment {
    if str_at(obj, "/spec/type") != Some("LoadBalancer") {
        return HealthAssessment::healthy("");
    }
    load_balancer(obj, "Service")
}

/// Shared with Ingress: Healthy once `status.loadBalancer.ingress` has an entry.
pub(crate) fn load_balancer(obj: &Value, what: &str) -> HealthAssessment {
    let ingress = array_at(obj, "/status/loadBalancer/ingress");
    if ingress.is_empty() {
        return HealthAssessment::progressing(format!(
            "Waiting for the {what}'s load balancer to get an ingress IP or hostname"
        ));
    }
    let addresses: Vec<&str> = ingress
        .iter()
        .filter_map(|i| str_at(i, "/ip").or_else(|| str_at(i, "/hostname")))
        .collect();
    HealthAssessment::healthy(format!("load balancer ready at {}", addresses.join(", ")))
}
