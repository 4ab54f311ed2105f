//! ID token verification, pure: the signature against the provider's JWKS (asymmetric
//! algorithms only: RS*, PS*, ES256/ES384), then `iss`, `aud` (and `azp` when there are
//! several audiences), `exp`, `iat` and `nonce`, each with its own error.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const LEEWAY_SECONDS: i64 = 60;

/// Why an ID token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// Not a JWT, or its header or claims do not parse.
    #[error("the id token is malformed")]
    Malformed,
    /// Signed with an algorithm ferrocd does not accept (symmetric, `none`, EdDSA...).
    #[error("the id token is signed with {alg}, which is not accepted")]
    Algorithm {
        /// The header's algorithm.
        alg: String,
    },
    /// No key of the provider's JWKS fits the token's `kid` and algorithm.
    #[error("no key of the provider's key set matches the id token (kid {kid:?})")]
    UnknownKey {
        /// The header's key ID.
        kid: Option<String>,
    },
    /// The signature does not verify.
    #[error("the id token signature is invalid")]
    Signature,
    /// `iss` is not the configured issuer.
    #[error("the id token issuer {found:?} is not {expected:?}")]
    Issuer {
        /// The configured issuer.
        expected: String,
        /// The token's `iss`.
        found: String,
    },
    /// `aud` does not contain the client ID, or `azp` names another client.
    #[error("the id token is not meant for client {client_id:?}")]
    Audience {
        /// The configured client ID.
        client_id: String,
    },
    /// `exp` is missing or past.
    #[error("the id token has expired")]
    Expired,
    /// `iat` is in the future.
    #[error("the id token is issued in the future")]
    IssuedInFuture,
    /// `nonce` is not the one sent with the authorization request.
    #[error("the id token nonce does not match the login request")]
    Nonce,
    /// `sub` is missing or empty.
    #[error("the id token has no subject")]
    Subject,
}

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The configured issuer.
    pub issuer: &'a str,
    /// The configured client ID.
    pub client_id: &'a str,
    /// The nonce sent with the authorization request.
    pub nonce: &'a str,
    /// Unix seconds.
    pub now: i64,
}

/// Verifies `token` and returns its claims.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    expected: Expected<'_>,
) -> Result<Map<String, Value>, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    let alg = header.alg;
    if !matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::ES256
            | Algorithm::ES384
    ) {
        return Err(IdTokenError::Algorithm {
            alg: format!("{alg:?}"),
        });
    }
    let jwk = select_key(keys, header.kid.as_deref(), alg).ok_or(IdTokenError::UnknownKey {
        kid: header.kid.clone(),
    })?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| IdTokenError::UnknownKey {
        kid: header.kid.clone(),
    })?;
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => IdTokenError::Signature,
            _ => IdTokenError::Malformed,
        })?
        .claims;
    check_claims(&claims, expected)?;
    Ok(claims)
}

/// The claim checks, after the signature.
fn check_claims(claims: &Map<String, Value>, expected: Expected<'_>) -> Result<(), IdTokenError> {
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if iss != expected.issuer {
        return Err(IdTokenError::Issuer {
            expected: expected.issuer.to_string(),
            found: iss.to_string(),
        });
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let wrong_audience = || IdTokenError::Audience {
        client_id: expected.client_id.to_string(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(wrong_audience());
    }
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != expected.client_id => return Err(wrong_audience()),
        None if audiences.len() > 1 => return Err(wrong_audience()),
        _ => {}
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(IdTokenError::Expired)?;
    if exp.saturating_add(LEEWAY_SECONDS) <= expected.now {
        return Err(IdTokenError::Expired);
    }
    if let Some(iat) = claims.get("iat").and_then(Value::as_i64)
        && iat > expected.now.saturating_add(LEEWAY_SECONDS)
    {
        return Err(IdTokenError::IssuedInFuture);
    }
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !constant_time_eq(nonce.as_bytes(), expected.nonce.as_bytes()) {
        return Err(IdTokenError::Nonce);
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(IdTokenError::Subject);
    }
    Ok(())
}

/// The key for `kid` and `alg`: by ID when the token names one, else the only key of the
/// algorithm's family.
fn select_key<'a>(keys: &'a JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<&'a Jwk> {
    let fits = |jwk: &&Jwk| {
        let family_ok = matches!(
            (&jwk.algorithm, alg),
            (
                AlgorithmParameters::RSA(_),
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) | (
                AlgorithmParameters::EllipticCurve(_),
                Algorithm::ES256 | Algorithm::ES384
            )
        );
        let alg_ok = jwk
            .common
            .key_algorithm
            .is_none_or(|ka| ka == jsonwebtoken::jwk::KeyAlgorithm::from(alg));
        let use_ok = !matches!(
            jwk.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
        );
        family_ok && alg_ok && use_ok
    };
    match kid {
        Some(kid) => keys
            .keys
            .iter()
            .filter(|k| k.common.key_id.as_deref() == Some(kid))
            .find(fits),
        None => {
            let mut candidates = keys.keys.iter().filter(fits);
            let first = candidates.next()?;
            candidates.next().is_none().then_some(first)
        }
    }
}

/// Compares without stopping at the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const ES256_PEM: &[u8] = include_bytes!("../../testdata/oidc/es256.pem");
    const RS256_PEM: &[u8] = include_bytes!("../../testdata/oidc/rs256.pem");
    const ISSUER: &str = "https://sso.ml.example.com/realms/platform";
    const NOW: i64 = 1_800_000_000;

    fn es_key() -> EncodingKey {
        EncodingKey::from_ec_pem(ES256_PEM).expect("es256 key")
    }

    fn rs_key() -> EncodingKey {
        EncodingKey::from_rsa_pem(RS256_PEM).expect("rs256 key")
    }

    fn jwks() -> JwkSet {
        let mut es = Jwk::from_encoding_key(&es_key(), Algorithm::ES256).expect("jwk");
        es.common.key_id = Some("ec-1".into());
        let mut rs = Jwk::from_encoding_key(&rs_key(), Algorithm::RS256).expect("jwk");
        rs.common.key_id = Some("rsa-1".into());
        JwkSet { keys: vec![es, rs] }
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "sub": "u-4711", "aud": "ferrocd", "exp": NOW + 300, "iat": NOW,
            "nonce": "n-abc", "email": "dana@ml.example.com", "groups": ["ml-engineers"],
        })
    }

    fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        let key = match alg {
            Algorithm::ES256 => es_key(),
            Algorithm::HS256 => EncodingKey::from_secret(b"shared"),
            _ => rs_key(),
        };
        jsonwebtoken::encode(&header, claims, &key).expect("signs")
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISSUER,
            client_id: "ferrocd",
            nonce: "n-abc",
            now: NOW,
        }
    }

    #[test]
    fn accepts_es256_and_rs256() {
        let got = verify(
            &sign(Algorithm::ES256, Some("ec-1"), &claims()),
            &jwks(),
            expected(),
        )
        .expect("es256 verifies");
        assert_eq!(got["groups"], json!(["ml-engineers"]));
        verify(
            &sign(Algorithm::RS256, Some("rsa-1"), &claims()),
            &jwks(),
            expected(),
        )
        .expect("rs256 verifies");
        // no kid: the only key of the family is used
        let one = JwkSet {
            keys: vec![jwks().keys[1].clone()],
        };
        verify(&sign(Algorithm::RS256, None, &claims()), &one, expected()).expect("no kid");
    }

    #[test]
    fn refuses_each_broken_claim() {
        let cases: Vec<(&str, Value, IdTokenError)> = vec![
            (
                "iss",
                json!("https://evil.example.com"),
                IdTokenError::Issuer {
                    expected: ISSUER.into(),
                    found: "https://evil.example.com".into(),
                },
            ),
            (
                "aud",
                json!("another-app"),
                IdTokenError::Audience {
                    client_id: "ferrocd".into(),
                },
            ),
            (
                "aud",
                json!(["ferrocd", "another-app"]),
                IdTokenError::Audience {
                    client_id: "ferrocd".into(),
                },
            ),
            ("exp", json!(NOW - 61), IdTokenError::Expired),
            ("iat", json!(NOW + 3600), IdTokenError::IssuedInFuture),
            ("nonce", json!("n-other"), IdTokenError::Nonce),
            ("sub", json!(""), IdTokenError::Subject),
        ];
        for (claim, value, error) in cases {
            let mut c = claims();
            c[claim] = value;
            let token = sign(Algorithm::ES256, Some("ec-1"), &c);
            assert_eq!(verify(&token, &jwks(), expected()), Err(error), "{claim}");
        }
        let mut c = claims();
        c.as_object_mut().expect("object").remove("nonce");
        assert_eq!(
            verify(
                &sign(Algorithm::ES256, Some("ec-1"), &c),
                &jwks(),
                expected()
            ),
            Err(IdTokenError::Nonce)
        );
        // several audiences are fine when azp names us
        let mut c = claims();
        c["aud"] = json!(["ferrocd", "mlflow"]);
        c["azp"] = json!("ferrocd");
        verify(
            &sign(Algorithm::ES256, Some("ec-1"), &c),
            &jwks(),
            expected(),
        )
        .expect("azp");
        // within the leeway
        let mut c = claims();
        c["exp"] = json!(NOW - 30);
        verify(
            &sign(Algorithm::ES256, Some("ec-1"), &c),
            &jwks(),
            expected(),
        )
        .expect("leeway");
    }

    #[test]
    fn refuses_bad_signatures_keys_and_algorithms() {
        let token = sign(Algorithm::ES256, Some("ec-1"), &claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut tampered = claims();
        tampered["groups"] = json!(["admins"]);
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            tampered.to_string(),
        );
        assert_eq!(
            verify(&parts.join("."), &jwks(), expected()),
            Err(IdTokenError::Signature)
        );
        assert_eq!(
            verify(
                &sign(Algorithm::ES256, Some("ec-9"), &claims()),
                &jwks(),
                expected()
            ),
            Err(IdTokenError::UnknownKey {
                kid: Some("ec-9".into())
            })
        );
        // a kid naming a key of another family
        assert!(matches!(
            verify(
                &sign(Algorithm::ES256, Some("rsa-1"), &claims()),
                &jwks(),
                expected()
            ),
            Err(IdTokenError::UnknownKey { .. })
        ));
        assert_eq!(
            verify(
                &sign(Algorithm::HS256, Some("ec-1"), &claims()),
                &jwks(),
                expected()
            ),
            Err(IdTokenError::Algorithm {
                alg: "HS256".into()
            })
        );
        // alg none
        let none = format!(
            "{}.{}.",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                r#"{"alg":"none"}"#
            ),
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                claims().to_string()
            ),
        );
        assert_eq!(
            verify(&none, &jwks(), expected()),
            Err(IdTokenError::Malformed)
        );
        assert_eq!(
            verify("garbage", &jwks(), expected()),
            Err(IdTokenError::Malformed)
        );
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
