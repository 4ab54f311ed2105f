//! Deletion: preconditions, finalizers and `deletionTimestamp`, propagation policies, and the
//! removal that follows when the last finalizer goes.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ApiServer, ListQuery, WriteContext};
use crate::meta;
use crate::resources::ResourceType;
use crate::status::{self, ApiError};

/// `propagationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents are deleted first; the owner waits with the `foregroundDeletion` finalizer.
    Foreground,
    /// The owner goes now; the garbage collector deletes dependents.
    Background,
    /// Dependents lose their owner reference and stay.
    Orphan,
}

impl Propagation {
    /// Parses the policy name.
    pub fn parse(s: &str) -> Option<Propagation> {
        match s {
            "Foreground" => Some(Propagation::Foreground),
            "Background" => Some(Propagation::Background),
            "Orphan" => Some(Propagation::Orphan),
            _ => None,
        }
    }
}

/// `DeleteOptions`.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// Propagation policy (default Background).
    pub propagation: Option<Propagation>,
    /// Precondition on the uid.
    pub uid: Option<String>,
    /// Precondition on the resourceVersion.
    pub resource_version: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// The result of a delete.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// The response body (the object, or a `Status`).
    pub body: Value,
    /// `true` when the object is gone, `false` when deletion waits for finalizers.
    pub finished: bool,
}

impl ApiServer {
    /// Deletes one object.
    pub fn delete(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        let _guard = self.write.lock();
        self.delete_locked(rt, ns, name, opts)
    }

    fn delete_locked(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, ApiError> {
        let old = self.get(rt, ns, name)?;
        if let Some(uid) = &opts.uid
            && uid != meta::uid(&old)
        {
            return Err(ApiError::conflict(
                rt,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta::uid(&old)
                ),
            ));
        }
        if let Some(rv) = &opts.resource_version
            && rv != meta::resource_version(&old)
        {
            return Err(ApiError::conflict(
                rt,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    meta::resource_version(&old)
                ),
            ));
        }
        let mut obj = (*old).clone();
        let mut finalizers = meta::finalizers(&obj);
        let policy = opts.propagation.unwrap_or(Propagation::Background);
        let has_dependents = !self.dependents(meta::uid(&obj)).is_empty();
        if has_dependents {
            match policy {
                Propagation::Foreground
                    if !finalizers.iter().any(|f| f == "foregroundDeletion") =>
                {
                    finalizers.push("foregroundDeletion".into())
                }
                Propagation::Orphan if !finalizers.iter().any(|f| f == "orphan") => {
                    finalizers.push("orphan".into())
                }
                _ => {}
            }
        }
        let is_namespace = rt.kind == "Namespace" && !rt.custom;
        if is_namespace || !finalizers.is_empty() {
            if meta::deleting(&obj) && meta::finalizers(&obj) == finalizers {
                return Ok(Deleted {
                    body: obj,
                    finished: false,
                });
            }
            if !meta::deleting(&obj) {
                obj["metadata"]["deletionTimestamp"] = json!(meta::now());
                obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                if rt.tracks_generation {
                    let g = obj["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
                    obj["metadata"]["generation"] = json!(g);
                }
            }
            if !finalizers.is_empty() {
                obj["metadata"]["finalizers"] = json!(finalizers);
            }
            if is_namespace {
                obj["status"]["phase"] = json!("Terminating");
            }
            if opts.dry_run {
                return Ok(Deleted {
                    body: obj,
                    finished: false,
                });
            }
            let stored = self.store.put(&rt.id(), obj);
            return Ok(Deleted {
                body: (*stored).clone(),
                finished: false,
            });
        }
        if opts.dry_run {
            return Ok(Deleted {
                body: self.deleted_body(rt, &obj),
                finished: true,
            });
        }
        let gone = self
            .store
            .remove(&rt.id(), ns, name)
            .map(|v| (*v).clone())
            .unwrap_or(obj);
        super::hooks::after_delete(self, rt, &gone);
        Ok(Deleted {
            body: self.deleted_body(rt, &gone),
            finished: true,
        })
    }

    fn deleted_body(&self, rt: &ResourceType, gone: &Value) -> Value {
        if rt.custom || rt.kind == "Pod" {
            gone.clone()
        } else {
            status::success(rt, meta::name(gone), meta::uid(gone))
        }
    }

    /// Deletes every object of a collection that matches the query; returns them as a list.
    pub fn delete_collection(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        q: &ListQuery,
        opts: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let mut list = self.list(rt, ns, q)?;
        let mut deleted = Vec::new();
        if let Some(items) = list["items"].as_array() {
            for item in items {
                match self.delete(rt, meta::namespace(item), meta::name(item), opts) {
                    Ok(d) => deleted.push(if d.finished { item.clone() } else { d.body }),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
        }
        list["items"] = Value::Array(deleted);
        if let Some(m) = list["metadata"].as_object_mut() {
            m.remove("continue");
            m.remove("remainingItemCount");
        }
        Ok(list)
    }

    /// Every stored object whose ownerReferences name `uid`, with its type id.
    pub fn dependents(&self, uid: &str) -> Vec<(String, Arc<Value>)> {
        if uid.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for rt in self.registry.all() {
            for o in self.store.list(&rt.id(), None).1 {
                let owned = o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid)));
                if owned {
                    out.push((rt.id(), o));
                }
            }
        }
        out.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| meta::name(&a.1).cmp(meta::name(&b.1)))
        });
        out.dedup_by(|a, b| a.0 == b.0 && meta::uid(&a.1) == meta::uid(&b.1));
        out
    }

    /// Removes one finalizer from an object (a controller finishing its part of a deletion).
    pub fn remove_finalizer(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        finalizer: &str,
        ctx: &WriteContext,
    ) -> Result<(), ApiError> {
        let _guard = self.write.lock();
        let old = self.get(rt, ns, name)?;
        let fins: Vec<String> = meta::finalizers(&old)
            .into_iter()
            .filter(|f| f != finalizer)
            .collect();
        let mut new = (*old).clone();
        if fins.is_empty() {
            if let Some(m) = new["metadata"].as_object_mut() {
                m.remove("finalizers");
            }
        } else {
            new["metadata"]["finalizers"] = json!(fins);
        }
        self.finish(rt, Some(&old), new, ctx, false).map(|_| ())
    }

    /// Removes an object from the store at once (the namespace controller finishing a
    /// namespace whose content is gone).
    pub fn purge(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<(), ApiError> {
        let _guard = self.write.lock();
        let gone = self
            .store
            .remove(&rt.id(), ns, name)
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        super::hooks::after_delete(self, rt, &gone);
        Ok(())
    }

    /// Removes the owner reference with `owner_uid` from an object.
    pub fn orphan(
        &self,
        rt: &ResourceType,
        obj: &Value,
        owner_uid: &str,
        ctx: &WriteContext,
    ) -> Result<(), ApiError> {
        let _guard = self.write.lock();
        let old = self.get(rt, meta::namespace(obj), meta::name(obj))?;
        let mut new = (*old).clone();
        if let Some(refs) = new["metadata"]["ownerReferences"].as_array_mut() {
            refs.retain(|r| r["uid"].as_str() != Some(owner_uid));
            if refs.is_empty()
                && let Some(m) = new["metadata"].as_object_mut()
            {
                m.remove("ownerReferences");
            }
        }
        self.finish(rt, Some(&old), new, ctx, false).map(|_| ())
    }
}
