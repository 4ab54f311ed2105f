//! The resource tree of an application, as Argo CD's `resource-tree` returns it: one node per
//! managed resource (from `status.resources`, enriched with its live object) and one per live
//! object that descends from one of them through `ownerReferences` (ReplicaSets, Pods, Jobs,
//! …), each child with `parentRefs`. Pure: the caller fetches the live objects.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `(group, version)` of an `apiVersion`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// Identity of an object in the tree: group, kind, namespace, name.
type Key = (String, String, String, String);

fn key_of(obj: &Value) -> Key {
    let (group, _) = split_api_version(str_at(obj, "/apiVersion"));
    (
        group.to_string(),
        str_at(obj, "/kind").to_string(),
        str_at(obj, "/metadata/namespace").to_string(),
        str_at(obj, "/metadata/name").to_string(),
    )
}

fn info_of(obj: &Value) -> Vec<Value> {
    let mut info = Vec::new();
    if str_at(obj, "/kind") == "Pod" {
        let phase = str_at(obj, "/status/phase");
        if !phase.is_empty() {
            info.push(json!({"name": "Status Reason", "value": phase}));
        }
        if let Some(statuses) = obj
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
        {
            let ready = statuses
                .iter()
                .filter(|s| s.get("ready").and_then(Value::as_bool) == Some(true))
                .count();
            info.push(
                json!({"name": "Containers", "value": format!("{ready}/{}", statuses.len())}),
            );
        }
        let node = str_at(obj, "/spec/nodeName");
        if !node.is_empty() {
            info.push(json!({"name": "Node", "value": node}));
        }
    }
    if let Some(rev) = obj
        .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
    {
        info.push(json!({"name": "Revision", "value": format!("Rev:{rev}")}));
    }
    info
}

fn images_of(obj: &Value) -> Vec<String> {
    let containers = obj
        .pointer("/spec/containers")
        .or_else(|| obj.pointer("/spec/template/spec/containers"));
    let mut images: Vec<String> = containers
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("image").and_then(Value::as_str).map(str::to_string))
        .collect();
    images.dedup();
    images
}

fn node_of(obj: &Value, health: Option<Value>, parents: Vec<Value>) -> Value {
    let (group, version) = split_api_version(str_at(obj, "/apiVersion"));
    let mut node = json!({
        "group": group,
        "version": version,
        "kind": str_at(obj, "/kind"),
        "namespace": str_at(obj, "/metadata/namespace"),
        "name": str_at(obj, "/metadata/name"),
        "uid": str_at(obj, "/metadata/uid"),
        "resourceVersion": str_at(obj, "/metadata/resourceVersion"),
        "createdAt": str_at(obj, "/metadata/creationTimestamp"),
        "info": info_of(obj),
        "images": images_of(obj),
    });
    if let Some(h) = health {
        node["health"] = h;
    }
    if !parents.is_empty() {
        node["parentRefs"] = Value::Array(parents);
    }
    node
}

/// Builds `{nodes, orphanedNodes, hosts}` from `status.resources` and live objects (the managed
/// objects and the candidates for children, in any order).
pub fn build(managed: &[Value], live: &[Value]) -> Value {
    let by_key: HashMap<Key, &Value> = live.iter().map(|o| (key_of(o), o)).collect();
    let mut nodes = Vec::new();
    let mut known_uids: HashSet<String> = HashSet::new();
    let mut refs_by_uid: HashMap<String, Value> = HashMap::new();
    for entry in managed {
        if entry.get("hook").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let key: Key = (
            str_at(entry, "/group").to_string(),
            str_at(entry, "/kind").to_string(),
            str_at(entry, "/namespace").to_string(),
            str_at(entry, "/name").to_string(),
        );
        let health = entry.get("health").cloned();
        match by_key.get(&key) {
            Some(obj) => {
                let uid = str_at(obj, "/metadata/uid").to_string();
                if !uid.is_empty() {
                    known_uids.insert(uid.clone());
                    refs_by_uid.insert(uid.clone(), parent_ref(obj));
                }
                nodes.push(node_of(obj, health, Vec::new()));
            }
            None => {
                // Not live (yet): a node from the status alone.
                let mut node = json!({
                    "group": key.0, "version": str_at(entry, "/version"), "kind": key.1,
                    "namespace": key.2, "name": key.3,
                });
                if let Some(h) = health {
                    node["health"] = h;
                }
                nodes.push(node);
            }
        }
    }
    // Children, level by level, until no object joins.
    let mut placed: HashSet<String> = known_uids.clone();
    loop {
        let mut added = false;
        let mut level: BTreeMap<(String, String, String), Value> = BTreeMap::new();
        for obj in live {
            let uid = str_at(obj, "/metadata/uid").to_string();
            if uid.is_empty() || placed.contains(&uid) {
                continue;
            }
            let parents: Vec<Value> = obj
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .filter(|owner| known_uids.contains(*owner))
                .filter_map(|owner| refs_by_uid.get(owner).cloned())
                .collect();
            if parents.is_empty() {
                continue;
            }
            let health = ferrocd_health::assess_builtin(obj);
            let health = json!({"status": health.status.as_str(), "message": health.message});
            let k = key_of(obj);
            level.insert(
                (k.1.clone(), k.2.clone(), k.3.clone()),
                node_of(obj, Some(health), parents),
            );
            placed.insert(uid);
        }
        for (_, node) in level {
            let uid = str_at(&node, "/uid").to_string();
            if let Some(obj) = live.iter().find(|o| str_at(o, "/metadata/uid") == uid) {
                refs_by_uid.insert(uid.clone(), parent_ref(obj));
            }
            known_uids.insert(uid);
            nodes.push(node);
            added = true;
        }
        if !added {
            break;
        }
    }
    json!({"nodes": nodes, "orphanedNodes": [], "hosts": []})
}

fn parent_ref(obj: &Value) -> Value {
    let (group, _) = split_api_version(str_at(obj, "/apiVersion"));
    json!({
        "group": group,
        "kind": str_at(obj, "/kind"),
        "namespace": str_at(obj, "/metadata/namespace"),
        "name": str_at(obj, "/metadata/name"),
        "uid": str_at(obj, "/metadata/uid"),
    })
}

/// A copy of a live or desired object fit for a response: Secret values become `++++++++` and
/// the last-applied annotation (which repeats them) is dropped.
pub fn mask_secret(obj: &Value) -> Value {
    let mut out = obj.clone();
    if str_at(obj, "/kind") != "Secret" || !str_at(obj, "/apiVersion").eq("v1") {
        return out;
    }
    for field in ["data", "stringData"] {
        if let Some(map) = out.get_mut(field).and_then(Value::as_object_mut) {
            for v in map.values_mut() {
                *v = Value::String("++++++++".into());
            }
        }
    }
    if let Some(annotations) = out
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(api: &str, kind: &str, name: &str, uid: &str, owner: Option<&str>) -> Value {
        let mut o = json!({
            "apiVersion": api, "kind": kind,
            "metadata": {"name": name, "namespace": "mlflow", "uid": uid, "resourceVersion": "7"},
        });
        if let Some(owner) = owner {
            o["metadata"]["ownerReferences"] =
                json!([{"uid": owner, "kind": "x", "name": "x", "apiVersion": "v1"}]);
        }
        o
    }

    #[test]
    fn app_to_pods() {
        let managed = vec![
            json!({"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "mlflow", "name": "tracking",
                   "status": "Synced", "health": {"status": "Healthy"}}),
            json!({"group": "", "version": "v1", "kind": "Service", "namespace": "mlflow", "name": "tracking"}),
            json!({"group": "batch", "version": "v1", "kind": "Job", "namespace": "mlflow", "name": "migrate", "hook": true}),
        ];
        let mut pod = obj("v1", "Pod", "tracking-5d9-abc", "u-pod", Some("u-rs"));
        pod["status"] = json!({"phase": "Running", "containerStatuses": [{"ready": true}],
                               "conditions": [{"type": "Ready", "status": "True"}]});
        pod["spec"] = json!({"nodeName": "sandbox-node-1", "containers": [{"image": "ghcr.io/mlflow/mlflow:2.9"}]});
        let live = vec![
            pod,
            obj(
                "apps/v1",
                "ReplicaSet",
                "tracking-5d9",
                "u-rs",
                Some("u-dep"),
            ),
            obj("apps/v1", "Deployment", "tracking", "u-dep", None),
            obj(
                "apps/v1",
                "ReplicaSet",
                "unrelated",
                "u-other",
                Some("u-nobody"),
            ),
        ];
        let tree = build(&managed, &live);
        let nodes = tree["nodes"].as_array().expect("nodes");
        let names: Vec<&str> = nodes
            .iter()
            .map(|n| n["name"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            names,
            ["tracking", "tracking", "tracking-5d9", "tracking-5d9-abc"]
        );
        assert_eq!(nodes[0]["uid"], "u-dep");
        assert_eq!(nodes[0]["health"]["status"], "Healthy");
        assert!(nodes[1].get("uid").is_none(), "service is not live");
        assert_eq!(nodes[2]["parentRefs"][0]["uid"], "u-dep");
        assert_eq!(nodes[3]["parentRefs"][0]["kind"], "ReplicaSet");
        assert_eq!(nodes[3]["images"][0], "ghcr.io/mlflow/mlflow:2.9");
        assert!(
            nodes[3]["info"]
                .as_array()
                .expect("info")
                .iter()
                .any(|i| i["value"] == "sandbox-node-1")
        );
    }

    #[test]
    fn secrets_are_masked() {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "mlflow-db", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}",
                "team": "ml"}},
            "data": {"password": "aHVudGVyMg=="},
            "stringData": {"user": "mlflow"},
        });
        let masked = mask_secret(&secret);
        let text = masked.to_string();
        assert!(!text.contains("aHVudGVyMg=="), "{text}");
        assert!(!text.contains("\"mlflow\""), "{text}");
        assert_eq!(masked["metadata"]["annotations"]["team"], "ml");
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
        assert_eq!(mask_secret(&cm), cm);
    }
}
