//! Sandbox benchmark: list of many objects, many concurrent watches, memory per stored object.
//!
//! `cargo run --release -p ferrocd-sandbox --example bench -- [OBJECTS] [WATCHES]`
//! (defaults: 10000 objects, 1000 watches). Prints a Markdown table of the figures.

use std::time::{Duration, Instant};

use ferrocd_sandbox::apiserver::WriteContext;
use ferrocd_sandbox::{Sandbox, SandboxOptions};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn object(i: usize) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("feature-{i:05}"), "namespace": "bench",
            "labels": {"app.kubernetes.io/name": "feast", "app.kubernetes.io/part-of": "ml-platform", "shard": (i % 16).to_string()},
            "annotations": {"argocd.argoproj.io/tracking-id": format!("features:/ConfigMap:bench/feature-{i:05}")}},
        "data": {"feature_view": format!("driver_hourly_stats_{i}"), "ttl": "86400s",
            "source": "s3://ml-platform/features/driver_stats.parquet", "entities": "driver_id"}})
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let objects = args.first().copied().unwrap_or(10_000);
    let watches = args.get(1).copied().unwrap_or(1_000);
    print!("{}", run(objects, watches).await?);
    Ok(())
}

/// Runs the benchmark and returns the Markdown table.
pub async fn run(objects: usize, watches: usize) -> anyhow::Result<String> {
    use std::fmt::Write;
    let mut out = String::new();
    let sandbox = Sandbox::start(SandboxOptions {
        simulate: false,
        ..SandboxOptions::default()
    })
    .await?;
    let client = sandbox.client().await?;
    let api = sandbox.api().clone();
    let ctx = WriteContext::controller("bench");
    let ns_rt = api
        .registry
        .by_kind("v1", "Namespace")
        .ok_or_else(|| anyhow::anyhow!("no namespaces"))?;
    api.create(&ns_rt, "", json!({"metadata": {"name": "bench"}}), &ctx)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let cm_rt = api
        .registry
        .by_kind("v1", "ConfigMap")
        .ok_or_else(|| anyhow::anyhow!("no configmaps"))?;

    // in-process creates and memory per object
    let rss_before = rss_bytes();
    let t = Instant::now();
    for i in 0..objects {
        api.create(&cm_rt, "bench", object(i), &ctx)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let create_in_process = t.elapsed();
    let rss_after = rss_bytes();
    let per_object = rss_after.saturating_sub(rss_before) / objects.max(1) as u64;
    let stored = api
        .store
        .get(&cm_rt.id(), "bench", "feature-00000")
        .map(|o| o.to_string().len())
        .unwrap_or(0);

    // creates over HTTPS
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "bench");
    let n_http = (objects / 10).clamp(10, 1000);
    let t = Instant::now();
    for i in 0..n_http {
        let cm: ConfigMap = serde_json::from_value(object(objects + i))?;
        cms.create(&PostParams::default(), &cm).await?;
    }
    let create_http = t.elapsed() / n_http as u32;

    // list everything, full and paginated
    let total = objects + n_http;
    let mut full = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let l = cms.list(&ListParams::default()).await?;
        anyhow::ensure!(
            l.items.len() == total,
            "listed {} of {total}",
            l.items.len()
        );
        full.push(t.elapsed());
    }
    let mut paged = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut lp = ListParams::default().limit(500);
        let mut n = 0;
        loop {
            let page = cms.list(&lp).await?;
            n += page.items.len();
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(c) => lp = ListParams::default().limit(500).continue_token(&c),
                None => break,
            }
        }
        anyhow::ensure!(n == total, "paged {n} of {total}");
        paged.push(t.elapsed());
    }
    let mut selected = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let l = cms.list(&ListParams::default().labels("shard=3")).await?;
        anyhow::ensure!(!l.items.is_empty(), "selector matched nothing");
        selected.push(t.elapsed());
    }

    // concurrent watches
    let rv = cms
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    let rss_watch_before = rss_bytes();
    let t = Instant::now();
    let mut streams = Vec::new();
    for _ in 0..watches {
        streams.push(
            cms.watch(
                &WatchParams::default().timeout(120).disable_bookmarks(),
                &rv,
            )
            .await?
            .boxed(),
        );
    }
    let watch_open = t.elapsed();
    let rss_watch = rss_bytes().saturating_sub(rss_watch_before);
    let events = 10;
    let t = Instant::now();
    let waiters: Vec<_> = streams
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut n = 0;
                while n < events {
                    match s.try_next().await {
                        Ok(Some(WatchEvent::Added(_))) => n += 1,
                        Ok(Some(_)) => {}
                        _ => return false,
                    }
                }
                true
            })
        })
        .collect();
    for i in 0..events {
        let cm: ConfigMap = serde_json::from_value(object(objects + n_http + i))?;
        cms.create(&PostParams::default(), &cm).await?;
    }
    let mut delivered = 0;
    for w in waiters {
        if w.await.unwrap_or(false) {
            delivered += 1;
        }
    }
    let fan_out = t.elapsed();
    anyhow::ensure!(
        delivered == watches,
        "{delivered} of {watches} watches got every event"
    );

    writeln!(out, "| measure | value |")?;
    writeln!(out, "|---|---|")?;
    writeln!(out, "| objects stored | {total} |")?;
    writeln!(
        out,
        "| create, in-process (per object) | {:.1} µs |",
        create_in_process.as_secs_f64() * 1e6 / objects.max(1) as f64
    )?;
    writeln!(
        out,
        "| create over HTTPS (per object, sequential) | {:.2} ms |",
        create_http.as_secs_f64() * 1e3
    )?;
    writeln!(
        out,
        "| memory per stored object (RSS growth) | {per_object} B (JSON size {stored} B, ratio {:.1}x) |",
        per_object as f64 / stored.max(1) as f64
    )?;
    writeln!(
        out,
        "| list all {total} objects (median of 5) | {:.1} ms |",
        median(full).as_secs_f64() * 1e3
    )?;
    writeln!(
        out,
        "| list all in pages of 500 (median of 3) | {:.1} ms |",
        median(paged).as_secs_f64() * 1e3
    )?;
    writeln!(
        out,
        "| list with label selector (1/16 match, median of 5) | {:.1} ms |",
        median(selected).as_secs_f64() * 1e3
    )?;
    writeln!(
        out,
        "| open {watches} concurrent watches | {:.1} ms ({:.2} ms each) |",
        watch_open.as_secs_f64() * 1e3,
        watch_open.as_secs_f64() * 1e3 / watches.max(1) as f64
    )?;
    writeln!(
        out,
        "| {events} events to {watches} watches (all delivered) | {:.1} ms |",
        fan_out.as_secs_f64() * 1e3
    )?;
    writeln!(
        out,
        "| memory per open watch (server and client in one process) | {:.1} KiB |",
        rss_watch as f64 / 1024.0 / watches.max(1) as f64
    )?;
    sandbox.shutdown().await;
    Ok(out)
}
