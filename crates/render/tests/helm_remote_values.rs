//! Remote Helm value files (`helm.valueFiles` entries that are http URLs), served by a
//! small HTTP/1.1 server on loopback written for this test: fetched in order with the
//! other value files and compared with `helm template --values URL` (which fetches the
//! same URLs itself); failures (404, missing credentials, size limit, time limit) are
//! errors that never show the credentials of the URL.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ferrocd_model::Application;
use ferrocd_render::helm::{options_for_source, render_helm_chart};
use ferrocd_render::remote_values::{RemoteValuesError, RemoteValuesOptions, fetch_value_file};
use ferrocd_render::repo_path::RepoRoot;

const PROD_VALUES: &str =
    "replicas: 3\nautoscaling:\n  enabled: true\n  maxReplicas: 12\nmodel:\n  name: bert-large\n";
const TEAM_VALUES: &str =
    "gpu:\n  count: 2\n  product: NVIDIA-A100-SXM4-80GB\npodAnnotations:\n  team: search\n";
/// Base64 of `bot:s3cret`.
const TEAM_AUTH: &str = "Basic Ym90OnMzY3JldA==";

/// Answers one request on `stream` by path.
fn answer(mut stream: TcpStream) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = Some(value.trim().to_string());
        }
    }
    let reply = |stream: &mut TcpStream, status: &str, body: &str| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/yaml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    match path.split('?').next().unwrap_or_default() {
        "/env/prod.yaml" => reply(&mut stream, "200 OK", PROD_VALUES),
        "/team/search.yaml" if authorization.as_deref() == Some(TEAM_AUTH) => {
            reply(&mut stream, "200 OK", TEAM_VALUES)
        }
        "/team/search.yaml" => reply(&mut stream, "401 Unauthorized", "unauthorized\n"),
        "/moved.yaml" => {
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: /env/prod.yaml\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        "/huge-declared.yaml" => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\na: b\n"
            );
        }
        "/huge-streamed.yaml" => {
            // No length: the body runs until the connection closes.
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let line = "key: value-that-pads-the-file-out\n".repeat(1000);
            for _ in 0..100 {
                if stream.write_all(line.as_bytes()).is_err() {
                    break;
                }
            }
        }
        "/slow.yaml" => {
            std::thread::sleep(Duration::from_secs(3));
            reply(&mut stream, "200 OK", PROD_VALUES);
        }
        _ => reply(&mut stream, "404 Not Found", "not found\n"),
    }
    let _ = stream.flush();
    // Drain what the client still sends so that closing does not reset the connection.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = reader.read(&mut [0; 64]);
}

/// Starts the server on a free loopback port; it serves until the test process ends.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A repository holding `charts/model-server` and a local values file.
fn repository(root: &Path) -> PathBuf {
    let chart = root.join("charts/model-server");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../helm/testdata/charts/model-server"),
        &chart,
    );
    std::fs::write(
        chart.join("values-local.yaml"),
        "autoscaling:\n  maxReplicas: 20\n",
    )
    .expect("write");
    chart
}

fn app(value_files: &[String]) -> Application {
    let list: String = value_files
        .iter()
        .map(|v| format!("        - {v}\n"))
        .collect();
    let yaml = format!(
        r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: search-ranker
  namespace: argocd
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: inference
  source:
    repoURL: https://git.example.com/ml/platform.git
    path: charts/model-server
    helm:
      valueFiles:
{list}"#
    );
    Application::from_yaml(&yaml, "app.yaml").expect("application parses")
}

fn render(root: &Path, value_files: &[String]) -> Result<Vec<serde_json::Value>, String> {
    let repo = RepoRoot::new(root).expect("repo root");
    let scratch = tempfile::tempdir().expect("scratch");
    let app = app(value_files);
    let opts = options_for_source(
        &app,
        app.spec.source.as_ref().and_then(|s| s.helm.as_ref()),
        &repo,
        &repo.path().join("charts/model-server"),
        &Default::default(),
        scratch.path(),
        "spec.source",
    )
    .map_err(|e| e.to_string())?;
    render_helm_chart(&repo.path().join("charts/model-server"), &opts)
        .map(|ms| ms.into_iter().map(|m| m.object).collect())
        .map_err(|e| e.to_string())
}

fn helm_template(chart: &Path, value_files: &[String]) -> Vec<serde_json::Value> {
    let mut cmd = Command::new(ferrocd_reference_tools::helm());
    cmd.args(["template", "search-ranker"]).arg(chart).args([
        "--namespace",
        "inference",
        "--include-crds",
    ]);
    for v in value_files {
        if v.starts_with("http") {
            cmd.args(["--values", v]);
        } else {
            cmd.arg("--values").arg(chart.join(v));
        }
    }
    let out = cmd.output().expect("helm runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ferrocd_manifest::parse_documents(&String::from_utf8_lossy(&out.stdout), "helm")
        .expect("helm output parses")
        .into_iter()
        .map(|m| m.object)
        .collect()
}

#[test]
fn remote_value_files_render_like_helm_template() {
    let base = serve();
    let tmp = tempfile::tempdir().expect("tempdir");
    let chart = repository(tmp.path());
    let authed = base.replace("http://", "http://bot:s3cret@");
    let files = vec![
        format!("{base}/env/prod.yaml"),
        "values-local.yaml".to_string(),
        format!("{authed}/team/search.yaml?ref=main"),
    ];
    let ours = render(tmp.path(), &files).expect("renders");
    let theirs = helm_template(&chart, &files);
    assert_eq!(ours, theirs);
    let deployment = ours
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .expect("a Deployment");
    // The remote file (first) turns autoscaling on, the local one (second) raises its
    // ceiling, the third (with credentials) adds GPUs.
    let hpa = ours
        .iter()
        .find(|o| o["kind"] == "HorizontalPodAutoscaler")
        .expect("an HPA");
    assert_eq!(hpa["spec"]["maxReplicas"], 20, "{hpa:#}");
    assert!(
        deployment.to_string().contains("NVIDIA-A100-SXM4-80GB"),
        "{deployment:#}"
    );

    // A redirect is followed.
    let moved = render(tmp.path(), &[format!("{base}/moved.yaml")]).expect("renders");
    assert_eq!(
        moved,
        render(tmp.path(), &[format!("{base}/env/prod.yaml")]).expect("renders")
    );
}

#[test]
fn remote_value_file_failures_name_the_url_without_credentials() {
    let base = serve();
    let tmp = tempfile::tempdir().expect("tempdir");
    repository(tmp.path());

    let err = render(
        tmp.path(),
        &[
            "values-local.yaml".into(),
            format!("{base}/env/missing.yaml"),
        ],
    )
    .expect_err("404");
    assert_eq!(
        err,
        format!(
            "spec.source.helm.valueFiles[1]: fetching value file {base}/env/missing.yaml: server answered 404"
        )
    );

    let wrong = base.replace("http://", "http://bot:wrong-pass@");
    let err = render(
        tmp.path(),
        &[format!("{wrong}/team/search.yaml?token=abc123")],
    )
    .expect_err("401");
    assert!(err.contains("server answered 401"), "{err}");
    assert!(err.contains("/team/search.yaml?…"), "{err}");
    for secret in ["wrong-pass", "bot", "abc123"] {
        assert!(!err.contains(secret), "{secret} leaked: {err}");
    }

    // Nothing listens on port 9 of loopback.
    let err = render(
        tmp.path(),
        &["https://admin:hunter2@127.0.0.1:9/values.yaml".into()],
    )
    .expect_err("refused");
    assert!(err.contains("https://127.0.0.1:9/values.yaml"), "{err}");
    assert!(!err.contains("hunter2") && !err.contains("admin"), "{err}");
}

#[test]
fn remote_value_files_are_bounded_in_size_and_time() {
    let base = serve();
    let opts = RemoteValuesOptions {
        max_bytes: 1024 * 1024,
        timeout: Duration::from_millis(800),
        ..RemoteValuesOptions::default()
    };
    for path in ["/huge-declared.yaml", "/huge-streamed.yaml"] {
        let err = fetch_value_file(&format!("{base}{path}"), &opts).expect_err("too large");
        assert!(
            matches!(err, RemoteValuesError::TooLarge { limit: 1048576, .. }),
            "{path}: {err}"
        );
    }
    let err = fetch_value_file(&format!("{base}/slow.yaml"), &opts).expect_err("too slow");
    assert!(err.to_string().contains("timed out"), "{err}");
    let body = fetch_value_file(&format!("{base}/env/prod.yaml"), &opts).expect("fetched");
    assert_eq!(body, PROD_VALUES.as_bytes());
}
