//! Fault injection through the in-process handle: latency, error rates per verb, forced
//! conflicts and dropped watches. Sandbox only.

mod common;

use std::time::{Duration, Instant};

use common::{TestCluster, status_of};
use ferrocd_sandbox::Verb;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchParams};
use serde_json::json;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).expect("cm")
}

#[tokio::test]
async fn error_rates_latency_and_conflicts() {
    let tc = TestCluster::start().await;
    let Some(sb) = &tc.sandbox else {
        return tc.finish().await;
    };
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), "default");
    api.create(&PostParams::default(), &cm("prometheus-rules"))
        .await
        .expect("create");

    // 500 (kube-rs retries 503/504 on its own, which would only slow the test down)
    sb.faults().set_error_code(500);
    sb.faults().set_error_rate(Verb::Get, 1.0);
    let s = status_of(api.get("prometheus-rules").await.expect_err("injected"));
    assert_eq!((s.code, s.reason.as_str()), (500, "InternalError"));
    api.list(&ListParams::default())
        .await
        .expect("list is not affected");
    sb.faults().set_error_rate(Verb::Get, 0.0);
    api.get("prometheus-rules").await.expect("healthy again");

    sb.faults().set_latency(Duration::from_millis(150));
    let t = Instant::now();
    api.get("prometheus-rules").await.expect("slow get");
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
    sb.faults().set_latency(Duration::ZERO);

    sb.faults().force_conflicts(1);
    let pp = PatchParams::default();
    let s = status_of(
        api.patch(
            "prometheus-rules",
            &pp,
            &Patch::Merge(json!({"data": {"k": "w"}})),
        )
        .await
        .expect_err("conflict"),
    );
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    api.patch(
        "prometheus-rules",
        &pp,
        &Patch::Merge(json!({"data": {"k": "w"}})),
    )
    .await
    .expect("next write passes");
    tc.finish().await;
}

#[tokio::test]
async fn dropped_watches_end_the_stream() {
    let tc = TestCluster::start().await;
    let Some(sb) = &tc.sandbox else {
        return tc.finish().await;
    };
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), "default");
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let mut stream = api
        .watch(&WatchParams::default().timeout(30).disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    api.create(&PostParams::default(), &cm("grafana-dashboards"))
        .await
        .expect("create");
    let first = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("event");
    assert!(matches!(first, Ok(Some(_))));
    sb.faults().drop_watches();
    let end = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("stream ends promptly");
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
    tc.finish().await;
}
