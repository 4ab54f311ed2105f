//! The ReplicaSet controller: keeps `spec.replicas` pods and reports their readiness.

use serde_json::json;

use super::{Sim, ids, omit_zero, owner_ref, pod_finished, pod_from_template, pod_ready};
use crate::apiserver::Propagation;
use crate::meta;

/// Reconciles one ReplicaSet.
pub fn reconcile(sim: &mut Sim, ns: &str, name: &str) {
    let Some(rs) = sim.get(ids::REPLICASETS, ns, name) else {
        return;
    };
    if meta::deleting(&rs) {
        return;
    }
    let want = rs["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
    let mut pods: Vec<_> = sim
        .owned(ids::PODS, ns, meta::uid(&rs))
        .into_iter()
        .filter(|p| !meta::deleting(p) && !pod_finished(p))
        .collect();
    if pods.len() < want {
        let hash = rs["metadata"]["labels"]["pod-template-hash"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for _ in pods.len()..want {
            let mut extra = Vec::new();
            if !hash.is_empty() {
                extra.push(("pod-template-hash", hash.as_str()));
            }
            let pod = pod_from_template(
                &rs["spec"]["template"],
                &format!("{name}-"),
                owner_ref(&rs, "apps/v1", "ReplicaSet"),
                &extra,
            );
            match sim.create(ids::PODS, ns, pod, "kube-controller-manager") {
                Ok(p) => sim.event(
                    &rs,
                    false,
                    "SuccessfulCreate",
                    &format!("Created pod: {}", meta::name(&p)),
                    "replicaset-controller",
                ),
                Err(e) => {
                    tracing::debug!(error = %e, "pod not created");
                    break;
                }
            }
        }
    } else if pods.len() > want {
        pods.sort_by_key(|p| {
            (
                pod_ready(p),
                std::cmp::Reverse(
                    p["metadata"]["creationTimestamp"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
            )
        });
        for p in pods.iter().take(pods.len() - want) {
            sim.delete(ids::PODS, ns, meta::name(p), Propagation::Background);
        }
    }
    let pods: Vec<_> = sim
        .owned(ids::PODS, ns, meta::uid(&rs))
        .into_iter()
        .filter(|p| !meta::deleting(p) && !pod_finished(p))
        .collect();
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let status = omit_zero(
        json!({
            "replicas": pods.len(),
            "fullyLabeledReplicas": pods.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"]["generation"],
        }),
        &["replicas"],
    );
    if let Some(rs) = sim.get(ids::REPLICASETS, ns, name) {
        sim.set_status(ids::REPLICASETS, &rs, status, "kube-controller-manager");
    }
}
