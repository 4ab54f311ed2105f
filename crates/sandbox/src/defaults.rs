//! The defaults kube-apiserver fills in on common kinds, one function per kind.

use serde_json::{Map, Value, json};

fn obj(v: &mut Value) -> Option<&mut Map<String, Value>> {
    if v.is_null() {
        *v = Value::Object(Map::new());
    }
    v.as_object_mut()
}

fn set(m: &mut Map<String, Value>, key: &str, v: Value) {
    if !m.contains_key(key) || m.get(key).is_some_and(Value::is_null) {
        m.insert(key.to_string(), v);
    }
}

/// Applies the defaults of `kind` in place.
pub fn apply(kind: &str, o: &mut Value) {
    match kind {
        "Deployment" => deployment(o),
        "StatefulSet" => statefulset(o),
        "DaemonSet" => daemonset(o),
        "ReplicaSet" => replicaset(o),
        "Job" => job(o),
        "CronJob" => cronjob(o),
        "Pod" => pod(o),
        "Service" => service(o),
        "PersistentVolumeClaim" => pvc(o),
        "Namespace" => namespace(o),
        "Secret" => secret(o),
        "NetworkPolicy" => network_policy(o),
        _ => {}
    }
}

/// Defaults of a Deployment.
pub fn deployment(o: &mut Value) {
    let Some(spec) = obj(&mut o["spec"]) else {
        return;
    };
    set(spec, "replicas", json!(1));
    set(spec, "revisionHistoryLimit", json!(10));
    set(spec, "progressDeadlineSeconds", json!(600));
    set(
        spec,
        "strategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
    );
    if let Some(st) = spec.get_mut("strategy").and_then(Value::as_object_mut) {
        set(st, "type", json!("RollingUpdate"));
        if st.get("type") == Some(&json!("RollingUpdate")) {
            set(st, "rollingUpdate", json!({}));
            if let Some(ru) = st.get_mut("rollingUpdate").and_then(Value::as_object_mut) {
                set(ru, "maxSurge", json!("25%"));
                set(ru, "maxUnavailable", json!("25%"));
            }
        }
    }
    pod_template(&mut o["spec"]["template"], true);
}

/// Defaults of a StatefulSet.
pub fn statefulset(o: &mut Value) {
    let Some(spec) = obj(&mut o["spec"]) else {
        return;
    };
    set(spec, "replicas", json!(1));
    set(spec, "podManagementPolicy", json!("OrderedReady"));
    set(spec, "revisionHistoryLimit", json!(10));
    set(
        spec,
        "updateStrategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    );
    set(
        spec,
        "persistentVolumeClaimRetentionPolicy",
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    if let Some(vcts) = spec
        .get_mut("volumeClaimTemplates")
        .and_then(Value::as_array_mut)
    {
        for t in vcts {
            if let Some(m) = t.as_object_mut() {
                set(m, "apiVersion", json!("v1"));
                set(m, "kind", json!("PersistentVolumeClaim"));
                set(m, "status", json!({"phase": "Pending"}));
            }
            if let Some(s) = obj(&mut t["spec"]) {
                set(s, "volumeMode", json!("Filesystem"));
            }
        }
    }
    pod_template(&mut o["spec"]["template"], true);
}

/// Defaults of a DaemonSet.
pub fn daemonset(o: &mut Value) {
    let Some(spec) = obj(&mut o["spec"]) else {
        return;
    };
    set(spec, "revisionHistoryLimit", json!(10));
    set(
        spec,
        "updateStrategy",
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
    );
    pod_template(&mut o["spec"]["template"], true);
}

/// Defaults of a ReplicaSet.
pub fn replicaset(o: &mut Value) {
    let Some(spec) = obj(&mut o["spec"]) else {
        return;
    };
    set(spec, "replicas", json!(1));
    pod_template(&mut o["spec"]["template"], true);
}

/// Defaults of a Job (the selector and its labels are set at creation, when the uid is known).
pub fn job(o: &mut Value) {
    let Some(spec) = obj(&mut o["spec"]) else {
        return;
    };
    set(spec, "backoffLimit", json!(6));
    set(spec, "completions", json!(1));
    set(spec, "parallelism", json!(1));
    set(spec, "completionMode", json!("NonIndexed"));
    set(spec, "suspend", json!(false));
    set(spec, "manualSelector", Value::Null);
    spec.remove("manualSelector");
    set(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    pod_template(&mut o["spec"]["template"], false);
}

/// Defaults of a CronJob.
pub fn cronjob(o: &mut Value) {
    let Some(spec) = obj(&mut o["spec"]) else {
        return;
    };
    set(spec, "concurrencyPolicy", json!("Allow"));
    set(spec, "suspend", json!(false));
    set(spec, "successfulJobsHistoryLimit", json!(3));
    set(spec, "failedJobsHistoryLimit", json!(1));
    pod_template(&mut o["spec"]["jobTemplate"]["spec"]["template"], false);
}

/// Defaults of a bare Pod.
pub fn pod(o: &mut Value) {
    pod_spec(&mut o["spec"], true);
    if let Some(spec) = o["spec"].as_object_mut() {
        set(spec, "serviceAccountName", json!("default"));
        set(spec, "serviceAccount", json!("default"));
        set(spec, "enableServiceLinks", json!(true));
        set(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
        set(spec, "priority", json!(0));
        set(
            spec,
            "tolerations",
            json!([
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ]),
        );
    }
}

/// Defaults of a pod template (`metadata` + `spec`).
pub fn pod_template(t: &mut Value, restart_always: bool) {
    if !t.is_object() {
        return;
    }
    pod_spec(&mut t["spec"], restart_always);
}

/// Defaults of a PodSpec.
pub fn pod_spec(s: &mut Value, restart_always: bool) {
    let Some(spec) = obj(s) else { return };
    if restart_always {
        set(spec, "restartPolicy", json!("Always"));
    }
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "schedulerName", json!("default-scheduler"));
    set(spec, "securityContext", json!({}));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    for list in ["initContainers", "containers"] {
        if let Some(cs) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs {
                container(c);
            }
        }
    }
    if let Some(vols) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in vols {
            for (src, mode_field) in [("configMap", "defaultMode"), ("secret", "defaultMode")] {
                if let Some(m) = v.get_mut(src).and_then(Value::as_object_mut) {
                    set(m, mode_field, json!(420));
                }
            }
        }
    }
}

fn image_pull_policy(image: &str) -> &'static str {
    let name = image.split('@').next().unwrap_or(image);
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn container(c: &mut Value) {
    let Some(m) = c.as_object_mut() else { return };
    set(m, "terminationMessagePath", json!("/dev/termination-log"));
    set(m, "terminationMessagePolicy", json!("File"));
    let image = m
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    set(m, "imagePullPolicy", json!(image_pull_policy(&image)));
    set(m, "resources", json!({}));
    if let Some(ports) = m.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            if let Some(pm) = p.as_object_mut() {
                set(pm, "protocol", json!("TCP"));
            }
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = m.get_mut(probe).and_then(Value::as_object_mut) {
            set(p, "timeoutSeconds", json!(1));
            set(p, "periodSeconds", json!(10));
            set(p, "successThreshold", json!(1));
            set(p, "failureThreshold", json!(3));
            if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                set(h, "scheme", json!("HTTP"));
                set(h, "path", json!("/"));
            }
        }
    }
    if let Some(env) = m.get_mut("env").and_then(Value::as_array_mut) {
        for e in env {
            if let Some(fr) = e
                .pointer_mut("/valueFrom/fieldRef")
                .and_then(Value::as_object_mut)
            {
                set(fr, "apiVersion", json!("v1"));
            }
        }
    }
}

/// Defaults of a Service (addresses are allocated separately).
pub fn service(o: &mut Value) {
    let Some(spec) = obj(&mut o["spec"]) else {
        return;
    };
    set(spec, "type", json!("ClusterIP"));
    set(spec, "sessionAffinity", json!("None"));
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if ty != "ExternalName" {
        set(spec, "ipFamilies", json!(["IPv4"]));
        set(spec, "ipFamilyPolicy", json!("SingleStack"));
        set(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        set(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        set(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            if let Some(pm) = p.as_object_mut() {
                set(pm, "protocol", json!("TCP"));
                if let Some(port) = pm.get("port").cloned() {
                    set(pm, "targetPort", port);
                }
            }
        }
    }
}

/// Defaults of a PersistentVolumeClaim.
pub fn pvc(o: &mut Value) {
    let Some(spec) = obj(&mut o["spec"]) else {
        return;
    };
    set(spec, "volumeMode", json!("Filesystem"));
}

/// Defaults of a Namespace.
pub fn namespace(o: &mut Value) {
    let name = o["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(labels) = obj(&mut o["metadata"]["labels"]) {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    if let Some(spec) = obj(&mut o["spec"]) {
        set(spec, "finalizers", json!(["kubernetes"]));
    }
    if let Some(status) = obj(&mut o["status"]) {
        set(status, "phase", json!("Active"));
    }
}

/// Defaults of a Secret; `stringData` is write-only, merged into `data` (base64) as the
/// API server does, its keys winning.
pub fn secret(o: &mut Value) {
    use base64::Engine as _;
    if let Some(m) = o.as_object_mut() {
        set(m, "type", json!("Opaque"));
        if let Some(Value::Object(plain)) = m.remove("stringData") {
            let data = m.entry("data").or_insert_with(|| Value::Object(Map::new()));
            if !data.is_object() {
                *data = Value::Object(Map::new());
            }
            if let Some(data) = data.as_object_mut() {
                for (k, v) in plain {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
                    data.insert(k, Value::String(encoded));
                }
            }
        }
    }
}

/// Defaults of a NetworkPolicy.
pub fn network_policy(o: &mut Value) {
    let Some(spec) = obj(&mut o["spec"]) else {
        return;
    };
    if !spec.contains_key("policyTypes") {
        let mut types = vec![json!("Ingress")];
        if spec.contains_key("egress") {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_defaults_match_kube_apiserver() {
        let mut d = json!({"spec": {"selector": {"matchLabels": {"app": "mlflow"}},
            "template": {"metadata": {"labels": {"app": "mlflow"}}, "spec": {"containers": [
                {"name": "mlflow", "image": "ghcr.io/mlflow/mlflow:v2.9.2", "ports": [{"containerPort": 5000}],
                 "readinessProbe": {"httpGet": {"port": 5000}}}]}}}});
        deployment(&mut d);
        let s = &d["spec"];
        assert_eq!(s["replicas"], 1);
        assert_eq!(s["revisionHistoryLimit"], 10);
        assert_eq!(s["progressDeadlineSeconds"], 600);
        assert_eq!(s["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        let p = &s["template"]["spec"];
        assert_eq!(p["restartPolicy"], "Always");
        assert_eq!(p["dnsPolicy"], "ClusterFirst");
        assert_eq!(p["schedulerName"], "default-scheduler");
        assert_eq!(p["terminationGracePeriodSeconds"], 30);
        let c = &p["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTP");
        assert_eq!(c["readinessProbe"]["failureThreshold"], 3);
    }

    #[test]
    fn image_pull_policy_follows_tag() {
        assert_eq!(image_pull_policy("nginx"), "Always");
        assert_eq!(image_pull_policy("nginx:latest"), "Always");
        assert_eq!(image_pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(
            image_pull_policy("localhost:5000/nginx:1.25"),
            "IfNotPresent"
        );
        assert_eq!(image_pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn service_defaults() {
        let mut s = json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}});
        service(&mut s);
        assert_eq!(s["spec"]["ports"][0]["targetPort"], 80);
        assert_eq!(s["spec"]["sessionAffinity"], "None");
        assert_eq!(s["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(s["spec"]["ipFamilies"], json!(["IPv4"]));
    }
}
