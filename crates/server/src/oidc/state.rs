//! The state of one SSO login between `/auth/login` and `/auth/callback`: the OAuth `state`,
//! the OIDC `nonce`, the PKCE verifier and where to go afterwards. It travels in a cookie
//! signed (HS256) with a key derived from `server.secretkey`, lives five minutes, and is
//! accepted once.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::oidc::id_token::constant_time_eq;

/// The cookie that carries the login state.
pub const STATE_COOKIE: &str = "ferrocd.oidc.state";
/// How long a login may take, in seconds.
pub const STATE_TTL_SECONDS: i64 = 300;
/// What the state cookie's claims say they are, so no other token signed by the server
/// passes for one.
const PURPOSE: &str = "ferrocd-oidc-login";

/// Why a login state is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The cookie is missing.
    #[error("the login state cookie is missing (the login took too long or cookies are blocked)")]
    Missing,
    /// The cookie is not signed by this server or does not parse.
    #[error("the login state cookie is invalid")]
    Invalid,
    /// The cookie is older than five minutes.
    #[error("the login state has expired")]
    Expired,
    /// The `state` parameter does not match the cookie.
    #[error("the state parameter does not match the login request")]
    Mismatch,
    /// Signing failed.
    #[error("signing the login state failed")]
    Signing,
}

/// One login in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginState {
    /// Always [`PURPOSE`].
    purpose: String,
    /// The OAuth `state`.
    pub state: String,
    /// The OIDC `nonce`.
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The same-origin path to return to.
    pub return_url: String,
    /// The issuer the login was sent to.
    pub issuer: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
}

impl LoginState {
    /// A fresh login with random state, nonce and verifier.
    pub fn new(return_url: &str, issuer: &str, now: i64) -> LoginState {
        LoginState {
            purpose: PURPOSE.to_string(),
            state: random_token(),
            nonce: random_token(),
            verifier: format!("{}{}", random_token(), random_token()),
            return_url: return_url.to_string(),
            issuer: issuer.to_string(),
            exp: now.saturating_add(STATE_TTL_SECONDS),
        }
    }

    /// The PKCE S256 challenge of the verifier.
    pub fn challenge(&self) -> String {
        pkce_challenge(&self.verifier)
    }

    /// Signs the state for the cookie.
    pub fn seal(&self, server_key: &[u8]) -> Result<String, StateError> {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            self,
            &EncodingKey::from_secret(&state_key(server_key)),
        )
        .map_err(|_| StateError::Signing)
    }

    /// Checks the cookie and that `state` (the callback's parameter) is the one it holds.
    pub fn open(
        cookie: Option<&str>,
        state: &str,
        server_key: &[u8],
        now: i64,
    ) -> Result<LoginState, StateError> {
        let cookie = cookie
            .filter(|c| !c.is_empty())
            .ok_or(StateError::Missing)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let login = jsonwebtoken::decode::<LoginState>(
            cookie,
            &DecodingKey::from_secret(&state_key(server_key)),
            &validation,
        )
        .map_err(|_| StateError::Invalid)?
        .claims;
        if login.purpose != PURPOSE {
            return Err(StateError::Invalid);
        }
        if login.exp <= now {
            return Err(StateError::Expired);
        }
        if state.is_empty() || !constant_time_eq(state.as_bytes(), login.state.as_bytes()) {
            return Err(StateError::Mismatch);
        }
        Ok(login)
    }
}

/// The PKCE S256 challenge: base64url(SHA-256(verifier)) without padding.
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A separate key for login states, so a state cookie is never a valid session and back.
fn state_key(server_key: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(b"ferrocd oidc login state\0");
    hasher.update(server_key);
    hasher.finalize().to_vec()
}

/// 32 random bytes, base64url (43 characters of the PKCE alphabet).
fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The path to return to after login, when it is a same-origin relative path (`/…`, not
/// `//host` or `/\host`, no control characters or backslashes); `None` otherwise. An empty
/// value means the UI's home, `/`.
pub fn safe_return_url(input: &str) -> Option<String> {
    if input.is_empty() {
        return Some("/".to_string());
    }
    let ok = input.len() <= 2048
        && input.starts_with('/')
        && !input.starts_with("//")
        && !input.contains('\\')
        && !input.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| input.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &[u8] = b"server-secret-key-for-tests";

    #[test]
    fn seal_open_round_trip_and_refusals() {
        let login = LoginState::new(
            "/applications/argocd/mlflow",
            "https://id.example.com",
            1_000,
        );
        assert_eq!(login.verifier.len(), 86);
        let cookie = login.seal(KEY).expect("seals");
        assert_eq!(
            LoginState::open(Some(&cookie), &login.state, KEY, 1_100),
            Ok(login.clone())
        );
        assert_eq!(
            LoginState::open(Some(&cookie), "other", KEY, 1_100),
            Err(StateError::Mismatch)
        );
        assert_eq!(
            LoginState::open(Some(&cookie), "", KEY, 1_100),
            Err(StateError::Mismatch)
        );
        assert_eq!(
            LoginState::open(Some(&cookie), &login.state, KEY, 1_300),
            Err(StateError::Expired)
        );
        assert_eq!(
            LoginState::open(Some(&cookie), &login.state, b"other-key", 1_100),
            Err(StateError::Invalid)
        );
        assert_eq!(
            LoginState::open(None, &login.state, KEY, 1_100),
            Err(StateError::Missing)
        );
        // a token the server signs with its own key for something else is not a state
        let session = crate::auth::TokenSigner::new(KEY)
            .sign(&crate::auth::Claims {
                iss: "argocd".into(),
                sub: "admin".into(),
                iat: 1_000,
                nbf: 1_000,
                exp: None,
                jti: "j".into(),
                sso: None,
            })
            .expect("signs");
        assert_eq!(
            LoginState::open(Some(&session), &login.state, KEY, 1_100),
            Err(StateError::Invalid)
        );
        let other = LoginState::new("/", "https://id.example.com", 1_000);
        assert_ne!(other.state, login.state);
        assert_ne!(other.nonce, login.nonce);
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn return_urls() {
        for good in [
            "/",
            "/applications?proj=ml",
            "/applications/argocd/triton#tree",
        ] {
            assert_eq!(safe_return_url(good).as_deref(), Some(good));
        }
        assert_eq!(safe_return_url("").as_deref(), Some("/"));
        for bad in [
            "https://evil.example.com",
            "//evil.example.com",
            "/\\evil.example.com",
            "\\\\evil",
            "javascript:alert(1)",
            "/\t/evil.example.com",
            "applications",
        ] {
            assert_eq!(safe_return_url(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn accepted_return_urls_stay_on_the_origin(input in "\\PC{0,40}|/[/\\\\a-z.:@%]{0,20}") {
            if let Some(path) = safe_return_url(&input) {
                let base = url::Url::parse("https://ferrocd.ml.example.com/").expect("base");
                let joined = base.join(&path).expect("joins");
                prop_assert_eq!(joined.host_str(), Some("ferrocd.ml.example.com"));
                prop_assert_eq!(joined.scheme(), "https");
            }
        }
    }
}
