//! ferrocd-controller: keeps Applications in sync with their clusters.
//!
//! [`Controller`] watches Applications, AppProjects and cluster Secrets in the
//! control-plane namespace, reconciles each application (render → compare with the
//! watch-fed live cache → status), runs sync operations (requested through the
//! Application's `operation` field or started by automated sync and self-heal), deletes
//! resources of applications deleted with the resources finalizer, and enforces
//! AppProjects.
//!
//! Pieces the reconcile loop calls:
//! - [`webhook`]: Git push events from GitHub, GitLab, Bitbucket Cloud and Gitea, with
//!   their signature or secret checks, served at `POST /api/webhook`;
//! - [`metrics`]: Argo CD's Prometheus metrics (`argocd_app_info`, `argocd_app_sync_total`,
//!   `argocd_app_reconcile`, ...) served at `GET /metrics`.
#![deny(missing_docs)]

mod controller;
pub mod metrics;
mod operation;
mod reconcile;
mod rendering;
mod status;
pub mod webhook;

pub use controller::{AppRef, Controller, ControllerConfig, ControllerError, SHUTDOWN_GRACE};
pub use metrics::{AppInfoLabels, K8sRequestLabels, Metrics, SyncLabels, metrics_router};
pub use reconcile::{RESOURCES_FINALIZER, RESOURCES_FINALIZER_BACKGROUND};
pub use webhook::{
    GitProvider, PushEvent, WebhookError, WebhookSecrets, parse_push_events, repo_url_matches,
    webhook_router,
};
