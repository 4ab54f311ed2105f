//! What the server reads from and writes to the control-plane cluster: Applications and
//! AppProjects (custom resources in the server's namespace), `argocd-cm`, `argocd-rbac-cm`,
//! `argocd-secret`, `argocd-initial-admin-secret`, and repository and cluster Secrets.

use std::collections::BTreeMap;

use base64::Engine;
use ferrocd_model::Sensitive;
use ferrocd_model::project::AppProject;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use rand::Rng;
use serde_json::{Value, json};

use crate::auth::AuthSettings;
use crate::error::ServerError;
use crate::oidc::{OidcConfig, OidcError};
use crate::rbac::{Policy, RbacError};

/// `argocd-cm`: general settings and local accounts.
pub const ARGOCD_CM: &str = "argocd-cm";
/// `argocd-rbac-cm`: the RBAC policy.
pub const ARGOCD_RBAC_CM: &str = "argocd-rbac-cm";
/// `argocd-secret`: password hashes, token records and the signing key.
pub const ARGOCD_SECRET: &str = "argocd-secret";
/// `argocd-initial-admin-secret`: the generated admin password, in clear.
pub const INITIAL_ADMIN_SECRET: &str = "argocd-initial-admin-secret";
/// The label that marks repository and cluster Secrets.
pub const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";

/// The API resource of Applications.
pub fn application_resource() -> ApiResource {
    argo_resource("Application", "applications")
}

/// The API resource of AppProjects.
pub fn project_resource() -> ApiResource {
    argo_resource("AppProject", "appprojects")
}

fn argo_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// The settings every request needs, read together.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Accounts, session duration, signing key.
    pub auth: AuthSettings,
    /// RBAC with the project roles of every AppProject.
    pub policy: Policy,
    /// AppProjects.
    pub projects: Vec<AppProject>,
    /// The data of `argocd-cm`.
    pub config: BTreeMap<String, String>,
    /// Project role policy lines that were skipped.
    pub policy_warnings: Vec<RbacError>,
    /// `oidc.config` with its client secret resolved; `Ok(None)` when SSO is not configured,
    /// an error when it is configured wrongly (local logins still work then).
    pub oidc: Result<Option<OidcConfig>, OidcError>,
}

/// Access to the control-plane cluster.
#[derive(Clone)]
pub struct Store {
    client: kube::Client,
    namespace: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl Store {
    /// A store for the namespace.
    pub fn new(client: kube::Client, namespace: impl Into<String>) -> Store {
        Store {
            client,
            namespace: namespace.into(),
        }
    }

    /// The server's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The Kubernetes client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Applications in the server's namespace.
    pub fn apps(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &application_resource(),
        )
    }

    /// AppProjects in the server's namespace.
    pub fn projects(&self) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, &project_resource())
    }

    /// Secrets in the server's namespace.
    pub fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// ConfigMaps in the server's namespace.
    pub fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Makes sure the server can run: `argocd-secret` with `server.secretkey`, an admin password
    /// (taken from `argocd-initial-admin-secret` when it exists, else generated and stored
    /// there), and the `default` project. Returns the admin password when this call generated it.
    pub async fn bootstrap(&self) -> Result<Option<Sensitive>, ServerError> {
        let kube_err = |action: &str| {
            let action = action.to_string();
            move |source| ServerError::Kube { action, source }
        };
        let secrets = self.secrets();
        let existing = secrets
            .get_opt(ARGOCD_SECRET)
            .await
            .map_err(kube_err("reading argocd-secret"))?;
        let data = existing
            .as_ref()
            .and_then(|s| s.data.clone())
            .unwrap_or_default();
        let mut additions: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        if data.get("server.secretkey").is_none_or(|v| v.0.is_empty()) {
            let key: [u8; 32] = rand::rng().random();
            additions.insert("server.secretkey".into(), key.to_vec());
        }
        let mut generated = None;
        if data.get("admin.password").is_none_or(|v| v.0.is_empty()) {
            let initial = secrets
                .get_opt(INITIAL_ADMIN_SECRET)
                .await
                .map_err(kube_err("reading argocd-initial-admin-secret"))?
                .and_then(|s| s.data)
                .and_then(|d| d.get("password").map(|p| p.0.clone()))
                .and_then(|p| String::from_utf8(p).ok())
                .filter(|p| !p.is_empty());
            let password = match initial {
                Some(p) => p,
                None => {
                    let p: String = rand::rng()
                        .sample_iter(rand::distr::Alphanumeric)
                        .take(16)
                        .map(char::from)
                        .collect();
                    let secret: Secret = serde_json::from_value(json!({
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": INITIAL_ADMIN_SECRET, "namespace": self.namespace},
                        "type": "Opaque",
                        "data": {"password": b64(p.as_bytes())},
                    }))
                    .map_err(|e| ServerError::Malformed {
                        what: INITIAL_ADMIN_SECRET.into(),
                        message: e.to_string(),
                    })?;
                    secrets
                        .create(&PostParams::default(), &secret)
                        .await
                        .map_err(kube_err("creating argocd-initial-admin-secret"))?;
                    generated = Some(Sensitive::new(p.clone()));
                    p
                }
            };
            let hash = crate::auth::PasswordHash::hash(&password).map_err(ServerError::Auth)?;
            additions.insert("admin.password".into(), hash.expose().as_bytes().to_vec());
            additions.insert(
                "admin.passwordMtime".into(),
                chrono::Utc::now()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    .into_bytes(),
            );
        }
        if existing.is_none() {
            let data: BTreeMap<String, ByteString> = additions
                .into_iter()
                .map(|(k, v)| (k, ByteString(v)))
                .collect();
            let secret = Secret {
                metadata: kube::api::ObjectMeta {
                    name: Some(ARGOCD_SECRET.into()),
                    namespace: Some(self.namespace.clone()),
                    labels: Some(BTreeMap::from([(
                        "app.kubernetes.io/part-of".to_string(),
                        "argocd".to_string(),
                    )])),
                    ..Default::default()
                },
                data: Some(data),
                type_: Some("Opaque".into()),
                ..Default::default()
            };
            secrets
                .create(&PostParams::default(), &secret)
                .await
                .map_err(kube_err("creating argocd-secret"))?;
        } else if !additions.is_empty() {
            self.patch_secret_data(ARGOCD_SECRET, &additions, &[])
                .await
                .map_err(kube_err("updating argocd-secret"))?;
        }
        let projects = self.projects();
        if projects
            .get_opt("default")
            .await
            .map_err(kube_err("reading the default project"))?
            .is_none()
        {
            let default = AppProject::default_project(&self.namespace);
            let object: DynamicObject = serde_json::to_value(&default)
                .and_then(serde_json::from_value)
                .map_err(|e| ServerError::Malformed {
                    what: "the default project".into(),
                    message: e.to_string(),
                })?;
            match projects.create(&PostParams::default(), &object).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(kube_err("creating the default project")(e)),
            }
        }
        Ok(generated)
    }

    /// Sets and removes keys of a Secret's data with a merge patch.
    pub async fn patch_secret_data(
        &self,
        name: &str,
        set: &BTreeMap<String, Vec<u8>>,
        remove: &[String],
    ) -> Result<(), kube::Error> {
        let mut data = serde_json::Map::new();
        for (k, v) in set {
            data.insert(k.clone(), Value::String(b64(v)));
        }
        for k in remove {
            data.insert(k.clone(), Value::Null);
        }
        self.secrets()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"data": data})),
            )
            .await
            .map(|_| ())
    }

    /// Reads the settings, the policy and the projects.
    pub async fn load(&self) -> Result<Snapshot, ServerError> {
        let kube_err = |action: &'static str| {
            move |source| ServerError::Kube {
                action: action.to_string(),
                source,
            }
        };
        let cms = self.config_maps();
        let config = cms
            .get_opt(ARGOCD_CM)
            .await
            .map_err(kube_err("reading argocd-cm"))?
            .and_then(|c| c.data)
            .unwrap_or_default();
        let rbac = cms
            .get_opt(ARGOCD_RBAC_CM)
            .await
            .map_err(kube_err("reading argocd-rbac-cm"))?
            .and_then(|c| c.data)
            .unwrap_or_default();
        let secret: BTreeMap<String, Vec<u8>> = self
            .secrets()
            .get_opt(ARGOCD_SECRET)
            .await
            .map_err(kube_err("reading argocd-secret"))?
            .and_then(|s| s.data)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        let mut auth = AuthSettings::from_data(&config, &secret).map_err(ServerError::Auth)?;
        let rbac_value = serde_json::to_value(&rbac).unwrap_or(Value::Null);
        let mut policy = Policy::from_config_map(&rbac_value).map_err(ServerError::Rbac)?;
        auth.scopes = policy.scopes().to_vec();
        let oidc = self.load_oidc(&config, &secret).await;
        match &oidc {
            Ok(Some(c)) => auth.oidc_issuer = Some(c.issuer.clone()),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "single sign-on is off: oidc.config is invalid"),
        }
        let list = self
            .projects()
            .list(&ListParams::default())
            .await
            .map_err(kube_err("listing AppProjects"))?;
        let mut projects = Vec::new();
        let mut policy_warnings = Vec::new();
        for object in list.items {
            let name = object.metadata.name.clone().unwrap_or_default();
            match serde_json::to_value(&object).and_then(serde_json::from_value::<AppProject>) {
                Ok(project) => {
                    policy_warnings.extend(policy.add_project(project.name(), &project.spec.roles));
                    projects.push(project);
                }
                Err(e) => {
                    tracing::warn!(project = %name, error = %e, "skipping a malformed AppProject")
                }
            }
        }
        for warning in &policy_warnings {
            tracing::warn!(error = %warning, "skipping a project role policy line");
        }
        Ok(Snapshot {
            auth,
            policy,
            projects,
            config,
            policy_warnings,
            oidc,
        })
    }

    /// `oidc.config`, with the client secret read from `argocd-secret` or the labelled
    /// Secret it references.
    async fn load_oidc(
        &self,
        config: &BTreeMap<String, String>,
        secret: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Option<OidcConfig>, OidcError> {
        let Some(mut oidc) = OidcConfig::parse(config.get("oidc.config").map_or("", |s| s))? else {
            return Ok(None);
        };
        let other = match oidc.referenced_secret() {
            None => None,
            Some(name) => {
                let found = self
                    .secrets()
                    .get_opt(name)
                    .await
                    .map_err(|e| OidcError::Config {
                        field: "oidc.config clientSecret".into(),
                        message: format!("reading Secret {name:?}: {e}"),
                    })?;
                // Argo CD only reads Secrets that say they belong to it.
                found
                    .filter(|s| {
                        s.metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get("app.kubernetes.io/part-of"))
                            .is_some_and(|v| v == "argocd")
                    })
                    .and_then(|s| s.data)
                    .map(|d| {
                        d.into_iter()
                            .map(|(k, v)| (k, v.0))
                            .collect::<BTreeMap<_, _>>()
                    })
            }
        };
        oidc.resolve(secret, other.as_ref())?;
        Ok(Some(oidc))
    }
}

/// Standard base64.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The values of a Secret given as JSON: `data` decoded, `stringData` on top.
pub(crate) fn secret_values(secret: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(data) = secret.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            if let Some(decoded) = v
                .as_str()
                .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            {
                out.insert(k.clone(), String::from_utf8_lossy(&decoded).into_owned());
            }
        }
    }
    if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
        for (k, v) in data {
            if let Some(s) = v.as_str() {
                out.insert(k.clone(), s.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_decode_data_and_prefer_string_data() {
        let secret = json!({
            "data": {"url": b64(b"https://git.example.com/ml/models.git"), "password": b64(b"old"), "bad": "%%%"},
            "stringData": {"password": "new"},
        });
        let values = secret_values(&secret);
        assert_eq!(values["url"], "https://git.example.com/ml/models.git");
        assert_eq!(values["password"], "new");
        assert!(!values.contains_key("bad"));
        assert!(secret_values(&json!({})).is_empty());
    }

    #[test]
    fn argo_resources() {
        assert_eq!(application_resource().plural, "applications");
        assert_eq!(project_resource().api_version, "argoproj.io/v1alpha1");
    }
}
