//! Diff and health of an application with 1,000 resources: Deployments (with server
//! defaults, status and managedFields in live), Services, ConfigMaps and Secrets, with
//! an ignoreDifferences JSON pointer rule on every Deployment and a jq rule variant.

use criterion::{Criterion, criterion_group, criterion_main};
use ferrocd_diff::{DiffOptions, IgnoreRule, app_sync_status, diff};
use ferrocd_health::{HealthCustomizations, app_health, assess};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(path).expect("fixture");
    serde_saphyr::from_str(&text).expect("yaml")
}

fn renamed(mut v: Value, name: &str) -> Value {
    v["metadata"]["name"] = json!(name);
    v
}

/// 1,000 (desired, live) pairs; every 10th Deployment has drifted.
fn app() -> Vec<(Value, Value)> {
    let pairs = [
        (fixture("deployment-desired"), fixture("deployment-live")),
        (fixture("service-desired"), fixture("service-live")),
        (fixture("secret-desired"), fixture("secret-live")),
    ];
    (0..1000)
        .map(|i| {
            let (d, l) = &pairs[i % 3];
            let name = format!("obj-{i}");
            let d = renamed(d.clone(), &name);
            let mut l = renamed(l.clone(), &name);
            if i % 30 == 0
                && let Some(image) = l.pointer_mut("/spec/template/spec/containers/0/image")
            {
                *image = json!("nvcr.io/nvidia/tritonserver:24.06-py3");
            }
            (d, l)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let objects = app();
    let pointer_rules = DiffOptions {
        ignore: vec![IgnoreRule {
            group: "apps".into(),
            kind: "Deployment".into(),
            json_pointers: vec!["/spec/replicas".into()],
            ..IgnoreRule::default()
        }],
        ..DiffOptions::default()
    };
    let jq_rules = DiffOptions {
        ignore: vec![IgnoreRule {
            group: "apps".into(),
            kind: "Deployment".into(),
            jq_path_expressions: vec![
                ".spec.template.spec.containers[] | select(.name == \"istio-proxy\")".into(),
            ],
            ..IgnoreRule::default()
        }],
        ..DiffOptions::default()
    };
    let customizations = HealthCustomizations::default();
    c.bench_function("diff 1000 resources (json pointer rule)", |b| {
        b.iter(|| {
            let diffs: Vec<_> = objects
                .iter()
                .map(|(d, l)| diff(Some(d), Some(l), &pointer_rules).expect("diff"))
                .collect();
            app_sync_status(&diffs)
        })
    });
    c.bench_function("diff 1000 resources (jq rule on 334 deployments)", |b| {
        b.iter(|| {
            let diffs: Vec<_> = objects
                .iter()
                .map(|(d, l)| diff(Some(d), Some(l), &jq_rules).expect("diff"))
                .collect();
            app_sync_status(&diffs)
        })
    });
    c.bench_function("diff + health + text of 1000 resources", |b| {
        b.iter(|| {
            let mut text = 0;
            let mut health = Vec::with_capacity(objects.len());
            for (d, l) in &objects {
                let od = diff(Some(d), Some(l), &pointer_rules).expect("diff");
                text += od.unified().len();
                health.push(assess(l, &customizations));
            }
            (text, app_health(&health))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
