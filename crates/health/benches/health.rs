//! Health of an application with 1,000 resources (Deployments, their Pods, Services,
//! ConfigMaps, Jobs, PVCs), built-in checks and a Lua customization.

use criterion::{Criterion, criterion_group, criterion_main};
use ferrocd_health::{HealthCustomizations, app_health, assess};
use serde_json::{Value, json};

fn app(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| match i % 6 {
            0 => json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("model-{i}"), "namespace": "ml", "generation": 2},
                "spec": {"replicas": 3},
                "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3,
                           "availableReplicas": 3, "readyReplicas": 3}}),
            1 => json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("model-{i}-abc"), "namespace": "ml"},
                "spec": {"restartPolicy": "Always"},
                "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "server", "ready": true,
                        "state": {"running": {"startedAt": "2026-03-01T00:00:00Z"}}}]}}),
            2 => json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": format!("model-{i}"), "namespace": "ml"},
                "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}),
            3 => json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("config-{i}"), "namespace": "ml"}, "data": {"a": "b"}}),
            4 => json!({"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": format!("train-{i}"), "namespace": "ml"},
                "status": {"conditions": [{"type": "Complete", "status": "True"}]}}),
            _ => json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                "metadata": {"name": format!("tls-{i}"), "namespace": "ml"},
                "status": {"conditions": [{"type": "Ready", "status": "True", "message": "ok"}]}}),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let objects = app(1000);
    let builtin = HealthCustomizations::default();
    let mut lua = HealthCustomizations::default();
    lua.insert(
        "cert-manager.io",
        "Certificate",
        "hs = {status = 'Progressing'}\nif obj.status ~= nil and obj.status.conditions ~= nil then\n for _, c in ipairs(obj.status.conditions) do\n  if c.type == 'Ready' and c.status == 'True' then hs.status = 'Healthy'; hs.message = c.message end\n end\nend\nreturn hs",
    );
    c.bench_function("health of 1000 resources, built-in", |b| {
        b.iter(|| {
            let all: Vec<_> = objects.iter().map(|o| assess(o, &builtin)).collect();
            app_health(&all)
        })
    });
    c.bench_function("health of 1000 resources, 1/6 by Lua", |b| {
        b.iter(|| {
            let all: Vec<_> = objects.iter().map(|o| assess(o, &lua)).collect();
            app_health(&all)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
