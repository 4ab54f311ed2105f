//! The OpenAPI document served at `/api/openapi.json`.
//!
//! Each handler carries its own `#[utoipa::path]` (method, path, parameters, request and
//! response bodies); [`crate::api::routes`] mounts handlers by those attributes and collects
//! their operations here, so the document and the router cannot disagree. The payload schemas
//! below describe Argo CD's shapes; Kubernetes objects (Applications, AppProjects) are
//! described by their top-level fields, their `spec` and `status` being the CRDs'.

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// An error, shaped as Argo CD's.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The message.
    pub error: String,
    /// Same as `error`.
    pub message: String,
    /// The gRPC-style code (16 unauthenticated, 7 permission denied, 5 not found...).
    pub code: i32,
}

/// The answers of every checked route besides its own: no valid token, or RBAC denies.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only its OpenAPI description is used
pub enum Denied {
    /// 401.
    #[response(status = 401, description = "No valid session or token")]
    Unauthenticated(ErrorBody),
    /// 403.
    #[response(status = 403, description = "RBAC denies")]
    PermissionDenied(ErrorBody),
}

/// [`Denied`], plus 404 for a route naming one object.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // only its OpenAPI description is used
pub enum DeniedOrMissing {
    /// 401.
    #[response(status = 401, description = "No valid session or token")]
    Unauthenticated(ErrorBody),
    /// 403.
    #[response(status = 403, description = "RBAC denies")]
    PermissionDenied(ErrorBody),
    /// 404.
    #[response(status = 404, description = "Not found")]
    NotFound(ErrorBody),
}

/// An empty object.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// A Kubernetes object of kind Application (`argoproj.io/v1alpha1`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// `argoproj.io/v1alpha1`.
    #[schema(example = "argoproj.io/v1alpha1")]
    pub api_version: String,
    /// `Application`.
    #[schema(example = "Application")]
    pub kind: String,
    /// Name, namespace, labels, annotations...
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// `project`, `source`/`sources`, `destination`, `syncPolicy`, `ignoreDifferences`...
    #[schema(value_type = Object)]
    pub spec: Value,
    /// `sync`, `health`, `resources`, `history`, `operationState`, `conditions`...
    #[schema(value_type = Option<Object>)]
    pub status: Option<Value>,
    /// The requested operation (a sync), while one is pending or running.
    #[schema(value_type = Option<Object>)]
    pub operation: Option<Value>,
}

/// A list of Applications.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationList {
    /// The applications.
    pub items: Vec<Application>,
    /// `resourceVersion` of the list.
    #[schema(value_type = Object)]
    pub metadata: Value,
}

/// A Kubernetes object of kind AppProject (`argoproj.io/v1alpha1`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppProject {
    /// `argoproj.io/v1alpha1`.
    pub api_version: String,
    /// `AppProject`.
    pub kind: String,
    /// Name, namespace, labels...
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// `sourceRepos`, `destinations`, `roles`, resource allow/deny lists...
    #[schema(value_type = Object)]
    pub spec: Value,
    /// `jwtTokensByRole`.
    #[schema(value_type = Option<Object>)]
    pub status: Option<Value>,
}

/// A list of AppProjects.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectList {
    /// The projects.
    pub items: Vec<AppProject>,
}

/// The resource tree of an application.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTree {
    /// Managed resources and their children (ReplicaSets, Pods...), each with `group`,
    /// `kind`, `namespace`, `name`, `uid`, `parentRefs`, `health`.
    #[schema(value_type = Vec<Object>)]
    pub nodes: Vec<Value>,
}

/// Managed resources with live and target state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagedResources {
    /// One per resource: `group`, `kind`, `namespace`, `name`, `liveState`, `targetState`
    /// (JSON strings, Secret data masked), `normalizedLiveState`, `predictedLiveState`.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
}

/// Desired manifests.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Manifests {
    /// One JSON document per object.
    pub manifests: Vec<String>,
    /// The revision rendered.
    pub revision: Option<String>,
    /// The source type (Directory, Kustomize, Helm...).
    pub source_type: Option<String>,
}

/// A repository, without its credentials.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    /// URL.
    pub repo: String,
    /// `git` or `helm`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Name (Helm repositories).
    pub name: Option<String>,
    /// Project the repository is scoped to.
    pub project: Option<String>,
    /// User name (the password is never returned).
    pub username: Option<String>,
    /// TLS verification is skipped.
    pub insecure: bool,
    /// Git LFS is fetched.
    pub enable_lfs: bool,
    /// OCI Helm repository.
    #[serde(rename = "enableOCI")]
    pub enable_oci: bool,
    /// Proxy URL.
    pub proxy: Option<String>,
    /// Whether any credential is set (never the credentials).
    pub has_credentials: bool,
    /// `{status, message}`.
    #[schema(value_type = Option<Object>)]
    pub connection_state: Option<Value>,
}

/// A list of repositories.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepositoryList {
    /// The repositories.
    pub items: Vec<Repository>,
}

/// A cluster, without its credentials.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// API server URL.
    pub server: String,
    /// Name.
    pub name: String,
    /// Namespaces ferrocd may manage (all when empty).
    pub namespaces: Vec<String>,
    /// Project the cluster is scoped to.
    pub project: Option<String>,
    /// `tlsClientConfig.insecure` and other non-secret settings; no token or key.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    /// `{status, message}`.
    #[schema(value_type = Option<Object>)]
    pub connection_state: Option<Value>,
    /// Labels.
    #[schema(value_type = Option<Object>)]
    pub labels: Option<Value>,
}

/// A list of clusters.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterList {
    /// The clusters.
    pub items: Vec<Cluster>,
}

/// A local account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    /// Name.
    pub name: String,
    /// Whether it may be used.
    pub enabled: bool,
    /// `login`, `apiKey`.
    pub capabilities: Vec<String>,
    /// Its API tokens: `{id, iat, exp}` (never the tokens).
    #[schema(value_type = Vec<Object>)]
    pub tokens: Vec<Value>,
}

/// A list of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountList {
    /// The accounts.
    pub items: Vec<Account>,
}

/// The answer of `can-i`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CanI {
    /// `yes` or `no`.
    #[schema(example = "yes")]
    pub value: String,
}

/// A token, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT.
    pub token: String,
}

/// Who a token belongs to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// Whether the token is valid.
    pub logged_in: bool,
    /// Account name, or the SSO user's email (or subject).
    pub username: Option<String>,
    /// `argocd` for local sessions and tokens, the provider's issuer for SSO sessions.
    pub iss: Option<String>,
    /// Groups (values of the claims RBAC `scopes` names).
    pub groups: Option<Vec<String>>,
}

/// What the login page needs to offer single sign-on.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcConfigPublic {
    /// Shown on the login button.
    pub name: String,
    /// The provider's issuer URL.
    pub issuer: String,
    /// The client ID.
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// Requested scopes.
    pub scopes: Vec<String>,
}

/// Public settings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// The server's external URL.
    pub url: String,
    /// The label that may track applications' resources.
    pub app_label_key: String,
    /// Status badges are served.
    pub status_badge_enabled: bool,
    /// No local account may log in.
    pub user_logins_disabled: bool,
    /// Requests without a token act with the default role.
    pub anonymous_enabled: bool,
    /// Exec into pods is enabled.
    pub exec_enabled: bool,
    /// Banner text of the UI.
    pub ui_banner_content: String,
    /// Namespace of Applications and settings.
    pub controller_namespace: String,
    /// `annotation`, `label` or `annotation+label`.
    pub tracking_method: String,
    /// Present when single sign-on is configured.
    pub oidc_config: Option<OidcConfigPublic>,
}

/// Declares how requests authenticate.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A session token (POST /api/v1/session or SSO), an account API token or a project role token",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("argocd.token"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ferrocd API",
        description = "Argo CD's REST API (paths and payloads under /api/v1) served by ferrocd, with local accounts, OIDC single sign-on and argocd-rbac-cm RBAC. Every operation needs a token unless it declares no security; RBAC decides 403s.",
    ),
    security(("bearer" = []), ("cookie" = [])),
    components(schemas(
        ErrorBody, Empty, Application, ApplicationList, AppProject, ProjectList, ResourceTree,
        ManagedResources, Manifests, Repository, RepositoryList, Cluster, ClusterList, Account,
        AccountList, CanI, TokenResponse, UserInfo, OidcConfigPublic, Settings,
        crate::api::session::LoginRequest,
        crate::api::accounts::CreateTokenRequest,
        crate::api::accounts::UpdatePasswordRequest,
        crate::api::applications::SyncRequest,
        crate::api::applications::SyncOptionsList,
        crate::api::applications::RollbackRequest,
        crate::api::projects::ProjectRequest,
        crate::api::projects::TokenRequest,
        crate::api::repositories::RepositoryRequest,
        crate::api::clusters::ClusterRequest,
    )),
    modifiers(&Security),
    tags(
        (name = "session", description = "Login (local and SSO), logout, who am I"),
        (name = "settings", description = "Public settings"),
        (name = "accounts", description = "Local accounts, their API tokens, can-i"),
        (name = "applications", description = "Applications: CRUD, sync, rollback, tree, resources, manifests, live updates"),
        (name = "projects", description = "AppProjects and project role tokens"),
        (name = "repositories", description = "Repositories (credentials are write-only)"),
        (name = "clusters", description = "Clusters (credentials are write-only)"),
    )
)]
struct ApiDoc;

/// The whole document: the components above and the operation of every route the server
/// serves.
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.paths = crate::api::route_table().paths;
    doc
}

/// `GET /api/openapi.json`.
pub(crate) async fn serve() -> axum::response::Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        document()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.clone(),
    )
        .into_response()
}

use axum::response::IntoResponse;
