//! Endpoints follow Service selectors (ready pods as addresses, others as not-ready
//! addresses, named target ports resolved), and LoadBalancer Services get an address from
//! 192.0.2.0/24.

use serde_json::{Value, json};

use super::{Sim, ids, pod_finished, pod_ready};
use crate::meta;
use crate::selector::LabelSelector;

/// Reconciles the endpoints of every Service of a namespace.
pub fn reconcile_namespace(sim: &mut Sim, ns: &str) {
    for s in sim.list(ids::SERVICES, ns) {
        reconcile_service(sim, ns, meta::name(&s));
    }
}

fn target_port(port: &Value, pod: Option<&Value>) -> Option<i64> {
    match &port["targetPort"] {
        Value::Number(n) => n.as_i64(),
        Value::String(name) => pod.and_then(|p| {
            p["spec"]["containers"].as_array()?.iter().find_map(|c| {
                c["ports"]
                    .as_array()?
                    .iter()
                    .find(|cp| cp["name"] == name.as_str())?["containerPort"]
                    .as_i64()
            })
        }),
        _ => port["port"].as_i64(),
    }
}

/// Reconciles one Service: its Endpoints and its load-balancer address.
pub fn reconcile_service(sim: &mut Sim, ns: &str, name: &str) {
    let Some(svc) = sim.get(ids::SERVICES, ns, name) else {
        return;
    };
    if svc["spec"]["type"] == "LoadBalancer"
        && svc["status"]["loadBalancer"]["ingress"]
            .as_array()
            .is_none_or(Vec::is_empty)
    {
        let ip = sim.api.alloc.lock().load_balancer_ip(&sim.api.store);
        if let Some(ip) = ip {
            sim.set_status(
                ids::SERVICES,
                &svc,
                json!({"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}),
                "service-controller",
            );
        }
    }
    let Some(sel) = svc["spec"]["selector"]
        .as_object()
        .filter(|m| !m.is_empty())
    else {
        return;
    };
    let selector = LabelSelector::from_map(&Value::Object(sel.clone()));
    let pods: Vec<_> = sim
        .list(ids::PODS, ns)
        .into_iter()
        .filter(|p| {
            selector.matches_object(p)
                && !meta::deleting(p)
                && !pod_finished(p)
                && p["status"]["podIP"].is_string()
        })
        .collect();
    let address = |p: &Value| {
        json!({"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"],
            "targetRef": {"kind": "Pod", "namespace": ns, "name": meta::name(p), "uid": meta::uid(p)}})
    };
    let ready: Vec<Value> = pods
        .iter()
        .filter(|p| pod_ready(p))
        .map(|p| address(p))
        .collect();
    let not_ready: Vec<Value> = pods
        .iter()
        .filter(|p| !pod_ready(p))
        .map(|p| address(p))
        .collect();
    let ports: Vec<Value> = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = target_port(p, pods.first().map(|p| &**p))?;
            let mut e = json!({"port": port, "protocol": p["protocol"].as_str().unwrap_or("TCP")});
            if let Some(n) = p["name"].as_str() {
                e["name"] = json!(n);
            }
            Some(e)
        })
        .collect();
    let mut subset = json!({});
    if !ready.is_empty() {
        subset["addresses"] = json!(ready);
    }
    if !not_ready.is_empty() {
        subset["notReadyAddresses"] = json!(not_ready);
    }
    let mut labels = svc["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["endpointslice.kubernetes.io/skip-mirror"] = json!("true");
    let mut ep = json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns, "labels": labels}});
    if !pods.is_empty() {
        subset["ports"] = json!(ports);
        ep["subsets"] = json!([subset]);
    }
    match sim.get(ids::ENDPOINTS, ns, name) {
        None => {
            let _ = sim.create(ids::ENDPOINTS, ns, ep, "endpoint-controller");
        }
        Some(old) => {
            if old.get("subsets") != ep.get("subsets")
                || old["metadata"]["labels"] != ep["metadata"]["labels"]
            {
                let mut body = (*old).clone();
                body["metadata"]["labels"] = ep["metadata"]["labels"].clone();
                match ep.get("subsets") {
                    Some(s) => body["subsets"] = s.clone(),
                    None => {
                        if let Some(m) = body.as_object_mut() {
                            m.remove("subsets");
                        }
                    }
                }
                let _ = sim.replace(ids::ENDPOINTS, body, "endpoint-controller");
            }
        }
    }
}
