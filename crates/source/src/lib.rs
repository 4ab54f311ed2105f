//! ferrocd-source: Git sources for ferrocd.
//!
//! - [`RepoCache`] keeps one bare mirror per normalized repository URL, resolves revisions
//!   (branches, tags, full or short commit ids, `HEAD`, other full ref names such as
//!   `refs/pull/7/head`, version constraints over tags) to commits, and materializes commits
//!   as immutable directories ([`RepoCache::snapshot`]) or reads single files from the
//!   object database ([`RepoCache::read_file`]). It is `Send + Sync`; concurrent requests
//!   for one repository share one fetch.
//! - Transports: `file://` and local paths, smart HTTP(S) with basic auth, a token as
//!   password, or a bearer token, and SSH with a private key, all through `gix`. HTTPS
//!   honours `insecure`, extra CA certificates per host ([`CacheOptions::tls_certs`]),
//!   client certificates and proxies through the HTTP client that gix drives.
//! - No `git` CLI fallback is needed or used by the library: gix fetches, reads refs and
//!   objects. Like Git, gix runs the `ssh` program for SSH and `git-upload-pack` for local
//!   repositories, so those must be installed.
//! - [`CredentialStore`] reads Argo CD repository Secrets (`repository` and `repo-creds`)
//!   or a local credentials file; see [`credentials`] and [`CredentialStore::from_file`]
//!   for the file format.
//! - [`HelmRepoClient`] fetches charts from Helm repositories ([`helm_repo`]: `index.yaml`,
//!   version constraints, digest check, basic auth) and OCI registries ([`oci`]: the
//!   distribution API with anonymous, basic and bearer-token auth), cached on disk.
//! - [`constraint`] implements Helm-style (Masterminds) version constraints, shared with
//!   Helm chart version selection.
//!
//! No credential ever appears in an error message or log line: URLs are printed without
//! user-info and transport messages are scrubbed of the secrets in use.
//!
//! Not supported yet: Git LFS, submodule contents (gitlinks become empty directories),
//! GitHub App credentials, garbage collection of old snapshots.
//!
//! With the `test-util` feature, the `testing` module provides a smart-HTTP(S) Git server on
//! loopback (Git's `git-http-backend` as CGI) and fixture repositories built by shell
//! scripts run with real `git`.
#![deny(missing_docs)]

mod cache;
pub mod constraint;
pub mod credentials;
mod error;
mod fetch;
pub mod helm_repo;
mod http_client;
pub mod oci;
mod revision;
mod snapshot;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod url;

pub use cache::{CacheOptions, Checkout, PathTree, RepoCache, Resolved, RevisionKind};
pub use constraint::{Constraint, ConstraintError, is_constraint};
pub use credentials::{
    Credential, CredentialError, CredentialStore, RepoKind, RepositoryEntry, Secret,
};
pub use error::SourceError;
pub use fetch::HostKeyPolicy;
pub use helm_repo::{FetchOptions, FetchedChart, HelmIndex, HelmRepoClient, HelmRepoOptions};
pub use url::{RepoUrl, Scheme, UrlError};
