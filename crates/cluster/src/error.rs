use ferrocd_model::ResourceKey;

/// What went wrong talking to a cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig could not be read or has no usable context.
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig {
        /// The file (or `in-cluster`, or the cluster Secret).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The API server could not be reached or discovery failed.
    #[error("cluster {server}: {message}")]
    Unreachable {
        /// Server URL.
        server: String,
        /// What failed.
        message: String,
    },
    /// The cluster does not serve this kind.
    #[error(
        "the server {server} does not serve kind {kind} in group {group:?} (is its CRD installed?)"
    )]
    UnknownKind {
        /// Server URL.
        server: String,
        /// API group.
        group: String,
        /// Kind.
        kind: String,
    },
    /// The object has no usable identity (apiVersion, kind, metadata.name).
    #[error("invalid object {key}: {message}")]
    InvalidObject {
        /// The object as far as it could be identified.
        key: Box<ResourceKey>,
        /// What is missing.
        message: String,
    },
    /// The API server rejected a request.
    #[error("{verb} {key}: {message}")]
    Api {
        /// The verb (`apply`, `create`, `get`, …).
        verb: &'static str,
        /// The object.
        key: Box<ResourceKey>,
        /// HTTP status code (0 when the request never got an answer).
        code: u16,
        /// The Status reason (`Conflict`, `Invalid`, …), empty when unknown.
        reason: String,
        /// The server's message.
        message: String,
    },
    /// No destination cluster matches an Application's destination.
    #[error("{0}")]
    UnknownDestination(String),
}

impl ClusterError {
    /// The HTTP status code of an API error (0 otherwise).
    pub fn code(&self) -> u16 {
        match self {
            ClusterError::Api { code, .. } => *code,
            _ => 0,
        }
    }

    /// Whether retrying the same request may succeed: server errors, throttling,
    /// timeouts, conflicts on optimistic concurrency and transport failures.
    pub fn is_transient(&self) -> bool {
        match self {
            ClusterError::Api { code, .. } => {
                *code == 0 || *code == 409 || *code == 429 || *code >= 500
            }
            ClusterError::Unreachable { .. } => true,
            _ => false,
        }
    }

    /// Whether the object does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == 404
    }

    pub(crate) fn api(verb: &'static str, key: &ResourceKey, err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => ClusterError::Api {
                verb,
                key: Box::new(key.clone()),
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => ClusterError::Api {
                verb,
                key: Box::new(key.clone()),
                code: 0,
                reason: String::new(),
                message: other.to_string(),
            },
        }
    }
}
