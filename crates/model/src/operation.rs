//! Operations on an Application: the request (`operation`, written by a user or the
//! auto-sync logic) and its progress and outcome (`status.operationState`).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application::RetryStrategy;
use crate::application_source::{ApplicationSource, EnvEntry};
use crate::meta::Extra;

/// A requested operation (`operation`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// A sync request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncOperation>,
    /// Who asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
    /// Free-form information.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<EnvEntry>,
    /// Retry policy for this operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `operation.sync`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperation {
    /// Revision to sync to (single source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Revisions to sync to, one per source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Delete resources no longer desired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Validate only, change nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// How to apply resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_strategy: Option<SyncStrategy>,
    /// Restrict the sync to these resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<SyncOperationResource>,
    /// Sync options for this operation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// Source override (rollback to an earlier source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources override.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `syncStrategy`: either `apply` or `hook`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStrategy {
    /// Apply without running hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply: Option<SyncStrategyApply>,
    /// Apply and run hooks (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<SyncStrategyApply>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Options of a sync strategy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStrategyApply {
    /// Delete and recreate resources that cannot be patched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A resource selected for a partial sync.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResource {
    /// API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Who started an operation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationInitiator {
    /// User name, for manual operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// True when started by automated sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<bool>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Phase of an operation or a hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OperationPhase {
    /// In progress.
    Running,
    /// Being stopped on request.
    Terminating,
    /// Finished unsuccessfully (a resource or hook failed).
    Failed,
    /// Could not run (bad input, unreachable cluster).
    Error,
    /// Finished successfully.
    Succeeded,
}

impl OperationPhase {
    /// True for the phases an operation ends in.
    pub fn is_completed(self) -> bool {
        matches!(
            self,
            OperationPhase::Failed | OperationPhase::Error | OperationPhase::Succeeded
        )
    }
}

impl fmt::Display for OperationPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperationPhase::Running => "Running",
            OperationPhase::Terminating => "Terminating",
            OperationPhase::Failed => "Failed",
            OperationPhase::Error => "Error",
            OperationPhase::Succeeded => "Succeeded",
        })
    }
}

/// `status.operationState`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// The operation being run.
    #[serde(default)]
    pub operation: Operation,
    /// Current phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<OperationPhase>,
    /// Human-readable progress or outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Outcome of a sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_result: Option<SyncOperationResult>,
    /// RFC 3339 start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// RFC 3339 end time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Attempts made so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i64>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `operationState.syncResult`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncOperationResult {
    /// Per-resource results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceResult>,
    /// Revision synced (single source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Revisions synced, one per source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Source synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources synced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Outcome of applying, pruning or running one resource.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    /// API group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// API version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Result code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResultCode>,
    /// Message from the API server or the hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Hook type, for hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_type: Option<HookType>,
    /// Hook phase, for hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_phase: Option<OperationPhase>,
    /// Sync phase the resource ran in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_phase: Option<SyncPhase>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Result of one resource in a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ResultCode {
    /// Applied.
    Synced,
    /// Apply failed.
    SyncFailed,
    /// Deleted.
    Pruned,
    /// Would be deleted, but pruning was off.
    PruneSkipped,
}

/// Hook types (`argocd.argoproj.io/hook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum HookType {
    /// Before the sync.
    PreSync,
    /// With the sync, after `PreSync` hooks.
    Sync,
    /// After a healthy sync.
    PostSync,
    /// When the sync fails.
    SyncFail,
    /// Not applied at all.
    Skip,
    /// Before the application is deleted.
    PreDelete,
    /// After the application is deleted.
    PostDelete,
}

impl HookType {
    /// Parses a hook name as written in the annotation (case-sensitive, like Argo CD).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "PreSync" => HookType::PreSync,
            "Sync" => HookType::Sync,
            "PostSync" => HookType::PostSync,
            "SyncFail" => HookType::SyncFail,
            "Skip" => HookType::Skip,
            "PreDelete" => HookType::PreDelete,
            "PostDelete" => HookType::PostDelete,
            _ => return None,
        })
    }
}

/// Phases of a sync, in order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum SyncPhase {
    /// Before the sync.
    PreSync,
    /// The sync proper.
    Sync,
    /// After a healthy sync.
    PostSync,
    /// After a failed sync.
    SyncFail,
    /// Before deletion.
    PreDelete,
    /// After deletion.
    PostDelete,
}
