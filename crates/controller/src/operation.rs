//! Sync operations of the controller: requested through the Application's `operation`
//! field (CLI, UI, kubectl) or started by automated sync; their progress is written to
//! `status.operationState` as it goes, a successful sync appends to `status.history`.
//!
//! A controller that stops in the middle of an operation leaves it `Running`, with the
//! hooks it created and those that succeeded; the next controller resumes it, skipping the
//! hooks that succeeded and waiting for those still running instead of creating them
//! again, so no hook runs twice.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ferrocd_model::{
    Application, HookType, Operation, OperationPhase, OperationState, RevisionHistory,
};
use ferrocd_sync::{
    CancelHandle, ExecuteOptions, PlanInput, PlanOptions, SyncEvent, SyncPlan, execute, plan,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::controller::{AppRef, Shared};
use crate::metrics::SyncLabels;
use crate::reconcile::compare_rendered;
use crate::status::now;

/// Field manager of `status.operationState` and `status.history`.
const OPERATION_MANAGER: &str = "ferrocd-operation";
/// The message of a rollback refused because automated sync is on.
pub(crate) const ROLLBACK_REFUSED: &str = "rollback cannot be initiated when automated sync is enabled: automated sync would undo it at once; disable it (spec.syncPolicy.automated) and request the rollback again";
/// The message of an operation left Running by a controller that stopped.
const STOPPED: &str = "the controller stopped during the sync; the next controller resumes it";
/// How many times a conflicting write of the operation request is retried.
const CLEAR_ATTEMPTS: u32 = 5;
/// Default number of history entries kept (`spec.revisionHistoryLimit`).
const DEFAULT_HISTORY_LIMIT: usize = 10;

/// Starts `operation` for `app` in the background, unless one is running already.
///
/// `app` is the snapshot the caller decided on, read before a comparison that can take
/// seconds; if meanwhile an operation finished or a request changed, the decision is stale:
/// nothing starts and the application is queued again to decide on what is true now.
/// (Regression: a reconciliation that read `Running` before an operation finished
/// "resumed" the finished operation after it, ran it twice and wiped the request made
/// right after it.)
pub(crate) fn start(
    shared: Arc<Shared>,
    key: AppRef,
    app: &Application,
    operation: Operation,
    resumed: Option<OperationState>,
) {
    let cancel = CancelHandle::new();
    let current = {
        let mut running = shared.operations.lock();
        if running.contains_key(&key) {
            return;
        }
        // An operation removes itself from `running` only after its outcome is written
        // through to the controller's copy: the copy read here knows every finished one.
        let current = shared.app(&key);
        match current {
            Some(current) if stale_decision(app, &current, &operation).is_none() => {
                running.insert(key.clone(), cancel.clone());
                current
            }
            Some(current) => {
                let why = stale_decision(app, &current, &operation).unwrap_or_default();
                debug!(app = %key.1, why, "operation not started: decided on a stale copy");
                drop(running);
                shared.enqueue(key);
                return;
            }
            None => return,
        }
    };
    tokio::spawn(async move {
        // At most `operation_slots` operations talk to the clusters at once.
        let slot = shared.operation_slots.clone().acquire_owned().await;
        run(
            &shared,
            &key,
            Arc::unwrap_or_clone(current),
            operation,
            resumed,
            cancel,
        )
        .await;
        drop(slot);
        shared.operations.lock().remove(&key);
        shared.enqueue(key);
    });
}

/// Why starting `operation`, decided on `snapshot`, would be wrong now that the
/// controller's copy is `current` (None when the decision still holds).
pub(crate) fn stale_decision(
    snapshot: &Application,
    current: &Application,
    operation: &Operation,
) -> Option<&'static str> {
    let mark = |app: &Application| {
        app.status
            .as_ref()
            .and_then(|s| s.operation_state.as_ref())
            .map(|s| {
                (
                    s.phase,
                    s.started_at.clone(),
                    s.finished_at.clone(),
                    s.operation.clone(),
                )
            })
    };
    if mark(snapshot) != mark(current) {
        return Some("the operation state changed");
    }
    if snapshot.operation != current.operation {
        return Some("the operation request changed");
    }
    if snapshot.spec != current.spec {
        return Some("the spec changed");
    }
    let requested = snapshot.operation.as_ref() == Some(operation);
    let resuming =
        mark(snapshot).is_some_and(|m| m.0 == Some(OperationPhase::Running) && m.3 == *operation);
    if !requested && !resuming && current.operation.is_some() {
        return Some("an operation is requested");
    }
    None
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
    if resumed.is_none() && is_rollback(&operation) && app.spec.automated().is_some() {
        // Automated sync would undo the rollback at once (Argo CD refuses it too).
        state.phase = Some(OperationPhase::Error);
        state.message = Some(ROLLBACK_REFUSED.to_string());
        state.finished_at = Some(now());
        info!(app = %app.name(), "rollback refused: automated sync is enabled");
        finish(shared, key, &app, &state, None).await;
        clear_request(shared, &app, &operation).await;
        return;
    }
    if let Err(e) = write_operation(shared, &app, &state, None).await {
        warn!(app = %app.name(), error = %e, "writing operation state");
    }
    clear_request(shared, &app, &operation).await;

    let sync = operation.sync.clone().unwrap_or_default();
    // A rollback (or a sync to another revision) renders the requested source/revision.
    // An empty source (what remains of an earlier operation's source in some servers'
    // apply merges) overrides nothing.
    let mut target = app.clone();
    if let Some(source) = sync.source.clone().filter(|s| !s.repo_url.is_empty()) {
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
    let stopping = shared.stopping.load(Ordering::SeqCst);

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
    if stopping {
        // The controller stops: record how far the operation got and leave it Running.
        let mut sr = state.sync_result.clone().unwrap_or_default();
        sr.resources = resources;
        state.sync_result = Some(sr);
        state.message = Some(STOPPED.to_string());
        if let Err(e) = write_operation(shared, &app, &state, None).await {
            warn!(app = %app.name(), error = %e, "recording where the operation stopped");
        }
        info!(app = %app.name(), "operation stopped with the controller; it resumes on restart");
        return;
    }
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

/// Whether `operation` is a rollback: a sync to an earlier source from the history (what
/// `ferrocd app rollback`, `argocd app rollback` and the API write), or one whose reason
/// says so.
pub(crate) fn is_rollback(operation: &Operation) -> bool {
    let reason = operation.info.iter().any(|e| {
        e.name == "Reason"
            && e.value
                .as_deref()
                .is_some_and(|v| v.starts_with("Rollback"))
    });
    let sync = operation.sync.as_ref();
    let source = sync.is_some_and(|s| {
        s.source
            .as_ref()
            .is_some_and(|src| !src.repo_url.is_empty())
            || !s.sources.is_empty()
    });
    reason || source
}

/// Removes the operation request `operation` from the Application, and only that one: a
/// request written meanwhile (the next sync, a rollback) stays for the next reconciliation.
/// The removal is conditional on the resourceVersion read with the request.
async fn clear_request(shared: &Shared, app: &Application, operation: &Operation) {
    let key = ferrocd_model::ResourceKey {
        group: "argoproj.io".to_string(),
        kind: "Application".to_string(),
        namespace: app.metadata.namespace.clone().unwrap_or_default(),
        name: app.name().to_string(),
    };
    for attempt in 0..CLEAR_ATTEMPTS {
        let live = match shared.control_plane.get(&key).await {
            Ok(Some(live)) => live,
            Ok(None) => return,
            Err(e) => {
                warn!(app = %app.name(), attempt, error = %e, "reading the operation request");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt + 1))).await;
                continue;
            }
        };
        let requested = live
            .get("operation")
            .filter(|o| !o.is_null())
            .and_then(|o| serde_json::from_value::<Operation>(o.clone()).ok());
        if requested.as_ref() != Some(operation) {
            return;
        }
        let version = live
            .pointer("/metadata/resourceVersion")
            .cloned()
            .unwrap_or(Value::Null);
        let patch = json!({"metadata": {"resourceVersion": version}, "operation": null});
        match shared.control_plane.merge_patch(&key, &patch).await {
            Ok(_) => return,
            Err(e) if e.code() == 409 => continue,
            Err(e) => {
                warn!(app = %app.name(), attempt, error = %e, "clearing the operation request");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt + 1))).await;
            }
        }
    }
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
        resume_hooks(&mut plan, state);
    }
    Ok((plan, revisions, cluster))
}

/// Fits the plan of a resumed operation to what the previous run recorded: hooks that
/// already succeeded are removed, and hooks that were still running are adopted (applied
/// under the name the server gave them, then waited for) instead of being created again.
fn resume_hooks(plan: &mut SyncPlan, state: &OperationState) {
    let recorded: Vec<(String, String, Option<HookType>, OperationPhase)> = state
        .sync_result
        .as_ref()
        .map(|r| {
            r.resources
                .iter()
                .filter_map(|r| {
                    let phase = r.hook_phase?;
                    matches!(phase, OperationPhase::Succeeded | OperationPhase::Running)
                        .then(|| (r.kind.clone(), r.name.clone(), r.hook_type, phase))
                })
                .collect()
        })
        .unwrap_or_default();
    let find = |task: &ferrocd_sync::SyncTask| {
        let generate_name = task
            .object
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .unwrap_or("");
        recorded.iter().find(|(kind, name, hook_type, _)| {
            kind == &task.key.kind
                && *hook_type == task.hook_type
                && (name == &task.key.name
                    || (!generate_name.is_empty() && name.starts_with(generate_name)))
        })
    };
    plan.tasks.retain(|task| {
        !task.is_hook || !matches!(find(task), Some((_, _, _, OperationPhase::Succeeded)))
    });
    for task in plan.tasks.iter_mut().filter(|t| t.is_hook) {
        let Some((_, name, _, _)) = find(task).cloned() else {
            continue;
        };
        if let Some(meta) = task
            .object
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        {
            meta.remove("generateName");
            meta.insert("name".to_string(), Value::String(name.clone()));
        }
        task.key.name = name;
        task.action = ferrocd_sync::TaskAction::Apply;
    }
}

/// Folds a finished task into the running result shown in the status: applied objects,
/// and the phases of hooks (under the name the server chose for `generateName` hooks), so
/// that a controller resuming the operation knows which hooks already succeeded.
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
    let mut named = task.clone();
    if !record.key.name.is_empty() {
        named.key.name = record.key.name.clone();
    }
    let message = record.message.clone();
    match (record.action.as_str(), record.result.as_str()) {
        ("hook", "Succeeded") => {
            result.set_hook_phase(&named, OperationPhase::Succeeded, message);
        }
        ("hook", "Failed") => result.set_hook_phase(&named, OperationPhase::Failed, message),
        (_, "Synced") => {
            result.record(&named, ferrocd_model::ResultCode::Synced, message.clone());
            if named.is_hook {
                result.set_hook_phase(&named, OperationPhase::Running, message);
            }
        }
        (_, "Pruned") => result.record(&named, ferrocd_model::ResultCode::Pruned, message),
        (_, "PruneSkipped") => {
            result.record(&named, ferrocd_model::ResultCode::PruneSkipped, message);
        }
        (_, "SyncFailed") => result.record(&named, ferrocd_model::ResultCode::SyncFailed, message),
        _ => {}
    }
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
                    let current = Arc::make_mut(current);
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
            .as_ref()
            .and_then(|a| a.status.as_ref())
            .map(|s| s.history.clone())
            .filter(|h| !h.is_empty()),
    };
    if let Some(h) = history {
        status["history"] = json!(h);
    }
    crate::reconcile::apply_status(shared, app, status, OPERATION_MANAGER).await
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ferrocd_cluster::testing::TestCluster;
    use ferrocd_model::{ApplicationSource, OperationInitiator, SyncOperation};
    use ferrocd_source::testing::git;

    use super::*;
    use crate::{Controller, ControllerConfig, Metrics};

    fn app(value: Value) -> Application {
        serde_json::from_value(value).expect("application")
    }

    fn by(user: &str) -> Operation {
        Operation {
            sync: Some(SyncOperation::default()),
            initiated_by: Some(OperationInitiator {
                username: Some(user.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn with_state(mut app: Application, phase: OperationPhase, finished: bool) -> Application {
        let status = app.status.get_or_insert_with(Default::default);
        status.operation_state = Some(OperationState {
            operation: by("alice"),
            phase: Some(phase),
            started_at: Some("2026-01-05T10:00:00Z".to_string()),
            finished_at: finished.then(|| "2026-01-05T10:00:01Z".to_string()),
            ..Default::default()
        });
        app
    }

    fn base() -> Application {
        app(
            json!({"metadata": {"name": "fraud-prod", "namespace": "argocd"},
            "spec": {"project": "default",
                "source": {"repoURL": "https://git.example.com/ml/serving.git", "path": "serving"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "prod"}}}),
        )
    }

    #[test]
    fn a_resume_decided_before_the_operation_finished_is_stale() {
        let running = with_state(base(), OperationPhase::Running, false);
        let finished = with_state(base(), OperationPhase::Succeeded, true);
        assert_eq!(
            stale_decision(&running, &finished, &by("alice")),
            Some("the operation state changed")
        );
        assert_eq!(stale_decision(&running, &running, &by("alice")), None);
    }

    #[test]
    fn a_request_replaced_or_added_meanwhile_makes_the_decision_stale() {
        let mut snapshot = with_state(base(), OperationPhase::Succeeded, true);
        snapshot.operation = Some(by("bob"));
        let mut current = snapshot.clone();
        assert_eq!(stale_decision(&snapshot, &current, &by("bob")), None);
        current.operation = Some(by("carol"));
        assert_eq!(
            stale_decision(&snapshot, &current, &by("bob")),
            Some("the operation request changed")
        );
        // An automated sync decided before a request arrived yields to the request.
        let automated = Operation {
            initiated_by: Some(OperationInitiator {
                automated: Some(true),
                ..Default::default()
            }),
            ..by("")
        };
        let quiet = with_state(base(), OperationPhase::Succeeded, true);
        let mut requested = quiet.clone();
        requested.operation = Some(by("bob"));
        assert!(stale_decision(&quiet, &requested, &automated).is_some());
        assert_eq!(stale_decision(&quiet, &quiet, &automated), None);
        // Automated sync switched off meanwhile.
        let mut changed = quiet.clone();
        changed.spec.project = "ml-platform".to_string();
        assert_eq!(
            stale_decision(&quiet, &changed, &automated),
            Some("the spec changed")
        );
    }

    #[test]
    fn rollbacks_are_recognised_by_source_or_reason() {
        assert!(!is_rollback(&by("alice")));
        let mut op = by("alice");
        op.sync = Some(SyncOperation {
            revision: Some("4f1c2e9".to_string()),
            source: Some(ApplicationSource {
                repo_url: "https://git.example.com/ml/serving.git".to_string(),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert!(is_rollback(&op));
        // What an apply merge leaves of an earlier source is no rollback.
        op.sync = Some(SyncOperation {
            source: Some(ApplicationSource::default()),
            ..Default::default()
        });
        assert!(!is_rollback(&op));
        op.info = vec![
            serde_json::from_value(json!({"name": "Reason", "value": "Rollback to deployment 3"}))
                .expect("info"),
        ];
        assert!(is_rollback(&op));
    }

    async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(45);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Regression: a reconciliation read the Application while an operation was running,
    /// compared for a while, then found no operation running and "resumed" the finished
    /// one from its stale copy: the operation ran twice (an extra history entry) and its
    /// clearing of the request wiped the request made right after it finished.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stale_copy_neither_reruns_a_finished_operation_nor_drops_the_next_request() {
        let tc = TestCluster::start().await;
        let cluster = tc.cluster.clone();
        cluster
            .install_crds(&ferrocd_model::crds(), Duration::from_secs(10))
            .await
            .expect("CRDs");
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}});
        cluster
            .apply(&ns, &Default::default())
            .await
            .expect("namespace");
        let repo = tempfile::tempdir().expect("repo");
        let dir = repo.path();
        git(dir, &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(dir.join("serving")).expect("mkdir");
        std::fs::write(
            dir.join("serving/configmap.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: model-config\ndata:\n  MODEL_VERSION: \"2.1.0\"\n",
        )
        .expect("write");
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "model 2.1.0"]);
        let cache = tempfile::tempdir().expect("cache");
        let config = ControllerConfig {
            app_resync: Duration::from_secs(600),
            repo_cache_dir: cache.path().to_path_buf(),
            ..Default::default()
        };
        let controller = Controller::start(config, cluster.clone(), Arc::new(Metrics::new()))
            .await
            .expect("controller");
        let shared = controller.shared();
        let target_ns = tc.namespace("stale");
        let app_obj = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "fraud-prod", "namespace": "argocd"},
            "spec": {"project": "default",
                "source": {"repoURL": format!("file://{}", dir.display()), "path": "serving",
                    "targetRevision": "main"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": target_ns},
                "syncPolicy": {"syncOptions": ["CreateNamespace=true"]}},
            "operation": {"sync": {}, "initiatedBy": {"username": "alice"}}});
        cluster
            .apply(&app_obj, &Default::default())
            .await
            .expect("application");
        let key: AppRef = ("argocd".to_string(), "fraud-prod".to_string());
        let history = |shared: &Arc<Shared>| {
            shared
                .app(&key)
                .and_then(|a| a.status.clone())
                .map(|s| s.history)
                .unwrap_or_default()
        };
        wait_for("the first sync", async || {
            history(&shared).len() == 1 && shared.operations.lock().is_empty()
        })
        .await;

        // The copy a slow reconciliation read while the first sync ran.
        let mut stale = Arc::unwrap_or_clone(shared.app(&key).expect("app"));
        let first = stale
            .status
            .as_ref()
            .and_then(|s| s.operation_state.clone())
            .expect("state");
        stale.operation = Some(first.operation.clone());
        let state = stale
            .status
            .as_mut()
            .and_then(|s| s.operation_state.as_mut())
            .expect("state");
        state.phase = Some(OperationPhase::Running);
        state.finished_at = None;
        let resumed = state.clone();
        start(
            shared.clone(),
            key.clone(),
            &stale,
            first.operation.clone(),
            Some(resumed),
        );
        // The next request, right after.
        let app_key = ferrocd_model::ResourceKey {
            group: "argoproj.io".to_string(),
            kind: "Application".to_string(),
            namespace: "argocd".to_string(),
            name: "fraud-prod".to_string(),
        };
        cluster
            .merge_patch(
                &app_key,
                &json!({"operation": {"sync": {}, "initiatedBy": {"username": "bob"}}}),
            )
            .await
            .expect("second request");
        wait_for("the second request to run", async || {
            let h = history(&shared);
            h.len() >= 2 && shared.operations.lock().is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let h = history(&shared);
        let users: Vec<Option<String>> = h
            .iter()
            .map(|e| e.initiated_by.as_ref().and_then(|i| i.username.clone()))
            .collect();
        assert_eq!(
            users,
            [Some("alice".to_string()), Some("bob".to_string())],
            "{h:#?}"
        );
        controller.shutdown().await;
        tc.shutdown().await;
    }

    /// The request is removed only while it is still the one that ran.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clearing_a_request_leaves_a_newer_one() {
        let tc = TestCluster::start().await;
        let cluster = tc.cluster.clone();
        cluster
            .install_crds(&ferrocd_model::crds(), Duration::from_secs(10))
            .await
            .expect("CRDs");
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}});
        cluster
            .apply(&ns, &Default::default())
            .await
            .expect("namespace");
        let cache = tempfile::tempdir().expect("cache");
        let config = ControllerConfig {
            namespace: "ferrocd-none".to_string(),
            repo_cache_dir: cache.path().to_path_buf(),
            ..Default::default()
        };
        // A controller watching another namespace: only its client is used here.
        let controller = Controller::start(config, cluster.clone(), Arc::new(Metrics::new()))
            .await
            .expect("controller");
        let shared = controller.shared();
        let obj = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "mlflow", "namespace": "argocd"},
            "spec": {"project": "default",
                "source": {"repoURL": "https://git.example.com/ml/mlflow.git", "path": "."},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "mlflow"}},
            "operation": {"sync": {}, "initiatedBy": {"username": "carol"}}});
        cluster
            .apply(&obj, &Default::default())
            .await
            .expect("application");
        let app = app(obj.clone());
        let key = ferrocd_model::ResourceKey {
            group: "argoproj.io".to_string(),
            kind: "Application".to_string(),
            namespace: "argocd".to_string(),
            name: "mlflow".to_string(),
        };
        clear_request(&shared, &app, &by("dave")).await;
        let live = cluster.get(&key).await.expect("get").expect("app");
        assert_eq!(live["operation"]["initiatedBy"]["username"], "carol");
        clear_request(&shared, &app, &by("carol")).await;
        let live = cluster.get(&key).await.expect("get").expect("app");
        assert!(live.get("operation").is_none_or(Value::is_null), "{live:#}");
        controller.shutdown().await;
        tc.shutdown().await;
    }
}
