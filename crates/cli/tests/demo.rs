//! `ferrocd demo` end to end: the binary bootstraps examples/ml-platform on its embedded
//! sandbox (every app Synced and Healthy within 30 s), and a commit in `DIR/gitops` that
//! promotes a model version reaches the cluster within 5 s.

use std::process::Command;
use std::time::{Duration, Instant};

use ferrocd_cluster::Cluster;
use ferrocd_source::testing::git;

mod demo_support;
use demo_support::start_demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_bootstraps_the_ml_platform_and_follows_commits() {
    let dir = tempfile::tempdir().expect("dir");
    let started = Instant::now();
    let (_demo, lines) = start_demo(dir.path(), Duration::from_secs(30));
    let ready = lines
        .iter()
        .find(|l| l.starts_with("ready:"))
        .unwrap_or_else(|| panic!("demo never got ready: {lines:#?}"));
    // The dev root and its six children.
    assert!(
        ready.contains("7 applications Synced and Healthy"),
        "{ready}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    let output = lines.join("\n");
    let repo = dir.path().canonicalize().expect("dir").join("gitops");
    assert!(output.contains(&repo.display().to_string()), "{output}");
    // The API server is up and the printed admin password logs in.
    let api_line = lines
        .iter()
        .find(|l| l.contains("API server"))
        .unwrap_or_else(|| panic!("no API server line: {output}"));
    let url = api_line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("API URL");
    let password = api_line.rsplit(" / ").next().expect("password").trim();
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_string();
    let body = format!("{{\"username\":\"admin\",\"password\":\"{password}\"}}");
    // A loaded machine may drop a first connection: a few attempts.
    let response = tokio::task::spawn_blocking(move || {
        use std::io::{Read as _, Write as _};
        let mut last = String::new();
        for _ in 0..20 {
            let attempt = (|| -> std::io::Result<String> {
                let mut stream = std::net::TcpStream::connect(&addr)?;
                stream.set_read_timeout(Some(Duration::from_secs(10)))?;
                write!(
                    stream,
                    "POST /api/v1/session HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )?;
                let mut response = String::new();
                stream.read_to_string(&mut response)?;
                Ok(response)
            })();
            match attempt {
                Ok(r) if r.starts_with("HTTP/1.1 200") => return r,
                Ok(r) => last = r,
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        last
    })
    .await
    .expect("login task");
    assert!(
        response.starts_with("HTTP/1.1 200") && response.contains("\"token\""),
        "login with the printed admin password: {response}"
    );

    // The demo logged the CLI in (context `demo`) and printed the UI address.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("web UI") && l.contains("http://")),
        "{output}"
    );
    let config = dir.path().join("ferrocd-config.yaml");
    let config_text = std::fs::read_to_string(&config).expect("CLI configuration written");
    assert!(
        config_text.contains("current-context: demo"),
        "{config_text}"
    );
    assert!(
        !config_text.contains(password),
        "password stored: {config_text}"
    );
    let config_for_cli = config.clone();
    let list = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_ferrocd"))
            .args(["app", "list"])
            .env("FERROCD_CONFIG", &config_for_cli)
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .env_remove("FERROCD_SERVER")
            .env_remove("FERROCD_AUTH_TOKEN")
            .output()
            .expect("ferrocd app list")
    })
    .await
    .expect("join");
    let list_out = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.status.success() && list_out.contains("model-serving"),
        "app list through the demo's server: {list_out}{}",
        String::from_utf8_lossy(&list.stderr)
    );

    // Promote a model version with a commit: the cluster follows within 5 s.
    let overlay = repo.join("apps/model-serving/overlays/dev/kustomization.yaml");
    let text = std::fs::read_to_string(&overlay).expect("overlay");
    assert!(text.contains("MODEL_VERSION=1.5.0"), "{text}");
    std::fs::write(
        &overlay,
        text.replace("MODEL_VERSION=1.5.0", "MODEL_VERSION=1.6.0"),
    )
    .expect("edit");
    git(
        &repo,
        &[
            "commit",
            "-q",
            "-am",
            "model-serving dev: fraud model 1.6.0",
        ],
    );
    let committed = Instant::now();

    let kubeconfig = dir.path().join("kubeconfig");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cluster = Cluster::from_kubeconfig(Some(&kubeconfig), None)
        .await
        .expect("connect to the demo sandbox");
    loop {
        let configmaps = cluster
            .list("", "ConfigMap", Some("ml-dev"))
            .await
            .expect("list configmaps");
        if configmaps
            .iter()
            .any(|cm| cm["data"]["MODEL_VERSION"] == "1.6.0")
        {
            break;
        }
        assert!(
            committed.elapsed() < Duration::from_secs(5),
            "the commit did not reach the cluster within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
