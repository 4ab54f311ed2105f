//! ferrocd-diff: normalization, ignoreDifferences and structured diff.
//!
//! [`diff`] compares the desired state of one object (rendered from Git) with its live
//! state and says whether it is in sync, missing, extraneous or out of sync, with the list
//! of changed fields, the normalized objects and a unified text diff. The comparison is
//! free of the usual noise (fields the server writes or defaults, status, allocated
//! cluster IPs, quantities spelled differently, int-or-string, empty vs absent, the order
//! of keyed lists, Secret `stringData`), yet sees real drift, including fields that ferrocd
//! applied before and that were removed from Git (read from the live object's
//! `metadata.managedFields` for the field manager in [`DiffOptions::field_manager`]).
//! Secret values are masked in every output. See `compare` for the comparison rules.
#![deny(missing_docs)]

mod compare;
mod ignore;
mod jq;
pub mod managed_fields;
mod mask;
mod normalize;
mod quantity;
mod text;

use std::time::Duration;

use ferrocd_model::{ResourceKey, SyncStatusCode, annotations};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use ignore::{IgnoreRule, respect_ignore_differences, validate as validate_ignore_rules};
pub use normalize::LAST_APPLIED;

/// Errors of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    /// Neither a desired nor a live object was given.
    #[error("nothing to compare: neither desired nor live object given")]
    NothingToCompare,
    /// A `managedFields` entry could not be read.
    #[error("reading managedFields of manager {manager:?}: {message}")]
    ManagedFields {
        /// The field manager of the entry.
        manager: String,
        /// What is wrong with it.
        message: String,
    },
    /// A jq path expression failed to compile or to run.
    #[error("evaluating jq path expression {expression:?}: {message}")]
    Jq {
        /// The expression.
        expression: String,
        /// The jq error.
        message: String,
    },
    /// A jq path expression ran past its time limit.
    #[error("evaluating jq path expression {expression:?}: time limit of {timeout:?} exceeded")]
    JqTimeout {
        /// The expression.
        expression: String,
        /// The limit.
        timeout: Duration,
    },
    /// An ignoreDifferences setting could not be read.
    #[error("reading ignoreDifferences setting {key}: {message}")]
    Settings {
        /// The setting (ConfigMap key or Application field).
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// How the comparison behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// ignoreDifferences rules (the Application's and the system-wide ones together);
    /// each applies only to the objects it selects.
    pub ignore: Vec<IgnoreRule>,
    /// The field manager ferrocd applies with; fields it owns in live and that desired no
    /// longer has are drift.
    pub field_manager: String,
    /// Time limit for one jq path expression on one object.
    pub jq_timeout: Duration,
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            ignore: Vec::new(),
            field_manager: "ferrocd".to_string(),
            jq_timeout: Duration::from_secs(1),
        }
    }
}

/// The sync state of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DiffStatus {
    /// Live matches desired.
    Synced,
    /// Live differs from desired.
    OutOfSync,
    /// Desired but absent from the cluster.
    Missing,
    /// In the cluster (tracked by the app) but no longer desired.
    Extraneous,
}

/// One difference between desired and live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Where: a JSON pointer from the object root, where keyed list elements are written
    /// with their keys (`/spec/template/spec/containers[name=server]/image`) and set
    /// elements with their value (`/metadata/finalizers[example.com/x]`); `/` for the
    /// whole object.
    pub path: String,
    /// The desired value (`None`: desired does not have the field).
    pub desired: Option<Value>,
    /// The live value (`None`: live does not have the field).
    pub live: Option<Value>,
}

/// The comparison of one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectDiff {
    /// Which object.
    pub key: ResourceKey,
    /// Its sync state.
    pub status: DiffStatus,
    /// The differences (empty when synced); Secret values masked.
    pub changes: Vec<FieldChange>,
    /// Desired after normalization and ignoreDifferences (Secret values masked).
    pub normalized_desired: Option<Value>,
    /// Live after normalization and ignoreDifferences, restricted to what desired
    /// specifies plus owned fields no longer desired (Secret values masked).
    pub normalized_live: Option<Value>,
    /// The object carries compare-option `IgnoreExtraneous`: being extraneous does not make
    /// the application OutOfSync.
    pub ignore_extraneous: bool,
}

impl ObjectDiff {
    /// The resource's own sync status (Missing and Extraneous are OutOfSync).
    pub fn sync_status(&self) -> SyncStatusCode {
        match self.status {
            DiffStatus::Synced => SyncStatusCode::Synced,
            _ => SyncStatusCode::OutOfSync,
        }
    }

    /// Whether this object makes its application OutOfSync.
    pub fn counts_against_app(&self) -> bool {
        match self.status {
            DiffStatus::Synced => false,
            DiffStatus::Extraneous => !self.ignore_extraneous,
            DiffStatus::OutOfSync | DiffStatus::Missing => true,
        }
    }

    /// The unified text diff (live → desired) with an argocd-style header; empty when
    /// the object is in sync.
    pub fn unified(&self) -> String {
        text::unified(self)
    }
}

/// The application's sync status from its objects' diffs.
pub fn app_sync_status(diffs: &[ObjectDiff]) -> SyncStatusCode {
    if diffs.iter().any(ObjectDiff::counts_against_app) {
        SyncStatusCode::OutOfSync
    } else {
        SyncStatusCode::Synced
    }
}

/// The unified diffs of every object that is not in sync, one after the other.
pub fn unified_diff(diffs: &[ObjectDiff]) -> String {
    diffs.iter().map(ObjectDiff::unified).collect()
}

/// Compares the desired and live states of one object. `live` may carry
/// `metadata.managedFields` (for drift of fields removed from Git and for
/// `managedFieldsManagers` rules); they are never compared themselves.
pub fn diff(
    desired: Option<&Value>,
    live: Option<&Value>,
    opts: &DiffOptions,
) -> Result<ObjectDiff, DiffError> {
    let managed = live.and_then(|l| l.pointer("/metadata/managedFields"));
    diff_with_managed_fields(desired, live, managed, opts)
}

/// [`diff`] for a live object kept without its `metadata.managedFields` (a cache that
/// trims objects): the caller passes them separately (`None`: no ownership information,
/// so no removed-from-Git drift and no `managedFieldsManagers` rules).
pub fn diff_with_managed_fields(
    desired: Option<&Value>,
    live: Option<&Value>,
    managed_fields: Option<&Value>,
    opts: &DiffOptions,
) -> Result<ObjectDiff, DiffError> {
    let key = match (desired, live) {
        (None, None) => return Err(DiffError::NothingToCompare),
        (Some(d), l) => {
            let mut key = ResourceKey::from_object(d);
            if key.namespace.is_empty()
                && let Some(l) = l
            {
                key.namespace = ResourceKey::from_object(l).namespace;
            }
            key
        }
        (None, Some(l)) => ResourceKey::from_object(l),
    };
    let managed = managed_fields.cloned();
    let ignore_extraneous = [desired, live]
        .into_iter()
        .flatten()
        .any(has_ignore_extraneous);

    let mut d = desired.cloned();
    let mut l = live.cloned();
    if let Some(d) = d.as_mut() {
        normalize::desired(d);
    }
    if let Some(l) = l.as_mut() {
        normalize::live(l);
    }
    if let (Some(d), Some(l)) = (d.as_mut(), l.as_mut()) {
        normalize::service_cluster_ips(d, l);
    }
    let rules: Vec<&IgnoreRule> = opts
        .ignore
        .iter()
        .filter(|r| r.matches(&key.group, &key.kind, &key.namespace, &key.name))
        .collect();
    ignore::apply(&rules, &mut d, &mut l, managed.as_ref(), opts.jq_timeout)?;

    let (status, mut changes, normalized_live) = match (&d, l) {
        (Some(d), None) => (
            DiffStatus::Missing,
            vec![FieldChange {
                path: "/".to_string(),
                desired: Some(d.clone()),
                live: None,
            }],
            None,
        ),
        (None, Some(l)) => (
            DiffStatus::Extraneous,
            vec![FieldChange {
                path: "/".to_string(),
                desired: None,
                live: Some(l.clone()),
            }],
            Some(l),
        ),
        (Some(d), Some(l)) => {
            let owned = match &managed {
                Some(m) => Some(managed_fields::FieldSet::of_manager(
                    m,
                    &opts.field_manager,
                )?),
                None => None,
            };
            let (changes, projected) = compare::compare(
                &key.group,
                &key.kind,
                d,
                &l,
                owned.as_ref().filter(|o| !o.is_empty()),
            );
            let status = if changes.is_empty() {
                DiffStatus::Synced
            } else {
                DiffStatus::OutOfSync
            };
            (status, changes, Some(projected))
        }
        (None, None) => return Err(DiffError::NothingToCompare),
    };

    let mut normalized_desired = d;
    let mut normalized_live = normalized_live;
    let secret = [normalized_desired.as_ref(), normalized_live.as_ref()]
        .into_iter()
        .flatten()
        .any(mask::is_secret);
    if secret {
        let mut masks = mask::Masks::new(normalized_desired.as_ref(), normalized_live.as_ref());
        for obj in [normalized_desired.as_mut(), normalized_live.as_mut()]
            .into_iter()
            .flatten()
        {
            masks.mask_object(obj);
        }
        for change in &mut changes {
            masks.mask_change(change);
        }
    }
    Ok(ObjectDiff {
        key,
        status,
        changes,
        normalized_desired,
        normalized_live,
        ignore_extraneous,
    })
}

fn has_ignore_extraneous(obj: &Value) -> bool {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(annotations::COMPARE_OPTIONS))
        .and_then(Value::as_str)
        .is_some_and(|v| {
            annotations::parse_options(v)
                .iter()
                .any(|(k, _)| k == "IgnoreExtraneous")
        })
}
