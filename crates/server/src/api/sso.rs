//! `GET /auth/login` and `GET /auth/callback`: the browser side of single sign-on.
//!
//! `/auth/login?return_url=/applications` sends the browser to the provider with a fresh
//! state, nonce and PKCE challenge, and keeps them in a signed five-minute cookie.
//! `/auth/callback?code=…&state=…` checks the cookie against `state` (once only), exchanges the
//! code, verifies the ID token, and answers with the `argocd.token` session cookie and a
//! redirect to the return path. Every failure of the callback is a 401 and sets no session.

use axum::extract::{Query, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::{AppState, error_chain, now};
use crate::auth::{Authenticator, sso_subject_problem};
use crate::error::ApiError;
use crate::oidc::state::{STATE_COOKIE, STATE_TTL_SECONDS};
use crate::oidc::{LoginState, OidcConfig, OidcError, safe_return_url, sso_claims};
use crate::store::Snapshot;

/// Query of `/auth/login`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LoginQuery {
    /// Same-origin path to return to after login (`/` by default).
    #[serde(default)]
    return_url: String,
}

/// Query of `/auth/callback`, as the provider sends it.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallbackQuery {
    /// The authorization code.
    #[serde(default)]
    code: String,
    /// The state sent with the authorization request.
    #[serde(default)]
    state: String,
    /// An OAuth error code, when the provider refused.
    #[serde(default)]
    error: Option<String>,
}

impl std::fmt::Debug for CallbackQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackQuery")
            .field("code", &"<redacted>")
            .field("error", &self.error)
            .finish()
    }
}

/// The SSO settings of a snapshot, or why there are none.
fn oidc_config(snapshot: &Snapshot) -> Result<&OidcConfig, ApiError> {
    match &snapshot.oidc {
        Ok(Some(config)) => Ok(config),
        Ok(None) => Err(ApiError::not_found("single sign-on is not configured")),
        Err(e) => Err(ApiError::internal("reading oidc.config", e)),
    }
}

/// `<url>/auth/callback`, from the server's external URL (`url` in `argocd-cm`).
fn redirect_uri(state: &AppState, snapshot: &Snapshot) -> Result<String, ApiError> {
    let url = state
        .options()
        .url
        .clone()
        .or_else(|| snapshot.config.get("url").map(|s| s.trim().to_string()))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "single sign-on needs the server's external URL: set url in argocd-cm",
            )
        })?;
    Ok(format!("{}/auth/callback", url.trim_end_matches('/')))
}

fn provider_error(e: OidcError) -> ApiError {
    tracing::warn!(error = %error_chain(&e), "single sign-on: the provider is unusable");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "the identity provider could not be reached or answered unexpectedly",
    )
}

/// `GET /auth/login`: redirects to the provider's authorization endpoint.
#[utoipa::path(
    get,
    path = "/auth/login",
    tag = "session",
    operation_id = "SessionService_SsoLogin",
    params(LoginQuery),
    responses(
        (status = 303, description = "Redirect to the identity provider; sets the login state cookie"),
        (status = 400, description = "return_url is not a same-origin path", body = crate::api::openapi::ErrorBody),
        (status = 404, description = "Single sign-on is not configured", body = crate::api::openapi::ErrorBody),
        (status = 502, description = "The identity provider is unreachable", body = crate::api::openapi::ErrorBody),
    ),
    security(())
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let config = oidc_config(&snapshot)?;
    let return_url = safe_return_url(&query.return_url).ok_or_else(|| {
        ApiError::bad_request("return_url must be a path on this server, like /applications")
    })?;
    let redirect_uri = redirect_uri(&state, &snapshot)?;
    let provider = state
        .providers()
        .get(config)
        .await
        .map_err(provider_error)?;
    let login = LoginState::new(&return_url, &config.issuer, now());
    let location = provider
        .authorization_url(config, &redirect_uri, &login)
        .map_err(provider_error)?;
    let sealed = login
        .seal(snapshot.auth.signing_key.expose())
        .map_err(|e| ApiError::internal("starting a login", &e))?;
    let secure = if state.options().secure_cookie {
        "; Secure"
    } else {
        ""
    };
    // Lax: the cookie must come back with the provider's top-level redirect to the callback.
    let cookie = format!(
        "{STATE_COOKIE}={sealed}; Path=/auth; HttpOnly; SameSite=Lax; Max-Age={STATE_TTL_SECONDS}{secure}"
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(
        LOCATION,
        HeaderValue::from_str(&location).map_err(|e| ApiError::internal("starting a login", &e))?,
    );
    headers.insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal("starting a login", &e))?,
    );
    Ok(response)
}

/// `GET /auth/callback`: finishes the login.
#[utoipa::path(
    get,
    path = "/auth/callback",
    tag = "session",
    operation_id = "SessionService_SsoCallback",
    params(CallbackQuery),
    responses(
        (status = 303, description = "Logged in: sets the argocd.token session cookie and redirects to the return path"),
        (status = 401, description = "The login state, code or ID token is not valid; no session", body = crate::api::openapi::ErrorBody),
        (status = 502, description = "The identity provider is unreachable", body = crate::api::openapi::ErrorBody),
    ),
    security(())
)]
pub(crate) async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    match finish_login(&state, &headers, &query).await {
        Ok(response) => response,
        Err(error) => {
            // The state cookie is spent either way.
            let mut response = error.into_response();
            response
                .headers_mut()
                .insert(SET_COOKIE, HeaderValue::from_static(CLEAR_STATE_COOKIE));
            response
        }
    }
}

const CLEAR_STATE_COOKIE: &str =
    "ferrocd.oidc.state=; Path=/auth; HttpOnly; SameSite=Lax; Max-Age=0";

fn refused(reason: &str) -> ApiError {
    tracing::info!(target: "ferrocd::audit", action = "login", method = "sso", outcome = "failed", reason, "audit");
    ApiError::unauthenticated(format!("single sign-on failed: {reason}"))
}

async fn finish_login(
    state: &AppState,
    headers: &HeaderMap,
    query: &CallbackQuery,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let config = oidc_config(&snapshot)?;
    let now = now();
    let cookie = cookie_value(headers, STATE_COOKIE);
    let login = LoginState::open(
        cookie.as_deref(),
        &query.state,
        snapshot.auth.signing_key.expose(),
        now,
    )
    .map_err(|e| refused(&e.to_string()))?;
    if login.issuer != config.issuer {
        return Err(refused("the identity provider changed during the login"));
    }
    if !state.spend_login_state(&login.state, login.exp, now) {
        return Err(refused("this login state was used already"));
    }
    if let Some(error) = &query.error {
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        return Err(refused(&format!("the identity provider answered {code}")));
    }
    if query.code.is_empty() {
        return Err(refused("the callback carries no code"));
    }
    let redirect_uri = redirect_uri(state, &snapshot)?;
    let provider = state
        .providers()
        .get(config)
        .await
        .map_err(provider_error)?;
    let id_claims = match provider
        .exchange(config, &redirect_uri, &query.code, &login, now)
        .await
    {
        Ok(claims) => claims,
        Err(e @ (OidcError::TokenExchange { .. } | OidcError::IdToken(_))) => {
            return Err(refused(&error_chain(&e)));
        }
        Err(e) => return Err(provider_error(e)),
    };
    let sso = sso_claims(&provider.metadata.issuer, &id_claims);
    if let Some(problem) = sso_subject_problem(&snapshot.auth, &sso.subject) {
        return Err(refused(problem));
    }
    let username = sso.display_name();
    let mut auth = snapshot.auth.clone();
    auth.oidc_issuer = Some(config.issuer.clone());
    let (token, _) = Authenticator::issue_sso_session(&auth, sso, now)
        .map_err(|e| ApiError::internal("issuing a session", &e))?;
    tracing::info!(target: "ferrocd::audit", user = %username, action = "login", method = "sso", outcome = "succeeded", "audit");
    let secure = if state.options().secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let session = format!("argocd.token={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    let mut response = StatusCode::SEE_OTHER.into_response();
    let out = response.headers_mut();
    out.insert(
        LOCATION,
        HeaderValue::from_str(&login.return_url)
            .map_err(|e| ApiError::internal("finishing a login", &e))?,
    );
    out.append(
        SET_COOKIE,
        HeaderValue::from_str(&session).map_err(|e| ApiError::internal("finishing a login", &e))?,
    );
    out.append(SET_COOKIE, HeaderValue::from_static(CLEAR_STATE_COOKIE));
    Ok(response)
}

/// The value of cookie `name`.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|text| text.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_string())
}
