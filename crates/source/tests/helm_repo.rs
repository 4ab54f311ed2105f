//! Helm repositories over real HTTP on loopback: an `index.yaml` and archives served by a
//! small threaded server (with and without basic auth), fetched by [`HelmRepoClient`].

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use ferrocd_source::{Credential, CredentialStore, FetchOptions, HelmRepoClient, SourceError};
use sha2::{Digest, Sha256};

/// A static-file HTTP/1.1 server on 127.0.0.1 that records request paths.
struct Server {
    port: u16,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(auth: Option<(&str, &str)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let expected = auth.map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        let files = Arc::new(Mutex::new(BTreeMap::new()));
        let served = files.clone();
        let log = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let files = served.clone();
                let log = log.clone();
                let expected = expected.clone();
                std::thread::spawn(move || serve(stream, &files, expected.as_deref(), &log));
            }
        });
        Server {
            port,
            files,
            requests,
        }
    }

    fn put_all(&self, files: BTreeMap<String, Vec<u8>>) {
        self.files.lock().expect("lock").extend(files);
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }
}

fn serve(
    stream: TcpStream,
    files: &Mutex<BTreeMap<String, Vec<u8>>>,
    auth: Option<&str>,
    log: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(v.trim().to_string());
        }
    }
    log.lock().expect("lock").push(path.clone());
    let mut stream = stream;
    let found = files.lock().expect("lock").get(&path).cloned();
    let (status, body): (&str, Vec<u8>) = if auth.is_some() && authorization.as_deref() != auth {
        ("401 Unauthorized", b"unauthorized".to_vec())
    } else if let Some(body) = found {
        ("200 OK", body)
    } else {
        ("404 Not Found", b"not found".to_vec())
    };
    let challenge = if status.starts_with("401") {
        "WWW-Authenticate: Basic realm=\"charts\"\r\n"
    } else {
        ""
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{challenge}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.read(&mut [0u8; 0]);
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
    let server = Server::start(auth);
    server.put_all(repo_files(&server.url("")));
    server
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
