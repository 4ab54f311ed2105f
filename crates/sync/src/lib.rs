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
//! Around that pure core, the edges that do I/O:
//! - [`prepare()`] places rendered manifests in their namespace and stamps them with the
//!   application's tracking annotation ([`DesiredState`]);
//! - [`live::load`] reads the application's live objects in direct mode;
//! - [`compare()`] (pure) turns desired + live into per-resource sync status, health and
//!   diff ([`Comparison`]), what the CLI prints and the controller writes to status;
//! - [`execute()`] runs a plan against a cluster: dry run, waves, health waits, hooks,
//!   prune, request and operation retries, termination.
#![deny(missing_docs)]

pub mod compare;
pub mod execute;
pub mod live;
pub mod operation;
pub mod plan;
pub mod prepare;
pub mod result;

pub use compare::{CompareError, CompareInput, Comparison, ResourceStatus, compare};
pub use execute::{
    CancelHandle, ExecuteOptions, ExecuteOutcome, OperationRecord, RequestPolicy, SyncEvent,
    execute,
};
pub use prepare::{DesiredObject, DesiredState, PrepareError, PrepareOptions, prepare};

pub use operation::{OperationError, OperationEvent, OperationMachine, Transition};
pub use plan::{
    HookDeletePolicy, PlanError, PlanInput, PlanOptions, SyncPlan, SyncTask, TaskAction, is_hook,
    is_tracked_by, plan,
};
pub use result::{ResourceOutcome, SyncResult};
