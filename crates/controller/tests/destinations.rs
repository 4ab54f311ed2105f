//! Two destination clusters: the control plane (`https://kubernetes.default.svc`) and a
//! second sandbox registered by an Argo CD cluster Secret; applications addressed by
//! `destination.server` and by `destination.name` land in the right cluster.

mod support;

use std::time::Duration;

use base64::Engine as _;
use ferrocd_cluster::Cluster;
use ferrocd_sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};
use support::*;

fn app_to(name: &str, repo: &std::path::Path, ns: &str, destination: Value) -> Value {
    let mut app = application(name, repo, ns, true);
    app["spec"]["destination"] = destination;
    app["spec"]["destination"]["namespace"] = json!(ns);
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_land_in_the_cluster_their_destination_names() {
    let s = stack(Duration::from_secs(5)).await;
    let cluster = &s.tc.cluster;
    let remote = Sandbox::start(SandboxOptions::default())
        .await
        .expect("second sandbox");
    let dir = tempfile::tempdir().expect("dir");
    let kubeconfig = dir.path().join("kubeconfig");
    remote.write_kubeconfig(&kubeconfig).expect("kubeconfig");
    let prod = Cluster::from_kubeconfig(Some(&kubeconfig), None)
        .await
        .expect("connect to the second sandbox");
    let config = json!({"bearerToken": remote.token(),
        "tlsClientConfig": {"caData": base64::engine::general_purpose::STANDARD
            .encode(remote.ca_pem())}});
    apply(
        cluster,
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "cluster-prod-us-east-1", "namespace": "argocd",
                "labels": {"argocd.argoproj.io/secret-type": "cluster"}},
            "stringData": {"name": "prod-us-east-1", "server": remote.url(),
                "config": config.to_string()}}),
    )
    .await;

    let repo = tempfile::tempdir().expect("repo");
    make_repo(repo.path());
    let ns = s.tc.namespace("serving");
    let apps = [
        (
            "fraud-dev",
            json!({"server": "https://kubernetes.default.svc"}),
        ),
        ("fraud-prod-by-server", json!({"server": remote.url()})),
        ("fraud-prod-by-name", json!({"name": "prod-us-east-1"})),
    ];
    for (name, destination) in &apps {
        let target = format!("{ns}-{name}");
        apply(
            cluster,
            app_to(name, repo.path(), &target, destination.clone()),
        )
        .await;
    }
    for (name, _) in &apps {
        wait_status(cluster, name, "Synced and Healthy", |st| {
            synced_healthy(st) && history_len(st) == 1
        })
        .await;
    }
    let in_cluster = |c: &Cluster, name: &str| {
        let (c, k) = (
            c.clone(),
            key("", "ConfigMap", &format!("{ns}-{name}"), "model-config"),
        );
        async move { c.get(&k).await.expect("get").is_some() }
    };
    assert!(in_cluster(cluster, "fraud-dev").await);
    assert!(!in_cluster(&prod, "fraud-dev").await);
    for name in ["fraud-prod-by-server", "fraud-prod-by-name"] {
        assert!(
            in_cluster(&prod, name).await,
            "{name} in the second cluster"
        );
        assert!(
            !in_cluster(cluster, name).await,
            "{name} not in the control plane"
        );
    }
    let status = app_object(cluster, "fraud-prod-by-name").await["status"].clone();
    assert_eq!(
        status["sync"]["comparedTo"]["destination"]["name"],
        "prod-us-east-1"
    );

    // Drift in the second cluster is seen and repaired there (self-heal).
    let cm_key = key(
        "",
        "ConfigMap",
        &format!("{ns}-fraud-prod-by-name"),
        "model-config",
    );
    prod.merge_patch(
        &cm_key,
        &json!({"data": {"MODEL_VERSION": "0.0.1-hand-edit"}}),
    )
    .await
    .expect("hand edit");
    wait_object(&prod, &cm_key, "self-heal", Duration::from_secs(30), |o| {
        o.is_some_and(|o| o["data"]["MODEL_VERSION"] == "1.4.0")
    })
    .await;
    s.shutdown().await;
    remote.shutdown().await;
}
