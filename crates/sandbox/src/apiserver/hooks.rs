//! Kind-specific work around writes: Service addresses, default StorageClass, Job selectors,
//! Pod initial status, and CRDs that start or stop serving their kinds.

use serde_json::{Value, json};

use super::ApiServer;
use crate::meta;
use crate::resources::{self, ResourceType};
use crate::status::ApiError;

/// Runs before an object is stored.
pub fn before_write(
    api: &ApiServer,
    rt: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    if rt.custom {
        return Ok(());
    }
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "Service") => service(api, rt, old, new, dry_run),
        ("", "PersistentVolumeClaim") if old.is_none() => {
            if new["spec"].get("storageClassName").is_none()
                && let Some(sc) = default_storage_class(api)
            {
                new["spec"]["storageClassName"] = json!(sc);
            }
            if new["status"].is_null() {
                new["status"] = json!({"phase": "Pending"});
            }
            Ok(())
        }
        ("", "Pod") if old.is_none() => {
            new["status"] = json!({"phase": "Pending", "qosClass": qos_class(&new["spec"])});
            Ok(())
        }
        ("batch", "Job") if old.is_none() => {
            job_selector(new);
            Ok(())
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(rt, old, new),
        _ => Ok(()),
    }
}

/// Runs after an object was stored.
pub fn after_write(api: &ApiServer, rt: &ResourceType, stored: &Value) {
    if rt.kind == "CustomResourceDefinition" && !rt.custom && !meta::deleting(stored) {
        for t in resources::from_crd(stored) {
            api.registry.insert(t);
        }
    }
}

/// Runs after an object was removed from the store.
pub fn after_delete(api: &ApiServer, rt: &ResourceType, gone: &Value) {
    if rt.kind == "CustomResourceDefinition" && !rt.custom {
        let group = gone["spec"]["group"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let plural = gone["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let id = format!("{group}/{plural}");
        for o in api.store.list(&id, None).1 {
            api.store.remove(&id, meta::namespace(&o), meta::name(&o));
        }
        api.registry.remove_custom(&group, &plural);
    }
}

fn default_storage_class(api: &ApiServer) -> Option<String> {
    api.store
        .list("storage.k8s.io/storageclasses", None)
        .1
        .iter()
        .find(|sc| {
            sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"].as_str()
                == Some("true")
        })
        .map(|sc| meta::name(sc).to_string())
}

/// The QoS class of a pod spec.
pub fn qos_class(spec: &Value) -> &'static str {
    let cs: Vec<&Value> = spec["containers"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let has_any = cs.iter().any(|c| {
        c["resources"]["requests"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
            || c["resources"]["limits"]
                .as_object()
                .is_some_and(|m| !m.is_empty())
    });
    if !has_any {
        return "BestEffort";
    }
    let guaranteed = cs.iter().all(|c| {
        let l = &c["resources"]["limits"];
        let r = &c["resources"]["requests"];
        ["cpu", "memory"]
            .iter()
            .all(|k| l[*k].is_string() || l[*k].is_number())
            && ["cpu", "memory"]
                .iter()
                .all(|k| r[*k].is_null() || r[*k] == l[*k])
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn job_selector(new: &mut Value) {
    if new["spec"]["manualSelector"].as_bool() == Some(true) {
        return;
    }
    let uid = meta::uid(new).to_string();
    let name = meta::name(new).to_string();
    new["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    let labels = &mut new["spec"]["template"]["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    for (k, v) in [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ] {
        labels[k] = json!(v);
    }
}

fn service(
    api: &ApiServer,
    rt: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    dry_run: bool,
) -> Result<(), ApiError> {
    let ty = new["spec"]["type"]
        .as_str()
        .unwrap_or("ClusterIP")
        .to_string();
    let name = meta::name(new).to_string();
    let old_ip = old
        .and_then(|o| o["spec"]["clusterIP"].as_str())
        .map(str::to_string);
    let new_ip = new["spec"]["clusterIP"].as_str().map(str::to_string);
    if ty == "ExternalName" {
        return Ok(());
    }
    let ip = match (old_ip, new_ip) {
        (Some(o), Some(n)) if !n.is_empty() && o != n => {
            return Err(ApiError::invalid(
                rt,
                &name,
                &[(
                    "spec.clusterIPs[0]".into(),
                    "FieldValueInvalid",
                    format!("Invalid value: []string{{\"{n}\"}}: may not change once set"),
                )],
            ));
        }
        (Some(o), _) => o,
        (None, Some(n)) if !n.is_empty() => n,
        (None, _) => {
            if dry_run {
                String::new()
            } else {
                api.alloc.lock().cluster_ip(&api.store).ok_or_else(|| {
                    ApiError::internal("failed to allocate a serviceIP: range is full")
                })?
            }
        }
    };
    if !ip.is_empty() {
        new["spec"]["clusterIP"] = json!(ip);
        new["spec"]["clusterIPs"] = json!([ip]);
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        let old_ports: Vec<Value> = old
            .and_then(|o| o["spec"]["ports"].as_array().cloned())
            .unwrap_or_default();
        let mut taken: Vec<i64> = Vec::new();
        if let Some(ports) = new["spec"]["ports"].as_array_mut() {
            for p in ports.iter_mut() {
                if p["nodePort"].as_i64().is_some() {
                    continue;
                }
                let reuse = old_ports
                    .iter()
                    .find(|op| op["port"] == p["port"] && op["protocol"] == p["protocol"])
                    .and_then(|op| op["nodePort"].as_i64());
                let np = match reuse {
                    Some(n) => Some(n),
                    None => api.alloc.lock().node_port(&api.store, &taken),
                };
                if let Some(n) = np {
                    taken.push(n);
                    p["nodePort"] = json!(n);
                }
            }
        }
    }
    if old.is_none() && new["status"].is_null() {
        new["status"] = json!({"loadBalancer": {}});
    }
    Ok(())
}

fn crd(rt: &ResourceType, old: Option<&Value>, new: &mut Value) -> Result<(), ApiError> {
    let name = meta::name(new).to_string();
    let group = new["spec"]["group"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let plural = new["spec"]["names"]["plural"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kind = new["spec"]["names"]["kind"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut causes = Vec::new();
    if group.is_empty() {
        causes.push((
            "spec.group".to_string(),
            "FieldValueRequired",
            "Required value".to_string(),
        ));
    }
    if plural.is_empty() {
        causes.push((
            "spec.names.plural".into(),
            "FieldValueRequired",
            "Required value".into(),
        ));
    }
    if kind.is_empty() {
        causes.push((
            "spec.names.kind".into(),
            "FieldValueRequired",
            "Required value".into(),
        ));
    }
    if new["spec"]["versions"].as_array().is_none_or(Vec::is_empty) {
        causes.push((
            "spec.versions".into(),
            "FieldValueRequired",
            "Required value: must have exactly one version marked as storage version".into(),
        ));
    }
    if causes.is_empty() && name != format!("{plural}.{group}") {
        causes.push((
            "metadata.name".into(),
            "FieldValueInvalid",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(rt, &name, &causes));
    }
    let mut names = new["spec"]["names"].clone();
    if names["singular"].is_null() {
        names["singular"] = json!(kind.to_lowercase());
    }
    if names["listKind"].is_null() {
        names["listKind"] = json!(format!("{kind}List"));
    }
    new["spec"]["names"] = names.clone();
    if new["spec"]["conversion"].is_null() {
        new["spec"]["conversion"] = json!({"strategy": "None"});
    }
    let now = meta::now();
    let since = |t: &str| -> String {
        old.and_then(|o| o["status"]["conditions"].as_array())
            .and_then(|cs| cs.iter().find(|c| c["type"] == t))
            .and_then(|c| c["lastTransitionTime"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| now.clone())
    };
    let stored: Vec<Value> = new["spec"]["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .filter(|v| v["storage"].as_bool() == Some(true))
                .map(|v| v["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    new["status"] = json!({
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": since("NamesAccepted")},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": since("Established")}
        ],
        "storedVersions": stored,
    });
    Ok(())
}
