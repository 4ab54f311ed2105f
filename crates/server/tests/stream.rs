//! Live updates: `/api/v1/stream/applications` as server-sent events, filtered by RBAC.

mod common;

use common::{ALICE_PASSWORD, ControlPlane};
use hyper::StatusCode;
use kube::api::{Patch, PatchParams};
use serde_json::json;

fn name(event: &common::SseEvent) -> String {
    event.data["result"]["application"]["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn stream_sends_visible_changes_until_logout() {
    let cp = ControlPlane::start().await;
    let alice = cp.login("alice", ALICE_PASSWORD).await;
    let (status, mut events) = cp.stream("/api/v1/stream/applications", &alice).await;
    assert_eq!(status, StatusCode::OK);
    let mut initial = Vec::new();
    for _ in 0..2 {
        let e = events.next().await.expect("initial event");
        assert_eq!(e.data["result"]["type"], "ADDED");
        initial.push(name(&e));
    }
    initial.sort();
    assert_eq!(initial, ["mlflow", "triton-prod"]);

    // a change alice may not see, then one she may
    let label = |v: &str| Patch::Merge(json!({"metadata": {"labels": {"team": v}}}));
    cp.apps()
        .patch("kserve", &PatchParams::default(), &label("serving"))
        .await
        .expect("patch");
    cp.apps()
        .patch("mlflow", &PatchParams::default(), &label("ml"))
        .await
        .expect("patch");
    let e = events.next().await.expect("modified event");
    assert_eq!(e.data["result"]["type"], "MODIFIED");
    assert_eq!(name(&e), "mlflow");
    assert_eq!(
        e.data["result"]["application"]["metadata"]["labels"]["team"],
        "ml"
    );

    // filters: only triton-prod
    let (_, mut only) = cp
        .stream("/api/v1/stream/applications?name=triton-prod", &alice)
        .await;
    let e = only.next().await.expect("event");
    assert_eq!(name(&e), "triton-prod");

    // deleted
    let admin = cp.admin().await;
    let (status, _) = cp
        .call(
            "DELETE",
            "/api/v1/applications/triton-prod?cascade=false",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut saw_delete = false;
    while let Some(e) = events.next().await {
        if e.data["result"]["type"] == "DELETED" && name(&e) == "triton-prod" {
            saw_delete = true;
            break;
        }
    }
    assert!(saw_delete);

    // after logout the next event ends the stream with an error
    let (status, _) = cp
        .call("DELETE", "/api/v1/session", Some(&alice), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    cp.apps()
        .patch("mlflow", &PatchParams::default(), &label("ml-2"))
        .await
        .expect("patch");
    let e = events.next().await.expect("error event");
    assert_eq!(e.event, "error", "{:?}", e.data);
    assert!(e.data["error"].as_str().unwrap_or("").contains("revoked"));
    assert!(events.next().await.is_none(), "the stream ends");
    cp.stop().await;
}

#[tokio::test]
async fn stream_needs_a_token() {
    let cp = ControlPlane::start().await;
    let (status, _) = cp
        .call("GET", "/api/v1/stream/applications", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    cp.stop().await;
}
