//! ferrocd's API server: Argo CD's REST API over Applications and AppProjects stored as
//! custom resources, local-account authentication and Argo CD-compatible RBAC.
//!
//! - [`rbac`]: the `argocd-rbac-cm` policy model, pure.
//! - [`auth`]: accounts, passwords, tokens, revocation, login rate limits, pure.
//! - [`oidc`]: single sign-on with an OpenID Connect provider (`oidc.config`).
//! - [`store`]: what is read from and written to the cluster.
//! - [`api`]: the axum routes under `/api/v1`, SSO under `/auth`, the OpenAPI document at
//!   `/api/openapi.json`.
//! - the web UI, static files compiled in and served on every other path.
//!
//! Entry points: [`serve`] (until a signal), [`start`] (in the background, for tests and
//! `ferrocd demo`), [`router`] (to embed the routes).
#![deny(missing_docs)]

pub mod api;
pub mod auth;
mod error;
pub mod oidc;
pub mod rbac;
mod server;
pub mod store;
mod ui;

pub use api::{ApiOptions, AppState, ManifestRenderer};
pub use error::{ApiError, ServerError};
pub use server::{RunningServer, ServerConfig, router, serve, start};
