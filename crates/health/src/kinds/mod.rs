//! Built-in health checks, one module per kind, and the generic check for the others.

use serde_json::Value;

use crate::HealthAssessment;

pub mod apiservice;
pub mod application;
pub mod crd;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod generic;
pub mod hpa;
pub mod ingress;
pub mod job;
pub mod namespace;
pub mod pod;
pub mod pvc;
pub mod replicaset;
pub mod rollout;
pub mod service;
pub mod statefulset;

/// A check that reads only the object.
type Check = fn(&Value) -> HealthAssessment;
/// A check that may look at the object's children.
type ParentCheck = fn(&Value, &[&Value]) -> HealthAssessment;

enum Kind {
    Plain(Check),
    Parent(ParentCheck),
}

fn lookup(group: &str, kind: &str) -> Option<Kind> {
    use Kind::{Parent, Plain};
    Some(match (group, kind) {
        ("apps" | "extensions", "Deployment") => Parent(deployment::check),
        ("apps", "StatefulSet") => Parent(statefulset::check),
        ("apps" | "extensions", "DaemonSet") => Parent(daemonset::check),
        ("apps" | "extensions", "ReplicaSet") => Parent(replicaset::check),
        ("", "Pod") => Plain(pod::check),
        ("batch", "Job") => Parent(job::check),
        ("batch", "CronJob") => Parent(cronjob::check),
        ("", "Service") => Plain(service::check),
        ("networking.k8s.io" | "extensions", "Ingress") => Plain(ingress::check),
        ("", "PersistentVolumeClaim") => Plain(pvc::check),
        ("autoscaling", "HorizontalPodAutoscaler") => Plain(hpa::check),
        ("apiregistration.k8s.io", "APIService") => Plain(apiservice::check),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => Plain(crd::check),
        ("", "Namespace") => Plain(namespace::check),
        ("argoproj.io", "Application") => Plain(application::check),
        ("argoproj.io", "Rollout") => Plain(rollout::check),
        _ => return None,
    })
}

/// Whether a built-in check exists for this group and kind.
pub fn has_check(group: &str, kind: &str) -> bool {
    lookup(group, kind).is_some()
}

/// Runs the built-in check for the kind, or the generic one.
pub fn builtin(group: &str, kind: &str, obj: &Value, children: &[&Value]) -> HealthAssessment {
    match lookup(group, kind) {
        Some(Kind::Plain(check)) => check(obj),
        Some(Kind::Parent(check)) => check(obj, children),
        None => generic::check(obj),
    }
}
