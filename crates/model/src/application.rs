//! Argo CD's `Application` (`argoproj.io/v1alpha1`): what to deploy (`spec`), a requested
//! operation (`operation`) and the observed state (`status`).
//!
//! Every struct keeps the fields it does not model in `extra`, and leaves out on output
//! what was absent on input, so that an Application read from Git or a cluster is written
//! back unchanged.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application_source::{ApplicationSource, EnvEntry};
use crate::application_status::ApplicationStatus;
use crate::meta::{Extra, ObjectMeta, is_default};
use crate::operation::Operation;

/// API version of Application and AppProject.
pub const API_VERSION: &str = "argoproj.io/v1alpha1";
/// Kind of an Application.
pub const APPLICATION_KIND: &str = "Application";

/// An Argo CD Application.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// `argoproj.io/v1alpha1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `Application`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata.
    #[serde(default, skip_serializing_if = "is_default")]
    pub metadata: ObjectMeta,
    /// What to deploy and where.
    #[serde(default, skip_serializing_if = "is_default")]
    pub spec: ApplicationSpec,
    /// A requested operation (sync), consumed by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// Observed state, written by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ApplicationStatus>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Application {
    /// A new Application with the right `apiVersion` and `kind`.
    pub fn new(metadata: ObjectMeta, spec: ApplicationSpec) -> Self {
        Self {
            api_version: API_VERSION.to_string(),
            kind: APPLICATION_KIND.to_string(),
            metadata,
            spec,
            ..Self::default()
        }
    }

    /// True when the application uses `spec.sources` (even with a single entry).
    pub fn has_multiple_sources(&self) -> bool {
        !self.spec.sources.is_empty()
    }

    /// The application's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }
}

/// `spec` of an Application.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// Project the application belongs to (`default` if in doubt).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project: String,
    /// The single source; exclusive with `sources`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Several sources, rendered and deployed together; exclusive with `source`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<ApplicationSource>,
    /// Target cluster and namespace.
    #[serde(default, skip_serializing_if = "is_default")]
    pub destination: ApplicationDestination,
    /// When and how to sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Differences to ignore when comparing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<ResourceIgnoreDifferences>,
    /// Free-form information shown with the application.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<EnvEntry>,
    /// How many history entries to keep (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i64>,
    /// Fields ferrocd does not model (e.g. `sourceHydrator`), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ApplicationSpec {
    /// The sources as a list: `sources` when set, else `source` alone, else empty.
    pub fn sources_list(&self) -> Vec<&ApplicationSource> {
        if !self.sources.is_empty() {
            self.sources.iter().collect()
        } else {
            self.source.iter().collect()
        }
    }

    /// The source named by `ref` (for `$ref/values.yaml` value files).
    pub fn source_by_ref(&self, name: &str) -> Option<&ApplicationSource> {
        self.sources
            .iter()
            .find(|s| s.ref_name.as_deref() == Some(name))
    }

    /// The automated sync policy, when automated sync is on. `enabled: false` turns it off.
    pub fn automated(&self) -> Option<&SyncPolicyAutomated> {
        self.sync_policy
            .as_ref()
            .and_then(|p| p.automated.as_ref())
            .filter(|a| a.enabled != Some(false))
    }

    /// Sync options as `(key, value)` pairs (`CreateNamespace=true` → `("CreateNamespace", "true")`).
    pub fn sync_options(&self) -> Vec<(String, String)> {
        self.sync_policy
            .iter()
            .flat_map(|p| p.sync_options.iter())
            .flat_map(|o| crate::annotations::parse_options(o))
            .collect()
    }

    /// True when sync option `key` is set to `true` (case-insensitive value).
    pub fn sync_option_enabled(&self, key: &str) -> bool {
        self.sync_options()
            .iter()
            .any(|(k, v)| k == key && v.eq_ignore_ascii_case("true"))
    }
}

/// Where an application is deployed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestination {
    /// API server URL; exclusive with `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Target namespace for namespaced resources without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Cluster name (from a cluster Secret); exclusive with `server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.syncPolicy`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Automated sync; absent means manual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<SyncPolicyAutomated>,
    /// Sync options, `Key=Value` strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
    /// Retry policy for failed syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryStrategy>,
    /// Labels and annotations for a namespace created with `CreateNamespace=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.syncPolicy.automated`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicyAutomated {
    /// Delete resources no longer in Git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Revert changes made in the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_heal: Option<bool>,
    /// Allow syncing to an empty set of resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_empty: Option<bool>,
    /// Explicit switch; `false` disables automation while keeping its settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `syncPolicy.retry` and `operation.retry`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryStrategy {
    /// Maximum number of attempts; negative means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    /// Backoff between attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<Backoff>,
    /// Refresh the application when a new revision appears during retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Exponential backoff settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    /// First delay: a Go duration (`5s`, `2m`) or a number of seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Multiplier applied after each attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// Upper bound of the delay, same format as `duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `syncPolicy.managedNamespaceMetadata`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedNamespaceMetadata {
    /// Labels for the namespace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations for the namespace.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `spec.ignoreDifferences` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIgnoreDifferences {
    /// API group (empty for core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object name; all objects of the kind when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Object namespace; all namespaces when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// JSON pointers (RFC 6901) to ignore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    /// jq path expressions selecting fields to ignore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jq_path_expressions: Vec<String>,
    /// Field managers whose fields are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
