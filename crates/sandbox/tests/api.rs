//! API conformance through kube-rs: discovery, CRUD, Status errors, server-populated fields,
//! list selectors and pagination, watches, dry runs, patches, server-side apply, CRDs and
//! deletion semantics. Runs against the sandbox, or a real cluster (see `common`).

mod common;

use std::time::Duration;

use common::{TestCluster, eventually, status_of};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams,
    PropagationPolicy, WatchEvent, WatchParams,
};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

fn cm(name: &str, data: Value) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"app": "airflow"}}, "data": data}),
    )
    .expect("configmap")
}

fn deployment(name: &str, image: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "server", "image": image, "ports": [{"containerPort": 8080}]}]}}}
    }))
    .expect("deployment")
}

#[tokio::test]
async fn discovery_serves_builtin_groups() {
    let tc = TestCluster::start().await;
    let discovery = kube::discovery::Discovery::new(tc.client.clone())
        .run()
        .await
        .expect("discovery");
    let mut found = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            found.push((
                ar.group.clone(),
                ar.kind.clone(),
                caps.scope == kube::discovery::Scope::Namespaced,
            ));
        }
    }
    for (g, k, namespaced) in [
        ("", "Namespace", false),
        ("", "ConfigMap", true),
        ("", "PersistentVolume", false),
        ("apps", "Deployment", true),
        ("batch", "CronJob", true),
        ("networking.k8s.io", "Ingress", true),
        ("rbac.authorization.k8s.io", "ClusterRole", false),
        ("autoscaling", "HorizontalPodAutoscaler", true),
        ("policy", "PodDisruptionBudget", true),
        ("coordination.k8s.io", "Lease", true),
        ("storage.k8s.io", "StorageClass", false),
        ("apiextensions.k8s.io", "CustomResourceDefinition", false),
    ] {
        assert!(
            found.contains(&(g.to_string(), k.to_string(), namespaced)),
            "{g}/{k} missing from discovery"
        );
    }
    let v = tc.client.apiserver_version().await.expect("version");
    assert_eq!(v.major, "1");
    tc.finish().await;
}

#[tokio::test]
async fn crud_with_server_populated_fields_and_status_errors() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("crud").await;
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), &ns);
    let mut generated: ConfigMap = cm("", json!({"dag": "etl"}));
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("airflow-".into());
    let created = api
        .create(&PostParams::default(), &generated)
        .await
        .expect("create");
    let name = created.metadata.name.clone().expect("generated name");
    assert!(
        name.starts_with("airflow-") && name.len() == "airflow-".len() + 5,
        "{name}"
    );
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    let rv1 = created
        .metadata
        .resource_version
        .clone()
        .expect("resourceVersion");

    // update with the current resourceVersion works, then the old one conflicts
    let mut changed = created.clone();
    changed.data = Some([("dag".to_string(), "ml-training".to_string())].into());
    let updated = api
        .replace(&name, &PostParams::default(), &changed)
        .await
        .expect("update");
    assert_ne!(
        updated.metadata.resource_version.as_deref(),
        Some(rv1.as_str())
    );
    let stale = api
        .replace(&name, &PostParams::default(), &changed)
        .await
        .expect_err("stale update");
    let s = status_of(stale);
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        s.message,
        format!(
            "Operation cannot be fulfilled on configmaps \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
        )
    );

    // AlreadyExists
    let dup = api
        .create(&PostParams::default(), &cm(&name, json!({})))
        .await
        .expect_err("duplicate");
    let s = status_of(dup);
    assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(s.message, format!("configmaps \"{name}\" already exists"));

    // Invalid name
    let bad = api
        .create(&PostParams::default(), &cm("Not_Valid", json!({})))
        .await
        .expect_err("invalid");
    let s = status_of(bad);
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert!(
        s.message.starts_with(
            "ConfigMap \"Not_Valid\" is invalid: metadata.name: Invalid value: \"Not_Valid\""
        ),
        "{}",
        s.message
    );
    let d = s.details.expect("details");
    assert_eq!(d.kind, "ConfigMap");
    assert_eq!(
        d.causes.first().map(|c| c.field.as_str()),
        Some("metadata.name")
    );

    // namespace must exist
    let missing: Api<ConfigMap> = Api::namespaced(tc.client.clone(), "no-such-namespace-xyz");
    let s = status_of(
        missing
            .create(&PostParams::default(), &cm("a", json!({})))
            .await
            .expect_err("no namespace"),
    );
    assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));
    assert_eq!(s.message, "namespaces \"no-such-namespace-xyz\" not found");

    // delete, then NotFound with details
    api.delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    let s = status_of(api.get(&name).await.expect_err("gone"));
    assert_eq!((s.code, s.reason.as_str()), (404, "NotFound"));
    assert_eq!(s.message, format!("configmaps \"{name}\" not found"));
    let d = s.details.expect("details");
    assert_eq!(
        (d.name.as_str(), d.kind.as_str()),
        (name.as_str(), "configmaps")
    );
    tc.finish().await;
}

#[tokio::test]
async fn default_namespaces_exist() {
    let tc = TestCluster::start().await;
    let api: Api<Namespace> = Api::all(tc.client.clone());
    for ns in ["default", "kube-system"] {
        let n = api.get(ns).await.expect("namespace exists");
        assert_eq!(n.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    }
    tc.finish().await;
}

#[tokio::test]
async fn generation_bumps_on_spec_changes_only() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("gen").await;
    let api: Api<Deployment> = Api::namespaced(tc.client.clone(), &ns);
    let d = api
        .create(
            &PostParams::default(),
            &deployment("triton", "nvcr.io/nvidia/tritonserver:24.01-py3", 0),
        )
        .await
        .expect("create");
    assert_eq!(d.metadata.generation, Some(1));
    let pp = PatchParams::default();
    let d = api
        .patch(
            "triton",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"team": "ml"}}})),
        )
        .await
        .expect("label");
    assert_eq!(
        d.metadata.generation,
        Some(1),
        "metadata changes keep the generation"
    );
    let d = api
        .patch(
            "triton",
            &pp,
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .expect("scale");
    assert_eq!(
        d.metadata.generation,
        Some(2),
        "spec changes bump the generation"
    );
    // the main resource ignores status; the status subresource ignores spec
    let d = api
        .patch(
            "triton",
            &pp,
            &Patch::Merge(json!({"status": {"replicas": 42}})),
        )
        .await
        .expect("status via main");
    assert_ne!(d.status.and_then(|s| s.replicas), Some(42));
    tc.finish().await;
}

#[tokio::test]
async fn defaults_and_service_addresses() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("defaults").await;
    let api: Api<Deployment> = Api::namespaced(tc.client.clone(), &ns);
    let d = api
        .create(
            &PostParams::default(),
            &deployment("mlflow", "ghcr.io/mlflow/mlflow:latest", 0),
        )
        .await
        .expect("create");
    let spec = d.spec.expect("spec");
    assert_eq!(spec.revision_history_limit, Some(10));
    assert_eq!(spec.progress_deadline_seconds, Some(600));
    let strategy = spec.strategy.expect("strategy");
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    let pod = spec.template.spec.expect("pod spec");
    assert_eq!(pod.restart_policy.as_deref(), Some("Always"));
    assert_eq!(pod.dns_policy.as_deref(), Some("ClusterFirst"));
    assert_eq!(pod.scheduler_name.as_deref(), Some("default-scheduler"));
    assert_eq!(pod.termination_grace_period_seconds, Some(30));
    let c = &pod.containers[0];
    assert_eq!(
        c.image_pull_policy.as_deref(),
        Some("Always"),
        "latest tag pulls always"
    );
    assert_eq!(
        c.termination_message_path.as_deref(),
        Some("/dev/termination-log")
    );
    assert_eq!(c.termination_message_policy.as_deref(), Some("File"));
    assert_eq!(
        c.ports
            .as_ref()
            .and_then(|p| p[0].protocol.clone())
            .as_deref(),
        Some("TCP")
    );

    let svcs: Api<Service> = Api::namespaced(tc.client.clone(), &ns);
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "mlflow"},
        "spec": {"selector": {"app": "mlflow"}, "ports": [{"port": 80, "targetPort": 5000}]}}))
    .expect("svc");
    let svc = svcs
        .create(&PostParams::default(), &svc)
        .await
        .expect("service");
    let spec = svc.spec.expect("spec");
    assert_eq!(spec.type_.as_deref(), Some("ClusterIP"));
    assert_eq!(spec.session_affinity.as_deref(), Some("None"));
    assert_eq!(spec.ip_families, Some(vec!["IPv4".to_string()]));
    let ip: std::net::Ipv4Addr = spec
        .cluster_ip
        .as_deref()
        .expect("clusterIP")
        .parse()
        .expect("an IPv4 address");
    if tc.is_sandbox() {
        let o = ip.octets();
        assert!(
            o[0] == 10 && (96..112).contains(&o[1]),
            "{ip} in 10.96.0.0/12"
        );
    }
    assert_eq!(
        spec.ports
            .as_ref()
            .and_then(|p| p[0].protocol.clone())
            .as_deref(),
        Some("TCP")
    );
    tc.finish().await;
}

#[tokio::test]
async fn list_selectors_and_pagination() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("list").await;
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), &ns);
    for (i, tier) in ["web", "api", "db", "web", "api", "db", "web"]
        .iter()
        .enumerate()
    {
        let mut c = cm(&format!("cfg-{i}"), json!({}));
        c.metadata.labels = Some(
            [
                ("tier".to_string(), tier.to_string()),
                ("app".to_string(), "airflow".to_string()),
            ]
            .into(),
        );
        api.create(&PostParams::default(), &c)
            .await
            .expect("create");
    }
    let names = |l: &kube::core::ObjectList<ConfigMap>| -> Vec<String> {
        l.items
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect()
    };
    let web = api
        .list(&ListParams::default().labels("tier=web"))
        .await
        .expect("list");
    assert_eq!(names(&web), vec!["cfg-0", "cfg-3", "cfg-6"]);
    let set = api
        .list(&ListParams::default().labels("tier in (api,db),app=airflow"))
        .await
        .expect("list");
    assert_eq!(set.items.len(), 4);
    let notin = api
        .list(&ListParams::default().labels("tier notin (web,api),!missing"))
        .await
        .expect("list");
    assert_eq!(names(&notin), vec!["cfg-2", "cfg-5"]);
    let one = api
        .list(&ListParams::default().fields("metadata.name=cfg-4"))
        .await
        .expect("list");
    assert_eq!(names(&one), vec!["cfg-4"]);
    let bad = api
        .list(&ListParams::default().labels("tier in (web"))
        .await
        .expect_err("bad selector");
    assert_eq!(status_of(bad).code, 400);

    let mut all = Vec::new();
    let mut lp = ListParams::default().limit(3);
    let mut pages = 0;
    loop {
        let page = api.list(&lp).await.expect("page");
        pages += 1;
        assert!(page.items.len() <= 3);
        all.extend(names(&page));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => lp = ListParams::default().limit(3).continue_token(&c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(all.len(), 7);
    // cross-namespace list sees them too
    let every: Api<ConfigMap> = Api::all(tc.client.clone());
    let l = every
        .list(&ListParams::default().fields(&format!("metadata.namespace={ns}")))
        .await
        .expect("list all");
    assert!(l.items.len() >= 7);
    tc.finish().await;
}

#[tokio::test]
async fn watch_streams_changes_and_bookmarks() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("watch").await;
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), &ns);
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let stream = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .expect("watch");
    let mut stream = stream.boxed();
    api.create(
        &PostParams::default(),
        &cm("feature-store", json!({"a": "1"})),
    )
    .await
    .expect("create");
    api.patch(
        "feature-store",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"a": "2"}})),
    )
    .await
    .expect("patch");
    api.delete("feature-store", &DeleteParams::default())
        .await
        .expect("delete");
    let mut seen = Vec::new();
    let mut bookmark = false;
    while seen.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .expect("event in time")
            .expect("ok")
            .expect("open");
        match ev {
            WatchEvent::Added(c) => seen.push(("ADDED", c.data.and_then(|d| d.get("a").cloned()))),
            WatchEvent::Modified(c) => {
                seen.push(("MODIFIED", c.data.and_then(|d| d.get("a").cloned())))
            }
            WatchEvent::Deleted(c) => {
                seen.push(("DELETED", c.data.and_then(|d| d.get("a").cloned())))
            }
            WatchEvent::Bookmark(_) => bookmark = true,
            WatchEvent::Error(e) => panic!("watch error {e:?}"),
        }
    }
    assert_eq!(
        seen,
        vec![
            ("ADDED", Some("1".into())),
            ("MODIFIED", Some("2".into())),
            ("DELETED", Some("2".into()))
        ]
    );
    if tc.is_sandbox() && !bookmark {
        // bookmarks come every 200ms in the test sandbox
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .expect("bookmark in time");
        assert!(matches!(ev, Ok(Some(WatchEvent::Bookmark(_)))), "{ev:?}");
    }
    tc.finish().await;
}

#[tokio::test]
async fn watch_from_a_compacted_version_is_gone() {
    let mut opts = common::fast();
    opts.watch_cache_size = 16;
    let mut tc = TestCluster::start_with(opts).await;
    let ns = tc.namespace("gone").await;
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), &ns);
    for i in 0..40 {
        api.create(&PostParams::default(), &cm(&format!("c{i}"), json!({})))
            .await
            .expect("create");
    }
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), "1")
        .await
        .expect("watch")
        .boxed();
    let ev = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .expect("in time");
    match ev {
        Ok(Some(WatchEvent::Error(e))) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 410),
        other => panic!("expected 410 Gone, got {other:?}"),
    }
    tc.finish().await;
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("dryrun").await;
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), &ns);
    let pp = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let out = api
        .create(&pp, &cm("shadow", json!({"a": "1"})))
        .await
        .expect("dry-run create");
    assert_eq!(out.metadata.name.as_deref(), Some("shadow"));
    assert_eq!(
        status_of(api.get("shadow").await.expect_err("not stored")).code,
        404
    );
    let ssa = PatchParams::apply("ferrocd").dry_run();
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shadow"}, "data": {"a": "1"}});
    api.patch("shadow", &ssa, &Patch::Apply(&applied))
        .await
        .expect("dry-run apply");
    assert_eq!(
        status_of(api.get("shadow").await.expect_err("not stored")).code,
        404
    );
    api.create(&PostParams::default(), &cm("real", json!({"a": "1"})))
        .await
        .expect("create");
    let dp = DeleteParams {
        dry_run: true,
        ..DeleteParams::default()
    };
    api.delete("real", &dp).await.expect("dry-run delete");
    api.get("real").await.expect("still there");
    let merge = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    let p = api
        .patch("real", &merge, &Patch::Merge(json!({"data": {"a": "2"}})))
        .await
        .expect("dry-run patch");
    assert_eq!(
        p.data.and_then(|d| d.get("a").cloned()).as_deref(),
        Some("2")
    );
    let live = api.get("real").await.expect("get");
    assert_eq!(
        live.data.and_then(|d| d.get("a").cloned()).as_deref(),
        Some("1")
    );
    tc.finish().await;
}

fn managers(cm: &ConfigMap) -> Vec<(String, String)> {
    cm.metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn server_side_apply_conflicts_force_and_removal() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("ssa").await;
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), &ns);
    let doc = |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "model-config"}, "data": data});
    let alice = PatchParams::apply("alice");
    let c = api
        .patch(
            "model-config",
            &alice,
            &Patch::Apply(doc(json!({"batch": "32", "lr": "0.01"}))),
        )
        .await
        .expect("apply");
    assert_eq!(
        managers(&c),
        vec![("alice".to_string(), "Apply".to_string())]
    );
    let fields = c
        .metadata
        .managed_fields
        .as_ref()
        .and_then(|m| m[0].fields_v1.clone())
        .expect("fieldsV1");
    assert_eq!(fields.0, json!({"f:data": {"f:batch": {}, "f:lr": {}}}));

    // bob conflicts on a field alice owns with another value
    let bob = PatchParams::apply("bob");
    let err = api
        .patch(
            "model-config",
            &bob,
            &Patch::Apply(doc(json!({"lr": "0.1"}))),
        )
        .await
        .expect_err("conflict");
    let s = status_of(err);
    assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
    assert!(
        s.message.contains("conflict with \"alice\""),
        "{}",
        s.message
    );
    assert!(s.message.contains(".data.lr"), "{}", s.message);

    // with force bob takes the field
    let c = api
        .patch(
            "model-config",
            &bob.clone().force(),
            &Patch::Apply(doc(json!({"lr": "0.1"}))),
        )
        .await
        .expect("forced");
    assert_eq!(
        c.data
            .as_ref()
            .and_then(|d| d.get("lr"))
            .map(String::as_str),
        Some("0.1")
    );
    let m = managers(&c);
    assert!(m.contains(&("bob".to_string(), "Apply".to_string())));

    // alice stops applying `batch`: it goes; `lr` now belongs to bob and stays
    let c = api
        .patch("model-config", &alice, &Patch::Apply(doc(json!({}))))
        .await
        .expect("apply");
    let data = c.data.unwrap_or_default();
    assert!(!data.contains_key("batch"), "batch removed: {data:?}");
    assert_eq!(data.get("lr").map(String::as_str), Some("0.1"));

    // an Update by another manager is tracked as operation Update
    let c = api
        .patch(
            "model-config",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"epochs": "10"}})),
        )
        .await
        .expect("merge patch");
    assert!(
        managers(&c).iter().any(|(_, op)| op == "Update"),
        "{:?}",
        managers(&c)
    );
    tc.finish().await;
}

#[tokio::test]
async fn patch_types_follow_kubernetes_semantics() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("patch").await;
    let api: Api<Deployment> = Api::namespaced(tc.client.clone(), &ns);
    let mut d = deployment("serving", "seldonio/mlserver:1.3.5", 0);
    if let Some(spec) = d.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        spec.containers.push(
            serde_json::from_value(
                json!({"name": "exporter", "image": "prom/statsd-exporter:v0.26.0"}),
            )
            .expect("container"),
        );
    }
    api.create(&PostParams::default(), &d)
        .await
        .expect("create");
    let pp = PatchParams::default();
    let containers = |d: &Deployment| -> Vec<(String, String)> {
        d.spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .map(|s| {
                s.containers
                    .iter()
                    .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    };
    // strategic: merged by container name
    let d = api
        .patch(
            "serving",
            &pp,
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "server", "image": "seldonio/mlserver:1.4.0"}]}}}})),
        )
        .await
        .expect("strategic");
    assert_eq!(
        containers(&d),
        vec![
            ("server".to_string(), "seldonio/mlserver:1.4.0".to_string()),
            (
                "exporter".to_string(),
                "prom/statsd-exporter:v0.26.0".to_string()
            ),
        ]
    );
    // merge: lists are replaced
    let d = api
        .patch(
            "serving",
            &pp,
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "server", "image": "seldonio/mlserver:1.5.0"}]}}}})),
        )
        .await
        .expect("merge");
    assert_eq!(
        containers(&d),
        vec![("server".to_string(), "seldonio/mlserver:1.5.0".to_string())]
    );
    // json patch, including a failing test op
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "seldonio/mlserver:1.6.0"}])).expect("ops");
    let d = api
        .patch("serving", &pp, &Patch::<()>::Json(ops))
        .await
        .expect("json patch");
    assert_eq!(containers(&d)[0].1, "seldonio/mlserver:1.6.0");
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": 99}]))
    .expect("ops");
    let err = api
        .patch("serving", &pp, &Patch::<()>::Json(ops))
        .await
        .expect_err("test op fails");
    assert_eq!(status_of(err).code, 422);
    tc.finish().await;
}

fn crd(plural: &str, kind: &str, scope: &str) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.ml.ferrocd.dev")},
        "spec": {"group": "ml.ferrocd.dev", "scope": scope,
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}})
}

#[tokio::test]
async fn crds_serve_their_kinds() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("crd").await;
    let crd_ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    let crds: Api<DynamicObject> = Api::all_with(tc.client.clone(), &crd_ar);
    let suffix = &ns[ns.len() - 8..];
    let plural = format!("models{suffix}");
    let kind = format!("Model{suffix}");
    let obj: DynamicObject =
        serde_json::from_value(crd(&plural, &kind, "Namespaced")).expect("crd");
    crds.create(&PostParams::default(), &obj)
        .await
        .expect("crd created");
    let name = format!("{plural}.ml.ferrocd.dev");
    eventually("Established", Duration::from_secs(20), || {
        let crds = crds.clone();
        let name = name.clone();
        async move {
            let c = crds.get(&name).await.ok()?;
            let conds = c.data["status"]["conditions"].as_array()?.clone();
            conds
                .iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
                .then_some(())
        }
    })
    .await;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("ml.ferrocd.dev", "v1", &kind),
        &plural,
    );
    let models: Api<DynamicObject> = Api::namespaced_with(tc.client.clone(), &ns, &ar);
    let m: DynamicObject = serde_json::from_value(json!({"apiVersion": "ml.ferrocd.dev/v1", "kind": kind,
        "metadata": {"name": "resnet50"}, "spec": {"framework": "pytorch"}, "status": {"phase": "ignored"}})).expect("cr");
    // the CRD may take a moment to be served on a real cluster
    let created = eventually("custom resource created", Duration::from_secs(20), || {
        let models = models.clone();
        let m = m.clone();
        async move { models.create(&PostParams::default(), &m).await.ok() }
    })
    .await;
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created
            .data
            .get("status")
            .is_none_or(|s| s.get("phase").is_none()),
        "status dropped on create"
    );
    let s = models
        .patch_status(
            "resnet50",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .expect("status");
    assert_eq!(s.data["status"]["phase"], "Ready");
    assert_eq!(s.metadata.generation, Some(1));
    let s = models
        .patch(
            "resnet50",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"framework": "onnx"}})),
        )
        .await
        .expect("spec");
    assert_eq!(s.metadata.generation, Some(2));
    let err = models
        .patch(
            "resnet50",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {}})),
        )
        .await
        .expect_err("no SMP for CRs");
    assert_eq!(status_of(err).code, 415);

    crds.delete(&name, &DeleteParams::default())
        .await
        .expect("crd deleted");
    eventually("kind no longer served", Duration::from_secs(30), || {
        let models = models.clone();
        async move {
            matches!(models.get("resnet50").await, Err(kube::Error::Api(s)) if s.code == 404)
                .then_some(())
        }
    })
    .await;
    tc.finish().await;
}

fn owned_cm(name: &str, owner: &ConfigMap) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": [{
        "apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid,
        "blockOwnerDeletion": true}]}, "data": {}})).expect("cm")
}

#[tokio::test]
async fn finalizers_and_garbage_collection() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("gc").await;
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), &ns);
    // finalizer keeps the object with a deletionTimestamp
    let mut f = cm("guarded", json!({}));
    f.metadata.finalizers = Some(vec!["ml.ferrocd.dev/cleanup".into()]);
    api.create(&PostParams::default(), &f)
        .await
        .expect("create");
    api.delete("guarded", &DeleteParams::default())
        .await
        .expect("delete accepted");
    let g = api.get("guarded").await.expect("still there");
    assert!(g.metadata.deletion_timestamp.is_some());
    api.patch(
        "guarded",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("unblock");
    eventually("finalized object gone", Duration::from_secs(10), || {
        let api = api.clone();
        async move {
            api.get_opt("guarded")
                .await
                .ok()
                .flatten()
                .is_none()
                .then_some(())
        }
    })
    .await;

    for (policy, dependent_survives) in [
        (PropagationPolicy::Background, false),
        (PropagationPolicy::Orphan, true),
        (PropagationPolicy::Foreground, false),
    ] {
        let owner_name = format!("owner-{policy:?}").to_lowercase();
        let dep_name = format!("dep-{policy:?}").to_lowercase();
        let owner = api
            .create(&PostParams::default(), &cm(&owner_name, json!({})))
            .await
            .expect("owner");
        api.create(&PostParams::default(), &owned_cm(&dep_name, &owner))
            .await
            .expect("dependent");
        let dp = DeleteParams {
            propagation_policy: Some(policy.clone()),
            ..DeleteParams::default()
        };
        api.delete(&owner_name, &dp).await.expect("delete owner");
        eventually("owner gone", Duration::from_secs(20), || {
            let api = api.clone();
            let n = owner_name.clone();
            async move { api.get_opt(&n).await.ok().flatten().is_none().then_some(()) }
        })
        .await;
        if dependent_survives {
            let d = eventually("dependent orphaned", Duration::from_secs(20), || {
                let api = api.clone();
                let n = dep_name.clone();
                async move {
                    let d = api.get_opt(&n).await.ok().flatten()?;
                    d.metadata
                        .owner_references
                        .as_ref()
                        .is_none_or(Vec::is_empty)
                        .then_some(d)
                }
            })
            .await;
            assert!(d.metadata.deletion_timestamp.is_none());
        } else {
            eventually("dependent collected", Duration::from_secs(30), || {
                let api = api.clone();
                let n = dep_name.clone();
                async move { api.get_opt(&n).await.ok().flatten().is_none().then_some(()) }
            })
            .await;
        }
    }
    tc.finish().await;
}

#[tokio::test]
async fn delete_collection_and_namespace_cascade() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("cascade").await;
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), &ns);
    for i in 0..4 {
        let mut c = cm(&format!("run-{i}"), json!({}));
        c.metadata.labels = Some(
            [(
                "experiment".to_string(),
                if i < 3 { "old" } else { "new" }.to_string(),
            )]
            .into(),
        );
        api.create(&PostParams::default(), &c)
            .await
            .expect("create");
    }
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("experiment=old"),
    )
    .await
    .expect("deletecollection");
    eventually("collection deleted", Duration::from_secs(10), || {
        let api = api.clone();
        async move {
            let l = api
                .list(&ListParams::default().labels("experiment"))
                .await
                .ok()?;
            (l.items.len() == 1).then_some(())
        }
    })
    .await;
    let nss: Api<Namespace> = Api::all(tc.client.clone());
    nss.delete(&ns, &DeleteParams::default())
        .await
        .expect("delete namespace");
    let n = nss.get_opt(&ns).await.expect("get");
    if let Some(n) = n {
        assert_eq!(
            n.status.and_then(|s| s.phase).as_deref(),
            Some("Terminating")
        );
        // no new content in a terminating namespace
        if let Err(e) = api
            .create(&PostParams::default(), &cm("late", json!({})))
            .await
        {
            assert_eq!(status_of(e).code, 403);
        }
    }
    eventually("namespace gone", Duration::from_secs(60), || {
        let nss = nss.clone();
        let ns = ns.clone();
        async move {
            nss.get_opt(&ns)
                .await
                .ok()
                .flatten()
                .is_none()
                .then_some(())
        }
    })
    .await;
    tc.finish().await;
}

#[tokio::test]
async fn unauthenticated_requests_are_rejected() {
    let tc = TestCluster::start().await;
    let Some(sb) = &tc.sandbox else {
        tc.finish().await;
        return;
    };
    let mut kc = kube::config::Kubeconfig::from_yaml(&sb.kubeconfig_yaml()).expect("kubeconfig");
    if let Some(u) = kc.auth_infos.first_mut().and_then(|a| a.auth_info.as_mut()) {
        u.token = Some("wrong".to_string().into());
    }
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(cfg).expect("client");
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let s = status_of(
        api.list(&ListParams::default())
            .await
            .expect_err("unauthorized"),
    );
    assert_eq!((s.code, s.reason.as_str()), (401, "Unauthorized"));
    tc.finish().await;
}

#[tokio::test]
async fn selector_watches_see_objects_enter_and_leave() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("selwatch").await;
    let api: Api<ConfigMap> = Api::namespaced(tc.client.clone(), &ns);
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    let wp = WatchParams::default()
        .labels("tier=web")
        .timeout(10)
        .disable_bookmarks();
    let mut stream = api.watch(&wp, &rv).await.expect("watch").boxed();
    let mut c = cm("router", json!({}));
    c.metadata.labels = Some([("tier".to_string(), "web".to_string())].into());
    api.create(&PostParams::default(), &c)
        .await
        .expect("create");
    let relabel = |tier: &'static str| {
        let api = api.clone();
        async move {
            api.patch(
                "router",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"tier": tier}}})),
            )
            .await
            .expect("relabel");
        }
    };
    relabel("db").await;
    relabel("web").await;
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .expect("in time")
            .expect("ok")
            .expect("open");
        match ev {
            WatchEvent::Added(_) => kinds.push("ADDED"),
            WatchEvent::Modified(_) => kinds.push("MODIFIED"),
            WatchEvent::Deleted(_) => kinds.push("DELETED"),
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(kinds, vec!["ADDED", "DELETED", "ADDED"]);
    tc.finish().await;
}

#[tokio::test]
async fn secret_string_data_is_merged_into_data() {
    let mut tc = TestCluster::start().await;
    let ns = tc.namespace("secrets").await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(tc.client.clone(), &ns);
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "metadata": {"name": "mlflow-db"},
        "data": {"user": "bWxmbG93", "password": "b2xk"},
        "stringData": {"password": "s3cr3t", "host": "postgres.ml-dev"}}))
    .expect("secret");
    secrets
        .create(&kube::api::PostParams::default(), &secret)
        .await
        .expect("create");
    let stored = secrets.get("mlflow-db").await.expect("get");
    assert!(stored.string_data.is_none(), "stringData is write-only");
    let data = stored.data.expect("data");
    let text = |k: &str| String::from_utf8(data[k].0.clone()).expect("utf8");
    assert_eq!(text("user"), "mlflow");
    assert_eq!(text("password"), "s3cr3t", "stringData wins over data");
    assert_eq!(text("host"), "postgres.ml-dev");
    tc.finish().await;
}
