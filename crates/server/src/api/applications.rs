//! `/applications`: list, get, create, update, delete, sync, rollback, terminate, resource
//! tree, managed resources and manifests. Applications are read and written as custom
//! resources; the controller acts on what is written (`operation` for sync and rollback).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use ferrocd_model::Application;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::query::Query;
use crate::api::tree;
use crate::api::{AppState, Caller};
use crate::error::ApiError;
use crate::rbac::app_object;

const FINALIZER_FOREGROUND: &str = "resources-finalizer.argocd.argoproj.io";
const FINALIZER_BACKGROUND: &str = "resources-finalizer.argocd.argoproj.io/background";
const IN_CLUSTER: &str = "https://kubernetes.default.svc";
const REFRESH_ANNOTATION: &str = "argocd.argoproj.io/refresh";

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn project_of(app: &Value) -> &str {
    match str_at(app, "/spec/project") {
        "" => "default",
        p => p,
    }
}

pub(crate) fn object_of(state: &AppState, app: &Value) -> String {
    app_object(
        project_of(app),
        str_at(app, "/metadata/namespace"),
        state.store().namespace(),
        str_at(app, "/metadata/name"),
    )
}

fn to_value(obj: &DynamicObject) -> Result<Value, ApiError> {
    serde_json::to_value(obj).map_err(|e| ApiError::internal("encoding an application", &e))
}

fn to_object(value: &Value) -> Result<DynamicObject, ApiError> {
    serde_json::from_value(value.clone())
        .map_err(|e| ApiError::bad_request(format!("application: {e}")))
}

pub(crate) fn check_namespace(state: &AppState, query: &Query) -> Result<(), ApiError> {
    match query.get("appNamespace") {
        None | Some("") => Ok(()),
        Some(ns) if ns == state.store().namespace() => Ok(()),
        Some(ns) => Err(ApiError::bad_request(format!(
            "applications in namespace {ns} are not served; this server serves namespace {}",
            state.store().namespace()
        ))),
    }
}

/// Reads an application and checks `action` on it. A missing application answers 404 only to
/// callers who could act on it in any project; others get 403, so names do not leak.
async fn load(
    state: &AppState,
    caller: &Caller,
    name: &str,
    action: &str,
) -> Result<Value, ApiError> {
    match state.store().apps().get_opt(name).await {
        Ok(Some(obj)) => {
            let app = to_value(&obj)?;
            caller.enforce("applications", action, &object_of(state, &app))?;
            Ok(app)
        }
        Ok(None) => {
            let wildcard = format!("*/{name}");
            caller.enforce("applications", action, &wildcard)?;
            Err(ApiError::not_found(format!(
                "applications.argoproj.io \"{name}\" not found"
            )))
        }
        Err(e) => Err(ApiError::kube("reading an application", e)),
    }
}

/// `GET /api/v1/applications?projects=&selector=&name=`: the applications the caller may get.
#[utoipa::path(
    get,
    path = "/api/v1/applications",
    tag = "applications",
    operation_id = "ApplicationService_List",
    params(
        ("projects" = Option<Vec<String>>, Query, description = "Only applications of these projects (repeatable; `project` is accepted too)"),
        ("selector" = Option<String>, Query, description = "Label selector"),
        ("name" = Option<String>, Query, description = "Only the application with this name"),
        ("appNamespace" = Option<String>, Query, description = "Namespace of the application (only the server's namespace is served)"),
    ),
    responses(
        (status = 200, description = "Applications the caller may get", body = crate::api::openapi::ApplicationList),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "No valid session or token", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    check_namespace(&state, &query)?;
    let mut params = ListParams::default();
    if let Some(selector) = query.get("selector").filter(|s| !s.is_empty()) {
        params = params.labels(selector);
    }
    let list = state
        .store()
        .apps()
        .list(&params)
        .await
        .map_err(|e| ApiError::kube("listing applications", e))?;
    let mut projects = query.all("projects");
    projects.extend(query.all("project"));
    let name = query.get("name").filter(|n| !n.is_empty());
    let mut items = Vec::with_capacity(list.items.len());
    for obj in &list.items {
        let app = to_value(obj)?;
        if name.is_some_and(|n| n != str_at(&app, "/metadata/name")) {
            continue;
        }
        if !projects.is_empty() && !projects.iter().any(|p| p == project_of(&app)) {
            continue;
        }
        if caller.can("applications", "get", &object_of(&state, &app)) {
            items.push(app);
        }
    }
    let resource_version = list.metadata.resource_version.unwrap_or_default();
    Ok(Json(
        json!({"metadata": {"resourceVersion": resource_version}, "items": items}),
    ))
}

/// `GET /api/v1/applications/{name}?refresh=normal|hard`: with `refresh`, also asks the
/// controller for a refresh.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{name}",
    tag = "applications",
    operation_id = "ApplicationService_GetOne",
    params(
        ("name" = String, Path, description = "Application name"),
        ("refresh" = Option<String>, Query, description = "normal or hard: ask the controller to refresh first"),
        ("appNamespace" = Option<String>, Query, description = "Namespace of the application (only the server's namespace is served)"),
    ),
    responses(
        (status = 200, description = "The application", body = crate::api::openapi::Application),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    check_namespace(&state, &query)?;
    let app = load(&state, &caller, &name, "get").await?;
    let refresh = match query.get("refresh") {
        None | Some("") => return Ok(Json(app)),
        Some(kind @ ("normal" | "hard")) => kind.to_string(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "refresh must be normal or hard, found {other:?}"
            )));
        }
    };
    // As Argo CD: the annotation asks the controller to compare again (hard: re-render too).
    let patch = json!({"metadata": {"annotations": {REFRESH_ANNOTATION: refresh}}});
    let patched = state
        .store()
        .apps()
        .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| ApiError::kube("requesting a refresh", e))?;
    Ok(Json(to_value(&patched)?))
}

/// Validates an Application from a request body and puts it in the server's namespace.
fn validated(state: &AppState, caller: &Caller, mut body: Value) -> Result<Value, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body must be an Application object",
        ));
    }
    if body.get("apiVersion").is_none() {
        body["apiVersion"] = json!("argoproj.io/v1alpha1");
    }
    if body.get("kind").is_none() {
        body["kind"] = json!("Application");
    }
    let ns = str_at(&body, "/metadata/namespace");
    if !ns.is_empty() && ns != state.store().namespace() {
        return Err(ApiError::bad_request(format!(
            "applications in namespace {ns} are not served; this server serves namespace {}",
            state.store().namespace()
        )));
    }
    body["metadata"]["namespace"] = json!(state.store().namespace());
    if let Some(map) = body.as_object_mut() {
        map.remove("operation");
    }
    if let Err(err) = Application::from_value(body.clone(), "request body") {
        return Err(ApiError::bad_request(err.to_string()));
    }
    let project = project_of(&body).to_string();
    if !caller.snapshot.projects.iter().any(|p| p.name() == project) {
        return Err(ApiError::bad_request(format!(
            "application references project {project} which does not exist"
        )));
    }
    Ok(body)
}

/// `POST /api/v1/applications?upsert=`: creates an application (body: the Application).
#[utoipa::path(
    post,
    path = "/api/v1/applications",
    tag = "applications",
    operation_id = "ApplicationService_Create",
    params(
        ("upsert" = Option<bool>, Query, description = "Replace an existing application with a different spec"),
    ),
    request_body = crate::api::openapi::Application,
    responses(
        (status = 200, description = "The created (or unchanged) application", body = crate::api::openapi::Application),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::Denied,
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    query: Query,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let upsert = query.flag("upsert", false)?;
    let mut app = validated(&state, &caller, body)?;
    let object = object_of(&state, &app);
    caller.enforce("applications", "create", &object)?;
    if let Some(map) = app.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = app.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        meta.remove("uid");
        meta.remove("creationTimestamp");
    }
    let apps = state.store().apps();
    match apps.create(&PostParams::default(), &to_object(&app)?).await {
        Ok(created) => {
            caller.audit("applications", "create", &object);
            Ok(Json(to_value(&created)?))
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let name = str_at(&app, "/metadata/name").to_string();
            let existing = apps
                .get(&name)
                .await
                .map_err(|e| ApiError::kube("reading an application", e))?;
            let existing = to_value(&existing)?;
            if existing.get("spec") == app.get("spec") {
                return Ok(Json(existing));
            }
            if !upsert {
                return Err(ApiError::bad_request(format!(
                    "existing application spec is different, use upsert flag to force update: {name}"
                )));
            }
            caller.enforce("applications", "update", &object_of(&state, &existing))?;
            let updated = replace_spec(&state, existing, &app).await?;
            caller.audit("applications", "update", &object);
            Ok(Json(updated))
        }
        Err(e) => Err(ApiError::kube("creating an application", e)),
    }
}

async fn replace_spec(
    state: &AppState,
    mut existing: Value,
    desired: &Value,
) -> Result<Value, ApiError> {
    existing["spec"] = desired.get("spec").cloned().unwrap_or(Value::Null);
    for field in ["labels", "annotations", "finalizers"] {
        if let Some(v) = desired.pointer(&format!("/metadata/{field}")) {
            existing["metadata"][field] = v.clone();
        }
    }
    let name = str_at(&existing, "/metadata/name").to_string();
    let replaced = state
        .store()
        .apps()
        .replace(&name, &PostParams::default(), &to_object(&existing)?)
        .await
        .map_err(|e| ApiError::kube("updating an application", e))?;
    to_value(&replaced)
}

/// `PUT /api/v1/applications/{name}`: replaces spec, labels, annotations and finalizers.
#[utoipa::path(
    put,
    path = "/api/v1/applications/{name}",
    tag = "applications",
    operation_id = "ApplicationService_Update",
    params(
        ("name" = String, Path, description = "Application name"),
    ),
    request_body = crate::api::openapi::Application,
    responses(
        (status = 200, description = "The updated application", body = crate::api::openapi::Application),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let existing = load(&state, &caller, &name, "update").await?;
    let app = validated(&state, &caller, body)?;
    let body_name = str_at(&app, "/metadata/name");
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the body names application {body_name:?}, the path {name:?}"
        )));
    }
    let new_object = object_of(&state, &app);
    if new_object != object_of(&state, &existing) {
        caller.enforce("applications", "update", &new_object)?;
    }
    let updated = replace_spec(&state, existing, &app).await?;
    caller.audit("applications", "update", &new_object);
    Ok(Json(updated))
}

/// `DELETE /api/v1/applications/{name}?cascade=&propagationPolicy=`: with cascade (the
/// default) the controller deletes the resources first (finalizer), without it they stay.
#[utoipa::path(
    delete,
    path = "/api/v1/applications/{name}",
    tag = "applications",
    operation_id = "ApplicationService_DeleteOne",
    params(
        ("name" = String, Path, description = "Application name"),
        ("cascade" = Option<bool>, Query, description = "Delete the application's resources too (default true)"),
        ("propagationPolicy" = Option<String>, Query, description = "foreground or background"),
        ("appNamespace" = Option<String>, Query, description = "Namespace of the application (only the server's namespace is served)"),
    ),
    responses(
        (status = 200, description = "Deleted", body = crate::api::openapi::Empty),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn delete_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let app = load(&state, &caller, &name, "delete").await?;
    let object = object_of(&state, &app);
    let cascade = query.flag("cascade", true)?;
    let policy = query.get("propagationPolicy").unwrap_or("foreground");
    let wanted = match (cascade, policy) {
        (false, _) => None,
        (true, "foreground" | "") => Some(FINALIZER_FOREGROUND),
        (true, "background") => Some(FINALIZER_BACKGROUND),
        (true, other) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy must be foreground or background, found {other:?}"
            )));
        }
    };
    let mut finalizers: Vec<String> = app
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .filter(|f| f != FINALIZER_FOREGROUND && f != FINALIZER_BACKGROUND)
        .collect();
    if let Some(f) = wanted {
        finalizers.push(f.to_string());
    }
    let apps = state.store().apps();
    apps.patch(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": finalizers}})),
    )
    .await
    .map_err(|e| ApiError::kube("updating application finalizers", e))?;
    apps.delete(&name, &DeleteParams::default())
        .await
        .map_err(|e| ApiError::kube("deleting an application", e))?;
    caller.audit("applications", "delete", &object);
    Ok(Json(json!({})))
}

/// `POST /applications/{name}/sync` body (`ApplicationSyncRequest`).
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SyncRequest {
    #[serde(default)]
    revision: Option<String>,
    #[serde(default)]
    revisions: Vec<String>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    prune: Option<bool>,
    #[serde(default)]
    strategy: Option<Value>,
    #[serde(default)]
    resources: Vec<Value>,
    #[serde(default)]
    sync_options: Option<SyncOptionsList>,
    #[serde(default)]
    retry_strategy: Option<Value>,
    #[serde(default)]
    infos: Vec<Value>,
    #[serde(default)]
    manifests: Vec<String>,
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub(crate) struct SyncOptionsList {
    #[serde(default)]
    items: Vec<String>,
}

fn operation_in_progress(app: &Value) -> bool {
    app.get("operation").is_some_and(|o| !o.is_null())
        || str_at(app, "/status/operationState/phase") == "Running"
        || str_at(app, "/status/operationState/phase") == "Terminating"
}

fn automated(app: &Value) -> bool {
    app.pointer("/spec/syncPolicy/automated")
        .is_some_and(|a| !a.is_null() && a.get("enabled").and_then(Value::as_bool) != Some(false))
}

async fn write_operation(
    state: &AppState,
    app: &Value,
    operation: Value,
) -> Result<Value, ApiError> {
    let name = str_at(app, "/metadata/name");
    let patch = json!({
        "metadata": {"resourceVersion": str_at(app, "/metadata/resourceVersion")},
        "operation": operation,
    });
    let patched = state
        .store()
        .apps()
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| ApiError::kube("requesting the operation", e))?;
    to_value(&patched)
}

/// `POST /api/v1/applications/{name}/sync`: writes `operation.sync` with `initiatedBy`.
#[utoipa::path(
    post,
    path = "/api/v1/applications/{name}/sync",
    tag = "applications",
    operation_id = "ApplicationService_Sync",
    params(
        ("name" = String, Path, description = "Application name"),
    ),
    request_body = crate::api::applications::SyncRequest,
    responses(
        (status = 200, description = "The application with its sync operation", body = crate::api::openapi::Application),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
        (status = 409, description = "Conflict", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<SyncRequest>,
) -> Result<Json<Value>, ApiError> {
    let app = load(&state, &caller, &name, "sync").await?;
    let object = object_of(&state, &app);
    if !request.manifests.is_empty() {
        caller.enforce("applications", "override", &object)?;
    }
    if operation_in_progress(&app) {
        return Err(ApiError::bad_request(
            "another operation is already in progress",
        ));
    }
    let target = app
        .pointer("/spec/source/targetRevision")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some(rev) = request.revision.as_deref().filter(|r| !r.is_empty())
        && automated(&app)
        && rev != target
        && !(target.is_empty() && rev == "HEAD")
    {
        return Err(ApiError::bad_request(format!(
            "cannot sync to {rev}: auto-sync currently set to {}",
            if target.is_empty() { "HEAD" } else { target }
        )));
    }
    let mut sync = serde_json::Map::new();
    let revision = request
        .revision
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| target.to_string());
    if !revision.is_empty() {
        sync.insert("revision".into(), json!(revision));
    }
    if !request.revisions.is_empty() {
        sync.insert("revisions".into(), json!(request.revisions));
    }
    if let Some(prune) = request.prune {
        sync.insert("prune".into(), json!(prune));
    }
    if let Some(dry_run) = request.dry_run {
        sync.insert("dryRun".into(), json!(dry_run));
    }
    if let Some(strategy) = request.strategy.filter(|s| !s.is_null()) {
        sync.insert("syncStrategy".into(), strategy);
    }
    if !request.resources.is_empty() {
        sync.insert("resources".into(), json!(request.resources));
    }
    if let Some(options) = request.sync_options.filter(|o| !o.items.is_empty()) {
        sync.insert("syncOptions".into(), json!(options.items));
    }
    if !request.manifests.is_empty() {
        sync.insert("manifests".into(), json!(request.manifests));
    }
    let mut operation = json!({
        "sync": sync,
        "initiatedBy": {"username": caller.identity.username},
    });
    if !request.infos.is_empty() {
        operation["info"] = json!(request.infos);
    }
    if let Some(retry) = request.retry_strategy.filter(|r| !r.is_null()) {
        operation["retry"] = retry;
    }
    let updated = write_operation(&state, &app, operation).await?;
    caller.audit("applications", "sync", &object);
    Ok(Json(updated))
}

/// `PUT /applications/{name}/rollback` body.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RollbackRequest {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    prune: Option<bool>,
}

/// `PUT /api/v1/applications/{name}/rollback`: syncs to the source and revision of history
/// entry `id`.
#[utoipa::path(
    put,
    path = "/api/v1/applications/{name}/rollback",
    tag = "applications",
    operation_id = "ApplicationService_Rollback",
    params(
        ("name" = String, Path, description = "Application name"),
    ),
    request_body = crate::api::applications::RollbackRequest,
    responses(
        (status = 200, description = "The application with its rollback operation", body = crate::api::openapi::Application),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn rollback(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<RollbackRequest>,
) -> Result<Json<Value>, ApiError> {
    let app = load(&state, &caller, &name, "sync").await?;
    let object = object_of(&state, &app);
    // Argo CD's gateway sends int64 as strings; accept both.
    let id = match &request.id {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse::<i64>().ok(),
        _ => None,
    }
    .ok_or_else(|| ApiError::bad_request("id must be the number of a history entry"))?;
    if automated(&app) {
        return Err(ApiError::bad_request(
            "rollback cannot be initiated when auto-sync is enabled",
        ));
    }
    if operation_in_progress(&app) {
        return Err(ApiError::bad_request(
            "another operation is already in progress",
        ));
    }
    let entry = app
        .pointer("/status/history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|h| h.get("id").and_then(Value::as_i64) == Some(id))
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "application {name} does not have deployment with id {id}"
            ))
        })?;
    let mut sync = serde_json::Map::new();
    for field in ["revision", "revisions", "source", "sources"] {
        if let Some(v) = entry.get(field).filter(|v| !v.is_null()) {
            sync.insert(field.into(), v.clone());
        }
    }
    if let Some(dry_run) = request.dry_run {
        sync.insert("dryRun".into(), json!(dry_run));
    }
    if let Some(prune) = request.prune {
        sync.insert("prune".into(), json!(prune));
    }
    let operation = json!({
        "sync": sync,
        "initiatedBy": {"username": caller.identity.username},
        "info": [{"name": "Reason", "value": format!("Rollback to deployment {id}")}],
    });
    let updated = write_operation(&state, &app, operation).await?;
    caller.audit("applications", "rollback", &format!("{object}@{id}"));
    Ok(Json(updated))
}

/// `DELETE /api/v1/applications/{name}/operation`: asks the controller to stop the running
/// operation (`status.operationState.phase: Terminating`).
#[utoipa::path(
    delete,
    path = "/api/v1/applications/{name}/operation",
    tag = "applications",
    operation_id = "ApplicationService_Terminate",
    params(
        ("name" = String, Path, description = "Application name"),
    ),
    responses(
        (status = 200, description = "The running operation is being terminated", body = crate::api::openapi::Empty),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn terminate(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = load(&state, &caller, &name, "sync").await?;
    let object = object_of(&state, &app);
    if str_at(&app, "/status/operationState/phase") != "Running" {
        return Err(ApiError::bad_request(
            "unable to terminate operation: no operation is in progress",
        ));
    }
    let patch = json!({
        "metadata": {"resourceVersion": str_at(&app, "/metadata/resourceVersion")},
        "status": {"operationState": {"phase": "Terminating"}},
    });
    state
        .store()
        .apps()
        .patch(&name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map_err(|e| ApiError::kube("terminating the operation", e))?;
    caller.audit("applications", "terminate", &object);
    Ok(Json(json!({})))
}

fn is_in_cluster(app: &Value) -> bool {
    let server = str_at(app, "/spec/destination/server");
    let name = str_at(app, "/spec/destination/name");
    server == IN_CLUSTER || (server.is_empty() && (name == "in-cluster" || name.is_empty()))
}

/// The live objects of `status.resources` (in-cluster destinations only), by discovery.
async fn live_managed(state: &AppState, app: &Value) -> Result<Vec<Value>, ApiError> {
    if !is_in_cluster(app) {
        return Ok(Vec::new());
    }
    let client = state.store().client().clone();
    let managed: Vec<Value> = app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut resources: BTreeMap<(String, String, String), Option<(ApiResource, bool)>> =
        BTreeMap::new();
    let mut out = Vec::new();
    for entry in &managed {
        let (group, version, kind) = (
            str_at(entry, "/group").to_string(),
            str_at(entry, "/version").to_string(),
            str_at(entry, "/kind").to_string(),
        );
        let key = (group.clone(), version.clone(), kind.clone());
        if !resources.contains_key(&key) {
            let gvk = GroupVersionKind::gvk(&group, &version, &kind);
            let found = kube::discovery::pinned_kind(&client, &gvk)
                .await
                .ok()
                .map(|(ar, caps)| (ar, caps.scope == kube::discovery::Scope::Namespaced));
            resources.insert(key.clone(), found);
        }
        let Some(Some((ar, namespaced))) = resources.get(&key) else {
            continue;
        };
        let api: Api<DynamicObject> = if *namespaced {
            Api::namespaced_with(client.clone(), str_at(entry, "/namespace"), ar)
        } else {
            Api::all_with(client.clone(), ar)
        };
        match api.get_opt(str_at(entry, "/name")).await {
            Ok(Some(obj)) => {
                let mut v =
                    serde_json::to_value(&obj).map_err(|e| ApiError::internal("encoding", &e))?;
                if v.get("apiVersion").is_none() {
                    v["apiVersion"] = json!(ar.api_version);
                    v["kind"] = json!(ar.kind);
                }
                out.push(v);
            }
            Ok(None) => {}
            Err(e) => return Err(ApiError::kube("reading a live resource", e)),
        }
    }
    Ok(out)
}

/// `GET /api/v1/applications/{name}/resource-tree`.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{name}/resource-tree",
    tag = "applications",
    operation_id = "ApplicationService_ResourceTree",
    params(
        ("name" = String, Path, description = "Application name"),
    ),
    responses(
        (status = 200, description = "Managed resources and their children", body = crate::api::openapi::ResourceTree),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn resource_tree(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = load(&state, &caller, &name, "get").await?;
    Ok(Json(tree_of(&state, &app).await?))
}

/// `GET /api/v1/applications/{name}/events`: the Kubernetes Events about the Application
/// itself and about every object of its resource tree (resources, ReplicaSets, Pods, Jobs),
/// newest last, as a core/v1 EventList.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{name}/events",
    tag = "applications",
    operation_id = "ApplicationService_ListResourceEvents",
    params(
        ("name" = String, Path, description = "Application name"),
    ),
    responses(
        (status = 200, description = "Events about the application and its resources (a core/v1 EventList)", body = Object),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = load(&state, &caller, &name, "get").await?;
    let app_uid = str_at(&app, "/metadata/uid").to_string();
    let mut uids: BTreeSet<String> = BTreeSet::new();
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    namespaces.insert(state.store().namespace().to_string());
    // Events of objects in other clusters live there; only the in-cluster tree is read here.
    if is_in_cluster(&app) {
        let tree = tree_of(&state, &app).await?;
        for node in tree
            .pointer("/nodes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let uid = str_at(node, "/uid");
            if !uid.is_empty() {
                uids.insert(uid.to_string());
            }
            let ns = str_at(node, "/namespace");
            if !ns.is_empty() {
                namespaces.insert(ns.to_string());
            }
        }
    }
    let about_app = |e: &Value| {
        str_at(e, "/involvedObject/kind") == "Application"
            && str_at(e, "/involvedObject/name") == name
            && (app_uid.is_empty()
                || str_at(e, "/involvedObject/uid").is_empty()
                || str_at(e, "/involvedObject/uid") == app_uid)
    };
    let event_resource = ApiResource::erase::<k8s_openapi::api::core::v1::Event>(&());
    let mut items = Vec::new();
    for ns in &namespaces {
        let api: Api<DynamicObject> =
            Api::namespaced_with(state.store().client().clone(), ns, &event_resource);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| ApiError::kube("listing events", e))?;
        for obj in list.items {
            let mut event =
                serde_json::to_value(&obj).map_err(|e| ApiError::internal("encoding", &e))?;
            let uid = str_at(&event, "/involvedObject/uid");
            let ours = (!uid.is_empty() && uids.contains(uid))
                || (ns == state.store().namespace() && about_app(&event));
            if ours {
                if event.get("apiVersion").is_none() {
                    event["apiVersion"] = json!("v1");
                    event["kind"] = json!("Event");
                }
                items.push(event);
            }
        }
    }
    let when = |e: &Value| {
        [
            "/lastTimestamp",
            "/eventTime",
            "/firstTimestamp",
            "/metadata/creationTimestamp",
        ]
        .iter()
        .map(|p| str_at(e, p))
        .find(|t| !t.is_empty())
        .unwrap_or_default()
        .to_string()
    };
    items.sort_by_key(when);
    Ok(Json(json!({
        "apiVersion": "v1",
        "kind": "EventList",
        "metadata": {},
        "items": items,
    })))
}

/// The resource tree of an Application: its managed resources and, in the cluster the server
/// runs in, their ReplicaSets, Pods and Jobs.
async fn tree_of(state: &AppState, app: &Value) -> Result<Value, ApiError> {
    let managed: Vec<Value> = app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut live = live_managed(state, app).await?;
    if is_in_cluster(app) {
        let namespaces: BTreeSet<String> = live
            .iter()
            .map(|o| str_at(o, "/metadata/namespace").to_string())
            .filter(|n| !n.is_empty())
            .collect();
        let children = [
            ApiResource::erase::<k8s_openapi::api::apps::v1::ReplicaSet>(&()),
            ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
            ApiResource::erase::<k8s_openapi::api::batch::v1::Job>(&()),
        ];
        for ns in &namespaces {
            for ar in &children {
                let api: Api<DynamicObject> =
                    Api::namespaced_with(state.store().client().clone(), ns, ar);
                let list = api
                    .list(&ListParams::default())
                    .await
                    .map_err(|e| ApiError::kube("listing child resources", e))?;
                for obj in list.items {
                    let mut v = serde_json::to_value(&obj)
                        .map_err(|e| ApiError::internal("encoding", &e))?;
                    if v.get("apiVersion").is_none() {
                        v["apiVersion"] = json!(ar.api_version);
                        v["kind"] = json!(ar.kind);
                    }
                    let key = |o: &Value| {
                        (
                            str_at(o, "/kind").to_string(),
                            str_at(o, "/metadata/uid").to_string(),
                        )
                    };
                    if !live.iter().any(|l| key(l) == key(&v)) {
                        live.push(v);
                    }
                }
            }
        }
    }
    Ok(tree::build(&managed, &live))
}

fn same_resource(entry: &Value, obj: &Value) -> bool {
    let (group, _) = tree::split_api_version(str_at(obj, "/apiVersion"));
    group == str_at(entry, "/group")
        && str_at(obj, "/kind") == str_at(entry, "/kind")
        && str_at(obj, "/metadata/name") == str_at(entry, "/name")
        && (str_at(entry, "/namespace").is_empty()
            || str_at(obj, "/metadata/namespace").is_empty()
            || str_at(obj, "/metadata/namespace") == str_at(entry, "/namespace"))
}

/// `GET /api/v1/applications/{name}/managed-resources`: live (and, with a renderer, target)
/// state of each managed resource, as JSON strings; Secret values masked.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{name}/managed-resources",
    tag = "applications",
    operation_id = "ApplicationService_ManagedResources",
    params(
        ("name" = String, Path, description = "Application name"),
    ),
    responses(
        (status = 200, description = "Live and target state of each managed resource (Secrets masked)", body = crate::api::openapi::ManagedResources),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn managed_resources(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let app = load(&state, &caller, &name, "get").await?;
    let managed: Vec<Value> = app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let live = live_managed(&state, &app).await?;
    let desired = match &state.options().renderer {
        Some(renderer) => renderer.manifests(&app, None).await.unwrap_or_else(|e| {
            tracing::warn!(app = %name, error = %e, "rendering for managed resources failed");
            Vec::new()
        }),
        None => Vec::new(),
    };
    let encode = |v: Option<&Value>| match v {
        Some(v) => tree::mask_secret(v).to_string(),
        None => "null".to_string(),
    };
    let items: Vec<Value> = managed
        .iter()
        .map(|entry| {
            let live_obj = live.iter().find(|o| same_resource(entry, o));
            let target = desired.iter().find(|o| same_resource(entry, o));
            json!({
                "group": str_at(entry, "/group"),
                "kind": str_at(entry, "/kind"),
                "namespace": str_at(entry, "/namespace"),
                "name": str_at(entry, "/name"),
                "liveState": encode(live_obj),
                "normalizedLiveState": encode(live_obj),
                "predictedLiveState": encode(target),
                "targetState": encode(target),
                "hook": entry.get("hook").and_then(Value::as_bool).unwrap_or(false),
                "modified": str_at(entry, "/status") == "OutOfSync",
                "resourceVersion": live_obj.map(|o| str_at(o, "/metadata/resourceVersion")).unwrap_or(""),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/applications/{name}/manifests?revision=`: the desired manifests (Secrets
/// masked), from the configured renderer.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{name}/manifests",
    tag = "applications",
    operation_id = "ApplicationService_Manifests",
    params(
        ("name" = String, Path, description = "Application name"),
        ("revision" = Option<String>, Query, description = "Revision to render (the target revision by default)"),
    ),
    responses(
        (status = 200, description = "The desired manifests", body = crate::api::openapi::Manifests),
        crate::api::openapi::DeniedOrMissing,
        (status = 501, description = "No renderer configured", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn manifests(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let app = load(&state, &caller, &name, "get").await?;
    let Some(renderer) = state.options().renderer.clone() else {
        return Err(ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            "this server has no manifest renderer configured",
        ));
    };
    let revision = query.get("revision").filter(|r| !r.is_empty());
    let objects = renderer
        .manifests(&app, revision)
        .await
        .map_err(|e| ApiError::bad_request(format!("rendering manifests: {e}")))?;
    let manifests: Vec<String> = objects
        .iter()
        .map(|o| tree::mask_secret(o).to_string())
        .collect();
    let revision = revision
        .map(str::to_string)
        .unwrap_or_else(|| str_at(&app, "/spec/source/targetRevision").to_string());
    Ok(Json(json!({
        "manifests": manifests,
        "revision": revision,
        "namespace": str_at(&app, "/spec/destination/namespace"),
        "server": str_at(&app, "/spec/destination/server"),
        "sourceType": str_at(&app, "/status/sourceType"),
    })))
}
