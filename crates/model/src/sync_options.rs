//! Sync options, from `spec.syncPolicy.syncOptions`, `operation.sync.syncOptions` and the
//! per-resource `argocd.argoproj.io/sync-options` annotation, with Argo CD's names.
//!
//! Options are read in layers: application options first, then resource annotations,
//! later layers overriding earlier ones key by key.

use std::fmt;

use crate::annotations::parse_options;

/// `CreateNamespace=true`: create the destination namespace if missing.
pub const CREATE_NAMESPACE: &str = "CreateNamespace";
/// `PruneLast=true`: prune after every other resource is synced and healthy.
pub const PRUNE_LAST: &str = "PruneLast";
/// `ApplyOutOfSyncOnly=true`: apply only resources that are out of sync.
pub const APPLY_OUT_OF_SYNC_ONLY: &str = "ApplyOutOfSyncOnly";
/// `ServerSideApply=true|false`.
pub const SERVER_SIDE_APPLY: &str = "ServerSideApply";
/// `Replace=true`: replace (PUT/create) instead of apply.
pub const REPLACE: &str = "Replace";
/// `Force=true`: delete and recreate when a replace or apply cannot patch.
pub const FORCE: &str = "Force";
/// `RespectIgnoreDifferences=true`: keep ignored fields' live values when applying.
pub const RESPECT_IGNORE_DIFFERENCES: &str = "RespectIgnoreDifferences";
/// `Validate=false`: skip schema validation.
pub const VALIDATE: &str = "Validate";
/// `PrunePropagationPolicy=foreground|background|orphan`.
pub const PRUNE_PROPAGATION_POLICY: &str = "PrunePropagationPolicy";
/// `FailOnSharedResource=true`: fail when a resource belongs to another application.
pub const FAIL_ON_SHARED_RESOURCE: &str = "FailOnSharedResource";
/// `SkipDryRunOnMissingResource=true`: skip dry run when the kind is not known yet.
pub const SKIP_DRY_RUN_ON_MISSING_RESOURCE: &str = "SkipDryRunOnMissingResource";
/// `Prune=false|confirm` on a resource.
pub const PRUNE: &str = "Prune";
/// `Delete=false|confirm` on a resource.
pub const DELETE: &str = "Delete";

/// Whether a resource may be pruned or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Removal {
    /// Yes (default).
    #[default]
    Allowed,
    /// Never (`=false`).
    Disabled,
    /// Only after a user confirms (`=confirm`).
    RequiresConfirmation,
}

/// Deletion propagation for pruned resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PropagationPolicy {
    /// Delete dependents first (default).
    #[default]
    Foreground,
    /// Delete dependents in the background.
    Background,
    /// Leave dependents.
    Orphan,
}

impl fmt::Display for PropagationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PropagationPolicy::Foreground => "Foreground",
            PropagationPolicy::Background => "Background",
            PropagationPolicy::Orphan => "Orphan",
        })
    }
}

/// The sync options in force, typed, with Argo CD's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    /// `CreateNamespace`.
    pub create_namespace: bool,
    /// `PruneLast`.
    pub prune_last: bool,
    /// `ApplyOutOfSyncOnly`.
    pub apply_out_of_sync_only: bool,
    /// `ServerSideApply`; `None` when not set (ferrocd applies server-side by default).
    pub server_side_apply: Option<bool>,
    /// `Replace`.
    pub replace: bool,
    /// `Force`.
    pub force: bool,
    /// `RespectIgnoreDifferences`.
    pub respect_ignore_differences: bool,
    /// `Validate` (default true).
    pub validate: bool,
    /// `PrunePropagationPolicy`.
    pub prune_propagation_policy: PropagationPolicy,
    /// `FailOnSharedResource`.
    pub fail_on_shared_resource: bool,
    /// `SkipDryRunOnMissingResource`.
    pub skip_dry_run_on_missing_resource: bool,
    /// `Prune` on a resource.
    pub prune: Removal,
    /// `Delete` on a resource.
    pub delete: Removal,
    /// Options ferrocd does not know, as written, for reporting.
    pub unknown: Vec<String>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            create_namespace: false,
            prune_last: false,
            apply_out_of_sync_only: false,
            server_side_apply: None,
            replace: false,
            force: false,
            respect_ignore_differences: false,
            validate: true,
            prune_propagation_policy: PropagationPolicy::Foreground,
            fail_on_shared_resource: false,
            skip_dry_run_on_missing_resource: false,
            prune: Removal::Allowed,
            delete: Removal::Allowed,
            unknown: Vec::new(),
        }
    }
}

impl SyncOptions {
    /// Options from a list of `Key=Value` strings (`spec.syncPolicy.syncOptions`).
    pub fn from_list<S: AsRef<str>>(options: &[S]) -> Self {
        let mut parsed = Self::default();
        for option in options {
            parsed.apply(option.as_ref());
        }
        parsed
    }

    /// These options overridden by a resource's `argocd.argoproj.io/sync-options`
    /// annotation value (comma separated).
    pub fn with_annotation(&self, annotation: Option<&str>) -> Self {
        let mut merged = self.clone();
        if let Some(value) = annotation {
            merged.apply(value);
        }
        merged
    }

    /// Applies one option string, which may hold several comma-separated options.
    fn apply(&mut self, text: &str) {
        for (key, value) in parse_options(text) {
            let on = value.eq_ignore_ascii_case("true");
            match key.as_str() {
                CREATE_NAMESPACE => self.create_namespace = on,
                PRUNE_LAST => self.prune_last = on,
                APPLY_OUT_OF_SYNC_ONLY => self.apply_out_of_sync_only = on,
                SERVER_SIDE_APPLY => self.server_side_apply = Some(on),
                REPLACE => self.replace = on,
                FORCE => self.force = on,
                RESPECT_IGNORE_DIFFERENCES => self.respect_ignore_differences = on,
                VALIDATE => self.validate = !value.eq_ignore_ascii_case("false"),
                FAIL_ON_SHARED_RESOURCE => self.fail_on_shared_resource = on,
                SKIP_DRY_RUN_ON_MISSING_RESOURCE => self.skip_dry_run_on_missing_resource = on,
                PRUNE_PROPAGATION_POLICY => match value.to_ascii_lowercase().as_str() {
                    "foreground" => self.prune_propagation_policy = PropagationPolicy::Foreground,
                    "background" => self.prune_propagation_policy = PropagationPolicy::Background,
                    "orphan" => self.prune_propagation_policy = PropagationPolicy::Orphan,
                    _ => self.unknown.push(format!("{key}={value}")),
                },
                PRUNE | DELETE => {
                    let removal = match value.to_ascii_lowercase().as_str() {
                        "false" => Removal::Disabled,
                        "confirm" => Removal::RequiresConfirmation,
                        _ => Removal::Allowed,
                    };
                    if key == PRUNE {
                        self.prune = removal;
                    } else {
                        self.delete = removal;
                    }
                }
                _ => self.unknown.push(if value.is_empty() {
                    key
                } else {
                    format!("{key}={value}")
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_argo() {
        let o = SyncOptions::default();
        assert!(o.validate);
        assert!(!o.create_namespace);
        assert_eq!(o.prune_propagation_policy, PropagationPolicy::Foreground);
        assert_eq!(o.prune, Removal::Allowed);
        assert_eq!(o.server_side_apply, None);
    }

    #[test]
    fn application_options() {
        let o = SyncOptions::from_list(&[
            "CreateNamespace=true",
            "PruneLast=true",
            "PrunePropagationPolicy=background",
            "Validate=false",
            "ServerSideApply=false",
            "RespectIgnoreDifferences=true",
            "Replace=TRUE",
        ]);
        assert!(o.create_namespace && o.prune_last && o.respect_ignore_differences && o.replace);
        assert!(!o.validate);
        assert_eq!(o.server_side_apply, Some(false));
        assert_eq!(o.prune_propagation_policy, PropagationPolicy::Background);
        assert!(o.unknown.is_empty());
    }

    #[test]
    fn resource_annotation_overrides() {
        let app = SyncOptions::from_list(&["ServerSideApply=true", "Validate=true"]);
        let res = app.with_annotation(Some("Prune=false, Delete=confirm,ServerSideApply=false"));
        assert_eq!(res.prune, Removal::Disabled);
        assert_eq!(res.delete, Removal::RequiresConfirmation);
        assert_eq!(res.server_side_apply, Some(false));
        assert!(res.validate);
        assert_eq!(app.server_side_apply, Some(true));
        assert_eq!(app.with_annotation(None), app);
    }

    #[test]
    fn unknown_options_are_reported() {
        let o = SyncOptions::from_list(&["Turbo=true", "PrunePropagationPolicy=sideways", "Bare"]);
        assert_eq!(
            o.unknown,
            ["Turbo=true", "PrunePropagationPolicy=sideways", "Bare"]
        );
    }
}
