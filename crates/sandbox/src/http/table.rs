//! `meta.k8s.io/v1` Table responses for `kubectl get` (name, a few kind-specific columns, age).

use serde_json::{Value, json};

use crate::resources::ResourceType;

/// Formats an age like kubectl (`45s`, `3m10s`, `5h`, `2d3h`).
pub fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        format!("{m}m{}s", s % 60)
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        format!("{h}h{}m", m % 60)
    } else if h < 48 {
        format!("{h}h")
    } else if d < 8 {
        format!("{d}d{}h", h % 24)
    } else if d < 730 {
        format!("{d}d")
    } else {
        format!("{}y", d / 365)
    }
}

fn age(o: &Value) -> String {
    let created = o["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    match created {
        Some(t) => human_age((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()),
        None => "<unknown>".into(),
    }
}

fn columns(kind: &str) -> Vec<(&'static str, &'static str)> {
    match kind {
        "Pod" => vec![
            ("Ready", "string"),
            ("Status", "string"),
            ("Restarts", "string"),
        ],
        "Deployment" => vec![
            ("Ready", "string"),
            ("Up-to-date", "integer"),
            ("Available", "integer"),
        ],
        "ReplicaSet" => vec![
            ("Desired", "integer"),
            ("Current", "integer"),
            ("Ready", "integer"),
        ],
        "StatefulSet" => vec![("Ready", "string")],
        "Service" => vec![
            ("Type", "string"),
            ("Cluster-IP", "string"),
            ("External-IP", "string"),
            ("Port(s)", "string"),
        ],
        "Job" => vec![("Status", "string"), ("Completions", "string")],
        "Namespace" => vec![("Status", "string")],
        "PersistentVolumeClaim" => vec![("Status", "string"), ("Volume", "string")],
        "Node" => vec![("Status", "string")],
        "ConfigMap" => vec![("Data", "integer")],
        _ => vec![],
    }
}

fn cells(kind: &str, o: &Value) -> Vec<Value> {
    let s = &o["status"];
    let i = |v: &Value| v.as_i64().unwrap_or(0);
    match kind {
        "Pod" => {
            let cs = s["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
            let ready = cs
                .iter()
                .filter(|c| c["ready"].as_bool() == Some(true))
                .count();
            let restarts: i64 = cs.iter().map(|c| i(&c["restartCount"])).sum();
            vec![
                json!(format!("{ready}/{total}")),
                s["phase"].clone(),
                json!(restarts.to_string()),
            ]
        }
        "Deployment" => vec![
            json!(format!(
                "{}/{}",
                i(&s["readyReplicas"]),
                i(&o["spec"]["replicas"])
            )),
            json!(i(&s["updatedReplicas"])),
            json!(i(&s["availableReplicas"])),
        ],
        "ReplicaSet" => vec![
            json!(i(&o["spec"]["replicas"])),
            json!(i(&s["replicas"])),
            json!(i(&s["readyReplicas"])),
        ],
        "StatefulSet" => vec![json!(format!(
            "{}/{}",
            i(&s["readyReplicas"]),
            i(&o["spec"]["replicas"])
        ))],
        "Service" => {
            let ports: Vec<String> = o["spec"]["ports"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| match p["nodePort"].as_i64() {
                            Some(np) => format!(
                                "{}:{}/{}",
                                i(&p["port"]),
                                np,
                                p["protocol"].as_str().unwrap_or("TCP")
                            ),
                            None => format!(
                                "{}/{}",
                                i(&p["port"]),
                                p["protocol"].as_str().unwrap_or("TCP")
                            ),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let ext = s["loadBalancer"]["ingress"][0]["ip"]
                .as_str()
                .unwrap_or("<none>");
            vec![
                o["spec"]["type"].clone(),
                o["spec"]["clusterIP"].clone(),
                json!(ext),
                json!(ports.join(",")),
            ]
        }
        "Job" => {
            let done = s["conditions"].as_array().and_then(|cs| {
                cs.iter().find(|c| {
                    c["status"] == "True" && (c["type"] == "Complete" || c["type"] == "Failed")
                })
            });
            let st = match done {
                Some(c) if c["type"] == "Complete" => "Complete",
                Some(_) => "Failed",
                None => "Running",
            };
            vec![
                json!(st),
                json!(format!(
                    "{}/{}",
                    i(&s["succeeded"]),
                    i(&o["spec"]["completions"]).max(1)
                )),
            ]
        }
        "Namespace" => vec![s["phase"].clone()],
        "PersistentVolumeClaim" => vec![s["phase"].clone(), o["spec"]["volumeName"].clone()],
        "Node" => vec![json!("Ready")],
        "ConfigMap" => vec![json!(
            o["data"].as_object().map_or(0, |m| m.len())
                + o["binaryData"].as_object().map_or(0, |m| m.len())
        )],
        _ => vec![],
    }
}

fn definitions(kind: &str) -> Vec<Value> {
    let mut defs = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0}),
    ];
    for (n, t) in columns(kind) {
        defs.push(json!({"name": n, "type": t, "format": "", "description": n, "priority": 0}));
    }
    defs.push(json!({"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp", "priority": 0}));
    defs
}

fn row(rt: &ResourceType, o: &Value) -> Value {
    let mut c = vec![o["metadata"]["name"].clone()];
    c.extend(cells(&rt.kind, o));
    c.push(json!(age(o)));
    let mut obj = o.clone();
    obj["kind"] = json!(rt.kind);
    obj["apiVersion"] = json!(rt.api_version());
    json!({"cells": c, "object": obj})
}

/// A Table for a list object.
pub fn from_list(rt: &ResourceType, list: &Value) -> Value {
    let rows: Vec<Value> = list["items"]
        .as_array()
        .map(|a| a.iter().map(|o| row(rt, o)).collect())
        .unwrap_or_default();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list["metadata"].clone(),
        "columnDefinitions": definitions(&rt.kind), "rows": rows})
}

/// A Table for one object.
pub fn from_object(rt: &ResourceType, o: &Value) -> Value {
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": o["metadata"]["resourceVersion"].clone()},
        "columnDefinitions": definitions(&rt.kind), "rows": [row(rt, o)]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_like_kubectl() {
        assert_eq!(human_age(5), "5s");
        assert_eq!(human_age(190), "3m10s");
        assert_eq!(human_age(3600), "60m");
        assert_eq!(human_age(5 * 3600 + 60), "5h1m");
        assert_eq!(human_age(3 * 86400 + 7200), "3d2h");
    }
}
