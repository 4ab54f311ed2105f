//! ferrocd-source: Git sources for ferrocd.
//!
//! - [`RepoCache`] keeps one bare mirror per normalized repository URL, resolves revisions
//!   (branches, tags, full or short commit ids, `HEAD`, version constraints over tags) to
//!   commits, and materializes commits as immutable directories. It is `Send + Sync`;
//!   concurrent requests for one repository share one fetch.
//! - Transports: `file://` and local paths, smart HTTP(S) with basic auth or a token, and
//!   SSH with a private key, all through `gix`. The `git` CLI is not used by the library
//!   (gix spawns `ssh` for SSH and `git-upload-pack` for local repositories, as Git does).
//! - [`CredentialStore`] reads Argo CD repository Secrets (`repository` and `repo-creds`)
//!   or a local credentials file; see [`credentials`] for the file format.
//! - [`constraint`] implements Helm-style (Masterminds) version constraints, shared with
//!   Helm chart version selection.
//!
//! No credential ever appears in an error message or log line: URLs are printed without
//! user-info and transport messages are scrubbed of the secrets in use.
//!
//! Not supported yet: Git LFS, submodule contents (gitlinks become empty directories),
//! TLS client certificates, GitHub App credentials.
//!
//! With the `test-util` feature, [`testing`] provides a smart-HTTP Git server on loopback
//! (Debian's `git http-backend`) and fixture repositories built by shell scripts.
#![deny(missing_docs)]

mod cache;
pub mod constraint;
pub mod credentials;
mod error;
mod fetch;
mod http_client;
mod snapshot;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod url;

pub use cache::{CacheOptions, Checkout, RepoCache, Resolved, RevisionKind};
pub use constraint::{Constraint, ConstraintError, is_constraint};
pub use credentials::{
    Credential, CredentialError, CredentialStore, RepoKind, RepositoryEntry, Secret,
};
pub use error::SourceError;
pub use fetch::HostKeyPolicy;
pub use url::{RepoUrl, Scheme, UrlError};
