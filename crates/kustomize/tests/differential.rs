//! The differential suite: every case under `testdata/cases/` is built by the real
//! `kubectl kustomize` and by `ferrocd_kustomize::build`; both must give the same objects in
//! the same order, each deep-equal after parsing (or both must fail).
//!
//! A case directory holds the kustomization tree and an optional `case.yaml`:
//! `build: overlays/prod` (directory to build, default `.`), `reorder: none`,
//! `loadRestrictor: LoadRestrictionsNone`, `expectError: true`, `enableHelm: true` (kubectl
//! gets `--enable-helm --helm-command <helm>`, ferrocd `enable_helm`).
//!
//! kubectl's kustomize (v5.7) refuses any helm whose `helm version -c --short` is not v3, and
//! helm v4 has no `-c` flag; so `--helm-command` points at a small shell shim that answers
//! the version probe as v3 and hands every other command (`helm template ...`) to the real
//! helm v4 from the reference tools.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use ferrocd_kustomize::{KustomizeOptions, LoadRestrictor, Reorder, build};
use serde_json::Value;

fn tools_bin() -> PathBuf {
    ferrocd_reference_tools::bin_dir()
}

/// Writes the helm shim (see the module docs) once per test process.
fn helm_shim(bin: &Path) -> PathBuf {
    static SHIM: OnceLock<PathBuf> = OnceLock::new();
    SHIM.get_or_init(|| {
        let real = bin.join("helm");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kustomize-helm-shim");
        std::fs::create_dir_all(&dir).expect("shim dir");
        let shim = dir.join(format!("helm-{}", std::process::id()));
        let script = format!(
            "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.19.0+gferrocdshim; exit 0; fi\nexec '{}' \"$@\"\n",
            real.display()
        );
        std::fs::write(&shim, script).expect("write shim");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755))
                .expect("chmod shim");
        }
        shim
    })
    .clone()
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CaseSpec {
    build: Option<String>,
    reorder: Option<String>,
    load_restrictor: Option<String>,
    expect_error: bool,
    enable_helm: bool,
}

fn case_spec(dir: &Path) -> CaseSpec {
    match std::fs::read_to_string(dir.join("case.yaml")) {
        Ok(text) => serde_saphyr::from_str(&text).expect("case.yaml parses"),
        Err(_) => CaseSpec::default(),
    }
}

fn parse_stream(text: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).expect("kubectl output parses");
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

fn describe(v: &Value) -> String {
    format!(
        "{}/{} ns={}",
        v["kind"].as_str().unwrap_or("?"),
        v["metadata"]["name"].as_str().unwrap_or("?"),
        v["metadata"]["namespace"].as_str().unwrap_or("")
    )
}

/// An error with its sources, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// Runs one case; returns a failure description.
fn run_case(bin: &Path, dir: &Path) -> Option<String> {
    let spec = case_spec(dir);
    let target = dir.join(spec.build.as_deref().unwrap_or("."));
    let mut cmd = Command::new(bin.join("kubectl"));
    cmd.arg("kustomize").arg(&target);
    let mut opts = KustomizeOptions::default();
    if spec.enable_helm {
        cmd.arg("--enable-helm")
            .arg("--helm-command")
            .arg(helm_shim(bin));
        opts.enable_helm = true;
    }
    if let Some(r) = &spec.reorder {
        cmd.arg("--reorder").arg(r);
        opts.reorder = r.parse::<Reorder>().expect("reorder");
    }
    if let Some(l) = &spec.load_restrictor {
        cmd.arg("--load-restrictor").arg(l);
        opts.load_restrictor = l.parse::<LoadRestrictor>().expect("restrictor");
    }
    let out = cmd.output().expect("run kubectl");
    let ours = build(&target, &opts);
    match (out.status.success(), ours) {
        (false, Err(_)) if spec.expect_error => None,
        (false, Err(e)) => Some(format!(
            "both failed but case does not expect it: kubectl: {} ours: {e}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        (true, Err(e)) => Some(format!("ferrocd failed: {}", chain(&e))),
        (false, Ok(_)) => Some(format!(
            "kubectl failed but ferrocd succeeded: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        (true, Ok(_)) if spec.expect_error => {
            Some("case expects an error but both succeeded".into())
        }
        (true, Ok(ours)) => {
            let theirs = parse_stream(&String::from_utf8_lossy(&out.stdout));
            let ours: Vec<Value> = ours
                .iter()
                .map(|v| {
                    // Compare through the same YAML parser as kubectl's side.
                    let text = serde_json::to_string(v).expect("json");
                    serde_saphyr::from_str(&text).expect("reparse")
                })
                .collect();
            if theirs.len() != ours.len() {
                return Some(format!(
                    "object count differs: kubectl {:?} ferrocd {:?}",
                    theirs.iter().map(describe).collect::<Vec<_>>(),
                    ours.iter().map(describe).collect::<Vec<_>>()
                ));
            }
            for (i, (t, o)) in theirs.iter().zip(&ours).enumerate() {
                if t != o {
                    return Some(format!(
                        "object {i} differs\n--- kubectl\n{}\n--- ferrocd\n{}",
                        serde_json::to_string_pretty(t).unwrap_or_default(),
                        serde_json::to_string_pretty(o).unwrap_or_default()
                    ));
                }
            }
            None
        }
    }
}

#[test]
fn kustomize_cases_equal_kubectl_kustomize() {
    let bin = tools_bin();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cases");
    let filter = std::env::var("CASE").ok();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("cases dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            filter.as_deref().is_none_or(|f| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(f))
            })
        })
        .collect();
    cases.sort();
    assert!(
        filter.is_some() || cases.len() >= 150,
        "only {} cases",
        cases.len()
    );
    let queue = Mutex::new(cases.clone());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    if let Some(f) = run_case(&bin, &case) {
                        let name = case
                            .file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned();
                        failures.lock().unwrap().push(format!("== {name}: {f}"));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
