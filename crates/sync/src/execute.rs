//! The thin executor: runs a [`SyncPlan`] against a [`Cluster`].
//!
//! One attempt reads top to bottom like a checklist:
//! 1. server-side dry run of every write of the plan, before the first real write (kinds
//!    whose CRD is created by the same sync and objects in a namespace the sync creates
//!    are left out: the server cannot validate them yet). A dry-run failure fails the
//!    operation with nothing changed. A dry-run plan stops here.
//! 2. step by step (phase PreSync → Sync → PostSync, wave by wave, tasks in the plan's
//!    order): apply (server-side, field manager `ferrocd`, conflicts forced), replace,
//!    create (hooks with `generateName`), delete-then-create (`BeforeHookCreation`),
//!    prune (propagation policy of the task). Tasks of kinds defined by a CRD of the same
//!    sync first wait for the CRD's `Established` condition and refresh discovery.
//! 3. after a step's writes, its hooks must finish (Job complete = Succeeded, failed =
//!    Failed; Pods likewise; other kinds by health) and, when another step follows, its
//!    resources must be healthy, within the operation's timeout. Hook delete policies
//!    apply as hooks finish.
//! 4. on failure the SyncFail hooks run, then the attempt ends Failed.
//!
//! Every request is retried on transient errors (5xx, 429, a 409 conflict on update,
//! timeouts, transport errors) with a short backoff ([`RequestPolicy`]); whole attempts
//! are retried by [`OperationMachine`] per the retry strategy. A [`CancelHandle`] stops
//! the operation between tasks ("operation terminated"). Progress is reported through a
//! callback as [`SyncEvent`]s, and the outcome carries the [`SyncResult`] and the ordered
//! [`OperationRecord`]s. The executor never touches an object that is not in the plan.

mod request;
mod task;
mod wait;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferrocd_cluster::Cluster;
use ferrocd_diff::IgnoreRule;
use ferrocd_health::HealthCustomizations;
use ferrocd_model::{OperationPhase, ResourceKey, ResultCode, RetryStrategy, SyncPhase};
use tokio::time::Instant;

use crate::operation::{OperationEvent, OperationMachine, Transition};
use crate::plan::{SyncPlan, SyncTask, TaskAction};
use crate::result::SyncResult;

pub use request::RequestPolicy;

/// How the executor behaves.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Deadline of the whole operation (all attempts), `None` for no limit.
    pub timeout: Option<Duration>,
    /// How often live objects are read while waiting for health or hooks.
    pub poll_interval: Duration,
    /// Retries of single requests.
    pub request: RequestPolicy,
    /// Retries of whole attempts (`syncPolicy.retry`).
    pub retry: Option<RetryStrategy>,
    /// Health customizations (Lua scripts of `argocd-cm`).
    pub health: HealthCustomizations,
    /// ignoreDifferences rules, for `RespectIgnoreDifferences=true`.
    pub ignore: Vec<IgnoreRule>,
    /// Time limit of one jq path expression.
    pub jq_timeout: Duration,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            timeout: Some(Duration::from_secs(300)),
            poll_interval: Duration::from_millis(250),
            request: RequestPolicy::default(),
            retry: None,
            health: HealthCustomizations::default(),
            ignore: Vec::new(),
            jq_timeout: Duration::from_secs(1),
        }
    }
}

/// Stops a running operation: cheap to clone, shared with whoever may terminate it.
#[derive(Debug, Clone, Default)]
pub struct CancelHandle {
    flag: Arc<AtomicBool>,
}

impl CancelHandle {
    /// A handle that has not been triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the operation to stop (it stops before its next task or poll).
    pub fn terminate(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Whether termination was requested.
    pub fn is_terminated(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// One thing the executor did, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationRecord {
    /// Phase of the task.
    pub phase: SyncPhase,
    /// Wave of the task.
    pub wave: i32,
    /// The object (with the server-chosen name for `generateName` hooks).
    pub key: ResourceKey,
    /// What was done: `dry-run`, `apply`, `replace`, `create`, `delete-before-create`,
    /// `prune`, `hook` (a hook finished), `delete` (hook delete policy), `wait`.
    pub action: String,
    /// The result: `Synced`, `SyncFailed`, `Pruned`, `PruneSkipped`, `Succeeded`,
    /// `Failed`, `Deleted`, `Healthy`, ….
    pub result: String,
    /// Message from the server, the hook or the executor.
    pub message: String,
    /// When the action started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished (RFC 3339, UTC).
    pub finished_at: String,
}

/// Progress of a running operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// An action finished.
    Operation(OperationRecord),
    /// A step (phase and wave) starts.
    StepStarted {
        /// Phase.
        phase: SyncPhase,
        /// Wave.
        wave: i32,
        /// Number of tasks.
        tasks: usize,
    },
    /// The executor waits for the step's resources and hooks.
    Waiting {
        /// Phase.
        phase: SyncPhase,
        /// Wave.
        wave: i32,
        /// What it waits for.
        message: String,
    },
    /// The attempt failed and will be retried.
    Retrying {
        /// Retry number (1 for the first retry).
        attempt: u32,
        /// Delay before it starts.
        delay: Duration,
        /// Why the attempt failed.
        message: String,
    },
}

/// The end of an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteOutcome {
    /// Succeeded, Failed or Error.
    pub phase: OperationPhase,
    /// Summary.
    pub message: String,
    /// Per-resource results of the last attempt.
    pub result: SyncResult,
    /// Everything done, in order, over all attempts.
    pub operations: Vec<OperationRecord>,
    /// Attempts retried.
    pub retries: u32,
}

/// How one attempt ended.
enum AttemptEnd {
    Succeeded(String),
    Failed(String),
    Terminated,
}

/// Runs `plan` against `cluster`, calling `on_event` as it goes (the callback is `Send +
/// Sync` so that the operation's future can run on any runtime thread).
pub async fn execute(
    cluster: &Cluster,
    plan: &SyncPlan,
    opts: &ExecuteOptions,
    cancel: &CancelHandle,
    on_event: &mut (dyn FnMut(&SyncEvent) + Send + Sync),
) -> ExecuteOutcome {
    let deadline = opts.timeout.map(|t| Instant::now() + t);
    let mut run = Run {
        cluster,
        opts,
        cancel,
        on_event,
        deadline,
        operations: Vec::new(),
        result: SyncResult::from_plan(plan),
    };
    let mut machine = OperationMachine::new(opts.retry.clone());
    loop {
        run.result = SyncResult::from_plan(plan);
        let event = match run.attempt(plan).await {
            AttemptEnd::Succeeded(message) => OperationEvent::Succeeded { message },
            AttemptEnd::Failed(message) => OperationEvent::Failed { message },
            AttemptEnd::Terminated => {
                let _ = machine.handle(OperationEvent::TerminateRequested);
                OperationEvent::Terminated
            }
        };
        match machine.handle(event) {
            Ok(Transition::RetryAfter { delay, attempt }) => {
                (run.on_event)(&SyncEvent::Retrying {
                    attempt,
                    delay,
                    message: machine.message().to_string(),
                });
                if run.sleep(delay).await.is_err() {
                    let _ = machine.handle(OperationEvent::TerminateRequested);
                    let _ = machine.handle(OperationEvent::Terminated);
                    break;
                }
            }
            Ok(Transition::Continue) => {}
            Ok(Transition::Completed(_)) | Err(_) => break,
        }
    }
    ExecuteOutcome {
        phase: machine.phase(),
        message: machine.message().to_string(),
        result: run.result,
        operations: run.operations,
        retries: machine.retry_count(),
    }
}

/// The state of one operation while it runs.
struct Run<'a> {
    cluster: &'a Cluster,
    opts: &'a ExecuteOptions,
    cancel: &'a CancelHandle,
    on_event: &'a mut (dyn FnMut(&SyncEvent) + Send + Sync),
    deadline: Option<Instant>,
    operations: Vec<OperationRecord>,
    result: SyncResult,
}

/// The operation was terminated or ran out of time while sleeping.
#[derive(Debug)]
enum Interrupted {
    Terminated,
    TimedOut,
}

/// Current time in RFC 3339.
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Run<'_> {
    /// Records and reports one action.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        task: &SyncTask,
        key: &ResourceKey,
        action: &str,
        result: &str,
        message: &str,
        started_at: String,
    ) {
        let record = OperationRecord {
            phase: task.phase,
            wave: task.wave,
            key: key.clone(),
            action: action.to_string(),
            result: result.to_string(),
            message: message.to_string(),
            started_at,
            finished_at: now(),
        };
        (self.on_event)(&SyncEvent::Operation(record.clone()));
        self.operations.push(record);
    }

    /// Sleeps, waking early on termination or the deadline.
    async fn sleep(&self, total: Duration) -> Result<(), Interrupted> {
        let end = Instant::now() + total;
        loop {
            if self.cancel.is_terminated() {
                return Err(Interrupted::Terminated);
            }
            let now = Instant::now();
            if self.deadline.is_some_and(|d| now >= d) {
                return Err(Interrupted::TimedOut);
            }
            if now >= end {
                return Ok(());
            }
            let slice = (end - now).min(Duration::from_millis(50));
            tokio::time::sleep(slice).await;
        }
    }

    fn timeout_text(&self) -> String {
        match self.opts.timeout {
            Some(t) => format!("operation timed out after {}s", t.as_secs_f64()),
            None => "operation timed out".to_string(),
        }
    }

    async fn attempt(&mut self, plan: &SyncPlan) -> AttemptEnd {
        if self.cancel.is_terminated() {
            return AttemptEnd::Terminated;
        }
        // 1. Validate every write before the first one.
        let failures = self.dry_run(plan).await;
        if !failures.is_empty() {
            return AttemptEnd::Failed(format!(
                "one or more objects failed to apply (dry run): {}",
                failures.join("; ")
            ));
        }
        if plan.dry_run {
            return AttemptEnd::Succeeded("successfully validated (dry run)".to_string());
        }
        // 2. + 3. Step by step.
        let steps = plan.steps();
        let count = steps.len();
        for (index, (phase, wave, tasks)) in steps.into_iter().enumerate() {
            (self.on_event)(&SyncEvent::StepStarted {
                phase,
                wave,
                tasks: tasks.len(),
            });
            let mut done = Vec::new();
            let mut failures = Vec::new();
            for task in tasks {
                if self.cancel.is_terminated() {
                    return AttemptEnd::Terminated;
                }
                if self.deadline.is_some_and(|d| Instant::now() >= d) {
                    return self.fail(plan, self.timeout_text()).await;
                }
                if task.needs_discovery_refresh
                    && let Err(e) = self.await_crd(plan, task).await
                {
                    match e {
                        task::TaskError::Interrupted(Interrupted::Terminated) => {
                            return AttemptEnd::Terminated;
                        }
                        other => {
                            let message = other.to_string();
                            self.result.record(task, ResultCode::SyncFailed, &message);
                            self.record(
                                task,
                                &task.key,
                                &task.action.to_string(),
                                "SyncFailed",
                                &message,
                                now(),
                            );
                            failures.push(format!("{}: {message}", task.key));
                            continue;
                        }
                    }
                }
                match self.perform(task).await {
                    Ok(Some(applied)) => done.push(applied),
                    Ok(None) => {}
                    Err(task::TaskError::Interrupted(Interrupted::Terminated)) => {
                        return AttemptEnd::Terminated;
                    }
                    Err(e) => failures.push(format!("{}: {e}", task.key)),
                }
            }
            if !failures.is_empty() {
                return self
                    .fail(
                        plan,
                        format!(
                            "one or more objects failed to apply: {}",
                            failures.join("; ")
                        ),
                    )
                    .await;
            }
            let wait_resources = index + 1 < count;
            match self.wait_step(phase, wave, &done, wait_resources).await {
                Ok(()) => {}
                Err(wait::WaitError::Interrupted(Interrupted::Terminated)) => {
                    return AttemptEnd::Terminated;
                }
                Err(e) => return self.fail(plan, e.to_string()).await,
            }
        }
        AttemptEnd::Succeeded("successfully synced (all tasks run)".to_string())
    }

    /// Runs the SyncFail hooks of the plan, then ends the attempt as failed.
    async fn fail(&mut self, plan: &SyncPlan, message: String) -> AttemptEnd {
        let hooks: Vec<&SyncTask> = plan
            .phase(SyncPhase::SyncFail)
            .filter(|t| t.action.is_executable())
            .collect();
        if hooks.is_empty() || self.cancel.is_terminated() {
            return AttemptEnd::Failed(message);
        }
        // The SyncFail hooks get their own time, whatever the state of the deadline.
        let saved = self.deadline;
        self.deadline =
            Some(Instant::now() + self.opts.timeout.unwrap_or(Duration::from_secs(300)));
        let mut done = Vec::new();
        let mut hook_failures = Vec::new();
        for task in &hooks {
            match self.perform(task).await {
                Ok(Some(applied)) => done.push(applied),
                Ok(None) => {}
                Err(e) => hook_failures.push(format!("{}: {e}", task.key)),
            }
        }
        let wave = hooks.first().map(|t| t.wave).unwrap_or(0);
        if let Err(e) = self
            .wait_step(SyncPhase::SyncFail, wave, &done, false)
            .await
        {
            hook_failures.push(e.to_string());
        }
        self.deadline = saved;
        if hook_failures.is_empty() {
            AttemptEnd::Failed(message)
        } else {
            AttemptEnd::Failed(format!(
                "{message}; SyncFail hooks failed: {}",
                hook_failures.join("; ")
            ))
        }
    }
}

/// Whether a task writes (`Apply`, `Replace`, `Create`, …) rather than deletes.
fn writes(action: &TaskAction) -> bool {
    matches!(
        action,
        TaskAction::Apply
            | TaskAction::Replace
            | TaskAction::Create
            | TaskAction::DeleteBeforeCreate
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_handle_is_shared() {
        let a = CancelHandle::new();
        let b = a.clone();
        assert!(!a.is_terminated());
        b.terminate();
        assert!(a.is_terminated());
    }

    #[test]
    fn writes_excludes_prunes() {
        assert!(writes(&TaskAction::Apply));
        assert!(writes(&TaskAction::DeleteBeforeCreate));
        assert!(!writes(&TaskAction::Prune));
    }

    #[test]
    fn options_default_to_a_deadline() {
        let o = ExecuteOptions::default();
        assert_eq!(o.timeout, Some(Duration::from_secs(300)));
        assert!(o.request.attempts > 1);
    }
}
