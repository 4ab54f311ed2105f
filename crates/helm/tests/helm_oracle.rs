//! Re-checks the recorded Sprig outputs against the real `helm template`
//! (found through `FERROCD_TOOLS_BIN`, or installed by
//! `scripts/install-reference-tools`). Ignored by default because it runs helm:
//! `cargo test -p ferrocd-helm --test helm_oracle -- --ignored`.

mod support;

use std::path::{Path, PathBuf};

use support::{Case, Data, load_cases};

fn tools_bin() -> PathBuf {
    ferrocd_reference_tools::bin_dir()
}

/// Renders the cases in one throwaway chart with the real helm; each line is
/// `cN: <JSON of the output>`.
fn render(helm: &Path, cases: &[&Case]) -> (bool, String) {
    let inputs: Vec<(&str, Option<&Data>)> = cases
        .iter()
        .map(|c| (c.tmpl.as_str(), c.data.as_ref()))
        .collect();
    ferrocd_gotmpl::testing::render_with_helm(helm, &inputs, "toJson").expect("run helm")
}

#[test]
#[ignore = "runs the real helm binary; use --ignored"]
fn recorded_outputs_agree_with_real_helm() {
    let helm = tools_bin().join("helm");
    let cases = load_cases();
    let mut failures = Vec::new();
    let outs: Vec<&Case> = cases.iter().filter(|c| c.out.is_some()).collect();
    let (ok, text) = render(&helm, &outs);
    assert!(ok, "helm failed: {text}");
    for (i, case) in outs.iter().enumerate() {
        let prefix = format!("c{i}: ");
        let got = text
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            // Helm removes "<no value>" only from the final file, after toJson escaped it.
            .map(|l| l.replace("\\u003cno value\\u003e", ""));
        // Our own toJson encodes the expectation the way helm's toJson encoded its output.
        let want = ferrocd_helm::sprig::to_json(&ferrocd_gotmpl::Value::from(
            case.out.clone().unwrap_or_default(),
        ));
        if got.as_deref() != Some(want.as_str()) {
            failures.push(format!("{}: recorded {want}, helm {got:?}", case.name));
        }
    }
    for case in cases.iter().filter(|c| c.err_contains.is_some()) {
        let (ok, text) = render(&helm, &[case]);
        let flat = text.replace("\n    ", " ").replace("\n  ", " ");
        let want = case.err_contains.as_deref().unwrap_or_default();
        // Helm rewrites `fail` errors as "execution error at (...): MESSAGE".
        let tail = want.rsplit(": ").next().unwrap_or(want);
        let matched =
            flat.contains(want) || (want.starts_with("error calling fail") && flat.contains(tail));
        if ok || !matched {
            failures.push(format!(
                "{}: want error containing {want:?}, helm said {text:?}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
