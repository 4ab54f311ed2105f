//! The CRD YAML must read the same through Kubernetes' own YAML parser (kustomize in the
//! real `kubectl`) as through ours: quoting of `"true"`, `"*"`, version strings and long
//! descriptions is where emitters differ.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The directory holding the reference `kubectl`, from `FERROCD_TOOLS_BIN` or the
/// project's install script.
fn tools_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("FERROCD_TOOLS_BIN") {
        return PathBuf::from(dir);
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-reference-tools");
    let out = Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .expect("install script printed the bin dir");
    PathBuf::from(dir.trim())
}

fn by_name(mut docs: Vec<Value>) -> Vec<Value> {
    docs.sort_by(|a, b| {
        a["metadata"]["name"]
            .as_str()
            .cmp(&b["metadata"]["name"].as_str())
    });
    docs
}

#[test]
fn kubectl_reads_the_crds_as_we_wrote_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("crds.yaml"), ferrocd_model::crds_yaml()).expect("write");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n  - crds.yaml\n",
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
    let rendered: Vec<Value> = serde_saphyr::from_multiple(&text).expect("kubectl output is YAML");
    assert_eq!(by_name(rendered), by_name(ferrocd_model::crds()));
}
