//! `/account`: local accounts, their API tokens, password changes and `can-i`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{AppState, Caller, now};
use crate::auth::{Account, Authenticator, Capability, IdentityKind, PasswordHash};
use crate::error::ApiError;
use crate::store::ARGOCD_SECRET;

fn account_json(account: &Account) -> Value {
    let capabilities: Vec<&str> = account
        .capabilities
        .iter()
        .map(|c| match c {
            Capability::Login => "login",
            Capability::ApiKey => "apiKey",
        })
        .collect();
    let tokens: Vec<Value> = account
        .tokens
        .iter()
        .map(|t| json!({"id": t.id, "issuedAt": t.iat, "expiresAt": t.exp.unwrap_or(0)}))
        .collect();
    json!({
        "name": account.name,
        "enabled": account.enabled,
        "capabilities": capabilities,
        "tokens": tokens,
    })
}

/// `GET /api/v1/account`: the accounts the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/account",
    tag = "accounts",
    operation_id = "AccountService_List",
    responses(
        (status = 200, description = "Accounts the caller may see", body = crate::api::openapi::AccountList),
        (status = 401, description = "No valid session or token", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn list(caller: Caller) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = caller
        .snapshot
        .auth
        .accounts
        .values()
        .filter(|a| caller.can("accounts", "get", &a.name))
        .map(account_json)
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/account/{name}`.
#[utoipa::path(
    get,
    path = "/api/v1/account/{name}",
    tag = "accounts",
    operation_id = "AccountService_GetOne",
    params(
        ("name" = String, Path, description = "Account name"),
    ),
    responses(
        (status = 200, description = "The account", body = crate::api::openapi::Account),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn get_one(
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.enforce("accounts", "get", &name)?;
    let account = caller
        .snapshot
        .auth
        .accounts
        .get(&name)
        .ok_or_else(|| ApiError::not_found(format!("account {name} not found")))?;
    Ok(Json(account_json(account)))
}

/// `GET /api/v1/account/can-i/{resource}/{action}/{subresource}` → `{"value": "yes"|"no"}`.
#[utoipa::path(
    get,
    path = "/api/v1/account/can-i/{resource}/{action}/{subresource}",
    tag = "accounts",
    operation_id = "AccountService_CanI",
    params(
        ("resource" = String, Path, description = "RBAC resource (applications, projects, clusters...)"),
        ("action" = String, Path, description = "RBAC action (get, create, sync...)"),
        ("subresource" = String, Path, description = "RBAC object; may contain slashes (project/app)"),
    ),
    responses(
        (status = 200, description = "yes or no", body = crate::api::openapi::CanI),
        (status = 401, description = "No valid session or token", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn can_i(
    caller: Caller,
    Path((resource, action, subresource)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let allowed = caller.can(&resource, &action, &subresource);
    Ok(Json(json!({ "value": if allowed { "yes" } else { "no" } })))
}

/// `POST /account/{name}/token` body.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateTokenRequest {
    /// Seconds until expiry; 0 or absent for none.
    #[serde(default)]
    expires_in: i64,
    /// Token ID; generated when empty.
    #[serde(default)]
    id: String,
}

fn may_manage(caller: &Caller, name: &str) -> Result<(), ApiError> {
    let own = caller.identity.kind == IdentityKind::Session && caller.identity.username == name;
    if own {
        Ok(())
    } else {
        caller.enforce("accounts", "update", name)
    }
}

/// `POST /api/v1/account/{name}/token` → `{token}`; records the token in `argocd-secret`.
#[utoipa::path(
    post,
    path = "/api/v1/account/{name}/token",
    tag = "accounts",
    operation_id = "AccountService_CreateToken",
    params(
        ("name" = String, Path, description = "Account name"),
    ),
    request_body = crate::api::accounts::CreateTokenRequest,
    responses(
        (status = 200, description = "The new API token (shown once)", body = crate::api::openapi::TokenResponse),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::DeniedOrMissing,
        (status = 409, description = "Conflict", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(request): Json<CreateTokenRequest>,
) -> Result<Json<Value>, ApiError> {
    may_manage(&caller, &name)?;
    let account = caller
        .snapshot
        .auth
        .accounts
        .get(&name)
        .ok_or_else(|| ApiError::not_found(format!("account {name} not found")))?;
    if !account.enabled || !account.can(Capability::ApiKey) {
        return Err(ApiError::bad_request(format!(
            "account {name} does not have the apiKey capability"
        )));
    }
    if request.expires_in < 0 {
        return Err(ApiError::bad_request("expiresIn must not be negative"));
    }
    let id = if request.id.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        request.id
    };
    if account.tokens.iter().any(|t| t.id == id) {
        return Err(ApiError::conflict(format!(
            "account {name} already has a token with id {id}"
        )));
    }
    let (token, record) = Authenticator::issue_account_token(
        &caller.snapshot.auth,
        &name,
        &id,
        Some(Duration::from_secs(request.expires_in as u64)),
        now(),
    )?;
    let mut tokens = account.tokens.clone();
    tokens.push(record);
    write_tokens(&state, &name, &tokens).await?;
    caller.audit("accounts", "update", &format!("{name}/token/{id}"));
    Ok(Json(json!({ "token": token })))
}

/// `DELETE /api/v1/account/{name}/token/{id}`.
#[utoipa::path(
    delete,
    path = "/api/v1/account/{name}/token/{id}",
    tag = "accounts",
    operation_id = "AccountService_DeleteToken",
    params(
        ("name" = String, Path, description = "Account name"),
        ("id" = String, Path, description = "Token ID"),
    ),
    responses(
        (status = 200, description = "The token is revoked", body = crate::api::openapi::Empty),
        crate::api::openapi::DeniedOrMissing,
    ),
)]
pub(crate) async fn delete_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    may_manage(&caller, &name)?;
    let account = caller
        .snapshot
        .auth
        .accounts
        .get(&name)
        .ok_or_else(|| ApiError::not_found(format!("account {name} not found")))?;
    let tokens: Vec<_> = account
        .tokens
        .iter()
        .filter(|t| t.id != id)
        .cloned()
        .collect();
    if tokens.len() == account.tokens.len() {
        return Err(ApiError::not_found(format!(
            "account {name} has no token {id}"
        )));
    }
    write_tokens(&state, &name, &tokens).await?;
    caller.audit("accounts", "update", &format!("{name}/token/{id}"));
    Ok(Json(json!({})))
}

async fn write_tokens(
    state: &AppState,
    name: &str,
    tokens: &[crate::auth::AccountToken],
) -> Result<(), ApiError> {
    let json = serde_json::to_vec(tokens).map_err(|e| ApiError::internal("encoding tokens", &e))?;
    let key = format!("{}tokens", Account::secret_key_prefix(name));
    state
        .store()
        .patch_secret_data(ARGOCD_SECRET, &BTreeMap::from([(key, json)]), &[])
        .await
        .map_err(|e| ApiError::kube("updating argocd-secret", e))?;
    state.invalidate().await;
    Ok(())
}

/// `PUT /account/password` body.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdatePasswordRequest {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    name: String,
}

/// `PUT /api/v1/account/password`: the caller proves its own password; changing another
/// account's password also needs `accounts, update, <name>`.
#[utoipa::path(
    put,
    path = "/api/v1/account/password",
    tag = "accounts",
    operation_id = "AccountService_UpdatePassword",
    request_body = crate::api::accounts::UpdatePasswordRequest,
    responses(
        (status = 200, description = "The password is changed; older sessions end", body = crate::api::openapi::Empty),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        crate::api::openapi::Denied,
    ),
)]
pub(crate) async fn update_password(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<UpdatePasswordRequest>,
) -> Result<Json<Value>, ApiError> {
    let target = if request.name.is_empty() {
        caller.identity.username.clone()
    } else {
        request.name.clone()
    };
    if target != caller.identity.username {
        caller.enforce("accounts", "update", &target)?;
    }
    let length = request.new_password.chars().count();
    if !(8..=32).contains(&length) {
        return Err(ApiError::bad_request(
            "the new password must have 8 to 32 characters",
        ));
    }
    let own = caller
        .snapshot
        .auth
        .accounts
        .get(&caller.identity.username)
        .and_then(|a| a.password_hash.clone())
        .ok_or_else(|| ApiError::bad_request("the caller has no local password to confirm"))?;
    let target_account = caller
        .snapshot
        .auth
        .accounts
        .get(&target)
        .ok_or_else(|| ApiError::not_found(format!("account {target} not found")))?;
    if !target_account.can(Capability::Login) {
        return Err(ApiError::bad_request(format!(
            "account {target} cannot log in"
        )));
    }
    let current = request.current_password;
    let new = request.new_password;
    let hash = tokio::task::spawn_blocking(move || {
        if !own.verify(&current) {
            return Err(ApiError::unauthenticated("current password does not match"));
        }
        PasswordHash::hash(&new).map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError::internal("updating a password", &e))??;
    let prefix = Account::secret_key_prefix(&target);
    let mtime = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    state
        .store()
        .patch_secret_data(
            ARGOCD_SECRET,
            &BTreeMap::from([
                (
                    format!("{prefix}password"),
                    hash.expose().as_bytes().to_vec(),
                ),
                (format!("{prefix}passwordMtime"), mtime.into_bytes()),
            ]),
            &[],
        )
        .await
        .map_err(|e| ApiError::kube("updating argocd-secret", e))?;
    state.invalidate().await;
    caller.audit("accounts", "update", &format!("{target}/password"));
    Ok(Json(json!({})))
}
