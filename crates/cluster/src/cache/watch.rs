//! The I/O of the cache: one kube-runtime watcher task per kind (and namespace), and the
//! task that follows CRD changes by refreshing discovery and starting or stopping
//! watchers.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ferrocd_model::ResourceKey;
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::utils::Backoff;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use tokio::sync::oneshot;

use super::object::LiveObject;
use super::{CacheOptions, RunningWatch, Shared, TargetId};
use crate::discovery::{KindIndex, KindInfo};

const CRD_GROUP: &str = "apiextensions.k8s.io";
const CRD_KIND: &str = "CustomResourceDefinition";

/// Attempts to see an Established CRD's kind in discovery before giving up until the
/// next CRD change.
const DISCOVERY_ATTEMPTS: u32 = 20;

/// One watch to run.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) info: KindInfo,
    pub(crate) namespace: Option<String>,
}

impl Target {
    pub(crate) fn id(&self) -> TargetId {
        TargetId {
            group: self.info.resource.group.clone(),
            kind: self.info.resource.kind.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

/// The watches the options ask for over the kinds discovery knows.
pub(crate) fn targets(index: &KindIndex, opts: &CacheOptions) -> Vec<Target> {
    let mut out = Vec::new();
    for info in index.kinds() {
        let r = &info.resource;
        if !info.listable || !info.watchable || opts.skips(&r.group, &r.kind) {
            continue;
        }
        if info.namespaced && !opts.namespaces.is_empty() {
            for ns in &opts.namespaces {
                out.push(Target {
                    info: info.clone(),
                    namespace: Some(ns.clone()),
                });
            }
        } else {
            out.push(Target {
                info: info.clone(),
                namespace: None,
            });
        }
    }
    out
}

/// Starts the watch of `target` (replacing a running one). `ready` hears once the first
/// list is in.
pub(crate) fn spawn(shared: &Arc<Shared>, target: Target, ready: Option<oneshot::Sender<()>>) {
    let mut watches = shared.watches.lock();
    if shared.stopped.load(Ordering::SeqCst) {
        return;
    }
    let id = target.id();
    let api_version = target.info.resource.api_version.clone();
    let task = tokio::spawn(run(shared.clone(), target, ready));
    if let Some(old) = watches.insert(id, RunningWatch { api_version, task }) {
        old.task.abort();
    }
}

/// Exponential backoff between the watcher's retries, within the cache's bounds.
struct RetryDelay {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Iterator for RetryDelay {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let current = self.next;
        self.next = (current * 2).min(self.max);
        Some(current)
    }
}

impl Backoff for RetryDelay {
    fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Whether a watcher error means the server will never let us list this kind.
fn refusal(err: &watcher::Error) -> Option<String> {
    let source = match err {
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) => e,
        _ => return None,
    };
    match source {
        kube::Error::Api(status) if matches!(status.code, 401 | 403 | 404 | 405) => Some(format!(
            "the server refused to list it ({} {}): {}",
            status.code, status.reason, status.message
        )),
        _ => None,
    }
}

async fn run(shared: Arc<Shared>, target: Target, mut ready: Option<oneshot::Sender<()>>) {
    let id = target.id();
    let server = shared.cluster.server().to_string();
    let client = shared.cluster.client().clone();
    let resource = &target.info.resource;
    let api: Api<DynamicObject> = match &target.namespace {
        Some(ns) if target.info.namespaced => Api::namespaced_with(client, ns, resource),
        _ => Api::all_with(client, resource),
    };
    let config = watcher::Config {
        page_size: Some(shared.opts.page_size).filter(|n| *n > 0),
        ..watcher::Config::default()
    };
    let delay = RetryDelay {
        min: shared.opts.min_backoff,
        max: shared.opts.max_backoff.max(shared.opts.min_backoff),
        next: shared.opts.min_backoff,
    };
    let mut stream = watcher::watcher(api, config).backoff(delay).boxed();
    let is_crd = id.group == CRD_GROUP && id.kind == CRD_KIND;
    let mut listed: Option<HashSet<ResourceKey>> = None;
    let keep = shared.opts.keep_managers.clone();
    let to_live = |obj: DynamicObject| -> Option<LiveObject> {
        match LiveObject::from_dynamic(obj, &resource.api_version, &resource.kind, &keep) {
            Ok(live) => Some(live),
            Err(e) => {
                tracing::warn!(server = %server, kind = %id, error = %e,
                    "object skipped: cannot be held as JSON");
                None
            }
        }
    };
    while let Some(item) = stream.next().await {
        match item {
            Ok(Event::Init) => {
                tracing::debug!(server = %server, kind = %id, "listing");
                listed = Some(HashSet::new());
            }
            Ok(Event::InitApply(obj)) => {
                if let Some(live) = to_live(obj) {
                    if let Some(listed) = listed.as_mut() {
                        listed.insert(live.key().clone());
                    }
                    let events = shared.store.write().upsert(live);
                    shared.publish(events);
                }
            }
            Ok(Event::InitDone) => {
                let seen = listed.take().unwrap_or_default();
                let events = shared.store.write().retain_listed(
                    &id.group,
                    &id.kind,
                    target.namespace.as_deref(),
                    &seen,
                );
                tracing::debug!(server = %server, kind = %id, objects = seen.len(),
                    gone = events.len(), "listed");
                shared.publish(events);
                {
                    let mut states = shared.states.lock();
                    let state = states.entry(id.clone()).or_default();
                    state.synced = true;
                    state.problem = None;
                }
                if let Some(tx) = ready.take() {
                    let _ = tx.send(());
                }
                if is_crd {
                    shared.kinds_changed.notify_one();
                }
            }
            Ok(Event::Apply(obj)) => {
                if let Some(live) = to_live(obj) {
                    let events = shared.store.write().upsert(live);
                    shared.publish(events);
                }
                if is_crd {
                    shared.kinds_changed.notify_one();
                }
            }
            Ok(Event::Delete(obj)) => {
                if let Some(live) = to_live(obj) {
                    let events = shared.store.write().remove(live.key());
                    shared.publish(events);
                }
                if is_crd {
                    shared.kinds_changed.notify_one();
                }
            }
            Err(err) => {
                if let Some(reason) = refusal(&err)
                    && !shared.states.lock().get(&id).is_some_and(|s| s.synced)
                {
                    tracing::warn!(server = %server, kind = %id, reason = %reason,
                        "kind skipped by the live cache");
                    shared.states.lock().entry(id.clone()).or_default().problem = Some(reason);
                    if let Some(tx) = ready.take() {
                        let _ = tx.send(());
                    }
                    return;
                }
                tracing::debug!(server = %server, kind = %id, error = %err,
                    "watch interrupted; retrying");
            }
        }
    }
}

/// Follows CRD changes: refreshes discovery, then starts watches for new kinds and stops
/// those of kinds no longer served. Retries while an Established CRD's kind is not yet
/// in discovery (servers publish it a moment later).
pub(crate) async fn follow_discovery(shared: Arc<Shared>) {
    loop {
        shared.kinds_changed.notified().await;
        tokio::time::sleep(shared.opts.discovery_debounce).await;
        for attempt in 1..=DISCOVERY_ATTEMPTS {
            if shared.stopped.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = shared.cluster.refresh_discovery().await {
                tracing::warn!(server = %shared.cluster.server(), error = %e,
                    "discovery refresh after a CRD change failed");
            } else {
                reconcile(&shared);
                if missing_crd_kinds(&shared).is_empty() {
                    break;
                }
            }
            if attempt < DISCOVERY_ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Starts and stops watches so that they match discovery.
fn reconcile(shared: &Arc<Shared>) {
    let wanted = targets(&shared.cluster.kinds(), &shared.opts);
    let wanted_ids: HashSet<TargetId> = wanted.iter().map(Target::id).collect();
    let mut to_start = Vec::new();
    let to_stop: Vec<(TargetId, RunningWatch)> = {
        let mut watches = shared.watches.lock();
        for target in wanted {
            match watches.get(&target.id()) {
                Some(w) if w.api_version == target.info.resource.api_version => {}
                _ => to_start.push(target),
            }
        }
        let gone: Vec<TargetId> = watches
            .keys()
            .filter(|id| !wanted_ids.contains(*id))
            .cloned()
            .collect();
        gone.into_iter()
            .filter_map(|id| watches.remove(&id).map(|w| (id, w)))
            .collect()
    };
    for (id, watch) in to_stop {
        watch.task.abort();
        tracing::info!(server = %shared.cluster.server(), kind = %id, "kind no longer served; watch stopped");
        shared.states.lock().remove(&id);
        let events = shared.store.write().retain_listed(
            &id.group,
            &id.kind,
            id.namespace.as_deref(),
            &HashSet::new(),
        );
        shared.publish(events);
    }
    for target in to_start {
        tracing::info!(server = %shared.cluster.server(), kind = %target.id(), "new kind; watch started");
        spawn(shared, target, None);
    }
}

/// (group, kind) of Established CRDs that discovery does not serve yet.
fn missing_crd_kinds(shared: &Shared) -> Vec<(String, String)> {
    let kinds = shared.cluster.kinds();
    let crds = shared.store.read().objects_of_kind(CRD_GROUP, CRD_KIND);
    crds.iter()
        .map(|crd| crd.object())
        .filter(established)
        .filter_map(|crd| {
            let group = crd.pointer("/spec/group")?.as_str()?;
            let kind = crd.pointer("/spec/names/kind")?.as_str()?;
            Some((group.to_string(), kind.to_string()))
        })
        .filter(|(g, k)| kinds.get(g, k).is_none())
        .collect()
}

fn established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Established" && c["status"] == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_to_its_bound_and_resets() {
        let mut d = RetryDelay {
            min: Duration::from_millis(100),
            max: Duration::from_millis(350),
            next: Duration::from_millis(100),
        };
        let first: Vec<u128> = (&mut d).take(4).map(|x| x.as_millis()).collect();
        assert_eq!(first, [100, 200, 350, 350]);
        d.reset();
        assert_eq!(d.next().map(|x| x.as_millis()), Some(100));
    }

    fn api_error(code: u16) -> kube::Error {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure", "code": code, "reason": "Forbidden",
            "message": "configmaps is forbidden: User \"ferrocd\" cannot list resource"}))
        .expect("a Status");
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn only_refused_lists_skip_a_kind() {
        let refused = refusal(&watcher::Error::InitialListFailed(api_error(403)));
        assert!(refused.is_some_and(|r| r.contains("403") && r.contains("forbidden")));
        assert!(refusal(&watcher::Error::InitialListFailed(api_error(500))).is_none());
        assert!(refusal(&watcher::Error::WatchFailed(api_error(403))).is_none());
        assert!(refusal(&watcher::Error::NoResourceVersion).is_none());
    }

    #[test]
    fn established_reads_the_condition() {
        let yes = serde_json::json!({"status": {"conditions": [
            {"type": "NamesAccepted", "status": "True"},
            {"type": "Established", "status": "True"}]}});
        let no = serde_json::json!({"status": {"conditions": [
            {"type": "Established", "status": "False"}]}});
        assert!(established(&yes));
        assert!(!established(&no));
        assert!(!established(&serde_json::json!({})));
    }
}
