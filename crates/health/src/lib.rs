//! ferrocd-health: health assessment of Kubernetes objects.
//!
//! [`assess`] gives the health of one live object: a Lua script from the `argocd-cm`
//! customizations when one matches the object's group and kind (see
//! [`HealthCustomizations`]), otherwise the built-in check for its kind (one module per
//! kind under `kinds`), otherwise a generic reading of standard `status.conditions`.
//! [`assess_with_children`] lets workload controllers (Deployment, ReplicaSet,
//! StatefulSet, DaemonSet, Job) look at the Pods they own, so that a rollout stuck only
//! because no node has a free GPU reads as "waiting for GPU capacity", never Degraded.
//! [`app_health`] folds the health of many resources into the application's.
//!
//! Kinds without a built-in check: Argo CD gives them no health at all, which means they
//! never change the application's health. ferrocd reports them `Healthy` with an empty
//! message (the same effect on the application, because app health is the worst of its
//! resources), unless the object carries standard conditions that say otherwise
//! (`Ready=False`, `Stalled=True`, ...), see [`kinds::generic`].
#![deny(missing_docs)]

mod customizations;
mod gpu;
pub mod kinds;
mod lua;
mod object;

use ferrocd_model::{HealthStatus, ResourceKey};
use serde_json::Value;

pub use customizations::{CustomizationError, HealthCustomizations};
pub use lua::{LuaLimits, LuaScriptError};

/// The health of one object: a status and a human-readable message (may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct HealthAssessment {
    /// The status, ordered so that an application's health is the `max` of its resources'.
    pub status: HealthStatus,
    /// Why the object has this status, as a user would want to read it.
    pub message: String,
}

impl HealthAssessment {
    /// Builds an assessment from a status and a message.
    pub fn new(status: HealthStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// `Healthy` with a message.
    pub fn healthy(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Healthy, message)
    }

    /// `Progressing` with a message.
    pub fn progressing(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Progressing, message)
    }

    /// `Degraded` with a message.
    pub fn degraded(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Degraded, message)
    }

    /// `Suspended` with a message.
    pub fn suspended(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Suspended, message)
    }

    /// `Unknown` with a message.
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(HealthStatus::Unknown, message)
    }

    /// `Missing`: the object is expected but absent from the cluster.
    pub fn missing() -> Self {
        Self::new(HealthStatus::Missing, "")
    }
}

/// The health of a live object, with the customizations of an `argocd-cm` ConfigMap.
pub fn assess(obj: &Value, customizations: &HealthCustomizations) -> HealthAssessment {
    assess_with_children(obj, &[], customizations)
}

/// The health of a live object whose owned objects (the Pods of a Deployment, ReplicaSet,
/// StatefulSet, DaemonSet or Job; the Jobs of a CronJob) are passed in `children`. The
/// caller chooses the children (from owner references); objects of other kinds in the
/// slice are ignored by the checks that do not need them.
pub fn assess_with_children(
    obj: &Value,
    children: &[&Value],
    customizations: &HealthCustomizations,
) -> HealthAssessment {
    if !obj.is_object() {
        return HealthAssessment::unknown("object is not a JSON map");
    }
    if obj
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
    {
        return HealthAssessment::progressing("Pending deletion");
    }
    let key = ResourceKey::from_object(obj);
    if let Some(result) = customizations.run(&key.group, &key.kind, obj) {
        return result;
    }
    kinds::builtin(&key.group, &key.kind, obj, children)
}

/// The built-in health of an object, without customizations or children.
pub fn assess_builtin(obj: &Value) -> HealthAssessment {
    assess_with_children(obj, &[], &HealthCustomizations::default())
}

/// Whether ferrocd has a built-in health check for this group and kind (kinds without
/// one are assessed by [`kinds::generic`]).
pub fn has_builtin_check(group: &str, kind: &str) -> bool {
    kinds::has_check(group, kind)
}

/// Annotation that keeps a resource's health out of its application's health.
pub const IGNORE_HEALTHCHECK: &str = "argocd.argoproj.io/ignore-healthcheck";

/// Whether the object asks to be left out of its application's health
/// (`argocd.argoproj.io/ignore-healthcheck: "true"`).
pub fn ignores_health_check(obj: &Value) -> bool {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(IGNORE_HEALTHCHECK))
        .and_then(Value::as_str)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The health of an application: the worst of its resources' health in
/// [`HealthStatus`]'s order (an empty application is `Healthy`; `Unknown` ranks lowest,
/// so it shows only when every resource is unknown). The message is the one of the first
/// resource with that worst status.
pub fn app_health<'a>(
    resources: impl IntoIterator<Item = &'a HealthAssessment>,
) -> HealthAssessment {
    let mut worst: Option<&HealthAssessment> = None;
    for r in resources {
        if worst.is_none_or(|w| r.status > w.status) {
            worst = Some(r);
        }
    }
    worst
        .cloned()
        .unwrap_or_else(|| HealthAssessment::healthy(""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deletion_wins_over_kind() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "a", "deletionTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"phase": "Running"}});
        assert_eq!(
            assess_builtin(&pod),
            HealthAssessment::progressing("Pending deletion")
        );
    }

    #[test]
    fn app_health_is_worst() {
        let list = [
            HealthAssessment::healthy(""),
            HealthAssessment::progressing("rolling"),
            HealthAssessment::degraded("crash"),
            HealthAssessment::suspended(""),
        ];
        assert_eq!(app_health(&list), HealthAssessment::degraded("crash"));
        assert_eq!(app_health(&[]).status, HealthStatus::Healthy);
        assert_eq!(
            app_health(&[HealthAssessment::unknown("x")]).status,
            HealthStatus::Unknown
        );
        assert_eq!(
            app_health(&[
                HealthAssessment::unknown("x"),
                HealthAssessment::healthy("")
            ])
            .status,
            HealthStatus::Healthy
        );
    }

    #[test]
    fn ignore_healthcheck_annotation() {
        let obj = json!({"metadata": {"annotations": {IGNORE_HEALTHCHECK: "true"}}});
        assert!(ignores_health_check(&obj));
        assert!(!ignores_health_check(&json!({"metadata": {}})));
    }

    #[test]
    fn non_object_is_unknown() {
        assert_eq!(assess_builtin(&json!([1, 2])).status, HealthStatus::Unknown);
    }
}
