//! The command (`ferrocd sandbox` flags through `cli::run`): kubeconfig written, state kept
//! across a restart with `--data`, clean return on SIGTERM and SIGINT.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use ferrocd_sandbox::cli::{SandboxArgs, run};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    args: SandboxArgs,
}

fn args(data: &Path, kubeconfig: &Path) -> SandboxArgs {
    Cmd::try_parse_from([
        "ferrocd-sandbox",
        "--port",
        "0",
        "--pod-ready-delay-ms",
        "20",
        "--kubeconfig-out",
        kubeconfig.to_str().expect("utf-8 path"),
        "--data",
        data.to_str().expect("utf-8 path"),
    ])
    .expect("flags parse")
    .args
}

async fn wait_for(path: &Path) {
    for _ in 0..1000 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} not written", path.display());
}

async fn client(kubeconfig: &Path) -> kube::Client {
    let text = std::fs::read_to_string(kubeconfig).expect("kubeconfig");
    let kc = kube::config::Kubeconfig::from_yaml(&text).expect("parse");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

fn signal_self(sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart_and_signals_stop_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let kc = dir.path().join("kubeconfig");
    let running = tokio::spawn(run(args(&data, &kc)));
    wait_for(&kc).await;
    let api: Api<ConfigMap> = Api::namespaced(client(&kc).await, "default");
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "mlflow-settings"}, "data": {"backend": "postgres"}}),
    )
    .expect("cm");
    let created = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    // give the signal handlers a moment to be installed before signalling
    tokio::time::sleep(Duration::from_millis(100)).await;
    signal_self("-TERM");
    let r = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("stops in time")
        .expect("task");
    assert!(r.is_ok(), "SIGTERM ends run() cleanly: {r:?}");

    std::fs::remove_file(&kc).expect("remove kubeconfig");
    let running = tokio::spawn(run(args(&data, &kc)));
    wait_for(&kc).await;
    let api: Api<ConfigMap> = Api::namespaced(client(&kc).await, "default");
    let back = api.get("mlflow-settings").await.expect("restored");
    assert_eq!(back.metadata.uid, created.metadata.uid);
    assert_eq!(
        back.data.and_then(|d| d.get("backend").cloned()).as_deref(),
        Some("postgres")
    );
    assert!(
        api.create(&PostParams::default(), &cm).await.is_err(),
        "restored objects are still there"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    signal_self("-INT");
    let r = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("stops in time")
        .expect("task");
    assert!(r.is_ok(), "SIGINT ends run() cleanly: {r:?}");
}
