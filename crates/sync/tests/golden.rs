//! Golden plans: each `testdata/<case>/` holds `desired.yaml` and `live.yaml` (multi-doc
//! YAML), `options.yaml` (app, prune, allowEmpty, destinationNamespace, syncOptions) and
//! `expected.txt`, one line per planned task. `FERROCD_BLESS=1` rewrites the expected files.

use std::path::{Path, PathBuf};

use ferrocd_model::{ResourceKey, SyncOptions};
use ferrocd_sync::{PlanInput, PlanOptions, SyncPlan, plan};
use serde_json::Value;

fn read_docs(path: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    match serde_saphyr::from_multiple::<Value>(&text) {
        Ok(docs) => docs.into_iter().filter(|d| !d.is_null()).collect(),
        Err(err) => panic!("{}: {err}", path.display()),
    }
}

fn input_for(case: &Path) -> PlanInput {
    let opts = read_docs(&case.join("options.yaml"))
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
    let list: Vec<String> = opts["syncOptions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    PlanInput {
        app: opts["app"].as_str().unwrap_or("app").to_string(),
        desired: read_docs(&case.join("desired.yaml"))
            .into_iter()
            .map(|o| (ResourceKey::from_object(&o), o))
            .collect(),
        live: read_docs(&case.join("live.yaml"))
            .into_iter()
            .map(|o| (ResourceKey::from_object(&o), o))
            .collect(),
        out_of_sync: Default::default(),
        options: PlanOptions {
            sync_options: SyncOptions::from_list(&list),
            prune: opts["prune"].as_bool().unwrap_or(false),
            allow_empty: opts["allowEmpty"].as_bool().unwrap_or(false),
            destination_namespace: opts["destinationNamespace"].as_str().map(String::from),
            ..Default::default()
        },
    }
}

fn render(plan: &SyncPlan) -> String {
    let mut out = String::new();
    for t in &plan.tasks {
        let wave = if t.wave == i32::MIN {
            "-inf".to_string()
        } else {
            t.wave.to_string()
        };
        let name = if t.key.name.is_empty() {
            t.object["metadata"]["generateName"]
                .as_str()
                .map(|g| format!("{g}*"))
                .unwrap_or_default()
        } else {
            t.key.name.clone()
        };
        let mut line = format!(
            "{:?}/{wave} {} {}{} {}{}",
            t.phase,
            t.action,
            if t.key.group.is_empty() {
                String::new()
            } else {
                format!("{}/", t.key.group)
            },
            t.key.kind,
            if t.key.namespace.is_empty() {
                String::new()
            } else {
                format!("{}/", t.key.namespace)
            },
            name
        );
        if let Some(hook) = t.hook_type {
            line.push_str(&format!(
                " hook={hook:?} delete={:?}",
                t.hook_delete_policies
            ));
        }
        if t.needs_discovery_refresh {
            line.push_str(" needs-discovery-refresh");
        }
        out.push_str(&line);
        out.push('\n');
    }
    for w in &plan.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}

#[test]
fn golden_plans() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut cases: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(err) => panic!("{}: {err}", root.display()),
    };
    cases.sort();
    assert!(cases.len() >= 2, "golden cases missing");
    let bless = std::env::var_os("FERROCD_BLESS").is_some();
    for case in cases {
        let plan = match plan(&input_for(&case)) {
            Ok(p) => p,
            Err(err) => panic!("{}: {err}", case.display()),
        };
        let got = render(&plan);
        let expected_path = case.join("expected.txt");
        if bless {
            if let Err(err) = std::fs::write(&expected_path, &got) {
                panic!("{}: {err}", expected_path.display());
            }
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        assert_eq!(got, expected, "plan of {} differs", case.display());
    }
}
