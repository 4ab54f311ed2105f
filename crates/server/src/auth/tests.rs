use std::collections::BTreeMap;

use ferrocd_model::ObjectMeta;
use ferrocd_model::project::{AppProject, AppProjectSpec, JwtToken, ProjectRole};

use super::*;

const NOW: i64 = 1_800_000_000;

fn settings(extra_secret: &[(&str, String)]) -> AuthSettings {
    let config: BTreeMap<String, String> = [
        ("accounts.alice", "login"),
        ("accounts.mlflow-ci", "apiKey"),
        ("accounts.retired", "login, apiKey"),
        ("accounts.retired.enabled", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut secret: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    secret.insert("server.secretkey".into(), b"test-signing-key".to_vec());
    // cost 4 keeps the tests fast; verification reads the cost from the hash
    let hash = |p: &str| bcrypt::hash(p, 4).expect("hashes").into_bytes();
    secret.insert("admin.password".into(), hash("airflow-admin-pw"));
    secret.insert("accounts.alice.password".into(), hash("alice-pw"));
    secret.insert("accounts.retired.password".into(), hash("retired-pw"));
    for (k, v) in extra_secret {
        secret.insert(k.to_string(), v.clone().into_bytes());
    }
    AuthSettings::from_data(&config, &secret).expect("settings")
}

fn limits() -> LimiterOptions {
    LimiterOptions {
        max_failures: 3,
        window: Duration::from_secs(60),
        max_entries: 100,
    }
}

#[test]
fn login_issues_a_session_that_authenticates() {
    let s = settings(&[]);
    let auth = Authenticator::new(limits());
    let (token, claims) = auth
        .login(&s, "admin", "airflow-admin-pw", "10.0.0.1", NOW)
        .expect("login");
    assert_eq!(claims.iss, "argocd");
    assert_eq!(claims.sub, "admin");
    assert_eq!(claims.exp, Some(NOW + 24 * 3600));
    let id = auth
        .authenticate(&s, &[], Some(&token), NOW + 10)
        .expect("valid");
    assert_eq!(id.username, "admin");
    assert_eq!(id.kind, IdentityKind::Session);
    assert_eq!(
        auth.authenticate(&s, &[], Some(&token), NOW + 24 * 3600),
        Err(AuthError::Expired)
    );
}

#[test]
fn wrong_password_unknown_user_and_disabled_account_look_the_same() {
    let s = settings(&[]);
    let auth = Authenticator::new(LimiterOptions {
        max_failures: 100,
        ..limits()
    });
    for (user, pw) in [
        ("admin", "nope"),
        ("nobody", "x"),
        ("retired", "retired-pw"),
        ("mlflow-ci", ""),
    ] {
        assert_eq!(
            auth.login(&s, user, pw, "c", NOW),
            Err(AuthError::InvalidCredentials),
            "{user}"
        );
    }
    assert!(auth.login(&s, "alice", "alice-pw", "c", NOW).is_ok());
}

#[test]
fn rate_limit_then_success_clears() {
    let s = settings(&[]);
    let auth = Authenticator::new(limits());
    for _ in 0..3 {
        assert_eq!(
            auth.login(&s, "alice", "bad", "c1", NOW),
            Err(AuthError::InvalidCredentials)
        );
    }
    // even the right password is refused while limited
    assert!(matches!(
        auth.login(&s, "alice", "alice-pw", "c2", NOW),
        Err(AuthError::TooManyAttempts { .. })
    ));
    // another user from the same client is limited too
    assert!(matches!(
        auth.login(&s, "admin", "airflow-admin-pw", "c1", NOW),
        Err(AuthError::TooManyAttempts { .. })
    ));
    assert!(
        auth.login(&s, "admin", "airflow-admin-pw", "c3", NOW)
            .is_ok()
    );
}

#[test]
fn logout_revokes() {
    let s = settings(&[]);
    let auth = Authenticator::new(limits());
    let (token, claims) = auth
        .login(&s, "alice", "alice-pw", "c", NOW)
        .expect("login");
    let (other, _) = auth
        .login(&s, "alice", "alice-pw", "c", NOW)
        .expect("login");
    auth.revoke(&claims, NOW + 1);
    assert_eq!(
        auth.authenticate(&s, &[], Some(&token), NOW + 2),
        Err(AuthError::Revoked)
    );
    assert!(
        auth.authenticate(&s, &[], Some(&other), NOW + 2).is_ok(),
        "only that session"
    );
}

#[test]
fn password_change_invalidates_older_sessions() {
    let auth = Authenticator::new(limits());
    let s = settings(&[]);
    let (token, _) = auth
        .login(&s, "alice", "alice-pw", "c", NOW)
        .expect("login");
    let changed = chrono::DateTime::from_timestamp(NOW + 100, 0)
        .expect("time")
        .to_rfc3339();
    let s2 = settings(&[("accounts.alice.passwordMtime", changed)]);
    assert!(matches!(
        auth.authenticate(&s2, &[], Some(&token), NOW + 200),
        Err(AuthError::InvalidToken { .. })
    ));
}

#[test]
fn account_tokens_live_while_listed() {
    let s = settings(&[]);
    let (token, record) = Authenticator::issue_account_token(
        &s,
        "mlflow-ci",
        "tok-1",
        Some(Duration::from_secs(3600)),
        NOW,
    )
    .expect("issues");
    assert_eq!(
        record,
        AccountToken {
            id: "tok-1".into(),
            iat: NOW,
            exp: Some(NOW + 3600)
        }
    );
    let auth = Authenticator::new(limits());
    // not yet recorded in argocd-secret
    assert!(auth.authenticate(&s, &[], Some(&token), NOW).is_err());
    let listed = settings(&[(
        "accounts.mlflow-ci.tokens",
        serde_json::to_string(&vec![record]).expect("json"),
    )]);
    let id = auth
        .authenticate(&listed, &[], Some(&token), NOW + 1)
        .expect("valid");
    assert_eq!(id.username, "mlflow-ci");
    assert_eq!(id.subject, Subject::user("mlflow-ci"));
    assert_eq!(id.kind, IdentityKind::AccountToken);
    assert_eq!(
        auth.authenticate(&listed, &[], Some(&token), NOW + 3600),
        Err(AuthError::Expired)
    );
}

fn project(tokens: Vec<JwtToken>) -> AppProject {
    AppProject::new(
        ObjectMeta {
            name: "ml-platform".into(),
            ..Default::default()
        },
        AppProjectSpec {
            roles: vec![ProjectRole {
                name: "deployer".into(),
                jwt_tokens: tokens,
                ..Default::default()
            }],
            ..Default::default()
        },
    )
}

#[test]
fn project_tokens_live_while_listed() {
    let s = settings(&[]);
    let (token, claims) =
        Authenticator::issue_project_token(&s, "ml-platform", "deployer", "ci-1", None, NOW)
            .expect("issues");
    assert_eq!(claims.sub, "proj:ml-platform:deployer");
    let auth = Authenticator::new(limits());
    let listed = project(vec![JwtToken {
        iat: NOW,
        id: Some("ci-1".into()),
        ..Default::default()
    }]);
    let id = auth
        .authenticate(&s, &[listed], Some(&token), NOW + 5)
        .expect("valid");
    assert_eq!(id.subject.user, "proj:ml-platform:deployer");
    assert_eq!(id.kind, IdentityKind::ProjectToken);
    let removed = project(vec![]);
    assert!(
        auth.authenticate(&s, &[removed], Some(&token), NOW + 5)
            .is_err()
    );
}

#[test]
fn anonymous_only_when_enabled() {
    let s = settings(&[]);
    let auth = Authenticator::new(limits());
    assert!(matches!(
        auth.authenticate(&s, &[], None, NOW),
        Err(AuthError::InvalidToken { .. })
    ));
    let mut open = s.clone();
    open.anonymous_enabled = true;
    assert_eq!(
        auth.authenticate(&open, &[], None, NOW)
            .expect("anonymous")
            .kind,
        IdentityKind::Anonymous
    );
}

#[test]
fn forged_tokens_are_rejected() {
    let s = settings(&[]);
    let auth = Authenticator::new(limits());
    let forged = TokenSigner::new(b"attacker")
        .sign(&Claims {
            iss: "argocd".into(),
            sub: "admin".into(),
            iat: NOW,
            nbf: NOW,
            exp: None,
            jti: "x".into(),
            sso: None,
        })
        .expect("signs");
    assert!(matches!(
        auth.authenticate(&s, &[], Some(&forged), NOW),
        Err(AuthError::InvalidToken { .. })
    ));
    assert!(auth.authenticate(&s, &[], Some("garbage"), NOW).is_err());
}

fn sso(issuer: &str) -> SsoClaims {
    let claims = serde_json::json!({
        "email": "dana@ml.example.com",
        "groups": ["ml-engineers", "gpu-users"],
        "name": "Dana",
    });
    SsoClaims {
        issuer: issuer.into(),
        subject: "u-4711".into(),
        claims: claims.as_object().cloned().unwrap_or_default(),
    }
}

#[test]
fn sso_sessions_carry_groups_by_scopes_and_end_with_logout_or_config() {
    let mut s = settings(&[]);
    s.oidc_issuer = Some("https://sso.ml.example.com".into());
    let auth = Authenticator::new(limits());
    let (token, claims) =
        Authenticator::issue_sso_session(&s, sso("https://sso.ml.example.com"), NOW)
            .expect("issues");
    assert_eq!(claims.exp, Some(NOW + 24 * 3600));
    let id = auth
        .authenticate(&s, &[], Some(&token), NOW + 1)
        .expect("valid");
    assert_eq!(id.kind, IdentityKind::SsoSession);
    assert_eq!(id.username, "dana@ml.example.com");
    assert_eq!(id.subject.user, "u-4711");
    assert_eq!(id.subject.groups, vec!["ml-engineers", "gpu-users"]);
    // scopes: [groups, email] makes the email a group too
    s.scopes = vec!["groups".into(), "email".into()];
    let id = auth
        .authenticate(&s, &[], Some(&token), NOW + 1)
        .expect("valid");
    assert_eq!(
        id.subject.groups,
        vec!["ml-engineers", "gpu-users", "dana@ml.example.com"]
    );
    s.scopes = vec!["email".into()];
    let id = auth
        .authenticate(&s, &[], Some(&token), NOW + 1)
        .expect("valid");
    assert_eq!(id.subject.groups, vec!["dana@ml.example.com"]);
    // expiry
    assert_eq!(
        auth.authenticate(&s, &[], Some(&token), NOW + 24 * 3600),
        Err(AuthError::Expired)
    );
    // another issuer, or SSO switched off
    let mut other = s.clone();
    other.oidc_issuer = Some("https://elsewhere.example.com".into());
    assert!(matches!(
        auth.authenticate(&other, &[], Some(&token), NOW + 1),
        Err(AuthError::InvalidToken { .. })
    ));
    other.oidc_issuer = None;
    assert!(matches!(
        auth.authenticate(&other, &[], Some(&token), NOW + 1),
        Err(AuthError::InvalidToken { .. })
    ));
    // logout
    auth.revoke(&claims, NOW + 2);
    assert_eq!(
        auth.authenticate(&s, &[], Some(&token), NOW + 3),
        Err(AuthError::Revoked)
    );
}

#[test]
fn sso_subject_named_like_a_local_account_is_refused() {
    let mut s = settings(&[]);
    s.oidc_issuer = Some("https://sso.ml.example.com".into());
    for subject in [
        "admin",
        "alice",
        "proj:ml-platform:deployer",
        "mlflow-ci:apiKey",
        "",
    ] {
        let mut claims = sso("https://sso.ml.example.com");
        claims.subject = subject.into();
        let (token, _) = Authenticator::issue_sso_session(&s, claims, NOW).expect("issues");
        assert!(
            matches!(
                Authenticator::new(limits()).authenticate(&s, &[], Some(&token), NOW + 1),
                Err(AuthError::InvalidToken { .. })
            ),
            "{subject}"
        );
        assert!(sso_subject_problem(&s, subject).is_some(), "{subject}");
    }
    assert_eq!(sso_subject_problem(&s, "u-4711"), None);
}
