//! OCI registries that demand a bearer token (`WWW-Authenticate: Bearer realm=...`), as
//! Docker Hub, GHCR and Harbor do: a registry and its token service on loopback, written
//! here to the distribution API's shape, so that the whole challenge flow is observable.

mod loopback_http;

use std::collections::BTreeMap;

use base64::Engine as _;
use ferrocd_source::{Credential, CredentialStore, FetchOptions, HelmRepoClient, SourceError};
use loopback_http::{Response, Server};
use sha2::{Digest, Sha256};

const TOKEN: &str = "tok-7f3a9c";
const CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
const LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

fn digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn manifest(config_type: &str, layer_digest: &str) -> Vec<u8> {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_type, "digest": digest(b"{}"), "size": 2},
        "layers": [{"mediaType": LAYER, "digest": layer_digest, "size": 10}]
    })
    .to_string()
    .into_bytes()
}

/// A registry for `charts/triton-server` whose token service wants `ml:pw` when
/// `token_user` is set.
fn registry(token_user: Option<(&'static str, &'static str)>) -> Server {
    let port_slot = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
    let port = port_slot.clone();
    let good = b"triton 1.1.0 chart archive".to_vec();
    let mut routes: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    routes.insert(
        "/v2/charts/triton-server/tags/list?n=10000".into(),
        br#"{"name":"charts/triton-server","tags":["1.0.0","1.1.0","1.1.1-rc.1","latest","image-1"]}"#.to_vec(),
    );
    routes.insert(
        "/v2/charts/triton-server/manifests/1.1.0".into(),
        manifest(CONFIG, &digest(&good)),
    );
    routes.insert(
        "/v2/charts/triton-server/manifests/1.0.0".into(),
        manifest(CONFIG, &digest(b"another archive")),
    );
    routes.insert(
        "/v2/charts/triton-server/manifests/image-1".into(),
        manifest("application/vnd.oci.image.config.v1+json", &digest(&good)),
    );
    routes.insert(
        format!("/v2/charts/triton-server/blobs/{}", digest(&good)),
        good.clone(),
    );
    routes.insert(
        format!(
            "/v2/charts/triton-server/blobs/{}",
            digest(b"another archive")
        ),
        b"tampered".to_vec(),
    );
    let expected_basic = token_user.map(|(u, p)| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    });
    let server = Server::start(move |req| {
        if let Some(query) = req.path.strip_prefix("/token?") {
            if expected_basic.is_some() && req.authorization != expected_basic {
                return Response::status(401);
            }
            if !query.contains("service=fake-registry")
                || !query.contains("scope=repository%3Acharts%2Ftriton-server%3Apull")
            {
                return Response::status(400);
            }
            return Response::ok(format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#));
        }
        if req.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
            let realm = format!(
                "http://127.0.0.1:{}/token",
                port.get().copied().unwrap_or(0)
            );
            return Response::status(401).header(
                "WWW-Authenticate",
                &format!(
                    r#"Bearer realm="{realm}",service="fake-registry",scope="repository:charts/triton-server:pull""#
                ),
            );
        }
        match routes.get(&req.path) {
            Some(body) => Response::ok(body.clone()),
            None => Response::status(404),
        }
    });
    let _ = port_slot.set(server.port);
    server
}

fn client(dir: &std::path::Path, store: CredentialStore) -> HelmRepoClient {
    HelmRepoClient::new(dir, store)
}

#[test]
fn anonymous_bearer_tokens_constraints_and_cache() {
    let server = registry(None);
    let cache = tempfile::tempdir().expect("tempdir");
    let c = client(cache.path(), CredentialStore::new());
    let url = format!("oci://127.0.0.1:{}/charts", server.port);
    let got = c
        .fetch_oci_chart(&url, "triton-server", "1.*", &FetchOptions::default())
        .expect("fetch 1.*");
    assert_eq!(got.version, "1.1.0");
    assert_eq!(
        std::fs::read(&got.archive).expect("cached"),
        b"triton 1.1.0 chart archive"
    );
    let token_requests = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/token"))
        .count();
    assert_eq!(token_requests, 1, "one token for the whole pull");

    let before = server.requests().len();
    let again = c
        .fetch_oci_chart(&url, "triton-server", "1.1.0", &FetchOptions::default())
        .expect("cached");
    assert_eq!(again.archive, got.archive);
    assert_eq!(
        server.requests().len(),
        before,
        "exact cached version: no request"
    );
}

#[test]
fn token_service_credentials_come_from_the_store() {
    let server = registry(Some(("ml", "pw-token-svc")));
    let url = format!("oci://127.0.0.1:{}/charts", server.port);
    let cache = tempfile::tempdir().expect("tempdir");
    let err = client(cache.path(), CredentialStore::new())
        .fetch_oci_chart(&url, "triton-server", "1.1.0", &FetchOptions::default())
        .expect_err("token service refuses anonymous");
    assert!(
        matches!(err, SourceError::AuthenticationFailed { .. }),
        "{err:?}"
    );

    // A git-kind template for the same prefix is not used for Helm charts.
    let mut store = CredentialStore::new();
    store.add_template(
        &format!("oci://127.0.0.1:{}", server.port),
        Credential::basic("ml", "pw-token-svc"),
    );
    let err = client(cache.path(), store)
        .fetch_oci_chart(&url, "triton-server", "1.1.0", &FetchOptions::default())
        .expect_err("git credentials are not helm credentials");
    assert!(
        matches!(err, SourceError::AuthenticationFailed { .. }),
        "{err:?}"
    );
    let secret = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "ghcr-ml",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repo-creds"}
        },
        "stringData": {
            "type": "helm",
            "enableOCI": "true",
            "url": format!("oci://127.0.0.1:{}", server.port),
            "username": "ml",
            "password": "pw-token-svc"
        }
    });
    let store = CredentialStore::from_secrets([&secret]).expect("secret");
    let got = client(cache.path(), store)
        .fetch_oci_chart(&url, "triton-server", "1.1.0", &FetchOptions::default())
        .expect("with token service credentials");
    assert_eq!(got.version, "1.1.0");
}

#[test]
fn digests_media_types_and_missing_tags() {
    let server = registry(None);
    let cache = tempfile::tempdir().expect("tempdir");
    let c = client(cache.path(), CredentialStore::new());
    let url = format!("oci://127.0.0.1:{}/charts", server.port);
    let opts = FetchOptions::default();

    let err = c
        .fetch_oci_chart(&url, "triton-server", "1.0.0", &opts)
        .expect_err("tampered blob");
    assert!(matches!(err, SourceError::DigestMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("digest mismatch"), "{err}");

    let err = c
        .fetch_oci_chart(&url, "triton-server", "image-1", &opts)
        .expect_err("not a chart");
    assert!(
        err.to_string().contains(
            "not a Helm chart (config media type \"application/vnd.oci.image.config.v1+json\""
        ),
        "{err}"
    );

    let err = c
        .fetch_oci_chart(&url, "triton-server", "3.0.0", &opts)
        .expect_err("no such tag");
    assert_eq!(
        err.to_string(),
        format!(
            "repository {url}/triton-server: chart \"triton-server\" has no version matching \"3.0.0\" (available: 1.1.1-rc.1, 1.1.0, 1.0.0)"
        )
    );
}
