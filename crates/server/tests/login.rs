//! Logging in, sessions, logout, token expiry, rate limits and API tokens against a real
//! server on a sandbox.

mod common;

use std::time::Duration;

use common::{ALICE_PASSWORD, ControlPlane, NS, Seed};
use hyper::StatusCode;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::json;

#[tokio::test]
async fn initial_admin_password_logs_in_and_wrong_password_is_401() {
    let cp = ControlPlane::start().await;
    // the generated password is in argocd-initial-admin-secret, its hash in argocd-secret
    let secrets: Api<Secret> = Api::namespaced(cp.client.clone(), NS);
    let initial = secrets
        .get("argocd-initial-admin-secret")
        .await
        .expect("initial secret");
    let stored = initial.data.expect("data")["password"].0.clone();
    assert_eq!(String::from_utf8(stored).expect("utf8"), cp.admin_password);
    let argocd_secret = secrets
        .get("argocd-secret")
        .await
        .expect("argocd-secret")
        .data
        .expect("data");
    assert!(argocd_secret.contains_key("server.secretkey"));
    assert!(String::from_utf8_lossy(&argocd_secret["admin.password"].0).starts_with("$2"));

    let (status, headers, text) = cp
        .raw(
            "POST",
            "/api/v1/session",
            None,
            Some(&json!({"username": "admin", "password": cp.admin_password})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let token = serde_json::from_str::<serde_json::Value>(&text).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let cookie = headers
        .get("set-cookie")
        .expect("cookie")
        .to_str()
        .expect("ascii");
    assert!(
        cookie.starts_with("argocd.token=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let (status, info) = cp
        .call("GET", "/api/v1/session/userinfo", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["loggedIn"], true);
    assert_eq!(info["username"], "admin");
    assert_eq!(info["iss"], "argocd");

    for (user, password) in [
        ("admin", "wrong"),
        ("alice", "wrong"),
        ("ghost", ALICE_PASSWORD),
        ("mlflow-ci", ""),
    ] {
        let (status, body) = cp
            .call(
                "POST",
                "/api/v1/session",
                None,
                Some(&json!({"username": user, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{user}: {body}");
        assert_eq!(body["error"], "invalid username or password");
    }
    let (status, _) = cp.call("GET", "/api/v1/applications", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = cp
        .call("GET", "/api/v1/applications", Some("not-a-token"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, info) = cp.call("GET", "/api/v1/session/userinfo", None, None).await;
    assert_eq!(info["loggedIn"], false);
    cp.stop().await;
}

#[tokio::test]
async fn logout_revokes_the_token_and_expired_sessions_are_refused() {
    let cp = ControlPlane::start_with(Seed {
        session_duration: "2s",
        ..Seed::default()
    })
    .await;
    let first = cp.login("alice", ALICE_PASSWORD).await;
    let second = cp.login("alice", ALICE_PASSWORD).await;
    let (status, _) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&first), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = cp
        .call("DELETE", "/api/v1/session", Some(&first), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&first), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("revoked"),
        "{body}"
    );
    // the other session lives until it expires
    let (status, _) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, body) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&second), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("expired"),
        "{body}"
    );
    cp.stop().await;
}

#[tokio::test]
async fn failed_logins_are_rate_limited() {
    let cp = ControlPlane::start_with(Seed {
        login_limits: ferrocd_server::auth::LimiterOptions {
            max_failures: 3,
            window: Duration::from_secs(60),
            max_entries: 100,
        },
        ..Seed::default()
    })
    .await;
    for _ in 0..3 {
        let (status, _) = cp
            .call(
                "POST",
                "/api/v1/session",
                None,
                Some(&json!({"username": "alice", "password": "guess"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, headers, text) = cp
        .raw(
            "POST",
            "/api/v1/session",
            None,
            Some(&json!({"username": "alice", "password": ALICE_PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{text}");
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry > 0 && retry <= 60, "{retry}");
    assert!(!text.contains("token"), "{text}");
    cp.stop().await;
}

#[tokio::test]
async fn account_tokens_work_until_deleted() {
    let cp = ControlPlane::start().await;
    let admin = cp.admin().await;
    // alice may not mint tokens for another account
    let alice = cp.login("alice", ALICE_PASSWORD).await;
    let (status, _) = cp
        .call(
            "POST",
            "/api/v1/account/mlflow-ci/token",
            Some(&alice),
            Some(&json!({"id": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // alice has no apiKey capability
    let (status, body) = cp
        .call(
            "POST",
            "/api/v1/account/alice/token",
            Some(&alice),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = cp
        .call(
            "POST",
            "/api/v1/account/mlflow-ci/token",
            Some(&admin),
            Some(&json!({"id": "ci-1", "expiresIn": 3600})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().expect("token").to_string();
    let (status, info) = cp
        .call("GET", "/api/v1/session/userinfo", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["username"], "mlflow-ci");
    // mlflow-ci has no RBAC grants: authenticated, but forbidden
    let (status, _) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, account) = cp
        .call("GET", "/api/v1/account/mlflow-ci", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["tokens"][0]["id"], "ci-1");
    assert!(!account.to_string().contains(&token));

    let (status, _) = cp
        .call(
            "DELETE",
            "/api/v1/account/mlflow-ci/token/ci-1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = cp.call("GET", "/api/v1/account", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    cp.stop().await;
}

#[tokio::test]
async fn project_role_tokens_act_within_their_project() {
    let cp = ControlPlane::start().await;
    let admin = cp.admin().await;
    let (status, body) = cp
        .call(
            "POST",
            "/api/v1/projects/ml-platform/roles/deployer/token",
            Some(&admin),
            Some(&json!({"id": "gha-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().expect("token").to_string();
    let (status, app) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    let (status, _) = cp
        .call("GET", "/api/v1/applications/kserve", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, list) = cp
        .call("GET", "/api/v1/applications", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"mlflow") && names.contains(&"triton-prod"));

    let (_, project) = cp
        .call("GET", "/api/v1/projects/ml-platform", Some(&admin), None)
        .await;
    let iat = project["spec"]["roles"][0]["jwtTokens"][0]["iat"]
        .as_i64()
        .expect("iat recorded");
    let (status, _) = cp
        .call(
            "DELETE",
            &format!("/api/v1/projects/ml-platform/roles/deployer/token/{iat}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    cp.stop().await;
}

#[tokio::test]
async fn password_change_ends_older_sessions() {
    let cp = ControlPlane::start().await;
    let old = cp.login("alice", ALICE_PASSWORD).await;
    // the mtime has second granularity: make sure the change is in a later second
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = cp
        .call(
            "PUT",
            "/api/v1/account/password",
            Some(&old),
            Some(&json!({"currentPassword": ALICE_PASSWORD, "newPassword": "alice-new-pass-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&old), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let fresh = cp.login("alice", "alice-new-pass-1").await;
    let (status, _) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&fresh), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    cp.stop().await;
}
