//! `LiveCache` against a real API server (the sandbox, or the cluster of `KUBECONFIG` with
//! `FERROCD_TEST_REAL_CLUSTER=1`; the fault-injection tests need the sandbox).

use std::time::Duration;

use ferrocd_cluster::cache::{CacheEvent, CacheEventKind, CacheOptions, LAST_APPLIED, LiveCache};
use ferrocd_cluster::testing::TestCluster;
use ferrocd_cluster::{Cluster, DeleteOptions, WriteOptions};
use ferrocd_model::ResourceKey;
use serde_json::{Value, json};
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(20);

fn key(group: &str, kind: &str, ns: &str, name: &str) -> ResourceKey {
    ResourceKey::new(group, kind, ns, name)
}

fn tracking(app: &str, group: &str, kind: &str, ns: &str, name: &str) -> Value {
    json!({"argocd.argoproj.io/tracking-id": format!("{app}:{group}/{kind}:{ns}/{name}")})
}

async fn namespace(tc: &TestCluster, name: &str) -> String {
    let ns = tc.namespace(name);
    tc.cluster
        .apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            &WriteOptions::default(),
        )
        .await
        .expect("create namespace");
    ns
}

/// Options watching only `namespaces` (keeps tests on a shared real cluster small).
fn options(namespaces: &[&str]) -> CacheOptions {
    CacheOptions {
        namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        ..CacheOptions::default()
    }
}

fn manager_names(managed: Option<&Value>) -> Vec<String> {
    managed
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e["manager"].as_str().map(str::to_string))
        .collect()
}

/// Receives events until one matches, within `WAIT`.
async fn next_event(
    rx: &mut broadcast::Receiver<CacheEvent>,
    matches: impl Fn(&CacheEvent) -> bool,
) -> CacheEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if matches(&e) => return e,
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => panic!("event channel: {e}"),
            Err(_) => panic!("no matching cache event within {WAIT:?}"),
        }
    }
}

#[tokio::test]
async fn initial_sync_holds_existing_objects_trimmed() {
    let tc = TestCluster::start().await;
    let ns = namespace(&tc, "initial").await;
    let app = tc.namespace("mlflow");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "mlflow-config", "namespace": ns,
            "annotations": tracking(&app, "", "ConfigMap", &ns, "mlflow-config")},
        "data": {"backend-store-uri": "postgresql://mlflow@postgres:5432/mlflow"}});
    tc.cluster
        .apply(&cm, &WriteOptions::default())
        .await
        .expect("apply as ferrocd");
    // A second manager (kubectl client-side apply) leaves its copy and its fields.
    let mut by_kubectl = cm.clone();
    by_kubectl["metadata"]["annotations"][LAST_APPLIED] = json!("{\"kind\":\"ConfigMap\"}");
    by_kubectl["data"] = json!({"artifact-root": "s3://ml-platform/mlflow"});
    tc.cluster
        .apply(
            &by_kubectl,
            &WriteOptions {
                field_manager: "kubectl-client-side-apply".into(),
                ..Default::default()
            },
        )
        .await
        .expect("apply as kubectl");
    let live = tc
        .cluster
        .get(&key("", "ConfigMap", &ns, "mlflow-config"))
        .await
        .expect("get")
        .expect("exists");
    let mut all_managers = manager_names(live.pointer("/metadata/managedFields"));
    all_managers.sort();
    assert_eq!(all_managers, ["ferrocd", "kubectl-client-side-apply"]);

    let cache = LiveCache::start(tc.cluster.clone(), options(&[&ns]))
        .await
        .expect("cache starts");
    assert!(cache.problems().is_empty(), "{:?}", cache.problems());
    let held = cache
        .get(&key("", "ConfigMap", &ns, "mlflow-config"))
        .expect("held after the initial sync");
    assert_eq!(
        held.object()["data"]["artifact-root"],
        "s3://ml-platform/mlflow"
    );
    assert_eq!(held.object()["apiVersion"], "v1");
    assert!(held.object().pointer("/metadata/managedFields").is_none());
    assert!(
        held.object()["metadata"]["annotations"]
            .get(LAST_APPLIED)
            .is_none()
    );
    assert_eq!(manager_names(held.managed_fields().as_ref()), ["ferrocd"]);
    assert!(held.bytes() > 0 && held.bytes() < serde_json::to_vec(&live).map_or(0, |v| v.len()));

    // The namespace's default ServiceAccount and the Namespace itself are held too.
    assert!(cache.get(&key("", "Namespace", "", &ns)).is_some());
    let counts = cache.kind_counts();
    assert!(
        counts
            .iter()
            .any(|(g, k, n)| g.is_empty() && k == "ConfigMap" && *n >= 1),
        "{counts:?}"
    );
    assert_eq!(
        counts.iter().map(|(_, _, n)| n).sum::<usize>(),
        cache.object_count()
    );
    // Skipped by default.
    assert!(!counts.iter().any(|(_, k, _)| k == "Event" || k == "Lease"));

    // Same answer as the direct listing.
    let direct = tc
        .cluster
        .app_inventory(&app, std::slice::from_ref(&ns))
        .await
        .expect("direct inventory");
    let cached = cache.inventory(&app);
    assert_eq!(
        cached.tracked.keys().collect::<Vec<_>>(),
        direct.tracked.keys().collect::<Vec<_>>()
    );
    let cached_cm = &cached.tracked[&key("", "ConfigMap", &ns, "mlflow-config")];
    assert_eq!(
        manager_names(cached_cm.pointer("/metadata/managedFields")),
        ["ferrocd"]
    );
    cache.stop();
    tc.shutdown().await;
}

#[tokio::test]
async fn changes_arrive_with_app_and_owner_trees() {
    let tc = TestCluster::start().await;
    let ns = namespace(&tc, "changes").await;
    let app = tc.namespace("serving");
    let cache = LiveCache::start(tc.cluster.clone(), options(&[&ns]))
        .await
        .expect("cache starts");
    let mut events = cache.subscribe();

    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "triton", "namespace": ns,
            "annotations": tracking(&app, "apps", "Deployment", &ns, "triton")},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "triton"}},
            "template": {"metadata": {"labels": {"app": "triton"}},
                "spec": {"containers": [{"name": "triton",
                    "image": "nvcr.io/nvidia/tritonserver:24.08-py3",
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}});
    tc.cluster
        .apply(&deploy, &WriteOptions::default())
        .await
        .expect("apply deployment");
    let dkey = key("apps", "Deployment", &ns, "triton");
    let applied = next_event(&mut events, |e| e.key == dkey).await;
    assert_eq!(applied.app.as_deref(), Some(app.as_str()));
    assert_eq!(applied.kind, CacheEventKind::Applied);

    // The Deployment's Pods arrive, attributed to the Deployment's app (when a Pod is seen
    // before its ReplicaSet, the ReplicaSet's arrival attributes it).
    let pod_event = next_event(&mut events, |e| {
        e.key.kind == "Pod" && e.key.namespace == ns && e.app.is_some()
    })
    .await;
    assert_eq!(pod_event.app.as_deref(), Some(app.as_str()));

    let uid = cache.get(&dkey).expect("deployment held").uid().to_string();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let tree = cache.descendants_of(&uid);
        let pods = tree.iter().filter(|o| o.key().kind == "Pod").count();
        let sets = tree.iter().filter(|o| o.key().kind == "ReplicaSet").count();
        if pods >= 2 && sets >= 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "descendants never reached 1 ReplicaSet and 2 Pods: {:?}",
            tree.iter().map(|o| o.key().to_string()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let children = cache.children_of(&uid);
    assert!(children.iter().all(|c| c.key().kind == "ReplicaSet"));
    let pod = cache
        .descendants_of(&uid)
        .into_iter()
        .find(|o| o.key().kind == "Pod")
        .expect("a pod");
    assert_eq!(cache.app_of(pod.key()).as_deref(), Some(app.as_str()));
    let inventory = cache.inventory(&app);
    assert_eq!(inventory.tracked.len(), 1);
    assert!(inventory.descendants_of(&uid).len() >= 3);

    // An update.
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "triton-models", "namespace": ns,
            "annotations": tracking(&app, "", "ConfigMap", &ns, "triton-models")},
        "data": {"repository": "s3://ml-platform/models/v1"}});
    tc.cluster
        .apply(&cm, &WriteOptions::default())
        .await
        .expect("apply configmap");
    let ckey = key("", "ConfigMap", &ns, "triton-models");
    let mut v2 = cm.clone();
    v2["data"]["repository"] = json!("s3://ml-platform/models/v2");
    tc.cluster
        .apply(&v2, &WriteOptions::default())
        .await
        .expect("update configmap");
    let updated = cache
        .wait_for(
            &ckey,
            |o| o.is_some_and(|o| o.object()["data"]["repository"] == "s3://ml-platform/models/v2"),
            WAIT,
        )
        .await
        .expect("update seen")
        .expect("present");
    assert_eq!(updated.app(), Some(app.as_str()));
    assert_eq!(cache.app_objects(&app).len(), 2);

    // A delete.
    tc.cluster
        .delete(&ckey, &DeleteOptions::default())
        .await
        .expect("delete");
    let deleted = next_event(&mut events, |e| {
        e.key == ckey && e.kind == CacheEventKind::Deleted
    })
    .await;
    assert_eq!(deleted.app.as_deref(), Some(app.as_str()));
    assert!(cache.get(&ckey).is_none());
    let objects: Vec<String> = cache
        .app_objects(&app)
        .iter()
        .map(|o| o.key().to_string())
        .collect();
    assert_eq!(objects, [dkey.to_string()]);
    tc.shutdown().await;
}

#[tokio::test]
async fn a_crd_created_after_start_is_watched_and_dropped_with_its_crd() {
    let tc = TestCluster::start().await;
    let ns = namespace(&tc, "crd").await;
    let app = tc.namespace("models");
    let group = format!("{}.ferrocd.test", tc.namespace("serving"));
    let cache = LiveCache::start(tc.cluster.clone(), options(&[&ns]))
        .await
        .expect("cache starts");
    assert!(!cache.is_watching(&group, "ModelServer"));

    let crd_name = format!("modelservers.{group}");
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": "modelservers", "singular": "modelserver",
                      "kind": "ModelServer", "listKind": "ModelServerList"},
            "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}]}});
    tc.cluster
        .apply(&crd, &WriteOptions::default())
        .await
        .expect("create CRD");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cache.is_watching(&group, "ModelServer") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new kind is never watched"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let server = json!({"apiVersion": format!("{group}/v1alpha1"), "kind": "ModelServer",
        "metadata": {"name": "fraud-xgboost", "namespace": ns,
            "annotations": tracking(&app, &group, "ModelServer", &ns, "fraud-xgboost")},
        "spec": {"runtime": "triton", "gpus": 1, "storageUri": "s3://ml-platform/models/fraud"}});
    tc.cluster
        .apply(&server, &WriteOptions::default())
        .await
        .expect("create custom resource");
    let skey = key(&group, "ModelServer", &ns, "fraud-xgboost");
    let held = cache
        .wait_for(&skey, |o| o.is_some(), WAIT)
        .await
        .expect("custom resource cached")
        .expect("present");
    assert_eq!(held.object()["spec"]["runtime"], "triton");
    assert_eq!(cache.app_objects(&app).len(), 1);

    tc.cluster
        .delete(
            &key(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "",
                &crd_name,
            ),
            &DeleteOptions::default(),
        )
        .await
        .expect("delete CRD");
    cache
        .wait_for(&skey, |o| o.is_none(), WAIT)
        .await
        .expect("its objects leave the cache");
    let deadline = tokio::time::Instant::now() + WAIT;
    while cache.is_watching(&group, "ModelServer") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the removed kind is still watched"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tc.shutdown().await;
}

/// A sandbox with a tiny watch cache, so that a watch resumed after a gap gets 410 Gone.
async fn sandbox_with_small_watch_cache() -> Option<(ferrocd_sandbox::Sandbox, Cluster)> {
    if std::env::var("FERROCD_TEST_REAL_CLUSTER").as_deref() == Ok("1") {
        return None; // fault injection needs the sandbox
    }
    let sandbox = ferrocd_sandbox::Sandbox::start(ferrocd_sandbox::SandboxOptions {
        watch_cache_size: 8,
        ..Default::default()
    })
    .await
    .expect("start the sandbox");
    let cluster = Cluster::from_kubeconfig_yaml(&sandbox.kubeconfig_yaml(), None, "sandbox")
        .await
        .expect("connect");
    Some((sandbox, cluster))
}

fn feature_cm(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns,
            "annotations": tracking("features", "", "ConfigMap", ns, name)},
        "data": {"feature_view": "driver_hourly_stats", "ttl": "86400s"}})
}

#[tokio::test]
async fn converges_after_dropped_watches_and_410_including_missed_deletes() {
    let Some((sandbox, cluster)) = sandbox_with_small_watch_cache().await else {
        return;
    };
    let ns = "feast";
    cluster
        .apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            &WriteOptions::default(),
        )
        .await
        .expect("namespace");
    for name in ["driver-stats", "customer-stats"] {
        cluster
            .apply(&feature_cm(ns, name), &WriteOptions::default())
            .await
            .expect("apply");
    }
    let cache = LiveCache::start(cluster.clone(), options(&[]))
        .await
        .expect("cache starts");
    let gone = key("", "ConfigMap", ns, "customer-stats");
    assert!(cache.get(&gone).is_some());
    let mut events = cache.subscribe();

    // Cut every watch and keep them from coming back while the cluster changes.
    sandbox
        .faults()
        .set_error_rate(ferrocd_sandbox::Verb::Watch, 1.0);
    sandbox.faults().drop_watches();
    tokio::time::sleep(Duration::from_millis(200)).await;
    cluster
        .delete(&gone, &DeleteOptions::default())
        .await
        .expect("delete while disconnected");
    // Enough writes to push the cache's last position out of the server's watch window.
    for i in 0..20 {
        cluster
            .apply(
                &feature_cm(ns, &format!("trip-stats-{i:02}")),
                &WriteOptions::default(),
            )
            .await
            .expect("apply while disconnected");
    }
    sandbox.faults().clear();

    cache
        .wait_for(&gone, |o| o.is_none(), WAIT)
        .await
        .expect("the delete missed while disconnected is reflected");
    let deleted = next_event(&mut events, |e| e.key == gone).await;
    assert_eq!(deleted.kind, CacheEventKind::Deleted);
    assert_eq!(deleted.app.as_deref(), Some("features"));
    cache
        .wait_for(
            &key("", "ConfigMap", ns, "trip-stats-19"),
            |o| o.is_some(),
            WAIT,
        )
        .await
        .expect("objects created while disconnected arrive");
    assert!(
        cache
            .get(&key("", "ConfigMap", ns, "driver-stats"))
            .is_some()
    );
    assert_eq!(cache.app_objects("features").len(), 21);

    // Watches dropped every 300 ms while objects change: the cache still converges.
    sandbox.faults().set(ferrocd_sandbox::FaultConfig {
        drop_watches_after: Some(Duration::from_millis(300)),
        latency: Duration::from_millis(5),
        ..Default::default()
    });
    for i in 0..20 {
        let k = key("", "ConfigMap", ns, &format!("trip-stats-{i:02}"));
        if i % 2 == 0 {
            cluster
                .delete(&k, &DeleteOptions::default())
                .await
                .expect("delete");
        } else {
            let mut cm = feature_cm(ns, &k.name);
            cm["data"]["ttl"] = json!("3600s");
            cluster
                .apply(&cm, &WriteOptions::default())
                .await
                .expect("update");
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let last = key("", "ConfigMap", ns, "trip-stats-19");
    cache
        .wait_for(
            &last,
            |o| o.is_some_and(|o| o.object()["data"]["ttl"] == "3600s"),
            WAIT,
        )
        .await
        .expect("updates under dropped watches arrive");
    let deadline = tokio::time::Instant::now() + WAIT;
    while cache.app_objects("features").len() != 11 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "cache never converged: {} objects",
            cache.app_objects("features").len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let truth = cluster.list("", "ConfigMap", Some(ns)).await.expect("list");
    let mut truth: Vec<String> = truth
        .iter()
        .filter_map(|o| o.pointer("/metadata/name")?.as_str().map(str::to_string))
        .collect();
    truth.sort();
    let mut held: Vec<String> = cache
        .app_objects("features")
        .iter()
        .map(|o| o.key().name.clone())
        .collect();
    held.sort();
    let held_cms: Vec<String> = truth
        .iter()
        .filter(|n| *n != "kube-root-ca.crt")
        .cloned()
        .collect();
    assert_eq!(held, held_cms);
    cache.stop();
    sandbox.shutdown().await;
}

#[tokio::test]
async fn stop_ends_the_watches() {
    let tc = TestCluster::start().await;
    let ns = namespace(&tc, "stop").await;
    let cache = LiveCache::start(tc.cluster.clone(), options(&[&ns]))
        .await
        .expect("cache starts");
    assert!(cache.is_watching("", "ConfigMap"));
    cache.stop();
    assert!(!cache.is_watching("", "ConfigMap"));
    tc.cluster
        .apply(
            &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "after-stop", "namespace": ns}}),
            &WriteOptions::default(),
        )
        .await
        .expect("apply");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        cache
            .get(&key("", "ConfigMap", &ns, "after-stop"))
            .is_none()
    );
    tc.shutdown().await;
}
