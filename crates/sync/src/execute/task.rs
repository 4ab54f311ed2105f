//! The writes of a sync: the dry run of the whole plan, then one task at a time (apply,
//! replace, create, delete-then-create, prune), each recorded in the result and the
//! operations list.

use std::collections::BTreeSet;
use std::fmt;

use ferrocd_cluster::{DeleteOptions, DeleteOutcome, Propagation, WriteOptions};
use ferrocd_diff::respect_ignore_differences;
use ferrocd_model::sync_options::PropagationPolicy;
use ferrocd_model::{OperationPhase, ResourceKey, ResultCode, SyncPhase};
use serde_json::Value;
use tokio::time::Instant;

use super::request::RequestError;
use super::{Interrupted, Run, now, writes};
use crate::plan::{SyncPlan, SyncTask, TaskAction};

/// A task whose object exists now and may have to be waited for.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    /// The task, with the server-chosen name for `generateName` hooks.
    pub task: SyncTask,
}

/// Why a task did not complete.
#[derive(Debug)]
pub(crate) enum TaskError {
    /// Termination or the deadline.
    Interrupted(Interrupted),
    /// The task failed; the message is recorded in the result.
    Failed(String),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Interrupted(Interrupted::Terminated) => f.write_str("operation terminated"),
            TaskError::Interrupted(Interrupted::TimedOut) => f.write_str("operation timed out"),
            TaskError::Failed(message) => f.write_str(message),
        }
    }
}

impl From<RequestError> for TaskError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Interrupted(i) => TaskError::Interrupted(i),
            RequestError::Cluster(e) => TaskError::Failed(e.to_string()),
        }
    }
}

/// `kind.group/name`, as kubectl names objects in its messages.
pub(crate) fn object_name(key: &ResourceKey) -> String {
    let kind = key.kind.to_lowercase();
    if key.group.is_empty() {
        format!("{kind}/{}", key.name)
    } else {
        format!("{kind}.{}/{}", key.group, key.name)
    }
}

fn propagation(policy: PropagationPolicy) -> Propagation {
    match policy {
        PropagationPolicy::Foreground => Propagation::Foreground,
        PropagationPolicy::Background => Propagation::Background,
        PropagationPolicy::Orphan => Propagation::Orphan,
    }
}

fn write_options(task: &SyncTask, dry_run: bool) -> WriteOptions {
    WriteOptions {
        dry_run,
        skip_validation: !task.options.validate,
        ..WriteOptions::default()
    }
}

impl Run<'_> {
    /// Dry-runs every write of the plan; returns the failures (empty when all pass).
    /// For a dry-run plan the results of the dry run are the results of the sync.
    pub(crate) async fn dry_run(&mut self, plan: &SyncPlan) -> Vec<String> {
        let new_namespaces = self.namespaces_to_create(plan).await;
        let mut failures = Vec::new();
        let tasks: Vec<&SyncTask> = plan
            .tasks
            .iter()
            .filter(|t| t.phase != SyncPhase::SyncFail && t.action.is_executable())
            .collect();
        for task in tasks {
            if self.cancel.is_terminated() {
                break;
            }
            let started = now();
            let skip = if task.needs_discovery_refresh {
                Some("its CRD is created by this sync")
            } else if !task.key.namespace.is_empty() && new_namespaces.contains(&task.key.namespace)
            {
                Some("its namespace is created by this sync")
            } else if matches!(task.action, TaskAction::DeleteBeforeCreate) {
                Some("the hook is recreated")
            } else if task.action == TaskAction::Prune && !plan.dry_run {
                Some("prune")
            } else {
                None
            };
            if let Some(reason) = skip {
                if plan.dry_run {
                    let code = if task.action == TaskAction::Prune {
                        ResultCode::Pruned
                    } else {
                        ResultCode::Synced
                    };
                    let message = format!("dry run skipped: {reason}");
                    self.result.record(task, code, &message);
                    self.record(
                        task,
                        &task.key,
                        "dry-run",
                        &format!("{code:?}"),
                        &message,
                        started,
                    );
                }
                continue;
            }
            let opts = write_options(task, true);
            let outcome: Result<(), RequestError> = match &task.action {
                TaskAction::Apply => self
                    .request(|| self.cluster.apply(&task.object, &opts))
                    .await
                    .map(drop),
                TaskAction::Replace => self
                    .request(|| self.cluster.replace(&task.object, &opts))
                    .await
                    .map(drop),
                TaskAction::Create => self
                    .request(|| self.cluster.create(&task.object, &opts))
                    .await
                    .map(drop),
                TaskAction::Prune => {
                    let delete = DeleteOptions {
                        propagation: propagation(task.options.prune_propagation_policy),
                        dry_run: true,
                    };
                    self.request(|| self.cluster.delete(&task.key, &delete))
                        .await
                        .map(drop)
                }
                _ => Ok(()),
            };
            match outcome {
                Ok(()) => {
                    if plan.dry_run {
                        let (code, verb) = if task.action == TaskAction::Prune {
                            (ResultCode::Pruned, "pruned")
                        } else {
                            (ResultCode::Synced, "configured")
                        };
                        let message = format!("{} {verb} (dry run)", object_name(&task.key));
                        self.result.record(task, code, &message);
                        self.record(
                            task,
                            &task.key,
                            "dry-run",
                            &format!("{code:?}"),
                            &message,
                            started,
                        );
                    }
                }
                Err(RequestError::Interrupted(_)) => break,
                Err(RequestError::Cluster(e)) => {
                    let message = e.to_string();
                    self.result.record(task, ResultCode::SyncFailed, &message);
                    self.record(task, &task.key, "dry-run", "SyncFailed", &message, started);
                    failures.push(message);
                }
            }
        }
        failures
    }

    /// Namespaces the plan writes that do not exist yet.
    async fn namespaces_to_create(&self, plan: &SyncPlan) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for task in &plan.tasks {
            if task.key.group.is_empty() && task.key.kind == "Namespace" && writes(&task.action) {
                let exists = self.request(|| self.cluster.get(&task.key)).await;
                if !matches!(exists, Ok(Some(_))) {
                    out.insert(task.key.name.clone());
                }
            }
        }
        out
    }

    /// Runs one task. Returns what must be waited for (`None` for prunes).
    pub(crate) async fn perform(&mut self, task: &SyncTask) -> Result<Option<Applied>, TaskError> {
        let started = now();
        let action = task.action.to_string();
        let outcome = match &task.action {
            TaskAction::Apply => self
                .apply(task)
                .await
                .map(|live| Some((live, "serverside-applied"))),
            TaskAction::Replace => self
                .replace(task)
                .await
                .map(|live| Some((live, "replaced"))),
            TaskAction::Create => {
                let opts = write_options(task, false);
                self.request(|| self.cluster.create(&task.object, &opts))
                    .await
                    .map(|live| Some((live, "created")))
                    .map_err(TaskError::from)
            }
            TaskAction::DeleteBeforeCreate => {
                match self
                    .delete_and_wait(&task.key, Propagation::Background)
                    .await
                {
                    Ok(()) => {
                        let opts = write_options(task, false);
                        self.request(|| self.cluster.create(&task.object, &opts))
                            .await
                            .map(|live| Some((live, "recreated")))
                            .map_err(TaskError::from)
                    }
                    Err(e) => Err(e),
                }
            }
            TaskAction::Prune => {
                let delete = DeleteOptions {
                    propagation: propagation(task.options.prune_propagation_policy),
                    dry_run: false,
                };
                match self
                    .request(|| self.cluster.delete(&task.key, &delete))
                    .await
                {
                    Ok(found) => {
                        let message = match found {
                            DeleteOutcome::Deleted => format!("{} pruned", object_name(&task.key)),
                            DeleteOutcome::NotFound => {
                                format!("{} pruned (already gone)", object_name(&task.key))
                            }
                        };
                        self.result.record(task, ResultCode::Pruned, &message);
                        self.record(task, &task.key, &action, "Pruned", &message, started);
                        return Ok(None);
                    }
                    Err(e) => Err(TaskError::from(e)),
                }
            }
            TaskAction::PruneSkipped { .. } | TaskAction::Skip { .. } => Ok(None),
        };
        match outcome {
            Ok(Some((live, verb))) => {
                let mut named = task.clone();
                if let Some(name) = live.pointer("/metadata/name").and_then(Value::as_str) {
                    named.key.name = name.to_string();
                }
                let message = format!("{} {verb}", object_name(&named.key));
                self.result.record(&named, ResultCode::Synced, &message);
                if named.is_hook {
                    self.result
                        .set_hook_phase(&named, OperationPhase::Running, &message);
                }
                self.record(task, &named.key, &action, "Synced", &message, started);
                Ok(Some(Applied { task: named }))
            }
            Ok(None) => Ok(None),
            Err(TaskError::Failed(message)) => {
                self.result.record(task, ResultCode::SyncFailed, &message);
                self.record(task, &task.key, &action, "SyncFailed", &message, started);
                Err(TaskError::Failed(message))
            }
            Err(e) => Err(e),
        }
    }

    /// Server-side apply; with `Force=true`, an object the server refuses to patch
    /// (immutable fields) is deleted and created again.
    async fn apply(&mut self, task: &SyncTask) -> Result<Value, TaskError> {
        let mut obj = task.object.clone();
        if task.options.respect_ignore_differences && !self.opts.ignore.is_empty() {
            let live = self.request(|| self.cluster.get(&task.key)).await?;
            obj = respect_ignore_differences(
                &obj,
                live.as_ref(),
                &self.opts.ignore,
                self.opts.jq_timeout,
            )
            .map_err(|e| TaskError::Failed(format!("applying RespectIgnoreDifferences: {e}")))?;
        }
        let opts = write_options(task, false);
        match self.request(|| self.cluster.apply(&obj, &opts)).await {
            Err(RequestError::Cluster(e)) if task.options.force && e.code() == 422 => {
                self.delete_and_wait(&task.key, Propagation::Foreground)
                    .await?;
                Ok(self.request(|| self.cluster.create(&obj, &opts)).await?)
            }
            other => Ok(other?),
        }
    }

    /// `Replace=true`: PUT (or create); with `Force=true`, delete and create when the
    /// server refuses the update.
    async fn replace(&mut self, task: &SyncTask) -> Result<Value, TaskError> {
        let opts = write_options(task, false);
        match self
            .request(|| self.cluster.replace(&task.object, &opts))
            .await
        {
            Err(RequestError::Cluster(e)) if task.options.force && e.code() == 422 => {
                self.delete_and_wait(&task.key, Propagation::Foreground)
                    .await?;
                Ok(self
                    .request(|| self.cluster.create(&task.object, &opts))
                    .await?)
            }
            other => Ok(other?),
        }
    }

    /// Deletes an object and waits until it is gone.
    async fn delete_and_wait(
        &mut self,
        key: &ResourceKey,
        propagation: Propagation,
    ) -> Result<(), TaskError> {
        let delete = DeleteOptions {
            propagation,
            dry_run: false,
        };
        self.request(|| self.cluster.delete(key, &delete)).await?;
        loop {
            if self.request(|| self.cluster.get(key)).await?.is_none() {
                return Ok(());
            }
            self.sleep(self.opts.poll_interval)
                .await
                .map_err(TaskError::Interrupted)?;
        }
    }

    /// Waits until the CRD that defines the task's kind is Established, then refreshes
    /// discovery.
    pub(crate) async fn await_crd(
        &mut self,
        plan: &SyncPlan,
        task: &SyncTask,
    ) -> Result<(), TaskError> {
        let crd = plan.tasks.iter().find(|t| {
            t.key.group == "apiextensions.k8s.io"
                && t.key.kind == "CustomResourceDefinition"
                && t.object.pointer("/spec/group").and_then(Value::as_str) == Some(&task.key.group)
                && t.object.pointer("/spec/names/kind").and_then(Value::as_str)
                    == Some(&task.key.kind)
        });
        if let Some(crd) = crd {
            let started = Instant::now();
            loop {
                let live = self.request(|| self.cluster.get(&crd.key)).await?;
                if live.as_ref().is_some_and(is_established) {
                    break;
                }
                if self.deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(TaskError::Failed(format!(
                        "CRD {} not Established after {}s",
                        crd.key.name,
                        started.elapsed().as_secs()
                    )));
                }
                self.sleep(self.opts.poll_interval)
                    .await
                    .map_err(TaskError::Interrupted)?;
            }
        }
        self.request(|| self.cluster.refresh_discovery()).await?;
        Ok(())
    }
}

/// Whether a CRD has the condition `Established=True`.
pub(crate) fn is_established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conds| {
            conds.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Established")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_names_like_kubectl() {
        assert_eq!(
            object_name(&ResourceKey::new("apps", "Deployment", "ml", "api")),
            "deployment.apps/api"
        );
        assert_eq!(
            object_name(&ResourceKey::new("", "ConfigMap", "ml", "cfg")),
            "configmap/cfg"
        );
    }

    #[test]
    fn established_condition() {
        assert!(is_established(&json!({"status": {"conditions": [
            {"type": "NamesAccepted", "status": "True"},
            {"type": "Established", "status": "True"}]}})));
        assert!(!is_established(&json!({"status": {"conditions": [
            {"type": "Established", "status": "False"}]}})));
        assert!(!is_established(&json!({})));
    }
}
