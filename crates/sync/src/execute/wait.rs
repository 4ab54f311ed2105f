//! Waiting after a step: hooks until they finish (and their delete policies), resources
//! until they are healthy, all within the operation's deadline.

use std::fmt;

use ferrocd_cluster::{DeleteOptions, Propagation};
use ferrocd_health::{HealthAssessment, assess_with_children};
use ferrocd_model::{HealthStatus, OperationPhase, SyncPhase};
use serde_json::Value;

use super::request::RequestError;
use super::task::{Applied, object_name};
use super::{Interrupted, Run, SyncEvent, now};
use crate::plan::HookDeletePolicy;

/// Why a step did not complete.
#[derive(Debug)]
pub(crate) enum WaitError {
    /// Termination.
    Interrupted(Interrupted),
    /// A hook failed or a resource became Degraded.
    Failed(String),
    /// The deadline passed; what was still pending.
    TimedOut(String),
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Interrupted(_) => f.write_str("operation terminated"),
            WaitError::Failed(message) | WaitError::TimedOut(message) => f.write_str(message),
        }
    }
}

/// The state of a hook's live object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HookState {
    Running(String),
    Succeeded(String),
    Failed(String),
}

/// Reads a hook's state: Jobs by their `Complete`/`Failed` conditions, Pods by their
/// phase, other kinds by their health.
pub(crate) fn hook_state(live: &Value, health: &HealthAssessment) -> HookState {
    let kind = live.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = live.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind == "Job" && api_version.starts_with("batch/") {
        let conditions = live
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for c in &conditions {
            let is_true = c.get("status").and_then(Value::as_str) == Some("True");
            let message = c
                .get("message")
                .or_else(|| c.get("reason"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            match c.get("type").and_then(Value::as_str) {
                Some("Complete") if is_true => {
                    let message = if message.is_empty() {
                        "job completed".into()
                    } else {
                        message
                    };
                    return HookState::Succeeded(message);
                }
                Some("Failed") if is_true => {
                    let reason = c.get("reason").and_then(Value::as_str).unwrap_or("");
                    return HookState::Failed(
                        format!("job failed: {reason} {message}").trim().to_string(),
                    );
                }
                _ => {}
            }
        }
        return HookState::Running("job running".into());
    }
    if kind == "Pod" && api_version == "v1" {
        return match live.pointer("/status/phase").and_then(Value::as_str) {
            Some("Succeeded") => HookState::Succeeded("pod succeeded".into()),
            Some("Failed") => HookState::Failed(
                live.pointer("/status/message")
                    .and_then(Value::as_str)
                    .map(|m| format!("pod failed: {m}"))
                    .unwrap_or_else(|| "pod failed".into()),
            ),
            phase => HookState::Running(format!("pod {}", phase.unwrap_or("pending"))),
        };
    }
    match health.status {
        HealthStatus::Healthy => HookState::Succeeded(health.message.clone()),
        HealthStatus::Degraded => HookState::Failed(health.message.clone()),
        _ => HookState::Running(health.message.clone()),
    }
}

/// Kinds whose health reads the objects they own.
fn has_children(obj: &Value) -> Option<&'static [(&'static str, &'static str)]> {
    let kind = obj.get("kind").and_then(Value::as_str)?;
    Some(match kind {
        "Deployment" => &[("apps", "ReplicaSet"), ("", "Pod")],
        "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => &[("", "Pod")],
        "CronJob" => &[("batch", "Job"), ("", "Pod")],
        _ => return None,
    })
}

impl Run<'_> {
    /// The objects owned (at any depth) by `obj`, among the kinds its health reads.
    async fn children(&self, obj: &Value) -> Result<Vec<Value>, RequestError> {
        let Some(kinds) = has_children(obj) else {
            return Ok(Vec::new());
        };
        let namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str);
        let mut candidates = Vec::new();
        for (group, kind) in kinds {
            candidates.extend(
                self.request(|| self.cluster.list(group, kind, namespace))
                    .await?,
            );
        }
        let mut owners: Vec<String> = obj
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .map(|u| vec![u.to_string()])
            .unwrap_or_default();
        let mut out = Vec::new();
        // Two levels cover Deployment → ReplicaSet → Pod and CronJob → Job → Pod.
        for _ in 0..2 {
            let (mine, rest): (Vec<Value>, Vec<Value>) = candidates.into_iter().partition(|c| {
                c.pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| {
                        refs.iter().any(|r| {
                            r.get("uid")
                                .and_then(Value::as_str)
                                .is_some_and(|u| owners.iter().any(|o| o == u))
                        })
                    })
            });
            owners = mine
                .iter()
                .filter_map(|c| {
                    c.pointer("/metadata/uid")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect();
            out.extend(mine);
            candidates = rest;
        }
        Ok(out)
    }

    /// The health of a live object with its children.
    async fn health_of(&self, live: &Value) -> Result<HealthAssessment, RequestError> {
        let children = self.children(live).await?;
        let refs: Vec<&Value> = children.iter().collect();
        Ok(assess_with_children(live, &refs, &self.opts.health))
    }

    /// Waits for the hooks of a step to finish and, when `resources`, for its other
    /// objects to be healthy.
    pub(crate) async fn wait_step(
        &mut self,
        phase: SyncPhase,
        wave: i32,
        done: &[Applied],
        resources: bool,
    ) -> Result<(), WaitError> {
        let mut pending: Vec<&Applied> = done
            .iter()
            .filter(|a| a.task.is_hook || resources)
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        let started = now();
        (self.on_event)(&SyncEvent::Waiting {
            phase,
            wave,
            message: format!(
                "waiting for {}",
                pending
                    .iter()
                    .map(|a| object_name(&a.task.key))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
        loop {
            let mut still = Vec::new();
            let mut waiting_for = Vec::new();
            let mut failures = Vec::new();
            for applied in pending {
                let task = &applied.task;
                let live = match self.request(|| self.cluster.get(&task.key)).await {
                    Ok(live) => live,
                    Err(RequestError::Interrupted(i)) => return Err(interrupted(i, &waiting_for)),
                    Err(RequestError::Cluster(e)) => {
                        waiting_for.push(format!("{}: {e}", object_name(&task.key)));
                        still.push(applied);
                        continue;
                    }
                };
                let Some(live) = live else {
                    waiting_for.push(format!("{}: not found", object_name(&task.key)));
                    still.push(applied);
                    continue;
                };
                let health = match self.health_of(&live).await {
                    Ok(h) => h,
                    Err(RequestError::Interrupted(i)) => return Err(interrupted(i, &waiting_for)),
                    Err(RequestError::Cluster(e)) => HealthAssessment::unknown(e.to_string()),
                };
                if task.is_hook {
                    match hook_state(&live, &health) {
                        HookState::Running(message) => {
                            waiting_for.push(format!("hook {}: {message}", object_name(&task.key)));
                            still.push(applied);
                        }
                        HookState::Succeeded(message) => {
                            self.result
                                .set_hook_phase(task, OperationPhase::Succeeded, &message);
                            self.record(
                                task,
                                &task.key,
                                "hook",
                                "Succeeded",
                                &message,
                                started.clone(),
                            );
                            self.apply_delete_policy(applied, HookDeletePolicy::HookSucceeded)
                                .await;
                        }
                        HookState::Failed(message) => {
                            self.result
                                .set_hook_phase(task, OperationPhase::Failed, &message);
                            self.record(
                                task,
                                &task.key,
                                "hook",
                                "Failed",
                                &message,
                                started.clone(),
                            );
                            self.apply_delete_policy(applied, HookDeletePolicy::HookFailed)
                                .await;
                            failures.push(format!(
                                "{} hook {} failed: {message}",
                                phase_name(task.phase),
                                object_name(&task.key)
                            ));
                        }
                    }
                    continue;
                }
                match health.status {
                    HealthStatus::Healthy | HealthStatus::Suspended => {
                        let result = health.status.as_str();
                        self.record(
                            task,
                            &task.key,
                            "wait",
                            result,
                            &health.message,
                            started.clone(),
                        );
                    }
                    HealthStatus::Degraded => {
                        self.record(
                            task,
                            &task.key,
                            "wait",
                            "Degraded",
                            &health.message,
                            started.clone(),
                        );
                        failures.push(format!(
                            "{} is Degraded: {}",
                            object_name(&task.key),
                            health.message
                        ));
                    }
                    status => {
                        waiting_for.push(format!(
                            "{} {}{}",
                            object_name(&task.key),
                            status.as_str(),
                            if health.message.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", health.message)
                            }
                        ));
                        still.push(applied);
                    }
                }
            }
            if !failures.is_empty() {
                return Err(WaitError::Failed(failures.join("; ")));
            }
            if still.is_empty() {
                return Ok(());
            }
            pending = still;
            if let Err(i) = self.sleep(self.opts.poll_interval).await {
                return Err(interrupted_with(i, &waiting_for, self.timeout_text()));
            }
        }
    }

    /// Deletes a finished hook when its delete policies ask for it.
    async fn apply_delete_policy(&mut self, applied: &Applied, policy: HookDeletePolicy) {
        let task = &applied.task;
        if !task.hook_delete_policies.contains(&policy) {
            return;
        }
        let started = now();
        let delete = DeleteOptions {
            propagation: Propagation::Background,
            dry_run: false,
        };
        let (result, message) = match self
            .request(|| self.cluster.delete(&task.key, &delete))
            .await
        {
            Ok(_) => (
                "Deleted",
                format!("{} deleted ({policy:?})", object_name(&task.key)),
            ),
            Err(RequestError::Cluster(e)) => ("Failed", format!("deleting hook ({policy:?}): {e}")),
            Err(RequestError::Interrupted(_)) => return,
        };
        self.record(task, &task.key, "delete", result, &message, started);
    }
}

fn phase_name(phase: SyncPhase) -> &'static str {
    match phase {
        SyncPhase::PreSync => "PreSync",
        SyncPhase::Sync => "Sync",
        SyncPhase::PostSync => "PostSync",
        SyncPhase::SyncFail => "SyncFail",
        SyncPhase::PreDelete => "PreDelete",
        SyncPhase::PostDelete => "PostDelete",
    }
}

fn interrupted(i: Interrupted, waiting_for: &[String]) -> WaitError {
    interrupted_with(i, waiting_for, "operation timed out".to_string())
}

fn interrupted_with(i: Interrupted, waiting_for: &[String], timeout: String) -> WaitError {
    match i {
        Interrupted::Terminated => WaitError::Interrupted(Interrupted::Terminated),
        Interrupted::TimedOut => WaitError::TimedOut(if waiting_for.is_empty() {
            timeout
        } else {
            format!("{timeout} waiting for {}", waiting_for.join(", "))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(conditions: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "m"},
               "status": {"conditions": conditions}})
    }

    #[test]
    fn job_hooks_follow_conditions() {
        let h = HealthAssessment::default();
        assert_eq!(
            hook_state(&job(json!([])), &h),
            HookState::Running("job running".into())
        );
        assert!(matches!(
            hook_state(&job(json!([{"type": "Complete", "status": "True"}])), &h),
            HookState::Succeeded(_)
        ));
        let failed = hook_state(
            &job(
                json!([{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                         "message": "Job has reached the specified backoff limit"}]),
            ),
            &h,
        );
        assert_eq!(
            failed,
            HookState::Failed(
                "job failed: BackoffLimitExceeded Job has reached the specified backoff limit"
                    .into()
            )
        );
    }

    #[test]
    fn pod_hooks_follow_phase() {
        let pod =
            |phase: &str| json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": phase}});
        let h = HealthAssessment::default();
        assert!(matches!(
            hook_state(&pod("Succeeded"), &h),
            HookState::Succeeded(_)
        ));
        assert!(matches!(
            hook_state(&pod("Failed"), &h),
            HookState::Failed(_)
        ));
        assert!(matches!(
            hook_state(&pod("Running"), &h),
            HookState::Running(_)
        ));
    }

    #[test]
    fn other_hooks_follow_health() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        assert!(matches!(
            hook_state(&cm, &HealthAssessment::healthy("")),
            HookState::Succeeded(_)
        ));
        assert!(matches!(
            hook_state(&cm, &HealthAssessment::degraded("x")),
            HookState::Failed(_)
        ));
        assert!(matches!(
            hook_state(&cm, &HealthAssessment::progressing("x")),
            HookState::Running(_)
        ));
    }
}
