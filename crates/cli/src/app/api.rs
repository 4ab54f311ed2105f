//! The HTTP client of the ferrocd API server (Argo CD's REST paths under `/api/v1`).
//!
//! Every call returns the JSON body or an [`ApiFailure`]; [`ApiFailure::explain`] turns it
//! into a message that says what to do next (log in again, ask for a permission, list what
//! exists).

use std::time::Duration;

use anyhow::anyhow;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::Failure;
use crate::config::Session;

/// A connected client.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
    context: String,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .field("context", &self.context)
            .finish()
    }
}

/// A failed call.
#[derive(Debug)]
pub enum ApiFailure {
    /// The server could not be reached.
    Unreachable {
        /// The server's base URL.
        base: String,
        /// Why.
        message: String,
    },
    /// The server answered with an error status.
    Status {
        /// HTTP status.
        status: StatusCode,
        /// The server's message.
        message: String,
    },
}

impl ApiFailure {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiFailure::Status { status, .. } => Some(*status),
            ApiFailure::Unreachable { .. } => None,
        }
    }

    /// A message for the user: `doing` names the call, `not_found` is said for a 404.
    pub fn explain(self, client: &ApiClient, doing: &str, not_found: Option<String>) -> Failure {
        match self {
            ApiFailure::Unreachable { base, message } => anyhow!(
                "{doing}: cannot reach the ferrocd server at {base}: {message}; is it running? (`ferrocd login SERVER` to use another one, or --core to talk to Kubernetes)"
            )
            .into(),
            ApiFailure::Status { status, message } => match status {
                StatusCode::UNAUTHORIZED => anyhow!(
                    "{doing}: not logged in to {} ({message}); run `ferrocd login {}`",
                    client.base,
                    client.base.trim_start_matches("http://").trim_start_matches("https://")
                )
                .into(),
                StatusCode::FORBIDDEN => anyhow!(
                    "{doing}: {message}; ask an administrator to grant this permission in argocd-rbac-cm (policy.csv)"
                )
                .into(),
                StatusCode::NOT_FOUND => match not_found {
                    Some(text) => anyhow!("{text}").into(),
                    None => anyhow!("{doing}: {message}").into(),
                },
                _ => anyhow!("{doing}: {message} (HTTP {})", status.as_u16()).into(),
            },
        }
    }
}

impl ApiClient {
    /// A client for a session.
    pub fn new(session: &Session) -> Result<ApiClient, Failure> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .tls_danger_accept_invalid_certs(session.insecure)
            .build()
            .map_err(|e| anyhow!("building the HTTP client: {e}"))?;
        Ok(ApiClient {
            http,
            base: session.base_url.clone(),
            token: session.token.clone(),
            context: session.context.clone(),
        })
    }

    /// The URL of `/api/v1/<segments...>`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Result<reqwest::Url, ApiFailure> {
        let mut url = reqwest::Url::parse(&format!("{}/", self.base)).map_err(|e| {
            ApiFailure::Unreachable {
                base: self.base.clone(),
                message: format!("not a URL: {e}"),
            }
        })?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| ApiFailure::Unreachable {
                    base: self.base.clone(),
                    message: "not a base URL".into(),
                })?;
            path.pop_if_empty().push("api").push("v1");
            for s in segments {
                path.push(s);
            }
        }
        Ok(url)
    }

    /// Calls `METHOD /api/v1/<segments>?<query>` with an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiFailure> {
        let url = self.url(segments)?;
        let mut request = self.http.request(method, url).query(query);
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            request = request.json(b);
        }
        let response = request.send().await.map_err(|e| ApiFailure::Unreachable {
            base: self.base.clone(),
            message: error_text(&e),
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| ApiFailure::Unreachable {
            base: self.base.clone(),
            message: error_text(&e),
        })?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let message = value
            .get("message")
            .or_else(|| value.get("error"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| value.as_str().map(str::to_string))
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| status.to_string());
        Err(ApiFailure::Status { status, message })
    }

    /// GET, with a message for failures.
    pub async fn get(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
        doing: &str,
        not_found: Option<String>,
    ) -> Result<Value, Failure> {
        self.call(Method::GET, segments, query, None)
            .await
            .map_err(|e| e.explain(self, doing, not_found))
    }

    /// Any method with a JSON body, with a message for failures.
    pub async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        doing: &str,
        not_found: Option<String>,
    ) -> Result<Value, Failure> {
        self.call(method, segments, query, body)
            .await
            .map_err(|e| e.explain(self, doing, not_found))
    }

    /// `items` of a list answer.
    pub async fn items(&self, segments: &[&str], doing: &str) -> Result<Vec<Value>, Failure> {
        let list = self.get(segments, &[], doing, None).await?;
        Ok(list
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }
}

/// A reqwest error with its causes, on one line.
fn error_text(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

/// `POST /api/v1/session`: a token for the account.
pub async fn login(session: &Session, username: &str, password: &str) -> Result<String, Failure> {
    let client = ApiClient::new(session)?;
    let body = serde_json::json!({"username": username, "password": password});
    let answer = client
        .call(Method::POST, &["session"], &[], Some(&body))
        .await;
    match answer {
        Ok(v) => v
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                anyhow!("the server at {} answered without a token", client.base).into()
            }),
        Err(ApiFailure::Status { status, message }) if status == StatusCode::UNAUTHORIZED => {
            Err(anyhow!("login to {} as {username} failed: {message}", client.base).into())
        }
        Err(e) => Err(e.explain(&client, &format!("logging in as {username}"), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ApiClient {
        let session = Session {
            context: "ml-prod".into(),
            base_url: "https://cd.ml.example.com".into(),
            insecure: false,
            username: "alice".into(),
            token: "secret-token".into(),
        };
        match ApiClient::new(&session) {
            Ok(c) => c,
            Err(f) => panic!("{}", f.message()),
        }
    }

    fn status(code: StatusCode, message: &str) -> ApiFailure {
        ApiFailure::Status {
            status: code,
            message: message.into(),
        }
    }

    #[test]
    fn failures_say_what_to_do_next() {
        let c = client();
        let unauthorized = status(StatusCode::UNAUTHORIZED, "token is expired")
            .explain(&c, "listing applications", None)
            .message();
        assert!(
            unauthorized.contains("run `ferrocd login cd.ml.example.com`"),
            "{unauthorized}"
        );
        let forbidden = status(
            StatusCode::FORBIDDEN,
            "permission denied: applications, sync, ml/mlflow, sub: alice",
        )
        .explain(&c, "requesting a sync", None)
        .message();
        assert!(
            forbidden.contains("permission denied: applications, sync, ml/mlflow")
                && forbidden.contains("argocd-rbac-cm"),
            "{forbidden}"
        );
        let missing = status(StatusCode::NOT_FOUND, "not found")
            .explain(&c, "reading", Some("application 'x' not found".into()))
            .message();
        assert_eq!(missing, "application 'x' not found");
        let other = status(
            StatusCode::BAD_REQUEST,
            "another operation is already in progress",
        )
        .explain(&c, "requesting a sync", None)
        .message();
        assert!(other.contains("HTTP 400"), "{other}");
        let down = ApiFailure::Unreachable {
            base: "https://cd.ml.example.com".into(),
            message: "connection refused".into(),
        }
        .explain(&c, "listing applications", None)
        .message();
        assert!(
            down.contains("is it running") && down.contains("--core"),
            "{down}"
        );
        assert!(!format!("{c:?}").contains("secret-token"));
    }

    #[test]
    fn path_segments_are_encoded() {
        let c = client();
        let url = c
            .url(&["repositories", "https://git.example.com/ml/charts.git"])
            .map(|u| u.to_string())
            .unwrap_or_default();
        assert_eq!(
            url,
            "https://cd.ml.example.com/api/v1/repositories/https:%2F%2Fgit.example.com%2Fml%2Fcharts.git"
        );
    }
}
