//! What ferrocd writes as YAML (CRDs, Applications, AppProjects) must read the same
//! through Kubernetes' own YAML parser (kustomize in the real `kubectl`) as through ours:
//! quoting of `"yes"`, `"1.0"`, `"*"`, `"~"` and multi-line strings is where emitters
//! differ.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The directory holding the reference `kubectl`, from `FERROCD_TOOLS_BIN` or the
/// project's install script.
fn tools_bin() -> PathBuf {
    ferrocd_reference_tools::bin_dir()
}

fn by_name(mut docs: Vec<Value>) -> Vec<Value> {
    docs.sort_by(|a, b| {
        a["metadata"]["name"]
            .as_str()
            .cmp(&b["metadata"]["name"].as_str())
    });
    docs
}

/// Runs `kubectl kustomize` over one file of resources and returns what it printed.
fn kubectl_reads(yaml: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("resources.yaml"), yaml).expect("write");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n  - resources.yaml\n",
    )
    .expect("write");
    let out = Command::new(tools_bin().join("kubectl"))
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    serde_saphyr::from_multiple(&text).expect("kubectl output is YAML")
}

#[test]
fn kubectl_reads_the_crds_as_we_wrote_them() {
    let rendered = kubectl_reads(&ferrocd_model::crds_yaml());
    assert_eq!(by_name(rendered), by_name(ferrocd_model::crds()));
}

#[test]
fn kubectl_reads_our_applications_as_we_wrote_them() {
    use ferrocd_model::{AppProject, Application};
    let testdata = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/roundtrip");
    let mut stream = String::new();
    let mut expected = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&testdata)
        .expect("testdata")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    for path in names {
        let text = std::fs::read_to_string(&path).expect("read");
        let file = path.display().to_string();
        let (yaml, value) = if file.contains("project-") {
            let p = AppProject::from_yaml(&text, &file).expect("valid");
            (
                p.to_yaml().expect("emit"),
                serde_json::to_value(&p).expect("json"),
            )
        } else {
            let mut a = Application::from_yaml(&text, &file).expect("valid");
            // Strings a YAML 1.1 reader would take for booleans, nulls or numbers.
            for (i, tricky) in [
                "yes",
                "on",
                "y",
                "~",
                "null",
                "1.0",
                "012",
                "0x1F",
                "1e3",
                "",
                "- x",
                "a: b",
                "*",
                "two\nlines\n",
            ]
            .into_iter()
            .enumerate()
            {
                a.metadata
                    .labels
                    .insert(format!("tricky-{i}"), tricky.to_string());
            }
            (
                a.to_yaml().expect("emit"),
                serde_json::to_value(&a).expect("json"),
            )
        };
        stream.push_str("---\n");
        stream.push_str(&yaml);
        expected.push(value);
    }
    assert_eq!(by_name(kubectl_reads(&stream)), by_name(expected));
}
