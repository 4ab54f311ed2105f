//! Signed tokens: HS256 JWTs with `iss: argocd`, `sub`, `iat`, `nbf`, `exp` and `jti`, signed
//! with `server.secretkey` from `argocd-secret`, as Argo CD issues them.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The issuer of every token ferrocd signs.
pub const ISSUER: &str = "argocd";

/// The claims of a token ferrocd issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer (`argocd`).
    pub iss: String,
    /// Subject: `admin`, `<account>`, `<account>:apiKey` or `proj:<project>:<role>`.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    #[serde(default)]
    pub nbf: i64,
    /// Expires at (Unix seconds); absent for tokens that never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Token ID.
    pub jti: String,
    /// What the identity provider said about the user, for single sign-on sessions only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<SsoClaims>,
}

/// The identity provider's word on a single sign-on user, kept in the session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoClaims {
    /// The provider's issuer URL.
    pub issuer: String,
    /// The provider's `sub`: the RBAC user.
    pub subject: String,
    /// The ID token's claims about the user that are strings, booleans or lists of strings
    /// (`groups`, `email`, `name`…); RBAC `scopes` name which of them are groups.
    #[serde(default)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl SsoClaims {
    /// The values of the claims named by `scopes` (`[groups, email]`): a string is one value, a
    /// list of strings each of its items.
    pub fn groups(&self, scopes: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for scope in scopes {
            let values: Vec<&str> = match self.claims.get(scope) {
                Some(serde_json::Value::String(s)) => vec![s.as_str()],
                Some(serde_json::Value::Array(items)) => {
                    items.iter().filter_map(serde_json::Value::as_str).collect()
                }
                _ => Vec::new(),
            };
            for v in values {
                if !v.is_empty() && !out.iter().any(|o| o == v) {
                    out.push(v.to_string());
                }
            }
        }
        out
    }

    /// The name shown in audit lines and `initiatedBy`: `email`, else `preferred_username`,
    /// else `name`, else the subject.
    pub fn display_name(&self) -> String {
        ["email", "preferred_username", "name"]
            .iter()
            .find_map(|k| {
                self.claims
                    .get(*k)
                    .and_then(serde_json::Value::as_str)
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or(&self.subject)
            .to_string()
    }
}

/// Why a token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The signature, format or issuer is wrong.
    #[error("the token is invalid")]
    Invalid,
    /// `exp` is in the past.
    #[error("the token has expired")]
    Expired,
    /// Signing failed.
    #[error("signing a token failed")]
    Signing,
}

/// The key that signs and verifies tokens.
#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(<redacted>)")
    }
}

impl TokenSigner {
    /// A signer for the secret key.
    pub fn new(secret: &[u8]) -> TokenSigner {
        TokenSigner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Signs claims.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|_| TokenError::Signing)
    }

    /// Verifies the signature, the issuer and the times (`now` in Unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if let Some(exp) = claims.exp
            && exp <= now
        {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now + 60 {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: Option<i64>) -> Claims {
        Claims {
            iss: ISSUER.into(),
            sub: "admin".into(),
            iat: 1_000,
            nbf: 1_000,
            exp,
            jti: "a1".into(),
            sso: None,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let signer = TokenSigner::new(b"mlops-secret-key-0123456789");
        let token = signer.sign(&claims(Some(2_000))).expect("signs");
        assert_eq!(
            signer.verify(&token, 1_500).expect("valid"),
            claims(Some(2_000))
        );
        assert_eq!(signer.verify(&token, 2_000), Err(TokenError::Expired));
        let forever = signer.sign(&claims(None)).expect("signs");
        assert!(signer.verify(&forever, 9_999_999_999).is_ok());
    }

    #[test]
    fn wrong_key_issuer_or_garbage_is_invalid() {
        let signer = TokenSigner::new(b"key-one");
        let other = TokenSigner::new(b"key-two");
        let token = signer.sign(&claims(None)).expect("signs");
        assert_eq!(other.verify(&token, 1_500), Err(TokenError::Invalid));
        let mut foreign = claims(None);
        foreign.iss = "dex".into();
        let token = signer.sign(&foreign).expect("signs");
        assert_eq!(signer.verify(&token, 1_500), Err(TokenError::Invalid));
        assert_eq!(signer.verify("not.a.jwt", 1_500), Err(TokenError::Invalid));
        assert!(format!("{signer:?}").contains("redacted"));
    }
}
