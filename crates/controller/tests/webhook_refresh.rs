//! A Git push webhook refreshes an application at once: a commit, then a signed
//! GitHub-style push to the controller's webhook router; the new version is in the cluster
//! within 2 s, although the app's periodic resync is 10 minutes away.

mod support;

use std::time::{Duration, Instant};

use ferrocd_controller::webhook::WEBHOOK_PATH;
use ferrocd_controller::{WebhookSecrets, webhook_router};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use support::*;

const SECRET: &str = "ml-platform-hook-5c1e";

fn signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_webhook_is_applied_within_two_seconds() {
    let s = stack(Duration::from_secs(600)).await;
    let cluster = &s.tc.cluster;
    let repo = tempfile::tempdir().expect("repo");
    let first = make_repo(repo.path());
    let ns = s.tc.namespace("webhook");
    apply(cluster, application("fraud-dev", repo.path(), &ns, true)).await;
    wait_status(cluster, "fraud-dev", "A synced", |st| {
        synced_healthy(st) && history_len(st) == 1 && st["sync"]["revision"] == first.as_str()
    })
    .await;

    let controller = s.controller.clone();
    let router = webhook_router(WebhookSecrets::default().with_github(SECRET), move |e| {
        controller.on_push(&e)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}{WEBHOOK_PATH}",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = reqwest::Client::new();

    let second = commit_version(repo.path(), "1.5.0");
    let payload = |after: &str| {
        serde_json::to_vec(&json!({
            "ref": "refs/heads/main", "before": first, "after": after,
            "repository": {"full_name": "ml-platform/gitops", "clone_url": repo_url(repo.path()),
                "html_url": repo_url(repo.path()), "default_branch": "main"},
            "commits": [{"id": after, "message": "fraud detector 1.5.0",
                "added": [], "removed": [], "modified": ["serving/configmap.yaml"]}],
        }))
        .expect("payload")
    };
    // A wrong signature is refused and refreshes nothing.
    let body = payload(&second);
    let refused = client
        .post(&url)
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-hub-signature-256", "sha256=00")
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status().as_u16(), 401);

    let sent = Instant::now();
    let accepted = client
        .post(&url)
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-hub-signature-256", signature(&body))
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(accepted.status().as_u16(), 200);
    let cm = key("", "ConfigMap", &ns, "model-config");
    wait_object(
        cluster,
        &cm,
        "version 1.5.0",
        Duration::from_secs(30),
        |o| o.is_some_and(|o| o["data"]["MODEL_VERSION"] == "1.5.0"),
    )
    .await;
    let took = sent.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "push to cluster took {took:?}"
    );
    let status = wait_status(cluster, "fraud-dev", "B recorded", |st| {
        synced_healthy(st) && history_len(st) == 2
    })
    .await;
    assert_eq!(status["sync"]["revision"], second.as_str());
    assert_eq!(status["history"][1]["revision"], second.as_str());
    s.shutdown().await;
}
