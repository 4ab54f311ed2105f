//! Prune candidates: tracked live objects that are no longer desired.
//!
//! An object is only ever pruned when its tracking names this application: the
//! `argocd.argoproj.io/tracking-id` annotation (application and identity must both match),
//! or, without that annotation, the `app.kubernetes.io/instance` label. Objects owned by
//! another object (`ownerReferences`), hooks (their delete policies govern them) and the
//! namespace created by `CreateNamespace=true` are never pruned.

use std::collections::BTreeSet;

use ferrocd_model::annotations::{INSTANCE_LABEL, SYNC_OPTIONS, TRACKING_ID};
use ferrocd_model::sync_options::Removal;
use ferrocd_model::{ResourceKey, SyncPhase};
use serde_json::Value;

use super::{PlanInput, SyncTask, TaskAction, annotation, hooks, label};

/// Reason of the `Skip` task of a prune candidate when pruning was not requested.
const REQUIRES_PRUNING: &str = "ignored (requires pruning)";
/// Reason of the `PruneSkipped` task of a `Prune=false` object.
const NO_PRUNE: &str = "ignored (no prune)";

/// Whether `live` (with identity `key`) carries the tracking of application `app`.
pub fn is_tracked_by(live: &Value, key: &ResourceKey, app: &str) -> bool {
    match annotation(live, TRACKING_ID) {
        Some(value) => match ResourceKey::parse_tracking_id(value) {
            Some((owner, tracked)) => owner == app && same_object(&tracked, key),
            None => false,
        },
        None => label(live, INSTANCE_LABEL) == Some(app),
    }
}

/// Tracking ids do not carry versions, and Argo CD writes an empty namespace for
/// cluster-scoped objects; compare all four parts.
fn same_object(tracked: &ResourceKey, key: &ResourceKey) -> bool {
    tracked.group == key.group
        && tracked.kind == key.kind
        && tracked.name == key.name
        && tracked.namespace == key.namespace
}

fn has_owner(live: &Value) -> bool {
    live.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| !refs.is_empty())
}

/// Prune, PruneSkipped or Skip tasks for the tracked live objects no longer desired, in
/// the Sync phase and the wave of the live object (see `order` for the final waves).
pub(crate) fn prune_tasks(
    input: &PlanInput,
    desired: &BTreeSet<ResourceKey>,
    warnings: &mut Vec<String>,
) -> Vec<SyncTask> {
    let opts = &input.options;
    let mut tasks = Vec::new();
    for (key, live) in &input.live {
        if desired.contains(key) || hooks::has_hook_annotation(live) || !opts.selects(key) {
            continue;
        }
        if has_owner(live) {
            continue;
        }
        if !is_tracked_by(live, key, &input.app) {
            warnings.push(format!(
                "{key}: not tracked by application {}; it will not be pruned",
                input.app
            ));
            continue;
        }
        if opts.sync_options.create_namespace
            && key.group.is_empty()
            && key.kind == "Namespace"
            && opts.destination_namespace.as_deref() == Some(key.name.as_str())
        {
            continue;
        }
        let options = opts
            .sync_options
            .with_annotation(annotation(live, SYNC_OPTIONS));
        let action = if input.desired.is_empty() && !opts.allow_empty {
            TaskAction::PruneSkipped {
                reason: "desired state is empty; pruning everything requires allowEmpty".into(),
            }
        } else if !opts.prune {
            TaskAction::Skip {
                reason: REQUIRES_PRUNING.into(),
            }
        } else if options.prune == Removal::Disabled {
            TaskAction::PruneSkipped {
                reason: NO_PRUNE.into(),
            }
        } else if options.prune == Removal::RequiresConfirmation && !opts.prune_confirmed {
            TaskAction::PruneSkipped {
                reason: "waiting for prune confirmation (Prune=confirm)".into(),
            }
        } else {
            TaskAction::Prune
        };
        tasks.push(SyncTask {
            phase: SyncPhase::Sync,
            wave: hooks::wave(live),
            key: key.clone(),
            action,
            is_hook: false,
            hook_type: None,
            hook_delete_policies: Vec::new(),
            options,
            needs_discovery_refresh: false,
            prune_candidate: true,
            object: live.clone(),
        });
    }
    if input.desired.is_empty() && !opts.allow_empty && !tasks.is_empty() {
        warnings.push(format!(
            "desired state of application {} is empty; nothing is pruned without allowEmpty",
            input.app
        ));
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tracking_id_must_name_app_and_object() {
        let key = ResourceKey::new("apps", "Deployment", "ml", "api");
        let obj = |id: &str| json!({"metadata": {"annotations": {TRACKING_ID: id}}});
        assert!(is_tracked_by(
            &obj("mlflow:apps/Deployment:ml/api"),
            &key,
            "mlflow"
        ));
        assert!(!is_tracked_by(
            &obj("airflow:apps/Deployment:ml/api"),
            &key,
            "mlflow"
        ));
        // Copied from another object: the id names a different identity.
        assert!(!is_tracked_by(
            &obj("mlflow:apps/Deployment:ml/other"),
            &key,
            "mlflow"
        ));
        assert!(!is_tracked_by(&obj("garbage"), &key, "mlflow"));
    }

    #[test]
    fn instance_label_is_the_fallback() {
        let key = ResourceKey::new("", "ConfigMap", "ml", "cfg");
        let labelled = json!({"metadata": {"labels": {INSTANCE_LABEL: "mlflow"}}});
        assert!(is_tracked_by(&labelled, &key, "mlflow"));
        assert!(!is_tracked_by(&labelled, &key, "airflow"));
        assert!(!is_tracked_by(&json!({"metadata": {}}), &key, "mlflow"));
        // An annotation naming another app wins over a matching label.
        let both = json!({"metadata": {"labels": {INSTANCE_LABEL: "mlflow"},
            "annotations": {TRACKING_ID: "airflow:/ConfigMap:ml/cfg"}}});
        assert!(!is_tracked_by(&both, &key, "mlflow"));
    }
}
