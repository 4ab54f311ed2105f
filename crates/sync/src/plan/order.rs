//! Final waves and order of the tasks.
//!
//! - Prune waves are mirrored: among the waves that hold prune tasks, the highest is
//!   deleted first (Argo CD deletes "higher waves first").
//! - Prune tasks with `PruneLast` move to one wave after the last wave of the Sync phase,
//!   so they run when everything else is synced and healthy.
//! - Then tasks are sorted by phase, wave, and within a wave: prunes (reverse kind order),
//!   deletions of hooks to recreate, then everything else in kind order; then by name,
//!   namespace and group so that the order is total.

use std::collections::BTreeSet;

use ferrocd_model::SyncPhase;
use ferrocd_schema::kind_order;

use super::{SyncTask, TaskAction};

/// Adjusts prune waves and sorts `tasks` into execution order.
pub(crate) fn arrange(tasks: &mut [SyncTask]) {
    mirror_prune_waves(tasks);
    move_prune_last(tasks);
    tasks.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
}

fn is_prune_like(task: &SyncTask) -> bool {
    task.prune_candidate
}

fn mirror_prune_waves(tasks: &mut [SyncTask]) {
    let waves: Vec<i32> = tasks
        .iter()
        .filter(|t| t.action == TaskAction::Prune)
        .map(|t| t.wave)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let last = waves.len().saturating_sub(1);
    for task in tasks.iter_mut().filter(|t| t.action == TaskAction::Prune) {
        if let Ok(i) = waves.binary_search(&task.wave) {
            task.wave = waves[last - i];
        }
    }
}

fn move_prune_last(tasks: &mut [SyncTask]) {
    let prune_last = |t: &SyncTask| t.action == TaskAction::Prune && t.options.prune_last;
    let last_wave = tasks
        .iter()
        .filter(|t| t.phase == SyncPhase::Sync && t.action.is_executable() && !prune_last(t))
        .map(|t| t.wave)
        .max()
        .unwrap_or(0);
    let after = last_wave.saturating_add(1);
    for task in tasks.iter_mut().filter(|t| prune_last(t)) {
        task.wave = after;
    }
}

type SortKey<'a> = (SyncPhase, i32, u8, i32, &'a str, &'a str, &'a str);

fn sort_key(task: &SyncTask) -> SortKey<'_> {
    let kind = kind_order(&task.key.group, &task.key.kind);
    let (class, kind) = if is_prune_like(task) {
        (0, -kind)
    } else if task.action == TaskAction::DeleteBeforeCreate {
        (1, kind)
    } else {
        (2, kind)
    };
    (
        task.phase,
        task.wave,
        class,
        kind,
        &task.key.name,
        &task.key.namespace,
        &task.key.group,
    )
}
