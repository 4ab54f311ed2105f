//! The command (`ferrocd sandbox` flags, run through the `serve` example): kubeconfig
//! written, state kept across a restart with `--data`, clean exit 0 on SIGTERM and SIGINT.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;

fn serve_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join("examples").join("serve")
}

fn start(data: &Path, kubeconfig: &Path) -> Child {
    let child = Command::new(serve_binary())
        .args([
            "--port",
            "0",
            "--pod-ready-delay-ms",
            "20",
            "--kubeconfig-out",
        ])
        .arg(kubeconfig)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !kubeconfig.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "kubeconfig not written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(ok.success());
}

async fn client(kubeconfig: &Path) -> kube::Client {
    let text = std::fs::read_to_string(kubeconfig).expect("kubeconfig");
    let kc = kube::config::Kubeconfig::from_yaml(&text).expect("parse");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    kube::Client::try_from(cfg).expect("client")
}

fn wait_exit(mut child: Child) -> Option<i32> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("sandbox did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart_and_signals_exit_cleanly() {
    if !serve_binary().exists() {
        panic!(
            "{} is missing: cargo test builds examples",
            serve_binary().display()
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let kc = dir.path().join("kubeconfig");
    let child = start(&data, &kc);
    let api: Api<ConfigMap> = Api::namespaced(client(&kc).await, "default");
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "mlflow-settings"}, "data": {"backend": "postgres"}}),
    )
    .expect("cm");
    let created = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    signal(&child, "-TERM");
    assert_eq!(
        tokio::task::block_in_place(|| wait_exit(child)),
        Some(0),
        "SIGTERM exits 0"
    );

    std::fs::remove_file(&kc).expect("remove kubeconfig");
    let child = start(&data, &kc);
    let api: Api<ConfigMap> = Api::namespaced(client(&kc).await, "default");
    let back = api.get("mlflow-settings").await.expect("restored");
    assert_eq!(back.metadata.uid, created.metadata.uid);
    assert_eq!(
        back.data.and_then(|d| d.get("backend").cloned()).as_deref(),
        Some("postgres")
    );
    let again = api.create(&PostParams::default(), &cm).await;
    assert!(again.is_err(), "restored objects are still there");
    signal(&child, "-INT");
    assert_eq!(
        tokio::task::block_in_place(|| wait_exit(child)),
        Some(0),
        "SIGINT exits 0"
    );
}
