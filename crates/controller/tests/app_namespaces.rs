//! Applications outside the control-plane namespace (`--application-namespaces`): synced
//! when their project lists the namespace in `sourceNamespaces` (self-heal included, the
//! tracking name being `<namespace>_<name>`), refused with a condition otherwise, and not
//! seen at all in a namespace the controller does not watch.

mod support;

use std::sync::Arc;
use std::time::Duration;

use ferrocd_cluster::WriteOptions;
use ferrocd_controller::{Controller, ControllerConfig, Metrics};
use serde_json::{Value, json};
use support::*;

fn app_in(app_ns: &str, name: &str, repo: &std::path::Path, dest: &str) -> Value {
    let mut app = application(name, repo, dest, true);
    app["metadata"]["namespace"] = json!(app_ns);
    app["spec"]["project"] = json!("ml-platform");
    app
}

async fn status_in(cluster: &ferrocd_cluster::Cluster, ns: &str, name: &str) -> Value {
    cluster
        .get(&key("argoproj.io", "Application", ns, name))
        .await
        .expect("get app")
        .map(|a| a["status"].clone())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_in_other_namespaces_follow_their_project() {
    let tc = control_plane().await;
    let cluster = &tc.cluster;
    let team = tc.namespace("team-ml");
    let secret_team = tc.namespace("team-secret");
    let unwatched = tc.namespace("elsewhere");
    for ns in [&team, &secret_team, &unwatched] {
        apply(
            cluster,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .await;
    }
    let prefix = team.trim_end_matches("team-ml");
    apply(
        cluster,
        json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "ml-platform", "namespace": "argocd"},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
                "sourceNamespaces": [format!("{prefix}team-*"), format!("!{secret_team}")]}}),
    )
    .await;
    let cache = tempfile::tempdir().expect("cache");
    let config = ControllerConfig {
        app_namespaces: vec![team.clone(), secret_team.clone()],
        app_resync: Duration::from_secs(5),
        repo_cache_dir: cache.path().to_path_buf(),
        ..Default::default()
    };
    let controller = Controller::start(config, cluster.clone(), Arc::new(Metrics::new()))
        .await
        .expect("controller");
    let repo = tempfile::tempdir().expect("repo");
    make_repo(repo.path());
    let dest = tc.namespace("fraud");
    apply(cluster, app_in(&team, "fraud", repo.path(), &dest)).await;
    apply(
        cluster,
        app_in(
            &secret_team,
            "fraud",
            repo.path(),
            &tc.namespace("fraud-secret"),
        ),
    )
    .await;
    apply(
        cluster,
        app_in(
            &unwatched,
            "fraud",
            repo.path(),
            &tc.namespace("fraud-elsewhere"),
        ),
    )
    .await;

    // Permitted: synced, tracked as `<namespace>_<name>`.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let st = status_in(cluster, &team, "fraud").await;
        if synced_healthy(&st) && history_len(&st) == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{st:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cm_key = key("", "ConfigMap", &dest, "model-config");
    let cm = cluster.get(&cm_key).await.expect("get").expect("applied");
    assert_eq!(
        cm["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"],
        format!("{team}_fraud:/ConfigMap:{dest}/model-config")
    );
    // Self-heal finds its way back to the app in its namespace.
    let mut edited = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "model-config", "namespace": dest},
        "data": {"MODEL_VERSION": "0.0.1-hand-edit"}});
    edited["data"]["MODEL_NAME"] = json!("fraud-detector");
    cluster
        .apply(
            &edited,
            &WriteOptions {
                field_manager: "kubectl-edit".into(),
                force_conflicts: true,
                ..Default::default()
            },
        )
        .await
        .expect("hand edit");
    wait_object(
        cluster,
        &cm_key,
        "self-heal",
        Duration::from_secs(30),
        |o| o.is_some_and(|o| o["data"]["MODEL_VERSION"] == "1.4.0"),
    )
    .await;

    // Denied by `!`: a condition, nothing applied.
    let deadline = std::time::Instant::now() + WAIT;
    let st = loop {
        let st = status_in(cluster, &secret_team, "fraud").await;
        if st["conditions"].as_array().is_some_and(|c| !c.is_empty()) {
            break st;
        }
        assert!(std::time::Instant::now() < deadline, "{st:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(st["conditions"][0]["type"], "InvalidSpecError");
    let message = st["conditions"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("is not permitted to use project 'ml-platform'"),
        "{message}"
    );
    assert!(
        cluster
            .get(&key(
                "",
                "ConfigMap",
                &tc.namespace("fraud-secret"),
                "model-config"
            ))
            .await
            .expect("get")
            .is_none()
    );
    // Not watched: untouched.
    assert!(status_in(cluster, &unwatched, "fraud").await.is_null());
    assert!(
        controller
            .applications()
            .iter()
            .all(|a| a.metadata.namespace.as_deref() != Some(unwatched.as_str()))
    );
    controller.shutdown().await;
    tc.shutdown().await;
}
