//! `Status` error bodies, shaped like kube-apiserver's.

use serde_json::{Value, json};

use crate::resources::ResourceType;

/// An API error: an HTTP code, a `Status` reason, a message and optional details.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `Status.reason`, such as `NotFound`.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// `Status.details`, when kube-apiserver sets them.
    pub details: Option<Box<Value>>,
}

fn details(rt: &ResourceType, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": rt.plural});
    if !rt.group.is_empty() {
        d["group"] = json!(rt.group);
    }
    d
}

impl ApiError {
    fn new(code: u16, reason: &str, message: impl Into<String>, details: Option<Value>) -> Self {
        ApiError {
            code,
            reason: reason.to_string(),
            message: message.into(),
            details: details.map(Box::new),
        }
    }

    /// 404 for a named object.
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", rt.qualified(), name),
            Some(details(rt, name)),
        )
    }

    /// 404 for a missing namespace.
    pub fn namespace_not_found(name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("namespaces \"{name}\" not found"),
            Some(json!({"name": name, "kind": "namespaces"})),
        )
    }

    /// 404 for an unknown path or resource.
    pub fn no_resource() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        )
    }

    /// 409 AlreadyExists.
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", rt.qualified(), name),
            Some(details(rt, name)),
        )
    }

    /// 409 Conflict with a message after the standard prefix.
    pub fn conflict(rt: &ResourceType, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                rt.qualified(),
                name,
                why
            ),
            Some(details(rt, name)),
        )
    }

    /// 409 Conflict for a stale resourceVersion.
    pub fn stale(rt: &ResourceType, name: &str) -> Self {
        Self::conflict(
            rt,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 409 Conflict from server-side apply, with the conflicting fields as causes.
    pub fn apply_conflict(
        rt: &ResourceType,
        name: &str,
        message: String,
        causes: Vec<Value>,
    ) -> Self {
        let mut d = details(rt, name);
        d["causes"] = Value::Array(causes);
        Self::new(409, "Conflict", message, Some(d))
    }

    /// 422 Invalid with one cause per `(field, reason, message)`.
    pub fn invalid(rt: &ResourceType, name: &str, causes: &[(String, &str, String)]) -> Self {
        let text: Vec<String> = causes
            .iter()
            .map(|(field, _, msg)| format!("{field}: {msg}"))
            .collect();
        let message = if text.len() == 1 {
            format!(
                "{} \"{}\" is invalid: {}",
                rt.qualified_kind(),
                name,
                text[0]
            )
        } else {
            format!(
                "{} \"{}\" is invalid: [{}]",
                rt.qualified_kind(),
                name,
                text.join(", ")
            )
        };
        let mut d = json!({"name": name, "kind": rt.kind});
        if !rt.group.is_empty() {
            d["group"] = json!(rt.group);
        }
        d["causes"] = Value::Array(
            causes
                .iter()
                .map(|(field, reason, msg)| json!({"reason": reason, "message": msg, "field": field}))
                .collect(),
        );
        Self::new(422, "Invalid", message, Some(d))
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message, None)
    }

    /// 403 Forbidden because the namespace is terminating.
    pub fn namespace_terminating(rt: &ResourceType, name: &str, namespace: &str) -> Self {
        let mut d = details(rt, name);
        d["causes"] = json!([{"reason": "NamespaceTerminating",
            "message": format!("namespace {namespace} is being terminated"),
            "field": "metadata.namespace"}]);
        Self::new(
            403,
            "Forbidden",
            format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {} because it is being terminated",
                rt.qualified(),
                name,
                namespace
            ),
            Some(d),
        )
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message, Some(json!({})))
    }

    /// 410 Expired (too old resource version).
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message, None)
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message, None)
    }

    /// 401 Unauthorized.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized", None)
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {message}"),
            Some(json!({"causes": [{"message": message}]})),
        )
    }

    /// An injected server error with the given code (500, 503 or 504).
    pub fn injected(code: u16) -> Self {
        match code {
            503 => Self::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request (injected fault)",
                None,
            ),
            504 => Self::new(
                504,
                "Timeout",
                "the server was unable to return a response in the time allotted, but may still be processing the request (injected fault)",
                None,
            ),
            429 => Self::new(
                429,
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later (injected fault)",
                None,
            ),
            _ => Self::internal("injected fault"),
        }
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = (**d).clone();
        }
        s
    }
}

/// A `Status` of success (returned by some deletes).
pub fn success(rt: &ResourceType, name: &str, uid: &str) -> Value {
    let mut d = details(rt, name);
    d["uid"] = json!(uid);
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;

    #[test]
    fn not_found_body_matches_kube_apiserver() {
        let reg = Registry::builtin();
        let rt = reg.by_kind("apps/v1", "Deployment").expect("type");
        let s = ApiError::not_found(&rt, "mlflow").to_status();
        assert_eq!(
            s,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "deployments.apps \"mlflow\" not found", "reason": "NotFound",
                "details": {"name": "mlflow", "group": "apps", "kind": "deployments"}, "code": 404})
        );
    }

    #[test]
    fn injected_errors_use_kubernetes_reasons() {
        let cases = [
            (500, "InternalError"),
            (503, "ServiceUnavailable"),
            (504, "Timeout"),
            (429, "TooManyRequests"),
        ];
        for (code, reason) in cases {
            let e = ApiError::injected(code);
            assert_eq!((e.code, e.reason.as_str()), (code, reason));
            assert_eq!(e.to_status()["code"], code);
        }
    }

    #[test]
    fn invalid_lists_causes() {
        let reg = Registry::builtin();
        let rt = reg.by_kind("v1", "ConfigMap").expect("type");
        let e = ApiError::invalid(
            &rt,
            "Bad",
            &[(
                "metadata.name".into(),
                "FieldValueInvalid",
                "Invalid value: \"Bad\"".into(),
            )],
        );
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "ConfigMap \"Bad\" is invalid: metadata.name: Invalid value: \"Bad\""
        );
        assert_eq!(
            e.to_status()["details"]["causes"][0]["field"],
            "metadata.name"
        );
    }
}
