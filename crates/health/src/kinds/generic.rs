//! Kinds without a built-in check (ConfigMaps, Secrets, RBAC, most custom resources).
//!
//! Argo CD gives them no health; ferrocd calls them Healthy when they exist, which has the
//! same effect on the application's health, unless standard conditions say otherwise:
//! `Stalled=True` is Degraded, `Ready=False` is Degraded (or Progressing when its reason
//! says work is under way), `Ready=Unknown` and `Reconciling=True` are Progressing,
//! `Ready=True` is Healthy with its message.

use serde_json::Value;

use crate::HealthAssessment;
use crate::object::condition;

/// Words in a `Ready=False` reason that mean the controller is still working.
const IN_PROGRESS: [&str; 7] = [
    "Progress",
    "Pending",
    "Reconcil",
    "Creating",
    "Waiting",
    "Issuing",
    "Provisioning",
];

/// Health of an object of a kind without a built-in check.
pub fn check(obj: &Value) -> HealthAssessment {
    if let Some(c) = condition(obj, "Stalled")
        && c.is_true()
    {
        return HealthAssessment::degraded(join(c.reason, c.message));
    }
    if let Some(c) = condition(obj, "Ready") {
        if c.is_true() {
            return HealthAssessment::healthy(c.message);
        }
        if c.is_false() && !IN_PROGRESS.iter().any(|w| c.reason.contains(w)) {
            return HealthAssessment::degraded(join(c.reason, c.message));
        }
        return HealthAssessment::progressing(join(c.reason, c.message));
    }
    if let Some(c) = condition(obj, "Reconciling")
        && c.is_true()
    {
        return HealthAssessment::progressing(join(c.reason, c.message));
    }
    HealthAssessment::healthy("")
}

fn join(reason: &str, message: &str) -> String {
    match (reason.is_empty(), message.is_empty()) {
        (false, false) => format!("{reason}: {message}"),
        (false, true) => reason.to_string(),
        _ => message.to_string(),
    }
}
