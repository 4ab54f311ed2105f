//! Benchmark of the live cache (ignored; run in release):
//!
//! ```sh
//! cargo test -p ferrocd-cluster --release --test cache_bench -- --ignored --nocapture
//! ```
//!
//! Fills a sandbox (in-process writes, no simulation) with `CACHE_BENCH_OBJECTS` objects
//! (default 50,000; `CACHE_BENCH_PAGE_SIZE` sets the list page size, 0 unpaginated: ConfigMaps, Secrets, Services, Deployments, ReplicaSets and the Pods
//! they own) across 25 namespaces, then measures the cache's initial sync against
//! `kubectl get --raw` listing the same kinds (the reference), and the memory the cache
//! holds three ways: the sum of serialized object sizes, the live heap it frees when
//! dropped (a counting allocator), and the process RSS growth. Prints a Markdown table.

use std::alloc::System;
use std::time::{Duration, Instant};

use ferrocd_cluster::Cluster;
use ferrocd_cluster::cache::{CacheOptions, LiveCache};
use ferrocd_sandbox::apiserver::WriteContext;
use ferrocd_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Live heap bytes.
fn heap() -> usize {
    let s = GLOBAL.stats();
    s.bytes_allocated.saturating_sub(s.bytes_deallocated)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

const NAMESPACES: usize = 25;

/// The objects, by (apiVersion, kind), in creation order (owners before Pods).
fn plan(total: usize) -> Vec<(&'static str, &'static str, usize)> {
    let deployments = total / 100;
    let replicasets = total / 100;
    let pods = total / 5;
    let services = total / 10;
    let secrets = total * 12 / 100;
    let configmaps = total - deployments - replicasets - pods - services - secrets;
    vec![
        ("v1", "ConfigMap", configmaps),
        ("v1", "Secret", secrets),
        ("v1", "Service", services),
        ("apps/v1", "Deployment", deployments),
        ("apps/v1", "ReplicaSet", replicasets),
        ("v1", "Pod", pods),
    ]
}

fn tracking(app: &str, group: &str, kind: &str, ns: &str, name: &str) -> Value {
    json!({"argocd.argoproj.io/tracking-id": format!("{app}:{group}/{kind}:{ns}/{name}")})
}

fn object(kind: &str, i: usize, ns: &str, owner_uid: Option<&str>) -> Value {
    let app = format!("team-{}", i % 40);
    match kind {
        "ConfigMap" => {
            let name = format!("feature-view-{i:06}");
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": ns,
                    "labels": {"app.kubernetes.io/part-of": "feast", "shard": (i % 16).to_string()},
                    "annotations": tracking(&app, "", "ConfigMap", ns, &name)},
                "data": {"feature_view": format!("driver_hourly_stats_{i}"), "ttl": "86400s",
                    "source": "s3://ml-platform/features/driver_stats.parquet",
                    "entities": "driver_id", "online": "true"}})
        }
        "Secret" => {
            let name = format!("mlflow-db-{i:06}");
            json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": ns,
                    "annotations": tracking(&app, "", "Secret", ns, &name)},
                "data": {"username": "bWxmbG93", "password": "c2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA="}})
        }
        "Service" => {
            let name = format!("model-{i:06}");
            json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns,
                    "annotations": tracking(&app, "", "Service", ns, &name)},
                "spec": {"selector": {"app": name},
                    "ports": [{"name": "http", "port": 8000, "targetPort": 8000},
                              {"name": "grpc", "port": 8001, "targetPort": 8001}]}})
        }
        "Deployment" | "ReplicaSet" => {
            let name = format!("triton-{i:05}");
            let mut o = json!({"apiVersion": "apps/v1", "kind": kind,
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                "spec": {"replicas": 20, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "triton",
                            "image": "nvcr.io/nvidia/tritonserver:24.08-py3",
                            "ports": [{"containerPort": 8000}],
                            "resources": {"requests": {"cpu": "2", "memory": "8Gi"},
                                          "limits": {"nvidia.com/gpu": "1"}}}]}}}});
            if kind == "Deployment" {
                o["metadata"]["annotations"] = tracking(&app, "apps", kind, ns, &name);
            }
            if let Some(uid) = owner_uid {
                o["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
                    "kind": "Deployment", "name": name, "uid": uid, "controller": true}]);
            }
            o
        }
        _ => {
            let name = format!("triton-pod-{i:06}");
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": "triton"}},
                "spec": {"containers": [{"name": "triton",
                    "image": "nvcr.io/nvidia/tritonserver:24.08-py3",
                    "args": ["tritonserver", "--model-repository=s3://ml-platform/models"],
                    "env": [{"name": "CUDA_VISIBLE_DEVICES", "value": "0"},
                            {"name": "LOG_VERBOSE", "value": "0"}],
                    "ports": [{"containerPort": 8000}, {"containerPort": 8001}],
                    "resources": {"requests": {"cpu": "2", "memory": "8Gi"},
                                  "limits": {"nvidia.com/gpu": "1"}}}]}});
            if let Some(uid) = owner_uid {
                pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
                    "kind": "ReplicaSet", "name": "triton", "uid": uid, "controller": true}]);
            }
            pod
        }
    }
}

async fn kubectl_raw(kubeconfig: &std::path::Path, path: &str) -> (Duration, usize, u64) {
    let t = Instant::now();
    let out = tokio::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(ferrocd_reference_tools::kubectl())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["get", "--raw", path])
        .output()
        .await
        .expect("run kubectl");
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "kubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peak_kib = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    (elapsed, out.stdout.len(), peak_kib)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn live_cache_initial_sync_and_memory() {
    let total: usize = std::env::var("CACHE_BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let sandbox = Sandbox::start(SandboxOptions {
        simulate: false,
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let api = sandbox.api().clone();
    let ctx = WriteContext::controller("bench-setup");
    let rt = |api_version: &str, kind: &str| {
        api.registry
            .by_kind(api_version, kind)
            .unwrap_or_else(|| panic!("sandbox serves {kind}"))
    };
    let namespaces: Vec<String> = (0..NAMESPACES).map(|i| format!("ml-team-{i:02}")).collect();
    for ns in &namespaces {
        api.create(
            &rt("v1", "Namespace"),
            "",
            json!({"metadata": {"name": ns}}),
            &ctx,
        )
        .expect("namespace");
    }
    let t = Instant::now();
    // (namespace, uid) of the Deployments and ReplicaSets, owners of what follows.
    let mut owners: std::collections::HashMap<&str, Vec<(String, String)>> = Default::default();
    let mut created = 0;
    for (api_version, kind, count) in plan(total) {
        let resource = rt(api_version, kind);
        for i in 0..count {
            let owner_kind = match kind {
                "Pod" => "ReplicaSet",
                "ReplicaSet" => "Deployment",
                _ => "",
            };
            let (ns, owner) = match owners.get(owner_kind).filter(|o| !o.is_empty()) {
                Some(list) => {
                    let (ns, uid) = &list[i % list.len()];
                    (ns.clone(), Some(uid.as_str()))
                }
                None => (namespaces[i % NAMESPACES].clone(), None),
            };
            let obj = object(kind, i, &ns, owner);
            let stored = api
                .create(&resource, &ns, obj, &ctx)
                .unwrap_or_else(|e| panic!("create {kind} {i}: {e}"));
            if kind == "ReplicaSet" || kind == "Deployment" {
                let uid = stored["metadata"]["uid"].as_str().unwrap_or_default();
                owners
                    .entry(kind)
                    .or_default()
                    .push((ns.clone(), uid.to_string()));
            }
            created += 1;
        }
    }
    let setup = t.elapsed();

    // Reference: kubectl lists every kind in one request each.
    let mut kubectl_time = Duration::ZERO;
    let mut raw_bytes = 0;
    let mut kubectl_peak_kib = 0;
    for (api_version, kind, _) in plan(total) {
        let plural = rt(api_version, kind).plural.clone();
        let path = if api_version == "v1" {
            format!("/api/v1/{plural}")
        } else {
            format!("/apis/{api_version}/{plural}")
        };
        let (elapsed, bytes, peak) = kubectl_raw(&kubeconfig, &path).await;
        kubectl_time += elapsed;
        raw_bytes += bytes;
        kubectl_peak_kib = kubectl_peak_kib.max(peak);
    }

    let cluster = Cluster::from_kubeconfig(Some(&kubeconfig), None)
        .await
        .expect("connect");
    let heap_before = heap();
    let rss_before = rss_kib();
    let t = Instant::now();
    let page_size = std::env::var("CACHE_BENCH_PAGE_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CacheOptions::default().page_size);
    println!("page size: {page_size}");
    let cache = LiveCache::start(
        cluster,
        CacheOptions {
            page_size,
            ..CacheOptions::default()
        },
    )
    .await
    .expect("cache");
    let sync = t.elapsed();
    let rss_after = rss_kib();
    let heap_after = heap();
    let held = cache.object_count();
    let bytes_held = cache.bytes_held();
    assert!(
        held >= created,
        "cache holds {held} objects, {created} created"
    );
    assert!(cache.problems().is_empty(), "{:?}", cache.problems());
    // A tree from the owner index, and an application's objects, answered from memory.
    let t = Instant::now();
    let team = cache.inventory("team-0");
    let inventory_time = t.elapsed();
    let team_objects = team.tracked.len() + team.children.values().map(Vec::len).sum::<usize>();
    assert!(team_objects > 0);
    let heap_with_cache = heap();
    drop(team);
    drop(cache);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let heap_freed = heap_with_cache.saturating_sub(heap());

    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!("| measure | live cache | kubectl get --raw | ratio |");
    println!("|---|---|---|---|");
    println!("| objects | {held} | {created} | |");
    println!(
        "| initial sync / list of every kind | {:.2} s | {:.2} s | {:.2}x |",
        sync.as_secs_f64(),
        kubectl_time.as_secs_f64(),
        kubectl_time.as_secs_f64() / sync.as_secs_f64()
    );
    println!(
        "| bytes held (sum of compact JSON sizes) / raw list JSON | {:.1} MiB ({} B per object) | {:.1} MiB | {:.2} |",
        mib(bytes_held),
        bytes_held / held.max(1),
        mib(raw_bytes),
        bytes_held as f64 / raw_bytes.max(1) as f64
    );
    println!(
        "| heap freed when the cache is dropped | {:.1} MiB ({} B per object) | | |",
        mib(heap_freed),
        heap_freed / held.max(1)
    );
    println!(
        "| heap growth during start (incl. transient buffers) | {:.1} MiB | | |",
        mib(heap_after.saturating_sub(heap_before))
    );
    println!(
        "| RSS growth during start / kubectl peak RSS | {:.1} MiB | {:.1} MiB | {:.2} |",
        rss_after.saturating_sub(rss_before) as f64 / 1024.0,
        kubectl_peak_kib as f64 / 1024.0,
        rss_after.saturating_sub(rss_before) as f64 / kubectl_peak_kib.max(1) as f64
    );
    println!(
        "| inventory of one app ({team_objects} objects incl. Pods via owners) | {:.2} ms | | |",
        inventory_time.as_secs_f64() * 1000.0
    );
    println!(
        "| setup: in-process creates | {:.1} s | | |",
        setup.as_secs_f64()
    );
    sandbox.shutdown().await;
}
