//! The scheduler and the kubelets: Pods get a node that has room (CPU, memory,
//! `nvidia.com/gpu`, node selector) or stay Pending with the scheduler's message; scheduled
//! Pods become Running and Ready after the configured delay; Job pods then terminate.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::{Value, json};

use super::quantity::{bytes, count, cpu_millis, text};
use super::{FAIL_ANNOTATION, Sim, ids, pod_finished};
use crate::meta;

/// Requests of a pod: (cpu millis, memory bytes, gpus).
fn requests(p: &Value) -> (i64, i64, i64) {
    let mut out = (0, 0, 0);
    for c in p["spec"]["containers"].as_array().into_iter().flatten() {
        let get = |k: &str| -> Option<String> {
            text(&c["resources"]["requests"][k]).or_else(|| text(&c["resources"]["limits"][k]))
        };
        out.0 += get("cpu").and_then(|q| cpu_millis(&q)).unwrap_or(0);
        out.1 += get("memory").and_then(|q| bytes(&q)).unwrap_or(0);
        out.2 += get("nvidia.com/gpu").and_then(|q| count(&q)).unwrap_or(0);
    }
    out
}

fn allocatable(n: &Value) -> (i64, i64, i64) {
    let a = &n["status"]["allocatable"];
    (
        text(&a["cpu"]).and_then(|q| cpu_millis(&q)).unwrap_or(0),
        text(&a["memory"]).and_then(|q| bytes(&q)).unwrap_or(0),
        text(&a["nvidia.com/gpu"])
            .and_then(|q| count(&q))
            .unwrap_or(0),
    )
}

fn selector_matches(p: &Value, node: &Value) -> bool {
    let Some(sel) = p["spec"]["nodeSelector"].as_object() else {
        return true;
    };
    sel.iter()
        .all(|(k, v)| node["metadata"]["labels"][k].as_str() == v.as_str())
}

fn node_index(name: &str) -> u32 {
    name.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Reconciles one pod.
pub fn reconcile(sim: &mut Sim, ns: &str, name: &str) {
    let Some(p) = sim.get(ids::PODS, ns, name) else {
        return;
    };
    if meta::deleting(&p) || pod_finished(&p) {
        return;
    }
    let node = p["spec"]["nodeName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if node.is_empty() {
        schedule(sim, &p);
        return;
    }
    if p["status"]["phase"] == "Running" && super::pod_ready(&p) && !is_job_pod(&p) {
        sim.scheduled_at.remove(meta::uid(&p));
        return;
    }
    let uid = meta::uid(&p).to_string();
    let since = *sim
        .scheduled_at
        .entry(uid.clone())
        .or_insert_with(Instant::now);
    if p["status"]["conditions"].as_array().is_none_or(|cs| {
        !cs.iter()
            .any(|c| c["type"] == "PodScheduled" && c["status"] == "True")
    }) {
        let mut st = p["status"].clone();
        st["phase"] = json!("Pending");
        st["conditions"] = json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": meta::now()}]);
        sim.set_status(ids::PODS, &p, st, "kube-scheduler");
        return;
    }
    if since.elapsed() < sim.opts.pod_ready_delay {
        return;
    }
    sim.scheduled_at.remove(&uid);
    run(sim, &p, &node);
}

fn is_job_pod(p: &Value) -> bool {
    meta::controller_of(p).is_some_and(|r| r["kind"] == "Job")
}

fn run(sim: &mut Sim, p: &Value, node: &str) {
    let now = meta::now();
    let idx = node_index(node);
    let ip = match p["status"]["podIP"].as_str() {
        Some(ip) => ip.to_string(),
        None => {
            sim.next_pod_ip += 1;
            format!("10.244.{}.{}", idx, (sim.next_pod_ip % 250) + 2)
        }
    };
    let host_ip = super::nodes::node_ip(idx.max(1));
    let finish = is_job_pod(p);
    let fail = p["metadata"]["annotations"][FAIL_ANNOTATION].as_str() == Some("true");
    let statuses: Vec<Value> = p["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let image = c["image"].as_str().unwrap_or_default();
            let id = super::template_hash(&json!([meta::uid(p), c["name"]]));
            let state = if finish {
                json!({"terminated": {"exitCode": if fail { 1 } else { 0 }, "reason": if fail { "Error" } else { "Completed" },
                    "startedAt": now, "finishedAt": now, "containerID": format!("containerd://{id}")}})
            } else {
                json!({"running": {"startedAt": now}})
            };
            json!({"name": c["name"], "image": image, "imageID": format!("sandbox.local/{image}"),
                "containerID": format!("containerd://{id}"), "ready": !finish, "started": !finish,
                "restartCount": 0, "state": state})
        })
        .collect();
    let cond = |t: &str, ok: bool, reason: Option<&str>| {
        let mut c = json!({"type": t, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now});
        if let Some(r) = reason {
            c["reason"] = json!(r);
        }
        c
    };
    let phase = match (finish, fail) {
        (false, _) => "Running",
        (true, false) => "Succeeded",
        (true, true) => "Failed",
    };
    let done_reason = finish.then_some("PodCompleted");
    let status = json!({
        "phase": phase,
        "conditions": [
            cond("PodReadyToStartContainers", !finish, None),
            cond("Initialized", true, done_reason),
            cond("Ready", !finish, done_reason),
            cond("ContainersReady", !finish, done_reason),
            cond("PodScheduled", true, None),
        ],
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": p["status"]["startTime"].as_str().map(str::to_string).unwrap_or_else(|| now.clone()),
        "containerStatuses": statuses,
        "qosClass": p["status"]["qosClass"].clone(),
    });
    sim.set_status(ids::PODS, p, status, "kubelet");
}

/// Retries scheduling of every pending pod.
pub fn schedule_pending(sim: &mut Sim) {
    for p in sim.list_all(ids::PODS) {
        if p["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
            && !meta::deleting(&p)
        {
            schedule(sim, &p);
        }
    }
}

fn schedule(sim: &mut Sim, p: &Value) {
    let nodes = sim.list_all(ids::NODES);
    let pods = sim.list_all(ids::PODS);
    let want = requests(p);
    // What the running pods use, per node, in one pass (not one pass per node: with
    // thousands of pods and dozens of nodes that was the sandbox's hottest loop).
    let mut usage: HashMap<&str, ((i64, i64, i64), usize)> = HashMap::new();
    for q in &pods {
        if let Some(node) = q["spec"]["nodeName"].as_str()
            && !node.is_empty()
            && !pod_finished(q)
        {
            let r = requests(q);
            let (used, count) = usage.entry(node).or_default();
            *used = (used.0 + r.0, used.1 + r.1, used.2 + r.2);
            *count += 1;
        }
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut best: Option<(i64, String)> = None;
    for n in &nodes {
        let name = meta::name(n).to_string();
        if !selector_matches(p, n) {
            *reasons
                .entry("node(s) didn't match Pod's node affinity/selector".into())
                .or_default() += 1;
            continue;
        }
        let cap = allocatable(n);
        let (used, count_on) = usage.get(name.as_str()).copied().unwrap_or_default();
        let mut fits = true;
        if want.0 > cap.0 - used.0 {
            *reasons.entry("Insufficient cpu".into()).or_default() += 1;
            fits = false;
        }
        if want.1 > cap.1 - used.1 {
            *reasons.entry("Insufficient memory".into()).or_default() += 1;
            fits = false;
        }
        if want.2 > cap.2 - used.2 {
            *reasons
                .entry("Insufficient nvidia.com/gpu".into())
                .or_default() += 1;
            fits = false;
        }
        if fits {
            let score = -(count_on as i64);
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, name));
            }
        }
    }
    match best {
        Some((_, node)) => {
            let mut body = p.clone();
            body["spec"]["nodeName"] = json!(node);
            match sim.replace(ids::PODS, body, "kube-scheduler") {
                Ok(bound) => {
                    sim.scheduled_at
                        .insert(meta::uid(&bound).to_string(), Instant::now());
                    let mut st = bound["status"].clone();
                    st["phase"] = json!("Pending");
                    st["conditions"] = json!([{"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": meta::now()}]);
                    sim.set_status(ids::PODS, &bound, st, "kube-scheduler");
                }
                Err(e) => tracing::debug!(error = %e, "binding skipped"),
            }
        }
        None => {
            let total = nodes.len();
            let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
            let all_resources = reasons.keys().all(|r| r.starts_with("Insufficient"));
            let preemption = if all_resources {
                format!(
                    "preemption: 0/{total} nodes are available: {total} No preemption victims found for incoming pod."
                )
            } else {
                format!(
                    "preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
                )
            };
            let message = format!(
                "0/{total} nodes are available: {}. {preemption}",
                parts.join(", ")
            );
            let prev = p["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "PodScheduled"))
                .cloned();
            let since = match &prev {
                Some(c) if c["status"] == "False" && c["message"] == message.as_str() => return,
                Some(c) if c["status"] == "False" => c["lastTransitionTime"].clone(),
                _ => json!(meta::now()),
            };
            sim.event(p, true, "FailedScheduling", &message, "default-scheduler");
            let mut st = p["status"].clone();
            st["phase"] = json!("Pending");
            st["conditions"] = json!([{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                "lastTransitionTime": since, "reason": "Unschedulable", "message": message}]);
            sim.set_status(ids::PODS, p, st, "kube-scheduler");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fall_back_to_limits() {
        let p = json!({"spec": {"containers": [
            {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"nvidia.com/gpu": 2}}},
            {"resources": {"requests": {"cpu": "1"}}}]}});
        assert_eq!(requests(&p), (1500, 1 << 30, 2));
        assert_eq!(node_index("sandbox-node-3"), 3);
    }
}
