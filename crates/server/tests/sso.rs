//! Single sign-on end to end against a real OpenID Connect provider: the npm package
//! `oidc-provider`, run by `tests/oidc/provider.mjs` from `$FERROCD_NODE_MODULES` (printed by
//! `scripts/install-node-tools`). Without it the test is skipped with a message, unless
//! `FERROCD_REQUIRE_TOOLS=1`, which makes it fail.
//!
//! The browser is an HTTP client with a cookie jar that follows redirects by hand and fills
//! in the provider's login and consent forms.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::{ControlPlane, NS};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams};
use reqwest::StatusCode;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const CLIENT_SECRET: &str = "mlops-sso-secret";

/// The node_modules directory with oidc-provider, or `None` (after saying why) to skip.
fn node_modules() -> Option<PathBuf> {
    let required = std::env::var("FERROCD_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    let found = std::env::var_os("FERROCD_NODE_MODULES")
        .map(PathBuf::from)
        .filter(|p| p.join("oidc-provider").is_dir());
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, node) {
        (Some(dir), true) => Some(dir),
        _ if required => panic!(
            "FERROCD_REQUIRE_TOOLS=1 but node or oidc-provider is missing: set FERROCD_NODE_MODULES to the output of scripts/install-node-tools"
        ),
        _ => {
            eprintln!(
                "skipping the SSO test: node or oidc-provider is missing (set FERROCD_NODE_MODULES to the output of scripts/install-node-tools)"
            );
            None
        }
    }
}

/// A running oidc-provider.
struct IdentityProvider {
    issuer: String,
    _child: tokio::process::Child,
}

impl IdentityProvider {
    async fn start(modules: &PathBuf, redirect_uri: &str, alg: &str) -> IdentityProvider {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/provider.mjs");
        let mut child = tokio::process::Command::new("node")
            .arg(&script)
            .arg(redirect_uri)
            .arg(alg)
            .env("FERROCD_NODE_MODULES", modules)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("reads") {
                if line.starts_with("http://") {
                    return line.trim().to_string();
                }
            }
            panic!("the provider exited before printing its issuer");
        })
        .await
        .expect("the provider starts within 30 s");
        // keep draining so the provider never blocks on a full pipe
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        IdentityProvider {
            issuer,
            _child: child,
        }
    }

    async fn tamper(&self, mode: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/__test/tamper?mode={mode}", self.issuer))
            .send()
            .await
            .expect("tamper");
        assert!(response.status().is_success());
    }
}

fn browser() -> reqwest::Client {
    browser_with_jar().0
}

fn browser_with_jar() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    (client, jar)
}

/// The login state cookie the jar would send to the callback.
fn state_cookie(jar: &Jar, server: &str) -> String {
    let url = url::Url::parse(&format!("{server}/auth/callback")).expect("url");
    let header = jar.cookies(&url).expect("cookies for the callback");
    header
        .to_str()
        .expect("ascii")
        .split("; ")
        .find_map(|c| c.strip_prefix("ferrocd.oidc.state="))
        .expect("the login state cookie")
        .to_string()
}

fn location(base: &str, response: &reqwest::Response) -> String {
    let raw = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("a Location header");
    url::Url::parse(base)
        .and_then(|b| b.join(raw))
        .expect("location resolves")
        .to_string()
}

/// The value of attribute `name` of the first tag containing `needle`.
fn form_action(html: &str) -> String {
    let start = html.find("<form").expect("a form");
    let rest = &html[start..];
    let action = rest.find("action=\"").expect("an action") + 8;
    let end = rest[action..].find('"').expect("closing quote");
    rest[action..action + end].replace("&amp;", "&")
}

/// Drives the browser from `/auth/login` through the provider's login and consent pages as
/// `user`; returns the callback URL the provider redirects to (not yet followed).
async fn login_at_provider(
    browser: &reqwest::Client,
    server: &str,
    user: &str,
    return_url: &str,
) -> String {
    let start = format!("{server}/auth/login?return_url={return_url}");
    let response = browser.get(&start).send().await.expect("login");
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "/auth/login");
    let mut url = location(&start, &response);
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(url.contains("nonce="), "{url}");
    for _ in 0..20 {
        if url.starts_with(&format!("{server}/auth/callback")) {
            return url;
        }
        let response = browser.get(&url).send().await.expect("provider page");
        if response.status().is_redirection() {
            url = location(&url, &response);
            continue;
        }
        let page = url.clone();
        let status = response.status();
        let html = response.text().await.expect("html");
        assert_eq!(status, StatusCode::OK, "{page}: {html}");
        let action = url::Url::parse(&page)
            .and_then(|b| b.join(&form_action(&html)))
            .expect("action")
            .to_string();
        let form: Vec<(&str, &str)> = if html.contains("name=\"login\"") {
            vec![
                ("prompt", "login"),
                ("login", user),
                ("password", "any-password"),
            ]
        } else {
            vec![("prompt", "consent")]
        };
        let response = browser
            .post(&action)
            .form(&form)
            .send()
            .await
            .expect("submit");
        assert!(
            response.status().is_redirection(),
            "{action}: {}",
            response.status()
        );
        url = location(&action, &response);
    }
    panic!("no callback after 20 steps, at {url}");
}

/// The `argocd.token` a response sets, if any.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.strip_prefix("argocd.token="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
        .find(|t| !t.is_empty())
}

async fn configure(cp: &ControlPlane, issuer: &str, rbac: Value) {
    let cms: Api<ConfigMap> = Api::namespaced(cp.client.clone(), NS);
    let oidc = format!(
        "name: ML Platform SSO\nissuer: {issuer}\nclientID: ferrocd\nclientSecret: $oidc.mlsso.clientSecret\n\
         requestedScopes: [openid, profile, email, groups]\n\
         requestedIDTokenClaims:\n  groups:\n    essential: true\n  email:\n    essential: true\n"
    );
    cms.patch(
        "argocd-cm",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {
            "url": format!("http://{}", cp.addr),
            "oidc.config": oidc,
        }})),
    )
    .await
    .expect("argocd-cm");
    cms.patch(
        "argocd-rbac-cm",
        &PatchParams::default(),
        &Patch::Merge(json!({ "data": rbac })),
    )
    .await
    .expect("argocd-rbac-cm");
    let secrets: Api<Secret> = Api::namespaced(cp.client.clone(), NS);
    secrets
        .patch(
            "argocd-secret",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {
                "oidc.mlsso.clientSecret": common::base64_encode(CLIENT_SECRET.as_bytes())
            }})),
        )
        .await
        .expect("argocd-secret");
}

fn policy(extra: &str) -> String {
    format!(
        "{}g, ml-engineers, role:ml-engineer\n{extra}",
        common::POLICY_CSV
    )
}

#[tokio::test]
async fn sso_login_maps_groups_to_roles_and_refuses_forged_callbacks() {
    let Some(modules) = node_modules() else {
        return;
    };
    let cp = ControlPlane::start().await;
    let server = format!("http://{}", cp.addr);
    let idp = IdentityProvider::start(&modules, &format!("{server}/auth/callback"), "RS256").await;
    configure(&cp, &idp.issuer, json!({"policy.csv": policy("")})).await;
    let mut bodies: Vec<(String, String)> = Vec::new();

    // the login page learns about SSO from /settings, without the secret
    let (status, settings) = cp.call("GET", "/api/v1/settings", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        settings["oidcConfig"],
        json!({"name": "ML Platform SSO", "issuer": idp.issuer, "clientID": "ferrocd",
               "scopes": ["openid", "profile", "email", "groups"]})
    );
    bodies.push(("settings".into(), settings.to_string()));

    // no open redirects
    for bad in [
        "https://evil.example.com/",
        "//evil.example.com",
        "/\\evil.example.com",
        "/\t/evil.example.com",
    ] {
        let response = browser()
            .get(
                url::Url::parse_with_params(&format!("{server}/auth/login"), [("return_url", bad)])
                    .expect("url"),
            )
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // dana logs in; her group ml-engineers holds role:ml-engineer
    let (dana, jar) = browser_with_jar();
    let callback = login_at_provider(&dana, &server, "dana", "/applications/mlflow").await;
    let state_cookie = state_cookie(&jar, &server);
    let response = dana.get(&callback).send().await.expect("callback");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&server, &response),
        format!("{server}/applications/mlflow")
    );
    let token = session_cookie(&response).expect("a session cookie");
    let info = dana
        .get(format!("{server}/api/v1/session/userinfo"))
        .send()
        .await
        .expect("userinfo")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(info["loggedIn"], true, "{info}");
    assert_eq!(info["username"], "dana@ml.example.com");
    assert_eq!(info["groups"], json!(["ml-engineers"]));
    assert_eq!(info["iss"], idp.issuer.as_str());
    bodies.push(("userinfo".into(), info.to_string()));
    let allowed = dana
        .get(format!("{server}/api/v1/applications/mlflow"))
        .send()
        .await
        .expect("get");
    assert_eq!(allowed.status(), StatusCode::OK);
    let denied = dana
        .get(format!("{server}/api/v1/applications/kserve"))
        .send()
        .await
        .expect("get");
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let (status, _) = cp
        .call(
            "POST",
            "/api/v1/applications/triton-prod/sync",
            Some(&token),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 403, "deny wins for the group's role too");

    // the same callback again (a replayed code, with the state cookie an attacker kept)
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(&callback)
        .header("cookie", format!("ferrocd.oidc.state={state_cookie}"))
        .send()
        .await
        .expect("replay");
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(session_cookie(&replay), None);

    // a callback whose state is not the one of the login
    let mallory = browser();
    let callback = login_at_provider(&mallory, &server, "dana", "/").await;
    let forged = replace_param(&callback, "state", "not-the-state");
    let response = mallory.get(&forged).send().await.expect("callback");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(session_cookie(&response), None);
    bodies.push((
        "bad state".into(),
        response.text().await.unwrap_or_default(),
    ));
    // ... and no state cookie at all (the login began in another browser)
    let response = browser().get(&callback).send().await.expect("callback");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // ID tokens for another client, or from another login
    for mode in ["aud", "nonce"] {
        idp.tamper(mode).await;
        let victim = browser();
        let callback = login_at_provider(&victim, &server, "dana", "/").await;
        let response = victim.get(&callback).send().await.expect("callback");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{mode}");
        assert_eq!(session_cookie(&response), None, "{mode}");
        let body = response.text().await.unwrap_or_default();
        let reason = if mode == "aud" {
            "not meant for client"
        } else {
            "nonce"
        };
        assert!(body.contains(reason), "{mode}: {body}");
        bodies.push((mode.into(), body));
    }
    idp.tamper("off").await;

    // a provider account named like the local admin does not become admin
    let impostor = browser();
    let callback = login_at_provider(&impostor, &server, "admin", "/").await;
    let response = impostor.get(&callback).send().await.expect("callback");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(session_cookie(&response), None);

    // scopes: [groups, email] lets policy name users by email
    let erin = browser();
    let callback = login_at_provider(&erin, &server, "erin", "/").await;
    let response = erin.get(&callback).send().await.expect("callback");
    let erin_token = session_cookie(&response).expect("erin's session");
    let (status, _) = cp
        .call(
            "GET",
            "/api/v1/applications/kserve",
            Some(&erin_token),
            None,
        )
        .await;
    assert_eq!(status, 403, "no role yet");
    configure(
        &cp,
        &idp.issuer,
        json!({"policy.csv": policy("g, erin@ml.example.com, role:readonly\n"), "scopes": "[groups, email]"}),
    )
    .await;
    let (status, _) = cp
        .call(
            "GET",
            "/api/v1/applications/kserve",
            Some(&erin_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "email scope grants role:readonly");
    let (status, _) = cp
        .call(
            "POST",
            "/api/v1/applications/kserve/sync",
            Some(&erin_token),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 403, "readonly cannot sync");

    // a project role granted to an SSO group (AppProject spec.roles[].groups)
    let projects: Api<kube::api::DynamicObject> =
        Api::namespaced_with(cp.client.clone(), NS, &common::project_resource());
    projects
        .patch(
            "ml-platform",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"roles": [{"name": "deployer", "groups": ["data-analysts"], "policies": [
                "p, proj:ml-platform:deployer, applications, sync, ml-platform/*, allow"]}]}})),
        )
        .await
        .expect("project");
    let (status, body) = cp
        .call(
            "POST",
            "/api/v1/applications/mlflow/sync",
            Some(&erin_token),
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        status, 200,
        "the group's project role may sync in its project: {body}"
    );
    let (status, _) = cp
        .call(
            "POST",
            "/api/v1/applications/airflow/sync",
            Some(&erin_token),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 403, "but not outside it");

    // logout revokes the SSO session
    let (status, _) = cp
        .call("DELETE", "/api/v1/session", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&token), None)
        .await;
    assert_eq!(status, 401);

    // SSO switched off: its sessions end
    let cms: Api<ConfigMap> = Api::namespaced(cp.client.clone(), NS);
    cms.patch(
        "argocd-cm",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"oidc.config": null}})),
    )
    .await
    .expect("argocd-cm");
    let (status, _) = cp
        .call(
            "GET",
            "/api/v1/applications/kserve",
            Some(&erin_token),
            None,
        )
        .await;
    assert_eq!(status, 401);
    let response = browser()
        .get(format!("{server}/auth/login"))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, settings) = cp.call("GET", "/api/v1/settings", None, None).await;
    assert!(settings.get("oidcConfig").is_none(), "{settings}");

    for (what, body) in &bodies {
        assert!(
            !body.contains(CLIENT_SECRET),
            "{what} leaks the client secret: {body}"
        );
        assert!(!body.contains("eyJ"), "{what} carries a token: {body}");
    }
    drop(idp);
    cp.stop().await;
}

#[tokio::test]
async fn sso_with_es256_id_tokens() {
    let Some(modules) = node_modules() else {
        return;
    };
    let cp = ControlPlane::start().await;
    let server = format!("http://{}", cp.addr);
    let idp = IdentityProvider::start(&modules, &format!("{server}/auth/callback"), "ES256").await;
    configure(&cp, &idp.issuer, json!({"policy.csv": policy("")})).await;
    let dana = browser();
    let callback = login_at_provider(&dana, &server, "dana", "/applications").await;
    let response = dana.get(&callback).send().await.expect("callback");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let token = session_cookie(&response).expect("session");
    let (status, _) = cp
        .call("GET", "/api/v1/applications/mlflow", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    drop(idp);
    cp.stop().await;
}

fn replace_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("url");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            if k == name {
                (k.into_owned(), value.to_string())
            } else {
                (k.into_owned(), v.into_owned())
            }
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}
