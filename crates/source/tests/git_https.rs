//! Against the smart-HTTP server over TLS with a self-signed certificate.

mod common;

use std::collections::BTreeMap;

use common::{Fixture, cache_dir};
use ferrocd_source::testing::GitHttpServer;
use ferrocd_source::{CacheOptions, Credential, CredentialStore, RepoCache, SourceError};

const USER: &str = "mlflow-bot";
const PASSWORD: &str = "ghp-TlsS3cretTokenValue";

fn store(url: &str, insecure: bool) -> CredentialStore {
    let mut credential = Credential::basic(USER, PASSWORD);
    credential.insecure = insecure;
    let mut store = CredentialStore::new();
    store.add_repository(url, credential);
    store
}

#[test]
fn untrusted_certificate_is_refused() {
    let fx = Fixture::new();
    let server = GitHttpServer::start_tls(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");
    assert!(url.starts_with("https://127.0.0.1:"));
    let cache = RepoCache::new(cache_dir().path(), store(&url, false));
    let err = cache.resolve(&url, "main").unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err}");
    let shown = format!("{err} {err:?}");
    eprintln!("{err}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(server.requests().is_empty(), "no request got through TLS");
}

#[test]
fn insecure_repository_skips_verification() {
    let fx = Fixture::new();
    let server = GitHttpServer::start_tls(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");
    let cache = RepoCache::new(cache_dir().path(), store(&url, true));
    assert_eq!(
        cache.resolve(&url, "v1.2.3").unwrap().commit,
        fx.commit("v1.2.3")
    );
    let checkout = cache.checkout(&url, "HEAD").unwrap();
    assert!(checkout.path.join("apps/mlflow/deployment.yaml").is_file());
}

#[test]
fn trusted_certificate_for_the_host_verifies() {
    let fx = Fixture::new();
    let server = GitHttpServer::start_tls(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");
    let mut tls_certs = BTreeMap::new();
    tls_certs.insert(
        "127.0.0.1".to_string(),
        server.cert_pem().unwrap().to_string(),
    );
    let options = CacheOptions {
        tls_certs,
        ..CacheOptions::default()
    };
    let cache = RepoCache::with_options(cache_dir().path(), store(&url, false), options);
    assert_eq!(cache.resolve(&url, "dev").unwrap().commit, fx.commit("dev"));
}
