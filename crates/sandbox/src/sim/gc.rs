//! The garbage collector: dependents of a deleted owner are deleted (Background) or kept
//! without the owner reference (Orphan); owners waiting with `foregroundDeletion` lose the
//! finalizer once their dependents are gone.

use serde_json::Value;

use super::{Sim, volumes};
use crate::apiserver::Propagation;
use crate::meta;

/// An object was removed: delete its dependents and release what it held.
pub fn on_deleted(sim: &mut Sim, id: &str, obj: &Value) {
    let uid = meta::uid(obj).to_string();
    for (dep_id, dep) in sim.api.dependents(&uid) {
        let owners = meta::owner_uids(&dep);
        let Some(rt) = sim.rt(&dep_id) else { continue };
        if owners.len() > 1 {
            let _ = sim
                .api
                .orphan(&rt, &dep, &uid, &Sim::ctx("generic-garbage-collector"));
        } else if !meta::deleting(&dep) {
            sim.delete(
                &dep_id,
                meta::namespace(&dep),
                meta::name(&dep),
                Propagation::Background,
            );
        }
    }
    if id == super::ids::PVCS {
        volumes::on_claim_deleted(sim, obj);
    }
    // owners in foreground deletion may be waiting for this object
    for owner_uid in meta::owner_uids(obj) {
        if let Some((oid, owner)) = find_by_uid(sim, &owner_uid)
            && meta::deleting(&owner)
        {
            reconcile_deleting(sim, &oid, meta::namespace(&owner), meta::name(&owner));
        }
    }
}

fn find_by_uid(sim: &Sim, uid: &str) -> Option<(String, std::sync::Arc<Value>)> {
    for rt in sim.api.registry.all() {
        let id = rt.id();
        if let Some(o) = sim.list_all(&id).into_iter().find(|o| meta::uid(o) == uid) {
            return Some((id, o));
        }
    }
    None
}

/// An object is being deleted: do the part of the finalizers the garbage collector owns.
pub fn reconcile_deleting(sim: &mut Sim, id: &str, ns: &str, name: &str) {
    let Some(obj) = sim.get(id, ns, name) else {
        return;
    };
    if !meta::deleting(&obj) {
        return;
    }
    let Some(rt) = sim.rt(id) else { return };
    let fins = meta::finalizers(&obj);
    let uid = meta::uid(&obj).to_string();
    let ctx = Sim::ctx("generic-garbage-collector");
    if fins.iter().any(|f| f == "orphan") {
        for (dep_id, dep) in sim.api.dependents(&uid) {
            if let Some(drt) = sim.rt(&dep_id) {
                let _ = sim.api.orphan(&drt, &dep, &uid, &ctx);
            }
        }
        let _ = sim.api.remove_finalizer(&rt, ns, name, "orphan", &ctx);
    }
    if fins.iter().any(|f| f == "foregroundDeletion") {
        let deps = sim.api.dependents(&uid);
        let blocking = deps.iter().filter(|(_, d)| {
            d["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| {
                    refs.iter().any(|r| {
                        r["uid"].as_str() == Some(uid.as_str())
                            && r["blockOwnerDeletion"].as_bool() == Some(true)
                    })
                })
        });
        let mut waiting = false;
        for (dep_id, dep) in blocking {
            waiting = true;
            if !meta::deleting(dep) {
                sim.delete(
                    dep_id,
                    meta::namespace(dep),
                    meta::name(dep),
                    Propagation::Foreground,
                );
            }
        }
        for (dep_id, dep) in deps.iter() {
            if !meta::deleting(dep) {
                sim.delete(
                    dep_id,
                    meta::namespace(dep),
                    meta::name(dep),
                    Propagation::Background,
                );
            }
        }
        if !waiting {
            let _ = sim
                .api
                .remove_finalizer(&rt, ns, name, "foregroundDeletion", &ctx);
        }
    }
}
