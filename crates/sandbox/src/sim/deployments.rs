//! The Deployment controller: one ReplicaSet per pod template (named with the
//! pod-template-hash), rollover on template change (RollingUpdate or Recreate), revision
//! history, and status with the Available/Progressing conditions `kubectl rollout status` and
//! `kubectl wait` read.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Sim, condition, ids, omit_zero, owner_ref, template_hash};
use crate::apiserver::Propagation;
use crate::meta;

const REVISION: &str = "deployment.kubernetes.io/revision";

fn revision(o: &Value) -> i64 {
    o["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn int_or_percent(v: &Value, total: i64, round_up: bool) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) if round_up => (p * total + 99) / 100,
            Some(p) => p * total / 100,
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

/// Whether a ReplicaSet's template is the Deployment's, ignoring the pod-template-hash label
/// (how the controller recognises a rolled-back template).
fn same_template(rs_template: &Value, template: &Value) -> bool {
    fn normal(t: &Value) -> Value {
        let mut t = t.clone();
        if let Some(m) = t["metadata"].as_object_mut() {
            if m.get("creationTimestamp").is_some_and(Value::is_null) {
                m.remove("creationTimestamp");
            }
            if let Some(l) = m.get_mut("labels").and_then(Value::as_object_mut) {
                l.remove("pod-template-hash");
            }
        }
        t
    }
    normal(rs_template) == normal(template)
}

fn st(o: &Value, k: &str) -> i64 {
    o["status"][k].as_i64().unwrap_or(0)
}

/// Whether a Deployment is rolled out and steady (its status says the current generation
/// runs every replica, updated and available): the periodic check has nothing to time out
/// for it, and its changes arrive as events anyway. Read in place, without copying.
pub(crate) fn settled(d: &Value) -> bool {
    let desired = d["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let progressing_done = d["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "NewReplicaSetAvailable")
    });
    !meta::deleting(d)
        && d["status"]["observedGeneration"] == d["metadata"]["generation"]
        && [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        ]
        .iter()
        .all(|k| st(d, k) == desired)
        && st(d, "unavailableReplicas") == 0
        && progressing_done
}

/// Reconciles one Deployment.
pub fn reconcile(sim: &mut Sim, ns: &str, name: &str) {
    let Some(d) = sim.get(ids::DEPLOYMENTS, ns, name) else {
        return;
    };
    if meta::deleting(&d) {
        return;
    }
    let desired = d["spec"]["replicas"].as_i64().unwrap_or(1).max(0);
    let template = d["spec"]["template"].clone();
    let hash = template_hash(&template);
    let mut all: Vec<Arc<Value>> = sim.owned(ids::REPLICASETS, ns, meta::uid(&d));
    all.sort_by_key(|rs| revision(rs));
    let new_rs = all
        .iter()
        .find(|rs| same_template(&rs["spec"]["template"], &template))
        .cloned();
    let paused = d["spec"]["paused"].as_bool() == Some(true);
    let recreate = d["spec"]["strategy"]["type"] == "Recreate";
    let max_rev = all.iter().map(|rs| revision(rs)).max().unwrap_or(0);
    let mut created_now = None;
    let new_rs = match new_rs {
        Some(rs) => {
            let mut rs_body = (*rs).clone();
            let mut changed = false;
            if rs["spec"]["replicas"].as_i64() != Some(desired) && !paused {
                let old_active: i64 = all
                    .iter()
                    .filter(|o| meta::uid(o) != meta::uid(&rs))
                    .map(|o| st(o, "replicas"))
                    .sum();
                if !recreate || old_active == 0 {
                    rs_body["spec"]["replicas"] = json!(desired);
                    changed = true;
                }
            }
            if revision(&rs) < max_rev
                && revision(&rs) != 0
                && all.last().is_some_and(|l| meta::uid(l) != meta::uid(&rs))
            {
                rs_body["metadata"]["annotations"][REVISION] = json!((max_rev + 1).to_string());
                changed = true;
            }
            if changed {
                sim.replace(ids::REPLICASETS, rs_body, "kube-controller-manager")
                    .map(Arc::new)
                    .ok()
                    .or(Some(rs))
            } else {
                Some(rs)
            }
        }
        None if paused => None,
        None => {
            let mut labels = template["metadata"]["labels"].clone();
            if !labels.is_object() {
                labels = json!({});
            }
            labels["pod-template-hash"] = json!(hash);
            let mut rs_template = template.clone();
            rs_template["metadata"]["labels"] = labels.clone();
            let mut selector = d["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let old_active: i64 = all.iter().map(|o| st(o, "replicas")).sum();
            let replicas = if recreate && old_active > 0 {
                0
            } else {
                desired
            };
            let rs = json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": format!("{name}-{hash}"), "namespace": ns, "labels": labels,
                    "annotations": {REVISION: (max_rev + 1).to_string(),
                        "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                        "deployment.kubernetes.io/max-replicas": desired.to_string()},
                    "ownerReferences": [owner_ref(&d, "apps/v1", "Deployment")]},
                "spec": {"replicas": replicas, "minReadySeconds": d["spec"]["minReadySeconds"].as_i64().unwrap_or(0),
                    "selector": selector, "template": rs_template},
            });
            match sim.create(ids::REPLICASETS, ns, rs, "kube-controller-manager") {
                Ok(rs) => {
                    sim.event(
                        &d,
                        false,
                        "ScalingReplicaSet",
                        &format!(
                            "Scaled up replica set {} from 0 to {replicas}",
                            meta::name(&rs)
                        ),
                        "deployment-controller",
                    );
                    created_now = Some(meta::name(&rs).to_string());
                    Some(Arc::new(rs))
                }
                Err(e) => {
                    tracing::debug!(error = %e, "replicaset not created");
                    None
                }
            }
        }
    };
    // old replica sets: scale down once the new one is available (or at once for Recreate)
    let new_uid = new_rs
        .as_ref()
        .map(|r| meta::uid(r).to_string())
        .unwrap_or_default();
    let new_available = new_rs.as_ref().map_or(0, |r| st(r, "availableReplicas"));
    if !paused {
        for old in all.iter().filter(|o| meta::uid(o) != new_uid) {
            let spec_replicas = old["spec"]["replicas"].as_i64().unwrap_or(0);
            if spec_replicas > 0 && (recreate || new_available >= desired) {
                let mut body = (**old).clone();
                body["spec"]["replicas"] = json!(0);
                let _ = sim.replace(ids::REPLICASETS, body, "kube-controller-manager");
            }
        }
        let limit = d["spec"]["revisionHistoryLimit"]
            .as_i64()
            .unwrap_or(10)
            .max(0) as usize;
        let idle: Vec<&Arc<Value>> = all
            .iter()
            .filter(|o| {
                meta::uid(o) != new_uid
                    && o["spec"]["replicas"].as_i64() == Some(0)
                    && st(o, "replicas") == 0
            })
            .collect();
        if idle.len() > limit {
            for o in idle.iter().take(idle.len() - limit) {
                sim.delete(ids::REPLICASETS, ns, meta::name(o), Propagation::Background);
            }
        }
    }
    // status
    let all: Vec<Arc<Value>> = sim.owned(ids::REPLICASETS, ns, meta::uid(&d));
    let replicas: i64 = all.iter().map(|r| st(r, "replicas")).sum();
    let ready: i64 = all.iter().map(|r| st(r, "readyReplicas")).sum();
    let available: i64 = all.iter().map(|r| st(r, "availableReplicas")).sum();
    let new_rs = new_rs.and_then(|r| sim.get(ids::REPLICASETS, ns, meta::name(&r)));
    let updated = new_rs.as_ref().map_or(0, |r| st(r, "replicas"));
    let new_name = new_rs
        .as_ref()
        .map(|r| meta::name(r).to_string())
        .unwrap_or_default();
    let max_unavailable = if recreate {
        0
    } else {
        int_or_percent(
            &d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
            desired,
            false,
        )
    };
    let old_status = d.get("status");
    let is_available = available >= desired - max_unavailable;
    let avail_cond = if is_available {
        condition(
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            old_status,
        )
    } else {
        condition(
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            old_status,
        )
    };
    let complete = updated == desired
        && replicas == desired
        && available == desired
        && new_rs
            .as_ref()
            .is_some_and(|r| st(r, "availableReplicas") == desired);
    let prev_prog = old_status
        .and_then(|s| s["conditions"].as_array())
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Progressing"))
        .cloned();
    let deadline = d["spec"]["progressDeadlineSeconds"].as_i64().unwrap_or(600);
    let stalled = !complete
        && prev_prog.as_ref().is_some_and(|c| {
            c["lastUpdateTime"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| {
                    (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds() > deadline
                })
        });
    let prog_cond = if paused {
        condition(
            "Progressing",
            true,
            "DeploymentPaused",
            "Deployment is paused",
            old_status,
        )
    } else if complete {
        condition(
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{new_name}\" has successfully progressed."),
            old_status,
        )
    } else if prev_prog
        .as_ref()
        .is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded")
        || stalled
    {
        condition(
            "Progressing",
            false,
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet \"{new_name}\" has timed out progressing."),
            old_status,
        )
    } else if let Some(n) = &created_now {
        condition(
            "Progressing",
            true,
            "NewReplicaSetCreated",
            &format!("Created new replica set \"{n}\""),
            old_status,
        )
    } else if prev_prog.as_ref().is_some_and(|c| {
        c["reason"] == "NewReplicaSetCreated"
            && c["message"].as_str().is_some_and(|m| m.contains(&new_name))
    }) {
        prev_prog.clone().unwrap_or(Value::Null)
    } else {
        condition(
            "Progressing",
            true,
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{new_name}\" is progressing."),
            old_status,
        )
    };
    let status = omit_zero(
        json!({
            "observedGeneration": d["metadata"]["generation"],
            "replicas": replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
            "unavailableReplicas": (desired - available).max(0),
            "conditions": [avail_cond, prog_cond],
        }),
        &[],
    );
    // the deployment carries the revision of its newest replica set
    let mut d_now = match sim.get(ids::DEPLOYMENTS, ns, name) {
        Some(d) => (*d).clone(),
        None => return,
    };
    if let Some(r) = &new_rs {
        let rev = revision(r).to_string();
        if d_now["metadata"]["annotations"][REVISION].as_str() != Some(rev.as_str()) {
            if !d_now["metadata"]["annotations"].is_object() {
                d_now["metadata"]["annotations"] = json!({});
            }
            d_now["metadata"]["annotations"][REVISION] = json!(rev);
            if let Ok(v) = sim.replace(ids::DEPLOYMENTS, d_now.clone(), "kube-controller-manager") {
                d_now = v;
            }
        }
    }
    sim.set_status(ids::DEPLOYMENTS, &d_now, status, "kube-controller-manager");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolled_back_templates_match_their_replica_set() {
        let t = json!({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let mut rs = t.clone();
        rs["metadata"]["labels"]["pod-template-hash"] = json!("abc");
        rs["metadata"]["creationTimestamp"] = Value::Null;
        assert!(same_template(&rs, &t));
        rs["spec"]["containers"][0]["image"] = json!("j");
        assert!(!same_template(&rs, &t));
    }

    #[test]
    fn percentages_round_like_kubernetes() {
        assert_eq!(int_or_percent(&json!("25%"), 4, false), 1);
        assert_eq!(int_or_percent(&json!("25%"), 3, false), 0);
        assert_eq!(int_or_percent(&json!("25%"), 3, true), 1);
        assert_eq!(int_or_percent(&json!(2), 3, true), 2);
    }
}
