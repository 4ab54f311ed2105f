//! Per-resource results of a sync (`Synced`, `SyncFailed`, `Pruned`, `PruneSkipped`,
//! with a message and, for hooks, the hook's phase), as the executor records them, and
//! their conversion to `status.operationState.syncResult.resources`.

use ferrocd_model::{HookType, OperationPhase, ResourceKey, ResourceResult, ResultCode, SyncPhase};

use crate::plan::{SyncPlan, SyncTask, TaskAction};

/// The outcome of one task.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceOutcome {
    /// The object.
    pub key: ResourceKey,
    /// API version of the object (`apps/v1`), for the status.
    pub version: String,
    /// Phase the task ran in.
    pub phase: SyncPhase,
    /// Wave the task ran in.
    pub wave: i32,
    /// What was done.
    pub action: TaskAction,
    /// Result code; `None` while a hook has been created but has not finished.
    pub status: Option<ResultCode>,
    /// Message from the API server, the hook or the planner.
    pub message: String,
    /// Hook type, for hooks.
    pub hook_type: Option<HookType>,
    /// Hook phase, for hooks: Running, then Succeeded or Failed.
    pub hook_phase: Option<OperationPhase>,
}

impl ResourceOutcome {
    fn for_task(task: &SyncTask) -> Self {
        let api_version = task
            .object
            .get("apiVersion")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let version = match api_version.split_once('/') {
            Some((_, v)) => v,
            None => api_version,
        };
        Self {
            key: task.key.clone(),
            version: version.to_string(),
            phase: task.phase,
            wave: task.wave,
            action: task.action.clone(),
            status: None,
            message: String::new(),
            hook_type: task.hook_type,
            hook_phase: None,
        }
    }

    fn matches(&self, task: &SyncTask) -> bool {
        self.key == task.key && self.phase == task.phase && self.hook_type == task.hook_type
    }
}

/// All outcomes of one sync attempt, in the order they were recorded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncResult {
    /// Outcomes.
    pub resources: Vec<ResourceOutcome>,
}

impl SyncResult {
    /// A result that already reports what the plan keeps: `PruneSkipped` for every prune
    /// candidate that is not deleted (pruning not requested, `Prune=false`, ...).
    pub fn from_plan(plan: &SyncPlan) -> Self {
        let mut result = Self::default();
        for task in &plan.tasks {
            match &task.action {
                TaskAction::PruneSkipped { reason } => {
                    result.record(task, ResultCode::PruneSkipped, reason.clone());
                }
                TaskAction::Skip { reason } if task.prune_candidate => {
                    result.record(task, ResultCode::PruneSkipped, reason.clone());
                }
                _ => {}
            }
        }
        result
    }

    /// Records the result of `task`, replacing an earlier result of the same task.
    pub fn record(&mut self, task: &SyncTask, code: ResultCode, message: impl Into<String>) {
        let entry = self.entry(task);
        entry.status = Some(code);
        entry.message = message.into();
    }

    /// Records the phase of a hook (`Running` once created, then `Succeeded` or `Failed`);
    /// a finished hook also gets its result code (`Synced`, or `SyncFailed` when failed).
    pub fn set_hook_phase(
        &mut self,
        task: &SyncTask,
        phase: OperationPhase,
        message: impl Into<String>,
    ) {
        let entry = self.entry(task);
        entry.hook_phase = Some(phase);
        entry.message = message.into();
        entry.status = match phase {
            OperationPhase::Succeeded => Some(ResultCode::Synced),
            OperationPhase::Failed | OperationPhase::Error => Some(ResultCode::SyncFailed),
            OperationPhase::Running | OperationPhase::Terminating => entry.status,
        };
    }

    fn entry(&mut self, task: &SyncTask) -> &mut ResourceOutcome {
        let index = match self.resources.iter().position(|r| r.matches(task)) {
            Some(i) => i,
            None => {
                self.resources.push(ResourceOutcome::for_task(task));
                self.resources.len() - 1
            }
        };
        &mut self.resources[index]
    }

    /// The outcome of `key` in `phase`, if recorded.
    pub fn get(&self, key: &ResourceKey, phase: SyncPhase) -> Option<&ResourceOutcome> {
        self.resources
            .iter()
            .find(|r| &r.key == key && r.phase == phase)
    }

    /// True when a resource failed to sync or a hook failed (SyncFail hooks excluded:
    /// they run because the sync already failed).
    pub fn has_failures(&self) -> bool {
        self.resources.iter().any(|r| {
            r.phase != SyncPhase::SyncFail
                && (r.status == Some(ResultCode::SyncFailed)
                    || matches!(
                        r.hook_phase,
                        Some(OperationPhase::Failed | OperationPhase::Error)
                    ))
        })
    }

    /// Hooks created and not finished yet.
    pub fn running_hooks(&self) -> impl Iterator<Item = &ResourceOutcome> {
        self.resources
            .iter()
            .filter(|r| matches!(r.hook_phase, Some(OperationPhase::Running)))
    }

    /// The outcomes in the Application status model.
    pub fn to_status(&self) -> Vec<ResourceResult> {
        self.resources
            .iter()
            .map(|r| ResourceResult {
                group: r.key.group.clone(),
                version: r.version.clone(),
                kind: r.key.kind.clone(),
                namespace: r.key.namespace.clone(),
                name: r.key.name.clone(),
                status: r.status,
                message: (!r.message.is_empty()).then(|| r.message.clone()),
                hook_type: r.hook_type,
                hook_phase: r.hook_phase,
                sync_phase: Some(r.phase),
                extra: Default::default(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanInput, PlanOptions, plan};
    use serde_json::json;

    fn task(hook: bool) -> SyncTask {
        let obj = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "ml",
                "annotations": if hook { json!({"argocd.argoproj.io/hook": "PreSync"}) } else { json!({}) }}});
        let input = PlanInput {
            app: "mlflow".into(),
            desired: vec![(ResourceKey::from_object(&obj), obj)],
            ..Default::default()
        };
        let Ok(plan) = plan(&input) else {
            panic!("plan failed")
        };
        plan.tasks[0].clone()
    }

    #[test]
    fn records_replace_earlier_results() {
        let t = task(false);
        let mut r = SyncResult::default();
        r.record(&t, ResultCode::SyncFailed, "conflict");
        r.record(
            &t,
            ResultCode::Synced,
            "deployment.apps/x serverside-applied",
        );
        assert_eq!(r.resources.len(), 1);
        assert_eq!(r.resources[0].status, Some(ResultCode::Synced));
        assert_eq!(r.resources[0].version, "v1");
        assert!(!r.has_failures());
    }

    #[test]
    fn hook_phases_drive_status() {
        let t = task(true);
        let mut r = SyncResult::default();
        r.set_hook_phase(&t, OperationPhase::Running, "job created");
        assert_eq!(r.running_hooks().count(), 1);
        assert_eq!(r.resources[0].status, None);
        r.set_hook_phase(&t, OperationPhase::Failed, "BackoffLimitExceeded");
        assert_eq!(r.running_hooks().count(), 0);
        assert!(r.has_failures());
        let status = r.to_status();
        assert_eq!(status[0].status, Some(ResultCode::SyncFailed));
        assert_eq!(status[0].hook_type, Some(HookType::PreSync));
        assert_eq!(status[0].hook_phase, Some(OperationPhase::Failed));
        assert_eq!(status[0].sync_phase, Some(SyncPhase::PreSync));
        assert_eq!(status[0].group, "batch");
        assert_eq!(status[0].message.as_deref(), Some("BackoffLimitExceeded"));
    }

    #[test]
    fn plan_skips_are_reported_as_prune_skipped() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "old", "namespace": "ml",
                "annotations": {"argocd.argoproj.io/tracking-id": "mlflow:/ConfigMap:ml/old"}}});
        let keep = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "new", "namespace": "ml"}});
        let input = PlanInput {
            app: "mlflow".into(),
            desired: vec![(ResourceKey::from_object(&keep), keep)],
            live: [(ResourceKey::from_object(&live), live)].into(),
            options: PlanOptions::default(),
            ..Default::default()
        };
        let Ok(plan) = plan(&input) else {
            panic!("plan failed")
        };
        let r = SyncResult::from_plan(&plan);
        assert_eq!(r.resources.len(), 1);
        assert_eq!(r.resources[0].status, Some(ResultCode::PruneSkipped));
        assert_eq!(r.resources[0].message, "ignored (requires pruning)");
    }
}
