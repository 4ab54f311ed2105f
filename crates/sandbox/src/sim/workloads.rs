//! StatefulSets (ordered pods `<name>-<ordinal>`, PVCs from claim templates, rolling update by
//! revision) and DaemonSets (one pod per matching node).

use std::sync::Arc;

use serde_json::{Value, json};

use super::{
    Sim, ids, omit_zero, owner_ref, pod_finished, pod_from_template, pod_ready, template_hash,
};
use crate::apiserver::Propagation;
use crate::meta;

fn live_pods(sim: &Sim, ns: &str, owner: &Value) -> Vec<Arc<Value>> {
    sim.owned(ids::PODS, ns, meta::uid(owner))
        .into_iter()
        .filter(|p| !meta::deleting(p) && !pod_finished(p))
        .collect()
}

/// Reconciles one StatefulSet.
pub fn reconcile_statefulset(sim: &mut Sim, ns: &str, name: &str) {
    let Some(s) = sim.get(ids::STATEFULSETS, ns, name) else {
        return;
    };
    if meta::deleting(&s) {
        return;
    }
    let want = s["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let revision = format!("{name}-{}", template_hash(&s["spec"]["template"]));
    let parallel = s["spec"]["podManagementPolicy"] == "Parallel";
    let pods = live_pods(sim, ns, &s);
    let ordinal = |p: &Value| -> i64 {
        meta::name(p)
            .rsplit('-')
            .next()
            .and_then(|o| o.parse().ok())
            .unwrap_or(-1)
    };
    // claims from templates
    for i in 0..want {
        for t in s["spec"]["volumeClaimTemplates"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let claim = format!("{}-{name}-{i}", meta::name(t));
            if sim.get(ids::PVCS, ns, &claim).is_none() {
                let mut labels = s["spec"]["selector"]["matchLabels"].clone();
                if !labels.is_object() {
                    labels = json!({});
                }
                let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim, "namespace": ns, "labels": labels},
                    "spec": t["spec"].clone()});
                let _ = sim.create(ids::PVCS, ns, pvc, "kube-controller-manager");
            }
        }
    }
    // scale down from the highest ordinal
    let mut extra: Vec<&Arc<Value>> = pods.iter().filter(|p| ordinal(p) >= want).collect();
    extra.sort_by_key(|p| std::cmp::Reverse(ordinal(p)));
    if let Some(p) = extra.first() {
        sim.delete(ids::PODS, ns, meta::name(p), Propagation::Background);
    }
    // create missing ordinals (in order unless Parallel)
    for i in 0..want {
        let pod_name = format!("{name}-{i}");
        match pods.iter().find(|p| meta::name(p) == pod_name) {
            Some(p) if !parallel && !pod_ready(p) => break,
            Some(_) => {}
            None => {
                let mut pod = pod_from_template(
                    &s["spec"]["template"],
                    "",
                    owner_ref(&s, "apps/v1", "StatefulSet"),
                    &[
                        ("controller-revision-hash", revision.as_str()),
                        ("statefulset.kubernetes.io/pod-name", pod_name.as_str()),
                        ("apps.kubernetes.io/pod-index", i.to_string().as_str()),
                    ],
                );
                pod["metadata"]["name"] = json!(pod_name);
                if let Some(m) = pod["metadata"].as_object_mut() {
                    m.remove("generateName");
                }
                pod["spec"]["hostname"] = json!(pod_name);
                if let Some(svc) = s["spec"]["serviceName"].as_str() {
                    pod["spec"]["subdomain"] = json!(svc);
                }
                let mut volumes: Vec<Value> = pod["spec"]["volumes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for t in s["spec"]["volumeClaimTemplates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    volumes.push(json!({"name": meta::name(t),
                        "persistentVolumeClaim": {"claimName": format!("{}-{name}-{i}", meta::name(t))}}));
                }
                if !volumes.is_empty() {
                    pod["spec"]["volumes"] = Value::Array(volumes);
                }
                let _ = sim.create(ids::PODS, ns, pod, "kube-controller-manager");
                if !parallel {
                    break;
                }
            }
        }
    }
    // rolling update: replace the highest outdated pod when all are ready
    let pods = live_pods(sim, ns, &s);
    let all_ready = pods.len() as i64 == want && pods.iter().all(|p| pod_ready(p));
    if all_ready {
        let mut outdated: Vec<&Arc<Value>> = pods
            .iter()
            .filter(|p| {
                p["metadata"]["labels"]["controller-revision-hash"].as_str()
                    != Some(revision.as_str())
            })
            .collect();
        outdated.sort_by_key(|p| std::cmp::Reverse(ordinal(p)));
        if let Some(p) = outdated.first() {
            sim.delete(ids::PODS, ns, meta::name(p), Propagation::Background);
        }
    }
    let pods = live_pods(sim, ns, &s);
    let ready = pods.iter().filter(|p| pod_ready(p)).count() as i64;
    let updated = pods
        .iter()
        .filter(|p| {
            p["metadata"]["labels"]["controller-revision-hash"].as_str() == Some(revision.as_str())
        })
        .count() as i64;
    let current_revision = if updated == want && pods.len() as i64 == want {
        revision.clone()
    } else {
        s["status"]["currentRevision"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| revision.clone())
    };
    let status = omit_zero(
        json!({
            "observedGeneration": s["metadata"]["generation"],
            "replicas": pods.len(),
            "readyReplicas": ready,
            "currentReplicas": if current_revision == revision { updated } else { pods.len() as i64 - updated },
            "updatedReplicas": updated,
            "availableReplicas": ready,
            "currentRevision": current_revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }),
        &["replicas", "availableReplicas", "collisionCount"],
    );
    if let Some(s) = sim.get(ids::STATEFULSETS, ns, name) {
        sim.set_status(ids::STATEFULSETS, &s, status, "kube-controller-manager");
    }
}

fn node_matches(template: &Value, node: &Value) -> bool {
    template["spec"]["nodeSelector"]
        .as_object()
        .is_none_or(|sel| {
            sel.iter()
                .all(|(k, v)| node["metadata"]["labels"][k].as_str() == v.as_str())
        })
}

/// Reconciles one DaemonSet.
pub fn reconcile_daemonset(sim: &mut Sim, ns: &str, name: &str) {
    let Some(ds) = sim.get(ids::DAEMONSETS, ns, name) else {
        return;
    };
    if meta::deleting(&ds) {
        return;
    }
    let template = &ds["spec"]["template"];
    let hash = template_hash(template);
    let nodes: Vec<Arc<Value>> = sim
        .list_all(ids::NODES)
        .into_iter()
        .filter(|n| node_matches(template, n))
        .collect();
    let pods = live_pods(sim, ns, &ds);
    let mut misscheduled = 0;
    for p in &pods {
        let node = p["spec"]["nodeName"].as_str().unwrap_or_default();
        if !nodes.iter().any(|n| meta::name(n) == node) {
            misscheduled += 1;
            sim.delete(ids::PODS, ns, meta::name(p), Propagation::Background);
        }
    }
    let all_ready = pods.iter().all(|p| pod_ready(p));
    let mut replaced = false;
    for n in &nodes {
        let node = meta::name(n);
        match pods
            .iter()
            .find(|p| p["spec"]["nodeName"].as_str() == Some(node))
        {
            None => {
                let mut pod = pod_from_template(
                    template,
                    &format!("{name}-"),
                    owner_ref(&ds, "apps/v1", "DaemonSet"),
                    &[
                        ("controller-revision-hash", hash.as_str()),
                        (
                            "pod-template-generation",
                            &ds["metadata"]["generation"]
                                .as_i64()
                                .unwrap_or(1)
                                .to_string(),
                        ),
                    ],
                );
                pod["spec"]["nodeName"] = json!(node);
                let _ = sim.create(ids::PODS, ns, pod, "kube-controller-manager");
            }
            Some(p)
                if !replaced
                    && all_ready
                    && p["metadata"]["labels"]["controller-revision-hash"].as_str()
                        != Some(hash.as_str()) =>
            {
                replaced = true;
                sim.delete(ids::PODS, ns, meta::name(p), Propagation::Background);
            }
            Some(_) => {}
        }
    }
    let pods = live_pods(sim, ns, &ds);
    let ready = pods.iter().filter(|p| pod_ready(p)).count();
    let updated = pods
        .iter()
        .filter(|p| {
            p["metadata"]["labels"]["controller-revision-hash"].as_str() == Some(hash.as_str())
        })
        .count();
    let status = omit_zero(
        json!({
            "observedGeneration": ds["metadata"]["generation"],
            "desiredNumberScheduled": nodes.len(),
            "currentNumberScheduled": pods.len(),
            "numberMisscheduled": misscheduled,
            "numberReady": ready,
            "numberAvailable": ready,
            "numberUnavailable": nodes.len().saturating_sub(ready),
            "updatedNumberScheduled": updated,
        }),
        &[
            "desiredNumberScheduled",
            "currentNumberScheduled",
            "numberMisscheduled",
            "numberReady",
        ],
    );
    if let Some(ds) = sim.get(ids::DAEMONSETS, ns, name) {
        sim.set_status(ids::DAEMONSETS, &ds, status, "kube-controller-manager");
    }
}
