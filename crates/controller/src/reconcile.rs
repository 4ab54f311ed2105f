//! One reconciliation of one application: render, compare with the live cache, write the
//! status, and start a sync operation when one is requested or automated sync calls for it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocd_cluster::{Cluster, DeleteOptions, Inventory, Propagation};
use ferrocd_diff::DiffOptions;
use ferrocd_model::annotations::REFRESH;
use ferrocd_model::{
    AppProject, Application, ApplicationCondition, HealthStatus, Operation, OperationInitiator,
    OperationPhase, SyncOperation, SyncStatusCode,
};
use ferrocd_render::application::RenderedApp;
use ferrocd_sync::{CompareInput, Comparison, DesiredState, PrepareOptions, compare, prepare};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use crate::controller::{AppRef, Shared};
use crate::metrics::AppInfoLabels;
use crate::status;

/// The finalizer that makes deleting an Application delete its resources first.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";
/// Its background-deletion form.
pub const RESOURCES_FINALIZER_BACKGROUND: &str =
    "resources-finalizer.argocd.argoproj.io/background";

/// Field manager of the comparison part of the status.
pub(crate) const STATUS_MANAGER: &str = "ferrocd-controller";

/// What a comparison produced, for the status and for a sync.
pub(crate) struct Compared {
    pub rendered: Arc<RenderedApp>,
    pub desired: DesiredState,
    pub inventory: Inventory,
    pub comparison: Comparison,
}

pub(crate) async fn reconcile(shared: &Arc<Shared>, key: &AppRef) {
    let Some(app) = shared.app(key) else {
        return;
    };
    let started = Instant::now();
    shared.last_reconciled.lock().insert(key.clone(), started);
    if crate::controller::is_deleting(&app) {
        finalize(shared, key, &app).await;
        return;
    }
    let refresh = app.metadata.annotations.get(REFRESH).map(|v| v.to_string());
    let hard = refresh.as_deref() == Some("hard");

    let outcome = compare_app(shared, &app, hard).await;
    let dest_server = shared
        .registry
        .server_of(&app.spec.destination)
        .unwrap_or_default();
    let (conditions, compared) = match outcome {
        Ok(c) => {
            let mut conditions = Vec::new();
            for violation in resource_violations(shared, &app, &c, &dest_server) {
                conditions.push(("SyncError".to_string(), violation));
            }
            (conditions, Some(c))
        }
        Err(conditions) => (conditions, None),
    };
    let new_status = status::comparison_status(
        &app,
        compared.as_ref(),
        &conditions,
        &shared.config.namespace,
    );
    // A refresh that found nothing new writes only its times (a small merge patch)
    // instead of applying the whole status again.
    let written = if status::only_times_changed(&app, &new_status) {
        patch_app(shared, &app, &status::times_patch(&new_status)).await
    } else {
        write_status(shared, &app, new_status).await
    };
    if let Err(e) = written {
        warn!(app = %app.name(), error = %e, "writing status");
    }
    if refresh.is_some() {
        // The refresh was served: remove the request.
        let patch = json!({"metadata": {"annotations": {REFRESH: null}}});
        if let Err(e) = patch_app(shared, &app, &patch).await {
            debug!(app = %app.name(), error = %e, "removing refresh annotation");
        }
    }

    let sync_status = compared
        .as_ref()
        .map(|c| c.comparison.sync_status)
        .unwrap_or(SyncStatusCode::Unknown);
    let health = compared
        .as_ref()
        .map(|c| c.comparison.health.status)
        .unwrap_or(HealthStatus::Unknown);
    let repo = app
        .spec
        .sources_list()
        .first()
        .map(|s| s.repo_url.clone())
        .unwrap_or_default();
    shared.metrics.set_app_info(&AppInfoLabels {
        name: app.name().to_string(),
        namespace: key.0.clone(),
        project: app.spec.project.clone(),
        sync_status: sync_status.to_string(),
        health_status: health.to_string(),
        dest_server: dest_server.clone(),
        dest_namespace: app.spec.destination.namespace.clone().unwrap_or_default(),
        repo,
        autosync_enabled: app.spec.automated().is_some().to_string(),
    });
    shared
        .metrics
        .observe_reconcile(&key.0, &dest_server, started.elapsed());

    // Operations: a running one resumes after a restart; a requested one starts; else
    // automated sync may start one.
    if shared.operations.lock().contains_key(key) {
        return;
    }
    let blocked = !conditions.is_empty();
    let state = app.status.as_ref().and_then(|s| s.operation_state.as_ref());
    if let Some(state) = state
        && state.phase == Some(OperationPhase::Running)
    {
        info!(app = %app.name(), "resuming the running operation");
        crate::operation::start(
            shared.clone(),
            key.clone(),
            &app,
            state.operation.clone(),
            Some(state.clone()),
        );
        return;
    }
    if let Some(operation) = app.operation.clone() {
        crate::operation::start(shared.clone(), key.clone(), &app, operation, None);
        return;
    }
    if blocked {
        return;
    }
    let Some(compared) = compared else { return };
    match decide_auto_sync(&app, &compared, Instant::now(), chrono::Utc::now()) {
        AutoSync::Skip(reason) => debug!(app = %app.name(), reason, "no automated sync"),
        AutoSync::WaitSelfHeal(delay) => {
            let (shared, key) = (shared.clone(), key.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                shared.enqueue(key);
            });
        }
        AutoSync::Sync => {
            let automated = app.spec.automated().cloned().unwrap_or_default();
            let revisions = compared.rendered.revisions();
            let operation = Operation {
                sync: Some(SyncOperation {
                    revision: (revisions.len() == 1).then(|| revisions[0].to_string()),
                    revisions: if revisions.len() > 1 {
                        revisions.iter().map(|r| r.to_string()).collect()
                    } else {
                        Vec::new()
                    },
                    prune: automated.prune,
                    sync_options: app
                        .spec
                        .sync_policy
                        .as_ref()
                        .map(|p| p.sync_options.clone())
                        .unwrap_or_default(),
                    ..Default::default()
                }),
                initiated_by: Some(OperationInitiator {
                    automated: Some(true),
                    ..Default::default()
                }),
                retry: app.spec.sync_policy.as_ref().and_then(|p| p.retry.clone()),
                ..Default::default()
            };
            let out_of_sync = compared.comparison.out_of_sync();
            let shown: Vec<String> = out_of_sync
                .iter()
                .take(5)
                .map(|k| format!("{}/{}/{}", k.kind, k.namespace, k.name))
                .collect();
            info!(app = %app.name(), revision = ?revisions, out_of_sync = out_of_sync.len(),
                resources = ?shown, "automated sync");
            crate::operation::start(shared.clone(), key.clone(), &app, operation, None);
        }
    }
}

/// Renders and compares; on failure, the conditions that explain it.
pub(crate) async fn compare_app(
    shared: &Arc<Shared>,
    app: &Application,
    hard: bool,
) -> Result<Compared, Vec<(String, String)>> {
    let err = |ty: &str, msg: String| vec![(ty.to_string(), msg)];
    let project = project_of(shared, app).map_err(|m| err("InvalidSpecError", m))?;
    let cluster = shared
        .registry
        .resolve(&app.spec.destination)
        .map_err(|e| err("InvalidSpecError", e.to_string()))?;
    let dest_server = shared
        .registry
        .server_of(&app.spec.destination)
        .unwrap_or_default();
    let violations = project.check_application(app, &dest_server);
    if !violations.is_empty() {
        return Err(violations
            .iter()
            .map(|v| (v.condition_type().to_string(), v.to_string()))
            .collect());
    }
    let rendered = crate::rendering::render(shared, app, None, hard)
        .await
        .map_err(|e| err("ComparisonError", format!("rendering failed: {e}")))?;
    compare_rendered(shared, app, cluster, rendered).await
}

/// Compares already rendered manifests with the live state.
pub(crate) async fn compare_rendered(
    shared: &Arc<Shared>,
    app: &Application,
    cluster: Cluster,
    rendered: Arc<RenderedApp>,
) -> Result<Compared, Vec<(String, String)>> {
    let err = |ty: &str, msg: String| vec![(ty.to_string(), msg)];
    let cache = shared
        .cache_for(&cluster)
        .await
        .map_err(|e| err("ComparisonError", e))?;
    let instance = app.instance_name(&shared.config.namespace);
    let manifests: Vec<ferrocd_manifest::Manifest> = rendered.manifests().cloned().collect();
    let desired = prepare(
        &cluster,
        &manifests,
        &PrepareOptions {
            app: instance.clone(),
            destination_namespace: app.spec.destination.namespace.clone().unwrap_or_default(),
        },
    )
    .await
    .map_err(|e| err("ComparisonError", e.to_string()))?;
    let mut inventory = cache.inventory(&instance);
    // Desired objects that exist but are not tracked yet: the sync adopts them.
    for d in &desired.objects {
        if d.key.name.is_empty() || inventory.tracked.contains_key(&d.key) {
            continue;
        }
        if let Some(live) = cache.get(&d.key) {
            inventory
                .tracked
                .insert(d.key.clone(), live.to_value_with_managed_fields());
        }
    }
    let settings = shared.settings.lock().clone();
    let mut ignore = settings.ignore.clone();
    if !app.spec.ignore_differences.is_empty() {
        // Only the rules are converted (not the whole Application, on every refresh).
        let rules = json!({"spec": {"ignoreDifferences": app.spec.ignore_differences}});
        ignore.extend(
            ferrocd_diff::IgnoreRule::from_application(&rules)
                .map_err(|e| err("InvalidSpecError", e.to_string()))?,
        );
    }
    let diff = DiffOptions {
        ignore,
        ..Default::default()
    };
    let comparison = compare(&CompareInput {
        app: &instance,
        desired: &desired,
        live: &inventory,
        diff: &diff,
        health: &settings.health,
    })
    .map_err(|e| err("ComparisonError", e.to_string()))?;
    Ok(Compared {
        rendered,
        desired,
        inventory,
        comparison,
    })
}

/// The application's project, `default` allowing everything when it is not declared.
pub(crate) fn project_of(shared: &Shared, app: &Application) -> Result<AppProject, String> {
    let name = if app.spec.project.is_empty() {
        "default"
    } else {
        app.spec.project.as_str()
    };
    let known = shared.projects.lock().get(name).cloned();
    let project = match known {
        Some(p) => p,
        None if name == "default" => AppProject::default_project(&shared.config.namespace),
        None => {
            return Err(format!(
                "Application referencing project {name} which does not exist"
            ));
        }
    };
    crate::controller::permit_app_namespace(&project, app, &shared.config.namespace)?;
    Ok(project)
}

/// Resources the project does not permit (kinds, namespaces).
fn resource_violations(
    shared: &Shared,
    app: &Application,
    compared: &Compared,
    dest_server: &str,
) -> Vec<String> {
    let Ok(project) = project_of(shared, app) else {
        return Vec::new();
    };
    let cluster_name = app.spec.destination.name.as_deref();
    let mut out = BTreeSet::new();
    for d in &compared.desired.objects {
        let ns = (!d.key.namespace.is_empty()).then_some(d.key.namespace.as_str());
        if let Some(v) =
            project.check_resource(&d.key.group, &d.key.kind, ns, dest_server, cluster_name)
        {
            out.insert(v.to_string());
        }
    }
    out.into_iter().collect()
}

/// What automated sync does now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AutoSync {
    /// Nothing, for this reason.
    Skip(&'static str),
    /// Sync now.
    Sync,
    /// Self-heal later: drift was seen too soon after the last sync.
    WaitSelfHeal(Duration),
}

/// Argo CD's rules: automated sync runs when the app is OutOfSync; once per revision (a
/// failed attempt at a revision is not repeated — retries belong to the operation); drift
/// at an already synced revision is repaired only with selfHeal, after selfHealTimeout.
pub(crate) fn decide_auto_sync(
    app: &Application,
    compared: &Compared,
    _now: Instant,
    wall: chrono::DateTime<chrono::Utc>,
) -> AutoSync {
    let Some(automated) = app.spec.automated() else {
        return AutoSync::Skip("automated sync is disabled");
    };
    if app.operation.is_some() {
        return AutoSync::Skip("an operation is requested");
    }
    if compared.comparison.sync_status != SyncStatusCode::OutOfSync {
        return AutoSync::Skip("in sync");
    }
    if compared.desired.is_empty() && !automated.allow_empty.unwrap_or(false) {
        return AutoSync::Skip("rendering produced no resources and allowEmpty is off");
    }
    let revisions: Vec<String> = compared
        .rendered
        .revisions()
        .iter()
        .map(|r| r.to_string())
        .collect();
    let state = app.status.as_ref().and_then(|s| s.operation_state.as_ref());
    let Some(state) = state else {
        return AutoSync::Sync;
    };
    let attempted: Vec<String> = state
        .sync_result
        .as_ref()
        .map(|r| {
            if r.revisions.is_empty() {
                r.revision.iter().cloned().collect()
            } else {
                r.revisions.clone()
            }
        })
        .unwrap_or_default();
    if attempted != revisions {
        return AutoSync::Sync;
    }
    match state.phase {
        Some(OperationPhase::Succeeded) => {
            if !automated.self_heal.unwrap_or(false) {
                return AutoSync::Skip("drift at the synced revision and selfHeal is off");
            }
            let timeout = chrono::Duration::seconds(SELF_HEAL_TIMEOUT_SECONDS);
            let finished = state
                .finished_at
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            match finished {
                Some(at) if wall - at < timeout => {
                    let left = (at + timeout - wall).to_std().unwrap_or_default();
                    AutoSync::WaitSelfHeal(left + Duration::from_millis(50))
                }
                _ => AutoSync::Sync,
            }
        }
        Some(OperationPhase::Running) | Some(OperationPhase::Terminating) => {
            AutoSync::Skip("an operation is running")
        }
        _ => AutoSync::Skip("the previous sync attempt at this revision failed"),
    }
}

/// Argo CD's default `--self-heal-timeout-seconds`.
const SELF_HEAL_TIMEOUT_SECONDS: i64 = 5;

/// Writes the comparison part of the status (its own field manager, so that it never
/// clobbers the operation state a running sync writes).
pub(crate) async fn write_status(
    shared: &Shared,
    app: &Application,
    status: Value,
) -> Result<(), String> {
    apply_status(shared, app, status, STATUS_MANAGER).await
}

/// Server-side applies `status` to the Application as `manager`: each writer owns its
/// own status fields and drops only those it no longer sets.
pub(crate) async fn apply_status(
    shared: &Shared,
    app: &Application,
    status: Value,
    manager: &str,
) -> Result<(), String> {
    let obj = json!({
        "apiVersion": ferrocd_model::API_VERSION,
        "kind": "Application",
        "metadata": {"name": app.name(), "namespace": app.metadata.namespace},
        "status": status,
    });
    shared
        .control_plane
        .apply(
            &obj,
            &ferrocd_cluster::WriteOptions {
                field_manager: manager.to_string(),
                ..Default::default()
            },
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// JSON-merge-patches the Application.
pub(crate) async fn patch_app(
    shared: &Shared,
    app: &Application,
    patch: &Value,
) -> Result<(), String> {
    let key = ferrocd_model::ResourceKey {
        group: "argoproj.io".to_string(),
        kind: "Application".to_string(),
        namespace: app.metadata.namespace.clone().unwrap_or_default(),
        name: app.name().to_string(),
    };
    shared
        .control_plane
        .merge_patch(&key, patch)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Deletes the resources of an application being deleted (when it carries the resources
/// finalizer), then lets the Application go.
async fn finalize(shared: &Arc<Shared>, key: &AppRef, app: &Application) {
    let finalizers = &app.metadata.finalizers;
    let ours: Vec<&String> = finalizers
        .iter()
        .filter(|f| {
            f.as_str() == RESOURCES_FINALIZER || f.as_str() == RESOURCES_FINALIZER_BACKGROUND
        })
        .collect();
    if ours.is_empty() {
        return;
    }
    if let Some(cancel) = shared.operations.lock().remove(key) {
        cancel.terminate();
    }
    let propagation = if ours
        .iter()
        .any(|f| f.as_str() == RESOURCES_FINALIZER_BACKGROUND)
    {
        Propagation::Background
    } else {
        Propagation::Foreground
    };
    let cluster = match shared.registry.resolve(&app.spec.destination) {
        Ok(c) => Some(c),
        Err(e) => {
            // The destination is gone: nothing can be deleted there; let the app go.
            warn!(app = %app.name(), error = %e, "destination unknown; removing finalizer");
            None
        }
    };
    if let Some(cluster) = cluster {
        let cache = match shared.cache_for(&cluster).await {
            Ok(c) => c,
            Err(e) => {
                warn!(app = %app.name(), error = %e, "cannot read live objects; retrying");
                retry_later(shared, key, Duration::from_secs(2));
                return;
            }
        };
        let instance = app.instance_name(&shared.config.namespace);
        let tracked: Vec<_> = cache
            .app_objects(&instance)
            .into_iter()
            .map(|o| o.key().clone())
            .collect();
        if !tracked.is_empty() {
            for k in &tracked {
                let opts = DeleteOptions {
                    propagation,
                    dry_run: false,
                };
                if let Err(e) = cluster.delete(k, &opts).await {
                    warn!(app = %app.name(), resource = %k, error = %e, "deleting resource");
                }
            }
            info!(app = %app.name(), resources = tracked.len(), "deleting application resources");
            retry_later(shared, key, Duration::from_millis(500));
            return;
        }
    }
    let remaining: Vec<&String> = finalizers
        .iter()
        .filter(|f| {
            f.as_str() != RESOURCES_FINALIZER && f.as_str() != RESOURCES_FINALIZER_BACKGROUND
        })
        .collect();
    let patch = json!({"metadata": {"finalizers": remaining}});
    if let Err(e) = patch_app(shared, app, &patch).await {
        warn!(app = %app.name(), error = %e, "removing finalizer");
        retry_later(shared, key, Duration::from_secs(1));
    }
}

fn retry_later(shared: &Arc<Shared>, key: &AppRef, delay: Duration) {
    let (shared, key) = (shared.clone(), key.clone());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        shared.enqueue(key);
    });
}

/// Conditions as Argo CD writes them, keeping `lastTransitionTime` of those already there.
pub(crate) fn conditions_with_times(
    app: &Application,
    conditions: &[(String, String)],
) -> Vec<ApplicationCondition> {
    let now = status::now();
    let previous = app
        .status
        .as_ref()
        .map(|s| s.conditions.clone())
        .unwrap_or_default();
    conditions
        .iter()
        .map(|(ty, message)| {
            let kept = previous
                .iter()
                .find(|c| &c.type_ == ty && &c.message == message)
                .and_then(|c| c.last_transition_time.clone());
            ApplicationCondition {
                type_: ty.clone(),
                message: message.clone(),
                last_transition_time: Some(kept.unwrap_or_else(|| now.clone())),
                ..Default::default()
            }
        })
        .collect()
}
