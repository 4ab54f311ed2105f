//! Namespaces: every namespace gets its `default` ServiceAccount; a terminating namespace has
//! its content deleted and then disappears.

use serde_json::json;

use super::{Sim, ids};
use crate::apiserver::Propagation;
use crate::meta;

/// Reconciles one namespace.
pub fn reconcile(sim: &mut Sim, name: &str) {
    let Some(ns) = sim.get(ids::NAMESPACES, "", name) else {
        return;
    };
    if !meta::deleting(&ns) {
        if sim.get("/serviceaccounts", name, "default").is_none() {
            let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}});
            let _ = sim.create("/serviceaccounts", name, sa, "kube-controller-manager");
        }
        return;
    }
    let mut remaining = 0;
    for rt in sim.api.registry.all() {
        if !rt.namespaced {
            continue;
        }
        let id = rt.id();
        for o in sim.list(&id, name) {
            remaining += 1;
            if !meta::deleting(&o) {
                sim.delete(&id, name, meta::name(&o), Propagation::Background);
            }
        }
    }
    if remaining > 0 {
        // content still going away; check again on the next change or tick
        let still: usize = sim
            .api
            .registry
            .all()
            .iter()
            .filter(|rt| rt.namespaced)
            .map(|rt| sim.list(&rt.id(), name).len())
            .sum();
        if still > 0 {
            return;
        }
    }
    if !meta::finalizers(&ns).is_empty() {
        return;
    }
    let Some(rt) = sim.rt(ids::NAMESPACES) else {
        return;
    };
    let _ = sim.api.purge(&rt, "", name);
}
