//! The REST API under `/api/v1`, following Argo CD's paths and payloads.
//!
//! Routes are mounted from each handler's `#[utoipa::path]` ([`routes`] lists them, and
//! [`openapi::document`] is served at `/api/openapi.json`). Single sign-on lives at
//! `/auth/login` and `/auth/callback`.
//!
//! Every route except `POST /session`, `GET /session/userinfo`, `GET /settings`, `/auth/*`
//! and the OpenAPI document needs a valid token (`Authorization: Bearer …` or the
//! `argocd.token` cookie) and is checked by RBAC; 401 without a valid token, 403 when RBAC
//! denies. Each mutating call logs an audit
//! line (target `ferrocd::audit`, fields `user`, `resource`, `action`, `object`).

mod accounts;
mod applications;
mod clusters;
pub mod openapi;
mod projects;
mod query;
mod repositories;
mod session;
mod sso;
mod stream;
pub mod tree;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::get;
use serde_json::Value;

use crate::auth::{Authenticator, Identity, LimiterOptions};
use crate::error::ApiError;
use crate::oidc::Providers;
use crate::store::{Snapshot, Store};

/// How many used SSO login states are remembered at most.
const MAX_SPENT_LOGIN_STATES: usize = 100_000;

/// Renders the desired manifests of an Application; the binary plugs the render pipeline in.
/// The server itself never renders.
pub trait ManifestRenderer: Send + Sync {
    /// The desired objects of `app` (the Application as JSON) at `revision` (the spec's target
    /// revision when `None`).
    fn manifests<'a>(
        &'a self,
        app: &'a Value,
        revision: Option<&'a str>,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Value>, String>>;
}

/// Behaviour of the API.
#[derive(Clone)]
pub struct ApiOptions {
    /// How long settings, policy and projects read from the cluster are reused.
    pub settings_ttl: Duration,
    /// Login rate limits.
    pub login_limits: LimiterOptions,
    /// Renders manifests for `/manifests` and `/managed-resources`; without one, `/manifests`
    /// answers 501 and managed resources carry no target state.
    pub renderer: Option<Arc<dyn ManifestRenderer>>,
    /// Mark the session cookie `Secure` (when served over HTTPS).
    pub secure_cookie: bool,
    /// The server's external URL (`url` in `/settings`).
    pub url: Option<String>,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            settings_ttl: Duration::from_secs(3),
            login_limits: LimiterOptions::default(),
            renderer: None,
            secure_cookie: false,
            url: None,
        }
    }
}

impl std::fmt::Debug for ApiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiOptions")
            .field("settings_ttl", &self.settings_ttl)
            .field("login_limits", &self.login_limits)
            .field("renderer", &self.renderer.is_some())
            .field("secure_cookie", &self.secure_cookie)
            .field("url", &self.url)
            .finish()
    }
}

struct Inner {
    store: Store,
    auth: Authenticator,
    providers: Providers,
    spent_login_states: parking_lot::Mutex<HashMap<String, i64>>,
    options: ApiOptions,
    snapshot: tokio::sync::Mutex<Option<(Instant, Arc<Snapshot>)>>,
    closing: tokio::sync::watch::Sender<bool>,
}

/// Shared state of the API handlers.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.0.store)
            .field("options", &self.0.options)
            .finish()
    }
}

impl AppState {
    /// State over a store.
    pub fn new(store: Store, options: ApiOptions) -> AppState {
        AppState(Arc::new(Inner {
            auth: Authenticator::new(options.login_limits.clone()),
            providers: Providers::default(),
            spent_login_states: parking_lot::Mutex::default(),
            store,
            options,
            snapshot: tokio::sync::Mutex::new(None),
            closing: tokio::sync::watch::channel(false).0,
        }))
    }

    /// Ends every open event stream (before a graceful shutdown, which waits for them).
    pub fn close_streams(&self) {
        self.0.closing.send_replace(true);
    }

    /// Resolves once [`AppState::close_streams`] was called.
    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.closing.subscribe()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub(crate) fn auth(&self) -> &Authenticator {
        &self.0.auth
    }

    pub(crate) fn options(&self) -> &ApiOptions {
        &self.0.options
    }

    /// The identity providers met so far (discovery and keys, cached).
    pub(crate) fn providers(&self) -> &Providers {
        &self.0.providers
    }

    /// Marks an SSO login state as used; false when it was used already. Entries are kept
    /// until the state would have expired anyway.
    pub(crate) fn spend_login_state(&self, state: &str, exp: i64, now: i64) -> bool {
        let mut spent = self.0.spent_login_states.lock();
        spent.retain(|_, until| *until > now);
        if spent.contains_key(state) {
            return false;
        }
        if spent.len() >= MAX_SPENT_LOGIN_STATES {
            // Only signed, unexpired states get here; keep the newest half.
            let mut by_expiry: Vec<i64> = spent.values().copied().collect();
            by_expiry.sort_unstable();
            let cut = by_expiry[by_expiry.len() / 2];
            spent.retain(|_, until| *until > cut);
        }
        spent.insert(state.to_string(), exp);
        true
    }

    /// Settings, policy and projects, reread when older than the TTL.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ApiError> {
        let mut guard = self.0.snapshot.lock().await;
        if let Some((at, snapshot)) = guard.as_ref()
            && at.elapsed() < self.0.options.settings_ttl
        {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(
            self.0
                .store
                .load()
                .await
                .map_err(|e| ApiError::internal("reading settings", &error_chain(&e)))?,
        );
        *guard = Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }

    /// Forgets the cached settings (after the server changed them).
    pub async fn invalidate(&self) {
        *self.0.snapshot.lock().await = None;
    }
}

/// An error with its causes, for logs.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub identity: Identity,
    /// The settings the request was checked against.
    pub snapshot: Arc<Snapshot>,
}

impl Caller {
    /// 403 unless RBAC allows.
    pub fn enforce(&self, resource: &str, action: &str, object: &str) -> Result<(), ApiError> {
        if self.can(resource, action, object) {
            Ok(())
        } else {
            Err(ApiError::permission_denied(
                resource,
                action,
                object,
                &self.identity.username,
            ))
        }
    }

    /// Whether RBAC allows.
    pub fn can(&self, resource: &str, action: &str, object: &str) -> bool {
        self.snapshot
            .policy
            .enforce(&self.identity.subject, resource, action, object)
            .is_allowed()
    }

    /// Logs a mutating call.
    pub fn audit(&self, resource: &str, action: &str, object: &str) {
        tracing::info!(
            target: "ferrocd::audit",
            user = %self.identity.username,
            resource,
            action,
            object,
            "audit"
        );
    }
}

/// The bearer token of a request: the `Authorization` header, else the `argocd.token` cookie.
pub(crate) fn request_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION)
        && let Ok(text) = value.to_str()
        && let Some(token) = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
    {
        let token = token.trim();
        if !token.is_empty() {
            return Some(token.to_string());
        }
    }
    for value in parts.headers.get_all(axum::http::header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == "argocd.token"
                && !v.is_empty()
            {
                return Some(v.to_string());
            }
        }
    }
    None
}

/// The client address, for rate limiting.
pub(crate) fn client_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let snapshot = state.snapshot().await?;
        let token = request_token(parts);
        let identity = state.auth().authenticate(
            &snapshot.auth,
            &snapshot.projects,
            token.as_deref(),
            now(),
        )?;
        Ok(Caller { identity, snapshot })
    }
}

/// A route the server serves: its method (`GET`, `POST`...) and path in OpenAPI form
/// (`/api/v1/applications/{name}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// HTTP method, upper case.
    pub method: String,
    /// Path with `{param}` placeholders.
    pub path: String,
}

/// The routes, mounted from the handlers' `#[utoipa::path]` attributes: the router, the list
/// of routes and the document's paths come from the same calls.
pub(crate) struct RouteTable {
    root: Router<AppState>,
    v1: Router<AppState>,
    /// Every route.
    pub(crate) routes: Vec<Route>,
    /// The operations, for the OpenAPI document.
    pub(crate) paths: utoipa::openapi::Paths,
}

impl RouteTable {
    fn new() -> RouteTable {
        RouteTable {
            root: Router::new(),
            v1: Router::new(),
            routes: Vec::new(),
            paths: utoipa::openapi::Paths::new(),
        }
    }

    /// Mounts `handler` at the method and path its `#[utoipa::path]` (`P`) declares.
    fn add<P, H, T>(self, handler: H) -> RouteTable
    where
        P: utoipa::Path,
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        let path = P::path();
        self.add_at::<P, H, T>(&path, handler)
    }

    /// Like [`RouteTable::add`], with the axum path given (for a `{*wildcard}` segment, which
    /// OpenAPI writes `{wildcard}`).
    fn add_at<P, H, T>(mut self, axum_path: &str, handler: H) -> RouteTable
    where
        P: utoipa::Path,
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        use utoipa::openapi::path::HttpMethod;
        let doc_path = P::path();
        debug_assert_eq!(
            axum_path.replace("{*", "{"),
            doc_path,
            "route and document disagree"
        );
        let mut filter: Option<axum::routing::MethodFilter> = None;
        for method in P::methods() {
            let (name, f) = match method {
                HttpMethod::Get => ("GET", axum::routing::MethodFilter::GET),
                HttpMethod::Post => ("POST", axum::routing::MethodFilter::POST),
                HttpMethod::Put => ("PUT", axum::routing::MethodFilter::PUT),
                HttpMethod::Delete => ("DELETE", axum::routing::MethodFilter::DELETE),
                HttpMethod::Patch => ("PATCH", axum::routing::MethodFilter::PATCH),
                HttpMethod::Head => ("HEAD", axum::routing::MethodFilter::HEAD),
                HttpMethod::Options => ("OPTIONS", axum::routing::MethodFilter::OPTIONS),
                HttpMethod::Trace => ("TRACE", axum::routing::MethodFilter::TRACE),
            };
            self.routes.push(Route {
                method: name.to_string(),
                path: doc_path.clone(),
            });
            filter = Some(filter.map_or(f, |old| old.or(f)));
        }
        if let Some(filter) = filter {
            let method_router = axum::routing::on(filter, handler);
            match axum_path.strip_prefix("/api/v1") {
                Some(rest) => self.v1 = self.v1.route(rest, method_router),
                None => self.root = self.root.route(axum_path, method_router),
            }
        }
        self.paths = utoipa::openapi::path::PathsBuilder::from(std::mem::take(&mut self.paths))
            .path_from::<P>()
            .build();
        self
    }
}

/// Every documented route: `/auth/*` and everything under `/api/v1`.
pub(crate) fn route_table() -> RouteTable {
    RouteTable::new()
        .add::<sso::__path_login, _, _>(sso::login)
        .add::<sso::__path_callback, _, _>(sso::callback)
        .add::<session::__path_login, _, _>(session::login)
        .add::<session::__path_logout, _, _>(session::logout)
        .add::<session::__path_user_info, _, _>(session::user_info)
        .add::<session::__path_settings, _, _>(session::settings)
        .add::<accounts::__path_list, _, _>(accounts::list)
        .add::<accounts::__path_update_password, _, _>(accounts::update_password)
        .add_at::<accounts::__path_can_i, _, _>(
            "/api/v1/account/can-i/{resource}/{action}/{*subresource}",
            accounts::can_i,
        )
        .add::<accounts::__path_get_one, _, _>(accounts::get_one)
        .add::<accounts::__path_create_token, _, _>(accounts::create_token)
        .add::<accounts::__path_delete_token, _, _>(accounts::delete_token)
        .add::<applications::__path_list, _, _>(applications::list)
        .add::<applications::__path_create, _, _>(applications::create)
        .add::<applications::__path_get_one, _, _>(applications::get_one)
        .add::<applications::__path_update, _, _>(applications::update)
        .add::<applications::__path_delete_one, _, _>(applications::delete_one)
        .add::<applications::__path_sync, _, _>(applications::sync)
        .add::<applications::__path_rollback, _, _>(applications::rollback)
        .add::<applications::__path_terminate, _, _>(applications::terminate)
        .add::<applications::__path_resource_tree, _, _>(applications::resource_tree)
        .add::<applications::__path_managed_resources, _, _>(applications::managed_resources)
        .add::<applications::__path_manifests, _, _>(applications::manifests)
        .add::<applications::__path_events, _, _>(applications::events)
        .add::<stream::__path_applications, _, _>(stream::applications)
        .add::<projects::__path_list, _, _>(projects::list)
        .add::<projects::__path_create, _, _>(projects::create)
        .add::<projects::__path_get_one, _, _>(projects::get_one)
        .add::<projects::__path_update, _, _>(projects::update)
        .add::<projects::__path_delete_one, _, _>(projects::delete_one)
        .add::<projects::__path_create_token, _, _>(projects::create_token)
        .add::<projects::__path_delete_token, _, _>(projects::delete_token)
        .add::<repositories::__path_list, _, _>(repositories::list)
        .add::<repositories::__path_create, _, _>(repositories::create)
        .add::<repositories::__path_get_one, _, _>(repositories::get_one)
        .add::<repositories::__path_delete_one, _, _>(repositories::delete_one)
        .add::<clusters::__path_list, _, _>(clusters::list)
        .add::<clusters::__path_create, _, _>(clusters::create)
        .add::<clusters::__path_get_one, _, _>(clusters::get_one)
        .add::<clusters::__path_delete_one, _, _>(clusters::delete_one)
}

/// Every route the server serves under `/api/v1` and `/auth` (the list the OpenAPI document
/// is checked against).
pub fn routes() -> Vec<Route> {
    route_table().routes
}

/// The API routes: `/api/v1/*`, `/auth/login`, `/auth/callback` and `/api/openapi.json`.
pub fn router(state: AppState) -> Router {
    let table = route_table();
    let v1 = table
        .v1
        .fallback(|| async { ApiError::not_found("no such API route") })
        .with_state(state.clone());
    table
        .root
        .route("/api/openapi.json", get(openapi::serve))
        .with_state(state)
        .nest("/api/v1", v1)
}
