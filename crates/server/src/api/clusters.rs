//! `/clusters`: cluster Secrets (`argocd.argoproj.io/secret-type: cluster`) plus the implicit
//! in-cluster destination. Responses never carry bearer tokens, passwords or keys.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use ferrocd_model::{ClusterConfig, ClusterSecret};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::query::Query;
use crate::api::{AppState, Caller};
use crate::error::ApiError;
use crate::store::{SECRET_TYPE_LABEL, b64};

const IN_CLUSTER: &str = "https://kubernetes.default.svc";

fn object_of(project: Option<&str>, server: &str) -> String {
    match project.filter(|p| !p.is_empty()) {
        Some(p) => format!("{p}/{server}"),
        None => server.to_string(),
    }
}

/// A cluster as the API shows it: no credentials.
fn sanitized(cluster: &ClusterSecret) -> Value {
    json!({
        "server": cluster.server,
        "name": cluster.name,
        "namespaces": cluster.namespaces,
        "clusterResources": cluster.cluster_resources,
        "project": cluster.project.clone().unwrap_or_default(),
        "labels": cluster.labels,
        "annotations": cluster.annotations,
        "config": {"tlsClientConfig": {
            "insecure": cluster.config.tls_client_config.insecure.unwrap_or(false),
            "serverName": cluster.config.tls_client_config.server_name.clone().unwrap_or_default(),
        }},
        "connectionState": {"status": "Unknown", "message": ""},
    })
}

fn in_cluster() -> ClusterSecret {
    ClusterSecret {
        name: "in-cluster".into(),
        server: IN_CLUSTER.into(),
        ..Default::default()
    }
}

async fn clusters(state: &AppState) -> Result<Vec<ClusterSecret>, ApiError> {
    let list = state
        .store()
        .secrets()
        .list(&ListParams::default().labels(&format!("{SECRET_TYPE_LABEL}=cluster")))
        .await
        .map_err(|e| ApiError::kube("listing clusters", e))?;
    let mut out = Vec::new();
    for secret in list.items {
        let value =
            serde_json::to_value(&secret).map_err(|e| ApiError::internal("encoding", &e))?;
        match ClusterSecret::from_secret(&value) {
            Ok(cluster) => out.push(cluster),
            Err(e) => tracing::warn!(error = %e, "skipping a malformed cluster secret"),
        }
    }
    if !out.iter().any(|c| c.is_in_cluster()) {
        out.insert(0, in_cluster());
    }
    Ok(out)
}

/// `GET /api/v1/clusters`.
#[utoipa::path(
    get,
    path = "/api/v1/clusters",
    tag = "clusters",
    operation_id = "ClusterService_List",
    responses(
        (status = 200, description = "Clusters, without credentials", body = crate::api::openapi::ClusterList),
        (status = 401, description = "No valid session or token", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = clusters(&state)
        .await?
        .iter()
        .filter(|c| {
            caller.can(
                "clusters",
                "get",
                &object_of(c.project.as_deref(), &c.server),
            )
        })
        .map(sanitized)
        .collect();
    Ok(Json(json!({"metadata": {}, "items": items})))
}

fn matches(cluster: &ClusterSecret, id: &str, by_name: bool) -> bool {
    if by_name {
        cluster.name == id
    } else {
        cluster.server.trim_end_matches('/') == id.trim_end_matches('/')
    }
}

/// `GET /api/v1/clusters/{server}?id.type=url|name`.
#[utoipa::path(
    get,
    path = "/api/v1/clusters/{server}",
    tag = "clusters",
    operation_id = "ClusterService_GetOne",
    params(
        ("server" = String, Path, description = "Server URL (URL-encoded), or name with id.type=name"),
        ("id.type" = Option<String>, Query, description = "server (default) or name"),
    ),
    responses(
        (status = 200, description = "The cluster, without credentials", body = crate::api::openapi::Cluster),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let by_name = query.get("id.type") == Some("name");
    match clusters(&state)
        .await?
        .into_iter()
        .find(|c| matches(c, &id, by_name))
    {
        Some(cluster) => {
            caller.enforce(
                "clusters",
                "get",
                &object_of(cluster.project.as_deref(), &cluster.server),
            )?;
            Ok(Json(sanitized(&cluster)))
        }
        None => {
            caller.enforce("clusters", "get", &id)?;
            Err(ApiError::not_found(format!("cluster {id} not found")))
        }
    }
}

/// `POST /clusters` body.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ClusterRequest {
    #[serde(default)]
    server: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    cluster_resources: bool,
    #[serde(default)]
    project: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// `POST /api/v1/clusters?upsert=`.
#[utoipa::path(
    post,
    path = "/api/v1/clusters",
    tag = "clusters",
    operation_id = "ClusterService_Create",
    params(
        ("upsert" = Option<bool>, Query, description = "Replace an existing cluster"),
    ),
    request_body = crate::api::clusters::ClusterRequest,
    responses(
        (status = 200, description = "The cluster, without credentials", body = crate::api::openapi::Cluster),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::Denied,
        (status = 409, description = "Conflict", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    query: Query,
    Json(request): Json<ClusterRequest>,
) -> Result<Json<Value>, ApiError> {
    let server = request.server.trim().trim_end_matches('/').to_string();
    if !(server.starts_with("https://") || server.starts_with("http://")) {
        return Err(ApiError::bad_request("server must be an http(s) URL"));
    }
    let project = Some(request.project.as_str()).filter(|p| !p.is_empty());
    let object = object_of(project, &server);
    caller.enforce("clusters", "create", &object)?;
    let config: ClusterConfig = match request.config {
        Some(c) if !c.is_null() => {
            serde_json::from_value(c).map_err(|e| ApiError::bad_request(format!("config: {e}")))?
        }
        _ => ClusterConfig::default(),
    };
    let upsert = query.flag("upsert", false)?;
    let existing_secret = {
        let list = state
            .store()
            .secrets()
            .list(&ListParams::default().labels(&format!("{SECRET_TYPE_LABEL}=cluster")))
            .await
            .map_err(|e| ApiError::kube("listing clusters", e))?;
        list.items.into_iter().find_map(|s| {
            let v = serde_json::to_value(&s).ok()?;
            let c = ClusterSecret::from_secret(&v).ok()?;
            (c.server.trim_end_matches('/') == server).then_some(c.secret_name)
        })
    };
    if existing_secret.is_some() && !upsert {
        return Err(ApiError::conflict(format!(
            "cluster {server} already exists, use upsert flag to force update"
        )));
    }
    if existing_secret.is_some() {
        caller.enforce("clusters", "update", &object)?;
    }
    let secret_name = existing_secret.clone().unwrap_or_else(|| {
        let host: String = server
            .split("://")
            .nth(1)
            .unwrap_or(&server)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        let digest = Sha256::digest(server.as_bytes());
        let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
        format!("cluster-{}-{hex}", host.trim_matches('-'))
    });
    let cluster = ClusterSecret {
        secret_name: secret_name.clone(),
        name: if request.name.is_empty() {
            server.clone()
        } else {
            request.name
        },
        server: server.clone(),
        namespaces: request.namespaces,
        cluster_resources: request.cluster_resources,
        project: project.map(str::to_string),
        config,
        labels: request.labels,
        annotations: request.annotations,
        ..Default::default()
    };
    let mut value = cluster.to_secret(state.store().namespace());
    // stringData → data, so that what is stored does not depend on the API server merging it.
    if let Some(map) = value.as_object_mut()
        && let Some(Value::Object(plain)) = map.remove("stringData")
    {
        let data: serde_json::Map<String, Value> = plain
            .into_iter()
            .map(|(k, v)| (k, Value::String(b64(v.as_str().unwrap_or("").as_bytes()))))
            .collect();
        map.insert("data".into(), Value::Object(data));
    }
    let secret: Secret = serde_json::from_value(value)
        .map_err(|e| ApiError::internal("building the cluster secret", &e))?;
    let secrets = state.store().secrets();
    if existing_secret.is_some() {
        secrets
            .replace(&secret_name, &PostParams::default(), &secret)
            .await
            .map_err(|e| ApiError::kube("updating the cluster", e))?;
    } else {
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .map_err(|e| ApiError::kube("creating the cluster", e))?;
    }
    caller.audit("clusters", "create", &object);
    Ok(Json(sanitized(&cluster)))
}

/// `DELETE /api/v1/clusters/{server}?id.type=url|name`.
#[utoipa::path(
    delete,
    path = "/api/v1/clusters/{server}",
    tag = "clusters",
    operation_id = "ClusterService_DeleteOne",
    params(
        ("server" = String, Path, description = "Server URL (URL-encoded), or name with id.type=name"),
        ("id.type" = Option<String>, Query, description = "server (default) or name"),
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
    Path(id): Path<String>,
    query: Query,
) -> Result<Json<Value>, ApiError> {
    let by_name = query.get("id.type") == Some("name");
    let Some(cluster) = clusters(&state)
        .await?
        .into_iter()
        .find(|c| matches(c, &id, by_name))
    else {
        caller.enforce("clusters", "delete", &id)?;
        return Err(ApiError::not_found(format!("cluster {id} not found")));
    };
    let object = object_of(cluster.project.as_deref(), &cluster.server);
    caller.enforce("clusters", "delete", &object)?;
    if cluster.secret_name.is_empty() {
        return Err(ApiError::bad_request(
            "the in-cluster destination has no secret to delete",
        ));
    }
    state
        .store()
        .secrets()
        .delete(&cluster.secret_name, &DeleteParams::default())
        .await
        .map_err(|e| ApiError::kube("deleting the cluster", e))?;
    caller.audit("clusters", "delete", &object);
    Ok(Json(json!({})))
}
