//! Every route, called by callers with different rights, in one ordered table of
//! (caller, method, path, body, expected status); every response body is scanned for secrets.

mod common;

use common::{ALICE_PASSWORD, ControlPlane, NS, READER_PASSWORD};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use serde_json::{Value, json};

const REPO_PASSWORD: &str = "ghp_repoPassw0rdForModels";
const REPO_SSH_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
const CLUSTER_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.gpu-cluster-bearer-token";
const REPO: &str = "https%3A%2F%2Fgit.example.com%2Fml%2Fmodels.git";
const CLUSTER: &str = "https%3A%2F%2Fgpu-1.ml.example.com";

#[derive(Clone, Copy, Debug)]
enum Who {
    Admin,
    Alice,
    Reader,
    Nobody,
    Forged,
}

fn app(name: &str, project: &str, path: &str) -> Value {
    let mut a = common::application(name, project);
    a["spec"]["source"]["path"] = json!(path);
    a
}

fn table() -> Vec<(Who, &'static str, String, Option<Value>, u16)> {
    use Who::*;
    let p = |s: &str| format!("/api/v1{s}");
    let feast = app("feast", "ml-platform", "apps/feast");
    let feast2 = app("feast", "ml-platform", "apps/feast-v2");
    let mut invalid = app("broken", "ml-platform", "x");
    invalid["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("destination");
    let orphan = app("orphan", "no-such-project", "x");
    let research = json!({"project": common::project("research", json!([]))});
    let mut research2 = research.clone();
    research2["project"]["spec"]["description"] = json!("GPU research sandbox");
    let repo = json!({"repo": "https://git.example.com/ml/models.git", "username": "ml-bot",
                      "password": REPO_PASSWORD, "sshPrivateKey": REPO_SSH_KEY});
    let cluster = json!({"server": "https://gpu-1.ml.example.com", "name": "gpu-1",
                         "config": {"bearerToken": CLUSTER_TOKEN, "tlsClientConfig": {"insecure": false}}});
    let sync = json!({"prune": true});
    vec![
        // the document and single sign-on need no token (SSO is not configured here)
        (Nobody, "GET", "/api/openapi.json".into(), None, 200),
        (
            Nobody,
            "GET",
            "/auth/login?return_url=/applications".into(),
            None,
            404,
        ),
        (
            Nobody,
            "GET",
            "/auth/callback?code=c0de&state=st4te".into(),
            None,
            404,
        ),
        (
            Nobody,
            "POST",
            p("/session"),
            Some(json!({"username": "alice", "password": "not-her-password"})),
            401,
        ),
        (Nobody, "GET", p("/stream/applications"), None, 401),
        (Forged, "GET", p("/stream/applications"), None, 401),
        // settings, session, account
        (Nobody, "GET", p("/settings"), None, 200),
        (Nobody, "GET", p("/session/userinfo"), None, 200),
        (Nobody, "GET", p("/account"), None, 401),
        (Forged, "GET", p("/account"), None, 401),
        (Reader, "GET", p("/account"), None, 200),
        (Alice, "GET", p("/account"), None, 200),
        (Alice, "GET", p("/account/admin"), None, 403),
        (Reader, "GET", p("/account/admin"), None, 200),
        (Admin, "GET", p("/account/nobody-here"), None, 404),
        (
            Alice,
            "GET",
            p("/account/can-i/applications/sync/ml-platform/mlflow"),
            None,
            200,
        ),
        (
            Nobody,
            "GET",
            p("/account/can-i/applications/sync/ml-platform/mlflow"),
            None,
            401,
        ),
        (
            Alice,
            "POST",
            p("/account/mlflow-ci/token"),
            Some(json!({"id": "t1"})),
            403,
        ),
        (
            Reader,
            "POST",
            p("/account/mlflow-ci/token"),
            Some(json!({"id": "t1"})),
            403,
        ),
        (
            Admin,
            "POST",
            p("/account/mlflow-ci/token"),
            Some(json!({"id": "t1"})),
            200,
        ),
        (
            Admin,
            "POST",
            p("/account/mlflow-ci/token"),
            Some(json!({"id": "t1"})),
            409,
        ),
        (Alice, "DELETE", p("/account/mlflow-ci/token/t1"), None, 403),
        (Admin, "DELETE", p("/account/mlflow-ci/token/t1"), None, 200),
        (Admin, "DELETE", p("/account/mlflow-ci/token/t1"), None, 404),
        (
            Nobody,
            "PUT",
            p("/account/password"),
            Some(json!({"currentPassword": "x", "newPassword": "y"})),
            401,
        ),
        (
            Reader,
            "PUT",
            p("/account/password"),
            Some(
                json!({"name": "alice", "currentPassword": READER_PASSWORD, "newPassword": "takeover-123"}),
            ),
            403,
        ),
        (
            Alice,
            "PUT",
            p("/account/password"),
            Some(json!({"currentPassword": "not-it", "newPassword": "alice-other-9"})),
            401,
        ),
        (
            Alice,
            "PUT",
            p("/account/password"),
            Some(json!({"currentPassword": ALICE_PASSWORD, "newPassword": "short"})),
            400,
        ),
        // applications: read
        (Nobody, "GET", p("/applications"), None, 401),
        (Forged, "GET", p("/applications/mlflow"), None, 401),
        (Alice, "GET", p("/applications"), None, 200),
        (
            Alice,
            "GET",
            p("/applications?projects=ml-platform&selector=team%3Dml"),
            None,
            200,
        ),
        (Alice, "GET", p("/applications/mlflow"), None, 200),
        (Alice, "GET", p("/applications/kserve"), None, 403),
        (Alice, "GET", p("/applications/does-not-exist"), None, 403),
        (Admin, "GET", p("/applications/does-not-exist"), None, 404),
        (Reader, "GET", p("/applications/kserve"), None, 200),
        (
            Admin,
            "GET",
            p("/applications/mlflow?appNamespace=elsewhere"),
            None,
            400,
        ),
        // applications: write
        (Alice, "POST", p("/applications"), Some(feast.clone()), 403),
        (Reader, "POST", p("/applications"), Some(feast.clone()), 403),
        (Nobody, "POST", p("/applications"), Some(feast.clone()), 401),
        (Admin, "POST", p("/applications"), Some(feast.clone()), 200),
        (Admin, "POST", p("/applications"), Some(feast.clone()), 200),
        (Admin, "POST", p("/applications"), Some(feast2.clone()), 400),
        (
            Admin,
            "POST",
            p("/applications?upsert=true"),
            Some(feast2.clone()),
            200,
        ),
        (Admin, "POST", p("/applications"), Some(invalid), 400),
        (Admin, "POST", p("/applications"), Some(orphan), 400),
        (
            Alice,
            "PUT",
            p("/applications/feast"),
            Some(feast.clone()),
            403,
        ),
        (
            Reader,
            "PUT",
            p("/applications/feast"),
            Some(feast.clone()),
            403,
        ),
        (
            Admin,
            "PUT",
            p("/applications/feast"),
            Some(feast.clone()),
            200,
        ),
        (
            Admin,
            "PUT",
            p("/applications/mlflow"),
            Some(feast.clone()),
            400,
        ),
        // sync, rollback, terminate
        (
            Alice,
            "POST",
            p("/applications/mlflow/sync"),
            Some(sync.clone()),
            200,
        ),
        (
            Admin,
            "POST",
            p("/applications/mlflow/sync"),
            Some(sync.clone()),
            400,
        ),
        (
            Alice,
            "POST",
            p("/applications/triton-prod/sync"),
            Some(sync.clone()),
            403,
        ),
        (
            Reader,
            "POST",
            p("/applications/kserve/sync"),
            Some(sync.clone()),
            403,
        ),
        (
            Nobody,
            "POST",
            p("/applications/kserve/sync"),
            Some(sync.clone()),
            401,
        ),
        (
            Alice,
            "PUT",
            p("/applications/kserve/rollback"),
            Some(json!({"id": 1})),
            403,
        ),
        (
            Admin,
            "PUT",
            p("/applications/kserve/rollback"),
            Some(json!({"id": 1})),
            404,
        ),
        (
            Admin,
            "PUT",
            p("/applications/kserve/rollback"),
            Some(json!({})),
            400,
        ),
        (
            Reader,
            "DELETE",
            p("/applications/mlflow/operation"),
            None,
            403,
        ),
        (
            Alice,
            "DELETE",
            p("/applications/feast/operation"),
            None,
            400,
        ),
        (
            Admin,
            "DELETE",
            p("/applications/kserve/operation"),
            None,
            400,
        ),
        // tree, resources, manifests
        (
            Alice,
            "GET",
            p("/applications/mlflow/resource-tree"),
            None,
            200,
        ),
        (
            Alice,
            "GET",
            p("/applications/kserve/resource-tree"),
            None,
            403,
        ),
        (Alice, "GET", p("/applications/mlflow/events"), None, 200),
        (Alice, "GET", p("/applications/kserve/events"), None, 403),
        (Nobody, "GET", p("/applications/mlflow/events"), None, 401),
        (
            Alice,
            "GET",
            p("/applications/mlflow/managed-resources"),
            None,
            200,
        ),
        (
            Reader,
            "GET",
            p("/applications/kserve/managed-resources"),
            None,
            200,
        ),
        (
            Alice,
            "GET",
            p("/applications/kserve/managed-resources"),
            None,
            403,
        ),
        (Alice, "GET", p("/applications/mlflow/manifests"), None, 501),
        (Alice, "GET", p("/applications/kserve/manifests"), None, 403),
        // delete
        (Alice, "DELETE", p("/applications/feast"), None, 403),
        (Reader, "DELETE", p("/applications/feast"), None, 403),
        (
            Admin,
            "DELETE",
            p("/applications/feast?cascade=maybe"),
            None,
            400,
        ),
        (
            Admin,
            "DELETE",
            p("/applications/feast?cascade=false"),
            None,
            200,
        ),
        (Admin, "DELETE", p("/applications/feast"), None, 404),
        // projects
        (Nobody, "GET", p("/projects"), None, 401),
        (Alice, "GET", p("/projects"), None, 200),
        (Alice, "GET", p("/projects/ml-platform"), None, 200),
        (Alice, "GET", p("/projects/serving"), None, 403),
        (Admin, "GET", p("/projects/nope"), None, 404),
        (Alice, "POST", p("/projects"), Some(research.clone()), 403),
        (Admin, "POST", p("/projects"), Some(research.clone()), 200),
        (Admin, "POST", p("/projects"), Some(research.clone()), 409),
        (
            Reader,
            "PUT",
            p("/projects/research"),
            Some(research2.clone()),
            403,
        ),
        (
            Admin,
            "PUT",
            p("/projects/research"),
            Some(research2.clone()),
            200,
        ),
        (Alice, "DELETE", p("/projects/research"), None, 403),
        (Admin, "DELETE", p("/projects/ml-platform"), None, 400),
        (Admin, "DELETE", p("/projects/research"), None, 200),
        (
            Alice,
            "POST",
            p("/projects/ml-platform/roles/deployer/token"),
            Some(json!({})),
            403,
        ),
        (
            Admin,
            "POST",
            p("/projects/ml-platform/roles/ghost/token"),
            Some(json!({})),
            404,
        ),
        (
            Alice,
            "DELETE",
            p("/projects/ml-platform/roles/deployer/token/1"),
            None,
            403,
        ),
        (
            Admin,
            "DELETE",
            p("/projects/ml-platform/roles/deployer/token/1"),
            None,
            404,
        ),
        // repositories
        (Nobody, "GET", p("/repositories"), None, 401),
        (Alice, "POST", p("/repositories"), Some(repo.clone()), 403),
        (Admin, "POST", p("/repositories"), Some(repo.clone()), 200),
        (Admin, "POST", p("/repositories"), Some(repo.clone()), 409),
        (
            Admin,
            "POST",
            p("/repositories?upsert=true"),
            Some(repo.clone()),
            200,
        ),
        (Reader, "GET", p("/repositories"), None, 200),
        (Alice, "GET", p(&format!("/repositories/{REPO}")), None, 403),
        (
            Reader,
            "GET",
            p(&format!("/repositories/{REPO}")),
            None,
            200,
        ),
        (
            Alice,
            "DELETE",
            p(&format!("/repositories/{REPO}")),
            None,
            403,
        ),
        (
            Admin,
            "DELETE",
            p(&format!("/repositories/{REPO}")),
            None,
            200,
        ),
        (
            Admin,
            "DELETE",
            p(&format!("/repositories/{REPO}")),
            None,
            404,
        ),
        // clusters
        (Nobody, "GET", p("/clusters"), None, 401),
        (Alice, "POST", p("/clusters"), Some(cluster.clone()), 403),
        (Admin, "POST", p("/clusters"), Some(cluster.clone()), 200),
        (Admin, "POST", p("/clusters"), Some(cluster.clone()), 409),
        (Reader, "GET", p("/clusters"), None, 200),
        (Alice, "GET", p("/clusters"), None, 200),
        (Reader, "GET", p(&format!("/clusters/{CLUSTER}")), None, 200),
        (Reader, "GET", p("/clusters/gpu-1?id.type=name"), None, 200),
        (Alice, "GET", p(&format!("/clusters/{CLUSTER}")), None, 403),
        (
            Reader,
            "DELETE",
            p(&format!("/clusters/{CLUSTER}")),
            None,
            403,
        ),
        (
            Admin,
            "DELETE",
            p(&format!("/clusters/{CLUSTER}")),
            None,
            200,
        ),
        (
            Admin,
            "DELETE",
            p("/clusters/https%3A%2F%2Fkubernetes.default.svc"),
            None,
            400,
        ),
        // unknown route, logout
        (Admin, "GET", p("/no-such-thing"), None, 404),
        (Alice, "DELETE", p("/session"), None, 200),
        (Alice, "GET", p("/applications"), None, 401),
    ]
}

/// Whether a concrete request path (query removed) is an instance of a route template.
fn instance_of(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    // `{subresource}` of can-i takes the rest of the path
    if t.last() == Some(&"{subresource}") {
        return p.len() >= t.len() && t.iter().zip(&p).all(|(a, b)| a.starts_with('{') || a == b);
    }
    t.len() == p.len() && t.iter().zip(&p).all(|(a, b)| a.starts_with('{') || a == b)
}

#[test]
fn the_table_covers_every_route() {
    let rows = table();
    let uncovered: Vec<String> = ferrocd_server::api::routes()
        .into_iter()
        .filter(|route| {
            !rows.iter().any(|(_, method, path, _, _)| {
                *method == route.method && instance_of(&route.path, path)
            })
        })
        .map(|route| format!("{} {}", route.method, route.path))
        .collect();
    assert!(uncovered.is_empty(), "routes without a row: {uncovered:?}");
    assert!(instance_of(
        "/api/v1/applications/{name}",
        "/api/v1/applications/mlflow?refresh=hard"
    ));
    assert!(!instance_of(
        "/api/v1/applications/{name}",
        "/api/v1/applications/mlflow/sync"
    ));
}

#[tokio::test]
async fn every_route_checks_authentication_and_rbac() {
    let cp = ControlPlane::start().await;
    let admin = cp.admin().await;
    let alice = cp.login("alice", ALICE_PASSWORD).await;
    let reader = cp.login("reader", READER_PASSWORD).await;
    let mut failures = Vec::new();
    let mut bodies: Vec<(String, String)> = Vec::new();
    let rows = table();
    for (who, method, path, body, expected) in &rows {
        let token = match who {
            Who::Admin => Some(admin.as_str()),
            Who::Alice => Some(alice.as_str()),
            Who::Reader => Some(reader.as_str()),
            Who::Nobody => None,
            Who::Forged => Some("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"),
        };
        let (status, _, text) = cp.raw(method, path, token, body.as_ref()).await;
        if status.as_u16() != *expected {
            failures.push(format!(
                "{who:?} {method} {path}: expected {expected}, got {status}: {text}"
            ));
        }
        bodies.push((format!("{who:?} {method} {path}"), text));
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );

    // what the table left behind
    let (_, can) = cp
        .call(
            "GET",
            "/api/v1/account/can-i/applications/sync/ml-platform/mlflow",
            Some(&reader),
            None,
        )
        .await;
    assert_eq!(can["value"], "no");
    let (_, list) = cp
        .call("GET", "/api/v1/applications", Some(&reader), None)
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(4), "{list}");

    // no secret of any kind in any response
    let secrets: Api<Secret> = Api::namespaced(cp.client.clone(), NS);
    let stored = secrets
        .get("argocd-secret")
        .await
        .expect("argocd-secret")
        .data
        .expect("data");
    let mut forbidden: Vec<String> = vec![
        cp.admin_password.clone(),
        ALICE_PASSWORD.into(),
        READER_PASSWORD.into(),
        REPO_PASSWORD.into(),
        "b3BlbnNzaC1rZXktdjEAAAAA".into(),
        CLUSTER_TOKEN.into(),
    ];
    for (key, value) in &stored {
        if key.ends_with("password") || key == "server.secretkey" {
            forbidden.push(String::from_utf8_lossy(&value.0).into_owned());
            forbidden.push(common::base64_encode(&value.0));
        }
    }
    for (row, text) in &bodies {
        for secret in &forbidden {
            assert!(
                !text.contains(secret.as_str()),
                "{row} leaks a secret: {text}"
            );
        }
        assert!(
            !text.contains("$2a$") && !text.contains("$2b$") && !text.contains("$2y$"),
            "{row} leaks a hash: {text}"
        );
        // only the token-issuing rows may carry a JWT, and only the one issued
        if !row.contains("/token") {
            for token in [&admin, &alice, &reader] {
                assert!(
                    !text.contains(token.as_str()),
                    "{row} leaks a session token"
                );
            }
        }
    }
    cp.stop().await;
}
