//! The cache's contents and indexes, free of I/O: objects by key, by application, by
//! owner UID, by UID and by kind. Every change returns the [`CacheEvent`]s it causes, for
//! the caller to publish once the lock is released.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use ferrocd_model::ResourceKey;

use super::object::LiveObject;
use super::{CacheEvent, CacheEventKind};
use crate::inventory::Inventory;

/// Depth limit when walking owner references up to a tracked ancestor (guards cycles).
const MAX_OWNER_DEPTH: usize = 16;

#[derive(Debug, Default)]
pub(crate) struct Store {
    objects: HashMap<ResourceKey, Arc<LiveObject>>,
    by_app: HashMap<String, BTreeSet<ResourceKey>>,
    by_owner: HashMap<String, BTreeSet<ResourceKey>>,
    by_uid: HashMap<String, ResourceKey>,
    by_kind: HashMap<(String, String), HashSet<ResourceKey>>,
    bytes: usize,
}

/// An application's live objects taken from the store: the tracked ones and, by owner
/// UID, their untracked descendants.
pub(crate) struct AppObjects {
    tracked: Vec<Arc<LiveObject>>,
    children: Vec<(String, Vec<Arc<LiveObject>>)>,
}

impl AppObjects {
    /// Parses the objects into an [`Inventory`] (kept `managedFields` included).
    pub(crate) fn into_inventory(self) -> Inventory {
        let mut inventory = Inventory::default();
        for obj in self.tracked {
            inventory
                .tracked
                .insert(obj.key().clone(), obj.to_value_with_managed_fields());
        }
        for (uid, owned) in self.children {
            inventory.children.insert(
                uid,
                owned
                    .iter()
                    .map(|c| c.to_value_with_managed_fields())
                    .collect(),
            );
        }
        inventory
    }
}

impl Store {
    pub(crate) fn get(&self, key: &ResourceKey) -> Option<Arc<LiveObject>> {
        self.objects.get(key).cloned()
    }

    pub(crate) fn len(&self) -> usize {
        self.objects.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Inserts or replaces an object. No event when the server's resourceVersion is the
    /// one already held (a relist re-delivering an unchanged object).
    pub(crate) fn upsert(&mut self, obj: LiveObject) -> Vec<CacheEvent> {
        let key = obj.key().clone();
        let previous = self.objects.get(&key).cloned();
        if let Some(prev) = &previous
            && prev.uid() == obj.uid()
            && !obj.resource_version().is_empty()
            && prev.resource_version() == obj.resource_version()
        {
            return Vec::new();
        }
        let old_app = previous.as_ref().and_then(|p| self.app_of(p));
        if let Some(prev) = &previous {
            self.unindex(prev);
        }
        let obj = Arc::new(obj);
        self.index(&obj);
        let new_app = self.app_of(&obj);
        let mut events = vec![CacheEvent {
            key: key.clone(),
            app: new_app.clone(),
            kind: CacheEventKind::Applied,
        }];
        if old_app.is_some() && old_app != new_app {
            events.push(CacheEvent {
                key,
                app: old_app,
                kind: CacheEventKind::Applied,
            });
        }
        // Watches of different kinds race: a Pod may be held before its ReplicaSet. When an
        // owner first arrives, its held descendants now belong to its app; say so once.
        if previous.is_none()
            && let Some(app) = &new_app
        {
            let mut frontier = vec![obj.uid().to_string()];
            for _ in 0..MAX_OWNER_DEPTH {
                let mut next = Vec::new();
                for uid in frontier {
                    for child in self.by_owner.get(&uid).into_iter().flatten() {
                        if let Some(held) = self.objects.get(child) {
                            next.push(held.uid().to_string());
                            events.push(CacheEvent {
                                key: child.clone(),
                                app: self.app_of(held).or_else(|| Some(app.clone())),
                                kind: CacheEventKind::Applied,
                            });
                        }
                    }
                }
                if next.is_empty() {
                    break;
                }
                frontier = next;
            }
        }
        events
    }

    /// Removes an object; no event when it was not held.
    pub(crate) fn remove(&mut self, key: &ResourceKey) -> Vec<CacheEvent> {
        let Some(prev) = self.objects.get(key).cloned() else {
            return Vec::new();
        };
        let app = self.app_of(&prev);
        self.unindex(&prev);
        vec![CacheEvent {
            key: key.clone(),
            app,
            kind: CacheEventKind::Deleted,
        }]
    }

    /// After a (re)list of `group/kind` (in `namespace`, or everywhere): removes every
    /// object of that scope the list did not contain — deletions missed while a watch
    /// was down.
    pub(crate) fn retain_listed(
        &mut self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        listed: &HashSet<ResourceKey>,
    ) -> Vec<CacheEvent> {
        let gone: Vec<ResourceKey> = self
            .by_kind
            .get(&(group.to_string(), kind.to_string()))
            .into_iter()
            .flatten()
            .filter(|k| namespace.is_none_or(|ns| k.namespace == ns))
            .filter(|k| !listed.contains(*k))
            .cloned()
            .collect();
        gone.iter().flat_map(|k| self.remove(k)).collect()
    }

    /// Removes every object of a kind.
    #[cfg(test)]
    pub(crate) fn remove_kind(&mut self, group: &str, kind: &str) -> Vec<CacheEvent> {
        self.retain_listed(group, kind, None, &HashSet::new())
    }

    fn index(&mut self, obj: &Arc<LiveObject>) {
        let key = obj.key().clone();
        if let Some(app) = obj.app() {
            self.by_app
                .entry(app.to_string())
                .or_default()
                .insert(key.clone());
        }
        for owner in obj.owner_uids() {
            self.by_owner
                .entry(owner.clone())
                .or_default()
                .insert(key.clone());
        }
        if !obj.uid().is_empty() {
            self.by_uid.insert(obj.uid().to_string(), key.clone());
        }
        self.by_kind
            .entry((key.group.clone(), key.kind.clone()))
            .or_default()
            .insert(key.clone());
        self.bytes += obj.bytes();
        self.objects.insert(key, obj.clone());
    }

    fn unindex(&mut self, obj: &Arc<LiveObject>) {
        let key = obj.key();
        if let Some(app) = obj.app() {
            remove_from(&mut self.by_app, app, key);
        }
        for owner in obj.owner_uids() {
            remove_from(&mut self.by_owner, owner, key);
        }
        if self.by_uid.get(obj.uid()) == Some(key) {
            self.by_uid.remove(obj.uid());
        }
        let kind = (key.group.clone(), key.kind.clone());
        if let Some(set) = self.by_kind.get_mut(&kind) {
            set.remove(key);
            if set.is_empty() {
                self.by_kind.remove(&kind);
            }
        }
        self.bytes = self.bytes.saturating_sub(obj.bytes());
        self.objects.remove(key);
    }

    /// The application of an object: its own tracking, else that of its nearest tracked
    /// ancestor through owner references (a Pod belongs to its Deployment's application).
    pub(crate) fn app_of(&self, obj: &LiveObject) -> Option<String> {
        if let Some(app) = obj.app() {
            return Some(app.to_string());
        }
        let mut frontier: Vec<String> = obj.owner_uids().to_vec();
        let mut seen = HashSet::new();
        for _ in 0..MAX_OWNER_DEPTH {
            let mut next = Vec::new();
            for uid in frontier {
                if !seen.insert(uid.clone()) {
                    continue;
                }
                let Some(owner) = self.by_uid.get(&uid).and_then(|k| self.objects.get(k)) else {
                    continue;
                };
                if let Some(app) = owner.app() {
                    return Some(app.to_string());
                }
                next.extend(owner.owner_uids().iter().cloned());
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        None
    }

    pub(crate) fn app_objects(&self, app: &str) -> Vec<Arc<LiveObject>> {
        self.by_app
            .get(app)
            .into_iter()
            .flatten()
            .filter_map(|k| self.objects.get(k).cloned())
            .collect()
    }

    pub(crate) fn children_of(&self, uid: &str) -> Vec<Arc<LiveObject>> {
        self.by_owner
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|k| self.objects.get(k).cloned())
            .collect()
    }

    /// Children, their children, … (each once, breadth first).
    pub(crate) fn descendants_of(&self, uid: &str) -> Vec<Arc<LiveObject>> {
        let mut out = Vec::new();
        let mut seen = HashSet::from([uid.to_string()]);
        let mut queue = std::collections::VecDeque::from([uid.to_string()]);
        while let Some(uid) = queue.pop_front() {
            for child in self.children_of(&uid) {
                if !child.uid().is_empty() && !seen.insert(child.uid().to_string()) {
                    continue;
                }
                queue.push_back(child.uid().to_string());
                out.push(child);
            }
        }
        out
    }

    /// The application's objects and their descendants (by owner UID), as shared
    /// handles: cheap to take under the lock; [`AppObjects::into_inventory`] parses them
    /// after it is released.
    pub(crate) fn app_tree(&self, app: &str) -> AppObjects {
        let tracked = self.app_objects(app);
        let mut queue: std::collections::VecDeque<String> = tracked
            .iter()
            .filter(|o| !o.uid().is_empty())
            .map(|o| o.uid().to_string())
            .collect();
        let mut children = Vec::new();
        let mut seen = HashSet::new();
        while let Some(uid) = queue.pop_front() {
            if !seen.insert(uid.clone()) {
                continue;
            }
            let owned: Vec<_> = self
                .children_of(&uid)
                .into_iter()
                // objects tracked themselves belong to `tracked` (of this or another app)
                .filter(|c| c.app().is_none())
                .collect();
            if owned.is_empty() {
                continue;
            }
            queue.extend(
                owned
                    .iter()
                    .filter(|c| !c.uid().is_empty())
                    .map(|c| c.uid().to_string()),
            );
            children.push((uid, owned));
        }
        AppObjects { tracked, children }
    }

    /// The application's objects and their descendants, shaped like
    /// [`Cluster::app_inventory`](crate::Cluster::app_inventory)'s answer.
    #[cfg(test)]
    pub(crate) fn inventory(&self, app: &str) -> Inventory {
        self.app_tree(app).into_inventory()
    }

    /// (group, kind, count) for every kind held, sorted by group then kind.
    pub(crate) fn kind_counts(&self) -> Vec<(String, String, usize)> {
        let sorted: BTreeMap<&(String, String), usize> =
            self.by_kind.iter().map(|(k, v)| (k, v.len())).collect();
        sorted
            .into_iter()
            .map(|((g, k), n)| (g.clone(), k.clone(), n))
            .collect()
    }

    pub(crate) fn objects_of_kind(&self, group: &str, kind: &str) -> Vec<Arc<LiveObject>> {
        self.by_kind
            .get(&(group.to_string(), kind.to_string()))
            .into_iter()
            .flatten()
            .filter_map(|k| self.objects.get(k).cloned())
            .collect()
    }
}

fn remove_from(index: &mut HashMap<String, BTreeSet<ResourceKey>>, at: &str, key: &ResourceKey) {
    if let Some(set) = index.get_mut(at) {
        set.remove(key);
        if set.is_empty() {
            index.remove(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn obj(api: &str, kind: &str, name: &str, uid: &str, rv: &str, owner: Option<&str>) -> Value {
        let mut o = json!({"apiVersion": api, "kind": kind,
            "metadata": {"name": name, "namespace": "ml-prod", "uid": uid, "resourceVersion": rv}});
        if let Some(owner) = owner {
            o["metadata"]["ownerReferences"] = json!([{"uid": owner, "kind": "X", "name": "x"}]);
        }
        o
    }

    fn tracked(mut o: Value, app: &str) -> Value {
        let key = ResourceKey::from_object(&o);
        o["metadata"]["annotations"] = json!({"argocd.argoproj.io/tracking-id":
            format!("{app}:{}/{}:{}/{}", key.group, key.kind, key.namespace, key.name)});
        o
    }

    fn live(o: Value) -> LiveObject {
        LiveObject::from_value(o, &[])
    }

    /// A Deployment tracked by `serving`, its ReplicaSet and two Pods.
    fn serving_tree(store: &mut Store) {
        store.upsert(live(tracked(
            obj("apps/v1", "Deployment", "triton", "d1", "1", None),
            "serving",
        )));
        store.upsert(live(obj(
            "apps/v1",
            "ReplicaSet",
            "triton-7c9",
            "rs1",
            "2",
            Some("d1"),
        )));
        store.upsert(live(obj(
            "v1",
            "Pod",
            "triton-7c9-a",
            "p1",
            "3",
            Some("rs1"),
        )));
        store.upsert(live(obj(
            "v1",
            "Pod",
            "triton-7c9-b",
            "p2",
            "4",
            Some("rs1"),
        )));
    }

    #[test]
    fn pods_belong_to_their_deployments_app() {
        let mut store = Store::default();
        serving_tree(&mut store);
        let events = store.upsert(live(obj(
            "v1",
            "Pod",
            "triton-7c9-a",
            "p1",
            "9",
            Some("rs1"),
        )));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].app.as_deref(), Some("serving"));
        assert_eq!(events[0].kind, CacheEventKind::Applied);
        let names: Vec<String> = store
            .descendants_of("d1")
            .iter()
            .map(|o| o.key().name.clone())
            .collect();
        assert_eq!(names, ["triton-7c9", "triton-7c9-a", "triton-7c9-b"]);
        assert_eq!(store.children_of("rs1").len(), 2);
    }

    #[test]
    fn pods_held_before_their_owners_are_attributed_when_the_owners_arrive() {
        let mut store = Store::default();
        let pod = store.upsert(live(obj(
            "v1",
            "Pod",
            "triton-7c9-a",
            "p1",
            "3",
            Some("rs1"),
        )));
        assert_eq!(pod[0].app, None);
        let rs = store.upsert(live(obj(
            "apps/v1",
            "ReplicaSet",
            "triton-7c9",
            "rs1",
            "2",
            Some("d1"),
        )));
        assert!(rs.iter().all(|e| e.app.is_none()), "{rs:?}");
        let deployment = store.upsert(live(tracked(
            obj("apps/v1", "Deployment", "triton", "d1", "1", None),
            "serving",
        )));
        let attributed: Vec<(String, Option<String>)> = deployment
            .iter()
            .map(|e| (e.key.name.clone(), e.app.clone()))
            .collect();
        assert_eq!(
            attributed,
            [
                ("triton".to_string(), Some("serving".to_string())),
                ("triton-7c9".to_string(), Some("serving".to_string())),
                ("triton-7c9-a".to_string(), Some("serving".to_string())),
            ]
        );
        // Only the first arrival re-attributes; an update of the owner is one event.
        let update = store.upsert(live(tracked(
            obj("apps/v1", "Deployment", "triton", "d1", "5", None),
            "serving",
        )));
        assert_eq!(update.len(), 1);
    }

    #[test]
    fn unchanged_resource_version_is_no_event() {
        let mut store = Store::default();
        serving_tree(&mut store);
        let again = store.upsert(live(obj(
            "v1",
            "Pod",
            "triton-7c9-a",
            "p1",
            "3",
            Some("rs1"),
        )));
        assert!(again.is_empty());
    }

    #[test]
    fn a_relist_removes_what_it_did_not_see() {
        let mut store = Store::default();
        serving_tree(&mut store);
        let listed = HashSet::from([ResourceKey::new("", "Pod", "ml-prod", "triton-7c9-a")]);
        let events = store.retain_listed("", "Pod", None, &listed);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].key.name, "triton-7c9-b");
        assert_eq!(events[0].kind, CacheEventKind::Deleted);
        assert_eq!(events[0].app.as_deref(), Some("serving"));
        assert_eq!(store.children_of("rs1").len(), 1);
        assert_eq!(store.len(), 3);
        // another namespace's relist leaves this one alone
        assert!(
            store
                .retain_listed("", "Pod", Some("ml-dev"), &HashSet::new())
                .is_empty()
        );
    }

    #[test]
    fn inventory_matches_the_direct_listing_shape() {
        let mut store = Store::default();
        serving_tree(&mut store);
        let inv = store.inventory("serving");
        assert_eq!(inv.tracked.len(), 1);
        assert_eq!(inv.children_of("d1").len(), 1);
        assert_eq!(inv.children_of("rs1").len(), 2);
        assert_eq!(inv.descendants_of("d1").len(), 3);
        assert!(store.inventory("airflow").tracked.is_empty());
    }

    #[test]
    fn moving_an_object_between_apps_tells_both() {
        let mut store = Store::default();
        store.upsert(live(tracked(
            obj("v1", "ConfigMap", "feast", "c1", "1", None),
            "features-dev",
        )));
        let events = store.upsert(live(tracked(
            obj("v1", "ConfigMap", "feast", "c1", "2", None),
            "features-prod",
        )));
        let apps: Vec<Option<&str>> = events.iter().map(|e| e.app.as_deref()).collect();
        assert_eq!(apps, [Some("features-prod"), Some("features-dev")]);
        assert!(store.app_objects("features-dev").is_empty());
        assert_eq!(store.app_objects("features-prod").len(), 1);
    }

    #[test]
    fn counts_and_bytes_follow_changes() {
        let mut store = Store::default();
        serving_tree(&mut store);
        assert_eq!(
            store.kind_counts(),
            [
                ("".to_string(), "Pod".to_string(), 2),
                ("apps".to_string(), "Deployment".to_string(), 1),
                ("apps".to_string(), "ReplicaSet".to_string(), 1),
            ]
        );
        let held = store.bytes();
        assert!(held > 0);
        store.remove_kind("", "Pod");
        assert!(store.bytes() < held);
        store.remove_kind("apps", "ReplicaSet");
        store.remove_kind("apps", "Deployment");
        assert_eq!(store.bytes(), 0);
        assert_eq!(store.len(), 0);
        assert!(store.kind_counts().is_empty());
        assert!(store.by_owner.is_empty() && store.by_uid.is_empty() && store.by_app.is_empty());
    }

    #[test]
    fn owner_cycles_end() {
        let mut store = Store::default();
        store.upsert(live(obj("v1", "ConfigMap", "a", "u1", "1", Some("u2"))));
        store.upsert(live(obj("v1", "ConfigMap", "b", "u2", "1", Some("u1"))));
        assert_eq!(store.descendants_of("u1").len(), 1);
        let a = store.get(&ResourceKey::new("", "ConfigMap", "ml-prod", "a"));
        assert_eq!(a.and_then(|a| store.app_of(&a)), None);
    }
}
