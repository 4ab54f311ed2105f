//! Authentication: local accounts with bcrypt passwords, session tokens, API tokens for
//! accounts and project roles, logout revocation and login rate limiting.
//!
//! Tokens are HS256 JWTs signed with `server.secretkey`. Their subject says what they are:
//!
//! | `sub` | issued by | valid while |
//! |---|---|---|
//! | `<account>` | login | not expired, not logged out, the account is enabled and may log in, its password has not changed since `iat` |
//! | `<account>:apiKey` | account token creation | its ID is listed in `accounts.<account>.tokens` and the account has `apiKey` |
//! | `proj:<project>:<role>` | project role token creation | its ID (or `iat`) is listed in the role's `jwtTokens` or `status.jwtTokensByRole` |
//! | the provider's `sub`, with an `sso` claim | single sign-on | not expired, not logged out, `oidc.config` still names the same issuer |
//!
//! A single sign-on session's RBAC subject is the provider's `sub`, and its groups are the
//! values of the claims `scopes` names (`[groups]` by default, often `[groups, email]`).

pub mod account;
pub mod limiter;
pub mod token;

use std::collections::HashMap;
use std::time::Duration;

use ferrocd_model::project::AppProject;
use parking_lot::Mutex;

pub use account::{
    ADMIN, Account, AccountToken, AuthSettings, Capability, PasswordHash, SigningKey,
};
pub use limiter::{LimiterOptions, LoginLimiter};
pub use token::{Claims, ISSUER, SsoClaims, TokenError, TokenSigner};

use crate::rbac::Subject;

/// Why authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Wrong user name or password (never says which).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed logins.
    #[error("too many failed login attempts, retry in {} seconds", .retry_after.as_secs().max(1))]
    TooManyAttempts {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The token is missing, malformed, signed with another key, or no longer backed by
    /// the account or role it names.
    #[error("invalid session: {reason}")]
    InvalidToken {
        /// Why, without any secret.
        reason: &'static str,
    },
    /// The token has expired.
    #[error("invalid session: token is expired")]
    Expired,
    /// The token was revoked by logout.
    #[error("invalid session: token is revoked")]
    Revoked,
    /// A setting in argocd-cm or argocd-secret is malformed.
    #[error("reading {key}: {message}")]
    Settings {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Hashing a password failed.
    #[error("hashing a password failed")]
    Hashing,
    /// Signing a token failed.
    #[error("signing a token failed")]
    Signing,
}

/// What kind of credential a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    /// A login session.
    Session,
    /// An account's API token.
    AccountToken,
    /// A project role's token.
    ProjectToken,
    /// A single sign-on session.
    SsoSession,
    /// No token; anonymous access is enabled.
    Anonymous,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user name for audit and `initiatedBy` (account name, role subject, or empty).
    pub username: String,
    /// What RBAC decides for.
    pub subject: Subject,
    /// The credential kind.
    pub kind: IdentityKind,
    /// The token's claims (none for anonymous callers).
    pub claims: Option<Claims>,
}

/// Issues and checks credentials. Clones share nothing: keep one per server.
#[derive(Debug, Default)]
pub struct Authenticator {
    limiter: LoginLimiter,
    revoked: Mutex<HashMap<String, i64>>,
}

impl Authenticator {
    /// An authenticator with the given login limits.
    pub fn new(limits: LimiterOptions) -> Authenticator {
        Authenticator {
            limiter: LoginLimiter::new(limits),
            revoked: Mutex::default(),
        }
    }

    /// Checks a login and issues a session token. `client` identifies the caller (its
    /// address) for rate limiting; `now` is Unix seconds. bcrypt is slow on purpose: call this
    /// off the async runtime.
    pub fn login(
        &self,
        settings: &AuthSettings,
        username: &str,
        password: &str,
        client: &str,
        now: i64,
    ) -> Result<(String, Claims), AuthError> {
        if let Some(retry_after) = self.limiter.retry_after(username, client) {
            return Err(AuthError::TooManyAttempts { retry_after });
        }
        let account = settings
            .accounts
            .get(username)
            .filter(|a| a.enabled && a.can(Capability::Login));
        let ok = match account.and_then(|a| a.password_hash.as_ref()) {
            Some(hash) => hash.verify(password),
            None => {
                // Spend the same time as a real check, so that response times do not tell
                // which account names exist.
                let _ = dummy_hash().verify(password);
                false
            }
        };
        if !ok {
            self.limiter.failed(username, client);
            return Err(AuthError::InvalidCredentials);
        }
        self.limiter.succeeded(username);
        let exp = now.saturating_add(settings.session_duration.as_secs() as i64);
        let claims = new_claims(
            username.to_string(),
            now,
            Some(exp),
            uuid::Uuid::new_v4().to_string(),
        );
        let token = TokenSigner::new(settings.signing_key.expose())
            .sign(&claims)
            .map_err(|_| AuthError::Signing)?;
        Ok((token, claims))
    }

    /// Issues an API token for an account; the caller must store the returned
    /// [`AccountToken`] in `accounts.<name>.tokens`.
    pub fn issue_account_token(
        settings: &AuthSettings,
        account: &str,
        id: &str,
        expires_in: Option<Duration>,
        now: i64,
    ) -> Result<(String, AccountToken), AuthError> {
        let exp = expires_in
            .filter(|d| !d.is_zero())
            .map(|d| now.saturating_add(d.as_secs() as i64));
        let claims = new_claims(format!("{account}:apiKey"), now, exp, id.to_string());
        let token = TokenSigner::new(settings.signing_key.expose())
            .sign(&claims)
            .map_err(|_| AuthError::Signing)?;
        Ok((
            token,
            AccountToken {
                id: id.to_string(),
                iat: now,
                exp,
            },
        ))
    }

    /// Issues a token for a project role; the caller must record `{iat, exp, id}` in the role's
    /// `jwtTokens`.
    pub fn issue_project_token(
        settings: &AuthSettings,
        project: &str,
        role: &str,
        id: &str,
        expires_in: Option<Duration>,
        now: i64,
    ) -> Result<(String, Claims), AuthError> {
        let exp = expires_in
            .filter(|d| !d.is_zero())
            .map(|d| now.saturating_add(d.as_secs() as i64));
        let claims = new_claims(format!("proj:{project}:{role}"), now, exp, id.to_string());
        let token = TokenSigner::new(settings.signing_key.expose())
            .sign(&claims)
            .map_err(|_| AuthError::Signing)?;
        Ok((token, claims))
    }

    /// Issues a session for a user the identity provider vouched for (the ID token is
    /// verified already).
    pub fn issue_sso_session(
        settings: &AuthSettings,
        sso: SsoClaims,
        now: i64,
    ) -> Result<(String, Claims), AuthError> {
        let exp = now.saturating_add(settings.session_duration.as_secs() as i64);
        let mut claims = new_claims(
            sso.subject.clone(),
            now,
            Some(exp),
            uuid::Uuid::new_v4().to_string(),
        );
        claims.sso = Some(sso);
        let token = TokenSigner::new(settings.signing_key.expose())
            .sign(&claims)
            .map_err(|_| AuthError::Signing)?;
        Ok((token, claims))
    }

    /// Checks a bearer token (`None` when the request had none).
    pub fn authenticate(
        &self,
        settings: &AuthSettings,
        projects: &[AppProject],
        token: Option<&str>,
        now: i64,
    ) -> Result<Identity, AuthError> {
        let Some(token) = token else {
            if settings.anonymous_enabled {
                return Ok(Identity {
                    username: String::new(),
                    subject: Subject::default(),
                    kind: IdentityKind::Anonymous,
                    claims: None,
                });
            }
            return Err(AuthError::InvalidToken {
                reason: "no session information",
            });
        };
        let claims = TokenSigner::new(settings.signing_key.expose())
            .verify(token, now)
            .map_err(|e| match e {
                TokenError::Expired => AuthError::Expired,
                _ => AuthError::InvalidToken {
                    reason: "token signature or format is invalid",
                },
            })?;
        if self.is_revoked(&claims.jti, now) {
            return Err(AuthError::Revoked);
        }
        if let Some(sso) = &claims.sso {
            if settings.oidc_issuer.as_deref() != Some(sso.issuer.as_str()) {
                return Err(AuthError::InvalidToken {
                    reason: "single sign-on with this issuer is not configured",
                });
            }
            if let Some(reason) = sso_subject_problem(settings, &sso.subject) {
                return Err(AuthError::InvalidToken { reason });
            }
            return Ok(Identity {
                username: sso.display_name(),
                subject: Subject {
                    user: sso.subject.clone(),
                    groups: sso.groups(&settings.scopes),
                },
                kind: IdentityKind::SsoSession,
                claims: Some(claims),
            });
        }
        if let Some(rest) = claims.sub.strip_prefix("proj:") {
            let Some((project, role)) = rest.split_once(':') else {
                return Err(AuthError::InvalidToken {
                    reason: "malformed project role subject",
                });
            };
            if !project_token_exists(projects, project, role, &claims) {
                return Err(AuthError::InvalidToken {
                    reason: "project role token no longer exists",
                });
            }
            return Ok(Identity {
                username: claims.sub.clone(),
                subject: Subject::user(claims.sub.clone()),
                kind: IdentityKind::ProjectToken,
                claims: Some(claims),
            });
        }
        if let Some(name) = claims.sub.strip_suffix(":apiKey") {
            let valid = settings.accounts.get(name).is_some_and(|a| {
                a.enabled
                    && a.can(Capability::ApiKey)
                    && a.tokens.iter().any(|t| t.id == claims.jti)
            });
            if !valid {
                return Err(AuthError::InvalidToken {
                    reason: "account token no longer exists",
                });
            }
            return Ok(Identity {
                username: name.to_string(),
                subject: Subject::user(name),
                kind: IdentityKind::AccountToken,
                claims: Some(claims),
            });
        }
        let account = settings
            .accounts
            .get(&claims.sub)
            .filter(|a| a.enabled && a.can(Capability::Login))
            .ok_or(AuthError::InvalidToken {
                reason: "account is disabled or does not exist",
            })?;
        if account
            .password_mtime
            .is_some_and(|mtime| claims.iat < mtime)
        {
            return Err(AuthError::InvalidToken {
                reason: "password changed since the session began",
            });
        }
        Ok(Identity {
            username: claims.sub.clone(),
            subject: Subject::user(claims.sub.clone()),
            kind: IdentityKind::Session,
            claims: Some(claims),
        })
    }

    /// Revokes a token until it would have expired anyway (logout).
    pub fn revoke(&self, claims: &Claims, now: i64) {
        let mut revoked = self.revoked.lock();
        revoked.retain(|_, exp| *exp > now);
        // Tokens without expiry stay revoked for a year; the set is in memory anyway.
        let until = claims.exp.unwrap_or(now.saturating_add(365 * 24 * 3600));
        revoked.insert(claims.jti.clone(), until);
    }

    fn is_revoked(&self, jti: &str, now: i64) -> bool {
        self.revoked
            .lock()
            .get(jti)
            .is_some_and(|until| *until > now)
    }
}

/// Why a provider's subject cannot be an RBAC user: empty, the name of a local account
/// (`admin` would inherit `role:admin`) or a project-role subject.
pub fn sso_subject_problem(settings: &AuthSettings, subject: &str) -> Option<&'static str> {
    if subject.is_empty() {
        Some("single sign-on session without subject")
    } else if settings.accounts.contains_key(subject) || subject == ADMIN {
        Some("the provider's subject is the name of a local account")
    } else if subject.starts_with("proj:") || subject.ends_with(":apiKey") {
        Some("the provider's subject looks like a token subject")
    } else {
        None
    }
}

/// A bcrypt hash of a random password, made once, to verify against for unknown accounts.
fn dummy_hash() -> &'static PasswordHash {
    static DUMMY: std::sync::OnceLock<PasswordHash> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = uuid::Uuid::new_v4().to_string();
        PasswordHash::hash(&random).unwrap_or_else(|_| PasswordHash::new(String::new()))
    })
}

fn new_claims(sub: String, now: i64, exp: Option<i64>, jti: String) -> Claims {
    Claims {
        iss: ISSUER.to_string(),
        sub,
        iat: now,
        nbf: now,
        exp,
        jti,
        sso: None,
    }
}

fn project_token_exists(
    projects: &[AppProject],
    project: &str,
    role: &str,
    claims: &Claims,
) -> bool {
    let Some(p) = projects.iter().find(|p| p.name() == project) else {
        return false;
    };
    let Some(r) = p.spec.roles.iter().find(|r| r.name == role) else {
        return false;
    };
    let matches = |t: &ferrocd_model::project::JwtToken| match &t.id {
        Some(id) if !id.is_empty() => *id == claims.jti,
        _ => t.iat == claims.iat,
    };
    r.jwt_tokens.iter().any(matches)
        || p.status
            .as_ref()
            .and_then(|s| s.jwt_tokens_by_role.get(role))
            .is_some_and(|tokens| tokens.items.iter().any(matches))
}

#[cfg(test)]
mod tests;
