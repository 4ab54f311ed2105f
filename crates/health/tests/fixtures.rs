//! Health of the fixture objects under `testdata/<kind>-<case>.yaml`. A fixture file may
//! hold several documents: the first is the object, the others its children (Pods of a
//! Deployment, Jobs of a CronJob).

use std::path::PathBuf;

use ferrocd_health::{HealthCustomizations, assess_with_children};
use ferrocd_model::HealthStatus::{self, *};
use serde_json::Value;

fn load(case: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(format!("{case}.yaml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn health_of(case: &str) -> (HealthStatus, String) {
    let docs = load(case);
    let (obj, children) = docs.split_first().expect("fixture has a document");
    let children: Vec<&Value> = children.iter().collect();
    let h = assess_with_children(obj, &children, &HealthCustomizations::default());
    (h.status, h.message)
}

/// (fixture, expected status, expected message).
const CASES: &[(&str, HealthStatus, &str)] = &[
    ("apiservice-available", Healthy, "all checks passed"),
    ("apiservice-new", Progressing, "Waiting to be processed"),
    (
        "apiservice-unavailable",
        Progressing,
        "MissingEndpoints: endpoints for service/prometheus-adapter in \"monitoring\" have no addresses with port name \"https\"",
    ),
    (
        "application-degraded",
        Degraded,
        "Deployment \"mlflow-server\" exceeded its progress deadline",
    ),
    ("application-healthy", Healthy, ""),
    (
        "application-no-status",
        Progressing,
        "Waiting for the application's health to be reported",
    ),
    (
        "certificate-issuing",
        Progressing,
        "Issuing: Issuing certificate as Secret does not exist",
    ),
    (
        "certificate-ready-false",
        Degraded,
        "Failed: the ACME order failed: 403 urn:ietf:params:acme:error:unauthorized",
    ),
    ("configmap-plain", Healthy, ""),
    ("crd-established", Healthy, "CRD is established"),
    (
        "crd-names-conflict",
        Degraded,
        "CRD names have not been accepted: \"isvc\" is already in use",
    ),
    (
        "crd-pending",
        Progressing,
        "Waiting for the CRD to be established",
    ),
    (
        "crd-terminating",
        Progressing,
        "CRD is terminating: CustomResource deletion is in progress",
    ),
    (
        "cronjob-last-failed",
        Degraded,
        "CronJob's last job, scheduled at 2026-03-02T02:00:00Z, did not complete successfully",
    ),
    (
        "cronjob-never-scheduled",
        Healthy,
        "CronJob has not been scheduled yet",
    ),
    (
        "cronjob-running",
        Progressing,
        "CronJob's last job is running",
    ),
    (
        "cronjob-succeeded",
        Healthy,
        "CronJob's last job completed successfully",
    ),
    ("cronjob-suspended", Suspended, "CronJob is suspended"),
    ("custom-resource-no-status", Healthy, ""),
    (
        "daemonset-healthy",
        Healthy,
        "daemon set \"dcgm-exporter\" successfully rolled out",
    ),
    (
        "daemonset-unavailable",
        Progressing,
        "Waiting for daemon set \"dcgm-exporter\" rollout to finish: 3 of 4 updated pods are available...",
    ),
    (
        "daemonset-unobserved",
        Progressing,
        "Waiting for rollout to finish: observed daemon set generation less than desired generation",
    ),
    (
        "daemonset-updating",
        Progressing,
        "Waiting for daemon set \"dcgm-exporter\" rollout to finish: 2 out of 4 new pods have been updated...",
    ),
    (
        "deployment-deadline-exceeded",
        Degraded,
        "Deployment \"triton-inference\" exceeded its progress deadline",
    ),
    ("deployment-deleting", Progressing, "Pending deletion"),
    (
        "deployment-generation-not-observed",
        Progressing,
        "Waiting for rollout to finish: observed deployment generation less than desired generation",
    ),
    (
        "deployment-gpu-waiting",
        Progressing,
        "Waiting for GPU capacity: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    ),
    (
        "deployment-healthy",
        Healthy,
        "deployment \"mlflow-server\" successfully rolled out",
    ),
    (
        "deployment-old-replicas",
        Progressing,
        "Waiting for deployment \"mlflow-server\" rollout to finish: 1 old replicas are pending termination...",
    ),
    ("deployment-paused", Suspended, "Deployment is paused"),
    (
        "deployment-rollout-progressing",
        Progressing,
        "Waiting for deployment \"mlflow-server\" rollout to finish: 1 of 3 updated replicas are available...",
    ),
    (
        "deployment-rollout-updating",
        Progressing,
        "Waiting for deployment \"mlflow-server\" rollout to finish: 1 out of 3 new replicas have been updated...",
    ),
    (
        "hpa-healthy",
        Healthy,
        "recommended size matches current size",
    ),
    (
        "hpa-metrics-failed",
        Degraded,
        "FailedGetResourceMetric: the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu",
    ),
    ("hpa-no-conditions", Progressing, "Waiting to autoscale"),
    (
        "hpa-scaling-disabled",
        Suspended,
        "scaling is disabled since the replica count of the target is zero",
    ),
    (
        "ingress-hostname",
        Healthy,
        "load balancer ready at lb-1234.elb.example.com",
    ),
    ("ingress-ip", Healthy, "load balancer ready at 203.0.113.20"),
    (
        "ingress-pending",
        Progressing,
        "Waiting for the Ingress's load balancer to get an ingress IP or hostname",
    ),
    ("job-complete", Healthy, "Job completed"),
    (
        "job-failed",
        Degraded,
        "Job has reached the specified backoff limit",
    ),
    (
        "job-running",
        Progressing,
        "Job is running: 1 active, 0 succeeded, 0 failed",
    ),
    ("job-suspended", Suspended, "Job is suspended"),
    ("namespace-active", Healthy, ""),
    ("namespace-no-status", Healthy, ""),
    (
        "namespace-terminating",
        Progressing,
        "Namespace is terminating",
    ),
    (
        "pod-config-error",
        Degraded,
        "container \"trainer\" is waiting: CreateContainerConfigError: secret \"mlflow-db-credentials\" not found",
    ),
    (
        "pod-cpu-unschedulable",
        Progressing,
        "0/3 nodes are available: 3 Insufficient memory.",
    ),
    (
        "pod-crashloop",
        Degraded,
        "container \"trainer\" is waiting: CrashLoopBackOff: back-off 5m0s restarting failed container=trainer pod=feature-builder-5d8f7-abcde_ml(0b1c)",
    ),
    (
        "pod-errimagepull",
        Degraded,
        "container \"trainer\" is waiting: ErrImagePull: rpc error: code = NotFound desc = manifest unknown",
    ),
    (
        "pod-gpu-unschedulable",
        Progressing,
        "Waiting for GPU capacity: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    ),
    (
        "pod-imagepullbackoff",
        Degraded,
        "container \"trainer\" is waiting: ImagePullBackOff: Back-off pulling image \"registry.example.com/ml/trainer:1.8.0-typo\"",
    ),
    (
        "pod-never-failed",
        Degraded,
        "container \"trainer\" terminated: Error (exit code 2): dataset s3://ml-data/eval not found",
    ),
    ("pod-never-running", Progressing, "Pod is running"),
    ("pod-never-succeeded", Healthy, "Pod completed"),
    (
        "pod-oomkilled",
        Degraded,
        "container \"trainer\" was OOMKilled (exit code 137); container \"trainer\" is waiting: CrashLoopBackOff: back-off 40s restarting failed container",
    ),
    (
        "pod-oomkilled-now",
        Degraded,
        "container \"trainer\" was OOMKilled (exit code 137)",
    ),
    (
        "pod-running-not-ready",
        Progressing,
        "containers with unready status: [trainer]",
    ),
    ("pod-running-ready", Healthy, "Pod is running and ready"),
    ("pvc-bound", Healthy, "bound to volume pvc-3f1e0c"),
    ("pvc-lost", Degraded, "The claim lost its underlying volume"),
    (
        "pvc-pending",
        Progressing,
        "Waiting for the claim to be bound",
    ),
    (
        "replicaset-failure",
        Degraded,
        "pods \"mlflow-server-6f7d9-\" is forbidden: exceeded quota: ml-quota, requested: requests.nvidia.com/gpu=1",
    ),
    ("replicaset-healthy", Healthy, ""),
    (
        "replicaset-progressing",
        Progressing,
        "Waiting for replica set \"mlflow-server-6f7d9\" to be ready: 1 out of 2 replicas are available...",
    ),
    (
        "rollout-degraded",
        Degraded,
        "RolloutAborted: Rollout aborted update to revision 7",
    ),
    ("rollout-healthy", Healthy, ""),
    (
        "rollout-no-phase-progressing",
        Progressing,
        "Waiting for roll out to finish: More replicas need to be updated",
    ),
    ("rollout-paused", Suspended, "CanaryPauseStep"),
    (
        "rollout-unobserved",
        Progressing,
        "Waiting for rollout spec update to be observed",
    ),
    ("service-clusterip", Healthy, ""),
    (
        "service-lb-pending",
        Progressing,
        "Waiting for the Service's load balancer to get an ingress IP or hostname",
    ),
    (
        "service-lb-ready",
        Healthy,
        "load balancer ready at 203.0.113.10",
    ),
    (
        "statefulset-healthy",
        Healthy,
        "statefulset rolling update complete 3 pods at revision mlflow-postgres-6d9f...",
    ),
    (
        "statefulset-not-ready",
        Progressing,
        "Waiting for 2 pods to be ready...",
    ),
    (
        "statefulset-partitioned",
        Progressing,
        "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated...",
    ),
    (
        "statefulset-rolling",
        Progressing,
        "waiting for statefulset rolling update to complete 1 pods at revision mlflow-postgres-7a1b...",
    ),
    (
        "statefulset-unobserved",
        Progressing,
        "Waiting for statefulset spec update to be observed...",
    ),
    (
        "statefulset-gpu-waiting",
        Progressing,
        "Waiting for GPU capacity: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    ),
    (
        "deployment-deadline-cpu-pending",
        Degraded,
        "Deployment \"triton-inference\" exceeded its progress deadline",
    ),
    (
        "job-gpu-waiting",
        Progressing,
        "Waiting for GPU capacity: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    ),
    (
        "cronjob-children-last-failed",
        Degraded,
        "last job \"nightly-retrain-29013780\" failed: Job has reached the specified backoff limit",
    ),
];

#[test]
fn every_fixture_has_the_expected_health() {
    let mut failures = Vec::new();
    for (case, status, message) in CASES {
        let (got_status, got_message) = health_of(case);
        if got_status != *status || got_message != *message {
            failures.push(format!(
                "{case}: expected {status} {message:?}, got {got_status} {got_message:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_file_is_in_the_table() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("testdata exists") {
        let name = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(case) = name.strip_suffix(".yaml")
            && !case.starts_with("lua-")
            && !CASES.iter().any(|(c, _, _)| *c == case)
        {
            missing.push(case.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "fixtures without expectations: {missing:?}"
    );
}

#[test]
fn at_least_three_cases_per_kind() {
    for kind in [
        "deployment",
        "statefulset",
        "daemonset",
        "replicaset",
        "pod",
        "job",
        "cronjob",
        "service",
        "ingress",
        "pvc",
        "hpa",
        "apiservice",
        "crd",
        "namespace",
        "application",
        "rollout",
    ] {
        let n = CASES
            .iter()
            .filter(|(c, _, _)| c.starts_with(&format!("{kind}-")))
            .count();
        assert!(n >= 3, "{kind} has {n} fixture cases");
    }
}

#[test]
#[ignore = "prints the table, for writing expectations"]
fn print_table() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("testdata")
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_string)
        })
        .filter(|n| !n.starts_with("lua-"))
        .collect();
    names.sort();
    for n in names {
        let (s, m) = health_of(&n);
        println!("    ({n:?}, {s:?}, {m:?}),");
    }
}
