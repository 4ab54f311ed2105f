//! The Application status as Argo CD writes it, built from a comparison (pure).

use std::collections::BTreeSet;

use ferrocd_model::{
    Application, ApplicationStatus, ApplicationSummary, ComparedTo, HealthStatus, SyncStatusCode,
};
use serde_json::{Value, json};

use crate::reconcile::{Compared, conditions_with_times};

/// Now, as Kubernetes writes times (RFC 3339, seconds, UTC).
pub(crate) fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The comparison part of the status: sync, health, resources, summary, conditions,
/// reconciledAt, observedAt, sourceType(s). `compared` is `None` when the comparison
/// failed (the conditions say why; sync and health are then Unknown).
pub(crate) fn comparison_status(
    app: &Application,
    compared: Option<&Compared>,
    conditions: &[(String, String)],
    controller_namespace: &str,
) -> Value {
    let now = now();
    let sources = app.spec.sources_list();
    let multi = app.has_multiple_sources();
    let compared_to = ComparedTo {
        source: (!multi)
            .then(|| sources.first().map(|s| (*s).clone()))
            .flatten(),
        sources: if multi {
            sources.iter().map(|s| (*s).clone()).collect()
        } else {
            Vec::new()
        },
        destination: Some(app.spec.destination.clone()),
        ignore_differences: app.spec.ignore_differences.clone(),
        ..Default::default()
    };
    let conditions = conditions_with_times(app, conditions);
    let Some(c) = compared else {
        let revisions: Vec<String> = Vec::new();
        return json!({
            "sync": {"status": SyncStatusCode::Unknown, "comparedTo": compared_to,
                     "revisions": revisions},
            "health": {"status": HealthStatus::Unknown},
            "conditions": conditions,
            "reconciledAt": now,
            "observedAt": now,
            "controllerNamespace": controller_namespace,
        });
    };
    let revisions: Vec<String> = c
        .rendered
        .revisions()
        .iter()
        .map(|r| r.to_string())
        .collect();
    let mut sync = json!({"status": c.comparison.sync_status, "comparedTo": compared_to});
    if multi {
        sync["revisions"] = json!(revisions);
    } else if let Some(r) = revisions.first() {
        sync["revision"] = json!(r);
    }
    let resources: Vec<Value> = c
        .comparison
        .resources
        .iter()
        .map(|r| {
            let mut v = json!({
                "group": r.key.group, "version": r.version, "kind": r.key.kind,
                "namespace": r.key.namespace, "name": r.key.name,
                "status": r.status,
            });
            if r.health.status != HealthStatus::Unknown || !r.health.message.is_empty() {
                let mut h = json!({"status": r.health.status});
                if !r.health.message.is_empty() {
                    h["message"] = json!(r.health.message);
                }
                v["health"] = h;
            }
            if r.hook {
                v["hook"] = json!(true);
            }
            if r.requires_pruning {
                v["requiresPruning"] = json!(true);
            }
            if let Some(obj) = c.desired.get(&r.key) {
                let wave = ferrocd_model::annotations::parse_sync_wave(
                    obj.object
                        .pointer("/metadata/annotations")
                        .and_then(|a| a.get(ferrocd_model::annotations::SYNC_WAVE))
                        .and_then(Value::as_str),
                );
                if wave != 0 {
                    v["syncWave"] = json!(wave);
                }
            }
            v
        })
        .collect();
    let source_types: Vec<Value> = c
        .rendered
        .sources
        .iter()
        .filter_map(|s| s.source_type.map(|t| json!(t)))
        .collect();
    let mut status = json!({
        "sync": sync,
        "health": {"status": c.comparison.health.status},
        "resources": resources,
        "summary": summary(c),
        "conditions": conditions,
        "reconciledAt": now,
        "observedAt": now,
        "controllerNamespace": controller_namespace,
    });
    // Argo CD omits an empty list; leaving it out also lets server-side apply drop the
    // conditions this manager wrote before.
    if conditions.is_empty()
        && let Some(map) = status.as_object_mut()
    {
        map.remove("conditions");
    }
    if multi {
        status["sourceTypes"] = json!(source_types);
    } else if let Some(t) = source_types.first() {
        status["sourceType"] = t.clone();
    }
    status
}

/// Whether the comparison status `new` says what `app`'s status already says, apart from
/// `reconciledAt` and `observedAt`: then only those two times need writing. Both sides
/// are compared in their typed form, so that an empty list and an absent one agree.
pub(crate) fn only_times_changed(app: &Application, new: &Value) -> bool {
    let Some(old) = app.status.as_ref() else {
        return false;
    };
    let Ok(new) = serde_json::from_value::<ApplicationStatus>(new.clone()) else {
        return false;
    };
    old.sync == new.sync
        && old.health == new.health
        && old.resources == new.resources
        && old.summary == new.summary
        && old.conditions == new.conditions
        && old.controller_namespace == new.controller_namespace
        && old.source_type == new.source_type
        && old.source_types == new.source_types
}

/// The part of the status that changes on every reconciliation even when nothing else
/// does, as a JSON merge patch of the Application.
pub(crate) fn times_patch(new: &Value) -> Value {
    json!({"status": {"reconciledAt": new["reconciledAt"], "observedAt": new["observedAt"]}})
}

/// Images of the desired workloads and external URLs of live Ingresses and
/// LoadBalancer Services.
fn summary(c: &Compared) -> ApplicationSummary {
    let mut images = BTreeSet::new();
    for d in &c.desired.objects {
        collect_images(&d.object, &mut images);
    }
    let mut urls = BTreeSet::new();
    for live in c.inventory.tracked.values() {
        match live.get("kind").and_then(Value::as_str) {
            Some("Ingress") => {
                let tls_hosts: BTreeSet<&str> = live
                    .pointer("/spec/tls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .flat_map(|t| {
                        t.get("hosts")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                    })
                    .filter_map(Value::as_str)
                    .collect();
                for rule in live
                    .pointer("/spec/rules")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(host) = rule.get("host").and_then(Value::as_str) {
                        let scheme = if tls_hosts.contains(host) {
                            "https"
                        } else {
                            "http"
                        };
                        urls.insert(format!("{scheme}://{host}/"));
                    }
                }
            }
            Some("Service") => {
                for ingress in live
                    .pointer("/status/loadBalancer/ingress")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(addr) = ingress
                        .get("hostname")
                        .or_else(|| ingress.get("ip"))
                        .and_then(Value::as_str)
                    {
                        urls.insert(format!("http://{addr}/"));
                    }
                }
            }
            _ => {}
        }
    }
    ApplicationSummary {
        images: images.into_iter().collect(),
        external_urls: urls.into_iter().collect(),
        ..Default::default()
    }
}

/// Every `containers[].image` and `initContainers[].image` anywhere in the object (pod
/// specs of Pods, templates, CronJob job templates, custom resources).
fn collect_images(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if (k == "containers" || k == "initContainers")
                    && let Some(list) = child.as_array()
                {
                    for c in list {
                        if let Some(image) = c.get("image").and_then(Value::as_str) {
                            out.insert(image.to_string());
                        }
                    }
                }
                collect_images(child, out);
            }
        }
        Value::Array(list) => list.iter().for_each(|c| collect_images(c, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mlflow_app(status: Value) -> Application {
        let mut app = json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "mlflow", "namespace": "argocd"},
            "spec": {"project": "default",
                "source": {"repoURL": "https://git.example.com/ml-platform.git",
                    "targetRevision": "main", "path": "apps/mlflow/overlays/dev"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "mlflow"}}});
        if !status.is_null() {
            app["status"] = status;
        }
        serde_json::from_value(app).expect("application")
    }

    /// A status as written by this writer and then read back through the typed model (as
    /// the watch delivers it), with the operation writer's fields beside it.
    fn written(app: &Application, status: &Value) -> Application {
        let mut value = status.clone();
        value["operationState"] = json!({"operation": {"sync": {"revision": "4f1c2b9"}},
            "phase": "Succeeded", "startedAt": "2025-06-02T08:00:00Z"});
        value["history"] = json!([{"id": 0, "revision": "4f1c2b9",
            "deployedAt": "2025-06-02T08:00:05Z"}]);
        let mut app = app.clone();
        app.status = Some(serde_json::from_value(value).expect("typed status"));
        app
    }

    #[test]
    fn an_unchanged_comparison_writes_only_its_times() {
        let app = mlflow_app(Value::Null);
        let conditions = [(
            "ComparisonError".to_string(),
            "rendering failed: apps/mlflow/overlays/dev: no kustomization".to_string(),
        )];
        let first = comparison_status(&app, None, &conditions, "argocd");
        assert!(
            !only_times_changed(&app, &first),
            "an app without status needs the whole status"
        );
        let app = written(&app, &first);
        let again = comparison_status(&app, None, &conditions, "argocd");
        assert!(only_times_changed(&app, &again));
        assert_eq!(
            times_patch(&again),
            json!({"status": {"reconciledAt": again["reconciledAt"],
                "observedAt": again["observedAt"]}})
        );
    }

    #[test]
    fn any_change_besides_the_times_writes_the_whole_status() {
        let app = mlflow_app(Value::Null);
        let conditions = [(
            "ComparisonError".to_string(),
            "rendering failed: apps/mlflow/overlays/dev: no kustomization".to_string(),
        )];
        let app = written(&app, &comparison_status(&app, None, &conditions, "argocd"));
        // The condition went away.
        assert!(!only_times_changed(
            &app,
            &comparison_status(&app, None, &[], "argocd")
        ));
        // Another controller namespace.
        assert!(!only_times_changed(
            &app,
            &comparison_status(&app, None, &conditions, "ml-platform")
        ));
        // The spec moved to another path: comparedTo differs.
        let mut moved = app.clone();
        if let Some(source) = moved.spec.source.as_mut() {
            source.path = Some("apps/mlflow/overlays/prod".to_string());
        }
        assert!(!only_times_changed(
            &app,
            &comparison_status(&moved, None, &conditions, "argocd")
        ));
        // Resource-level change.
        let mut status = comparison_status(&app, None, &conditions, "argocd");
        status["resources"] = json!([{"group": "apps", "version": "v1", "kind": "Deployment",
            "namespace": "mlflow", "name": "mlflow-server", "status": "OutOfSync"}]);
        assert!(!only_times_changed(&app, &status));
    }

    #[test]
    fn images_are_found_in_every_pod_spec_shape() {
        let cronjob = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "wait", "image": "busybox:1.36"}],
            "containers": [{"name": "feast", "image": "feastdev/feature-server:0.40.1"}]}}}}}});
        let mut images = BTreeSet::new();
        collect_images(&cronjob, &mut images);
        assert_eq!(
            images.into_iter().collect::<Vec<_>>(),
            ["busybox:1.36", "feastdev/feature-server:0.40.1"]
        );
    }
}
