//! Sync operations of the controller: requested through the Application's `operation`
//! field (CLI, UI, kubectl) or started by automated sync; their progress is written to
//! `status.operationState` as it goes, a successful sync appends to `status.history`.
//!
//! A controller that stops in the middle of an operation leaves it `Running`; the next
//! controller resumes it, skipping the hooks the status already records as succeeded, so
//! no hook runs twice.

use std::sync::Arc;
use std::time::Duration;

use ferrocd_model::{
    Application, HookType, Operation, OperationPhase, OperationState, RevisionHistory,
};
use ferrocd_sync::{
    CancelHandle, ExecuteOptions, PlanInput, PlanOptions, SyncEvent, SyncPlan, execute, plan,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::controller::{AppRef, Shared};
use crate::metrics::SyncLabels;
use crate::reconcile::compare_rendered;
use crate::status::now;

/// Field manager of `status.operationState` and `status.history`.
const OPERATION_MANAGER: &str = "ferrocd-operation";
/// Default number of history entries kept (`spec.revisionHistoryLimit`).
const DEFAULT_HISTORY_LIMIT: usize = 10;

/// Starts `operation` for `app` in the background, unless one is running already.
pub(crate) fn start(
    shared: Arc<Shared>,
    key: AppRef,
    app: Application,
    operation: Operation,
    resumed: Option<OperationState>,
) {
    let cancel = CancelHandle::new();
    {
        let mut running = shared.operations.lock();
        if running.contains_key(&key) {
            return;
        }
        running.insert(key.clone(), cancel.clone());
    }
    tokio::spawn(async move {
        run(&shared, &key, app, operation, resumed, cancel).await;
        shared.operations.lock().remove(&key);
        shared.enqueue(key);
    });
}

async fn run(
    shared: &Arc<Shared>,
    key: &AppRef,
    app: Application,
    operation: Operation,
    resumed: Option<OperationState>,
    cancel: CancelHandle,
) {
    let started_at = resumed
        .as_ref()
        .and_then(|s| s.started_at.clone())
        .unwrap_or_else(now);
    let mut state = OperationState {
        operation: operation.clone(),
        phase: Some(OperationPhase::Running),
        message: Some("sync in progress".to_string()),
        started_at: Some(started_at.clone()),
        sync_result: resumed.as_ref().and_then(|s| s.sync_result.clone()),
        ..Default::default()
    };
    if let Err(e) = write_operation(shared, &app, &state, None).await {
        warn!(app = %app.name(), error = %e, "writing operation state");
    }
    if app.operation.is_some()
        && let Err(e) = crate::reconcile::patch_app(shared, &app, &json!({"operation": null})).await
    {
        warn!(app = %app.name(), error = %e, "clearing the operation request");
    }

    let sync = operation.sync.clone().unwrap_or_default();
    // A rollback (or a sync to another revision) renders the requested source/revision.
    let mut target = app.clone();
    if let Some(source) = sync.source.clone() {
        target.spec.source = Some(source);
        target.spec.sources.clear();
    }
    if !sync.sources.is_empty() {
        target.spec.sources = sync.sources.clone();
        target.spec.source = None;
    }
    let revision = sync.revision.clone().filter(|r| !r.is_empty());

    let outcome = prepare_plan(
        shared,
        &target,
        &operation,
        revision.as_deref(),
        resumed.as_ref(),
    )
    .await;
    let (plan, compared_revisions, cluster) = match outcome {
        Ok(v) => v,
        Err(message) => {
            state.phase = Some(OperationPhase::Error);
            state.message = Some(message);
            state.finished_at = Some(now());
            finish(shared, key, &app, &state, None).await;
            return;
        }
    };

    let settings = shared.settings.lock().clone();
    let mut ignore = settings.ignore.clone();
    if let Ok(rules) = ferrocd_diff::IgnoreRule::from_application(
        &serde_json::to_value(&app).unwrap_or(Value::Null),
    ) {
        ignore.extend(rules);
    }
    let opts = ExecuteOptions {
        timeout: Some(shared.config.sync_timeout),
        retry: operation.retry.clone(),
        health: settings.health.clone(),
        ignore,
        ..Default::default()
    };

    // Progress goes to the status through a writer task, at most every 300 ms.
    let (tx, mut rx) = mpsc::unbounded_channel::<SyncEvent>();
    let writer = {
        let (shared, app, mut state) = (shared.clone(), app.clone(), state.clone());
        let plan = plan.clone();
        tokio::spawn(async move {
            let mut result = ferrocd_sync::SyncResult::from_plan(&plan);
            let mut dirty = false;
            loop {
                let event = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
                match event {
                    Ok(Some(SyncEvent::Operation(record))) => {
                        record_progress(&plan, &mut result, &record);
                        dirty = true;
                        continue;
                    }
                    Ok(Some(SyncEvent::Waiting { message, .. })) => {
                        state.message = Some(message);
                        dirty = true;
                        continue;
                    }
                    Ok(Some(_)) => continue,
                    Ok(None) => return,
                    Err(_) => {}
                }
                if dirty {
                    dirty = false;
                    let mut sr = state.sync_result.clone().unwrap_or_default();
                    sr.resources = result.to_status();
                    state.sync_result = Some(sr);
                    let _ = write_operation(&shared, &app, &state, None).await;
                }
            }
        })
    };
    let mut on_event = move |event: &SyncEvent| {
        let _ = tx.send(event.clone());
    };
    let outcome = execute(&cluster, &plan, &opts, &cancel, &mut on_event).await;
    drop(on_event);
    let _ = writer.await;

    let mut resources = state
        .sync_result
        .as_ref()
        .map(|r| r.resources.clone())
        .unwrap_or_default();
    // Keep the hooks a previous controller already ran (resume) in the result.
    let fresh = outcome.result.to_status();
    resources.retain(|r| {
        r.hook_type.is_some()
            && r.hook_phase == Some(OperationPhase::Succeeded)
            && !fresh.iter().any(|f| f.kind == r.kind && f.name == r.name)
    });
    resources.extend(fresh);
    let multi = target.has_multiple_sources();
    let mut sync_result = ferrocd_model::SyncOperationResult {
        resources,
        ..Default::default()
    };
    if multi {
        sync_result.revisions = compared_revisions.clone();
        sync_result.sources = target.spec.sources.clone();
    } else {
        sync_result.revision = compared_revisions.first().cloned();
        sync_result.source = target.spec.source.clone();
    }
    state.sync_result = Some(sync_result);
    state.phase = Some(outcome.phase);
    state.message = Some(outcome.message.clone());
    state.finished_at = Some(now());
    state.retry_count = (outcome.retries > 0).then_some(i64::from(outcome.retries));
    let dry_run = sync.dry_run.unwrap_or(false);
    let history = (outcome.phase == OperationPhase::Succeeded && !dry_run).then(|| {
        history_with(
            &app,
            RevisionHistory {
                revision: (!multi)
                    .then(|| compared_revisions.first().cloned())
                    .flatten(),
                revisions: if multi {
                    compared_revisions.clone()
                } else {
                    Vec::new()
                },
                deployed_at: state.finished_at.clone(),
                deploy_started_at: Some(started_at.clone()),
                source: if multi {
                    None
                } else {
                    target.spec.source.clone()
                },
                sources: if multi {
                    target.spec.sources.clone()
                } else {
                    Vec::new()
                },
                initiated_by: operation.initiated_by.clone(),
                ..Default::default()
            },
        )
    });
    info!(app = %app.name(), phase = %outcome.phase, message = %outcome.message, "sync finished");
    finish(shared, key, &app, &state, history).await;
}

/// Renders at the operation's revision, compares, and plans.
async fn prepare_plan(
    shared: &Arc<Shared>,
    target: &Application,
    operation: &Operation,
    revision: Option<&str>,
    resumed: Option<&OperationState>,
) -> Result<(SyncPlan, Vec<String>, ferrocd_cluster::Cluster), String> {
    let project = crate::reconcile::project_of(shared, target)?;
    let cluster = shared
        .registry
        .resolve(&target.spec.destination)
        .map_err(|e| e.to_string())?;
    let dest_server = shared
        .registry
        .server_of(&target.spec.destination)
        .unwrap_or_default();
    let violations = project.check_application(target, &dest_server);
    if let Some(v) = violations.first() {
        return Err(v.to_string());
    }
    let rendered = crate::rendering::render(shared, target, revision, false)
        .await
        .map_err(|e| format!("rendering failed: {e}"))?;
    let revisions: Vec<String> = rendered.revisions().iter().map(|r| r.to_string()).collect();
    let compared = compare_rendered(shared, target, cluster.clone(), rendered)
        .await
        .map_err(|conditions| {
            conditions
                .into_iter()
                .map(|(_, m)| m)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
    for d in &compared.desired.objects {
        let ns = (!d.key.namespace.is_empty()).then_some(d.key.namespace.as_str());
        if let Some(v) = project.check_resource(
            &d.key.group,
            &d.key.kind,
            ns,
            &dest_server,
            target.spec.destination.name.as_deref(),
        ) {
            return Err(v.to_string());
        }
    }
    let instance = target.instance_name(&shared.config.namespace);
    let input = PlanInput {
        app: instance,
        desired: compared.desired.to_plan_input(),
        live: compared.inventory.tracked.clone(),
        out_of_sync: compared.comparison.out_of_sync(),
        options: PlanOptions::for_application(target, operation.sync.as_ref()),
    };
    let mut plan = plan(&input).map_err(|e| e.to_string())?;
    if let Some(state) = resumed {
        skip_finished_hooks(&mut plan, state);
    }
    Ok((plan, revisions, cluster))
}

/// Removes the hook tasks a previous run of this operation already finished.
fn skip_finished_hooks(plan: &mut SyncPlan, state: &OperationState) {
    let done: Vec<(String, String, Option<HookType>)> = state
        .sync_result
        .as_ref()
        .map(|r| {
            r.resources
                .iter()
                .filter(|r| r.hook_phase == Some(OperationPhase::Succeeded))
                .map(|r| (r.kind.clone(), r.name.clone(), r.hook_type))
                .collect()
        })
        .unwrap_or_default();
    plan.tasks.retain(|task| {
        if !task.is_hook {
            return true;
        }
        let generate_name = task
            .object
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .unwrap_or("");
        !done.iter().any(|(kind, name, hook_type)| {
            kind == &task.key.kind
                && *hook_type == task.hook_type
                && (name == &task.key.name
                    || (!generate_name.is_empty() && name.starts_with(generate_name)))
        })
    });
}

/// Folds a finished task into the running result shown in the status.
fn record_progress(
    plan: &SyncPlan,
    result: &mut ferrocd_sync::SyncResult,
    record: &ferrocd_sync::OperationRecord,
) {
    let Some(task) = plan.tasks.iter().find(|t| {
        t.phase == record.phase
            && t.wave == record.wave
            && t.key.kind == record.key.kind
            && t.key.group == record.key.group
            && (t.key.name == record.key.name || t.key.name.is_empty())
    }) else {
        return;
    };
    let code = match record.result.as_str() {
        "Synced" => ferrocd_model::ResultCode::Synced,
        "Pruned" => ferrocd_model::ResultCode::Pruned,
        "PruneSkipped" => ferrocd_model::ResultCode::PruneSkipped,
        "SyncFailed" => ferrocd_model::ResultCode::SyncFailed,
        _ => return,
    };
    result.record(task, code, record.message.clone());
}

/// The history with `entry` appended (ids increase), trimmed to the app's limit.
fn history_with(app: &Application, mut entry: RevisionHistory) -> Vec<RevisionHistory> {
    let mut history = app
        .status
        .as_ref()
        .map(|s| s.history.clone())
        .unwrap_or_default();
    entry.id = history.iter().map(|h| h.id).max().unwrap_or(-1) + 1;
    history.push(entry);
    let limit = app
        .spec
        .revision_history_limit
        .and_then(|l| usize::try_from(l).ok())
        .unwrap_or(DEFAULT_HISTORY_LIMIT);
    if history.len() > limit {
        let drop = history.len() - limit;
        history.drain(..drop);
    }
    history
}

async fn finish(
    shared: &Arc<Shared>,
    key: &AppRef,
    app: &Application,
    state: &OperationState,
    history: Option<Vec<RevisionHistory>>,
) {
    // The final state must land: retry a few times on conflicts or flakes.
    for attempt in 0..5 {
        match write_operation(shared, app, state, history.as_deref()).await {
            Ok(()) => {
                // Write through to the controller's copy: the next reconciliation must
                // see this outcome even before the watch delivers it (or it would sync
                // the same revision again).
                if let Some(current) = shared.apps.lock().get_mut(key) {
                    let status = current.status.get_or_insert_with(Default::default);
                    status.operation_state = Some(state.clone());
                    if let Some(h) = &history {
                        status.history = h.clone();
                    }
                }
                break;
            }
            Err(e) => {
                warn!(app = %app.name(), attempt, error = %e, "writing final operation state");
                tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
            }
        }
    }
    let phase = state.phase.map(|p| p.to_string()).unwrap_or_default();
    shared.metrics.inc_sync(&SyncLabels {
        name: app.name().to_string(),
        namespace: key.0.clone(),
        project: app.spec.project.clone(),
        dest_server: shared
            .registry
            .server_of(&app.spec.destination)
            .unwrap_or_default(),
        phase,
    });
}

async fn write_operation(
    shared: &Shared,
    app: &Application,
    state: &OperationState,
    history: Option<&[RevisionHistory]>,
) -> Result<(), String> {
    // Keep a Terminating phase a user wrote meanwhile.
    let mut state = state.clone();
    let current = shared.app(&(
        app.metadata.namespace.clone().unwrap_or_default(),
        app.name().to_string(),
    ));
    if state.phase == Some(OperationPhase::Running)
        && current
            .as_ref()
            .and_then(|a| a.status.as_ref())
            .and_then(|s| s.operation_state.as_ref())
            .and_then(|o| o.phase)
            == Some(OperationPhase::Terminating)
    {
        state.phase = Some(OperationPhase::Terminating);
    }
    let mut status = json!({"operationState": state});
    let history = match history {
        Some(h) => Some(h.to_vec()),
        None => current
            .and_then(|a| a.status)
            .map(|s| s.history)
            .filter(|h| !h.is_empty()),
    };
    if let Some(h) = history {
        status["history"] = json!(h);
    }
    crate::reconcile::apply_status(shared, app, status, OPERATION_MANAGER).await
}
