//! The simulation: controllers, a scheduler and kubelets reacting to the store's changes, so
//! that workloads behave as on a real cluster (Deployments roll out, Pods become Ready, Jobs
//! finish, Services get endpoints, PVCs bind, garbage is collected).

mod autoscalers;
mod cronjobs;
mod deployments;
mod endpoints;
mod gc;
mod jobs;
mod namespaces;
pub mod nodes;
mod pods;
pub mod quantity;
mod replicasets;
mod volumes;
mod workloads;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::SandboxOptions;
use crate::apiserver::{ApiServer, DeleteOptions, Propagation, WriteContext};
use crate::meta;
use crate::resources::ResourceType;
use crate::status::ApiError;
use crate::store::EventType;

pub use autoscalers::DESIRED_REPLICAS_ANNOTATION;

/// The pod-template annotation that makes a Job's pods fail: `sandbox.ferrocd.dev/fail: "true"`.
pub const FAIL_ANNOTATION: &str = "sandbox.ferrocd.dev/fail";

/// Simulation settings.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Delay between scheduling and readiness.
    pub pod_ready_delay: Duration,
    /// Period of the timer-driven checks.
    pub tick: Duration,
}

impl From<&SandboxOptions> for SimOptions {
    fn from(o: &SandboxOptions) -> Self {
        SimOptions {
            pod_ready_delay: o.pod_ready_delay,
            tick: Duration::from_millis(50).min(o.pod_ready_delay.max(Duration::from_millis(10))),
        }
    }
}

/// A key of work: `(resource id, namespace, name)`.
pub(crate) type Key = (String, String, String);

/// The simulation's mutable state.
pub(crate) struct Sim {
    pub api: Arc<ApiServer>,
    pub opts: SimOptions,
    pub scheduled_at: HashMap<String, Instant>,
    pub next_pod_ip: u32,
    pub dirty: BTreeSet<Key>,
}

/// Starts the simulation task.
pub fn spawn(
    api: Arc<ApiServer>,
    opts: SimOptions,
    mut shutdown: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let changes = api.store.changes();
    let handle = tokio::spawn(async move {
        let mut sim = Sim {
            api,
            opts: opts.clone(),
            scheduled_at: HashMap::new(),
            next_pod_ip: 10,
            dirty: BTreeSet::new(),
        };
        let mut changes = changes;
        sim.initial_sweep();
        let mut ticker = tokio::time::interval(opts.tick);
        let mut slow = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                r = changes.recv() => match r {
                    Ok(c) => {
                        sim.on_change(&c.resource, c.event, &c.object);
                        while let Ok(c) = changes.try_recv() {
                            sim.on_change(&c.resource, c.event, &c.object);
                        }
                        sim.run_dirty();
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        changes = changes.resubscribe();
                        sim.initial_sweep();
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = ticker.tick() => {
                    sim.on_tick();
                    sim.run_dirty();
                }
                _ = slow.tick() => {
                    sim.on_slow_tick();
                    sim.run_dirty();
                }
            }
        }
    });
    vec![handle]
}

/// The type ids the simulation reacts to.
pub(crate) mod ids {
    pub const PODS: &str = "/pods";
    pub const SERVICES: &str = "/services";
    pub const ENDPOINTS: &str = "/endpoints";
    pub const NAMESPACES: &str = "/namespaces";
    pub const NODES: &str = "/nodes";
    pub const PVCS: &str = "/persistentvolumeclaims";
    pub const PVS: &str = "/persistentvolumes";
    pub const DEPLOYMENTS: &str = "apps/deployments";
    pub const REPLICASETS: &str = "apps/replicasets";
    pub const STATEFULSETS: &str = "apps/statefulsets";
    pub const DAEMONSETS: &str = "apps/daemonsets";
    pub const JOBS: &str = "batch/jobs";
    pub const CRONJOBS: &str = "batch/cronjobs";
    pub const HPAS: &str = "autoscaling/horizontalpodautoscalers";
}

impl Sim {
    pub(crate) fn rt(&self, id: &str) -> Option<Arc<ResourceType>> {
        let (g, p) = id.split_once('/')?;
        self.api.registry.by_group_plural(g, p)
    }

    pub(crate) fn ctx(manager: &str) -> WriteContext {
        WriteContext::controller(manager)
    }

    pub(crate) fn get(&self, id: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.api.store.get(id, ns, name)
    }

    pub(crate) fn list(&self, id: &str, ns: &str) -> Vec<Arc<Value>> {
        self.api.store.list(id, Some(ns)).1
    }

    pub(crate) fn list_all(&self, id: &str) -> Vec<Arc<Value>> {
        self.api.store.list(id, None).1
    }

    /// Objects in `ns` of type `id` controlled by `owner`.
    pub(crate) fn owned(&self, id: &str, ns: &str, owner_uid: &str) -> Vec<Arc<Value>> {
        self.list(id, ns)
            .into_iter()
            .filter(|o| {
                meta::controller_of(o).is_some_and(|r| r["uid"].as_str() == Some(owner_uid))
            })
            .collect()
    }

    pub(crate) fn create(
        &self,
        id: &str,
        ns: &str,
        obj: Value,
        manager: &str,
    ) -> Result<Value, ApiError> {
        let rt = self.rt(id).ok_or_else(ApiError::no_resource)?;
        self.api.create(&rt, ns, obj, &Self::ctx(manager))
    }

    /// Records a core/v1 Event about `obj` (what `kubectl describe` shows).
    pub(crate) fn event(
        &self,
        obj: &Value,
        warning: bool,
        reason: &str,
        message: &str,
        component: &str,
    ) {
        let ns = match meta::namespace(obj) {
            "" => "default",
            n => n,
        };
        let now = meta::now();
        let e = json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{}.{}", meta::name(obj), meta::random_suffix(10)), "namespace": ns},
            "involvedObject": {"kind": obj["kind"], "namespace": meta::namespace(obj), "name": meta::name(obj),
                "uid": meta::uid(obj), "apiVersion": obj["apiVersion"], "resourceVersion": meta::resource_version(obj)},
            "reason": reason, "message": message, "type": if warning { "Warning" } else { "Normal" },
            "source": {"component": component}, "reportingComponent": component, "reportingInstance": "",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1, "eventTime": null});
        if let Err(e) = self.create("/events", ns, e, component) {
            tracing::debug!(error = %e, "event not recorded");
        }
    }

    /// Replaces the status of an object when it differs.
    pub(crate) fn set_status(&self, id: &str, obj: &Value, status: Value, manager: &str) {
        if obj.get("status") == Some(&status) {
            return;
        }
        let Some(rt) = self.rt(id) else { return };
        let mut body = obj.clone();
        body["status"] = status;
        if let Some(m) = body["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        if let Err(e) = self.api.update(
            &rt,
            meta::namespace(obj),
            meta::name(obj),
            body,
            &Self::ctx(manager),
            true,
        ) {
            tracing::debug!(error = %e, "status update skipped");
        }
    }

    /// Replaces an object (main resource).
    pub(crate) fn replace(&self, id: &str, obj: Value, manager: &str) -> Result<Value, ApiError> {
        let rt = self.rt(id).ok_or_else(ApiError::no_resource)?;
        let mut body = obj;
        if let Some(m) = body["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        let (ns, name) = (
            meta::namespace(&body).to_string(),
            meta::name(&body).to_string(),
        );
        self.api
            .update(&rt, &ns, &name, body, &Self::ctx(manager), false)
    }

    pub(crate) fn delete(&self, id: &str, ns: &str, name: &str, policy: Propagation) {
        let Some(rt) = self.rt(id) else { return };
        let opts = DeleteOptions {
            propagation: Some(policy),
            ..DeleteOptions::default()
        };
        if let Err(e) = self.api.delete(&rt, ns, name, &opts)
            && e.code != 404
        {
            tracing::debug!(error = %e, "delete skipped");
        }
    }

    fn mark(&mut self, id: &str, ns: &str, name: &str) {
        self.dirty
            .insert((id.to_string(), ns.to_string(), name.to_string()));
    }

    fn mark_owner(&mut self, obj: &Value) {
        if let Some(r) = meta::controller_of(obj) {
            let kind = r["kind"].as_str().unwrap_or_default();
            let id = match kind {
                "ReplicaSet" => ids::REPLICASETS,
                "Deployment" => ids::DEPLOYMENTS,
                "StatefulSet" => ids::STATEFULSETS,
                "DaemonSet" => ids::DAEMONSETS,
                "Job" => ids::JOBS,
                "CronJob" => ids::CRONJOBS,
                _ => return,
            };
            let name = r["name"].as_str().unwrap_or_default().to_string();
            let ns = meta::namespace(obj).to_string();
            self.mark(id, &ns, &name);
        }
    }

    fn initial_sweep(&mut self) {
        for id in [
            ids::NAMESPACES,
            ids::DEPLOYMENTS,
            ids::REPLICASETS,
            ids::STATEFULSETS,
            ids::DAEMONSETS,
            ids::JOBS,
            ids::PODS,
            ids::SERVICES,
            ids::PVCS,
            ids::HPAS,
        ] {
            for o in self.list_all(id) {
                let (ns, name) = (meta::namespace(&o).to_string(), meta::name(&o).to_string());
                self.mark(id, &ns, &name);
            }
        }
        self.run_dirty();
    }

    fn on_change(&mut self, id: &str, ev: EventType, obj: &Value) {
        let ns = meta::namespace(obj).to_string();
        let name = meta::name(obj).to_string();
        if ev == EventType::Deleted {
            self.scheduled_at.remove(meta::uid(obj));
            gc::on_deleted(self, id, obj);
        } else if meta::deleting(obj) {
            self.mark(&format!("gc:{id}"), &ns, &name);
        }
        match id {
            ids::PODS => {
                self.mark(id, &ns, &name);
                self.mark_owner(obj);
                self.mark("endpoints:ns", &ns, "");
                if ev == EventType::Deleted {
                    self.mark("scheduler:pending", "", "");
                    self.mark("daemonsets:all", "", "");
                }
            }
            ids::REPLICASETS => {
                self.mark(id, &ns, &name);
                self.mark_owner(obj);
            }
            ids::DEPLOYMENTS
            | ids::STATEFULSETS
            | ids::DAEMONSETS
            | ids::JOBS
            | ids::CRONJOBS
            | ids::PVCS => {
                self.mark(id, &ns, &name);
                self.mark_owner(obj);
            }
            ids::SERVICES | ids::HPAS => self.mark(id, &ns, &name),
            ids::NAMESPACES => self.mark(id, "", &name),
            ids::NODES => {
                self.mark("daemonsets:all", "", "");
                self.mark("scheduler:pending", "", "");
            }
            _ => {}
        }
        if !ns.is_empty() && ev == EventType::Deleted {
            self.mark(ids::NAMESPACES, "", &ns);
        }
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .scheduled_at
            .iter()
            .filter(|(_, t)| now.duration_since(**t) >= self.opts.pod_ready_delay)
            .map(|(uid, _)| uid.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        for o in self.list_all(ids::PODS) {
            if due.iter().any(|u| u == meta::uid(&o)) {
                let (ns, name) = (meta::namespace(&o).to_string(), meta::name(&o).to_string());
                self.mark(ids::PODS, &ns, &name);
            }
        }
    }

    fn on_slow_tick(&mut self) {
        for id in [ids::CRONJOBS, ids::DEPLOYMENTS, ids::HPAS] {
            for o in self.list_all(id) {
                // Thousands of steady Deployments would be reconciled every second for
                // nothing (the sandbox's largest cost at scale).
                if id == ids::DEPLOYMENTS && deployments::settled(&o) {
                    continue;
                }
                let (ns, name) = (meta::namespace(&o).to_string(), meta::name(&o).to_string());
                self.mark(id, &ns, &name);
            }
        }
        for id in [ids::NAMESPACES] {
            for o in self.list_all(id) {
                if meta::deleting(&o) {
                    let name = meta::name(&o).to_string();
                    self.mark(id, "", &name);
                }
            }
        }
        self.mark("scheduler:pending", "", "");
    }

    fn run_dirty(&mut self) {
        let mut rounds = 0;
        while !self.dirty.is_empty() && rounds < 8 {
            rounds += 1;
            let work = std::mem::take(&mut self.dirty);
            for (id, ns, name) in work {
                self.reconcile(&id, &ns, &name);
            }
        }
    }

    fn reconcile(&mut self, id: &str, ns: &str, name: &str) {
        if let Some(inner) = id.strip_prefix("gc:") {
            gc::reconcile_deleting(self, inner, ns, name);
            return;
        }
        match id {
            ids::PODS => pods::reconcile(self, ns, name),
            "scheduler:pending" => pods::schedule_pending(self),
            "endpoints:ns" => endpoints::reconcile_namespace(self, ns),
            ids::SERVICES => endpoints::reconcile_service(self, ns, name),
            ids::REPLICASETS => replicasets::reconcile(self, ns, name),
            ids::DEPLOYMENTS => deployments::reconcile(self, ns, name),
            ids::STATEFULSETS => workloads::reconcile_statefulset(self, ns, name),
            ids::DAEMONSETS => workloads::reconcile_daemonset(self, ns, name),
            "daemonsets:all" => {
                for o in self.list_all(ids::DAEMONSETS) {
                    workloads::reconcile_daemonset(self, meta::namespace(&o), meta::name(&o));
                }
            }
            ids::JOBS => jobs::reconcile(self, ns, name),
            ids::CRONJOBS => cronjobs::reconcile(self, ns, name),
            ids::PVCS => volumes::reconcile(self, ns, name),
            ids::HPAS => autoscalers::reconcile(self, ns, name),
            ids::NAMESPACES => namespaces::reconcile(self, name),
            _ => {}
        }
    }
}

/// A condition object with times.
pub(crate) fn condition(
    ty: &str,
    status: bool,
    reason: &str,
    message: &str,
    old: Option<&Value>,
) -> Value {
    let now = meta::now();
    let st = if status { "True" } else { "False" };
    let prev = old
        .and_then(|s| s["conditions"].as_array())
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty));
    let transition = match prev {
        Some(p) if p["status"] == st => p["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let update = match prev {
        Some(p) if p["status"] == st && p["reason"] == reason && p["message"] == message => {
            p["lastUpdateTime"].clone()
        }
        _ => json!(now),
    };
    json!({"type": ty, "status": st, "lastUpdateTime": update, "lastTransitionTime": transition,
        "reason": reason, "message": message})
}

/// A stable short hash of a value, in Kubernetes' safe alphabet (like pod-template-hash).
pub(crate) fn template_hash(v: &Value) -> String {
    let s = v.to_string();
    let mut h: u32 = 2166136261;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(16777619);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut out = String::new();
    let mut n = u64::from(h);
    while out.len() < 10 {
        out.push(ALPHABET[(n % ALPHABET.len() as u64) as usize] as char);
        n /= ALPHABET.len() as u64;
        if n == 0 {
            n = u64::from(h.rotate_left(out.len() as u32 * 3)) + 7;
        }
    }
    out
}

/// An ownerReference to `owner` of the given kind.
pub(crate) fn owner_ref(owner: &Value, api_version: &str, kind: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": meta::name(owner), "uid": meta::uid(owner),
        "controller": true, "blockOwnerDeletion": true})
}

/// Whether a pod is Ready.
pub(crate) fn pod_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Whether a pod has terminated.
pub(crate) fn pod_finished(p: &Value) -> bool {
    matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

/// Builds a pod from a template.
pub(crate) fn pod_from_template(
    template: &Value,
    generate_name: &str,
    owner: Value,
    extra_labels: &[(&str, &str)],
) -> Value {
    let mut labels = template["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    for (k, v) in extra_labels {
        labels[*k] = json!(v);
    }
    let mut metadata =
        json!({"generateName": generate_name, "labels": labels, "ownerReferences": [owner]});
    if let Some(a) = template["metadata"]["annotations"].as_object() {
        metadata["annotations"] = Value::Object(a.clone());
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"].clone()})
}

/// Omits zero integers from a status map, like Go's `omitempty`.
pub(crate) fn omit_zero(mut status: Value, keep: &[&str]) -> Value {
    if let Some(m) = status.as_object_mut() {
        m.retain(|k, v| keep.contains(&k.as_str()) || v.as_i64() != Some(0));
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hash_is_stable_and_distinct() {
        let a = template_hash(&json!({"spec": {"containers": [{"image": "a"}]}}));
        let b = template_hash(&json!({"spec": {"containers": [{"image": "b"}]}}));
        assert_eq!(a.len(), 10);
        assert_ne!(a, b);
        assert_eq!(
            a,
            template_hash(&json!({"spec": {"containers": [{"image": "a"}]}}))
        );
    }

    #[test]
    fn conditions_keep_transition_time_while_status_holds() {
        let old = json!({"conditions": [{"type": "Available", "status": "True", "reason": "R", "message": "m",
            "lastUpdateTime": "2020-01-01T00:00:00Z", "lastTransitionTime": "2020-01-01T00:00:00Z"}]});
        let c = condition("Available", true, "R", "m", Some(&old));
        assert_eq!(c["lastTransitionTime"], "2020-01-01T00:00:00Z");
        assert_eq!(c["lastUpdateTime"], "2020-01-01T00:00:00Z");
        let c = condition("Available", false, "R", "m", Some(&old));
        assert_ne!(c["lastTransitionTime"], "2020-01-01T00:00:00Z");
    }
}
