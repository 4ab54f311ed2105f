//! The in-memory object store: objects by resource type, namespace and name, a global
//! monotonically increasing resourceVersion, and a bounded event log per resource type that
//! feeds watches (older positions answer 410 Gone).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub type ObjKey = (String, String);

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// The watch event type string.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change of the store.
#[derive(Debug)]
pub struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Resource type id (`group/plural`).
    pub resource: String,
    /// What happened.
    pub event: EventType,
    /// The object after the change (before it, for deletions).
    pub object: Arc<Value>,
    /// The object before a modification.
    pub previous: Option<Arc<Value>>,
}

#[derive(Default)]
struct Table {
    objects: BTreeMap<ObjKey, Arc<Value>>,
    log: VecDeque<Arc<Change>>,
    compacted: u64,
}

struct State {
    rv: u64,
    tables: HashMap<String, Table>,
}

/// Why a watch could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld {
    /// The requested resourceVersion.
    pub requested: u64,
    /// The oldest resourceVersion a watch can start from.
    pub oldest: u64,
}

/// A started watch: events after the starting point, then the live channel.
pub struct Subscription {
    /// Events already in the log after the requested resourceVersion.
    pub backlog: Vec<Arc<Change>>,
    /// Objects existing at subscription time (when no resourceVersion was given).
    pub snapshot: Vec<Arc<Value>>,
    /// resourceVersion at subscription time.
    pub rv: u64,
    /// Live changes (all resource types; filter by `resource`).
    pub live: broadcast::Receiver<Arc<Change>>,
}

/// The store.
pub struct Store {
    state: Mutex<State>,
    tx: broadcast::Sender<Arc<Change>>,
    cache_size: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("rv", &self.current_rv())
            .finish()
    }
}

fn key_of(obj: &Value) -> ObjKey {
    let m = &obj["metadata"];
    (
        m["namespace"].as_str().unwrap_or_default().to_string(),
        m["name"].as_str().unwrap_or_default().to_string(),
    )
}

impl Store {
    /// A store keeping `cache_size` events per resource type for watches.
    pub fn new(cache_size: usize) -> Store {
        let (tx, _) = broadcast::channel(16384);
        Store {
            state: Mutex::new(State {
                rv: 1,
                tables: HashMap::new(),
            }),
            tx,
            cache_size: cache_size.max(1),
        }
    }

    /// The newest resourceVersion.
    pub fn current_rv(&self) -> u64 {
        self.state.lock().rv
    }

    /// One object.
    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.state
            .lock()
            .tables
            .get(resource)?
            .objects
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Objects of a type, in one namespace (`Some`) or all, sorted by namespace and name,
    /// with the resourceVersion of the snapshot.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> (u64, Vec<Arc<Value>>) {
        let st = self.state.lock();
        let Some(t) = st.tables.get(resource) else {
            return (st.rv, Vec::new());
        };
        let items = match namespace {
            Some(ns) => t
                .objects
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => t.objects.values().cloned().collect(),
        };
        (st.rv, items)
    }

    /// Number of objects of a type.
    pub fn count(&self, resource: &str) -> usize {
        self.state
            .lock()
            .tables
            .get(resource)
            .map_or(0, |t| t.objects.len())
    }

    /// Every object of every type, for snapshots.
    pub fn dump(&self) -> (u64, Vec<(String, Arc<Value>)>) {
        let st = self.state.lock();
        let mut out = Vec::new();
        let mut names: Vec<&String> = st.tables.keys().collect();
        names.sort();
        for r in names {
            for v in st.tables[r].objects.values() {
                out.push((r.clone(), v.clone()));
            }
        }
        (st.rv, out)
    }

    /// Loads objects (keeping their resourceVersions) without emitting events.
    pub fn restore(&self, rv: u64, objects: Vec<(String, Value)>) {
        let mut st = self.state.lock();
        st.rv = st.rv.max(rv);
        for (r, obj) in objects {
            let key = key_of(&obj);
            let t = st.tables.entry(r).or_default();
            t.objects.insert(key, Arc::new(obj));
        }
        let rv = st.rv;
        for t in st.tables.values_mut() {
            t.compacted = t.compacted.max(rv);
        }
    }

    fn record(
        &self,
        st: &mut State,
        resource: &str,
        event: EventType,
        object: Arc<Value>,
        previous: Option<Arc<Value>>,
    ) {
        let change = Arc::new(Change {
            rv: st.rv,
            resource: resource.to_string(),
            event,
            object,
            previous,
        });
        let t = st.tables.entry(resource.to_string()).or_default();
        t.log.push_back(change.clone());
        while t.log.len() > self.cache_size {
            if let Some(old) = t.log.pop_front() {
                t.compacted = old.rv;
            }
        }
        let _ = self.tx.send(change);
    }

    /// Stores an object (create or replace), stamping a new resourceVersion.
    pub fn put(&self, resource: &str, mut obj: Value) -> Arc<Value> {
        let mut st = self.state.lock();
        st.rv += 1;
        let rv = st.rv;
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        obj["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let key = key_of(&obj);
        let obj = Arc::new(obj);
        let t = st.tables.entry(resource.to_string()).or_default();
        let previous = t.objects.insert(key, obj.clone());
        let ev = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(&mut st, resource, ev, obj.clone(), previous);
        obj
    }

    /// Removes an object; the deletion event carries a new resourceVersion.
    pub fn remove(&self, resource: &str, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let mut st = self.state.lock();
        let t = st.tables.get_mut(resource)?;
        let old = t
            .objects
            .remove(&(namespace.to_string(), name.to_string()))?;
        st.rv += 1;
        let mut gone = (*old).clone();
        gone["metadata"]["resourceVersion"] = Value::String(st.rv.to_string());
        let gone = Arc::new(gone);
        self.record(&mut st, resource, EventType::Deleted, gone.clone(), None);
        Some(gone)
    }

    /// Starts a watch on a resource type from `from` (exclusive), or from "now" with a
    /// snapshot of the objects when `from` is `None`.
    pub fn subscribe(&self, resource: &str, from: Option<u64>) -> Result<Subscription, TooOld> {
        let st = self.state.lock();
        let live = self.tx.subscribe();
        let t = st.tables.get(resource);
        match from {
            Some(r) => {
                let compacted = t.map_or(0, |t| t.compacted);
                if r < compacted {
                    return Err(TooOld {
                        requested: r,
                        oldest: compacted,
                    });
                }
                let backlog = t
                    .map(|t| t.log.iter().filter(|c| c.rv > r).cloned().collect())
                    .unwrap_or_default();
                Ok(Subscription {
                    backlog,
                    snapshot: Vec::new(),
                    rv: st.rv,
                    live,
                })
            }
            None => Ok(Subscription {
                backlog: Vec::new(),
                snapshot: t
                    .map(|t| t.objects.values().cloned().collect())
                    .unwrap_or_default(),
                rv: st.rv,
                live,
            }),
        }
    }

    /// A receiver of every future change.
    pub fn changes(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(ns: &str, name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": ns, "name": name}})
    }

    #[test]
    fn put_stamps_increasing_versions_and_lists_by_namespace() {
        let s = Store::new(10);
        let a = s.put("/configmaps", cm("ml", "a"));
        let b = s.put("/configmaps", cm("ml", "b"));
        s.put("/configmaps", cm("other", "c"));
        let rv_a: u64 = a["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let rv_b: u64 = b["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(rv_b > rv_a);
        assert_eq!(s.list("/configmaps", Some("ml")).1.len(), 2);
        assert_eq!(s.list("/configmaps", None).1.len(), 3);
        assert!(s.remove("/configmaps", "ml", "a").is_some());
        assert!(s.get("/configmaps", "ml", "a").is_none());
    }

    #[test]
    fn watch_from_compacted_version_is_too_old() {
        let s = Store::new(3);
        let first = s.current_rv();
        for i in 0..10 {
            s.put("/configmaps", cm("ml", &format!("c{i}")));
        }
        let err = s
            .subscribe("/configmaps", Some(first))
            .err()
            .expect("too old");
        assert!(err.oldest > first);
        let sub = s
            .subscribe("/configmaps", Some(err.oldest))
            .expect("recent enough");
        assert_eq!(sub.backlog.len(), 3);
    }
}
