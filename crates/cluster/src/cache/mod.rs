//! The watch-fed cache of one cluster's live objects: what the controller compares with,
//! instead of listing every kind on each refresh ([`Cluster::app_inventory`]).
//!
//! [`LiveCache::start`] runs one kube-runtime watcher per listable and watchable kind
//! (per namespace when [`CacheOptions::namespaces`] restricts them) and returns once each
//! has delivered its initial list. Objects are trimmed on the way in ([`LiveObject`]) and
//! indexed by key, by application (tracking annotation or instance label), by owner UID
//! (Deployment → ReplicaSet → Pod) and by kind. Every change is published on a broadcast
//! channel ([`LiveCache::subscribe`]) with the application it concerns — an object's own,
//! or that of its nearest tracked owner — so that the controller refreshes the right app.
//!
//! The watcher relists after a 410 Gone or a failed watch; a relist replaces the kind's
//! contents, so objects deleted while the watch was down disappear too. Watching
//! CustomResourceDefinitions keeps discovery current: a new CRD's kind gets a watcher, a
//! removed CRD's kind loses its watcher and its objects.

mod object;
mod store;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ferrocd_model::ResourceKey;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Notify, broadcast, oneshot};
use tokio::task::JoinHandle;

pub use object::{LAST_APPLIED, LiveObject};

use crate::client::Cluster;
use crate::error::ClusterError;
use crate::inventory::Inventory;
use store::Store;

/// Kinds the cache never watches unless asked: high-churn records no application tracks.
pub const DEFAULT_SKIPPED_KINDS: &[(&str, &str)] = &[
    ("", "Event"),
    ("events.k8s.io", "Event"),
    ("coordination.k8s.io", "Lease"),
    ("", "Endpoints"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("", "ComponentStatus"),
    ("", "Binding"),
];

/// What the cache watches and how.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// Namespaces whose namespaced objects are watched (empty: all namespaces).
    /// Cluster-scoped kinds are always watched cluster-wide.
    pub namespaces: Vec<String>,
    /// Kinds (group, kind) not watched, besides [`DEFAULT_SKIPPED_KINDS`].
    pub skip_kinds: Vec<(String, String)>,
    /// Watch the [`DEFAULT_SKIPPED_KINDS`] after all.
    pub include_default_skipped: bool,
    /// How long [`LiveCache::start`] waits for each kind's initial list. A kind that
    /// takes longer is reported by [`LiveCache::problems`] and keeps trying.
    pub sync_timeout: Duration,
    /// Field managers whose `managedFields` entries are kept (see [`LiveObject`]).
    pub keep_managers: Vec<String>,
    /// Page size of the lists (0: one unpaginated list per kind, fastest for servers
    /// whose continue tokens are costly, heaviest in transient memory).
    pub page_size: u32,
    /// Capacity of the event channel; slow subscribers lose the oldest events
    /// (`RecvError::Lagged`) and should then refresh everything.
    pub event_capacity: usize,
    /// First delay before a failed list or watch is retried (doubling up to
    /// `max_backoff`).
    pub min_backoff: Duration,
    /// Longest delay between retries.
    pub max_backoff: Duration,
    /// Pause after a CRD change before discovery is refreshed (changes come in bursts).
    pub discovery_debounce: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            namespaces: Vec::new(),
            skip_kinds: Vec::new(),
            include_default_skipped: false,
            sync_timeout: Duration::from_secs(60),
            keep_managers: vec![crate::FIELD_MANAGER.to_string()],
            page_size: 500,
            event_capacity: 4096,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            discovery_debounce: Duration::from_millis(100),
        }
    }
}

impl CacheOptions {
    fn skips(&self, group: &str, kind: &str) -> bool {
        let default = !self.include_default_skipped
            && DEFAULT_SKIPPED_KINDS
                .iter()
                .any(|(g, k)| *g == group && *k == kind);
        default || self.skip_kinds.iter().any(|(g, k)| g == group && k == kind)
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheEventKind {
    /// Created or changed (or moved to or from an application).
    Applied,
    /// Deleted (also: gone at a relist, or its kind's CRD removed).
    Deleted,
}

/// One change in the cache. A change that concerns two applications (an object whose
/// tracking moved) is published once for each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEvent {
    /// The object.
    pub key: ResourceKey,
    /// The application it belongs to: its own tracking, else that of its nearest tracked
    /// owner (a Pod's Deployment's).
    pub app: Option<String>,
    /// What happened.
    pub kind: CacheEventKind,
}

/// A kind the cache does not hold completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindProblem {
    /// API group.
    pub group: String,
    /// Kind.
    pub kind: String,
    /// The namespace of a per-namespace watch (`None`: all namespaces).
    pub namespace: Option<String>,
    /// What is wrong (the server's refusal, or a list that did not finish in time).
    pub problem: String,
}

/// [`LiveCache::wait_for`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The condition did not hold within the time limit.
    #[error("waiting for {key} in the live cache: condition not met within {waited:?}")]
    Timeout {
        /// The object waited for.
        key: Box<ResourceKey>,
        /// How long.
        waited: Duration,
    },
    /// The cache was stopped.
    #[error("waiting for {key} in the live cache: the cache stopped")]
    Stopped {
        /// The object waited for.
        key: Box<ResourceKey>,
    },
}

/// The watch of one kind, in one namespace or everywhere.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TargetId {
    pub(crate) group: String,
    pub(crate) kind: String,
    pub(crate) namespace: Option<String>,
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            &self.group
        };
        write!(f, "{group}/{}", self.kind)?;
        if let Some(ns) = &self.namespace {
            write!(f, " in {ns}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub(crate) struct TargetState {
    synced: bool,
    problem: Option<String>,
}

pub(crate) struct RunningWatch {
    api_version: String,
    task: JoinHandle<()>,
}

/// What the watcher tasks and the handle share.
pub(crate) struct Shared {
    cluster: Cluster,
    opts: CacheOptions,
    store: RwLock<Store>,
    events: broadcast::Sender<CacheEvent>,
    watches: Mutex<HashMap<TargetId, RunningWatch>>,
    states: Mutex<BTreeMap<TargetId, TargetState>>,
    kinds_changed: Notify,
    stopped: AtomicBool,
}

impl Shared {
    fn publish(&self, events: Vec<CacheEvent>) {
        for event in events {
            // No subscriber is not an error.
            let _ = self.events.send(event);
        }
    }
}

/// The live objects of one cluster, kept current by watches. Dropping it (or
/// [`LiveCache::stop`]) ends every watch.
pub struct LiveCache {
    shared: Arc<Shared>,
    discovery: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for LiveCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveCache")
            .field("server", &self.shared.cluster.server())
            .field("objects", &self.object_count())
            .finish_non_exhaustive()
    }
}

impl LiveCache {
    /// Refreshes discovery, starts a watcher per kind and returns once each has listed
    /// its objects (or reached [`CacheOptions::sync_timeout`]). Kinds the credentials
    /// may not list are skipped with a warning and reported by [`LiveCache::problems`].
    pub async fn start(cluster: Cluster, opts: CacheOptions) -> Result<LiveCache, ClusterError> {
        cluster.refresh_discovery().await?;
        let (events, _) = broadcast::channel(opts.event_capacity.max(16));
        let shared = Arc::new(Shared {
            cluster,
            opts,
            store: RwLock::new(Store::default()),
            events,
            watches: Mutex::new(HashMap::new()),
            states: Mutex::new(BTreeMap::new()),
            kinds_changed: Notify::new(),
            stopped: AtomicBool::new(false),
        });
        let cache = LiveCache {
            shared: shared.clone(),
            discovery: Mutex::new(None),
        };
        let targets = watch::targets(&shared.cluster.kinds(), &shared.opts);
        let started = std::time::Instant::now();
        let mut waits = Vec::new();
        for target in targets {
            let (tx, rx) = oneshot::channel();
            let id = target.id();
            watch::spawn(&shared, target, Some(tx));
            waits.push((id, rx));
        }
        let timeout = shared.opts.sync_timeout;
        let outcomes = futures::future::join_all(
            waits
                .into_iter()
                .map(|(id, rx)| async move { (id, tokio::time::timeout(timeout, rx).await) }),
        )
        .await;
        for (id, outcome) in outcomes {
            if outcome.is_err() {
                let mut states = shared.states.lock();
                let state = states.entry(id.clone()).or_default();
                if !state.synced && state.problem.is_none() {
                    tracing::warn!(server = %shared.cluster.server(), kind = %id,
                        timeout = ?timeout, "initial list not finished; the watch keeps trying");
                    state.problem = Some(format!("initial list not finished within {timeout:?}"));
                }
            }
        }
        tracing::info!(server = %shared.cluster.server(), objects = cache.object_count(),
            kinds = shared.watches.lock().len(), elapsed = ?started.elapsed(), "live cache synced");
        *cache.discovery.lock() = Some(tokio::spawn(watch::follow_discovery(shared.clone())));
        Ok(cache)
    }

    /// The cluster this cache watches.
    pub fn cluster(&self) -> &Cluster {
        &self.shared.cluster
    }

    /// One object.
    pub fn get(&self, key: &ResourceKey) -> Option<Arc<LiveObject>> {
        self.shared.store.read().get(key)
    }

    /// The objects that carry `app`'s tracking, in key order.
    pub fn app_objects(&self, app: &str) -> Vec<Arc<LiveObject>> {
        self.shared.store.read().app_objects(app)
    }

    /// `app`'s objects and their descendants, in the shape [`Cluster::app_inventory`]
    /// answers (objects carry the kept `managedFields` entries in their metadata).
    pub fn inventory(&self, app: &str) -> Inventory {
        // Parse outside the lock: watch updates wait for readers.
        let objects = self.shared.store.read().app_tree(app);
        objects.into_inventory()
    }

    /// The objects whose owner references name `uid`.
    pub fn children_of(&self, uid: &str) -> Vec<Arc<LiveObject>> {
        self.shared.store.read().children_of(uid)
    }

    /// Children of `uid`, their children, … (breadth first, each once).
    pub fn descendants_of(&self, uid: &str) -> Vec<Arc<LiveObject>> {
        self.shared.store.read().descendants_of(uid)
    }

    /// The application an object belongs to (its own tracking or its nearest tracked
    /// owner's).
    pub fn app_of(&self, key: &ResourceKey) -> Option<String> {
        let store = self.shared.store.read();
        store.get(key).and_then(|o| store.app_of(&o))
    }

    /// (group, kind, number of objects) per kind held, sorted — the figures of
    /// `argocd_cluster_api_resource_objects`.
    pub fn kind_counts(&self) -> Vec<(String, String, usize)> {
        self.shared.store.read().kind_counts()
    }

    /// Number of objects held.
    pub fn object_count(&self) -> usize {
        self.shared.store.read().len()
    }

    /// Sum of the serialized (compact JSON) sizes of the objects held.
    pub fn bytes_held(&self) -> usize {
        self.shared.store.read().bytes()
    }

    /// Whether a watch of this kind is running.
    pub fn is_watching(&self, group: &str, kind: &str) -> bool {
        self.shared
            .watches
            .lock()
            .iter()
            .any(|(id, w)| id.group == group && id.kind == kind && !w.task.is_finished())
    }

    /// Kinds not held completely: refused by the server, or still listing.
    pub fn problems(&self) -> Vec<KindProblem> {
        self.shared
            .states
            .lock()
            .iter()
            .filter_map(|(id, s)| {
                s.problem.as_ref().map(|p| KindProblem {
                    group: id.group.clone(),
                    kind: id.kind.clone(),
                    namespace: id.namespace.clone(),
                    problem: p.clone(),
                })
            })
            .collect()
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CacheEvent> {
        self.shared.events.subscribe()
    }

    /// Waits until `predicate` holds for the object (`None`: absent) and returns it.
    pub async fn wait_for(
        &self,
        key: &ResourceKey,
        predicate: impl Fn(Option<&LiveObject>) -> bool,
        timeout: Duration,
    ) -> Result<Option<Arc<LiveObject>>, WaitError> {
        let mut events = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let current = self.get(key);
            if predicate(current.as_deref()) {
                return Ok(current);
            }
            loop {
                match tokio::time::timeout_at(deadline, events.recv()).await {
                    Err(_) => {
                        return Err(WaitError::Timeout {
                            key: Box::new(key.clone()),
                            waited: timeout,
                        });
                    }
                    Ok(Ok(event)) if &event.key != key => continue,
                    Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => break,
                    Ok(Err(broadcast::error::RecvError::Closed)) => {
                        return Err(WaitError::Stopped {
                            key: Box::new(key.clone()),
                        });
                    }
                }
            }
        }
    }

    /// Ends every watch. The contents stay readable but no longer change.
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        if let Some(task) = self.discovery.lock().take() {
            task.abort();
        }
        for (_, watch) in self.shared.watches.lock().drain() {
            watch.task.abort();
        }
    }
}

impl Drop for LiveCache {
    fn drop(&mut self) {
        self.stop();
    }
}
