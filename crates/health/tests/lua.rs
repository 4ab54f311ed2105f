//! Lua custom health from an `argocd-cm` ConfigMap: matching, results, and the sandbox.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ferrocd_health::{HealthAssessment, HealthCustomizations, LuaLimits, assess};
use ferrocd_model::HealthStatus;
use serde_json::{Value, json};

fn customizations() -> HealthCustomizations {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/lua-argocd-cm.yaml");
    let text = std::fs::read_to_string(path).expect("fixture");
    let cm: Value = serde_saphyr::from_str(&text).expect("yaml");
    HealthCustomizations::from_config_map(&cm).expect("customizations")
}

fn obj(api_version: &str, kind: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "ml"}})
}

#[test]
fn certificate_script_reads_conditions() {
    let mut cert = obj("cert-manager.io/v1", "Certificate");
    assert_eq!(
        assess(&cert, &customizations()),
        HealthAssessment::progressing("Waiting for certificate")
    );
    cert["status"] = json!({"conditions": [
        {"type": "Ready", "status": "False", "message": "order failed"}]});
    assert_eq!(
        assess(&cert, &customizations()),
        HealthAssessment::degraded("order failed")
    );
}

#[test]
fn null_fields_are_nil() {
    let mut isvc = obj("serving.kserve.io/v1beta1", "InferenceService");
    isvc["status"] = Value::Null;
    assert_eq!(
        assess(&isvc, &customizations()),
        HealthAssessment::progressing("Waiting for predictor")
    );
    isvc["status"] = json!({"url": "http://iris.ml.example.com"});
    assert_eq!(
        assess(&isvc, &customizations()).message,
        "serving at http://iris.ml.example.com"
    );
}

#[test]
fn runaway_loop_hits_the_time_limit() {
    let mut c = customizations();
    c.limits = LuaLimits {
        time: Duration::from_millis(50),
        ..LuaLimits::default()
    };
    let started = Instant::now();
    let h = assess(&obj("ml.example.com/v1", "Spinner"), &c);
    assert_eq!(h.status, HealthStatus::Unknown);
    assert!(h.message.contains("time limit"), "{}", h.message);
    assert!(started.elapsed() < Duration::from_secs(2));
    // The interpreter is usable afterwards.
    let cert = obj("cert-manager.io/v1", "Certificate");
    assert_eq!(assess(&cert, &c).status, HealthStatus::Progressing);
}

#[test]
fn memory_hog_hits_the_memory_limit() {
    let mut c = customizations();
    c.limits = LuaLimits {
        time: Duration::from_secs(10),
        memory_bytes: 4 * 1024 * 1024,
    };
    let h = assess(&obj("ml.example.com/v1", "Hog"), &c);
    assert_eq!(h.status, HealthStatus::Unknown);
    assert!(h.message.contains("memory limit"), "{}", h.message);
}

#[test]
fn os_execute_is_refused() {
    let _ = std::fs::remove_file("/tmp/ferrocd-lua-escaped");
    let h = assess(&obj("ml.example.com/v1", "Shell"), &customizations());
    assert_eq!(h.status, HealthStatus::Unknown);
    assert!(h.message.contains("execute"), "{}", h.message);
    assert!(!std::path::Path::new("/tmp/ferrocd-lua-escaped").exists());
}

#[test]
fn io_open_is_refused() {
    let h = assess(&obj("ml.example.com/v1", "Reader"), &customizations());
    assert_eq!(h.status, HealthStatus::Unknown);
    assert!(h.message.contains("io"), "{}", h.message);
    assert!(!h.message.contains("root:"));
}

#[test]
fn require_is_refused() {
    let h = assess(&obj("ml.example.com/v1", "Loader"), &customizations());
    assert_eq!(h.status, HealthStatus::Unknown);
    assert!(h.message.contains("require"), "{}", h.message);
}

#[test]
fn compile_error_is_unknown() {
    let h = assess(&obj("ml.example.com/v1", "Broken"), &customizations());
    assert_eq!(h.status, HealthStatus::Unknown);
    assert!(
        h.message.starts_with("compiling health script"),
        "{}",
        h.message
    );
}

#[test]
fn os_time_is_available() {
    let h = assess(&obj("ml.example.com/v1", "Clock"), &customizations());
    assert_eq!(h, HealthAssessment::healthy("number"));
}

#[test]
fn core_group_script_overrides_builtin_and_nil_defers_to_it() {
    let mut pod = obj("v1", "Pod");
    pod["status"] = json!({"phase": "Failed", "message": "evicted"});
    assert_eq!(
        assess(&pod, &customizations()),
        HealthAssessment::degraded("evicted")
    );
    pod["metadata"]["labels"] = json!({"ml.example.com/batch": "true"});
    assert_eq!(
        assess(&pod, &customizations()),
        HealthAssessment::healthy("batch pods are always healthy here")
    );
}

#[test]
fn legacy_wildcards_match_group_and_kind() {
    let mut bucket = obj("s3.aws.crossplane.io/v1beta1", "Bucket");
    assert_eq!(
        assess(&bucket, &customizations()).status,
        HealthStatus::Progressing
    );
    bucket["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    assert_eq!(
        assess(&bucket, &customizations()),
        HealthAssessment::healthy("crossplane resource is ready")
    );
    let rollout = obj("argoproj.io/v1alpha1", "Rollout");
    assert_eq!(
        assess(&rollout, &customizations()),
        HealthAssessment::suspended("argoproj wildcard")
    );
    // Not matched by "*.aws.crossplane.io/*".
    let other = obj("aws.crossplane.io/v1", "ProviderConfig");
    assert_eq!(
        assess(&other, &customizations()),
        HealthAssessment::healthy("")
    );
}

#[test]
fn customizations_are_shared_across_threads() {
    let c = customizations();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || assess(&obj("cert-manager.io/v1", "Certificate"), &c).status)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread"), HealthStatus::Progressing);
    }
}

#[test]
fn bad_config_map_is_an_error() {
    let cm = json!({"kind": "ConfigMap", "data": {"resource.customizations": "a: [unclosed"}});
    assert!(HealthCustomizations::from_config_map(&cm).is_err());
    let cm = json!({"kind": "ConfigMap", "data": {"resource.customizations.health.x_Y": 3}});
    assert!(HealthCustomizations::from_config_map(&cm).is_err());
}
