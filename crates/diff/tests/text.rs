//! The unified text diff, compared with a golden file.

mod common;

use common::*;
use ferrocd_diff::{DiffOptions, diff, unified_diff};
use serde_json::json;

#[test]
fn unified_diff_matches_golden() {
    let (mut desired, mut live) = deployment();
    set(
        &mut live,
        &format!("{CONTAINERS}/0/image"),
        json!("nvcr.io/nvidia/tritonserver:24.06-py3"),
    );
    remove(&mut desired, &format!("{CONTAINERS}/0/env/1"));
    set(&mut desired, "/metadata/labels/tier", json!("gpu"));
    let d = diff(Some(&desired), Some(&live), &DiffOptions::default()).expect("diff");
    let secret = diff(
        Some(&fixture("secret-desired")),
        None,
        &DiffOptions::default(),
    )
    .expect("diff");
    let synced = diff(
        Some(&fixture("service-desired")),
        Some(&fixture("service-live")),
        &DiffOptions::default(),
    )
    .expect("diff");
    let text = unified_diff(&[d, synced, secret]);
    let golden = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/unified.diff");
    if std::env::var_os("FERROCD_BLESS").is_some() {
        std::fs::write(&golden, &text).expect("write golden");
    }
    let expected =
        std::fs::read_to_string(&golden).expect("golden file (run with FERROCD_BLESS=1)");
    assert_eq!(text, expected);
}
