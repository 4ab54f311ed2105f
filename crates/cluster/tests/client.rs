//! `Cluster` and `ClusterRegistry` against a real API server (the sandbox, or the cluster of
//! `KUBECONFIG` with `FERROCD_TEST_REAL_CLUSTER=1`).

use ferrocd_cluster::testing::TestCluster;
use ferrocd_cluster::{
    ClusterRegistry, DeleteOptions, DeleteOutcome, IN_CLUSTER_SERVER, WriteOptions,
};
use ferrocd_model::{ApplicationDestination, ResourceKey};
use serde_json::{Value, json};

fn key(group: &str, kind: &str, ns: &str, name: &str) -> ResourceKey {
    ResourceKey {
        group: group.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
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

#[tokio::test]
async fn apply_get_dry_run_and_delete() {
    let tc = TestCluster::start().await;
    let ns = namespace(&tc, "apply").await;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "airflow-config", "namespace": ns},
        "data": {"executor": "CeleryExecutor"}});

    // A dry run validates but persists nothing.
    let dry = tc
        .cluster
        .apply(
            &cm,
            &WriteOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .expect("dry-run apply");
    assert_eq!(dry["data"]["executor"], "CeleryExecutor");
    let k = key("", "ConfigMap", &ns, "airflow-config");
    assert_eq!(tc.cluster.get(&k).await.expect("get"), None);

    let applied = tc
        .cluster
        .apply(&cm, &WriteOptions::default())
        .await
        .expect("apply");
    assert!(applied.pointer("/metadata/uid").is_some());
    let managers: Vec<&str> = applied["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"ferrocd"), "{managers:?}");
    let live = tc.cluster.get(&k).await.expect("get").expect("exists");
    assert_eq!(live["data"]["executor"], "CeleryExecutor");

    assert_eq!(
        tc.cluster
            .delete(&k, &DeleteOptions::default())
            .await
            .expect("delete"),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        tc.cluster
            .delete(&k, &DeleteOptions::default())
            .await
            .expect("delete again"),
        DeleteOutcome::NotFound
    );
    tc.shutdown().await;
}

#[tokio::test]
async fn create_with_generate_name_and_replace() {
    let tc = TestCluster::start().await;
    let ns = namespace(&tc, "create").await;
    let job = json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"generateName": "db-migrate-", "namespace": ns},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "migrate", "image": "apache/airflow:2.9.3",
                            "args": ["db", "migrate"]}]}}}});
    let created = tc
        .cluster
        .create(&job, &WriteOptions::default())
        .await
        .expect("create");
    let name = created["metadata"]["name"].as_str().expect("name");
    assert!(name.starts_with("db-migrate-") && name.len() > "db-migrate-".len());

    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "mlflow", "namespace": ns}, "data": {"a": "1"}});
    tc.cluster
        .replace(&cm, &WriteOptions::default())
        .await
        .expect("replace creates");
    let mut changed = cm.clone();
    changed["data"] = json!({"b": "2"});
    let replaced = tc
        .cluster
        .replace(&changed, &WriteOptions::default())
        .await
        .expect("replace");
    assert_eq!(
        replaced["data"],
        json!({"b": "2"}),
        "PUT replaces the whole object"
    );
    tc.shutdown().await;
}

#[tokio::test]
async fn errors_say_what_and_where() {
    let tc = TestCluster::start().await;
    let unknown = json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "default"}});
    let err = tc
        .cluster
        .apply(&unknown, &WriteOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("does not serve kind Widget"),
        "{err}"
    );

    let no_ns = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let err = tc
        .cluster
        .apply(&no_ns, &WriteOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("namespaced but has no namespace"),
        "{err}"
    );

    // An invalid object is refused by the server with its message.
    let bad = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "bad", "namespace": "default"}, "spec": {"replicas": "many"}});
    let err = tc
        .cluster
        .apply(&bad, &WriteOptions::default())
        .await
        .unwrap_err();
    assert!(err.code() >= 400 && err.code() < 500, "{err:?}");
    assert!(!err.is_transient());
    tc.shutdown().await;
}

#[tokio::test]
async fn place_in_namespace_follows_scope() {
    let tc = TestCluster::start().await;
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    tc.cluster
        .place_in_namespace(&mut cm, "ml-dev")
        .await
        .expect("place");
    assert_eq!(cm["metadata"]["namespace"], "ml-dev");
    let mut role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "reader", "namespace": "ml-dev"}});
    tc.cluster
        .place_in_namespace(&mut role, "ml-dev")
        .await
        .expect("place");
    assert_eq!(role["metadata"].get("namespace"), None);
    tc.shutdown().await;
}

#[tokio::test]
async fn discovery_refreshes_when_a_crd_appears() {
    let tc = TestCluster::start().await;
    let group = format!("{}.ferrocd.test", tc.namespace("crd"));
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("inferenceservices.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": "inferenceservices", "singular": "inferenceservice",
                      "kind": "InferenceService", "listKind": "InferenceServiceList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}]}});
    assert!(tc.cluster.kinds().get(&group, "InferenceService").is_none());
    tc.cluster
        .apply(&crd, &WriteOptions::default())
        .await
        .expect("create CRD");
    let ns = namespace(&tc, "isvc").await;
    let isvc = json!({"apiVersion": format!("{group}/v1"), "kind": "InferenceService",
        "metadata": {"name": "fraud-model", "namespace": ns}, "spec": {"model": "xgboost"}});
    // The kind is unknown to the index until the apply refreshes discovery.
    let mut applied: Option<Value> = None;
    for _ in 0..50 {
        match tc.cluster.apply(&isvc, &WriteOptions::default()).await {
            Ok(v) => {
                applied = Some(v);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    assert_eq!(
        applied.expect("custom resource applied")["spec"]["model"],
        "xgboost"
    );
    assert!(tc.cluster.kinds().get(&group, "InferenceService").is_some());
    tc.shutdown().await;
}

#[tokio::test]
async fn registry_resolves_in_cluster_and_secret_clusters() {
    let local = TestCluster::start().await;
    let remote = TestCluster::start().await;
    let registry = ClusterRegistry::new(local.cluster.clone());
    let in_cluster = registry
        .resolve(&ApplicationDestination {
            server: Some(IN_CLUSTER_SERVER.into()),
            ..Default::default()
        })
        .expect("in-cluster");
    assert_eq!(in_cluster.server(), local.cluster.server());

    if let Some(sandbox) = &remote.sandbox {
        // A cluster Secret as Argo CD writes it: server, name, bearer token and CA.
        use base64::Engine as _;
        let config = json!({"bearerToken": sandbox.token(),
            "tlsClientConfig": {"caData": base64::engine::general_purpose::STANDARD
                .encode(sandbox.ca_pem())}});
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "prod-us-east-1", "namespace": "argocd",
                "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
            "stringData": {"name": "prod-us-east-1", "server": sandbox.url(),
                "config": config.to_string()}});
        let parsed = ferrocd_model::ClusterSecret::from_secret(&secret).expect("cluster secret");
        registry
            .add_secret(&parsed)
            .await
            .expect("connect with the Secret");
        let by_name = registry
            .resolve(&ApplicationDestination {
                name: Some("prod-us-east-1".into()),
                ..Default::default()
            })
            .expect("by name");
        assert_eq!(by_name.server(), remote.cluster.server());
        // The connection works: a write lands in the remote sandbox only.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "only-in-prod", "namespace": "default"}});
        by_name
            .apply(&cm, &WriteOptions::default())
            .await
            .expect("apply to prod");
        let k = key("", "ConfigMap", "default", "only-in-prod");
        assert!(remote.cluster.get(&k).await.expect("get").is_some());
        assert!(local.cluster.get(&k).await.expect("get").is_none());
    }
    let err = registry
        .resolve(&ApplicationDestination {
            name: Some("nowhere".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no clusters with this name: nowhere"),
        "{err}"
    );
    local.shutdown().await;
    remote.shutdown().await;
}

#[tokio::test]
async fn inventory_finds_tracked_objects_and_their_descendants() {
    let tc = TestCluster::start().await;
    let ns = namespace(&tc, "inv").await;
    let tracking =
        |kind: &str, group: &str, name: &str| format!("mlflow-dev:{group}/{kind}:{ns}/{name}");
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "mlflow", "namespace": ns,
            "annotations": {"argocd.argoproj.io/tracking-id": tracking("Deployment", "apps", "mlflow")}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "mlflow"}},
            "template": {"metadata": {"labels": {"app": "mlflow"}},
                "spec": {"containers": [{"name": "mlflow", "image": "ghcr.io/mlflow/mlflow:v2.16.0"}]}}}});
    tc.cluster
        .apply(&deploy, &WriteOptions::default())
        .await
        .expect("apply deployment");
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "not-mine", "namespace": ns,
            "annotations": {"argocd.argoproj.io/tracking-id": format!("airflow-dev:/ConfigMap:{ns}/not-mine")}}});
    tc.cluster
        .apply(&other, &WriteOptions::default())
        .await
        .expect("apply other");
    let labelled = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "labelled", "namespace": ns,
            "labels": {"app.kubernetes.io/instance": "mlflow-dev"}}});
    tc.cluster
        .apply(&labelled, &WriteOptions::default())
        .await
        .expect("apply labelled");

    // Wait until the Deployment's ReplicaSet and Pod exist.
    let mut inventory = None;
    for _ in 0..100 {
        let inv = tc
            .cluster
            .app_inventory("mlflow-dev", std::slice::from_ref(&ns))
            .await
            .expect("inventory");
        let uid = inv.tracked[&key("apps", "Deployment", &ns, "mlflow")]["metadata"]["uid"]
            .as_str()
            .expect("uid")
            .to_string();
        if inv.descendants_of(&uid).iter().any(|o| o["kind"] == "Pod") {
            inventory = Some((inv, uid));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (inv, uid) = inventory.expect("the Deployment's pods appear");
    let keys: Vec<String> = inv.tracked.keys().map(|k| k.to_string()).collect();
    assert_eq!(inv.tracked.len(), 2, "{keys:?}");
    assert!(
        inv.tracked
            .contains_key(&key("", "ConfigMap", &ns, "labelled"))
    );
    assert!(
        !inv.tracked
            .contains_key(&key("", "ConfigMap", &ns, "not-mine"))
    );
    let kinds: Vec<&str> = inv
        .descendants_of(&uid)
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"ReplicaSet") && kinds.contains(&"Pod"),
        "{kinds:?}"
    );
    tc.shutdown().await;
}
