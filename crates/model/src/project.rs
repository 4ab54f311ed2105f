//! Argo CD's `AppProject` (`argoproj.io/v1alpha1`): which repositories, clusters,
//! namespaces and kinds the applications of a project may use, its roles, and its sync
//! windows.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::application::API_VERSION;
use crate::meta::{Extra, ObjectMeta, is_default};

/// Kind of an AppProject.
pub const APP_PROJECT_KIND: &str = "AppProject";

/// An Argo CD AppProject.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProject {
    /// API version, always `argoproj.io/v1alpha1`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// Kind, always `AppProject`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Object metadata.
    #[serde(default, skip_serializing_if = "is_default")]
    pub metadata: ObjectMeta,
    /// Restrictions and roles.
    #[serde(default, skip_serializing_if = "is_default")]
    pub spec: AppProjectSpec,
    /// Observed state (issued tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AppProjectStatus>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AppProject {
    /// A new AppProject with the right `apiVersion` and `kind`.
    pub fn new(metadata: ObjectMeta, spec: AppProjectSpec) -> Self {
        Self {
            api_version: API_VERSION.to_string(),
            kind: APP_PROJECT_KIND.to_string(),
            metadata,
            spec,
            ..Self::default()
        }
    }

    /// The project's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The `default` project Argo CD creates when none exists: any repository, any
    /// destination, any kind.
    pub fn default_project(namespace: &str) -> Self {
        let any = || Some("*".to_string());
        Self::new(
            ObjectMeta::named("default", namespace),
            AppProjectSpec {
                source_repos: vec!["*".to_string()],
                destinations: vec![ProjectDestination {
                    server: any(),
                    namespace: any(),
                    ..ProjectDestination::default()
                }],
                cluster_resource_whitelist: vec![GroupKind::new("*", "*")],
                ..AppProjectSpec::default()
            },
        )
    }
}

/// `spec` of an AppProject.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    /// Repository URLs (globs) applications may use; `*` for any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_repos: Vec<String>,
    /// Clusters and namespaces applications may deploy to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<ProjectDestination>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Roles with policies and tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<ProjectRole>,
    /// Cluster-scoped kinds allowed (none when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_whitelist: Vec<GroupKind>,
    /// Cluster-scoped kinds denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_resource_blacklist: Vec<GroupKind>,
    /// Namespaced kinds allowed (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_resource_whitelist: Vec<GroupKind>,
    /// Namespaced kinds denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_resource_blacklist: Vec<GroupKind>,
    /// Reporting of resources in destination namespaces that no application owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orphaned_resources: Option<OrphanedResourcesMonitorSettings>,
    /// Time windows in which syncs are allowed or denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_windows: Vec<SyncWindow>,
    /// GnuPG key IDs commits must be signed with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signature_keys: Vec<SignatureKey>,
    /// Namespaces (globs) in which Applications of this project may live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_namespaces: Vec<String>,
    /// Only clusters whose Secret names this project may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit_only_project_scoped_clusters: Option<bool>,
    /// Fields ferrocd does not model (e.g. `destinationServiceAccounts`), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An allowed destination: server or cluster name, and namespace (globs, `!` negates).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectDestination {
    /// API server URL glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Namespace glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Cluster name glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A group and kind (globs allowed), for resource allow and deny lists.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupKind {
    /// API group; `""` or unset for core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl GroupKind {
    /// A group and kind.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            group: Some(group.into()),
            kind: kind.into(),
            extra: Extra::new(),
        }
    }

    /// The group, `""` when unset.
    pub fn group(&self) -> &str {
        self.group.as_deref().unwrap_or("")
    }
}

/// A project role.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRole {
    /// Role name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Casbin-style policy lines: `p, proj:<project>:<role>, <resource>, <action>, <object>, <allow|deny>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// SSO groups bound to the role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Tokens issued for the role.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jwt_tokens: Vec<JwtToken>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A token issued for a project role.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtToken {
    /// Issued at (Unix seconds).
    #[serde(default)]
    pub iat: i64,
    /// Expires at (Unix seconds); none when unset or 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Token ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.orphanedResources`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanedResourcesMonitorSettings {
    /// Set a warning condition when orphans exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn: Option<bool>,
    /// Resources never reported as orphans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<OrphanedResourceKey>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A resource pattern excluded from orphan reporting.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrphanedResourceKey {
    /// API group glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A sync window.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncWindow {
    /// `allow` or `deny`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Cron schedule of the window's start (5 fields).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub schedule: String,
    /// Length of the window, a Go duration (`1h`, `30m`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub duration: String,
    /// Application name globs the window applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<String>,
    /// Namespace globs the window applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Cluster globs the window applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    /// Allow manual syncs while the window denies syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_sync: Option<bool>,
    /// IANA time zone of the schedule (UTC when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Match applications, namespaces and clusters all together instead of any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub and_operator: Option<bool>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A GnuPG key ID.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureKey {
    /// Key ID.
    #[serde(rename = "keyID", default, skip_serializing_if = "String::is_empty")]
    pub key_id: String,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status` of an AppProject.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectStatus {
    /// Issued tokens by role name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub jwt_tokens_by_role: BTreeMap<String, JwtTokens>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A list of tokens.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtTokens {
    /// Tokens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<JwtToken>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_project_is_valid_and_open() {
        let p = AppProject::default_project("argocd");
        assert!(p.validate().is_empty(), "{}", p.validate());
        assert_eq!(p.name(), "default");
        assert_eq!(p.spec.source_repos, ["*"]);
        assert_eq!(p.spec.cluster_resource_whitelist[0].group(), "*");
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(json["spec"]["destinations"][0]["server"], "*");
        assert_eq!(json["metadata"]["namespace"], "argocd");
    }
}
