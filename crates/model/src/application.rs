//! Argo CD's `Application` (`argoproj.io/v1alpha1`): what to deploy (`spec`), a requested
//! operation (`operation`) and the observed state (`status`).
//!
//! Every struct keeps the fields it does not model in `extra`, and leaves out on output
//! what was absent on input, so that an Application read from Git or a cluster is written
//! back unchanged.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application_source::{ApplicationSource, EnvEntry};
use crate::application_status::ApplicationStatus;
use crate::duration::{DurationError, parse_backoff_duration};
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
    /// API version, always `argoproj.io/v1alpha1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Kind, always `Application`.
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

    /// The name used in tracking ids and labels: the bare name for applications in the
    /// control-plane namespace (or without a namespace), `<namespace>_<name>` for
    /// applications living in other namespaces, as Argo CD does.
    pub fn instance_name(&self, control_plane_namespace: &str) -> String {
        match self.metadata.namespace.as_deref() {
            Some(ns) if !ns.is_empty() && ns != control_plane_namespace => {
                format!("{ns}_{}", self.metadata.name)
            }
            _ => self.metadata.name.clone(),
        }
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

    /// The application's sync options, typed.
    pub fn typed_sync_options(&self) -> crate::SyncOptions {
        match &self.sync_policy {
            Some(p) => crate::SyncOptions::from_list(&p.sync_options),
            None => crate::SyncOptions::default(),
        }
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

impl RetryStrategy {
    /// Default first delay (Argo CD's).
    pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);
    /// Default multiplier.
    pub const DEFAULT_FACTOR: i64 = 2;
    /// Default upper bound of the delay.
    pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(180);

    /// True when another attempt may follow `failed_attempts` failed ones: a negative
    /// limit means unlimited, an unset limit means no retry.
    pub fn allows_retry(&self, failed_attempts: u32) -> bool {
        match self.limit {
            Some(limit) if limit < 0 => true,
            Some(limit) => i64::from(failed_attempts) < limit,
            None => false,
        }
    }

    /// Delay before retry number `retry` (0 for the first retry):
    /// `duration * factor^retry`, capped at `maxDuration`.
    pub fn delay(&self, retry: u32) -> Result<Duration, DurationError> {
        let backoff = self.backoff.as_ref();
        let base = match backoff.and_then(|b| b.duration.as_deref()) {
            Some(text) => parse_backoff_duration(text)?,
            None => Self::DEFAULT_DURATION,
        };
        let max = match backoff.and_then(|b| b.max_duration.as_deref()) {
            Some(text) => parse_backoff_duration(text)?,
            None => Self::DEFAULT_MAX_DURATION,
        };
        let factor = backoff
            .and_then(|b| b.factor)
            .unwrap_or(Self::DEFAULT_FACTOR)
            .max(1);
        let factor = u32::try_from(factor).unwrap_or(u32::MAX);
        let mut delay = base;
        for _ in 0..retry {
            delay = delay.saturating_mul(factor);
            if delay >= max {
                break;
            }
        }
        Ok(delay.min(max))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(
        limit: Option<i64>,
        duration: Option<&str>,
        factor: Option<i64>,
        max: Option<&str>,
    ) -> RetryStrategy {
        RetryStrategy {
            limit,
            backoff: Some(Backoff {
                duration: duration.map(String::from),
                factor,
                max_duration: max.map(String::from),
                ..Backoff::default()
            }),
            ..RetryStrategy::default()
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let r = retry(Some(5), Some("5s"), Some(2), Some("3m"));
        let delays: Vec<u64> = (0..7)
            .map(|i| r.delay(i).expect("valid").as_secs())
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 180]);
        assert_eq!(r.delay(1000).expect("valid"), Duration::from_secs(180));
    }

    #[test]
    fn backoff_defaults_and_bare_seconds() {
        let r = RetryStrategy::default();
        assert_eq!(r.delay(0), Ok(Duration::from_secs(5)));
        assert_eq!(r.delay(1), Ok(Duration::from_secs(10)));
        let r = retry(None, Some("30"), Some(3), None);
        assert_eq!(r.delay(1), Ok(Duration::from_secs(90)));
        assert_eq!(r.delay(2), Ok(Duration::from_secs(180)));
        assert!(retry(None, Some("5x"), None, None).delay(0).is_err());
    }

    #[test]
    fn retry_limits() {
        assert!(retry(Some(-1), None, None, None).allows_retry(1_000));
        assert!(retry(Some(2), None, None, None).allows_retry(1));
        assert!(!retry(Some(2), None, None, None).allows_retry(2));
        assert!(!RetryStrategy::default().allows_retry(0));
    }

    #[test]
    fn instance_names() {
        let mut app = Application::new(
            ObjectMeta::named("mlflow", "argocd"),
            ApplicationSpec::default(),
        );
        assert_eq!(app.instance_name("argocd"), "mlflow");
        app.metadata.namespace = Some("team-ml".into());
        assert_eq!(app.instance_name("argocd"), "team-ml_mlflow");
        app.metadata.namespace = None;
        assert_eq!(app.instance_name("argocd"), "mlflow");
    }
}
