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
