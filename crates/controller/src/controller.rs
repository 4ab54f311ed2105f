//! The application controller: watches Applications, AppProjects and cluster Secrets,
//! keeps a queue of applications to reconcile, and runs the workers that reconcile them.
//!
//! An application is queued when it changes, when its refresh annotation is set, every
//! `app_resync` (with jitter), when a Git push concerns its repository, and when a live
//! object it tracks changes (that is how self-heal notices drift). One application is
//! reconciled by one worker at a time; a request that arrives meanwhile queues it again.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferrocd_cluster::{CacheOptions, Cluster, ClusterRegistry, LiveCache};
use ferrocd_diff::IgnoreRule;
use ferrocd_health::HealthCustomizations;
use ferrocd_model::{AppProject, Application, ClusterSecret};
use ferrocd_render::application::RenderedApp;
use ferrocd_source::RepoCache;
use ferrocd_sync::CancelHandle;
use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::discovery::ApiResource;
use kube::runtime::watcher;
use parking_lot::Mutex;
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::metrics::Metrics;
use crate::rendering::MANIFEST_GENERATE_PATHS;
use crate::webhook::PushEvent;

/// How the controller behaves.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// The control-plane namespace (Argo CD's `argocd`): Applications, AppProjects and
    /// cluster/repository Secrets live here.
    pub namespace: String,
    /// Other namespaces whose Applications are reconciled too.
    pub app_namespaces: Vec<String>,
    /// Period of the full refresh of every application (`--app-resync`).
    pub app_resync: Duration,
    /// Where the Git mirrors and snapshots are kept.
    pub repo_cache_dir: PathBuf,
    /// Concurrent reconciliations.
    pub workers: usize,
    /// Longest time one sync operation may take.
    pub sync_timeout: Duration,
    /// How long a resolved revision (branch → commit) is reused before asking the
    /// remote again; a webhook push or a hard refresh forgets it at once.
    pub revision_ttl: Duration,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        Self {
            namespace: "argocd".to_string(),
            app_namespaces: Vec::new(),
            app_resync: Duration::from_secs(180),
            repo_cache_dir: std::env::temp_dir().join("ferrocd-repo-cache"),
            workers: 8,
            sync_timeout: Duration::from_secs(600),
            revision_ttl: Duration::from_secs(180),
        }
    }
}

/// Concurrent sync operations per reconcile worker: an operation mostly waits (for
/// applies and health), so it needs more slots than the CPU-bound reconciliations.
const OPERATIONS_PER_WORKER: usize = 8;

/// An application's identity: its namespace and name.
pub type AppRef = (String, String);

/// System-wide settings read from `argocd-cm`.
#[derive(Default)]
pub(crate) struct Settings {
    pub health: HealthCustomizations,
    pub ignore: Vec<IgnoreRule>,
}

/// State shared by the watchers, the workers and running operations.
pub(crate) struct Shared {
    pub config: ControllerConfig,
    pub control_plane: Cluster,
    pub registry: ClusterRegistry,
    pub repo_cache: Arc<RepoCache>,
    pub metrics: Arc<Metrics>,
    pub app_resource: ApiResource,
    pub project_resource: ApiResource,
    /// The Applications as last seen (shared copies: a reconciliation or a reader takes one
    /// without copying the whole object).
    pub apps: Mutex<BTreeMap<AppRef, Arc<Application>>>,
    pub projects: Mutex<BTreeMap<String, AppProject>>,
    pub settings: Mutex<Arc<Settings>>,
    caches: tokio::sync::Mutex<HashMap<String, Arc<LiveCache>>>,
    pub revisions: Mutex<HashMap<(String, String), (String, Instant)>>,
    pub renders: Mutex<HashMap<String, Arc<RenderedApp>>>,
    pub operations: Mutex<HashMap<AppRef, CancelHandle>>,
    /// Running sync operations at most (Argo CD's operation processors): thousands of
    /// automated syncs at once would only slow each other down.
    pub operation_slots: Arc<tokio::sync::Semaphore>,
    pub last_reconciled: Mutex<HashMap<AppRef, Instant>>,
    /// Set by [`Controller::shutdown`]: running operations stop and stay `Running` in the
    /// status, for the next controller to resume.
    pub stopping: AtomicBool,
    queue: WorkQueue,
}

/// The running controller. Dropping it does not stop it; call [`Controller::shutdown`].
#[derive(Clone)]
pub struct Controller {
    shared: Arc<Shared>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

/// Errors that stop the controller from starting.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The control-plane cluster does not serve the Application CRDs.
    #[error(
        "the control-plane cluster does not serve {0} (install the CRDs: `ferrocd crds | kubectl apply --server-side -f -`)"
    )]
    MissingCrd(&'static str),
    /// The control-plane cluster could not be reached.
    #[error(transparent)]
    Cluster(#[from] ferrocd_cluster::ClusterError),
}

impl Controller {
    /// Starts watching and reconciling. `control_plane` is the cluster the Applications
    /// live in and also the `https://kubernetes.default.svc` destination.
    pub async fn start(
        config: ControllerConfig,
        control_plane: Cluster,
        metrics: Arc<Metrics>,
    ) -> Result<Controller, ControllerError> {
        let app_resource = control_plane
            .kind_info("argoproj.io", "Application")
            .await
            .map_err(|_| ControllerError::MissingCrd("applications.argoproj.io"))?
            .resource;
        let project_resource = control_plane
            .kind_info("argoproj.io", "AppProject")
            .await
            .map_err(|_| ControllerError::MissingCrd("appprojects.argoproj.io"))?
            .resource;
        let credentials = ferrocd_source::CredentialStore::default();
        let repo_cache = Arc::new(RepoCache::new(config.repo_cache_dir.clone(), credentials));
        let queue = WorkQueue::default();
        let shared = Arc::new(Shared {
            registry: ClusterRegistry::new(control_plane.clone()),
            control_plane,
            repo_cache,
            metrics,
            app_resource,
            project_resource,
            apps: Mutex::new(BTreeMap::new()),
            projects: Mutex::new(BTreeMap::new()),
            settings: Mutex::new(Arc::new(Settings::default())),
            caches: tokio::sync::Mutex::new(HashMap::new()),
            revisions: Mutex::new(HashMap::new()),
            renders: Mutex::new(HashMap::new()),
            operations: Mutex::new(HashMap::new()),
            operation_slots: Arc::new(tokio::sync::Semaphore::new(
                config.workers.max(1) * OPERATIONS_PER_WORKER,
            )),
            last_reconciled: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            queue,
            config,
        });
        let controller = Controller {
            shared: shared.clone(),
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        // Settings and clusters first, so the first reconciliations see them.
        shared.load_settings().await;
        shared.load_repository_credentials().await;
        let mut tasks = Vec::new();
        for namespace in shared.watched_namespaces() {
            tasks.push(tokio::spawn(watch_applications(shared.clone(), namespace)));
        }
        tasks.push(tokio::spawn(watch_projects(shared.clone())));
        tasks.push(tokio::spawn(watch_secrets(shared.clone())));
        tasks.push(tokio::spawn(watch_settings(shared.clone())));
        tasks.push(tokio::spawn(resync_loop(shared.clone())));
        tasks.push(tokio::spawn(dispatch(shared.clone())));
        *controller.tasks.lock() = tasks;
        info!(namespace = %shared.config.namespace, "controller started");
        Ok(controller)
    }

    /// Queues an application for reconciliation (`hard`: bypass the render cache).
    pub fn refresh(&self, namespace: &str, name: &str, hard: bool) {
        if hard {
            self.shared.forget_revisions_of_app(namespace, name);
        }
        self.shared
            .queue
            .push((namespace.to_string(), name.to_string()));
    }

    /// Queues every application as a routine refresh, as the periodic resync does when
    /// all are due (requests with a reason still go first).
    pub fn resync_all(&self) {
        let apps: Vec<AppRef> = self.shared.apps.lock().keys().cloned().collect();
        for app in apps {
            self.shared.enqueue_routine(app);
        }
    }

    /// A Git push: forgets the resolved revisions of the pushed repository and queues at
    /// once every application with a source that follows the pushed branch or tag of that
    /// repository and whose paths the push touched (Argo CD's
    /// `argocd.argoproj.io/manifest-generate-paths` narrows them, when the event lists the
    /// changed files).
    pub fn on_push(&self, event: &PushEvent) {
        {
            let mut revisions = self.shared.revisions.lock();
            revisions.retain(|(url, _), _| !event.concerns_repo(url));
        }
        let apps: Vec<(AppRef, bool)> = self
            .shared
            .apps
            .lock()
            .iter()
            .filter(|(_, app)| push_concerns_app(event, app))
            .map(|(k, app)| (k.clone(), push_changed_own_files(event, app)))
            .collect();
        info!(revision = %event.revision, apps = apps.len(), "git push: refreshing applications");
        for (app, own_files) in apps {
            if own_files {
                self.shared.queue.push(app);
            } else {
                self.shared.queue.push_routine(app);
            }
        }
    }

    /// The applications the controller knows, by namespace and name.
    pub fn applications(&self) -> Vec<Arc<Application>> {
        self.shared.apps.lock().values().cloned().collect()
    }

    /// One application, when the controller knows it.
    pub fn application(&self, namespace: &str, name: &str) -> Option<Arc<Application>> {
        self.shared.app(&(namespace.to_string(), name.to_string()))
    }

    /// How many of the known applications satisfy `predicate` (without copying them).
    pub fn count_applications(&self, predicate: impl Fn(&Application) -> bool) -> (usize, usize) {
        let apps = self.shared.apps.lock();
        (apps.values().filter(|a| predicate(a)).count(), apps.len())
    }

    /// The shared state, for the crate's own tests.
    #[cfg(test)]
    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Number of reconciliations waiting in the queue.
    pub fn queue_len(&self) -> usize {
        self.shared.queue.len()
    }

    /// Stops every task and every running operation. An operation stops before its next
    /// step and records how far it got (hooks that already succeeded included) with phase
    /// `Running`, so that the next controller resumes it without running a hook twice;
    /// this waits up to [`SHUTDOWN_GRACE`] for that record to be written.
    pub async fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        for handle in self.tasks.lock().drain(..) {
            handle.abort();
        }
        for cancel in self.shared.operations.lock().values() {
            cancel.terminate();
        }
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while !self.shared.operations.lock().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for (_, cache) in self.shared.caches.lock().await.drain() {
            cache.stop();
        }
    }
}

/// How long [`Controller::shutdown`] waits for running operations to record where they
/// stopped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Whether a push may change what `app` renders: one of its Git sources is the pushed
/// repository, follows the pushed branch or tag, and has files under its paths changed.
fn push_concerns_app(event: &PushEvent, app: &Application) -> bool {
    let annotation = app
        .metadata
        .annotations
        .get(MANIFEST_GENERATE_PATHS)
        .map(String::as_str);
    app.spec.sources_list().iter().any(|s| {
        !s.is_helm_repo()
            && event.concerns_repo(&s.repo_url)
            && event.concerns_revision(s.target_revision_or_head())
            && event.touches_app(s.path.as_deref().unwrap_or(""), annotation)
    })
}

/// Whether the push is known to have changed files under one of the app's own source
/// paths (not just "somewhere in its repository"): such apps are refreshed first.
fn push_changed_own_files(event: &PushEvent, app: &Application) -> bool {
    !event.changed_files.is_empty()
        && app.spec.sources_list().iter().any(|s| {
            !s.is_helm_repo()
                && event.concerns_repo(&s.repo_url)
                && event.touches_any(&[s.path.clone().unwrap_or_default()])
        })
}

/// Refuses an Application outside the control-plane namespace whose project does not list
/// its namespace in `spec.sourceNamespaces` (as Argo CD does: apps in other namespaces are
/// opt-in per project).
pub(crate) fn permit_app_namespace(
    project: &AppProject,
    app: &Application,
    control_plane: &str,
) -> Result<(), String> {
    let namespace = app.metadata.namespace.as_deref().unwrap_or(control_plane);
    if project.permits_source_namespace(namespace, control_plane) {
        return Ok(());
    }
    Err(format!(
        "application '{}' in namespace '{namespace}' is not permitted to use project '{}' (add the namespace to the project's spec.sourceNamespaces)",
        app.name(),
        project.name()
    ))
}

impl Shared {
    fn watched_namespaces(&self) -> Vec<String> {
        let mut namespaces = vec![self.config.namespace.clone()];
        for ns in &self.config.app_namespaces {
            if !namespaces.contains(ns) {
                namespaces.push(ns.clone());
            }
        }
        namespaces
    }

    pub(crate) fn enqueue(&self, app: AppRef) {
        self.queue.push(app);
    }

    /// Queues `app` as a routine refresh, behind every request with a reason.
    pub(crate) fn enqueue_routine(&self, app: AppRef) {
        self.queue.push_routine(app);
    }

    pub(crate) fn app(&self, app: &AppRef) -> Option<Arc<Application>> {
        self.apps.lock().get(app).cloned()
    }

    fn forget_revisions_of_app(&self, namespace: &str, name: &str) {
        let Some(app) = self.app(&(namespace.to_string(), name.to_string())) else {
            return;
        };
        let urls: HashSet<String> = app
            .spec
            .sources_list()
            .iter()
            .map(|s| s.repo_url.clone())
            .collect();
        self.revisions
            .lock()
            .retain(|(url, _), _| !urls.contains(url));
    }

    /// The live cache of a destination cluster, started on first use.
    pub(crate) async fn cache_for(&self, cluster: &Cluster) -> Result<Arc<LiveCache>, String> {
        let mut caches = self.caches.lock().await;
        if let Some(cache) = caches.get(cluster.server()) {
            return Ok(cache.clone());
        }
        let cache = LiveCache::start(cluster.clone(), CacheOptions::default())
            .await
            .map_err(|e| format!("building the live cache of {}: {e}", cluster.server()))?;
        let cache = Arc::new(cache);
        let mut events = cache.subscribe();
        let apps = self.apps_by_instance();
        let queue = self.queue.clone();
        let namespace = self.config.namespace.clone();
        // Live changes of tracked objects queue their application (self-heal, health).
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        if let Some(app) = event.app {
                            let target = apps(&app).unwrap_or((namespace.clone(), app));
                            queue.push(target);
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        caches.insert(cluster.server().to_string(), cache.clone());
        Ok(cache)
    }

    /// Maps a tracking name (`name`, or `namespace_name` for apps outside the control
    /// plane namespace) to the application.
    fn apps_by_instance(&self) -> impl Fn(&str) -> Option<AppRef> + Send + 'static {
        let control = self.config.namespace.clone();
        move |instance: &str| match instance.split_once('_') {
            Some((ns, name)) if ns != control => Some((ns.to_string(), name.to_string())),
            _ => None,
        }
    }

    pub(crate) async fn caches(&self) -> Vec<Arc<LiveCache>> {
        self.caches.lock().await.values().cloned().collect()
    }

    async fn load_settings(&self) {
        let key = ferrocd_model::ResourceKey {
            group: String::new(),
            kind: "ConfigMap".to_string(),
            namespace: self.config.namespace.clone(),
            name: "argocd-cm".to_string(),
        };
        let cm = match self.control_plane.get(&key).await {
            Ok(Some(cm)) => cm,
            Ok(None) => return,
            Err(e) => {
                warn!(error = %e, "reading argocd-cm");
                return;
            }
        };
        self.apply_settings(&cm);
    }

    fn apply_settings(&self, cm: &Value) {
        let health = HealthCustomizations::from_config_map(cm).unwrap_or_else(|e| {
            warn!(error = %e, "argocd-cm health customizations ignored");
            HealthCustomizations::default()
        });
        let ignore = IgnoreRule::from_config_map(cm).unwrap_or_else(|e| {
            warn!(error = %e, "argocd-cm ignoreDifferences ignored");
            Vec::new()
        });
        *self.settings.lock() = Arc::new(Settings { health, ignore });
    }

    async fn load_repository_credentials(&self) {
        // Repository Secrets are read by the credential store of the repo cache on use;
        // nothing to preload beyond checking the namespace is reachable.
        debug!(namespace = %self.config.namespace, "repository credentials read on demand");
    }
}

/// A queue of applications with de-duplication (an application waiting is not queued
/// twice) and two classes: requests with a reason — the Application changed, a live
/// object of it changed, its operation finished, a push changed its files — go before
/// routine refreshes (the periodic resync, a push anywhere in its repository), so that at
/// thousands of applications the app someone is watching does not wait for all the others.
#[derive(Clone, Default)]
struct WorkQueue {
    state: Arc<Mutex<QueueState>>,
    ready: Arc<tokio::sync::Notify>,
}

#[derive(Default)]
struct QueueState {
    prompt: VecDeque<AppRef>,
    routine: VecDeque<AppRef>,
    /// Every waiting application, and whether it waits in `prompt`.
    pending: HashMap<AppRef, bool>,
}

impl WorkQueue {
    /// Queues `app` for a reason (moving it ahead if it waits as routine).
    fn push(&self, app: AppRef) {
        let mut state = self.state.lock();
        // An entry left behind in `routine` is skipped when popped (no scan of thousands
        // of routine entries per event).
        if state.pending.insert(app.clone(), true) == Some(true) {
            return;
        }
        state.prompt.push_back(app);
        drop(state);
        self.ready.notify_one();
    }

    /// Queues `app` as a routine refresh, unless it waits already.
    fn push_routine(&self, app: AppRef) {
        let mut state = self.state.lock();
        if state.pending.contains_key(&app) {
            return;
        }
        state.pending.insert(app.clone(), false);
        state.routine.push_back(app);
        drop(state);
        self.ready.notify_one();
    }

    /// The next application, waiting for one.
    async fn pop(&self) -> AppRef {
        loop {
            let ready = self.ready.notified();
            {
                let mut state = self.state.lock();
                if let Some(app) = state.prompt.pop_front() {
                    state.pending.remove(&app);
                    return app;
                }
                while let Some(app) = state.routine.pop_front() {
                    // Only an entry whose app still waits as routine counts.
                    if state.pending.get(&app) == Some(&false) {
                        state.pending.remove(&app);
                        return app;
                    }
                }
            }
            ready.await;
        }
    }

    fn len(&self) -> usize {
        self.state.lock().pending.len()
    }
}

/// Hands queued applications to at most `workers` concurrent reconciliations, never two
/// for the same application.
async fn dispatch(shared: Arc<Shared>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(shared.config.workers.max(1)));
    let running: Arc<Mutex<HashSet<AppRef>>> = Arc::new(Mutex::new(HashSet::new()));
    let again: Arc<Mutex<HashSet<AppRef>>> = Arc::new(Mutex::new(HashSet::new()));
    loop {
        let app = shared.queue.pop().await;
        if !running.lock().insert(app.clone()) {
            again.lock().insert(app);
            continue;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (shared, running, again) = (shared.clone(), running.clone(), again.clone());
        tokio::spawn(async move {
            crate::reconcile::reconcile(&shared, &app).await;
            drop(permit);
            running.lock().remove(&app);
            if again.lock().remove(&app) {
                shared.queue.push(app);
            }
        });
    }
}

/// Queues every application whose last reconciliation is older than `app_resync`, with a
/// jitter of up to 10% so that thousands of applications do not refresh in one burst.
async fn resync_loop(shared: Arc<Shared>) {
    let period = shared.config.app_resync;
    let tick = (period / 10).clamp(Duration::from_millis(200), Duration::from_secs(10));
    let mut interval = tokio::time::interval(tick);
    loop {
        interval.tick().await;
        let now = Instant::now();
        let apps: Vec<AppRef> = shared.apps.lock().keys().cloned().collect();
        let last = shared.last_reconciled.lock().clone();
        for app in apps {
            let due = match last.get(&app) {
                Some(at) => now.duration_since(*at) >= period + jitter(&app, period / 10),
                None => true,
            };
            if due {
                shared.enqueue_routine(app);
            }
        }
        // Metric: objects held per cluster cache.
        for cache in shared.caches().await {
            shared
                .metrics
                .set_cluster_objects(cache.cluster().server(), cache.object_count() as u64);
        }
    }
}

/// A stable per-application delay in `[0, max)`.
fn jitter(app: &AppRef, max: Duration) -> Duration {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    app.hash(&mut hasher);
    let millis = max.as_millis().max(1) as u64;
    Duration::from_millis(hasher.finish() % millis)
}

async fn watch_applications(shared: Arc<Shared>, namespace: String) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        shared.control_plane.client().clone(),
        &namespace,
        &shared.app_resource,
    );
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    let mut seen_in_relist: HashSet<AppRef> = HashSet::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(obj)) | Ok(watcher::Event::InitApply(obj)) => {
                if let Some(app) = app_from(&obj) {
                    let key = (
                        app.metadata.namespace.clone().unwrap_or_default(),
                        app.name().to_string(),
                    );
                    seen_in_relist.insert(key.clone());
                    on_app_changed(&shared, key, app);
                }
            }
            Ok(watcher::Event::Delete(obj)) => {
                if let Some(app) = app_from(&obj) {
                    let key = (
                        app.metadata.namespace.clone().unwrap_or_default(),
                        app.name().to_string(),
                    );
                    shared.apps.lock().remove(&key);
                    shared.metrics.remove_app(&key.0, &key.1);
                    if let Some(cancel) = shared.operations.lock().remove(&key) {
                        cancel.terminate();
                    }
                }
            }
            Ok(watcher::Event::Init) => seen_in_relist.clear(),
            Ok(watcher::Event::InitDone) => {
                // Applications deleted while the watch was down.
                let gone: Vec<AppRef> = shared
                    .apps
                    .lock()
                    .keys()
                    .filter(|k| k.0 == namespace && !seen_in_relist.contains(*k))
                    .cloned()
                    .collect();
                for key in gone {
                    shared.apps.lock().remove(&key);
                    shared.metrics.remove_app(&key.0, &key.1);
                }
            }
            Err(e) => {
                warn!(namespace = %namespace, error = %e, "application watch failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn app_from(obj: &DynamicObject) -> Option<Application> {
    let value = serde_json::to_value(obj).ok()?;
    match serde_json::from_value::<Application>(value) {
        Ok(app) => Some(app),
        Err(e) => {
            warn!(name = ?obj.metadata.name, error = %e, "unreadable Application ignored");
            None
        }
    }
}

/// Records the new version of an application and queues it when something that matters
/// changed: spec, operation, refresh annotation, deletion, or the first sight of it.
fn on_app_changed(shared: &Arc<Shared>, key: AppRef, mut app: Application) {
    {
        // A watch event written before an operation finished must not hide the outcome
        // the operation wrote through (same operation, still Running in the event). Start
        // times have a one-second resolution: the operation itself must match too, or the
        // next operation's progress would be hidden behind the previous outcome.
        let apps = shared.apps.lock();
        if let Some(known) = apps.get(&key).and_then(|a| a.status.as_ref())
            && let Some(known_op) = known.operation_state.as_ref()
            && known_op.finished_at.is_some()
            && let Some(status) = app.status.as_mut()
            && let Some(op) = status.operation_state.as_ref()
            && op.finished_at.is_none()
            && op.started_at == known_op.started_at
            && op.operation == known_op.operation
        {
            status.operation_state = Some(known_op.clone());
            status.history = known.history.clone();
        }
    }
    let app = Arc::new(app);
    let previous = shared.apps.lock().insert(key.clone(), app.clone());
    let interesting = match &previous {
        None => true,
        Some(old) => {
            old.spec != app.spec
                || old.operation != app.operation
                || old.metadata.annotations != app.metadata.annotations
                || is_deleting(old) != is_deleting(&app)
                || old.metadata.finalizers != app.metadata.finalizers
                || terminating(old) != terminating(&app)
        }
    };
    if terminating(&app)
        && let Some(cancel) = shared.operations.lock().get(&key)
    {
        cancel.terminate();
    }
    if interesting {
        shared.enqueue(key);
    }
}

/// Whether the Application is being deleted (`metadata.deletionTimestamp` set).
pub(crate) fn is_deleting(app: &Application) -> bool {
    app.metadata
        .extra
        .get("deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

fn terminating(app: &Application) -> bool {
    app.status
        .as_ref()
        .and_then(|s| s.operation_state.as_ref())
        .and_then(|o| o.phase)
        == Some(ferrocd_model::OperationPhase::Terminating)
}

async fn watch_projects(shared: Arc<Shared>) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        shared.control_plane.client().clone(),
        &shared.config.namespace,
        &shared.project_resource,
    );
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    while let Some(event) = stream.next().await {
        let (obj, deleted) = match event {
            Ok(watcher::Event::Apply(obj)) | Ok(watcher::Event::InitApply(obj)) => (obj, false),
            Ok(watcher::Event::Delete(obj)) => (obj, true),
            Ok(_) => continue,
            Err(e) => {
                warn!(error = %e, "project watch failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(value) = serde_json::to_value(&obj).ok() else {
            continue;
        };
        let project: AppProject = match serde_json::from_value(value) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "unreadable AppProject ignored");
                continue;
            }
        };
        let name = project.name().to_string();
        if deleted {
            shared.projects.lock().remove(&name);
        } else {
            shared.projects.lock().insert(name.clone(), project);
        }
        let apps: Vec<AppRef> = shared
            .apps
            .lock()
            .iter()
            .filter(|(_, a)| a.spec.project == name)
            .map(|(k, _)| k.clone())
            .collect();
        for app in apps {
            shared.enqueue(app);
        }
    }
}

async fn watch_secrets(shared: Arc<Shared>) {
    let api: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(
        shared.control_plane.client().clone(),
        &shared.config.namespace,
    );
    let config = watcher::Config::default().labels("argocd.argoproj.io/secret-type=cluster");
    let mut stream = watcher(api, config).boxed();
    while let Some(event) = stream.next().await {
        let (secret, deleted) = match event {
            Ok(watcher::Event::Apply(s)) | Ok(watcher::Event::InitApply(s)) => (s, false),
            Ok(watcher::Event::Delete(s)) => (s, true),
            Ok(_) => continue,
            Err(e) => {
                warn!(error = %e, "cluster secret watch failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Ok(value) = serde_json::to_value(&secret) else {
            continue;
        };
        let cluster = match ClusterSecret::from_secret(&value) {
            Ok(c) => c,
            Err(e) => {
                warn!(secret = ?secret.metadata.name, error = %e, "cluster secret ignored");
                continue;
            }
        };
        if deleted {
            shared.registry.remove(&cluster.server);
        } else if let Err(e) = shared.registry.add_secret(&cluster).await {
            warn!(cluster = %cluster.name, server = %cluster.server, error = %e,
                "cannot connect to cluster");
            continue;
        }
        info!(cluster = %cluster.name, server = %cluster.server, deleted, "cluster registered");
        let apps: Vec<AppRef> = shared.apps.lock().keys().cloned().collect();
        for app in apps {
            shared.enqueue_routine(app);
        }
    }
}

async fn watch_settings(shared: Arc<Shared>) {
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(
        shared.control_plane.client().clone(),
        &shared.config.namespace,
    );
    let config = watcher::Config::default().fields("metadata.name=argocd-cm");
    let mut stream = watcher(api, config).boxed();
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Apply(cm)) | Ok(watcher::Event::InitApply(cm)) => {
                if let Ok(value) = serde_json::to_value(&cm) {
                    shared.apply_settings(&value);
                }
            }
            Ok(_) => {}
            Err(e) => {
                debug!(error = %e, "argocd-cm watch failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::webhook::GitProvider;

    fn push(git_ref: &str, files: &[&str]) -> PushEvent {
        PushEvent {
            provider: GitProvider::GitHub,
            repo_urls: vec!["https://github.com/ml-platform/gitops".to_string()],
            revision: "9b2e4d1".to_string(),
            git_ref: git_ref.to_string(),
            default_branch: Some("main".to_string()),
            changed_files: files.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn app(target: &str, path: &str, annotations: Value) -> Application {
        serde_json::from_value(json!({
            "metadata": {"name": "mlflow", "namespace": "argocd", "annotations": annotations},
            "spec": {"project": "default",
                "source": {"repoURL": "https://github.com/ml-platform/gitops.git",
                    "targetRevision": target, "path": path},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "mlflow"}}
        }))
        .expect("application")
    }

    #[test]
    fn a_push_refreshes_apps_following_the_pushed_branch() {
        let files = ["apps/mlflow/overlays/dev/values.yaml"];
        let main = push("refs/heads/main", &files);
        assert!(push_concerns_app(
            &main,
            &app("main", "apps/mlflow/overlays/dev", json!({}))
        ));
        assert!(push_concerns_app(
            &main,
            &app("HEAD", "apps/mlflow/overlays/dev", json!({}))
        ));
        assert!(push_concerns_app(
            &main,
            &app("", "apps/mlflow/overlays/dev", json!({}))
        ));
        assert!(!push_concerns_app(
            &main,
            &app("release-2.4", "apps/mlflow/overlays/dev", json!({}))
        ));
        assert!(!push_concerns_app(
            &push("refs/heads/feature/gpu-quota", &files),
            &app("HEAD", "apps/mlflow/overlays/dev", json!({}))
        ));
        let mut other = main.clone();
        other.repo_urls = vec!["https://github.com/ml-platform/charts".to_string()];
        assert!(!push_concerns_app(
            &other,
            &app("main", "apps/mlflow", json!({}))
        ));
    }

    #[tokio::test]
    async fn requests_with_a_reason_go_before_routine_refreshes() {
        let queue = WorkQueue::default();
        let key = |name: &str| ("argocd".to_string(), name.to_string());
        for name in ["airflow", "mlflow", "fraud-detector", "mlflow"] {
            queue.push_routine(key(name));
        }
        assert_eq!(queue.len(), 3);
        queue.push(key("fraud-detector"));
        queue.push(key("feast"));
        queue.push_routine(key("feast"));
        queue.push(key("feast"));
        assert_eq!(queue.len(), 4);
        let mut order = Vec::new();
        for _ in 0..4 {
            order.push(queue.pop().await.1);
        }
        assert_eq!(order, ["fraud-detector", "feast", "airflow", "mlflow"]);
        assert_eq!(queue.len(), 0);
        // A pop that waits is woken by the next push.
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.pop().await }
        });
        tokio::task::yield_now().await;
        queue.push_routine(key("spark-history"));
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
        assert_eq!(got.1, "spark-history");
    }

    #[test]
    fn a_push_to_an_apps_own_folder_is_a_request_with_a_reason() {
        let app = app("main", "apps/mlflow/overlays/dev", json!({}));
        let own = push("refs/heads/main", &["apps/mlflow/overlays/dev/values.yaml"]);
        assert!(push_changed_own_files(&own, &app));
        let elsewhere = push("refs/heads/main", &["apps/airflow/values/prod.yaml"]);
        assert!(push_concerns_app(&elsewhere, &app));
        assert!(!push_changed_own_files(&elsewhere, &app));
        // Unknown changed files: refreshed, but not ahead of the others.
        assert!(!push_changed_own_files(&push("refs/heads/main", &[]), &app));
    }

    #[test]
    fn manifest_generate_paths_narrow_the_refresh() {
        let annotations = json!({MANIFEST_GENERATE_PATHS: ".;/apps/mlflow/base"});
        let app = app("main", "apps/mlflow/overlays/prod", annotations);
        assert!(push_concerns_app(
            &push("refs/heads/main", &["apps/mlflow/base/deployment.yaml"]),
            &app
        ));
        assert!(push_concerns_app(
            &push(
                "refs/heads/main",
                &["apps/mlflow/overlays/prod/kustomization.yaml"]
            ),
            &app
        ));
        assert!(!push_concerns_app(
            &push("refs/heads/main", &["apps/airflow/values/prod.yaml"]),
            &app
        ));
        // Unknown changed files: refresh.
        assert!(push_concerns_app(&push("refs/heads/main", &[]), &app));
    }

    #[test]
    fn apps_outside_the_control_plane_need_the_project_to_list_their_namespace() {
        let project: AppProject = serde_json::from_value(json!({
            "metadata": {"name": "ml-platform", "namespace": "argocd"},
            "spec": {"sourceNamespaces": ["team-*", "!team-secret"]}}))
        .expect("project");
        let mut app = app("main", "apps/mlflow", json!({}));
        assert!(permit_app_namespace(&project, &app, "argocd").is_ok());
        app.metadata.namespace = Some("team-ml".to_string());
        assert!(permit_app_namespace(&project, &app, "argocd").is_ok());
        app.metadata.namespace = Some("team-secret".to_string());
        let refused = permit_app_namespace(&project, &app, "argocd").expect_err("denied");
        assert!(refused.contains("namespace 'team-secret'"), "{refused}");
        assert!(refused.contains("project 'ml-platform'"), "{refused}");
        let default = AppProject::default_project("argocd");
        app.metadata.namespace = Some("team-ml".to_string());
        assert!(permit_app_namespace(&default, &app, "argocd").is_err());
    }
}
