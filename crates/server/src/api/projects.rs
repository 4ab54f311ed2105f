//! `/projects`: AppProject CRUD and project role tokens.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use ferrocd_model::project::AppProject;
use kube::api::{DeleteParams, DynamicObject, ListParams, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::query::Query;
use crate::api::{AppState, Caller, now};
use crate::auth::Authenticator;
use crate::error::ApiError;

fn to_value(obj: &DynamicObject) -> Result<Value, ApiError> {
    serde_json::to_value(obj).map_err(|e| ApiError::internal("encoding a project", &e))
}

fn to_object(value: &Value) -> Result<DynamicObject, ApiError> {
    serde_json::from_value(value.clone())
        .map_err(|e| ApiError::bad_request(format!("project: {e}")))
}

async fn load(
    state: &AppState,
    caller: &Caller,
    name: &str,
    action: &str,
) -> Result<Value, ApiError> {
    caller.enforce("projects", action, name)?;
    match state.store().projects().get_opt(name).await {
        Ok(Some(obj)) => to_value(&obj),
        Ok(None) => Err(ApiError::not_found(format!(
            "appprojects.argoproj.io \"{name}\" not found"
        ))),
        Err(e) => Err(ApiError::kube("reading a project", e)),
    }
}

/// `GET /api/v1/projects`.
#[utoipa::path(
    get,
    path = "/api/v1/projects",
    tag = "projects",
    operation_id = "ProjectService_List",
    responses(
        (status = 200, description = "Projects the caller may get", body = crate::api::openapi::ProjectList),
        (status = 401, description = "No valid session or token", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let list = state
        .store()
        .projects()
        .list(&ListParams::default())
        .await
        .map_err(|e| ApiError::kube("listing projects", e))?;
    let mut items = Vec::new();
    for obj in &list.items {
        let name = obj.metadata.name.clone().unwrap_or_default();
        if caller.can("projects", "get", &name) {
            items.push(to_value(obj)?);
        }
    }
    Ok(Json(json!({"metadata": {}, "items": items})))
}

/// `GET /api/v1/projects/{name}`.
#[utoipa::path(
    get,
    path = "/api/v1/projects/{name}",
    tag = "projects",
    operation_id = "ProjectService_GetOne",
    params(
        ("name" = String, Path, description = "Project name"),
    ),
    responses(
        (status = 200, description = "The project", body = crate::api::openapi::AppProject),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(load(&state, &caller, &name, "get").await?))
}

/// `POST /projects` and `PUT /projects/{name}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ProjectRequest {
    project: Value,
    #[serde(default)]
    upsert: bool,
}

fn validated(state: &AppState, mut project: Value) -> Result<Value, ApiError> {
    if !project.is_object() {
        return Err(ApiError::bad_request(
            "project must be an AppProject object",
        ));
    }
    if project.get("apiVersion").is_none() {
        project["apiVersion"] = json!("argoproj.io/v1alpha1");
    }
    if project.get("kind").is_none() {
        project["kind"] = json!("AppProject");
    }
    project["metadata"]["namespace"] = json!(state.store().namespace());
    let typed = AppProject::from_value(project.clone(), "request body")
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut policy = crate::rbac::Policy::default();
    if let Some(problem) = policy.add_project(typed.name(), &typed.spec.roles).first() {
        return Err(ApiError::bad_request(problem.to_string()));
    }
    Ok(project)
}

/// `POST /api/v1/projects`.
#[utoipa::path(
    post,
    path = "/api/v1/projects",
    tag = "projects",
    operation_id = "ProjectService_Create",
    request_body = crate::api::projects::ProjectRequest,
    responses(
        (status = 200, description = "The created project", body = crate::api::openapi::AppProject),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::Denied,
        (status = 409, description = "Conflict", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<ProjectRequest>,
) -> Result<Json<Value>, ApiError> {
    let mut project = validated(&state, request.project)?;
    let name = project
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    caller.enforce("projects", "create", &name)?;
    if let Some(meta) = project.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        meta.remove("uid");
    }
    let projects = state.store().projects();
    let result = match projects
        .create(&PostParams::default(), &to_object(&project)?)
        .await
    {
        Ok(created) => to_value(&created)?,
        Err(kube::Error::Api(s)) if s.code == 409 && request.upsert => {
            caller.enforce("projects", "update", &name)?;
            let existing = load(&state, &caller, &name, "update").await?;
            replace(&state, existing, &project).await?
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            return Err(ApiError::conflict(format!(
                "existing project {name} is different, use upsert flag to force update"
            )));
        }
        Err(e) => return Err(ApiError::kube("creating a project", e)),
    };
    state.invalidate().await;
    caller.audit("projects", "create", &name);
    Ok(Json(result))
}

async fn replace(
    state: &AppState,
    mut existing: Value,
    desired: &Value,
) -> Result<Value, ApiError> {
    existing["spec"] = desired.get("spec").cloned().unwrap_or(json!({}));
    for field in ["labels", "annotations"] {
        if let Some(v) = desired.pointer(&format!("/metadata/{field}")) {
            existing["metadata"][field] = v.clone();
        }
    }
    let name = existing
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let replaced = state
        .store()
        .projects()
        .replace(&name, &PostParams::default(), &to_object(&existing)?)
        .await
        .map_err(|e| ApiError::kube("updating a project", e))?;
    state.invalidate().await;
    to_value(&replaced)
}

/// `PUT /api/v1/projects/{name}`.
#[utoipa::path(
    put,
    path = "/api/v1/projects/{name}",
    tag = "projects",
    operation_id = "ProjectService_Update",
    params(
        ("name" = String, Path, description = "Project name"),
    ),
    request_body = crate::api::projects::ProjectRequest,
    responses(
        (status = 200, description = "The updated project", body = crate::api::openapi::AppProject),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<ProjectRequest>,
) -> Result<Json<Value>, ApiError> {
    let existing = load(&state, &caller, &name, "update").await?;
    let project = validated(&state, request.project)?;
    if project.pointer("/metadata/name").and_then(Value::as_str) != Some(name.as_str()) {
        return Err(ApiError::bad_request("the body names another project"));
    }
    let updated = replace(&state, existing, &project).await?;
    caller.audit("projects", "update", &name);
    Ok(Json(updated))
}

/// `DELETE /api/v1/projects/{name}`: refused while applications use the project.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{name}",
    tag = "projects",
    operation_id = "ProjectService_DeleteOne",
    params(
        ("name" = String, Path, description = "Project name"),
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
) -> Result<Json<Value>, ApiError> {
    load(&state, &caller, &name, "delete").await?;
    let apps = state
        .store()
        .apps()
        .list(&ListParams::default())
        .await
        .map_err(|e| ApiError::kube("listing applications", e))?;
    let users = apps
        .items
        .iter()
        .filter(|a| {
            let project = a
                .data
                .pointer("/spec/project")
                .and_then(Value::as_str)
                .unwrap_or("default");
            project == name
        })
        .count();
    if users > 0 {
        return Err(ApiError::bad_request(format!(
            "project is referenced by {users} applications"
        )));
    }
    state
        .store()
        .projects()
        .delete(&name, &DeleteParams::default())
        .await
        .map_err(|e| ApiError::kube("deleting a project", e))?;
    state.invalidate().await;
    caller.audit("projects", "delete", &name);
    Ok(Json(json!({})))
}

/// `POST /projects/{project}/roles/{role}/token` body.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenRequest {
    #[serde(default)]
    expires_in: i64,
    #[serde(default)]
    id: String,
}

fn role_index(project: &Value, role: &str) -> Result<usize, ApiError> {
    project
        .pointer("/spec/roles")
        .and_then(Value::as_array)
        .and_then(|roles| {
            roles
                .iter()
                .position(|r| r.get("name").and_then(Value::as_str) == Some(role))
        })
        .ok_or_else(|| ApiError::not_found(format!("project has no role {role}")))
}

/// `POST /api/v1/projects/{project}/roles/{role}/token` → `{token}`; recorded in the role's
/// `jwtTokens`.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{project}/roles/{role}/token",
    tag = "projects",
    operation_id = "ProjectService_CreateToken",
    params(
        ("project" = String, Path, description = "Project name"),
        ("role" = String, Path, description = "Role name"),
    ),
    request_body = crate::api::projects::TokenRequest,
    responses(
        (status = 200, description = "The new project role token (shown once)", body = crate::api::openapi::TokenResponse),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
        (status = 409, description = "Conflict", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_name, role)): Path<(String, String)>,
    Json(request): Json<TokenRequest>,
) -> Result<Json<Value>, ApiError> {
    let mut project = load(&state, &caller, &project_name, "update").await?;
    let index = role_index(&project, &role)?;
    if request.expires_in < 0 {
        return Err(ApiError::bad_request("expiresIn must not be negative"));
    }
    let id = if request.id.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        request.id
    };
    let issued_at = now();
    let (token, claims) = Authenticator::issue_project_token(
        &caller.snapshot.auth,
        &project_name,
        &role,
        &id,
        Some(Duration::from_secs(request.expires_in as u64)),
        issued_at,
    )?;
    let tokens = &mut project["spec"]["roles"][index]["jwtTokens"];
    if !tokens.is_array() {
        *tokens = json!([]);
    }
    if let Some(list) = tokens.as_array_mut() {
        if list
            .iter()
            .any(|t| t.get("id").and_then(Value::as_str) == Some(id.as_str()))
        {
            return Err(ApiError::conflict(format!(
                "role {role} already has a token with id {id}"
            )));
        }
        let mut record = json!({"iat": claims.iat, "id": id});
        if let Some(exp) = claims.exp {
            record["exp"] = json!(exp);
        }
        list.push(record);
    }
    let name = project_name.clone();
    let replaced = state
        .store()
        .projects()
        .replace(&name, &PostParams::default(), &to_object(&project)?)
        .await
        .map_err(|e| ApiError::kube("recording the token", e))?;
    drop(replaced);
    state.invalidate().await;
    caller.audit(
        "projects",
        "update",
        &format!("{project_name}/{role}/token/{id}"),
    );
    Ok(Json(json!({ "token": token })))
}

/// `DELETE /api/v1/projects/{project}/roles/{role}/token/{iat}?id=`: revokes a role token.
#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project}/roles/{role}/token/{iat}",
    tag = "projects",
    operation_id = "ProjectService_DeleteToken",
    params(
        ("project" = String, Path, description = "Project name"),
        ("role" = String, Path, description = "Role name"),
        ("iat" = String, Path, description = "The token's issued-at time (Unix seconds)"),
        ("id" = Option<String>, Query, description = "The token's ID"),
    ),
    responses(
        (status = 200, description = "The token is revoked", body = crate::api::openapi::Empty),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_name, role, iat)): Path<(String, String, String)>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let mut project = load(&state, &caller, &project_name, "update").await?;
    let index = role_index(&project, &role)?;
    let iat: i64 = iat
        .parse()
        .map_err(|_| ApiError::bad_request("iat must be a number"))?;
    let id = query
        .get("id")
        .filter(|i| !i.is_empty())
        .map(str::to_string);
    let tokens = &mut project["spec"]["roles"][index]["jwtTokens"];
    let Some(list) = tokens.as_array_mut() else {
        return Err(ApiError::not_found("the role has no tokens"));
    };
    let before = list.len();
    list.retain(|t| {
        let same_iat = t.get("iat").and_then(Value::as_i64) == Some(iat);
        let same_id = id
            .as_deref()
            .is_none_or(|i| t.get("id").and_then(Value::as_str) == Some(i));
        !(same_iat && same_id)
    });
    if list.len() == before {
        return Err(ApiError::not_found(format!(
            "role {role} has no token issued at {iat}"
        )));
    }
    state
        .store()
        .projects()
        .replace(&project_name, &PostParams::default(), &to_object(&project)?)
        .await
        .map_err(|e| ApiError::kube("revoking the token", e))?;
    state.invalidate().await;
    caller.audit(
        "projects",
        "update",
        &format!("{project_name}/{role}/token/{iat}"),
    );
    Ok(Json(json!({})))
}
