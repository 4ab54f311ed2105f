//! `/session`, `/session/userinfo` and `/settings`.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{AppState, Caller, client_of, now, request_token};
use crate::error::ApiError;

/// The caller's address, for rate limiting.
pub(crate) struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ClientAddr, ApiError> {
        Ok(ClientAddr(client_of(parts)))
    }
}

/// The token of a request, if any.
pub(crate) struct MaybeToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<MaybeToken, ApiError> {
        Ok(MaybeToken(request_token(parts)))
    }
}

/// `POST /session` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginRequest {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `POST /api/v1/session`: checks the password and returns `{token}` (also as the
/// `argocd.token` cookie).
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "session",
    operation_id = "SessionService_Login",
    request_body = crate::api::session::LoginRequest,
    responses(
        (status = 200, description = "A session token, also set as the argocd.token cookie", body = crate::api::openapi::TokenResponse),
        (status = 400, description = "Invalid request", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "No valid session or token", body = crate::api::openapi::ErrorBody),
        (status = 429, description = "Too many failed logins", body = crate::api::openapi::ErrorBody),
    ),
    security(()),
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    if request.username.is_empty() {
        return Err(ApiError::bad_request("username is required"));
    }
    let snapshot = state.snapshot().await?;
    let blocking_state = state.clone();
    let username = request.username.clone();
    let result = tokio::task::spawn_blocking(move || {
        blocking_state.auth().login(
            &snapshot.auth,
            &request.username,
            &request.password,
            &client,
            now(),
        )
    })
    .await
    .map_err(|e| ApiError::internal("login", &e))?;
    let (token, _claims) = match result {
        Ok(ok) => ok,
        Err(err) => {
            tracing::info!(target: "ferrocd::audit", user = %username, action = "login", outcome = "failed", "audit");
            return Err(err.into());
        }
    };
    tracing::info!(target: "ferrocd::audit", user = %username, action = "login", outcome = "succeeded", "audit");
    let secure = if state.options().secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("argocd.token={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    let mut response = Json(json!({ "token": token })).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// `DELETE /api/v1/session`: revokes the caller's token and clears the cookie.
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    operation_id = "SessionService_Logout",
    responses(
        (status = 200, description = "The token is revoked and the cookie cleared", body = crate::api::openapi::Empty),
        (status = 401, description = "No valid session or token", body = crate::api::openapi::ErrorBody),
    ),
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    if let Some(claims) = &caller.identity.claims {
        state.auth().revoke(claims, now());
    }
    caller.audit("session", "delete", &caller.identity.username);
    let mut headers = HeaderMap::new();
    headers.insert(
        SET_COOKIE,
        HeaderValue::from_static("argocd.token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok((headers, Json(json!({}))).into_response())
}

/// `GET /api/v1/session/userinfo`: who the token belongs to; `loggedIn: false` without a valid
/// token.
#[utoipa::path(
    get,
    path = "/api/v1/session/userinfo",
    tag = "session",
    operation_id = "SessionService_UserInfo",
    responses(
        (status = 200, description = "Who the token belongs to", body = crate::api::openapi::UserInfo),
    ),
    security(()),
)]
pub(crate) async fn user_info(
    State(state): State<AppState>,
    MaybeToken(token): MaybeToken,
) -> Result<Json<Value>, ApiError> {
    let snapshot = state.snapshot().await?;
    let Some(token) = token else {
        return Ok(Json(json!({ "loggedIn": false })));
    };
    match state
        .auth()
        .authenticate(&snapshot.auth, &snapshot.projects, Some(&token), now())
    {
        Ok(identity) => Ok(Json(json!({
            "loggedIn": true,
            "username": identity.username,
            "iss": identity.claims.as_ref().map(|c| match &c.sso {
                Some(sso) => sso.issuer.clone(),
                None => c.iss.clone(),
            }).unwrap_or_default(),
            "groups": identity.subject.groups,
        }))),
        Err(_) => Ok(Json(json!({ "loggedIn": false }))),
    }
}

/// `GET /api/v1/settings`: public settings the UI needs before login. Nothing secret.
#[utoipa::path(
    get,
    path = "/api/v1/settings",
    tag = "settings",
    operation_id = "SettingsService_Settings",
    responses(
        (status = 200, description = "Public settings (SSO included, without secrets)", body = crate::api::openapi::Settings),
    ),
    security(()),
)]
pub(crate) async fn settings(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let snapshot = state.snapshot().await?;
    let config = &snapshot.config;
    let get = |k: &str| {
        config
            .get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let url = state
        .options()
        .url
        .clone()
        .or_else(|| get("url"))
        .unwrap_or_default();
    // As Argo CD: what the login page needs to offer SSO, never the client secret.
    let oidc_config = match &snapshot.oidc {
        Ok(Some(c)) => json!({
            "name": c.name,
            "issuer": c.issuer,
            "clientID": c.client_id,
            "scopes": c.requested_scopes,
        }),
        _ => Value::Null,
    };
    let mut body = json!({
        "url": url,
        "appLabelKey": get("application.instanceLabelKey").unwrap_or_else(|| "app.kubernetes.io/instance".into()),
        "statusBadgeEnabled": get("statusbadge.enabled").as_deref() == Some("true"),
        "userLoginsDisabled": !snapshot.auth.accounts.values().any(|a| a.enabled),
        "anonymousEnabled": snapshot.auth.anonymous_enabled,
        "execEnabled": get("exec.enabled").as_deref() == Some("true"),
        "uiBannerContent": get("ui.bannercontent").unwrap_or_default(),
        "controllerNamespace": state.store().namespace(),
        "trackingMethod": get("application.resourceTrackingMethod").unwrap_or_else(|| "annotation".into()),
    });
    if !oidc_config.is_null() {
        body["oidcConfig"] = oidc_config;
    }
    Ok(Json(body))
}
