//! Against a real smart-HTTP server (git http-backend) with Basic auth.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{Fixture, cache_dir};
use ferrocd_source::testing::GitHttpServer;
use ferrocd_source::{Credential, CredentialStore, RepoCache, RevisionKind, SourceError};

const USER: &str = "deploy-bot";
const PASSWORD: &str = "glpat-Sup3rS3cretT0ken";

fn store_for(url: &str, password: &str) -> CredentialStore {
    let mut store = CredentialStore::new();
    store.add_repository(url, Credential::basic(USER, password));
    store
}

fn assert_no_secret(err: &SourceError, secret: &str) {
    let shown = format!("{err} | {err:?}");
    assert!(!shown.contains(secret), "secret leaked: {shown}");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        assert!(
            !s.to_string().contains(secret),
            "secret leaked in source: {s}"
        );
        source = s.source();
    }
}

#[test]
fn basic_auth_with_the_right_password_fetches() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), store_for(&url, PASSWORD));

    let head = cache.resolve(&url, "HEAD").unwrap();
    assert_eq!(head.commit, fx.commit("main"));
    assert_eq!(head.kind, RevisionKind::DefaultBranch);
    assert_eq!(cache.resolve(&url, "dev").unwrap().commit, fx.commit("dev"));
    assert_eq!(
        cache.resolve(&url, "v1.2.9").unwrap().commit,
        fx.commit("v1.2.9")
    );
    assert_eq!(
        cache.resolve(&url, "~1.2").unwrap().commit,
        fx.commit("v1.2.9")
    );
    let short = &fx.commit("v1.0.0")[..7];
    assert_eq!(
        cache.resolve(&url, short).unwrap().commit,
        fx.commit("v1.0.0")
    );

    let checkout = cache.checkout(&url, "v2.0.0").unwrap();
    assert!(
        checkout
            .path
            .join("apps/model-server/deployment.yaml")
            .is_file()
    );

    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.status == 401),
        "challenge seen: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with("/git-upload-pack") && r.status == 200),
        "{requests:?}"
    );
}

#[test]
fn wrong_password_is_an_authentication_failure_without_the_password() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");
    let wrong = "hunter2-Wr0ngPassw0rd";
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), store_for(&url, wrong));
    let err = cache.resolve(&url, "main").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("repository {url}: authentication failed")
    );
    assert_no_secret(&err, wrong);

    // No credentials at all.
    let anonymous = RepoCache::new(cache_dir().path(), CredentialStore::new());
    let err = anonymous.resolve(&url, "main").unwrap_err();
    assert!(
        matches!(err, SourceError::AuthenticationFailed { .. }),
        "{err}"
    );
}

#[test]
fn credentials_in_the_url_are_used_and_never_shown() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let addr = server.addr();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let good = format!("http://{USER}:{PASSWORD}@{addr}/ml-platform.git");
    assert_eq!(
        cache.resolve(&good, "main").unwrap().commit,
        fx.commit("main")
    );

    let bad = format!("http://{USER}:hunter2-InUrl@{addr}/ml-platform.git");
    let cache2 = RepoCache::new(cache_dir().path(), CredentialStore::new());
    let err = cache2.resolve(&bad, "main").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("repository http://{addr}/ml-platform.git: authentication failed")
    );
    assert_no_secret(&err, "hunter2-InUrl");
}

#[test]
fn repo_creds_template_secret_authenticates_by_prefix() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let secret = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "creds-local-git",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repo-creds"}
        },
        "data": {
            "url": b64(&format!("{}/", server.base_url())),
            "username": b64(USER),
            "password": b64(PASSWORD),
        }
    });
    let store = CredentialStore::from_secrets([&secret]).unwrap();
    let cache = RepoCache::new(cache_dir().path(), store);
    let url = server.url("ml-platform.git");
    assert_eq!(
        cache.resolve(&url, "v1.0.0").unwrap().commit,
        fx.commit("v1.0.0")
    );
}

#[test]
fn unknown_revision_over_http() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), None);
    let url = server.url("ml-platform.git");
    let cache = RepoCache::new(cache_dir().path(), CredentialStore::new());
    let err = cache.resolve(&url, "feature/quantized-llm").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "repository {url}: revision \"feature/quantized-llm\" not found (no branch, tag or commit matches)"
        )
    );
}

#[test]
fn missing_repository_on_the_server_is_unreachable() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), None);
    let url = server.url("no-such-repo.git");
    let cache = RepoCache::new(cache_dir().path(), CredentialStore::new());
    let err = cache.resolve(&url, "main").unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err}");
}

#[test]
fn closed_port_is_unreachable_and_leaks_nothing() {
    // Bind then drop to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/ml-platform.git");
    let secret = "hunter2-Unreachable";
    let cache = RepoCache::new(cache_dir().path(), store_for(&url, secret));
    let err = cache.resolve(&url, "main").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("repository {url}: unreachable: ")),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
    assert_no_secret(&err, secret);

    let with_userinfo = format!("http://bob:{secret}@127.0.0.1:{port}/ml-platform.git");
    let err = cache.resolve(&with_userinfo, "main").unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err}");
    assert_no_secret(&err, secret);
}

#[test]
fn concurrent_requests_share_one_fetch() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");

    // Baseline: how many requests one fetch takes.
    let baseline_cache = RepoCache::new(cache_dir().path(), store_for(&url, PASSWORD));
    baseline_cache.resolve(&url, "main").unwrap();
    let per_fetch = server.request_count();
    assert!(per_fetch >= 2, "{:?}", server.requests());
    server.reset_requests();

    // Widen the window so that every thread arrives while the first fetch is in flight.
    server.set_delay(Duration::from_millis(150));
    let root = cache_dir();
    let cache = Arc::new(RepoCache::new(root.path(), store_for(&url, PASSWORD)));
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let cache = Arc::clone(&cache);
            let barrier = Arc::clone(&barrier);
            let url = url.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let rev = if i % 2 == 0 { "main" } else { "HEAD" };
                cache.resolve(&url, rev).map(|r| r.commit)
            })
        })
        .collect();
    let commits: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    assert!(commits.iter().all(|c| *c == fx.commit("main")));
    assert_eq!(cache.fetch_count(), 1);
    assert_eq!(server.request_count(), per_fetch, "{:?}", server.requests());
}

#[test]
fn force_basic_auth_skips_the_challenge() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");
    let mut credential = Credential::basic(USER, PASSWORD);
    credential.force_http_basic_auth = true;
    let mut store = CredentialStore::new();
    store.add_repository(&url, credential);
    let cache = RepoCache::new(cache_dir().path(), store);
    assert_eq!(
        cache.resolve(&url, "main").unwrap().commit,
        fx.commit("main")
    );
    let requests = server.requests();
    assert!(requests.iter().all(|r| r.status == 200), "{requests:?}");
}

#[test]
fn server_decodes_chunked_bodies_and_challenges_without_auth() {
    use std::io::{Read as _, Write as _};
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));

    let mut plain = std::net::TcpStream::connect(server.addr()).unwrap();
    write!(
        plain,
        "GET /ml-platform.git/info/refs?service=git-upload-pack HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    plain.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
    assert!(reply.contains("WWW-Authenticate: Basic"), "{reply}");

    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    // Protocol v2 `ls-refs`, sent in two chunks.
    let body = "0014command=ls-refs\n0000";
    let (a, b) = body.split_at(9);
    let mut chunked = std::net::TcpStream::connect(server.addr()).unwrap();
    write!(
        chunked,
        "POST /ml-platform.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/x-git-upload-pack-request\r\nGit-Protocol: version=2\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    )
    .unwrap();
    let mut reply = Vec::new();
    chunked.read_to_end(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("refs/heads/main"), "{reply}");
    assert!(reply.contains("refs/tags/v1.2.9"), "{reply}");
    let recorded = server.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1].method, "POST");
    assert_eq!(recorded[1].path, "/ml-platform.git/git-upload-pack");
}

#[test]
fn unadvertised_commit_over_http() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");
    let cache = RepoCache::new(cache_dir().path(), store_for(&url, PASSWORD));
    let pr = fx.commit("refs/pull/7/head");
    assert_eq!(cache.resolve(&url, &pr).unwrap().commit, pr);
    assert_eq!(cache.resolve(&url, "refs/pull/7/head").unwrap().commit, pr);
}

#[test]
fn bearer_token_is_sent_as_authorization_header() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let token = "bbdc-BearerT0kenValue";
    server.set_bearer_token(token);
    let url = server.url("ml-platform.git");
    let credential = Credential {
        bearer_token: Some(ferrocd_source::Secret::new(token)),
        ..Credential::default()
    };
    let mut store = CredentialStore::new();
    store.add_repository(&url, credential);
    let cache = RepoCache::new(cache_dir().path(), store);
    assert_eq!(
        cache.resolve(&url, "main").unwrap().commit,
        fx.commit("main")
    );
    assert!(server.requests().iter().all(|r| r.status == 200));

    let wrong = Credential {
        bearer_token: Some(ferrocd_source::Secret::new("hunter2-BadBearer")),
        ..Credential::default()
    };
    let mut store = CredentialStore::new();
    store.add_repository(&url, wrong);
    let cache = RepoCache::new(cache_dir().path(), store);
    let err = cache.resolve(&url, "main").unwrap_err();
    assert!(
        matches!(err, SourceError::AuthenticationFailed { .. }),
        "{err}"
    );
    assert_no_secret(&err, "hunter2-BadBearer");
}

#[test]
fn present_full_sha_needs_no_network() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");
    let cache = RepoCache::new(cache_dir().path(), store_for(&url, PASSWORD));
    cache.resolve(&url, "main").unwrap();
    let before = server.request_count();
    let sha = fx.commit("v1.2.3");
    assert_eq!(cache.resolve(&url, &sha).unwrap().commit, sha);
    assert_eq!(cache.resolve(&url, &sha[..10]).unwrap().commit, sha);
    assert_eq!(
        cache.resolve(&url, "v2.0.0").unwrap().commit,
        fx.commit("v2.0.0")
    );
    cache.snapshot(&url, &sha).unwrap();
    assert_eq!(server.request_count(), before, "{:?}", server.requests());
    // A branch always asks the server.
    cache.resolve(&url, "dev").unwrap();
    assert!(server.request_count() > before);
}

#[test]
fn credentials_file_drives_authentication() {
    let fx = Fixture::new();
    let server = GitHttpServer::start(fx.dir.path(), Some((USER, PASSWORD)));
    let url = server.url("ml-platform.git");
    let file = fx.dir.path().join("repo-creds.yaml");
    std::fs::write(
        &file,
        format!(
            "# ferrocd credentials\nrepositories:\n  - url: {url}\n    username: {USER}\n    password: {PASSWORD}\n    project: ml-platform\n"
        ),
    )
    .unwrap();
    let store = CredentialStore::from_file(&file).unwrap();
    assert_eq!(
        store.repositories()[0].project.as_deref(),
        Some("ml-platform")
    );
    let cache = RepoCache::new(cache_dir().path(), store);
    assert_eq!(
        cache.resolve(&url, ">=1.2.0 <1.2.5").unwrap().commit,
        fx.commit("v1.2.3")
    );
}
