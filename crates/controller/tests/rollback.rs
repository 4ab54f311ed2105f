//! Rollbacks through the running controller against a real API server and a real Git
//! repository: to a history id (a manual-sync app; refused while automated sync is on), and
//! by `git revert` (an automated app follows the revert commit).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn push(stack: &Stack, repo: &std::path::Path, revision: &str) {
    stack.controller.on_push(&ferrocd_controller::PushEvent {
        provider: ferrocd_controller::GitProvider::GitHub,
        repo_urls: vec![repo_url(repo)],
        revision: revision.to_string(),
        git_ref: "refs/heads/main".into(),
        default_branch: Some("main".into()),
        changed_files: vec!["serving/configmap.yaml".into()],
    });
}

/// The operation the CLI and the API server write for `ferrocd app rollback NAME ID`.
fn rollback_to(entry: &Value, id: i64, user: &str) -> Value {
    json!({
        "sync": {"revision": entry["revision"], "source": entry["source"]},
        "initiatedBy": {"username": user},
        "info": [{"name": "Reason", "value": format!("Rollback to deployment {id}")}],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_to_a_history_id_and_refused_while_automated() {
    let s = stack(Duration::from_secs(3)).await;
    let cluster = &s.tc.cluster;
    let repo = tempfile::tempdir().expect("repo");
    let first = make_repo(repo.path());
    let ns = s.tc.namespace("rollback");
    apply(cluster, application("fraud-prod", repo.path(), &ns, false)).await;
    wait_status(cluster, "fraud-prod", "OutOfSync", |st| {
        st["sync"]["status"] == "OutOfSync"
    })
    .await;

    // Revision A, by hand.
    request_operation(
        cluster,
        "fraud-prod",
        json!({"sync": {}, "initiatedBy": {"username": "alice"}}),
    )
    .await;
    wait_status(cluster, "fraud-prod", "A synced", |st| {
        history_len(st) == 1 && st["operationState"]["phase"] == "Succeeded"
    })
    .await;
    assert_eq!(model_version(cluster, &ns).await.as_deref(), Some("1.4.0"));

    // Revision B: a commit, then a manual sync as soon as the controller has seen it.
    let second = commit_version(repo.path(), "1.5.0");
    push(&s, repo.path(), &second);
    wait_status(cluster, "fraud-prod", "B seen", |st| {
        st["sync"]["revision"] == second.as_str()
    })
    .await;
    request_operation(
        cluster,
        "fraud-prod",
        json!({"sync": {}, "initiatedBy": {"username": "release-manager"}}),
    )
    .await;
    let status = wait_status(cluster, "fraud-prod", "B synced", |st| {
        history_len(st) == 2 && st["operationState"]["phase"] == "Succeeded"
    })
    .await;
    assert_eq!(status["history"][1]["revision"], second.as_str());
    assert_eq!(model_version(cluster, &ns).await.as_deref(), Some("1.5.0"));

    // Roll back to the id of A right after B finished (the race this guards: a request
    // that arrives while the controller still holds the previous operation).
    let entry = status["history"][0].clone();
    let id = entry["id"].as_i64().expect("history id");
    assert_eq!(entry["revision"], first.as_str());
    request_operation(cluster, "fraud-prod", rollback_to(&entry, id, "bob")).await;
    let status = wait_status(cluster, "fraud-prod", "the rollback to A", |st| {
        history_len(st) == 3 && st["operationState"]["phase"] == "Succeeded"
    })
    .await;
    let last = &status["history"][2];
    assert_eq!(last["revision"], first.as_str(), "{status:#}");
    assert_eq!(last["id"], 2);
    assert_eq!(last["initiatedBy"]["username"], "bob");
    assert_eq!(last["source"]["path"], "serving");
    assert_eq!(
        status["operationState"]["syncResult"]["revision"],
        first.as_str()
    );
    assert_eq!(model_version(cluster, &ns).await.as_deref(), Some("1.4.0"));
    // The branch is still at B: the app is OutOfSync with its target after the rollback.
    let status = wait_status(cluster, "fraud-prod", "OutOfSync with main", |st| {
        st["sync"]["status"] == "OutOfSync" && st["sync"]["revision"] == second.as_str()
    })
    .await;
    assert_eq!(history_len(&status), 3);

    // Automated sync on: it follows main (B) again, and a rollback is refused.
    cluster
        .merge_patch(
            &app_key("fraud-prod"),
            &json!({"spec": {"syncPolicy": {"automated": {"prune": true}}}}),
        )
        .await
        .expect("enable automated sync");
    let status = wait_status(cluster, "fraud-prod", "automated sync to B", |st| {
        history_len(st) == 4 && st["operationState"]["phase"] == "Succeeded" && synced_healthy(st)
    })
    .await;
    assert_eq!(status["history"][3]["revision"], second.as_str());
    let entry = status["history"][0].clone();
    request_operation(cluster, "fraud-prod", rollback_to(&entry, 0, "bob")).await;
    let status = wait_status(cluster, "fraud-prod", "the rollback refused", |st| {
        st["operationState"]["phase"] == "Error"
    })
    .await;
    let message = status["operationState"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("rollback cannot be initiated when automated sync is enabled"),
        "{message}"
    );
    assert_eq!(
        status["operationState"]["operation"]["initiatedBy"]["username"],
        "bob"
    );
    assert_eq!(history_len(&status), 4);
    let app = app_object(cluster, "fraud-prod").await;
    assert!(app["operation"].is_null(), "request consumed: {app:#}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(model_version(cluster, &ns).await.as_deref(), Some("1.5.0"));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_by_git_revert_is_followed_by_automated_sync() {
    let s = stack(Duration::from_secs(3)).await;
    let cluster = &s.tc.cluster;
    let repo = tempfile::tempdir().expect("repo");
    let first = make_repo(repo.path());
    let ns = s.tc.namespace("revert");
    apply(cluster, application("fraud-dev", repo.path(), &ns, true)).await;
    wait_status(cluster, "fraud-dev", "A synced", |st| {
        synced_healthy(st) && history_len(st) == 1 && st["sync"]["revision"] == first.as_str()
    })
    .await;

    let second = commit_version(repo.path(), "1.5.0");
    push(&s, repo.path(), &second);
    wait_status(cluster, "fraud-dev", "B synced", |st| {
        synced_healthy(st) && history_len(st) == 2 && st["sync"]["revision"] == second.as_str()
    })
    .await;
    assert_eq!(model_version(cluster, &ns).await.as_deref(), Some("1.5.0"));

    // The rollback is a commit: `git revert` of B.
    git(repo.path(), &["revert", "--no-edit", "HEAD"]);
    let reverted = git(repo.path(), &["rev-parse", "HEAD"]);
    push(&s, repo.path(), &reverted);
    let status = wait_status(cluster, "fraud-dev", "the revert synced", |st| {
        synced_healthy(st) && history_len(st) == 3 && st["sync"]["revision"] == reverted.as_str()
    })
    .await;
    assert_eq!(model_version(cluster, &ns).await.as_deref(), Some("1.4.0"));
    let history = status["history"].as_array().expect("history");
    let revisions: Vec<&str> = history
        .iter()
        .map(|h| h["revision"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        revisions,
        [first.as_str(), second.as_str(), reverted.as_str()]
    );
    assert_eq!(history[2]["initiatedBy"]["automated"], true);
    s.shutdown().await;
}
