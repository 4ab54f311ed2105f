//! The errors of Git source operations.
//!
//! Every message names the repository by its URL with user-info stripped, and no variant
//! ever carries a credential: causes coming from the transport are scrubbed of the secrets
//! that were in use before they are stored (see [`scrub`]).

use std::path::PathBuf;
use std::sync::Arc;

use crate::constraint::ConstraintError;
use crate::credentials::CredentialError;
use crate::url::UrlError;

/// What went wrong while resolving, fetching or materializing a repository.
///
/// Errors are cheap to clone so that one failed fetch can be reported to every caller
/// that was waiting on it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// The URL could not be understood.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// Credentials could not be loaded.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// No branch, tag or commit matches the revision.
    #[error("repository {url}: revision {revision:?} not found (no branch, tag or commit matches)")]
    RevisionNotFound {
        /// The repository, without user-info.
        url: String,
        /// The revision as requested.
        revision: String,
    },
    /// A version constraint matched none of the repository's tags.
    #[error("repository {url}: no tag matches version constraint {constraint:?}")]
    NoMatchingTag {
        /// The repository, without user-info.
        url: String,
        /// The constraint as requested.
        constraint: String,
    },
    /// A revision looked like a version constraint but is not a valid one.
    #[error("repository {url}: invalid revision {revision:?}")]
    InvalidConstraint {
        /// The repository, without user-info.
        url: String,
        /// The revision as requested.
        revision: String,
        /// Why the constraint was rejected.
        #[source]
        source: ConstraintError,
    },
    /// An abbreviated commit id matches more than one object.
    #[error(
        "repository {url}: revision {revision:?} is ambiguous (several objects share this prefix)"
    )]
    AmbiguousRevision {
        /// The repository, without user-info.
        url: String,
        /// The abbreviated id.
        revision: String,
    },
    /// A snapshot was requested for something that is not a full commit id.
    #[error("repository {url}: {commit:?} is not a full commit id")]
    NotACommitId {
        /// The repository, without user-info.
        url: String,
        /// The value given.
        commit: String,
    },
    /// The remote could not be reached or the transfer failed.
    #[error("repository {url}: unreachable: {cause}")]
    Unreachable {
        /// The repository, without user-info.
        url: String,
        /// The transport's explanation, on one line, scrubbed of secrets.
        cause: String,
    },
    /// The remote refused the credentials (or demanded some and none were configured).
    #[error("repository {url}: authentication failed")]
    AuthenticationFailed {
        /// The repository, without user-info.
        url: String,
    },
    /// The local object database or cache could not be read or written.
    #[error("repository {url}: {action}: {cause}")]
    Git {
        /// The repository, without user-info.
        url: String,
        /// What was being done.
        action: &'static str,
        /// The underlying explanation, scrubbed of secrets.
        cause: String,
    },
    /// A file system operation in the cache failed.
    #[error("repository {url}: {action} {path}")]
    Io {
        /// The repository, without user-info.
        url: String,
        /// What was being done (`"creating"`, `"writing"`, ...).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A Helm repository's `index.yaml` (or one of its entries) is not usable.
    #[error("repository {url}: invalid index.yaml: {message}")]
    HelmIndex {
        /// The repository, without user-info.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A Helm repository or OCI registry has no chart of that name.
    #[error("repository {url}: chart {chart:?} not found (charts: {})", available.join(", "))]
    ChartNotFound {
        /// The repository, without user-info.
        url: String,
        /// The chart asked for.
        chart: String,
        /// The charts the repository has.
        available: Vec<String>,
    },
    /// No version of the chart matches the requested version or constraint.
    #[error("repository {url}: chart {chart:?} has no version matching {version:?} (available: {})", available.join(", "))]
    ChartVersionNotFound {
        /// The repository, without user-info.
        url: String,
        /// The chart.
        chart: String,
        /// The version or constraint asked for.
        version: String,
        /// The versions that exist, highest first.
        available: Vec<String>,
    },
    /// A downloaded chart archive does not have the digest its index or manifest names.
    #[error(
        "{url}: chart {chart} {version}: digest mismatch (expected sha256 {expected}, downloaded {actual})"
    )]
    DigestMismatch {
        /// The archive URL, without user-info.
        url: String,
        /// The chart.
        chart: String,
        /// The version.
        version: String,
        /// The digest the index or manifest names.
        expected: String,
        /// The digest of what was downloaded.
        actual: String,
    },
    /// An HTTP request failed with a status other than an authentication refusal.
    #[error("{url}: HTTP status {status}")]
    HttpStatus {
        /// The URL, without user-info.
        url: String,
        /// The status code.
        status: u16,
    },
    /// An OCI registry answered with something that is not a Helm chart.
    #[error("{reference}: {message}")]
    Oci {
        /// The chart reference (`oci://registry/repo/chart:tag`).
        reference: String,
        /// What is wrong.
        message: String,
    },
    /// A tree entry would escape or corrupt the snapshot directory.
    #[error("repository {url}: commit {commit}: unsafe tree entry {name:?}")]
    UnsafeTreeEntry {
        /// The repository, without user-info.
        url: String,
        /// The commit being materialized.
        commit: String,
        /// The entry name.
        name: String,
    },
}

impl SourceError {
    pub(crate) fn io(
        url: &str,
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> SourceError {
        SourceError::Io {
            url: url.to_string(),
            action,
            path: path.into(),
            source: Arc::new(source),
        }
    }

    /// Whether retrying later may succeed (the network or the remote was at fault), as
    /// opposed to a request that can never succeed as written.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SourceError::Unreachable { .. } | SourceError::Io { .. } | SourceError::Git { .. }
        ) || matches!(self, SourceError::HttpStatus { status, .. } if *status >= 500 || *status == 429)
    }
}

/// Flattens an error chain into one line and removes every occurrence of `secrets`.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for secret in secrets {
        if secret.len() >= 3 {
            line = line.replace(secret, "***");
        }
    }
    crate::url::redact_all(&line)
}
