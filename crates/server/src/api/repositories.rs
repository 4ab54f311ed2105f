//! `/repositories`: repository Secrets (`argocd.argoproj.io/secret-type: repository`).
//! Responses never carry passwords, keys or tokens.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::query::Query;
use crate::api::{AppState, Caller};
use crate::error::ApiError;
use crate::store::{SECRET_TYPE_LABEL, b64, secret_values};

/// Keys of a repository Secret that hold credentials.
const SECRET_KEYS: [&str; 6] = [
    "password",
    "sshPrivateKey",
    "tlsClientCertKey",
    "githubAppPrivateKey",
    "bearerToken",
    "gcpServiceAccountKey",
];

fn object_of(project: &str, url: &str) -> String {
    if project.is_empty() {
        url.to_string()
    } else {
        format!("{project}/{url}")
    }
}

/// A repository as the API shows it: no credentials.
fn sanitized(values: &BTreeMap<String, String>) -> Value {
    let get = |k: &str| values.get(k).map(String::as_str).unwrap_or("");
    let flag = |k: &str| get(k) == "true";
    json!({
        "repo": get("url"),
        "type": if get("type").is_empty() { "git" } else { get("type") },
        "name": get("name"),
        "project": get("project"),
        "username": get("username"),
        "insecure": flag("insecure"),
        "enableLfs": flag("enableLfs"),
        "enableOCI": flag("enableOCI"),
        "proxy": get("proxy"),
        "hasCredentials": SECRET_KEYS.iter().any(|k| !get(k).is_empty()),
        "connectionState": {"status": "Unknown", "message": ""},
    })
}

async fn repository_secrets(
    state: &AppState,
) -> Result<Vec<(String, BTreeMap<String, String>)>, ApiError> {
    let list = state
        .store()
        .secrets()
        .list(&ListParams::default().labels(&format!("{SECRET_TYPE_LABEL}=repository")))
        .await
        .map_err(|e| ApiError::kube("listing repositories", e))?;
    let mut out = Vec::new();
    for secret in list.items {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let value =
            serde_json::to_value(&secret).map_err(|e| ApiError::internal("encoding", &e))?;
        out.push((name, secret_values(&value)));
    }
    Ok(out)
}

/// `GET /api/v1/repositories`.
#[utoipa::path(
    get,
    path = "/api/v1/repositories",
    tag = "repositories",
    operation_id = "RepositoryService_List",
    responses(
        (status = 200, description = "Repositories, without credentials", body = crate::api::openapi::RepositoryList),
        (status = 401, description = "No valid session or token", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = repository_secrets(&state)
        .await?
        .iter()
        .filter(|(_, v)| {
            let url = v.get("url").map(String::as_str).unwrap_or("");
            let project = v.get("project").map(String::as_str).unwrap_or("");
            caller.can("repositories", "get", &object_of(project, url))
        })
        .map(|(_, v)| sanitized(v))
        .collect();
    Ok(Json(json!({"metadata": {}, "items": items})))
}

async fn find(
    state: &AppState,
    url: &str,
) -> Result<Option<(String, BTreeMap<String, String>)>, ApiError> {
    Ok(repository_secrets(state)
        .await?
        .into_iter()
        .find(|(_, v)| v.get("url").map(String::as_str) == Some(url)))
}

/// `GET /api/v1/repositories/{repo}` (the URL, percent-encoded).
#[utoipa::path(
    get,
    path = "/api/v1/repositories/{repo}",
    tag = "repositories",
    operation_id = "RepositoryService_GetOne",
    params(
        ("repo" = String, Path, description = "Repository URL, URL-encoded"),
    ),
    responses(
        (status = 200, description = "The repository, without credentials", body = crate::api::openapi::Repository),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(repo): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match find(&state, &repo).await? {
        Some((_, values)) => {
            let project = values.get("project").cloned().unwrap_or_default();
            caller.enforce("repositories", "get", &object_of(&project, &repo))?;
            Ok(Json(sanitized(&values)))
        }
        None => {
            caller.enforce("repositories", "get", &repo)?;
            Err(ApiError::not_found(format!("repository {repo} not found")))
        }
    }
}

/// `POST /repositories` body: a repository with its credentials.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RepositoryRequest {
    #[serde(default)]
    repo: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    ssh_private_key: String,
    #[serde(default)]
    tls_client_cert_data: String,
    #[serde(default)]
    tls_client_cert_key: String,
    #[serde(default)]
    github_app_private_key: String,
    #[serde(default)]
    bearer_token: String,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    enable_lfs: bool,
    #[serde(default, rename = "enableOCI")]
    enable_oci: bool,
    #[serde(default)]
    proxy: String,
}

/// `POST /api/v1/repositories?upsert=`.
#[utoipa::path(
    post,
    path = "/api/v1/repositories",
    tag = "repositories",
    operation_id = "RepositoryService_Create",
    params(
        ("upsert" = Option<bool>, Query, description = "Replace an existing repository"),
    ),
    request_body = crate::api::repositories::RepositoryRequest,
    responses(
        (status = 200, description = "The repository, without credentials", body = crate::api::openapi::Repository),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::Denied,
        (status = 409, description = "Conflict", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    query: Query,
    Json(request): Json<RepositoryRequest>,
) -> Result<Json<Value>, ApiError> {
    if request.repo.trim().is_empty() {
        return Err(ApiError::bad_request(
            "repo (the repository URL) is required",
        ));
    }
    let kind = if request.kind.is_empty() {
        "git".to_string()
    } else {
        request.kind.clone()
    };
    if kind != "git" && kind != "helm" {
        return Err(ApiError::bad_request(format!(
            "type must be git or helm, found {kind:?}"
        )));
    }
    let object = object_of(&request.project, &request.repo);
    caller.enforce("repositories", "create", &object)?;
    if !request.project.is_empty()
        && !caller
            .snapshot
            .projects
            .iter()
            .any(|p| p.name() == request.project)
    {
        return Err(ApiError::bad_request(format!(
            "project {} does not exist",
            request.project
        )));
    }
    let upsert = query.flag("upsert", false)?;
    let existing = find(&state, &request.repo).await?;
    if existing.is_some() && !upsert {
        return Err(ApiError::conflict(format!(
            "repository {} already exists, use upsert flag to force update",
            request.repo
        )));
    }
    if existing.is_some() {
        caller.enforce("repositories", "update", &object)?;
    }
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            values.insert(k.to_string(), v.to_string());
        }
    };
    put("url", &request.repo);
    put("type", &kind);
    put("name", &request.name);
    put("project", &request.project);
    put("username", &request.username);
    put("password", &request.password);
    put("sshPrivateKey", &request.ssh_private_key);
    put("tlsClientCertData", &request.tls_client_cert_data);
    put("tlsClientCertKey", &request.tls_client_cert_key);
    put("githubAppPrivateKey", &request.github_app_private_key);
    put("bearerToken", &request.bearer_token);
    put("proxy", &request.proxy);
    if request.insecure {
        put("insecure", "true");
    }
    if request.enable_lfs {
        put("enableLfs", "true");
    }
    if request.enable_oci {
        put("enableOCI", "true");
    }
    let secret_name = match &existing {
        Some((name, _)) => name.clone(),
        None => {
            let digest = Sha256::digest(request.repo.as_bytes());
            let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
            format!("repo-{hex}")
        }
    };
    let data: serde_json::Map<String, Value> = values
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(b64(v.as_bytes()))))
        .collect();
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name,
            "namespace": state.store().namespace(),
            "labels": {SECRET_TYPE_LABEL: "repository"},
            "annotations": {"managed-by": "argocd.argoproj.io"},
        },
        "type": "Opaque",
        "data": data,
    }))
    .map_err(|e| ApiError::internal("building the repository secret", &e))?;
    let secrets = state.store().secrets();
    if existing.is_some() {
        secrets
            .replace(&secret_name, &PostParams::default(), &secret)
            .await
            .map_err(|e| ApiError::kube("updating the repository", e))?;
    } else {
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .map_err(|e| ApiError::kube("creating the repository", e))?;
    }
    caller.audit("repositories", "create", &object);
    Ok(Json(sanitized(&values)))
}

/// `DELETE /api/v1/repositories/{repo}`.
#[utoipa::path(
    delete,
    path = "/api/v1/repositories/{repo}",
    tag = "repositories",
    operation_id = "RepositoryService_DeleteOne",
    params(
        ("repo" = String, Path, description = "Repository URL, URL-encoded"),
    ),
    responses(
        (status = 200, description = "Deleted", body = crate::api::openapi::Empty),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn delete_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(repo): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some((secret_name, values)) = find(&state, &repo).await? else {
        caller.enforce("repositories", "delete", &repo)?;
        return Err(ApiError::not_found(format!("repository {repo} not found")));
    };
    let project = values.get("project").cloned().unwrap_or_default();
    let object = object_of(&project, &repo);
    caller.enforce("repositories", "delete", &object)?;
    state
        .store()
        .secrets()
        .delete(&secret_name, &DeleteParams::default())
        .await
        .map_err(|e| ApiError::kube("deleting the repository", e))?;
    caller.audit("repositories", "delete", &object);
    Ok(Json(json!({})))
}
