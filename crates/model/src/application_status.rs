//! `status` of an Application: per-resource sync and health, the application's sync and
//! health, deployment history, conditions and the state of the last operation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application::{ApplicationDestination, ResourceIgnoreDifferences};
use crate::application_source::{ApplicationSource, SourceType};
use crate::meta::Extra;
use crate::operation::{OperationInitiator, OperationState};
use crate::{HealthStatus, SyncStatusCode};

/// `status` of an Application.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationStatus {
    /// Every resource the application manages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceStatus>,
    /// Sync status of the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<ApplicationSyncStatus>,
    /// Health of the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthInfo>,
    /// Deployments, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<RevisionHistory>,
    /// Errors and warnings about the application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ApplicationCondition>,
    /// RFC 3339 time of the last reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<String>,
    /// State of the current or last operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_state: Option<OperationState>,
    /// RFC 3339 time of the last observation (deprecated by Argo CD, still written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<String>,
    /// Rendering type of the single source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<SourceType>,
    /// Rendering types, one per source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_types: Vec<SourceType>,
    /// External URLs and images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ApplicationSummary>,
    /// Where resource health is stored (`appTree` or inline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_health_source: Option<String>,
    /// Namespace of the controller that reconciled the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_namespace: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Sync and health of one managed resource.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
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
    /// Sync status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SyncStatusCode>,
    /// Health.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthInfo>,
    /// True for hooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<bool>,
    /// True when the resource is no longer desired and would be pruned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_pruning: Option<bool>,
    /// Sync wave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_wave: Option<i64>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResourceStatus {
    /// The resource's identity.
    pub fn key(&self) -> crate::ResourceKey {
        crate::ResourceKey::new(&self.group, &self.kind, &self.namespace, &self.name)
    }
}

/// `status.sync`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSyncStatus {
    /// Synced, OutOfSync or Unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SyncStatusCode>,
    /// The spec the comparison was made against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_to: Option<ComparedTo>,
    /// Resolved revision (single source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Resolved revisions, one per source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.sync.comparedTo`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparedTo {
    /// Source compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Destination compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<ApplicationDestination>,
    /// Ignore rules in force.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A health status with its message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthInfo {
    /// Health status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<HealthStatus>,
    /// Why, when not healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Fields ferrocd does not model (e.g. `lastTransitionTime`), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One deployment in `status.history`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionHistory {
    /// Increasing identifier.
    #[serde(default)]
    pub id: i64,
    /// Revision deployed (single source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Revisions deployed, one per source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<String>,
    /// RFC 3339 time the deployment finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<String>,
    /// RFC 3339 time the deployment started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_started_at: Option<String>,
    /// Source deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Sources deployed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Who started the deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_by: Option<OperationInitiator>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A condition (`status.conditions[]`), e.g. `ComparisonError`, `SyncError`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationCondition {
    /// Condition type.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// RFC 3339 time the condition was last set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.summary`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSummary {
    /// URLs of Ingresses and links.
    #[serde(
        rename = "externalURLs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub external_urls: Vec<String>,
    /// Container images in use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
