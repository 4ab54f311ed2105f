//! Re-checks the recorded Sprig outputs against the real `helm template`
//! (found through `FERROCD_TOOLS_BIN`, or installed by
//! `scripts/install-reference-tools`). Ignored by default because it runs helm:
//! `cargo test -p ferrocd-helm --test helm_oracle -- --ignored`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Case, Data, load_cases};

fn tools_bin() -> PathBuf {
    ferrocd_reference_tools::bin_dir()
}

/// Renders the cases in one chart; each line is `cN: <Go-quoted output>`.
fn render(helm: &Path, cases: &[&Case]) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("c");
    std::fs::create_dir_all(root.join("templates")).expect("chart dirs");
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .expect("Chart.yaml");
    let mut values = Vec::new();
    let mut main = String::new();
    for (i, case) in cases.iter().enumerate() {
        std::fs::write(root.join(format!("templates/_c{i}.tpl")), &case.tmpl)
            .expect("case template");
        let arg = match &case.data {
            Some(d) if !matches!(d, Data::Null) => {
                values.push(format!("\"c{i}\":{}", d.to_json()));
                format!(".Values.c{i}")
            }
            _ => "nil".to_string(),
        };
        main.push_str(&format!(
            "c{i}: {{{{ include \"c/templates/_c{i}.tpl\" {arg} | toJson }}}}\n"
        ));
    }
    std::fs::write(
        root.join("values.yaml"),
        format!("{{{}}}", values.join(",")),
    )
    .expect("values");
    std::fs::write(root.join("templates/out.yaml"), main).expect("main template");
    let out = Command::new(helm)
        .arg("template")
        .arg("c")
        .arg(&root)
        .output()
        .expect("run helm");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
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
