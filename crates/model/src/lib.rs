//! ferrocd-model: the Argo CD-compatible resource types and the vocabulary every layer
//! of ferrocd shares.
//!
//! - [`Application`] and [`AppProject`] (`argoproj.io/v1alpha1`) with lossless serde
//!   round trips, [`Application::from_yaml`] / [`AppProject::from_yaml`] with validation
//!   errors that name the file and the field, and their CRDs ([`crds`], [`crds_yaml`]);
//! - cluster Secrets ([`ClusterSecret`]) with self-redacting credentials (repository
//!   Secrets are read by `ferrocd-source`);
//! - [`ResourceKey`], the `argocd.argoproj.io/*` [`annotations`], typed
//!   [`SyncOptions`], [`HealthStatus`] and [`SyncStatusCode`];
//! - Go durations ([`duration`]) as Argo CD writes them.
#![deny(missing_docs)]

pub mod annotations;
pub mod application;
pub mod application_source;
pub mod application_status;
pub mod cluster;
pub mod crd;
pub mod duration;
mod error;
mod health;
mod key;
pub mod meta;
pub mod operation;
pub mod project;
mod project_policy;
pub mod sync_options;
mod sync_status;
mod validate;

pub use application::{
    API_VERSION, APPLICATION_KIND, Application, ApplicationDestination, ApplicationSpec, Backoff,
    ManagedNamespaceMetadata, ResourceIgnoreDifferences, RetryStrategy, SyncPolicy,
    SyncPolicyAutomated,
};
pub use application_source::{
    ApplicationSource, DirectorySource, EnvEntry, HelmFileParameter, HelmParameter, HelmSource,
    IntOrString, JsonnetSource, JsonnetVar, KustomizePatch, KustomizeReplica, KustomizeSelector,
    KustomizeSource, PluginParameter, PluginSource, SourceType,
};
pub use application_status::{
    ApplicationCondition, ApplicationStatus, ApplicationSummary, ApplicationSyncStatus, ComparedTo,
    HealthInfo, ResourceStatus, RevisionHistory,
};
pub use cluster::{ClusterConfig, ClusterError, ClusterSecret, Sensitive};
pub use crd::{crds, crds_yaml};
pub use error::{FieldError, FieldErrors, ModelError};
pub use health::HealthStatus;
pub use key::{ResourceKey, group_of_api_version};
pub use meta::{Extra, ObjectMeta};
pub use operation::{
    HookType, Operation, OperationInitiator, OperationPhase, OperationState, ResourceResult,
    ResultCode, SyncOperation, SyncOperationResource, SyncOperationResult, SyncPhase, SyncStrategy,
    SyncStrategyApply,
};
pub use project::{
    APP_PROJECT_KIND, AppProject, AppProjectSpec, AppProjectStatus, GroupKind, JwtToken, JwtTokens,
    OrphanedResourceKey, OrphanedResourcesMonitorSettings, ProjectDestination, ProjectRole,
    SignatureKey, SyncWindow,
};
pub use project_policy::{IN_CLUSTER_NAME, ProjectViolation, glob_match, normalize_repo_url};
pub use sync_options::SyncOptions;
pub use sync_status::SyncStatusCode;
