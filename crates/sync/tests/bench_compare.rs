//! Benchmark (ignored; run in release): compare 1,000 resources of one application —
//! diff + health of every resource, live objects in memory — against the reference
//! `kubectl diff --server-side` of the same objects on the same cluster.
//!
//! `cargo test -p ferrocd-sync --release --test bench_compare -- --ignored --nocapture`
//! (env `BENCH_RUNS`, default 10, runs of the compare step; kubectl runs 3 times).

use std::time::{Duration, Instant};

use ferrocd_cluster::testing::TestCluster;
use ferrocd_diff::DiffOptions;
use ferrocd_health::HealthCustomizations;
use ferrocd_manifest::Manifest;
use ferrocd_model::SyncStatusCode;
use ferrocd_sync::{CompareInput, PrepareOptions, compare, live, prepare};
use serde_json::{Value, json};

const APP: &str = "feature-platform";

fn objects(ns: &str, n: usize) -> Vec<Value> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("feature-{i:04}");
        out.push(match i % 4 {
            0 => json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name, "team": "features"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "server",
                            "image": "ghcr.io/example/feature-server:2.3.1",
                            "env": [{"name": "FEATURE_SET", "value": name}, {"name": "LOG_LEVEL", "value": "info"}],
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}}]}}}}),
            1 => json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
            2 => json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": ns},
                "data": {"features.yaml": format!("set: {name}\nttl: 3600\nonline: true\n"), "owner": "ml-platform"}}),
            _ => json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": ns}, "type": "Opaque",
                "stringData": {"redis-password": format!("pw-{i}")}}),
        });
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn compare_1000_resources() {
    let n = 1000;
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let tc = TestCluster::start().await;
    let ns = tc.namespace("bench");
    tc.cluster
        .apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            &Default::default(),
        )
        .await
        .expect("namespace");
    let manifests: Vec<Manifest> = objects(&ns, n)
        .into_iter()
        .map(|object| Manifest {
            object,
            origin: Default::default(),
        })
        .collect();
    let desired = prepare(
        &tc.cluster,
        &manifests,
        &PrepareOptions {
            app: APP.into(),
            destination_namespace: ns.clone(),
        },
    )
    .await
    .expect("prepare");
    for d in &desired.objects {
        tc.cluster
            .apply(&d.object, &Default::default())
            .await
            .expect("apply");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let inventory = live::load(&tc.cluster, APP, &desired).await.expect("live");
    assert_eq!(inventory.tracked.len(), n);

    let diff = DiffOptions::default();
    let health = HealthCustomizations::default();
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let c = compare(&CompareInput {
            app: APP,
            desired: &desired,
            live: &inventory,
            diff: &diff,
            health: &health,
        })
        .expect("compare");
        times.push(start.elapsed());
        assert_eq!(c.resources.len(), n);
        assert_eq!(
            c.sync_status,
            SyncStatusCode::Synced,
            "{}",
            c.unified_diff()
        );
    }
    let ours = median(times);

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("desired.json");
    let list = json!({"apiVersion": "v1", "kind": "List",
        "items": desired.objects.iter().map(|d| d.object.clone()).collect::<Vec<_>>()});
    std::fs::write(&file, serde_json::to_vec(&list).expect("json")).expect("write");
    let mut kubectl_times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let out = tokio::process::Command::new(ferrocd_reference_tools::kubectl())
            .arg("--kubeconfig")
            .arg(tc.kubeconfig())
            .args([
                "diff",
                "--server-side",
                "--force-conflicts",
                "--field-manager=ferrocd",
                "-f",
            ])
            .arg(&file)
            .output()
            .await
            .expect("kubectl diff");
        kubectl_times.push(start.elapsed());
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let theirs = median(kubectl_times);
    println!(
        "compare {n} resources (diff + health, in memory): median {:.1} ms over {runs} runs ({:.1} µs per resource)",
        ours.as_secs_f64() * 1e3,
        ours.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "kubectl diff --server-side of the same {n} objects: median {:.0} ms over 3 runs",
        theirs.as_secs_f64() * 1e3
    );
    println!("ratio: {:.0}x", theirs.as_secs_f64() / ours.as_secs_f64());
    tc.shutdown().await;
}
