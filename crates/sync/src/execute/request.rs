//! Retries of single API requests: transient errors (5xx, 429, a 409 conflict on update,
//! transport failures, requests that time out) are retried with a short exponential
//! backoff; everything else is returned at once.

use std::future::Future;
use std::time::Duration;

use ferrocd_cluster::ClusterError;

use super::{Interrupted, Run};

/// How single requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPolicy {
    /// Attempts per request (1: no retry).
    pub attempts: u32,
    /// Delay before the first retry; doubled after every retry.
    pub initial_backoff: Duration,
    /// Upper bound of the delay.
    pub max_backoff: Duration,
    /// Time limit of one request.
    pub timeout: Duration,
}

impl Default for RequestPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(15),
        }
    }
}

impl RequestPolicy {
    /// The delay before retry number `retry` (0-based).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Whether a failed request is worth sending again: the cluster's notion of transient,
/// except a 409 that says the object already exists (a create, not a conflict).
pub(crate) fn is_retryable(err: &ClusterError) -> bool {
    match err {
        ClusterError::Api {
            code: 409, reason, ..
        } => reason != "AlreadyExists",
        other => other.is_transient(),
    }
}

/// A request that failed for good, or an interrupted operation.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// The last error of the request.
    Cluster(ClusterError),
    /// Termination or the deadline interrupted the retries.
    Interrupted(Interrupted),
}

impl Run<'_> {
    /// Sends a request, retrying transient failures per the request policy.
    pub(crate) async fn request<T, F, Fut>(&self, mut send: F) -> Result<T, RequestError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ClusterError>>,
    {
        let policy = self.opts.request;
        let mut retry = 0;
        loop {
            let outcome = match tokio::time::timeout(policy.timeout, send()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(ClusterError::Unreachable {
                    server: self.cluster.server().to_string(),
                    message: format!("request timed out after {}s", policy.timeout.as_secs_f64()),
                }),
            };
            match outcome {
                Ok(value) => return Ok(value),
                Err(err) if is_retryable(&err) && retry + 1 < policy.attempts => {
                    tracing::debug!(error = %err, retry, "transient API error; retrying");
                    match self.sleep(policy.backoff(retry)).await {
                        Ok(()) => {}
                        // Out of time: the last error says more than "timed out".
                        Err(Interrupted::TimedOut) => return Err(RequestError::Cluster(err)),
                        Err(i) => return Err(RequestError::Interrupted(i)),
                    }
                    retry += 1;
                }
                Err(err) => return Err(RequestError::Cluster(err)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocd_model::ResourceKey;

    fn api(code: u16, reason: &str) -> ClusterError {
        ClusterError::Api {
            verb: "apply",
            key: Box::new(ResourceKey::new("", "ConfigMap", "ml", "a")),
            code,
            reason: reason.into(),
            message: String::new(),
        }
    }

    #[test]
    fn retryable_errors() {
        assert!(is_retryable(&api(503, "ServiceUnavailable")));
        assert!(is_retryable(&api(429, "TooManyRequests")));
        assert!(is_retryable(&api(409, "Conflict")));
        assert!(is_retryable(&api(0, "")));
        assert!(!is_retryable(&api(409, "AlreadyExists")));
        assert!(!is_retryable(&api(422, "Invalid")));
        assert!(!is_retryable(&api(404, "NotFound")));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RequestPolicy::default();
        assert_eq!(p.backoff(0), Duration::from_millis(100));
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(800));
        assert_eq!(p.backoff(10), Duration::from_secs(2));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(2));
    }
}
