//! The sync planner: desired manifests + tracked live objects + diff verdicts →
//! an ordered [`SyncPlan`].
//!
//! Tasks are ordered as Argo CD orders them: by phase (PreSync → Sync → PostSync, then
//! SyncFail, which only runs when the sync fails), by wave (`argocd.argoproj.io/sync-wave`,
//! else `helm.sh/hook-weight`, else 0), then within a wave prunes first (in reverse kind
//! order), then deletions of hooks to be recreated, then applies in kind order
//! ([`ferrocd_schema::kind_order`]), then by name. Prune waves are mirrored (objects of
//! the highest wave are deleted first) and `PruneLast` prunes move to an extra wave after
//! the last wave of the Sync phase.
//!
//! The planner is pure: it never fails on odd annotations (they become warnings in
//! [`SyncPlan::warnings`]) and only refuses input that cannot be synced at all
//! ([`PlanError`]).

mod hooks;
mod order;
mod prune;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ferrocd_model::annotations::{SYNC_OPTIONS, TRACKING_ID};
use ferrocd_model::{
    Application, HookType, ManagedNamespaceMetadata, ResourceKey, SyncOperation,
    SyncOperationResource, SyncOptions, SyncPhase,
};
use serde_json::{Map, Value, json};

pub use hooks::HookDeletePolicy;
use hooks::HookKind;
pub use prune::is_tracked_by;

/// Group of CustomResourceDefinitions.
const CRD_GROUP: &str = "apiextensions.k8s.io";
/// Kind of CustomResourceDefinitions.
const CRD_KIND: &str = "CustomResourceDefinition";

/// Everything the planner needs, owned so that callers can build it step by step.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    /// The application's tracking name (`Application::instance_name`).
    pub app: String,
    /// Desired objects as rendered, each with its key. Hooks with `generateName` have an
    /// empty name in their key.
    pub desired: Vec<(ResourceKey, Value)>,
    /// Live objects tracked for the application.
    pub live: BTreeMap<ResourceKey, Value>,
    /// Keys the diff engine found out of sync (missing live objects count as out of sync
    /// whether listed or not).
    pub out_of_sync: BTreeSet<ResourceKey>,
    /// Options of this sync.
    pub options: PlanOptions,
}

/// Options of one sync operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanOptions {
    /// Application and operation sync options (resource annotations are layered on top).
    pub sync_options: SyncOptions,
    /// Delete tracked objects that are no longer desired.
    pub prune: bool,
    /// Validate only; the executor dry-runs every task.
    pub dry_run: bool,
    /// Allow a sync whose desired state is empty to prune everything.
    pub allow_empty: bool,
    /// The user confirmed pruning of `Prune=confirm` resources.
    pub prune_confirmed: bool,
    /// Selective sync: only these resources (and no hooks). Empty means all.
    pub resources: Vec<SyncOperationResource>,
    /// The destination namespace, created first with `CreateNamespace=true`.
    pub destination_namespace: Option<String>,
    /// Labels and annotations of the namespace created with `CreateNamespace=true`.
    pub managed_namespace_metadata: Option<ManagedNamespaceMetadata>,
    /// Apply strategy (`syncStrategy.apply`): resources only, hooks are not run.
    pub skip_hooks: bool,
    /// Force (`syncStrategy.*.force`): delete and recreate what cannot be patched.
    pub force: bool,
}

impl PlanOptions {
    /// Options for syncing `app`, optionally with an explicit sync request (`operation.sync`):
    /// application sync options overridden by the operation's, prune and allowEmpty from the
    /// request or the automated policy, the selected resources, the destination namespace
    /// and its managed metadata, the sync strategy.
    pub fn for_application(app: &Application, request: Option<&SyncOperation>) -> Self {
        let policy = app.spec.sync_policy.as_ref();
        let automated = app.spec.automated();
        let mut list: Vec<String> = policy.map(|p| p.sync_options.clone()).unwrap_or_default();
        if let Some(req) = request {
            list.extend(req.sync_options.iter().cloned());
        }
        let strategy = request.and_then(|r| r.sync_strategy.as_ref());
        let force = strategy
            .and_then(|s| s.apply.as_ref().or(s.hook.as_ref()))
            .and_then(|a| a.force)
            .unwrap_or(false);
        Self {
            sync_options: SyncOptions::from_list(&list),
            prune: match request {
                Some(r) => r.prune.unwrap_or(false),
                None => automated.and_then(|a| a.prune).unwrap_or(false),
            },
            dry_run: request.and_then(|r| r.dry_run).unwrap_or(false),
            allow_empty: automated.and_then(|a| a.allow_empty).unwrap_or(false)
                || request.is_some(),
            prune_confirmed: false,
            resources: request.map(|r| r.resources.clone()).unwrap_or_default(),
            destination_namespace: app
                .spec
                .destination
                .namespace
                .clone()
                .filter(|n| !n.is_empty()),
            managed_namespace_metadata: policy.and_then(|p| p.managed_namespace_metadata.clone()),
            skip_hooks: strategy.is_some_and(|s| s.apply.is_some() && s.hook.is_none()),
            force,
        }
    }

    /// True for a selective (partial) sync.
    pub fn is_selective(&self) -> bool {
        !self.resources.is_empty()
    }

    /// True when `key` is selected (always true for a full sync). An unset group or
    /// namespace in a selection entry matches any.
    pub fn selects(&self, key: &ResourceKey) -> bool {
        self.resources.is_empty()
            || self.resources.iter().any(|r| {
                r.group.as_deref().is_none_or(|g| g == key.group)
                    && r.kind == key.kind
                    && r.name == key.name
                    && r.namespace.as_deref().is_none_or(|n| n == key.namespace)
            })
    }
}

/// What the executor does with one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskAction {
    /// Server-side apply (or client-side when `ServerSideApply=false`).
    Apply,
    /// Create a new object (hooks with `generateName`).
    Create,
    /// Replace (`Replace=true`): PUT, or create when missing.
    Replace,
    /// Delete the previous instance of a hook, then create it (`BeforeHookCreation`).
    DeleteBeforeCreate,
    /// Delete a tracked object that is no longer desired.
    Prune,
    /// An object that would be pruned but is kept; reported as `PruneSkipped`.
    PruneSkipped {
        /// Why it is kept.
        reason: String,
    },
    /// Nothing to do.
    Skip {
        /// Why.
        reason: String,
    },
}

impl TaskAction {
    /// True for actions that change the cluster.
    pub fn is_executable(&self) -> bool {
        !matches!(
            self,
            TaskAction::PruneSkipped { .. } | TaskAction::Skip { .. }
        )
    }
}

impl fmt::Display for TaskAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskAction::Apply => f.write_str("apply"),
            TaskAction::Create => f.write_str("create"),
            TaskAction::Replace => f.write_str("replace"),
            TaskAction::DeleteBeforeCreate => f.write_str("delete-before-create"),
            TaskAction::Prune => f.write_str("prune"),
            TaskAction::PruneSkipped { reason } => write!(f, "prune skipped: {reason}"),
            TaskAction::Skip { reason } => write!(f, "skip: {reason}"),
        }
    }
}

/// One step of a sync.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncTask {
    /// Phase it runs in.
    pub phase: SyncPhase,
    /// Wave within the phase.
    pub wave: i32,
    /// The object's identity (empty name for `generateName` hooks).
    pub key: ResourceKey,
    /// What to do.
    pub action: TaskAction,
    /// True for hooks.
    pub is_hook: bool,
    /// The hook type, for hooks.
    pub hook_type: Option<HookType>,
    /// When to delete the hook (empty for non-hooks).
    pub hook_delete_policies: Vec<HookDeletePolicy>,
    /// Sync options in force for this object (application options overridden by its
    /// `argocd.argoproj.io/sync-options` annotation).
    pub options: SyncOptions,
    /// The object's kind is defined by a CRD created in this sync: wait for it to be
    /// Established and refresh discovery before dry-running or applying it.
    pub needs_discovery_refresh: bool,
    /// True for tracked live objects that are no longer desired, whatever becomes of
    /// them (`Prune`, `PruneSkipped`, or `Skip` when pruning was not requested).
    pub prune_candidate: bool,
    /// The desired object, or the live one for prune candidates.
    pub object: Value,
}

/// The ordered tasks of a sync.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncPlan {
    /// Tasks in execution order; SyncFail tasks last.
    pub tasks: Vec<SyncTask>,
    /// Odd input that did not prevent planning (unknown hook types or policies, live
    /// objects tracked by something else, an empty desired state).
    pub warnings: Vec<String>,
    /// The executor only validates (server-side dry run).
    pub dry_run: bool,
}

impl SyncPlan {
    /// Tasks of one phase, in order.
    pub fn phase(&self, phase: SyncPhase) -> impl Iterator<Item = &SyncTask> {
        self.tasks.iter().filter(move |t| t.phase == phase)
    }

    /// The distinct waves of a phase, ascending, counting only executable tasks.
    pub fn waves(&self, phase: SyncPhase) -> Vec<i32> {
        let set: BTreeSet<i32> = self
            .phase(phase)
            .filter(|t| t.action.is_executable())
            .map(|t| t.wave)
            .collect();
        set.into_iter().collect()
    }

    /// The steps of the normal run (SyncFail excluded): one per (phase, wave) holding
    /// executable tasks, in order, each with its executable tasks. The executor runs a
    /// step only when the previous one is synced and healthy.
    pub fn steps(&self) -> Vec<(SyncPhase, i32, Vec<&SyncTask>)> {
        let mut steps: Vec<(SyncPhase, i32, Vec<&SyncTask>)> = Vec::new();
        for task in self.executable() {
            match steps.last_mut() {
                Some((phase, wave, tasks)) if *phase == task.phase && *wave == task.wave => {
                    tasks.push(task);
                }
                _ => steps.push((task.phase, task.wave, vec![task])),
            }
        }
        steps
    }

    /// Tasks that change the cluster, in order, SyncFail hooks excluded.
    pub fn executable(&self) -> impl Iterator<Item = &SyncTask> {
        self.tasks
            .iter()
            .filter(|t| t.phase != SyncPhase::SyncFail && t.action.is_executable())
    }
}

/// Input the planner refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A desired object has no kind.
    #[error("desired object #{index} has no kind")]
    MissingKind {
        /// Position in the desired list.
        index: usize,
    },
    /// A desired object has no name (only hooks may use `generateName`).
    #[error("desired object {key} has no metadata.name")]
    MissingName {
        /// The object.
        key: ResourceKey,
    },
    /// The same object is desired twice.
    #[error("desired object {key} appears more than once")]
    Duplicate {
        /// The object.
        key: ResourceKey,
    },
    /// `FailOnSharedResource=true` and a desired object is tracked by another application.
    #[error("resource {key} is already managed by application {other_app}")]
    SharedResource {
        /// The object.
        key: ResourceKey,
        /// The application tracking it.
        other_app: String,
    },
}

/// Plans a sync. See the module docs for the order of tasks.
pub fn plan(input: &PlanInput) -> Result<SyncPlan, PlanError> {
    let opts = &input.options;
    let mut warnings = Vec::new();
    let mut tasks = Vec::new();
    let mut desired_keys = BTreeSet::new();

    // Kinds whose CRD is created by this sync (not live yet).
    let new_crd_kinds: BTreeSet<(String, String)> = input
        .desired
        .iter()
        .filter(|(k, _)| k.group == CRD_GROUP && k.kind == CRD_KIND && !input.live.contains_key(k))
        .filter_map(|(_, obj)| {
            let group = obj.pointer("/spec/group")?.as_str()?;
            let kind = obj.pointer("/spec/names/kind")?.as_str()?;
            Some((group.to_string(), kind.to_string()))
        })
        .collect();

    for (index, (key, obj)) in input.desired.iter().enumerate() {
        if key.kind.is_empty() {
            return Err(PlanError::MissingKind { index });
        }
        let who = key.to_string();
        let hook = hooks::classify(obj, &mut warnings, &who);
        let generated = key.name.is_empty() && generate_name(obj).is_some();
        if key.name.is_empty() && !(generated && matches!(hook, HookKind::Hook { .. })) {
            return Err(PlanError::MissingName { key: key.clone() });
        }
        if !generated && !desired_keys.insert(key.clone()) {
            return Err(PlanError::Duplicate { key: key.clone() });
        }
        if !opts.selects(key) {
            continue;
        }
        let mut options = opts
            .sync_options
            .with_annotation(annotation(obj, SYNC_OPTIONS));
        options.force |= opts.force;
        let live = if generated { None } else { input.live.get(key) };
        if options.fail_on_shared_resource
            && let Some(other) = live.and_then(tracking_app)
            && other != input.app
        {
            return Err(PlanError::SharedResource {
                key: key.clone(),
                other_app: other,
            });
        }
        let base = SyncTask {
            phase: SyncPhase::Sync,
            wave: hooks::wave(obj),
            key: key.clone(),
            action: TaskAction::Apply,
            is_hook: false,
            hook_type: None,
            hook_delete_policies: Vec::new(),
            options,
            needs_discovery_refresh: new_crd_kinds.contains(&(key.group.clone(), key.kind.clone())),
            prune_candidate: false,
            object: obj.clone(),
        };
        match hook {
            HookKind::Skip(reason) => tasks.push(SyncTask {
                action: TaskAction::Skip { reason },
                ..base
            }),
            HookKind::Resource => {
                let in_sync = live.is_some() && !input.out_of_sync.contains(key);
                let action = if base.options.apply_out_of_sync_only && in_sync {
                    TaskAction::Skip {
                        reason: "in sync (ApplyOutOfSyncOnly)".into(),
                    }
                } else if base.options.replace {
                    TaskAction::Replace
                } else {
                    TaskAction::Apply
                };
                tasks.push(SyncTask { action, ..base });
            }
            HookKind::Hook { phases, types } => {
                // Hooks run neither in selective syncs nor with the apply strategy.
                if opts.is_selective() || opts.skip_hooks {
                    continue;
                }
                let policies = hooks::delete_policies(obj, &mut warnings, &who);
                let action = if generated {
                    TaskAction::Create
                } else if live.is_some() && policies.contains(&HookDeletePolicy::BeforeHookCreation)
                {
                    TaskAction::DeleteBeforeCreate
                } else if base.options.replace {
                    TaskAction::Replace
                } else {
                    TaskAction::Apply
                };
                for (phase, hook_type) in phases.into_iter().zip(types) {
                    tasks.push(SyncTask {
                        phase,
                        action: action.clone(),
                        is_hook: true,
                        hook_type: Some(hook_type),
                        hook_delete_policies: policies.clone(),
                        ..base.clone()
                    });
                }
            }
        }
    }

    // A desired Namespace that `CreateNamespace=true` would create is applied first of
    // all, as the created one would be: objects in waves before its own (and PreSync
    // hooks) live in it.
    if opts.sync_options.create_namespace
        && let Some(name) = opts.destination_namespace.as_deref()
    {
        let key = ResourceKey::new("", "Namespace", "", name);
        for task in tasks.iter_mut().filter(|t| t.key == key && !t.is_hook) {
            task.phase = SyncPhase::PreSync;
            task.wave = i32::MIN;
        }
    }
    if let Some(task) = namespace_task(opts, &desired_keys) {
        tasks.push(task);
    }
    tasks.extend(prune::prune_tasks(input, &desired_keys, &mut warnings));
    order::arrange(&mut tasks);
    Ok(SyncPlan {
        tasks,
        warnings,
        dry_run: opts.dry_run,
    })
}

/// The Namespace task of `CreateNamespace=true`: first of all (PreSync, lowest wave),
/// unless the namespace is itself desired.
fn namespace_task(opts: &PlanOptions, desired: &BTreeSet<ResourceKey>) -> Option<SyncTask> {
    if !opts.sync_options.create_namespace {
        return None;
    }
    let name = opts.destination_namespace.as_deref()?;
    let key = ResourceKey::new("", "Namespace", "", name);
    if desired.contains(&key) {
        return None;
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(name.to_string()));
    if let Some(managed) = &opts.managed_namespace_metadata {
        if !managed.labels.is_empty() {
            metadata.insert("labels".into(), json!(managed.labels));
        }
        if !managed.annotations.is_empty() {
            metadata.insert("annotations".into(), json!(managed.annotations));
        }
    }
    Some(SyncTask {
        phase: SyncPhase::PreSync,
        wave: i32::MIN,
        key,
        action: TaskAction::Apply,
        is_hook: false,
        hook_type: None,
        hook_delete_policies: Vec::new(),
        options: opts.sync_options.clone(),
        needs_discovery_refresh: false,
        prune_candidate: false,
        object: json!({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}),
    })
}

/// Whether an object is a hook (or skipped by `argocd.argoproj.io/hook: Skip`): it takes
/// part in syncs as a hook, never in the comparison of an application.
pub fn is_hook(obj: &Value) -> bool {
    !matches!(
        hooks::classify(obj, &mut Vec::new(), ""),
        HookKind::Resource
    )
}

/// An annotation of an object, if set to a string.
pub(crate) fn annotation<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(name)?.as_str()
}

/// A label of an object, if set to a string.
pub(crate) fn label<'a>(obj: &'a Value, name: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("labels")?.get(name)?.as_str()
}

fn generate_name(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/generateName")?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// The application named by an object's tracking-id annotation.
pub(crate) fn tracking_app(obj: &Value) -> Option<String> {
    let value = annotation(obj, TRACKING_ID)?;
    ResourceKey::parse_tracking_id(value).map(|(app, _)| app)
}
