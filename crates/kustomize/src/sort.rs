//! Output order: kustomize's legacy order (by kind rank, then group/version/kind, namespace
//! and name) or the order of first appearance (`fifo`, `--reorder none`).

use ferrocd_schema::kustomize_legacy_kind_order;

use crate::resource::Resource;

fn gvk_string(r: &Resource) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(r.group(), "~G"),
        or(r.version(), "~V"),
        or(r.kind(), "~K")
    )
}

/// Sorts in legacy order; custom `order_first`/`order_last` lists replace the built-in ones.
pub(crate) fn legacy_sort(resources: &mut [Resource], custom: Option<(&[String], &[String])>) {
    let rank = |kind: &str| -> i64 {
        match custom {
            None => kustomize_legacy_kind_order(kind) as i64,
            Some((first, last)) => {
                if let Some(i) = first.iter().position(|k| k == kind) {
                    i as i64 - first.len() as i64
                } else if let Some(i) = last.iter().position(|k| k == kind) {
                    i as i64 + 1
                } else {
                    0
                }
            }
        }
    };
    // Within one GVK kustomize compares the id string `namespace|name`, so the separator
    // takes part in the comparison (`inference-apac|` sorts before `inference|`).
    resources.sort_by_cached_key(|r| {
        let ns = if r.namespace().is_empty() {
            "~X"
        } else {
            r.namespace()
        };
        (rank(r.kind()), gvk_string(r), format!("{ns}|{}", r.name()))
    });
}
