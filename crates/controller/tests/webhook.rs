//! The webhook router served on a loopback port and called by a real HTTP client with
//! each provider's push payload: signature right, wrong and missing.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ferrocd_controller::webhook::WEBHOOK_PATH;
use ferrocd_controller::{GitProvider, PushEvent, WebhookSecrets, webhook_router};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const GITHUB_SECRET: &str = "gh-hook-7f3a91";
const GITLAB_TOKEN: &str = "gl-token-2b8c44";
const BITBUCKET_UUID: &str = "{4c9a2e71-8d3b-4f6a-9e0c-51b7d2a8f3e6}";
const GITEA_SECRET: &str = "gitea-hook-e5d0";
const BITBUCKET_SERVER_SECRET: &str = "bbs-hook-91ce";

fn payload(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/webhook")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

struct Server {
    url: String,
    events: Arc<Mutex<Vec<PushEvent>>>,
    client: reqwest::Client,
}

impl Server {
    async fn start(secrets: WebhookSecrets) -> Self {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let router = webhook_router(secrets, move |event| {
            sink.lock().expect("events lock").push(event);
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            axum::serve(listener, router).await.expect("serve");
        });
        Self {
            url: format!("http://{addr}{WEBHOOK_PATH}"),
            events,
            client: reqwest::Client::new(),
        }
    }

    fn configured() -> WebhookSecrets {
        WebhookSecrets::default()
            .with_github(GITHUB_SECRET)
            .with_gitlab(GITLAB_TOKEN)
            .with_bitbucket_uuid(BITBUCKET_UUID)
            .with_gitea(GITEA_SECRET)
            .with_bitbucket_server(BITBUCKET_SERVER_SECRET)
    }

    async fn post(&self, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, String) {
        let mut req = self
            .client
            .post(&self.url)
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.body(body).send().await.expect("send");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    fn take(&self) -> Vec<PushEvent> {
        std::mem::take(&mut *self.events.lock().expect("events lock"))
    }
}

#[tokio::test]
async fn github_push_signed_wrong_and_missing() {
    let server = Server::start(Server::configured()).await;
    let body = payload("github-push.json");
    let good = format!("sha256={}", hmac_hex(GITHUB_SECRET, &body));

    let (status, _) = server
        .post(
            &[("x-github-event", "push"), ("x-hub-signature-256", &good)],
            body.clone(),
        )
        .await;
    assert_eq!(status, 200);
    let events = server.take();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.provider, GitProvider::GitHub);
    assert_eq!(e.revision, "9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b1c3d5e7f");
    assert_eq!(e.branch(), Some("main"));
    assert_eq!(e.default_branch.as_deref(), Some("main"));
    assert!(e.concerns_revision("HEAD"));
    assert_eq!(
        e.repo_urls,
        [
            "https://github.com/acme-ml/platform-gitops",
            "https://github.com/acme-ml/platform-gitops.git",
            "git@github.com:acme-ml/platform-gitops.git",
            "git://github.com/acme-ml/platform-gitops.git",
        ]
    );
    assert_eq!(
        e.changed_files,
        [
            "apps/mlflow/overlays/dev/kustomization.yaml",
            "apps/mlflow/overlays/dev/old-volume.yaml",
            "apps/mlflow/overlays/dev/pvc.yaml",
            "apps/model-serving/overlays/dev/kustomization.yaml",
        ]
    );
    assert!(e.concerns_repo("git@github.com:acme-ml/platform-gitops.git"));
    assert!(e.touches_any(&["apps/mlflow/overlays/dev"]));
    assert!(!e.touches_any(&["apps/airflow"]));

    // Signed with another secret: 401 without details, nothing delivered.
    let wrong = format!("sha256={}", hmac_hex("not-the-secret", &body));
    let (status, text) = server
        .post(
            &[("x-github-event", "push"), ("x-hub-signature-256", &wrong)],
            body.clone(),
        )
        .await;
    assert_eq!((status, text.as_str()), (401, "unauthorized\n"));
    // A tampered body with the original signature.
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let (status, _) = server
        .post(
            &[("x-github-event", "push"), ("x-hub-signature-256", &good)],
            tampered,
        )
        .await;
    assert_eq!(status, 401);
    let (status, text) = server.post(&[("x-github-event", "push")], body).await;
    assert_eq!((status, text.as_str()), (401, "unauthorized\n"));
    assert!(server.take().is_empty());

    // A ping is accepted and carries no push.
    let ping = payload("github-ping.json");
    let sig = format!("sha256={}", hmac_hex(GITHUB_SECRET, &ping));
    let (status, _) = server
        .post(
            &[("x-github-event", "ping"), ("x-hub-signature-256", &sig)],
            ping,
        )
        .await;
    assert_eq!(status, 200);
    assert!(server.take().is_empty());
}

#[tokio::test]
async fn gitlab_push_token_right_wrong_and_missing() {
    let server = Server::start(Server::configured()).await;
    let body = payload("gitlab-push.json");
    let (status, _) = server
        .post(
            &[
                ("x-gitlab-event", "Push Hook"),
                ("x-gitlab-token", GITLAB_TOKEN),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 200);
    let events = server.take();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.provider, GitProvider::GitLab);
    assert_eq!(e.revision, "c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5");
    assert_eq!(e.branch(), Some("release/2026.11"));
    assert_eq!(e.default_branch.as_deref(), Some("main"));
    assert!(!e.concerns_revision("HEAD"));
    assert!(e.concerns_revision("release/2026.11"));
    assert_eq!(
        e.repo_urls,
        [
            "https://gitlab.acme.io/data-eng/airflow-dags",
            "https://gitlab.acme.io/data-eng/airflow-dags.git",
            "git@gitlab.acme.io:data-eng/airflow-dags.git",
        ]
    );
    assert_eq!(
        e.changed_files,
        [
            "charts/airflow/values/prod-backfill.yaml",
            "charts/airflow/values/prod.yaml"
        ]
    );
    assert!(e.concerns_repo("https://GITLAB.acme.io/data-eng/airflow-dags/"));

    let (status, text) = server
        .post(
            &[
                ("x-gitlab-event", "Push Hook"),
                ("x-gitlab-token", "gl-token-2b8c45"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!((status, text.as_str()), (401, "unauthorized\n"));
    let (status, _) = server.post(&[("x-gitlab-event", "Push Hook")], body).await;
    assert_eq!(status, 401);
    assert!(server.take().is_empty());
}

#[tokio::test]
async fn bitbucket_push_uuid_right_wrong_and_missing() {
    let server = Server::start(Server::configured()).await;
    let body = payload("bitbucket-push.json");
    let (status, _) = server
        .post(
            &[
                ("x-event-key", "repo:push"),
                ("x-hook-uuid", BITBUCKET_UUID),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 200);
    let events = server.take();
    // The branch update and the new tag; the deleted branch carries no revision.
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].provider, GitProvider::Bitbucket);
    assert_eq!(events[0].branch(), Some("main"));
    assert_eq!(
        events[0].revision,
        "f7a9c1e3b5d7f9a1c3e5a7c9e1b3d5f7a9c1e3b5"
    );
    assert_eq!(events[1].tag(), Some("monitoring-v1.8.0"));
    assert_eq!(
        events[0].repo_urls,
        [
            "https://bitbucket.org/acme-ml/monitoring-stack",
            "https://bitbucket.org/acme-ml/monitoring-stack.git",
            "git@bitbucket.org:acme-ml/monitoring-stack.git",
        ]
    );
    // Bitbucket does not list files: every app of the repository is concerned.
    assert!(events[0].changed_files.is_empty());
    assert!(events[0].touches_any(&["dashboards/gpu"]));

    let (status, _) = server
        .post(
            &[
                ("x-event-key", "repo:push"),
                ("x-hook-uuid", "{00000000-0000-0000-0000-000000000000}"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = server.post(&[("x-event-key", "repo:push")], body).await;
    assert_eq!(status, 401);
    assert!(server.take().is_empty());
}

#[tokio::test]
async fn bitbucket_server_push_signed_wrong_and_missing() {
    let server = Server::start(Server::configured()).await;
    let body = payload("bitbucket-server-push.json");
    let good = format!("sha256={}", hmac_hex(BITBUCKET_SERVER_SECRET, &body));
    let (status, _) = server
        .post(
            &[
                ("x-event-key", "repo:refs_changed"),
                ("x-hub-signature", &good),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 200);
    let events = server.take();
    // The update of main; the deleted spike branch carries no revision.
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.provider, GitProvider::BitbucketServer);
    assert_eq!(e.branch(), Some("main"));
    assert_eq!(e.revision, "e1b3d5f7a9c1e3b5d7f9a1c3e5a7c9e1b3d5f7a9");
    assert!(e.concerns_repo("https://bitbucket.acme.io/scm/mlp/feature-store.git"));
    assert!(e.concerns_repo("ssh://git@bitbucket.acme.io:7999/mlp/feature-store.git"));
    assert!(!e.concerns_repo("https://bitbucket.acme.io/scm/mlp/model-registry.git"));

    // Bitbucket Server's secret does not come from the Cloud UUID, and vice versa.
    let (status, _) = server
        .post(
            &[
                ("x-event-key", "repo:refs_changed"),
                ("x-hook-uuid", BITBUCKET_UUID),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    let wrong = format!("sha256={}", hmac_hex(GITHUB_SECRET, &body));
    let (status, _) = server
        .post(
            &[
                ("x-event-key", "repo:refs_changed"),
                ("x-hub-signature", &wrong),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    assert!(server.take().is_empty());

    // Its connection test is accepted once signed.
    let ping = b"{\"test\": true}".to_vec();
    let sig = format!("sha256={}", hmac_hex(BITBUCKET_SERVER_SECRET, &ping));
    let (status, _) = server
        .post(
            &[
                ("x-event-key", "diagnostics:ping"),
                ("x-hub-signature", &sig),
            ],
            ping,
        )
        .await;
    assert_eq!(status, 200);
    assert!(server.take().is_empty());
}

#[tokio::test]
async fn gitea_push_signed_wrong_and_missing() {
    let server = Server::start(Server::configured()).await;
    let body = payload("gitea-push.json");
    let good = hmac_hex(GITEA_SECRET, &body);
    // Gitea also sends GitHub- and Gogs-style event headers.
    let (status, _) = server
        .post(
            &[
                ("x-gitea-event", "push"),
                ("x-gogs-event", "push"),
                ("x-github-event", "push"),
                ("x-gitea-signature", &good),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 200);
    let events = server.take();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.provider, GitProvider::Gitea);
    assert_eq!(e.tag(), Some("model-serving-2026.11.21"));
    assert!(e.concerns_revision("model-serving-2026.11.21"));
    assert!(!e.concerns_revision("HEAD"));
    assert_eq!(e.revision, "5d7f9a1c3e5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e");
    assert!(e.concerns_repo("https://gitea.acme.internal/platform/model-serving"));
    assert!(e.concerns_repo("git@gitea.acme.internal:platform/model-serving.git"));

    let wrong = hmac_hex("other", &body);
    let (status, _) = server
        .post(
            &[("x-gitea-event", "push"), ("x-gitea-signature", &wrong)],
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = server
        .post(
            &[
                ("x-gitea-event", "push"),
                ("x-gitea-signature", "zz-not-hex"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = server.post(&[("x-gitea-event", "push")], body).await;
    assert_eq!(status, 401);
    assert!(server.take().is_empty());
}

#[tokio::test]
async fn unsigned_events_accepted_without_secrets_and_bad_requests_refused() {
    let server = Server::start(WebhookSecrets::default()).await;
    let (status, _) = server
        .post(&[("x-github-event", "push")], payload("github-push.json"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(server.take().len(), 1);

    let (status, text) = server.post(&[], payload("github-push.json")).await;
    assert_eq!(status, 400);
    assert!(text.contains("unknown webhook event"), "{text}");

    let (status, text) = server
        .post(&[("x-gitlab-event", "Push Hook")], b"{not json".to_vec())
        .await;
    assert_eq!(status, 400);
    assert!(text.contains("cannot parse gitlab push payload"), "{text}");
    assert!(server.take().is_empty());
}
