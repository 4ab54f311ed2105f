//! ferrocd-sync: the pure core of a sync operation.
//!
//! - [`plan()`] turns desired manifests, the live objects tracked for an application and
//!   the diff engine's verdicts into an ordered [`SyncPlan`]: phases (PreSync → Sync →
//!   PostSync, SyncFail on failure), waves, Argo CD's kind order, hooks (Argo CD and Helm
//!   annotations), prune order and the sync options in force for every resource;
//! - [`SyncResult`] collects per-resource outcomes (Synced, SyncFailed, Pruned,
//!   PruneSkipped, hook phases) and converts them to the Application status model;
//! - [`OperationMachine`] is the operation's state machine (Running → Succeeded / Failed /
//!   Error, Terminating) with retry and backoff, fed by events from the executor.
//!
//! Nothing here talks to a cluster: the executor applies the plan and feeds events back.
#![deny(missing_docs)]

pub mod operation;
pub mod plan;
pub mod result;

pub use operation::{OperationError, OperationEvent, OperationMachine, Transition};
pub use plan::{
    HookDeletePolicy, PlanError, PlanInput, PlanOptions, SyncPlan, SyncTask, TaskAction,
    is_tracked_by, plan,
};
pub use result::{ResourceOutcome, SyncResult};
