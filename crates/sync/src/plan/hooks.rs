//! Hooks: which objects are hooks, in which sync phases they run, when they are deleted,
//! and their wave. Argo CD's `argocd.argoproj.io/hook` annotation wins over Helm's
//! `helm.sh/hook`, which is mapped to phases as Argo CD documents it.

use std::collections::BTreeSet;

use ferrocd_model::annotations::{
    HELM_HOOK, HELM_HOOK_DELETE_POLICY, HELM_HOOK_WEIGHT, HOOK, HOOK_DELETE_POLICY, SYNC_WAVE,
    parse_sync_wave,
};
use ferrocd_model::{HookType, SyncPhase};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::annotation;

/// When a hook object is deleted (`argocd.argoproj.io/hook-delete-policy`, or Helm's
/// `helm.sh/hook-delete-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HookDeletePolicy {
    /// Delete after the hook succeeded (`HookSucceeded`, `hook-succeeded`).
    HookSucceeded,
    /// Delete after the hook failed (`HookFailed`, `hook-failed`).
    HookFailed,
    /// Delete the previous instance before creating the hook again (`BeforeHookCreation`,
    /// `before-hook-creation`); the default when no policy is given.
    BeforeHookCreation,
}

impl HookDeletePolicy {
    /// Parses an Argo CD policy name (`HookSucceeded`) or a Helm one (`hook-succeeded`).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.trim() {
            "HookSucceeded" | "hook-succeeded" => HookDeletePolicy::HookSucceeded,
            "HookFailed" | "hook-failed" => HookDeletePolicy::HookFailed,
            "BeforeHookCreation" | "before-hook-creation" => HookDeletePolicy::BeforeHookCreation,
            _ => return None,
        })
    }
}

/// What the hook annotations of an object say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HookKind {
    /// A regular resource (no hook annotation, or only Helm's ignored `crd-install`).
    Resource,
    /// Not applied on sync, for the given reason.
    Skip(String),
    /// A hook running in these sync phases (sorted, without duplicates).
    Hook {
        /// The phases, one task each.
        phases: Vec<SyncPhase>,
        /// The Argo CD hook type matching each phase.
        types: Vec<HookType>,
    },
}

/// Reads the hook annotations of `obj`. Unknown values are reported in `warnings`.
pub(crate) fn classify(obj: &Value, warnings: &mut Vec<String>, who: &str) -> HookKind {
    if let Some(value) = annotation(obj, HOOK) {
        return classify_argo(value, warnings, who);
    }
    if let Some(value) = annotation(obj, HELM_HOOK) {
        return classify_helm(value, warnings, who);
    }
    HookKind::Resource
}

fn classify_argo(value: &str, warnings: &mut Vec<String>, who: &str) -> HookKind {
    let mut types = BTreeSet::new();
    let mut deletion_only = false;
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match HookType::parse(item) {
            Some(HookType::Skip) => return HookKind::Skip("skipped by hook annotation".into()),
            Some(HookType::PreDelete | HookType::PostDelete) => deletion_only = true,
            Some(t) => {
                if let Some(phase) = phase_of(t) {
                    types.insert(phase);
                }
            }
            None => warnings.push(format!("{who}: unknown hook type {item:?} in {HOOK}")),
        }
    }
    if types.is_empty() {
        let reason = if deletion_only {
            "deletion hook: runs only when the application is deleted"
        } else {
            "no known hook type in hook annotation"
        };
        return HookKind::Skip(reason.into());
    }
    hook_of(types)
}

fn classify_helm(value: &str, warnings: &mut Vec<String>, who: &str) -> HookKind {
    let mut types = BTreeSet::new();
    let mut crd_install = false;
    let mut unsupported = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item {
            "pre-install" | "pre-upgrade" => {
                types.insert(SyncPhase::PreSync);
            }
            "post-install" | "post-upgrade" => {
                types.insert(SyncPhase::PostSync);
            }
            "crd-install" => crd_install = true,
            "test" | "test-success" | "test-failure" | "pre-delete" | "post-delete"
            | "pre-rollback" | "post-rollback" => unsupported.push(item),
            other => {
                warnings.push(format!("{who}: unknown helm hook {other:?} in {HELM_HOOK}"));
                unsupported.push(other);
            }
        }
    }
    if !types.is_empty() {
        return hook_of(types);
    }
    if crd_install || unsupported.is_empty() {
        return HookKind::Resource;
    }
    HookKind::Skip(format!(
        "helm hook {} does not run on sync",
        unsupported.join(",")
    ))
}

/// The sync phase a hook type runs in; `None` for types that do not run on sync.
fn phase_of(t: HookType) -> Option<SyncPhase> {
    Some(match t {
        HookType::PreSync => SyncPhase::PreSync,
        HookType::Sync => SyncPhase::Sync,
        HookType::PostSync => SyncPhase::PostSync,
        HookType::SyncFail => SyncPhase::SyncFail,
        HookType::Skip | HookType::PreDelete | HookType::PostDelete => return None,
    })
}

fn hook_of(phases: BTreeSet<SyncPhase>) -> HookKind {
    let types = phases
        .iter()
        .map(|p| match p {
            SyncPhase::PreSync => HookType::PreSync,
            SyncPhase::Sync => HookType::Sync,
            SyncPhase::PostSync => HookType::PostSync,
            SyncPhase::SyncFail => HookType::SyncFail,
            SyncPhase::PreDelete => HookType::PreDelete,
            SyncPhase::PostDelete => HookType::PostDelete,
        })
        .collect();
    HookKind::Hook {
        phases: phases.into_iter().collect(),
        types,
    }
}

/// The delete policies of a hook: Argo CD's and Helm's annotations together, or
/// `BeforeHookCreation` when neither names a known policy.
pub(crate) fn delete_policies(
    obj: &Value,
    warnings: &mut Vec<String>,
    who: &str,
) -> Vec<HookDeletePolicy> {
    let mut policies = BTreeSet::new();
    for name in [HOOK_DELETE_POLICY, HELM_HOOK_DELETE_POLICY] {
        let Some(value) = annotation(obj, name) else {
            continue;
        };
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match HookDeletePolicy::parse(item) {
                Some(p) => {
                    policies.insert(p);
                }
                None => warnings.push(format!(
                    "{who}: unknown hook delete policy {item:?} in {name}"
                )),
            }
        }
    }
    if policies.is_empty() {
        policies.insert(HookDeletePolicy::BeforeHookCreation);
    }
    policies.into_iter().collect()
}

/// The wave of an object: `argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight`,
/// else 0.
pub(crate) fn wave(obj: &Value) -> i32 {
    match annotation(obj, SYNC_WAVE) {
        Some(v) => parse_sync_wave(Some(v)),
        None => parse_sync_wave(annotation(obj, HELM_HOOK_WEIGHT)),
    }
}

/// True when the object carries a hook annotation of Argo CD or Helm (such objects are
/// never pruned: their life is governed by delete policies).
pub(crate) fn has_hook_annotation(obj: &Value) -> bool {
    annotation(obj, HOOK).is_some() || annotation(obj, HELM_HOOK).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(annotations: Value) -> Value {
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "j", "annotations": annotations}})
    }

    fn kind(annotations: Value) -> HookKind {
        classify(&obj(annotations), &mut Vec::new(), "job")
    }

    #[test]
    fn argo_hook_lists_give_one_phase_each_in_order() {
        assert_eq!(
            kind(json!({HOOK: "PostSync, PreSync"})),
            HookKind::Hook {
                phases: vec![SyncPhase::PreSync, SyncPhase::PostSync],
                types: vec![HookType::PreSync, HookType::PostSync]
            }
        );
        assert_eq!(
            kind(json!({HOOK: "Skip"})),
            HookKind::Skip("skipped by hook annotation".into())
        );
        assert!(matches!(
            kind(json!({HOOK: "PreDelete"})),
            HookKind::Skip(_)
        ));
    }

    #[test]
    fn argo_annotation_wins_over_helm() {
        assert_eq!(
            kind(json!({HOOK: "Sync", HELM_HOOK: "pre-install"})),
            HookKind::Hook {
                phases: vec![SyncPhase::Sync],
                types: vec![HookType::Sync]
            }
        );
    }

    #[test]
    fn helm_hooks_map_to_phases() {
        assert_eq!(
            kind(json!({HELM_HOOK: "pre-install,pre-upgrade,post-upgrade"})),
            HookKind::Hook {
                phases: vec![SyncPhase::PreSync, SyncPhase::PostSync],
                types: vec![HookType::PreSync, HookType::PostSync]
            }
        );
        assert_eq!(kind(json!({HELM_HOOK: "crd-install"})), HookKind::Resource);
        assert!(
            matches!(kind(json!({HELM_HOOK: "test"})), HookKind::Skip(r) if r.contains("test"))
        );
    }

    #[test]
    fn unknown_values_warn() {
        let mut warnings = Vec::new();
        let k = classify(&obj(json!({HOOK: "Sometimes"})), &mut warnings, "job");
        assert!(matches!(k, HookKind::Skip(_)));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("Sometimes"));
    }

    #[test]
    fn delete_policies_default_and_merge() {
        let mut w = Vec::new();
        assert_eq!(
            delete_policies(&obj(json!({})), &mut w, "j"),
            [HookDeletePolicy::BeforeHookCreation]
        );
        assert_eq!(
            delete_policies(
                &obj(
                    json!({HOOK_DELETE_POLICY: "HookSucceeded", HELM_HOOK_DELETE_POLICY: "hook-failed,bogus"})
                ),
                &mut w,
                "j"
            ),
            [
                HookDeletePolicy::HookSucceeded,
                HookDeletePolicy::HookFailed
            ]
        );
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn wave_prefers_sync_wave_then_hook_weight() {
        assert_eq!(
            wave(&obj(json!({SYNC_WAVE: "3", HELM_HOOK_WEIGHT: "-5"}))),
            3
        );
        assert_eq!(wave(&obj(json!({HELM_HOOK_WEIGHT: "-5"}))), -5);
        assert_eq!(wave(&obj(json!({}))), 0);
    }
}
