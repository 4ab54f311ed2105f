//! ferrocd-controller: keeps Applications in sync with their clusters.
//!
//! Pieces the reconcile loop calls:
//! - [`webhook`]: Git push events from GitHub, GitLab, Bitbucket Cloud and Gitea, with
//!   their signature or secret checks, served at `POST /api/webhook`;
//! - [`metrics`]: Argo CD's Prometheus metrics (`argocd_app_info`, `argocd_app_sync_total`,
//!   `argocd_app_reconcile`, ...) served at `GET /metrics`.
#![deny(missing_docs)]

pub mod metrics;
pub mod webhook;

pub use metrics::{AppInfoLabels, K8sRequestLabels, Metrics, SyncLabels, metrics_router};
pub use webhook::{
    GitProvider, PushEvent, WebhookError, WebhookSecrets, parse_push_events, repo_url_matches,
    webhook_router,
};
