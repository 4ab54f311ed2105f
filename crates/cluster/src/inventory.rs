//! The objects of one application, read straight from the API server (no cache): what
//! the direct-mode commands (`ferrocd diff|sync|status`) compare with. The controller uses
//! the watch-fed cache instead.

use std::collections::{BTreeMap, HashMap, HashSet};

use ferrocd_model::ResourceKey;
use ferrocd_model::annotations::tracking_app;
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use crate::client::Cluster;
use crate::error::ClusterError;

/// Kinds never listed for an inventory: high-churn records that no application tracks.
const SKIPPED_KINDS: &[(&str, &str)] = &[
    ("", "Event"),
    ("events.k8s.io", "Event"),
    ("coordination.k8s.io", "Lease"),
    ("", "Endpoints"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("", "ComponentStatus"),
    ("", "Binding"),
];

/// The live objects of an application.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Objects that carry the application's tracking, by identity.
    pub tracked: BTreeMap<ResourceKey, Value>,
    /// Objects owned (through `ownerReferences`, at any depth) by a tracked object — the
    /// ReplicaSets and Pods of a Deployment, the Jobs of a CronJob — by owner UID.
    pub children: HashMap<String, Vec<Value>>,
}

impl Inventory {
    /// The direct children of the object with this UID.
    pub fn children_of(&self, uid: &str) -> &[Value] {
        self.children
            .get(uid)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Every descendant of the object with this UID (children, their children, …).
    pub fn descendants_of(&self, uid: &str) -> Vec<&Value> {
        let mut out = Vec::new();
        let mut stack = vec![uid.to_string()];
        let mut seen = HashSet::new();
        while let Some(uid) = stack.pop() {
            if !seen.insert(uid.clone()) {
                continue;
            }
            for child in self.children_of(&uid) {
                out.push(child);
                if let Some(child_uid) = uid_of(child) {
                    stack.push(child_uid.to_string());
                }
            }
        }
        out
    }
}

fn uid_of(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/uid").and_then(Value::as_str)
}

fn owner_uids(obj: &Value) -> impl Iterator<Item = &str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str))
}

impl Cluster {
    /// Lists every kind the cluster serves and collects the objects tracked for `app`
    /// and their descendants. `namespaces` limits the namespaced kinds searched (empty:
    /// all namespaces).
    pub async fn app_inventory(
        &self,
        app: &str,
        namespaces: &[String],
    ) -> Result<Inventory, ClusterError> {
        let kinds = self.kinds();
        let listable: Vec<_> = kinds
            .kinds()
            .into_iter()
            .filter(|k| k.listable)
            .filter(|k| {
                !SKIPPED_KINDS
                    .iter()
                    .any(|(g, kind)| k.resource.group == *g && k.resource.kind == *kind)
            })
            .cloned()
            .collect();
        let mut requests = Vec::new();
        for info in &listable {
            if info.namespaced && !namespaces.is_empty() {
                for ns in namespaces {
                    requests.push((info.clone(), Some(ns.clone())));
                }
            } else {
                requests.push((info.clone(), None));
            }
        }
        let lists: Vec<Vec<Value>> = futures::stream::iter(requests)
            .map(|(info, ns)| async move {
                match self
                    .list(&info.resource.group, &info.resource.kind, ns.as_deref())
                    .await
                {
                    // Kinds the credentials may not list (403) or that vanished (404)
                    // cannot hold the application's objects for us.
                    Err(e) if e.code() == 403 || e.code() == 404 => Ok(Vec::new()),
                    other => other,
                }
            })
            .buffer_unordered(8)
            .try_collect()
            .await?;

        let mut inventory = Inventory::default();
        let mut by_owner: HashMap<String, Vec<Value>> = HashMap::new();
        for obj in lists.into_iter().flatten() {
            if tracking_app(&obj).as_deref() == Some(app) {
                inventory
                    .tracked
                    .insert(ResourceKey::from_object(&obj), obj);
                continue;
            }
            let owners: Vec<String> = owner_uids(&obj).map(str::to_string).collect();
            for owner in owners {
                by_owner.entry(owner).or_default().push(obj.clone());
            }
        }
        // Keep only the descendants of tracked objects.
        let mut stack: Vec<String> = inventory
            .tracked
            .values()
            .filter_map(|o| uid_of(o).map(str::to_string))
            .collect();
        let mut seen = HashSet::new();
        while let Some(uid) = stack.pop() {
            if !seen.insert(uid.clone()) {
                continue;
            }
            if let Some(children) = by_owner.remove(&uid) {
                stack.extend(
                    children
                        .iter()
                        .filter_map(|c| uid_of(c).map(str::to_string)),
                );
                inventory.children.insert(uid, children);
            }
        }
        Ok(inventory)
    }
}
