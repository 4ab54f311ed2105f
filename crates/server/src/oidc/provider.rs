//! Talking to the provider: discovery (`<issuer>/.well-known/openid-configuration`) and its
//! key set, cached; the authorization URL; the code exchange at the token endpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::oidc::config::OidcConfig;
use crate::oidc::state::LoginState;
use crate::oidc::{OidcError, id_token};

/// How long discovery and keys are reused.
pub const CACHE_TTL: Duration = Duration::from_secs(300);
/// The time limit of each request to the provider.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest response read from the provider.
const MAX_BODY: usize = 1 << 20;

/// The parts of the provider's discovery document ferrocd uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderMetadata {
    /// Must equal the configured issuer.
    pub issuer: String,
    /// Where the browser is sent.
    pub authorization_endpoint: String,
    /// Where codes are exchanged.
    pub token_endpoint: String,
    /// The signing keys.
    pub jwks_uri: String,
    /// How the client may authenticate at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// A provider's metadata and keys.
#[derive(Debug)]
pub struct Provider {
    /// The discovery document.
    pub metadata: ProviderMetadata,
    http: reqwest::Client,
    keys: Mutex<(Instant, Arc<JwkSet>)>,
    fetched: Instant,
}

/// Providers by issuer and trusted roots, reused for [`CACHE_TTL`].
#[derive(Debug, Default)]
pub struct Providers {
    cache: tokio::sync::Mutex<HashMap<String, Arc<Provider>>>,
}

/// What the token endpoint answered.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
}

impl Providers {
    /// The provider of `config`: discovered now, or reused from the cache.
    pub async fn get(&self, config: &OidcConfig) -> Result<Arc<Provider>, OidcError> {
        let mut hasher = Sha256::new();
        hasher.update(config.issuer.as_bytes());
        hasher.update([0]);
        hasher.update(config.root_ca.as_deref().unwrap_or_default().as_bytes());
        let cache_key = format!("{:x}", hasher.finalize());
        let mut cache = self.cache.lock().await;
        if let Some(p) = cache.get(&cache_key)
            && p.fetched.elapsed() < CACHE_TTL
        {
            return Ok(p.clone());
        }
        let provider = Arc::new(Provider::discover(config).await?);
        cache.insert(cache_key, provider.clone());
        Ok(provider)
    }

    /// Forgets every provider (after a failure that new metadata may fix).
    pub async fn forget(&self) {
        self.cache.lock().await.clear();
    }
}

impl Provider {
    /// Reads the discovery document and the key set.
    pub async fn discover(config: &OidcConfig) -> Result<Provider, OidcError> {
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = &config.root_ca {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                OidcError::Config {
                    field: "oidc.config rootCA".into(),
                    message: e.to_string(),
                }
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder.build().map_err(|e| OidcError::Provider {
            action: "building the HTTP client".into(),
            message: e.to_string(),
        })?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            config.issuer.trim_end_matches('/')
        );
        let body = get_json(&http, &url, "reading the discovery document").await?;
        let metadata: ProviderMetadata =
            serde_json::from_value(body).map_err(|e| OidcError::Provider {
                action: format!("reading the discovery document {url}"),
                message: e.to_string(),
            })?;
        if metadata.issuer.trim_end_matches('/') != config.issuer.trim_end_matches('/') {
            return Err(OidcError::Provider {
                action: format!("reading the discovery document {url}"),
                message: format!(
                    "it names issuer {:?}, not the configured {:?}",
                    metadata.issuer, config.issuer
                ),
            });
        }
        let keys = fetch_keys(&http, &metadata.jwks_uri).await?;
        Ok(Provider {
            metadata,
            http,
            keys: Mutex::new((Instant::now(), Arc::new(keys))),
            fetched: Instant::now(),
        })
    }

    /// The URL the browser is sent to for `login`.
    pub fn authorization_url(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        login: &LoginState,
    ) -> Result<String, OidcError> {
        let mut url = url::Url::parse(&self.metadata.authorization_endpoint).map_err(|e| {
            OidcError::Provider {
                action: "reading the authorization endpoint".into(),
                message: e.to_string(),
            }
        })?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &config.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &config.scopes().join(" "))
                .append_pair("state", &login.state)
                .append_pair("nonce", &login.nonce)
                .append_pair("code_challenge", &login.challenge())
                .append_pair("code_challenge_method", "S256");
            if !config.requested_id_token_claims.is_empty() {
                let claims = json!({ "id_token": config.requested_id_token_claims });
                query.append_pair("claims", &claims.to_string());
            }
        }
        Ok(url.into())
    }

    /// Exchanges the code (with the PKCE verifier) and verifies the ID token; returns its
    /// claims.
    pub async fn exchange(
        &self,
        config: &OidcConfig,
        redirect_uri: &str,
        code: &str,
        login: &LoginState,
        now: i64,
    ) -> Result<serde_json::Map<String, Value>, OidcError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", &login.verifier),
        ];
        let mut request = self.http.post(&self.metadata.token_endpoint);
        let methods = &self.metadata.token_endpoint_auth_methods_supported;
        match config.client_secret() {
            Some(secret)
                if !methods.is_empty()
                    && !methods.iter().any(|m| m == "client_secret_basic")
                    && methods.iter().any(|m| m == "client_secret_post") =>
            {
                form.push(("client_id", &config.client_id));
                form.push(("client_secret", secret.expose()));
            }
            Some(secret) => {
                request = request.basic_auth(
                    form_encode(&config.client_id),
                    Some(form_encode(secret.expose())),
                );
            }
            None => form.push(("client_id", &config.client_id)),
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Provider {
                action: "exchanging the authorization code".into(),
                message: without_url(&e),
            })?;
        let status = response.status();
        let body = read_limited(response, "exchanging the authorization code").await?;
        if !status.is_success() {
            let error: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            return Err(OidcError::TokenExchange {
                status: status.as_u16(),
                error: error
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown_error")
                    .chars()
                    .take(100)
                    .collect(),
            });
        }
        let tokens: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| OidcError::Provider {
                action: "reading the token response".into(),
                message: e.to_string(),
            })?;
        let id_token = tokens.id_token.ok_or_else(|| OidcError::Provider {
            action: "reading the token response".into(),
            message: "it has no id_token".into(),
        })?;
        let expected = id_token::Expected {
            issuer: &self.metadata.issuer,
            client_id: &config.client_id,
            nonce: &login.nonce,
            now,
        };
        let keys = self.keys.lock().1.clone();
        match id_token::verify(&id_token, &keys, expected) {
            Err(id_token::IdTokenError::UnknownKey { .. }) => {
                // The provider may have rotated its keys: read them again, once a minute at most.
                let stale = self.keys.lock().0.elapsed() > Duration::from_secs(60);
                if !stale {
                    return Err(OidcError::IdToken(id_token::IdTokenError::UnknownKey {
                        kid: None,
                    }));
                }
                let fresh = Arc::new(fetch_keys(&self.http, &self.metadata.jwks_uri).await?);
                *self.keys.lock() = (Instant::now(), fresh.clone());
                id_token::verify(&id_token, &fresh, expected).map_err(OidcError::IdToken)
            }
            other => other.map_err(OidcError::IdToken),
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of a client credential (RFC 6749 §2.3.1).
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn fetch_keys(http: &reqwest::Client, url: &str) -> Result<JwkSet, OidcError> {
    let body = get_json(http, url, "reading the key set").await?;
    // Keys of types the library does not know are skipped, not fatal.
    let keys = body
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| OidcError::Provider {
            action: format!("reading the key set {url}"),
            message: "it has no keys".into(),
        })?
        .iter()
        .filter_map(|k| serde_json::from_value(k.clone()).ok())
        .collect();
    Ok(JwkSet { keys })
}

async fn get_json(http: &reqwest::Client, url: &str, action: &str) -> Result<Value, OidcError> {
    let err = |message: String| OidcError::Provider {
        action: format!("{action} {url}"),
        message,
    };
    let response = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| err(without_url(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(err(format!("HTTP {status}")));
    }
    let body = read_limited(response, action).await?;
    serde_json::from_slice(&body).map_err(|e| err(e.to_string()))
}

async fn read_limited(response: reqwest::Response, action: &str) -> Result<Vec<u8>, OidcError> {
    let mut response = response;
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| OidcError::Provider {
        action: action.to_string(),
        message: without_url(&e),
    })? {
        out.extend_from_slice(&chunk);
        if out.len() > MAX_BODY {
            return Err(OidcError::Provider {
                action: action.to_string(),
                message: format!("the response is larger than {MAX_BODY} bytes"),
            });
        }
    }
    Ok(out)
}

/// A reqwest error's message and causes, without the URL (which may carry a code).
fn without_url(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    if let Some(url) = err.url() {
        message = message.replace(url.as_str(), "<url>");
    }
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
