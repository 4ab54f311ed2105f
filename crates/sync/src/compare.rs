//! The comparison of an application's desired state with its live objects: per resource
//! its sync status (from `ferrocd-diff`), its health (from `ferrocd-health`, with the
//! resource's descendants from the inventory, `Missing` when absent) and whether it
//! requires pruning; for the application the folded sync status and health.
//!
//! This is what `ferrocd diff|status|sync` print and what the controller writes to an
//! Application's status. It is pure: the caller reads the live objects
//! ([`crate::live::load`] in direct mode, the watch-fed cache in the controller).
//!
//! Rules:
//! - a desired object is compared with the live object of the same key (tracked or not:
//!   an untracked live object is adopted by the next sync);
//! - a live object tracked by the application (its tracking id names the application and
//!   this very object) that is no longer desired is `OutOfSync` and `requires_pruning`,
//!   unless it carries compare-option `IgnoreExtraneous` (then it is listed but does not
//!   make the application OutOfSync);
//! - hooks (`argocd.argoproj.io/hook`, `helm.sh/hook`) are listed with `hook: true` and
//!   count neither for the application's sync status nor for its health; live hooks no
//!   longer desired are not listed;
//! - `argocd.argoproj.io/ignore-healthcheck: "true"` keeps a resource out of the
//!   application's health.

use std::collections::BTreeSet;

use ferrocd_cluster::Inventory;
use ferrocd_diff::{DiffError, DiffOptions, ObjectDiff, diff};
use ferrocd_health::{
    HealthAssessment, HealthCustomizations, app_health, assess_with_children, ignores_health_check,
};
use ferrocd_model::{ResourceKey, SyncStatusCode};
use serde_json::Value;

use crate::plan::{is_hook, is_tracked_by};
use crate::prepare::DesiredState;

/// The state of one resource of an application.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceStatus {
    /// Identity.
    pub key: ResourceKey,
    /// API version without the group (`v1`), from desired, else live.
    pub version: String,
    /// Sync status of this resource.
    pub status: SyncStatusCode,
    /// Health of the live object (`Missing` when it does not exist).
    pub health: HealthAssessment,
    /// The comparison (normalized objects, changes, unified text).
    pub diff: ObjectDiff,
    /// True for hooks.
    pub hook: bool,
    /// Tracked, live and no longer desired.
    pub requires_pruning: bool,
}

/// The comparison of a whole application.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Per resource, sorted by group, kind, namespace and name.
    pub resources: Vec<ResourceStatus>,
    /// The application's sync status.
    pub sync_status: SyncStatusCode,
    /// The application's health: the worst of its resources'.
    pub health: HealthAssessment,
}

impl Comparison {
    /// Keys of resources that are not in sync (the planner's `out_of_sync`).
    pub fn out_of_sync(&self) -> BTreeSet<ResourceKey> {
        self.resources
            .iter()
            .filter(|r| r.status != SyncStatusCode::Synced)
            .map(|r| r.key.clone())
            .collect()
    }

    /// The resource with this key.
    pub fn get(&self, key: &ResourceKey) -> Option<&ResourceStatus> {
        self.resources.iter().find(|r| &r.key == key)
    }

    /// The unified diff of every resource that is not in sync (hooks excluded).
    pub fn unified_diff(&self) -> String {
        self.resources
            .iter()
            .filter(|r| !r.hook)
            .map(|r| r.diff.unified())
            .collect()
    }
}

/// A comparison that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The diff engine failed on one object (a bad jq expression, unreadable
    /// managedFields).
    #[error("comparing {key}")]
    Diff {
        /// The object.
        key: Box<ResourceKey>,
        /// The diff engine's error.
        #[source]
        source: Box<DiffError>,
    },
}

/// Everything a comparison needs.
#[derive(Debug, Clone, Copy)]
pub struct CompareInput<'a> {
    /// The application's tracking name.
    pub app: &'a str,
    /// The desired objects.
    pub desired: &'a DesiredState,
    /// The live objects: tracked ones (and live copies of desired ones) with their
    /// descendants.
    pub live: &'a Inventory,
    /// Diff options (ignoreDifferences rules, field manager).
    pub diff: &'a DiffOptions,
    /// Health customizations (Lua scripts of `argocd-cm`).
    pub health: &'a HealthCustomizations,
}

/// Compares an application's desired objects with its live ones.
pub fn compare(input: &CompareInput<'_>) -> Result<Comparison, CompareError> {
    let mut resources = Vec::new();
    let mut desired_keys = BTreeSet::new();
    for d in &input.desired.objects {
        let hook = is_hook(&d.object);
        let live = if d.key.name.is_empty() {
            None
        } else {
            input.live.tracked.get(&d.key)
        };
        desired_keys.insert(d.key.clone());
        resources.push(resource(input, &d.key, Some(&d.object), live, hook)?);
    }
    for (key, live) in &input.live.tracked {
        if desired_keys.contains(key) || is_hook(live) || !is_tracked_by(live, key, input.app) {
            continue;
        }
        let mut status = resource(input, key, None, Some(live), false)?;
        status.requires_pruning = true;
        resources.push(status);
    }
    resources.sort_by(|a, b| a.key.cmp(&b.key));

    let counted: Vec<&ObjectDiff> = resources
        .iter()
        .filter(|r| !r.hook)
        .map(|r| &r.diff)
        .collect();
    let sync_status = if counted.iter().any(|d| d.counts_against_app()) {
        SyncStatusCode::OutOfSync
    } else {
        SyncStatusCode::Synced
    };
    let health = app_health(
        resources
            .iter()
            .filter(|r| !r.hook && !r.diff_ignores_health())
            .map(|r| &r.health),
    );
    Ok(Comparison {
        resources,
        sync_status,
        health,
    })
}

impl ResourceStatus {
    fn diff_ignores_health(&self) -> bool {
        [
            self.diff.normalized_desired.as_ref(),
            self.diff.normalized_live.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(ignores_health_check)
    }
}

fn resource(
    input: &CompareInput<'_>,
    key: &ResourceKey,
    desired: Option<&Value>,
    live: Option<&Value>,
    hook: bool,
) -> Result<ResourceStatus, CompareError> {
    let diff = diff(desired, live, input.diff).map_err(|source| CompareError::Diff {
        key: Box::new(key.clone()),
        source: Box::new(source),
    })?;
    let health = match live {
        None => HealthAssessment::missing(),
        Some(live) => {
            let children = live
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .map(|uid| input.live.descendants_of(uid))
                .unwrap_or_default();
            assess_with_children(live, &children, input.health)
        }
    };
    let version = desired
        .or(live)
        .and_then(|o| o.get("apiVersion"))
        .and_then(Value::as_str)
        .map(|v| v.rsplit('/').next().unwrap_or(v).to_string())
        .unwrap_or_default();
    Ok(ResourceStatus {
        key: key.clone(),
        version,
        status: diff.sync_status(),
        health,
        diff,
        hook,
        requires_pruning: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::{DesiredObject, stamp};
    use ferrocd_model::HealthStatus;
    use serde_json::json;

    fn cm(name: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "ml"}, "data": data})
    }

    fn desired(objs: Vec<Value>) -> DesiredState {
        DesiredState {
            objects: objs
                .into_iter()
                .map(|mut o| {
                    let key = ResourceKey::from_object(&o);
                    stamp(&mut o, &key.tracking_id("mlflow"));
                    DesiredObject {
                        key,
                        object: o,
                        origin: "test.yaml:1".into(),
                    }
                })
                .collect(),
        }
    }

    fn live(objs: Vec<Value>) -> Inventory {
        let mut inv = Inventory::default();
        for mut o in objs {
            let key = ResourceKey::from_object(&o);
            stamp(&mut o, &key.tracking_id("mlflow"));
            inv.tracked.insert(key, o);
        }
        inv
    }

    fn run(d: &DesiredState, l: &Inventory) -> Comparison {
        let diff = DiffOptions::default();
        let health = HealthCustomizations::default();
        compare(&CompareInput {
            app: "mlflow",
            desired: d,
            live: l,
            diff: &diff,
            health: &health,
        })
        .unwrap_or_else(|e| panic!("compare: {e}"))
    }

    #[test]
    fn synced_missing_and_extraneous() {
        let d = desired(vec![cm("a", json!({"k": "v"})), cm("b", json!({}))]);
        let l = live(vec![cm("a", json!({"k": "v"})), cm("old", json!({}))]);
        let c = run(&d, &l);
        assert_eq!(c.sync_status, SyncStatusCode::OutOfSync);
        let names: Vec<_> = c.resources.iter().map(|r| r.key.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "old"]);
        assert_eq!(c.resources[0].status, SyncStatusCode::Synced);
        assert_eq!(c.resources[1].health.status, HealthStatus::Missing);
        assert!(c.resources[2].requires_pruning);
        assert_eq!(c.health.status, HealthStatus::Missing);
        assert_eq!(c.out_of_sync().len(), 2);
        assert!(c.unified_diff().contains("===== /ConfigMap ml/old"));
    }

    #[test]
    fn objects_tracked_by_another_app_or_copied_are_not_extraneous() {
        let d = desired(vec![]);
        let mut copied = cm("copy", json!({}));
        stamp(&mut copied, "mlflow:/ConfigMap:ml/original");
        let mut l = Inventory::default();
        l.tracked.insert(ResourceKey::from_object(&copied), copied);
        let c = run(&d, &l);
        assert!(c.resources.is_empty());
        assert_eq!(c.sync_status, SyncStatusCode::Synced);
    }

    #[test]
    fn ignore_extraneous_keeps_the_app_synced() {
        let d = desired(vec![]);
        let mut obj = cm("cache", json!({}));
        obj["metadata"]["annotations"] =
            json!({"argocd.argoproj.io/compare-options": "IgnoreExtraneous"});
        let c = run(&d, &live(vec![obj]));
        assert_eq!(c.resources.len(), 1);
        assert!(c.resources[0].requires_pruning);
        assert_eq!(c.sync_status, SyncStatusCode::Synced);
    }

    #[test]
    fn hooks_do_not_count() {
        let mut job = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "ml",
                "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
            "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "mlflow:2"}]}}}});
        let d = desired(vec![job.clone()]);
        job["metadata"]["name"] = json!("old-hook");
        let c = run(&d, &live(vec![job]));
        assert_eq!(c.resources.len(), 1);
        assert!(c.resources[0].hook);
        assert_eq!(c.sync_status, SyncStatusCode::Synced);
        assert_eq!(c.health.status, HealthStatus::Healthy);
    }

    #[test]
    fn health_uses_descendants_and_ignore_annotation() {
        let dep = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "ml", "uid": "u1", "generation": 1,
                "annotations": {"argocd.argoproj.io/ignore-healthcheck": "true"}},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 0,
                       "availableReplicas": 0}});
        let d = desired(vec![dep.clone()]);
        let c = run(&d, &live(vec![dep]));
        assert_ne!(c.resources[0].health.status, HealthStatus::Healthy);
        assert_eq!(c.health.status, HealthStatus::Healthy);
    }
}
