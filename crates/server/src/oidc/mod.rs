//! OpenID Connect single sign-on, configured as Argo CD's `oidc.config`.
//!
//! - [`config`]: `oidc.config` and its Secret references, pure.
//! - [`state`]: the signed, short-lived login state (state, nonce, PKCE verifier), pure.
//! - [`id_token`]: ID token verification against the provider's keys, pure.
//! - [`provider`]: discovery, keys, authorization URL and code exchange (HTTP).
//!
//! The routes are `GET /auth/login` and `GET /auth/callback` (in [`crate::api`]). A login ends
//! with a ferrocd session token whose [`crate::auth::SsoClaims`] keep the provider's subject
//! and the claims RBAC `scopes` may name (`groups`, `email`…).

pub mod config;
pub mod id_token;
pub mod provider;
pub mod state;

use serde_json::{Map, Value};

pub use config::{OidcConfig, SecretValue};
pub use id_token::IdTokenError;
pub use provider::{Provider, ProviderMetadata, Providers};
pub use state::{LoginState, StateError, safe_return_url};

use crate::auth::SsoClaims;

/// Errors of single sign-on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// `oidc.config` is malformed or references a missing Secret key.
    #[error("reading {field}: {message}")]
    Config {
        /// The setting and field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The provider could not be reached or answered something unusable.
    #[error("{action}: {message}")]
    Provider {
        /// What was being done (with the URL, never a code or secret).
        action: String,
        /// What went wrong.
        message: String,
    },
    /// The token endpoint refused the code.
    #[error("the provider refused the authorization code (HTTP {status}, {error})")]
    TokenExchange {
        /// HTTP status.
        status: u16,
        /// The OAuth `error` code.
        error: String,
    },
    /// The ID token does not verify.
    #[error("verifying the id token")]
    IdToken(#[source] IdTokenError),
}

/// Claims registered by JWT and OIDC that say nothing about the user.
const PROTOCOL_CLAIMS: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
    "auth_time",
    "sid",
];

/// The session claims of a verified ID token: its issuer and subject, and the claims about
/// the user that are strings or lists of strings (groups, email, name…).
pub fn sso_claims(issuer: &str, id_claims: &Map<String, Value>) -> SsoClaims {
    let mut claims = Map::new();
    for (name, value) in id_claims {
        if PROTOCOL_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        let keep = match value {
            Value::String(_) | Value::Bool(_) => true,
            Value::Array(items) => items.iter().all(Value::is_string),
            _ => false,
        };
        if keep {
            claims.insert(name.clone(), value.clone());
        }
    }
    SsoClaims {
        issuer: issuer.to_string(),
        subject: id_claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        claims,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn session_keeps_user_claims_only() {
        let id = json!({
            "iss": "https://id.example.com", "sub": "u-1", "aud": "ferrocd", "exp": 1, "iat": 1,
            "nonce": "n", "email": "dana@ml.example.com", "email_verified": true,
            "groups": ["ml-engineers", "gpu-users"], "address": {"country": "NL"}, "mixed": ["a", 1],
        });
        let sso = sso_claims("https://id.example.com", id.as_object().expect("object"));
        assert_eq!(sso.subject, "u-1");
        let names: Vec<&str> = sso.claims.keys().map(String::as_str).collect();
        assert_eq!(names, vec!["email", "email_verified", "groups"]);
    }
}
