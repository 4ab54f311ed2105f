//! `ferrocd health`: the engine's health checks on files, with Argo CD Lua customizations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ferrocd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrocd"))
        .args(args)
        .output()
        .expect("running ferrocd")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../health/testdata")
        .join(name)
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

#[test]
fn builtin_checks_on_several_files() {
    let files = [
        "pod-crashloop.yaml",
        "pod-gpu-unschedulable.yaml",
        "deployment-healthy.yaml",
        "pvc-pending.yaml",
    ];
    let paths: Vec<String> = files
        .iter()
        .map(|f| fixture(f).display().to_string())
        .collect();
    let mut args = vec!["health", "-o", "json"];
    args.extend(paths.iter().map(String::as_str));
    let list = json(&ferrocd(&args));
    let status: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|o| o["health"]["status"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        status,
        ["Degraded", "Progressing", "Healthy", "Progressing"]
    );
    let gpu_message = list[1]["health"]["message"].as_str().unwrap_or("");
    assert!(gpu_message.contains("GPU capacity"), "{gpu_message}");
    assert_eq!(list[0]["kind"], "Pod");
}

#[test]
fn lua_customizations_from_argocd_cm() {
    let cert = fixture("certificate-ready-false.yaml");
    let cm = fixture("lua-argocd-cm.yaml");
    let list = json(&ferrocd(&[
        "health",
        cert.to_str().expect("utf-8"),
        "--customizations",
        cm.to_str().expect("utf-8"),
        "-o",
        "json",
    ]));
    assert_eq!(list[0]["health"]["status"], "Degraded");
    // Without the customization the same object gets the generic check.
    let list = json(&ferrocd(&[
        "health",
        cert.to_str().expect("utf-8"),
        "-o",
        "json",
    ]));
    assert_ne!(list[0]["health"]["message"], serde_json::Value::Null);
}

#[test]
fn table_output_and_bad_input() {
    let out = ferrocd(&[
        "health",
        fixture("pod-crashloop.yaml").to_str().expect("utf-8"),
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("KIND"), "{text}");
    assert!(text.contains("Degraded"), "{text}");
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "kind: Pod\napiVersion: v1\nmetadata: [\n").expect("write");
    let out = ferrocd(&["health", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("bad.yaml:"),
        "{err}"
    );
}
