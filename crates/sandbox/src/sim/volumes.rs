//! PersistentVolumeClaims bind: a PersistentVolume is provisioned for each pending claim with a
//! storage class (or the claim's named volume is bound).

use serde_json::json;

use super::{Sim, ids};
use crate::meta;

/// Reconciles one claim.
pub fn reconcile(sim: &mut Sim, ns: &str, name: &str) {
    let Some(pvc) = sim.get(ids::PVCS, ns, name) else {
        return;
    };
    if meta::deleting(&pvc) || pvc["status"]["phase"] == "Bound" {
        return;
    }
    let class = pvc["spec"]["storageClassName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let size = pvc["spec"]["resources"]["requests"]["storage"].clone();
    let modes = pvc["spec"]["accessModes"].clone();
    let pv_name = match pvc["spec"]["volumeName"].as_str().filter(|v| !v.is_empty()) {
        Some(v) => {
            if sim.get(ids::PVS, "", v).is_none() {
                return;
            }
            v.to_string()
        }
        None => {
            if class.is_empty() {
                return;
            }
            let reclaim = sim
                .get("storage.k8s.io/storageclasses", "", &class)
                .and_then(|sc| sc["reclaimPolicy"].as_str().map(str::to_string))
                .unwrap_or_else(|| "Delete".into());
            let pv_name = format!("pvc-{}", meta::uid(&pvc));
            let pv = json!({"apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": "sandbox.ferrocd.dev/hostpath"},
                    "finalizers": ["kubernetes.io/pv-protection"]},
                "spec": {"capacity": {"storage": size}, "accessModes": modes, "persistentVolumeReclaimPolicy": reclaim,
                    "storageClassName": class, "volumeMode": pvc["spec"]["volumeMode"].as_str().unwrap_or("Filesystem"),
                    "hostPath": {"path": format!("/var/lib/sandbox/volumes/{pv_name}"), "type": ""},
                    "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": name, "uid": meta::uid(&pvc), "apiVersion": "v1"}}});
            if let Err(e) = sim.create(ids::PVS, "", pv, "persistentvolume-binder-controller")
                && e.code != 409
            {
                return;
            }
            pv_name
        }
    };
    if let Some(pv) = sim.get(ids::PVS, "", &pv_name) {
        sim.set_status(
            ids::PVS,
            &pv,
            json!({"phase": "Bound"}),
            "persistentvolume-binder-controller",
        );
    }
    let mut body = (*pvc).clone();
    body["spec"]["volumeName"] = json!(pv_name);
    if !body["metadata"]["annotations"].is_object() {
        body["metadata"]["annotations"] = json!({});
    }
    body["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] = json!("yes");
    body["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] = json!("yes");
    body["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] =
        json!("sandbox.ferrocd.dev/hostpath");
    if let Ok(bound) = sim.replace(ids::PVCS, body, "persistentvolume-binder-controller") {
        sim.set_status(
            ids::PVCS,
            &bound,
            json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}}),
            "persistentvolume-binder-controller",
        );
    }
}

/// Releases the volume of a deleted claim (deleting it when its reclaim policy says so).
pub fn on_claim_deleted(sim: &mut Sim, pvc: &serde_json::Value) {
    let Some(v) = pvc["spec"]["volumeName"].as_str() else {
        return;
    };
    let Some(pv) = sim.get(ids::PVS, "", v) else {
        return;
    };
    if pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete" {
        let _ = sim.rt(ids::PVS).map(|rt| {
            let ctx = Sim::ctx("persistentvolume-binder-controller");
            let _ = sim
                .api
                .remove_finalizer(&rt, "", v, "kubernetes.io/pv-protection", &ctx);
        });
        sim.delete(ids::PVS, "", v, crate::apiserver::Propagation::Background);
    } else {
        sim.set_status(
            ids::PVS,
            &pv,
            json!({"phase": "Released"}),
            "persistentvolume-binder-controller",
        );
    }
}
