//! Helm repositories over real HTTP on loopback: an `index.yaml` and archives served by a
//! small threaded server (with and without basic auth), fetched by [`HelmRepoClient`].

mod loopback_http;

use std::collections::BTreeMap;

use base64::Engine as _;
use ferrocd_source::{Credential, CredentialStore, FetchOptions, HelmRepoClient, SourceError};
use loopback_http::{Response, Server};
use sha2::{Digest, Sha256};

/// A static-file server, optionally behind basic auth.
fn static_server(
    files: impl Fn(&str) -> BTreeMap<String, Vec<u8>>,
    auth: Option<(&str, &str)>,
) -> Server {
    let expected = auth.map(|(u, p)| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    });
    let files_slot = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::<String, Vec<u8>>::new()));
    let served = files_slot.clone();
    let server = Server::start(move |req| {
        if expected.is_some() && req.authorization != expected {
            return Response::status(401).header("WWW-Authenticate", "Basic realm=\"charts\"");
        }
        match served.lock().expect("lock").get(&req.path) {
            Some(body) => Response::ok(body.clone()),
            None => Response::status(404),
        }
    });
    files_slot
        .lock()
        .expect("lock")
        .extend(files(&server.url("")));
    server
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A repository at `/ml` with three versions of `triton-server` (one hosted under an
/// absolute URL, one with a wrong digest) and one `mlflow`.
fn repo_files(absolute_base: &str) -> BTreeMap<String, Vec<u8>> {
    let a = b"triton 1.2.3 archive".to_vec();
    let b = b"triton 1.2.9 archive".to_vec();
    let c = b"triton 1.3.0 archive".to_vec();
    let m = b"mlflow archive".to_vec();
    let index = format!(
        r#"apiVersion: v1
entries:
  triton-server:
  - name: triton-server
    version: 1.3.0
    digest: {wrong}
    urls: [charts/triton-server-1.3.0.tgz]
  - name: triton-server
    version: 1.2.9
    digest: {b}
    urls: ["{absolute_base}/ml/charts/triton-server-1.2.9.tgz"]
  - name: triton-server
    version: 1.2.3
    digest: {a}
    urls: [charts/triton-server-1.2.3.tgz]
  mlflow:
  - name: mlflow
    version: 0.4.0
    urls: [mlflow-0.4.0.tgz]
generated: "2026-11-20T10:00:00Z"
"#,
        wrong = sha(b"something else"),
        a = sha(&a),
        b = sha(&b),
    );
    BTreeMap::from([
        ("/ml/index.yaml".to_string(), index.into_bytes()),
        ("/ml/charts/triton-server-1.2.3.tgz".to_string(), a),
        ("/ml/charts/triton-server-1.2.9.tgz".to_string(), b),
        ("/ml/charts/triton-server-1.3.0.tgz".to_string(), c),
        ("/ml/mlflow-0.4.0.tgz".to_string(), m),
    ])
}

fn start_repo(auth: Option<(&str, &str)>) -> Server {
    static_server(repo_files, auth)
}

#[test]
fn versions_by_constraint_relative_and_absolute_urls_and_cache() {
    let server = start_repo(None);
    let cache = tempfile::tempdir().expect("tempdir");
    let client = HelmRepoClient::new(cache.path(), CredentialStore::new());
    let repo = server.url("/ml");
    let opts = FetchOptions::default();

    let got = client
        .fetch_chart(&repo, "triton-server", "1.2.*", &opts)
        .expect("fetch 1.2.*");
    assert_eq!(got.version, "1.2.9");
    assert_eq!(
        std::fs::read(&got.archive).expect("cached"),
        b"triton 1.2.9 archive"
    );
    assert_eq!(got.digest, sha(b"triton 1.2.9 archive"));
    assert!(got.archive.starts_with(cache.path()));

    let got = client
        .fetch_chart(&repo, "triton-server", "1.2.3", &opts)
        .expect("fetch exact");
    assert_eq!(
        std::fs::read(&got.archive).expect("cached"),
        b"triton 1.2.3 archive"
    );
    // No digest in the index: accepted, digest computed.
    let got = client
        .fetch_chart(&repo, "mlflow", "", &opts)
        .expect("latest mlflow");
    assert_eq!(got.version, "0.4.0");

    // An exact version already cached needs no request at all.
    let before = server.requests().len();
    let again = client
        .fetch_chart(&repo, "triton-server", "1.2.3", &opts)
        .expect("from cache");
    assert_eq!(again.archive, got_path(&client, &repo));
    assert_eq!(server.requests().len(), before);
}

fn got_path(client: &HelmRepoClient, repo: &str) -> std::path::PathBuf {
    client
        .fetch_chart(repo, "triton-server", "1.2.3", &FetchOptions::default())
        .expect("cached")
        .archive
}

#[test]
fn wrong_digest_and_missing_versions_are_clear() {
    let server = start_repo(None);
    let cache = tempfile::tempdir().expect("tempdir");
    let client = HelmRepoClient::new(cache.path(), CredentialStore::new());
    let repo = server.url("/ml");
    let opts = FetchOptions::default();

    let err = client
        .fetch_chart(&repo, "triton-server", "1.3.0", &opts)
        .expect_err("digest mismatch");
    assert!(matches!(err, SourceError::DigestMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("triton-server-1.3.0.tgz: chart triton-server 1.3.0: digest mismatch"),
        "{msg}"
    );
    assert!(msg.contains(&sha(b"something else")), "{msg}");
    // Nothing was cached for the bad archive.
    let err = client
        .fetch_chart(&repo, "triton-server", "1.3.0", &opts)
        .expect_err("still refused");
    assert!(matches!(err, SourceError::DigestMismatch { .. }));

    let err = client
        .fetch_chart(&repo, "triton-server", "~2.0", &opts)
        .expect_err("no such version");
    assert_eq!(
        err.to_string(),
        format!(
            "repository {repo}: chart \"triton-server\" has no version matching \"~2.0\" (available: 1.3.0, 1.2.9, 1.2.3)"
        )
    );
    let err = client
        .fetch_chart(&repo, "kserve", "1.0.0", &opts)
        .expect_err("no such chart");
    assert_eq!(
        err.to_string(),
        format!("repository {repo}: chart \"kserve\" not found (charts: mlflow, triton-server)")
    );
    let err = client
        .fetch_chart(&server.url("/nope"), "mlflow", "1.0.0", &opts)
        .expect_err("no index");
    assert_eq!(
        err.to_string(),
        format!("{}: HTTP status 404", server.url("/nope/index.yaml"))
    );
}

#[test]
fn basic_auth_from_helm_repository_secrets() {
    let server = start_repo(Some(("ml-reader", "s3cr3t-pw")));
    let repo = server.url("/ml");
    let cache = tempfile::tempdir().expect("tempdir");

    // Anonymous: refused, and the message says so without secrets.
    let anonymous = HelmRepoClient::new(cache.path(), CredentialStore::new());
    let err = anonymous
        .fetch_chart(&repo, "triton-server", "1.2.3", &FetchOptions::default())
        .expect_err("needs auth");
    assert!(
        matches!(err, SourceError::AuthenticationFailed { .. }),
        "{err:?}"
    );

    // A repository Secret of type helm, as Argo CD stores it.
    let secret = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "repo-ml-charts",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repository"}
        },
        "stringData": {
            "type": "helm",
            "name": "ml-charts",
            "url": repo,
            "username": "ml-reader",
            "password": "s3cr3t-pw"
        }
    });
    let store = CredentialStore::from_secrets([&secret]).expect("secret");
    let client = HelmRepoClient::new(cache.path(), store);
    let got = client
        .fetch_chart(&repo, "triton-server", "1.2.*", &FetchOptions::default())
        .expect("with credentials");
    assert_eq!(got.version, "1.2.9");

    // A Git-type entry for the same URL is not used for Helm.
    let mut store = CredentialStore::new();
    store.add_repository(&repo, Credential::basic("ml-reader", "s3cr3t-pw"));
    let other = tempfile::tempdir().expect("tempdir");
    let client = HelmRepoClient::new(other.path(), store);
    let err = client
        .fetch_chart(&repo, "mlflow", "0.4.0", &FetchOptions::default())
        .expect_err("git credentials are not helm credentials");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}
