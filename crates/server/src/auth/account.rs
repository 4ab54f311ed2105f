//! Local accounts as Argo CD keeps them.
//!
//! `argocd-cm` declares them: `accounts.<name>: apiKey, login` (capabilities) and
//! `accounts.<name>.enabled: "false"`; the built-in `admin` may log in unless `admin.enabled`
//! is `"false"`. `argocd-secret` holds their secrets: `admin.password` /
//! `accounts.<name>.password` (bcrypt), `admin.passwordMtime` / `accounts.<name>.passwordMtime`
//! (RFC 3339), `accounts.<name>.tokens` (a JSON list of `{id, iat, exp}` for the API tokens
//! issued to the account) and `server.secretkey` (the token-signing key).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::AuthError;

/// The name of the built-in administrator account.
pub const ADMIN: &str = "admin";

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Capability {
    /// Log in with a password (`login`).
    #[serde(rename = "login")]
    Login,
    /// Get API tokens (`apiKey`).
    #[serde(rename = "apiKey")]
    ApiKey,
}

/// A bcrypt hash; never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a bcrypt hash.
    pub fn new(hash: impl Into<String>) -> PasswordHash {
        PasswordHash(hash.into())
    }

    /// Hashes a password with bcrypt (cost 10, as Argo CD does).
    pub fn hash(password: &str) -> Result<PasswordHash, AuthError> {
        bcrypt::hash(password, 10)
            .map(PasswordHash)
            .map_err(|_| AuthError::Hashing)
    }

    /// Whether `password` matches. A malformed hash matches nothing.
    pub fn verify(&self, password: &str) -> bool {
        bcrypt::verify(password, &self.0).unwrap_or(false)
    }

    /// The hash, for writing it to `argocd-secret`.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// An API token issued to an account (the token itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountToken {
    /// Token ID (the JWT's `jti`).
    pub id: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds); absent or 0 when it never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// A local account.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Account name.
    pub name: String,
    /// Whether it may be used at all.
    pub enabled: bool,
    /// What it may do.
    pub capabilities: Vec<Capability>,
    /// Its password hash, once a password is set.
    pub password_hash: Option<PasswordHash>,
    /// When the password last changed (Unix seconds); sessions issued earlier are invalid.
    pub password_mtime: Option<i64>,
    /// Its API tokens.
    pub tokens: Vec<AccountToken>,
}

impl Account {
    /// Whether it has `capability`.
    pub fn can(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    /// The prefix of its keys in `argocd-secret` (`admin.` or `accounts.<name>.`).
    pub fn secret_key_prefix(name: &str) -> String {
        if name == ADMIN {
            "admin.".to_string()
        } else {
            format!("accounts.{name}.")
        }
    }
}

/// The secret key that signs tokens; never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Wraps key bytes.
    pub fn new(bytes: Vec<u8>) -> SigningKey {
        SigningKey(bytes)
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// Everything authentication reads from `argocd-cm` and `argocd-secret`.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Accounts by name (`admin` included unless disabled).
    pub accounts: BTreeMap<String, Account>,
    /// How long a login session lasts (`users.session.duration`, 24h by default).
    pub session_duration: Duration,
    /// Whether requests without a token act with the default role (`users.anonymous.enabled`).
    pub anonymous_enabled: bool,
    /// `server.secretkey`.
    pub signing_key: SigningKey,
    /// The claims whose values are groups (`scopes` of `argocd-rbac-cm`, `[groups]` by
    /// default); set by whoever also reads the RBAC policy.
    pub scopes: Vec<String>,
    /// The issuer of `oidc.config` when single sign-on is configured; sessions of other
    /// issuers (or any, when it is `None`) are refused.
    pub oidc_issuer: Option<String>,
}

impl AuthSettings {
    /// Reads the settings from the data of `argocd-cm` and the decoded data of `argocd-secret`.
    pub fn from_data(
        config: &BTreeMap<String, String>,
        secret: &BTreeMap<String, Vec<u8>>,
    ) -> Result<AuthSettings, AuthError> {
        let text = |key: &str| {
            secret
                .get(key)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let signing_key = match secret.get("server.secretkey") {
            Some(key) if !key.is_empty() => SigningKey::new(key.clone()),
            _ => {
                return Err(AuthError::Settings {
                    key: "server.secretkey".into(),
                    message: "missing from argocd-secret".into(),
                });
            }
        };
        let session_duration = match config.get("users.session.duration") {
            Some(v) if !v.trim().is_empty() => ferrocd_model::duration::parse_go_duration(v.trim())
                .map_err(|e| AuthError::Settings {
                    key: "users.session.duration".into(),
                    message: e.to_string(),
                })?,
            _ => Duration::from_secs(24 * 3600),
        };
        let anonymous_enabled = config
            .get("users.anonymous.enabled")
            .is_some_and(|v| v.trim() == "true");

        let mut names: Vec<(String, Vec<Capability>, bool)> = Vec::new();
        let admin_enabled = config
            .get("admin.enabled")
            .is_none_or(|v| v.trim() != "false");
        let admin_caps = match config.get("accounts.admin") {
            Some(caps) => parse_capabilities("accounts.admin", caps)?,
            None => vec![Capability::Login],
        };
        names.push((ADMIN.to_string(), admin_caps, admin_enabled));
        for (key, value) in config {
            let Some(name) = key.strip_prefix("accounts.") else {
                continue;
            };
            if name.contains('.') || name.is_empty() || name == ADMIN {
                continue;
            }
            let enabled = config
                .get(&format!("accounts.{name}.enabled"))
                .is_none_or(|v| v.trim() != "false");
            names.push((name.to_string(), parse_capabilities(key, value)?, enabled));
        }

        let mut accounts = BTreeMap::new();
        for (name, capabilities, enabled) in names {
            let prefix = Account::secret_key_prefix(&name);
            let password_hash = text(&format!("{prefix}password"))
                .filter(|h| !h.is_empty())
                .map(PasswordHash::new);
            let mtime_key = format!("{prefix}passwordMtime");
            let password_mtime = match text(&mtime_key) {
                Some(v) if !v.trim().is_empty() => Some(
                    chrono::DateTime::parse_from_rfc3339(v.trim())
                        .map_err(|e| AuthError::Settings {
                            key: mtime_key.clone(),
                            message: e.to_string(),
                        })?
                        .timestamp(),
                ),
                _ => None,
            };
            let tokens_key = format!("{prefix}tokens");
            let tokens = match text(&tokens_key) {
                Some(v) if !v.trim().is_empty() => serde_json::from_str::<Vec<AccountToken>>(&v)
                    .map_err(|e| AuthError::Settings {
                        key: tokens_key.clone(),
                        message: e.to_string(),
                    })?,
                _ => Vec::new(),
            };
            accounts.insert(
                name.clone(),
                Account {
                    name,
                    enabled,
                    capabilities,
                    password_hash,
                    password_mtime,
                    tokens,
                },
            );
        }
        Ok(AuthSettings {
            accounts,
            session_duration,
            anonymous_enabled,
            signing_key,
            scopes: vec!["groups".to_string()],
            oidc_issuer: None,
        })
    }
}

fn parse_capabilities(key: &str, value: &str) -> Result<Vec<Capability>, AuthError> {
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let cap = match part {
            "login" => Capability::Login,
            "apiKey" => Capability::ApiKey,
            other => {
                return Err(AuthError::Settings {
                    key: key.to_string(),
                    message: format!("unknown capability {other:?} (expected apiKey or login)"),
                });
            }
        };
        if !out.contains(&cap) {
            out.push(cap);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn reads_accounts_and_secrets() {
        let settings = AuthSettings::from_data(
            &config(&[
                ("accounts.mlflow-ci", "apiKey"),
                ("accounts.alice", "apiKey, login"),
                ("accounts.alice.enabled", "true"),
                ("accounts.old-bot", "login"),
                ("accounts.old-bot.enabled", "false"),
                ("users.session.duration", "1h30m"),
            ]),
            &secret(&[
                ("server.secretkey", "k3y"),
                ("admin.password", "$2a$10$abcdefghijklmnopqrstuv"),
                ("admin.passwordMtime", "2026-01-02T03:04:05Z"),
                (
                    "accounts.mlflow-ci.tokens",
                    r#"[{"id":"t1","iat":100,"exp":200},{"id":"t2","iat":150}]"#,
                ),
            ]),
        )
        .expect("reads");
        assert_eq!(settings.session_duration, Duration::from_secs(5400));
        assert!(!settings.anonymous_enabled);
        let admin = &settings.accounts["admin"];
        assert!(admin.enabled && admin.can(Capability::Login) && !admin.can(Capability::ApiKey));
        assert_eq!(admin.password_mtime, Some(1_767_323_045));
        assert!(admin.password_hash.is_some());
        let ci = &settings.accounts["mlflow-ci"];
        assert!(ci.can(Capability::ApiKey) && !ci.can(Capability::Login));
        assert_eq!(ci.tokens.len(), 2);
        assert_eq!(ci.tokens[1].exp, None);
        assert!(settings.accounts["alice"].can(Capability::Login));
        assert!(!settings.accounts["old-bot"].enabled);
        assert!(!settings.accounts.contains_key("alice.enabled"));
        let shown = format!("{settings:?}");
        assert!(!shown.contains("k3y") && !shown.contains("$2a$"), "{shown}");
    }

    #[test]
    fn admin_can_be_disabled() {
        let s = AuthSettings::from_data(
            &config(&[("admin.enabled", "false")]),
            &secret(&[("server.secretkey", "k")]),
        )
        .expect("reads");
        assert!(!s.accounts["admin"].enabled);
    }

    #[test]
    fn errors_name_the_key() {
        let err = AuthSettings::from_data(&config(&[]), &secret(&[])).unwrap_err();
        assert!(err.to_string().contains("server.secretkey"), "{err}");
        let err = AuthSettings::from_data(
            &config(&[("accounts.x", "apiKey, sudo")]),
            &secret(&[("server.secretkey", "k")]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("accounts.x") && err.to_string().contains("sudo"),
            "{err}"
        );
        let err = AuthSettings::from_data(
            &config(&[("accounts.x", "apiKey")]),
            &secret(&[
                ("server.secretkey", "k"),
                ("accounts.x.tokens", "{not json"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("accounts.x.tokens"), "{err}");
        let err = AuthSettings::from_data(
            &config(&[("users.session.duration", "soon")]),
            &secret(&[("server.secretkey", "k")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("users.session.duration"), "{err}");
    }

    #[test]
    fn bcrypt_round_trip() {
        let hash = PasswordHash::hash("gpu-cluster-2026").expect("hashes");
        assert!(hash.verify("gpu-cluster-2026"));
        assert!(!hash.verify("gpu-cluster-2025"));
        assert!(!PasswordHash::new("not-a-hash").verify("x"));
        assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
    }
}
