//! What the server writes on the Application for the controller to act on (sync, rollback,
//! terminate, delete), and what it reads back from the cluster (resource tree, managed
//! resources with Secrets masked).

mod common;

use std::time::Duration;

use common::{ALICE_PASSWORD, ControlPlane, NS};
use hyper::StatusCode;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use serde_json::{Value, json};

#[tokio::test]
async fn sync_writes_the_operation_with_initiated_by() {
    let cp = ControlPlane::start().await;
    let alice = cp.login("alice", ALICE_PASSWORD).await;
    let request = json!({
        "revision": "4f2a9c1",
        "prune": true,
        "dryRun": false,
        "strategy": {"hook": {"force": false}},
        "resources": [{"group": "apps", "kind": "Deployment", "name": "tracking", "namespace": "mlflow"}],
        "syncOptions": {"items": ["CreateNamespace=true", "ServerSideApply=true"]},
        "infos": [{"name": "ticket", "value": "MLOPS-42"}],
    });
    let (status, body) = cp
        .call(
            "POST",
            "/api/v1/applications/mlflow/sync",
            Some(&alice),
            Some(&request),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored = cp.apps().get("mlflow").await.expect("app");
    let op = &stored.data["operation"];
    assert_eq!(op["initiatedBy"]["username"], "alice");
    assert_eq!(op["sync"]["revision"], "4f2a9c1");
    assert_eq!(op["sync"]["prune"], true);
    assert_eq!(op["sync"]["dryRun"], false);
    assert_eq!(op["sync"]["syncStrategy"]["hook"]["force"], false);
    assert_eq!(op["sync"]["resources"][0]["name"], "tracking");
    assert_eq!(
        op["sync"]["syncOptions"],
        json!(["CreateNamespace=true", "ServerSideApply=true"])
    );
    assert_eq!(op["info"][0]["value"], "MLOPS-42");
    // the stored operation parses as the model's Operation
    let typed: ferrocd_model::Operation =
        serde_json::from_value(op.clone()).expect("operation model");
    assert_eq!(
        typed.initiated_by.and_then(|i| i.username).as_deref(),
        Some("alice")
    );

    // a second sync while one is pending is refused
    let (status, body) = cp
        .call(
            "POST",
            "/api/v1/applications/mlflow/sync",
            Some(&alice),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // without a revision the spec's target revision is used
    let admin = cp.admin().await;
    let (status, _) = cp
        .call(
            "POST",
            "/api/v1/applications/airflow/sync",
            Some(&admin),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let stored = cp.apps().get("airflow").await.expect("app");
    assert_eq!(stored.data["operation"]["sync"]["revision"], "main");
    assert_eq!(stored.data["operation"]["initiatedBy"]["username"], "admin");
    cp.stop().await;
}

#[tokio::test]
async fn sync_to_another_revision_is_refused_under_auto_sync() {
    let cp = ControlPlane::start().await;
    let admin = cp.admin().await;
    cp.apps()
        .patch(
            "kserve",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"syncPolicy": {"automated": {"prune": true}}}})),
        )
        .await
        .expect("patched");
    let (status, body) = cp
        .call(
            "POST",
            "/api/v1/applications/kserve/sync",
            Some(&admin),
            Some(&json!({"revision": "v2"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("auto-sync"),
        "{body}"
    );
    let (status, body) = cp
        .call(
            "PUT",
            "/api/v1/applications/kserve/rollback",
            Some(&admin),
            Some(&json!({"id": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    cp.stop().await;
}

#[tokio::test]
async fn rollback_syncs_to_a_history_entry() {
    let cp = ControlPlane::start().await;
    let admin = cp.admin().await;
    let history = json!({"status": {"history": [
        {"id": 1, "revision": "a1b2c3d", "deployedAt": "2026-05-01T10:00:00Z",
         "source": {"repoURL": "https://git.example.com/ml/platform.git", "path": "apps/mlflow", "targetRevision": "v1.0"}},
        {"id": 2, "revision": "e4f5a6b", "deployedAt": "2026-05-02T10:00:00Z",
         "source": {"repoURL": "https://git.example.com/ml/platform.git", "path": "apps/mlflow", "targetRevision": "v1.1"}},
    ]}});
    cp.apps()
        .patch("mlflow", &PatchParams::default(), &Patch::Merge(history))
        .await
        .expect("history");
    let (status, body) = cp
        .call(
            "PUT",
            "/api/v1/applications/mlflow/rollback",
            Some(&admin),
            Some(&json!({"id": "1", "prune": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let op = cp.apps().get("mlflow").await.expect("app").data["operation"].clone();
    assert_eq!(op["sync"]["revision"], "a1b2c3d");
    assert_eq!(op["sync"]["source"]["targetRevision"], "v1.0");
    assert_eq!(op["sync"]["prune"], true);
    assert_eq!(op["initiatedBy"]["username"], "admin");
    let (status, _) = cp
        .call(
            "PUT",
            "/api/v1/applications/mlflow/rollback",
            Some(&admin),
            Some(&json!({"id": 7})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an operation is pending");
    cp.stop().await;
}

#[tokio::test]
async fn terminate_marks_a_running_operation() {
    let cp = ControlPlane::start().await;
    let alice = cp.login("alice", ALICE_PASSWORD).await;
    cp.apps()
        .patch(
            "mlflow",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"operationState": {"phase": "Running", "message": "waiting for healthy state of apps/Deployment/tracking",
                "startedAt": "2026-05-02T10:00:00Z", "operation": {"sync": {"revision": "e4f5a6b"}}}}})),
        )
        .await
        .expect("running");
    let (status, body) = cp
        .call(
            "DELETE",
            "/api/v1/applications/mlflow/operation",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app = cp.apps().get("mlflow").await.expect("app");
    assert_eq!(app.data["status"]["operationState"]["phase"], "Terminating");
    assert_eq!(
        app.data["status"]["operationState"]["message"],
        "waiting for healthy state of apps/Deployment/tracking",
        "the rest of the state is kept"
    );
    let (status, _) = cp
        .call(
            "DELETE",
            "/api/v1/applications/mlflow/operation",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "nothing running any more");
    cp.stop().await;
}

#[tokio::test]
async fn cascade_delete_leaves_a_finalizer_for_the_controller() {
    let cp = ControlPlane::start().await;
    let admin = cp.admin().await;
    let (status, _) = cp
        .call(
            "DELETE",
            "/api/v1/applications/kserve?propagationPolicy=background",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let app = cp
        .apps()
        .get("kserve")
        .await
        .expect("still there until the controller finalizes");
    assert!(app.metadata.deletion_timestamp.is_some());
    assert_eq!(
        app.metadata.finalizers.as_deref(),
        Some(&["resources-finalizer.argocd.argoproj.io/background".to_string()][..])
    );
    let (status, _) = cp
        .call(
            "DELETE",
            "/api/v1/applications/airflow?cascade=false",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        cp.apps().get_opt("airflow").await.expect("get").is_none(),
        "gone at once without cascade"
    );
    cp.stop().await;
}

async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn resource_tree_and_managed_resources_read_the_cluster() {
    let cp = ControlPlane::start().await;
    let alice = cp.login("alice", ALICE_PASSWORD).await;
    let deployments: Api<Deployment> = Api::namespaced(cp.client.clone(), "mlflow");
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "tracking", "namespace": "mlflow"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "tracking"}},
                 "template": {"metadata": {"labels": {"app": "tracking"}},
                              "spec": {"containers": [{"name": "mlflow", "image": "ghcr.io/mlflow/mlflow:v2.14.1"}]}}}
    }))
    .expect("deployment");
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .expect("created");
    let secrets: Api<Secret> = Api::namespaced(cp.client.clone(), "mlflow");
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "tracking-db", "namespace": "mlflow", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"stringData\":{\"password\":\"pg-super-secret\"}}"}},
        // what the API server stores: base64 in data
        "data": {"password": "cGctc3VwZXItc2VjcmV0"}
    }))
    .expect("secret");
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret created");
    cp.apps()
        .patch(
            "mlflow",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"resources": [
                {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "mlflow", "name": "tracking",
                 "status": "Synced", "health": {"status": "Healthy"}},
                {"group": "", "version": "v1", "kind": "Secret", "namespace": "mlflow", "name": "tracking-db", "status": "OutOfSync"},
                {"group": "", "version": "v1", "kind": "Service", "namespace": "mlflow", "name": "tracking", "status": "OutOfSync",
                 "health": {"status": "Missing"}},
            ]}})),
        )
        .await
        .expect("status");
    let tree = eventually("pods in the tree", || {
        let cp = &cp;
        let alice = alice.clone();
        async move {
            let (status, tree) = cp
                .call(
                    "GET",
                    "/api/v1/applications/mlflow/resource-tree",
                    Some(&alice),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{tree}");
            let pods = tree["nodes"]
                .as_array()?
                .iter()
                .filter(|n| n["kind"] == "Pod")
                .count();
            (pods == 2).then_some(tree)
        }
    })
    .await;
    let nodes = tree["nodes"].as_array().expect("nodes");
    let find = |kind: &str| {
        nodes
            .iter()
            .find(|n| n["kind"] == kind)
            .expect(kind)
            .clone()
    };
    let dep = find("Deployment");
    let rs = find("ReplicaSet");
    let pod = find("Pod");
    assert!(!dep["uid"].as_str().unwrap_or("").is_empty());
    assert_eq!(rs["parentRefs"][0]["uid"], dep["uid"]);
    assert_eq!(pod["parentRefs"][0]["uid"], rs["uid"]);
    assert_eq!(pod["images"][0], "ghcr.io/mlflow/mlflow:v2.14.1");
    assert!(pod["health"]["status"].is_string(), "{pod}");
    assert_eq!(find("Service")["health"]["status"], "Missing");

    let (status, managed) = cp
        .call(
            "GET",
            "/api/v1/applications/mlflow/managed-resources",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = managed.to_string();
    assert!(!text.contains("pg-super-secret"), "{text}");
    assert!(!text.contains("cGctc3VwZXItc2VjcmV0"), "{text}");
    let items = managed["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    let secret_item = items
        .iter()
        .find(|i| i["kind"] == "Secret")
        .expect("secret item");
    assert_eq!(secret_item["modified"], true);
    let live: Value =
        serde_json::from_str(secret_item["liveState"].as_str().expect("string")).expect("json");
    assert_eq!(live["data"]["password"], "++++++++", "{live}");
    let service = items
        .iter()
        .find(|i| i["kind"] == "Service")
        .expect("service item");
    assert_eq!(service["liveState"], "null");

    // Events: about a tree object (by uid) and about the Application are listed; an event
    // about a bystander in the same namespace is not.
    let events: Api<DynamicObject> = Api::namespaced_with(
        cp.client.clone(),
        "mlflow",
        &ApiResource::erase::<k8s_openapi::api::core::v1::Event>(&()),
    );
    let event = |name: &str, kind: &str, object: &str, uid: &str, reason: &str| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name},
            "involvedObject": {"kind": kind, "name": object, "uid": uid},
            "reason": reason, "message": format!("{reason} for {object}"), "type": "Normal",
            "lastTimestamp": "2026-11-22T03:00:00Z"
        }))
        .expect("event")
    };
    let dep_uid = dep["uid"].as_str().expect("uid").to_string();
    events
        .create(
            &PostParams::default(),
            &event(
                "tracking.1",
                "Deployment",
                "tracking",
                &dep_uid,
                "ScalingReplicaSet",
            ),
        )
        .await
        .expect("event created");
    events
        .create(
            &PostParams::default(),
            &event(
                "bystander.1",
                "Deployment",
                "bystander",
                "not-ours",
                "ScalingReplicaSet",
            ),
        )
        .await
        .expect("event created");
    let app_uid = cp
        .apps()
        .get("mlflow")
        .await
        .expect("app")
        .metadata
        .uid
        .unwrap_or_default();
    let app_events: Api<DynamicObject> = Api::namespaced_with(
        cp.client.clone(),
        NS,
        &ApiResource::erase::<k8s_openapi::api::core::v1::Event>(&()),
    );
    app_events
        .create(
            &PostParams::default(),
            &event(
                "mlflow.1",
                "Application",
                "mlflow",
                &app_uid,
                "OperationCompleted",
            ),
        )
        .await
        .expect("event created");
    let (status, list) = cp
        .call(
            "GET",
            "/api/v1/applications/mlflow/events",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    // The sandbox records events of its own (Pods scheduled, ReplicaSets scaled): those of
    // the tree belong here too, so check ours by name.
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["metadata"]["name"].as_str())
        .collect();
    assert!(names.contains(&"tracking.1"), "{list}");
    assert!(names.contains(&"mlflow.1"), "{list}");
    assert!(!names.contains(&"bystander.1"), "{list}");
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["involvedObject"]["name"] != "bystander"),
        "{list}"
    );
    cp.stop().await;
}

#[tokio::test]
async fn get_with_refresh_annotates_the_application() {
    let cp = ControlPlane::start().await;
    let alice = cp.login("alice", ALICE_PASSWORD).await;
    let (status, body) = cp
        .call(
            "GET",
            "/api/v1/applications/mlflow?refresh=hard",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["metadata"]["annotations"]["argocd.argoproj.io/refresh"],
        "hard"
    );
    let stored = cp.apps().get("mlflow").await.expect("app");
    assert_eq!(
        stored.metadata.annotations.expect("annotations")["argocd.argoproj.io/refresh"],
        "hard"
    );
    let (status, _) = cp
        .call(
            "GET",
            "/api/v1/applications/mlflow?refresh=soft",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = cp
        .call(
            "GET",
            "/api/v1/applications/kserve?refresh=normal",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    cp.stop().await;
}
