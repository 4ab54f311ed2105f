//! Text output: the normalized objects as YAML and a unified diff between them, in the
//! spirit of `argocd app diff` (a `===== group/Kind namespace/name ======` header per
//! object, then the differences of live → desired).

use serde_json::Value;
use similar::TextDiff;

use crate::{DiffStatus, ObjectDiff};

/// YAML of a value (empty for `None`).
pub(crate) fn yaml(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(v) => serde_saphyr::to_string(v).unwrap_or_else(|e| format!("# cannot render: {e}\n")),
    }
}

/// The header line argocd prints before an object's diff.
pub(crate) fn header(diff: &ObjectDiff) -> String {
    let k = &diff.key;
    format!(
        "===== {}/{} {}/{} ======",
        k.group, k.kind, k.namespace, k.name
    )
}

/// The unified diff of one object (live → desired), empty when it is in sync.
pub(crate) fn unified(diff: &ObjectDiff) -> String {
    if diff.status == DiffStatus::Synced {
        return String::new();
    }
    let live = yaml(diff.normalized_live.as_ref());
    let desired = yaml(diff.normalized_desired.as_ref());
    let body = TextDiff::from_lines(&live, &desired)
        .unified_diff()
        .context_radius(3)
        .header("live", "desired")
        .to_string();
    format!("{}\n{body}", header(diff))
}
