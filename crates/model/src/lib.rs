//! ferrocd-model: the Argo CD-compatible resource types (`Application`, `AppProject`,
//! repository and cluster Secrets) and the vocabulary every layer of ferrocd shares:
//! [`ResourceKey`], the `argocd.argoproj.io/*` annotations, [`HealthStatus`] and
//! [`SyncStatusCode`].
#![deny(missing_docs)]

pub mod annotations;
mod health;
mod key;
mod sync_status;

pub use health::HealthStatus;
pub use key::ResourceKey;
pub use sync_status::SyncStatusCode;
