//! `oidc.config` from `argocd-cm`, as Argo CD reads it.
//!
//! ```yaml
//! name: Keycloak
//! issuer: https://sso.ml.example.com/realms/platform
//! clientID: ferrocd
//! clientSecret: $oidc.keycloak.clientSecret     # a key of argocd-secret
//! # clientSecret: $keycloak-client:secret       # or <secret name>:<key> of a labelled Secret
//! requestedScopes: [openid, profile, email, groups]
//! requestedIDTokenClaims: {groups: {essential: true}}
//! rootCA: |
//!   -----BEGIN CERTIFICATE-----
//! enablePKCEAuthentication: true
//! ```
//!
//! A value starting with `$` is a reference: `$<key>` names a key of `argocd-secret`,
//! `$<secret>:<key>` a key of another Secret in the server's namespace that carries the label
//! `app.kubernetes.io/part-of: argocd`. References are resolved once the Secrets are read
//! ([`OidcConfig::resolve`]); an unresolved reference is an error, never sent as is.

use std::collections::BTreeMap;

use ferrocd_model::Sensitive;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::oidc::OidcError;

/// The scopes requested when `requestedScopes` is empty.
pub const DEFAULT_SCOPES: [&str; 4] = ["openid", "profile", "email", "groups"];

/// A setting value that may reference a Secret.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretValue {
    /// The value itself (after resolution, or written in clear).
    Value(Sensitive),
    /// `$<key>` (secret `None`, meaning `argocd-secret`) or `$<secret>:<key>`.
    Reference {
        /// The Secret's name; `None` for `argocd-secret`.
        secret: Option<String>,
        /// The key in its data.
        key: String,
    },
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretValue::Value(_) => f.write_str("SecretValue(<redacted>)"),
            SecretValue::Reference { secret, key } => f
                .debug_struct("Reference")
                .field("secret", secret)
                .field("key", key)
                .finish(),
        }
    }
}

impl SecretValue {
    /// Reads a setting: `$…` is a reference, anything else a value.
    pub fn parse(text: &str) -> SecretValue {
        match text.strip_prefix('$') {
            Some(reference) if !reference.is_empty() => match reference.split_once(':') {
                Some((secret, key)) if !secret.is_empty() && !key.is_empty() => {
                    SecretValue::Reference {
                        secret: Some(secret.to_string()),
                        key: key.to_string(),
                    }
                }
                _ => SecretValue::Reference {
                    secret: None,
                    key: reference.to_string(),
                },
            },
            _ => SecretValue::Value(Sensitive::new(text)),
        }
    }
}

/// The OpenID Connect provider ferrocd signs users in with.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcConfig {
    /// Shown on the login button.
    pub name: String,
    /// The issuer URL (discovery is `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// The client ID registered at the provider.
    pub client_id: String,
    /// The client secret; `None` for a public client (PKCE only).
    pub client_secret: Option<SecretValue>,
    /// Scopes to request (`openid` is always included).
    pub requested_scopes: Vec<String>,
    /// The `id_token` member of the `claims` request parameter.
    pub requested_id_token_claims: Map<String, Value>,
    /// PEM certificates trusted for the provider's HTTPS, in addition to the system roots.
    pub root_ca: Option<String>,
    /// `enablePKCEAuthentication`; the server always uses PKCE (S256), this is reported only.
    pub enable_pkce: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuer: String,
    #[serde(default, rename = "clientID")]
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    requested_scopes: Vec<String>,
    #[serde(default, rename = "requestedIDTokenClaims")]
    requested_id_token_claims: Option<Value>,
    #[serde(default, rename = "rootCA")]
    root_ca: Option<String>,
    #[serde(default, rename = "enablePKCEAuthentication")]
    enable_pkce: bool,
}

impl OidcConfig {
    /// Parses the YAML of `oidc.config`; `None` when the text is blank.
    pub fn parse(text: &str) -> Result<Option<OidcConfig>, OidcError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        let invalid = |message: String| OidcError::Config {
            field: "oidc.config".into(),
            message,
        };
        let raw: RawConfig = serde_saphyr::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let required = |field: &str, value: &str| {
            if value.trim().is_empty() {
                Err(OidcError::Config {
                    field: format!("oidc.config {field}"),
                    message: "is required".into(),
                })
            } else {
                Ok(value.trim().to_string())
            }
        };
        let issuer = required("issuer", &raw.issuer)?;
        let parsed = url::Url::parse(&issuer).map_err(|e| OidcError::Config {
            field: "oidc.config issuer".into(),
            message: format!("{issuer:?} is not a URL: {e}"),
        })?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(OidcError::Config {
                field: "oidc.config issuer".into(),
                message: format!("{issuer:?} must be an https URL"),
            });
        }
        let client_id = required("clientID", &raw.client_id)?;
        let requested_id_token_claims = match raw.requested_id_token_claims {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(OidcError::Config {
                    field: "oidc.config requestedIDTokenClaims".into(),
                    message: "must be a map of claim names".into(),
                });
            }
        };
        let mut scopes: Vec<String> = raw
            .requested_scopes
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if scopes.is_empty() {
            scopes = DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect();
        }
        Ok(Some(OidcConfig {
            name: if raw.name.trim().is_empty() {
                "SSO".to_string()
            } else {
                raw.name.trim().to_string()
            },
            issuer,
            client_id,
            client_secret: raw
                .client_secret
                .filter(|s| !s.trim().is_empty())
                .map(|s| SecretValue::parse(s.trim())),
            requested_scopes: scopes,
            requested_id_token_claims,
            root_ca: raw.root_ca.filter(|s| !s.trim().is_empty()),
            enable_pkce: raw.enable_pkce,
        }))
    }

    /// The Secret another than `argocd-secret` that the client secret references, if any.
    pub fn referenced_secret(&self) -> Option<&str> {
        match &self.client_secret {
            Some(SecretValue::Reference {
                secret: Some(name), ..
            }) => Some(name),
            _ => None,
        }
    }

    /// Replaces a client-secret reference with its value: `argocd_secret` is the decoded data
    /// of `argocd-secret`, `other` the decoded data of [`OidcConfig::referenced_secret`] (when
    /// it exists and is labelled as part of Argo CD).
    pub fn resolve(
        &mut self,
        argocd_secret: &BTreeMap<String, Vec<u8>>,
        other: Option<&BTreeMap<String, Vec<u8>>>,
    ) -> Result<(), OidcError> {
        let Some(SecretValue::Reference { secret, key }) = &self.client_secret else {
            return Ok(());
        };
        let (data, name) = match secret {
            None => (Some(argocd_secret), "argocd-secret"),
            Some(name) => (other, name.as_str()),
        };
        let value = data
            .and_then(|d| d.get(key))
            .map(|v| String::from_utf8_lossy(v).trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| OidcError::Config {
                field: "oidc.config clientSecret".into(),
                message: format!("references key {key:?} of Secret {name:?}, which is missing"),
            })?;
        self.client_secret = Some(SecretValue::Value(Sensitive::new(value)));
        Ok(())
    }

    /// The resolved client secret (`None` for a public client or an unresolved reference).
    pub fn client_secret(&self) -> Option<&Sensitive> {
        match &self.client_secret {
            Some(SecretValue::Value(s)) => Some(s),
            _ => None,
        }
    }

    /// The scopes of the authorization request: the requested ones, `openid` first.
    pub fn scopes(&self) -> Vec<String> {
        let mut out = vec!["openid".to_string()];
        for s in &self.requested_scopes {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYCLOAK: &str = r#"
name: Keycloak
issuer: https://sso.ml.example.com/realms/platform
clientID: ferrocd
clientSecret: $oidc.keycloak.clientSecret
requestedScopes: ["openid", "profile", "email", "groups"]
requestedIDTokenClaims:
  groups:
    essential: true
enablePKCEAuthentication: true
"#;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn parses_argo_cd_fields_and_resolves_argocd_secret() {
        let mut config = OidcConfig::parse(KEYCLOAK).expect("parses").expect("set");
        assert_eq!(config.name, "Keycloak");
        assert_eq!(config.client_id, "ferrocd");
        assert!(config.enable_pkce);
        assert_eq!(
            config.requested_id_token_claims["groups"]["essential"],
            true
        );
        assert_eq!(config.referenced_secret(), None);
        assert!(config.client_secret().is_none());
        config
            .resolve(
                &data(&[("oidc.keycloak.clientSecret", "s3cr3t-mlops\n")]),
                None,
            )
            .expect("resolves");
        assert_eq!(
            config.client_secret().map(Sensitive::expose),
            Some("s3cr3t-mlops")
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn other_secret_references_and_missing_keys() {
        let text =
            "issuer: https://id.example.com\nclientID: ferrocd\nclientSecret: $sso-client:secret\n";
        let mut config = OidcConfig::parse(text).expect("parses").expect("set");
        assert_eq!(config.referenced_secret(), Some("sso-client"));
        let err = config.clone().resolve(&data(&[]), None).unwrap_err();
        assert!(err.to_string().contains("sso-client"), "{err}");
        config
            .resolve(&data(&[]), Some(&data(&[("secret", "from-other")])))
            .expect("resolves");
        assert_eq!(
            config.client_secret().map(Sensitive::expose),
            Some("from-other")
        );
        let err = OidcConfig::parse(
            "issuer: https://id.example.com\nclientID: x\nclientSecret: $missing\n",
        )
        .expect("parses")
        .expect("set")
        .resolve(&data(&[]), None)
        .unwrap_err();
        assert!(err.to_string().contains("\"missing\""), "{err}");
    }

    #[test]
    fn defaults_and_errors() {
        assert_eq!(OidcConfig::parse("  \n").expect("blank"), None);
        let config = OidcConfig::parse("issuer: https://id.example.com/\nclientID: ui\n")
            .expect("parses")
            .expect("set");
        assert_eq!(config.name, "SSO");
        assert_eq!(config.scopes(), DEFAULT_SCOPES.to_vec());
        assert!(config.client_secret.is_none());
        let config = OidcConfig::parse(
            "issuer: https://x.example\nclientID: ui\nrequestedScopes: [email]\n",
        )
        .expect("parses")
        .expect("set");
        assert_eq!(config.scopes(), vec!["openid", "email"]);
        for (text, needle) in [
            ("clientID: ui\n", "issuer"),
            ("issuer: https://id.example.com\n", "clientID"),
            ("issuer: not a url\nclientID: x\n", "issuer"),
            ("issuer: ftp://id.example.com\nclientID: x\n", "https"),
            (
                "issuer: https://i.example\nclientID: x\nrequestedIDTokenClaims: [groups]\n",
                "requestedIDTokenClaims",
            ),
            ("issuer: [unclosed\n", "oidc.config"),
        ] {
            let err = OidcConfig::parse(text).unwrap_err();
            assert!(err.to_string().contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn literal_secrets_are_values() {
        assert!(matches!(SecretValue::parse("plain"), SecretValue::Value(_)));
        assert_eq!(
            SecretValue::parse("$k"),
            SecretValue::Reference {
                secret: None,
                key: "k".into()
            }
        );
        assert!(matches!(SecretValue::parse("$"), SecretValue::Value(_)));
    }
}
