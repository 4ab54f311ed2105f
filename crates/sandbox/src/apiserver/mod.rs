//! The API semantics, independent of HTTP: get, list, create, update, patch, apply, delete,
//! with server-populated metadata, defaults, validation and managed fields. The HTTP layer and
//! the simulated controllers both go through it.

mod alloc;
mod delete;
mod hooks;
mod validation;

use std::sync::Arc;

use base64::Engine;
use parking_lot::Mutex;
use serde_json::{Value, json};

pub use alloc::Allocators;
pub use delete::{DeleteOptions, Propagation};

use crate::apply::{self, ApplyRequest};
use crate::defaults;
use crate::meta;
use crate::patch::{self, PatchError};
use crate::resources::{Registry, ResourceType};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::Store;

/// Who writes and how.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    /// Field manager (query `fieldManager`, or derived from the user agent).
    pub manager: String,
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// `force=true` for server-side apply.
    pub force: bool,
}

impl WriteContext {
    /// A context for the sandbox's own controllers.
    pub fn controller(manager: &str) -> WriteContext {
        WriteContext {
            manager: manager.to_string(),
            ..WriteContext::default()
        }
    }
}

/// The patch formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`.
    Json,
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

/// List parameters.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Label selector.
    pub label: LabelSelector,
    /// Field selector.
    pub field: FieldSelector,
    /// Page size.
    pub limit: Option<usize>,
    /// Continue token from a previous page.
    pub continue_token: Option<String>,
}

/// One page of a list: its `metadata` and the stored objects.
#[derive(Debug, Clone)]
pub struct ListPage {
    /// `resourceVersion`, `continue`, `remainingItemCount`.
    pub metadata: Value,
    /// The objects.
    pub items: Vec<Arc<Value>>,
}

impl ListPage {
    /// Serializes the list object without copying the items.
    pub fn to_json_bytes(&self, rt: &ResourceType) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.items.len() * 1024);
        let head = json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": self.metadata});
        let head = head.to_string();
        // `{"kind":..,"metadata":{..}` + `,"items":[ .. ]}`
        out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
        out.extend_from_slice(b",\"items\":[");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if serde_json::to_writer(&mut out, &**item).is_err() {
                out.extend_from_slice(b"null");
            }
        }
        out.extend_from_slice(b"]}");
        out
    }
}

/// The API server core.
#[derive(Debug)]
pub struct ApiServer {
    /// The object store.
    pub store: Arc<Store>,
    /// Served types.
    pub registry: Registry,
    /// Address allocators.
    pub alloc: Mutex<Allocators>,
    write: Mutex<()>,
}

fn parse_rv(s: &str) -> Option<u64> {
    s.parse().ok()
}

fn spec_part(o: &Value) -> Value {
    let mut c = o.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    c
}

impl ApiServer {
    /// A server over a store.
    pub fn new(store: Arc<Store>, registry: Registry) -> ApiServer {
        ApiServer {
            store,
            registry,
            alloc: Mutex::new(Allocators::default()),
            write: Mutex::new(()),
        }
    }

    /// One object.
    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Arc<Value>, ApiError> {
        self.store
            .get(&rt.id(), ns, name)
            .ok_or_else(|| ApiError::not_found(rt, name))
    }

    /// A list object (`<Kind>List`) honouring selectors and pagination.
    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        q: &ListQuery,
    ) -> Result<Value, ApiError> {
        let page = self.list_page(rt, ns, q)?;
        Ok(json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": page.metadata,
            "items": page.items.iter().map(|o| (**o).clone()).collect::<Vec<_>>(),
        }))
    }

    /// The objects of one page of a list, shared with the store (no copies).
    pub fn list_page(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        q: &ListQuery,
    ) -> Result<ListPage, ApiError> {
        let (rv, items) = self.store.list(&rt.id(), ns);
        let start: Option<(String, String)> = match &q.continue_token {
            Some(tok) if !tok.is_empty() => {
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(tok)
                    .map_err(|_| {
                        ApiError::bad_request("continue key is not valid: illegal base64 data")
                    })?;
                let v: Value = serde_json::from_slice(&raw)
                    .map_err(|_| ApiError::bad_request("continue key is not valid: bad JSON"))?;
                Some((
                    v["ns"].as_str().unwrap_or_default().to_string(),
                    v["name"].as_str().unwrap_or_default().to_string(),
                ))
            }
            _ => None,
        };
        let mut out = Vec::new();
        let mut more = false;
        let mut remaining = 0usize;
        let mut last_key = None;
        for item in items {
            if let Some(s) = &start
                && (meta::namespace(&item), meta::name(&item)) <= (s.0.as_str(), s.1.as_str())
            {
                continue;
            }
            if !q.label.matches_object(&item) || !q.field.matches(&item) {
                continue;
            }
            if let Some(limit) = q.limit.filter(|l| *l > 0)
                && out.len() >= limit
            {
                more = true;
                remaining += 1;
                continue;
            }
            last_key = Some((
                meta::namespace(&item).to_string(),
                meta::name(&item).to_string(),
            ));
            out.push(item);
        }
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if more && let Some((ns, name)) = last_key {
            let tok = json!({"ns": ns, "name": name, "rv": rv}).to_string();
            metadata["continue"] =
                json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tok));
            metadata["remainingItemCount"] = json!(remaining);
        }
        Ok(ListPage {
            metadata,
            items: out,
        })
    }

    fn check_namespace(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<(), ApiError> {
        if !rt.namespaced {
            return Ok(());
        }
        let nsrt = self
            .registry
            .get("", "v1", "namespaces")
            .ok_or_else(|| ApiError::internal("namespaces are not served"))?;
        match self.store.get(&nsrt.id(), "", ns) {
            None => Err(ApiError::namespace_not_found(ns)),
            Some(n) if meta::deleting(&n) => Err(ApiError::namespace_terminating(rt, name, ns)),
            Some(_) => Ok(()),
        }
    }

    fn check_type(&self, rt: &ResourceType, body: &mut Value) -> Result<(), ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        let api_version = body["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = body["kind"].as_str().unwrap_or_default().to_string();
        if (!api_version.is_empty() && api_version != rt.api_version())
            || (!kind.is_empty() && kind != rt.kind)
        {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({api_version}) does not match the expected API version ({}) or kind ({kind}) does not match {}",
                rt.api_version(),
                rt.kind
            )));
        }
        body["apiVersion"] = json!(rt.api_version());
        body["kind"] = json!(rt.kind);
        if !body["metadata"].is_object() {
            body["metadata"] = json!({});
        }
        Ok(())
    }

    /// Creates an object.
    pub fn create(
        &self,
        rt: &ResourceType,
        ns: &str,
        mut body: Value,
        ctx: &WriteContext,
    ) -> Result<Value, ApiError> {
        self.check_type(rt, &mut body)?;
        let body_ns = meta::namespace(&body).to_string();
        if rt.namespaced {
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            body["metadata"]["namespace"] = json!(ns);
        } else if let Some(m) = body["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        let _guard = self.write.lock();
        let mut name = meta::name(&body).to_string();
        if name.is_empty() {
            let prefix = body["metadata"]["generateName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    rt,
                    "",
                    &[(
                        "metadata.name".into(),
                        "FieldValueRequired",
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            }
            for _ in 0..8 {
                let candidate = format!("{prefix}{}", meta::random_suffix(5));
                if self.store.get(&rt.id(), ns, &candidate).is_none() {
                    name = candidate;
                    break;
                }
            }
            body["metadata"]["name"] = json!(name);
        }
        validation::name(rt, &name)?;
        self.check_namespace(rt, ns, &name)?;
        if self
            .store
            .get(&rt.id(), if rt.namespaced { ns } else { "" }, &name)
            .is_some()
        {
            return Err(ApiError::already_exists(rt, &name));
        }
        self.prepare_new(rt, &mut body);
        apply::record_update(
            None,
            &mut body,
            &ctx.manager,
            rt.status_subresource,
            false,
            &meta::now(),
        );
        self.finish(rt, None, body, ctx, false)
    }

    fn prepare_new(&self, rt: &ResourceType, body: &mut Value) {
        if let Some(m) = body["metadata"].as_object_mut() {
            for k in [
                "resourceVersion",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "managedFields",
                "selfLink",
            ] {
                m.remove(k);
            }
            m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
            m.insert("creationTimestamp".into(), json!(meta::now()));
            if rt.tracks_generation {
                m.insert("generation".into(), json!(1));
            } else {
                m.remove("generation");
            }
        }
        if rt.status_subresource
            && let Some(m) = body.as_object_mut()
        {
            m.remove("status");
        }
    }

    /// Replaces an object (or its status with `for_status`).
    pub fn update(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut body: Value,
        ctx: &WriteContext,
        for_status: bool,
    ) -> Result<Value, ApiError> {
        self.check_type(rt, &mut body)?;
        let body_name = meta::name(&body).to_string();
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let _guard = self.write.lock();
        let old = self.get(rt, ns, name)?;
        let want_rv = meta::resource_version(&body).to_string();
        if !want_rv.is_empty() && want_rv != meta::resource_version(&old) {
            return Err(ApiError::stale(rt, name));
        }
        let new = self.merge_server_fields(rt, &old, body, for_status);
        let mut new = new;
        apply::record_update(
            Some(&old),
            &mut new,
            &ctx.manager,
            rt.status_subresource,
            for_status,
            &meta::now(),
        );
        self.finish(rt, Some(&old), new, ctx, for_status)
    }

    /// Builds the stored form of a write: server fields from `old`, status or spec kept
    /// depending on the subresource.
    fn merge_server_fields(
        &self,
        rt: &ResourceType,
        old: &Value,
        mut body: Value,
        for_status: bool,
    ) -> Value {
        if for_status {
            let mut new = old.clone();
            new["status"] = body.get("status").cloned().unwrap_or(Value::Null);
            if new["status"].is_null()
                && let Some(m) = new.as_object_mut()
            {
                m.remove("status");
            }
            return new;
        }
        if rt.status_subresource {
            match old.get("status") {
                Some(s) => body["status"] = s.clone(),
                None => {
                    if let Some(m) = body.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        if !body["metadata"].is_object() {
            body["metadata"] = json!({});
        }
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
            "name",
            "managedFields",
        ] {
            match old["metadata"].get(k) {
                Some(v) => body["metadata"][k] = v.clone(),
                None => {
                    if let Some(m) = body["metadata"].as_object_mut() {
                        m.remove(k);
                    }
                }
            }
        }
        body
    }

    /// Defaults, hooks, validation, generation, then store (or not, for dry runs).
    fn finish(
        &self,
        rt: &ResourceType,
        old: Option<&Value>,
        mut new: Value,
        ctx: &WriteContext,
        for_status: bool,
    ) -> Result<Value, ApiError> {
        if !for_status {
            defaults::apply(&rt.kind, &mut new);
        }
        hooks::before_write(self, rt, old, &mut new, ctx.dry_run)?;
        validation::object(rt, &new)?;
        if let Some(old) = old {
            if rt.tracks_generation && !for_status && spec_part(old) != spec_part(&new) {
                let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
                new["metadata"]["generation"] = json!(g);
            }
            if meta::deleting(&new) && meta::finalizers(&new).is_empty() {
                if ctx.dry_run {
                    return Ok(new);
                }
                let gone = self
                    .store
                    .remove(&rt.id(), meta::namespace(&new), meta::name(&new))
                    .map(|v| (*v).clone())
                    .unwrap_or(new);
                hooks::after_delete(self, rt, &gone);
                return Ok(gone);
            }
            if *old == new {
                return Ok(new);
            }
        }
        if ctx.dry_run {
            return Ok(new);
        }
        let stored = self.store.put(&rt.id(), new);
        hooks::after_write(self, rt, &stored);
        Ok((*stored).clone())
    }

    /// Patches an object; server-side apply creates it when missing. Returns the object and
    /// whether it was created.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        ptype: PatchType,
        body: &Value,
        ctx: &WriteContext,
        for_status: bool,
    ) -> Result<(Value, bool), ApiError> {
        if ptype == PatchType::Apply {
            return self.apply(rt, ns, name, body.clone(), ctx, for_status);
        }
        if ptype == PatchType::Strategic && rt.custom {
            return Err(ApiError::unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            ));
        }
        let _guard = self.write.lock();
        let old = self.get(rt, ns, name)?;
        let mut doc = (*old).clone();
        let res = match ptype {
            PatchType::Json => patch::json_patch(&mut doc, body),
            PatchType::Merge => patch::merge_patch(&mut doc, body),
            _ => patch::strategic_merge_patch(&mut doc, body),
        };
        res.map_err(|e| match e {
            PatchError::Invalid(m) => ApiError::bad_request(m),
            PatchError::JsonPatch(m) => {
                ApiError::invalid(rt, name, &[(String::new(), "FieldValueInvalid", m)])
            }
        })?;
        let want_rv = meta::resource_version(&doc).to_string();
        if !want_rv.is_empty() && want_rv != meta::resource_version(&old) {
            return Err(ApiError::stale(rt, name));
        }
        let doc_name = meta::name(&doc).to_string();
        if doc_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({doc_name}) does not match the name on the URL ({name})"
            )));
        }
        let mut new = self.merge_server_fields(rt, &old, doc, for_status);
        apply::record_update(
            Some(&old),
            &mut new,
            &ctx.manager,
            rt.status_subresource,
            for_status,
            &meta::now(),
        );
        Ok((self.finish(rt, Some(&old), new, ctx, for_status)?, false))
    }

    fn apply(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut applied: Value,
        ctx: &WriteContext,
        for_status: bool,
    ) -> Result<(Value, bool), ApiError> {
        if applied["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
            || applied["kind"].as_str().unwrap_or_default().is_empty()
        {
            return Err(ApiError::bad_request(
                "invalid object type: apiVersion and kind must be set for server-side apply",
            ));
        }
        self.check_type(rt, &mut applied)?;
        let applied_name = meta::name(&applied).to_string();
        if applied_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({applied_name}) does not match the name on the URL ({name})"
            )));
        }
        if ctx.manager.is_empty() {
            return Err(ApiError::bad_request(
                "PATCH, application/apply-patch+yaml requires fieldManager to be set",
            ));
        }
        if rt.namespaced {
            let ans = meta::namespace(&applied).to_string();
            if !ans.is_empty() && ans != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            applied["metadata"]["namespace"] = json!(ns);
        }
        let req = ApplyRequest {
            manager: &ctx.manager,
            force: ctx.force,
            status_subresource: rt.status_subresource,
            for_status,
            now: &meta::now(),
        };
        let _guard = self.write.lock();
        let old = self
            .store
            .get(&rt.id(), if rt.namespaced { ns } else { "" }, name);
        match old {
            None => {
                if for_status {
                    return Err(ApiError::not_found(rt, name));
                }
                validation::name(rt, name)?;
                self.check_namespace(rt, ns, name)?;
                let mut merged = apply::apply(None, &applied, &req)
                    .map_err(|c| self.conflict_error(rt, name, &c))?;
                let managed = merged["metadata"]["managedFields"].clone();
                self.prepare_new(rt, &mut merged);
                merged["metadata"]["managedFields"] = managed;
                Ok((self.finish(rt, None, merged, ctx, false)?, true))
            }
            Some(old) => {
                let merged = apply::apply(Some(&old), &applied, &req)
                    .map_err(|c| self.conflict_error(rt, name, &c))?;
                let managed = merged["metadata"]["managedFields"].clone();
                let mut new = self.merge_server_fields(rt, &old, merged, for_status);
                new["metadata"]["managedFields"] = managed;
                if new["metadata"]["managedFields"].is_null()
                    && let Some(m) = new["metadata"].as_object_mut()
                {
                    m.remove("managedFields");
                }
                Ok((self.finish(rt, Some(&old), new, ctx, for_status)?, false))
            }
        }
    }

    fn conflict_error(
        &self,
        rt: &ResourceType,
        name: &str,
        conflicts: &[apply::Conflict],
    ) -> ApiError {
        let causes = conflicts
            .iter()
            .map(|c| {
                json!({"reason": "FieldManagerConflict",
                    "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version),
                    "field": c.field})
            })
            .collect();
        ApiError::apply_conflict(rt, name, apply::conflict_message(conflicts), causes)
    }

    /// The `autoscaling/v1` Scale of an object with a scale subresource.
    pub fn get_scale(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        let o = self.get(rt, ns, name)?;
        Ok(scale_of(&o))
    }

    /// Sets the replicas of an object through its scale subresource.
    pub fn set_scale(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        replicas: i64,
        ctx: &WriteContext,
    ) -> Result<Value, ApiError> {
        let _guard = self.write.lock();
        let old = self.get(rt, ns, name)?;
        let mut new = (*old).clone();
        new["spec"]["replicas"] = json!(replicas);
        apply::record_update(
            Some(&old),
            &mut new,
            &ctx.manager,
            rt.status_subresource,
            false,
            &meta::now(),
        );
        let stored = self.finish(rt, Some(&old), new, ctx, false)?;
        Ok(scale_of(&stored))
    }

    /// Runs `f` with the write lock held (used by controllers for read-modify-write).
    pub fn with_write_lock<T>(&self, f: impl FnOnce() -> T) -> T {
        let _guard = self.write.lock();
        f()
    }

    /// Parses a resourceVersion query value.
    pub fn parse_resource_version(s: &str) -> Option<u64> {
        parse_rv(s)
    }
}

fn scale_of(o: &Value) -> Value {
    let selector = o["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta::name(o),
            "namespace": meta::namespace(o),
            "uid": meta::uid(o),
            "resourceVersion": meta::resource_version(o),
            "creationTimestamp": o["metadata"]["creationTimestamp"],
        },
        "spec": {"replicas": o["spec"]["replicas"].as_i64().unwrap_or(0)},
        "status": {"replicas": o["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}
