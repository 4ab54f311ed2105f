//! Errors of the server: [`ServerError`] for starting and running it, [`ApiError`] for one
//! request (turned into an HTTP status and an Argo CD-shaped JSON body).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::AuthError;
use crate::rbac::RbacError;

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Building the Kubernetes client failed.
    #[error("connecting to the Kubernetes API")]
    Client(#[source] kube::Error),
    /// A Kubernetes API call failed.
    #[error("{action}")]
    Kube {
        /// What was being done.
        action: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// Binding the listen address failed.
    #[error("listening on {addr}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Serving HTTP failed.
    #[error("serving HTTP")]
    Serve(#[source] std::io::Error),
    /// `argocd-rbac-cm` is invalid.
    #[error("reading argocd-rbac-cm")]
    Rbac(#[source] RbacError),
    /// `argocd-cm` or `argocd-secret` is invalid.
    #[error("reading the authentication settings")]
    Auth(#[source] AuthError),
    /// An object read from the cluster does not have the expected shape.
    #[error("reading {what}: {message}")]
    Malformed {
        /// Which object.
        what: String,
        /// What is wrong.
        message: String,
    },
}

/// A request that failed, with the HTTP status it answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Message for the caller (never a secret).
    pub message: String,
    /// Seconds to wait before retrying (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 401.
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403 for `(resource, action, object)`.
    pub fn permission_denied(resource: &str, action: &str, object: &str, user: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!("permission denied: {resource}, {action}, {object}, sub: {user}"),
        )
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// 500 for a failure the caller cannot fix; the detail goes to the log.
    pub fn internal(action: &str, detail: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(action, error = %detail, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{action} failed"),
        )
    }

    /// Maps a Kubernetes API error: 404, 409 and 422 keep their meaning.
    pub fn kube(action: &str, err: kube::Error) -> ApiError {
        match &err {
            kube::Error::Api(status) => match status.code {
                404 => ApiError::not_found(format!("{action}: {}", status.message)),
                409 => ApiError::conflict(format!("{action}: {}", status.message)),
                400 | 422 => ApiError::bad_request(format!("{action}: {}", status.message)),
                _ => ApiError::internal(action, &err),
            },
            _ => ApiError::internal(action, &err),
        }
    }

    /// gRPC code, as Argo CD's REST gateway reports it.
    fn grpc_code(&self) -> u16 {
        match self.status {
            StatusCode::BAD_REQUEST => 3,
            StatusCode::NOT_FOUND => 5,
            StatusCode::CONFLICT => 6,
            StatusCode::FORBIDDEN => 7,
            StatusCode::TOO_MANY_REQUESTS => 8,
            StatusCode::NOT_IMPLEMENTED => 12,
            StatusCode::UNAUTHORIZED => 16,
            _ => 13,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> ApiError {
        match err {
            AuthError::TooManyAttempts { retry_after } => ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: err.to_string(),
                retry_after: Some(retry_after.as_secs().max(1)),
            },
            AuthError::InvalidCredentials
            | AuthError::InvalidToken { .. }
            | AuthError::Expired
            | AuthError::Revoked => ApiError::unauthenticated(err.to_string()),
            AuthError::Settings { .. } | AuthError::Hashing | AuthError::Signing => {
                ApiError::internal("authentication", &err)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": self.message, "code": self.grpc_code(), "message": self.message});
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn auth_errors_map_to_401_and_429() {
        assert_eq!(
            ApiError::from(AuthError::InvalidCredentials).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            ApiError::from(AuthError::Expired).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            ApiError::from(AuthError::Revoked).status,
            StatusCode::UNAUTHORIZED
        );
        let limited = ApiError::from(AuthError::TooManyAttempts {
            retry_after: Duration::from_millis(1500),
        });
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.retry_after, Some(1));
        let response = limited.into_response();
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "1");
        let hidden = ApiError::from(AuthError::Settings {
            key: "server.secretkey".into(),
            message: "missing".into(),
        });
        assert_eq!(hidden.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!hidden.message.contains("secretkey"), "{}", hidden.message);
    }

    #[test]
    fn grpc_codes_follow_argo() {
        let code = |e: ApiError| e.grpc_code();
        assert_eq!(code(ApiError::unauthenticated("x")), 16);
        assert_eq!(
            code(ApiError::permission_denied(
                "applications",
                "get",
                "ml/a",
                "bob"
            )),
            7
        );
        assert_eq!(code(ApiError::not_found("x")), 5);
        assert_eq!(code(ApiError::bad_request("x")), 3);
        assert_eq!(
            ApiError::permission_denied("applications", "sync", "ml/mlflow", "alice").message,
            "permission denied: applications, sync, ml/mlflow, sub: alice"
        );
    }
}
