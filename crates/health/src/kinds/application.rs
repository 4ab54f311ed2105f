//! `argoproj.io/v1alpha1` Application (app of apps): the child Application's own
//! `status.health`.

use ferrocd_model::HealthStatus;
use serde_json::Value;

use crate::HealthAssessment;
use crate::object::str_at;

/// Health of an Application, as it reports it.
pub fn check(obj: &Value) -> HealthAssessment {
    let message = str_at(obj, "/status/health/message").unwrap_or("");
    match str_at(obj, "/status/health/status") {
        None => {
            HealthAssessment::progressing("Waiting for the application's health to be reported")
        }
        Some(s) => match HealthStatus::parse(s) {
            Some(status) => HealthAssessment::new(status, message),
            None => HealthAssessment::unknown(format!("unknown application health {s:?}")),
        },
    }
}
