//! Repository credentials, from Argo CD repository Secrets or a local credentials file.
//!
//! Two kinds of entries are kept:
//!
//! - **repositories** (`argocd.argoproj.io/secret-type: repository`): credentials for one
//!   repository, matched by its normalized URL (see [`crate::url::RepoUrl`]);
//! - **templates** (`argocd.argoproj.io/secret-type: repo-creds`): credentials for every
//!   repository whose URL starts with the template's URL; the longest matching prefix wins.
//!
//! A repository entry without any secret material (only `url`) inherits the best matching
//! template, as in Argo CD.
//!
//! Secret values may be given base64-encoded under `data` or in clear under `stringData`
//! (which wins for keys present in both). Keys read: `url`, `username`, `password`,
//! `sshPrivateKey`, `bearerToken`, `insecure`, `type` (`git`, the default, or `helm`),
//! `name`, `project`, `proxy`, `forceHttpBasicAuth`, `enableOCI`, `tlsClientCertData`,
//! `tlsClientCertKey`. Other keys are ignored.
//!
//! No value read here is ever printed: [`Credential`] and [`Secret`] redact themselves in
//! `Debug` and `Display`, and errors name the Secret and the key, never the value.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;

use crate::url::{RepoUrl, canonical_prefix, redact};

const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";

/// A secret string that never shows itself in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value, for handing to a transport. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What kind of repository an entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RepoKind {
    /// A Git repository (the default when `type` is absent).
    #[default]
    Git,
    /// A Helm chart repository (HTTP index or OCI registry).
    Helm,
}

/// Credentials for one repository or a URL prefix.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Credential {
    /// HTTP user name (or SSH user when the URL names none).
    pub username: Option<String>,
    /// HTTP password or access token.
    pub password: Option<Secret>,
    /// A bearer token sent as `Authorization: Bearer ...` (HTTP only).
    pub bearer_token: Option<Secret>,
    /// A PEM/OpenSSH private key for SSH.
    pub ssh_private_key: Option<Secret>,
    /// A PEM client certificate for HTTPS (not secret, but kept out of logs all the same).
    pub tls_client_cert: Option<Secret>,
    /// The PEM key of the client certificate.
    pub tls_client_key: Option<Secret>,
    /// Skip TLS verification (HTTPS) or host key checking (SSH).
    pub insecure: bool,
    /// Send basic credentials without waiting for a `401` challenge.
    pub force_http_basic_auth: bool,
    /// An HTTP(S) proxy URL (it may embed credentials, so it is redacted as well).
    pub proxy: Option<Secret>,
}

impl Credential {
    /// A user name and password (or token) for HTTP basic authentication.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Credential {
        Credential {
            username: Some(username.into()),
            password: Some(Secret::new(password)),
            ..Credential::default()
        }
    }

    /// An SSH private key.
    pub fn ssh_key(private_key: impl Into<String>) -> Credential {
        Credential {
            ssh_private_key: Some(Secret::new(private_key)),
            ..Credential::default()
        }
    }

    /// Whether the entry carries anything to authenticate with.
    pub fn has_secret_material(&self) -> bool {
        self.password.is_some()
            || self.bearer_token.is_some()
            || self.ssh_private_key.is_some()
            || self.tls_client_key.is_some()
    }

    /// Every secret value, for scrubbing messages.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        [
            &self.password,
            &self.bearer_token,
            &self.ssh_private_key,
            &self.tls_client_key,
            &self.proxy,
        ]
        .into_iter()
        .flatten()
        .map(Secret::expose)
        .collect()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("password", &self.password)
            .field("bearer_token", &self.bearer_token)
            .field("ssh_private_key", &self.ssh_private_key)
            .field("tls_client_cert", &self.tls_client_cert)
            .field("tls_client_key", &self.tls_client_key)
            .field("insecure", &self.insecure)
            .field("force_http_basic_auth", &self.force_http_basic_auth)
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kinds = Vec::new();
        if self.password.is_some() {
            kinds.push("password");
        }
        if self.bearer_token.is_some() {
            kinds.push("bearer token");
        }
        if self.ssh_private_key.is_some() {
            kinds.push("ssh key");
        }
        if self.tls_client_key.is_some() {
            kinds.push("client certificate");
        }
        match &self.username {
            Some(user) => write!(f, "user {user:?}")?,
            None => f.write_str("anonymous")?,
        }
        if !kinds.is_empty() {
            write!(f, " with {} (redacted)", kinds.join(", "))?;
        }
        Ok(())
    }
}

/// One repository or template entry, as Argo CD describes repositories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryEntry {
    /// The URL (exact repository) or URL prefix (template), as written.
    pub url: String,
    /// The display name (`name` key), if any.
    pub name: Option<String>,
    /// The AppProject the entry is scoped to (`project` key), if any.
    pub project: Option<String>,
    /// Git or Helm.
    pub kind: RepoKind,
    /// Whether a Helm repository is an OCI registry (`enableOCI`).
    pub enable_oci: bool,
    /// The credentials.
    pub credential: Credential,
    /// Where the entry came from (`Secret argocd/repo-mlflow`, `file creds.yaml entry 2`).
    pub origin: String,
    key: String,
}

/// Why credentials could not be loaded. Messages name the Secret or file and the key,
/// never a value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialError {
    /// The credentials file could not be read.
    #[error("credentials file {path}: cannot read")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The credentials file is not valid YAML.
    #[error("credentials file {path}: invalid YAML{}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The line of the error, when known.
        line: Option<u64>,
    },
    /// An entry is malformed.
    #[error("{origin}: {reason}")]
    InvalidEntry {
        /// The Secret (`Secret namespace/name`) or file entry (`file path entry N`).
        origin: String,
        /// What is wrong, naming the key.
        reason: String,
    },
}

/// A set of repository credentials, looked up by repository URL.
#[derive(Clone, Debug, Default)]
pub struct CredentialStore {
    repositories: Vec<RepositoryEntry>,
    templates: Vec<RepositoryEntry>,
}

impl CredentialStore {
    /// An empty store (anonymous access everywhere).
    pub fn new() -> CredentialStore {
        CredentialStore::default()
    }

    /// Builds a store from Kubernetes Secrets. Secrets without the
    /// `argocd.argoproj.io/secret-type` label `repository` or `repo-creds` are ignored.
    pub fn from_secrets<'a, I>(secrets: I) -> Result<CredentialStore, CredentialError>
    where
        I: IntoIterator<Item = &'a Value>,
    {
        let mut store = CredentialStore::new();
        for secret in secrets {
            store.add_secret(secret)?;
        }
        Ok(store)
    }

    /// Reads a local credentials file.
    ///
    /// The file is YAML and holds either Kubernetes Secrets (one per document, or a
    /// `kind: List` / `SecretList` with `items`), labelled as Argo CD labels them, or
    /// documents of this shape:
    ///
    /// ```yaml
    /// repositories:              # exact repository URLs
    ///   - url: https://git.example.com/ml/platform.git
    ///     username: deploy-bot
    ///     password: glpat-...     # or a token
    ///   - url: git@git.example.com:ml/airflow-dags.git
    ///     sshPrivateKey: |
    ///       -----BEGIN OPENSSH PRIVATE KEY-----
    ///       ...
    ///     insecure: false
    /// repoCreds:                 # URL-prefix templates, longest prefix wins
    ///   - url: https://git.example.com/ml/
    ///     username: deploy-bot
    ///     password: glpat-...
    /// ```
    ///
    /// Entry keys are the Argo CD Secret keys listed in the module docs, in clear text.
    pub fn from_file(path: impl AsRef<Path>) -> Result<CredentialStore, CredentialError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| CredentialError::Read {
            path: path.to_path_buf(),
            source: Arc::new(e),
        })?;
        let mut store = CredentialStore::new();
        store.add_yaml(&text, path)?;
        Ok(store)
    }

    /// Adds the entries of a credentials file's text (see [`CredentialStore::from_file`]);
    /// `path` is only used in messages.
    pub fn add_yaml(&mut self, text: &str, path: &Path) -> Result<(), CredentialError> {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(text).map_err(|e| CredentialError::Yaml {
                path: path.to_path_buf(),
                line: e.location().map(|l| l.line()),
            })?;
        let mut index = 0usize;
        for doc in &docs {
            if doc.is_null() {
                continue;
            }
            if doc.get("kind").and_then(Value::as_str) == Some("Secret") {
                self.add_secret(doc)?;
                continue;
            }
            if let Some(items) = doc.get("items").and_then(Value::as_array) {
                for item in items {
                    self.add_secret(item)?;
                }
                continue;
            }
            let mut known = false;
            for (key, template) in [("repositories", false), ("repoCreds", true)] {
                let Some(list) = doc.get(key) else { continue };
                known = true;
                let list = list
                    .as_array()
                    .ok_or_else(|| CredentialError::InvalidEntry {
                        origin: format!("credentials file {}", path.display()),
                        reason: format!("{key} must be a list"),
                    })?;
                for entry in list {
                    index += 1;
                    let origin = format!("credentials file {} entry {index}", path.display());
                    let fields = plain_fields(entry, &origin)?;
                    self.insert(fields, template, origin)?;
                }
            }
            if !known {
                return Err(CredentialError::InvalidEntry {
                    origin: format!("credentials file {}", path.display()),
                    reason: "document is neither a Secret nor has repositories/repoCreds"
                        .to_string(),
                });
            }
        }
        Ok(())
    }

    /// Adds one Kubernetes Secret; returns whether it was a repository or repo-creds Secret.
    pub fn add_secret(&mut self, secret: &Value) -> Result<bool, CredentialError> {
        let meta = secret.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>");
        let origin = match meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
        {
            Some(ns) => format!("Secret {ns}/{name}"),
            None => format!("Secret {name}"),
        };
        let kind = meta
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.get(SECRET_TYPE_LABEL))
            .and_then(Value::as_str);
        let template = match kind {
            Some("repository") => false,
            Some("repo-creds") => true,
            _ => return Ok(false),
        };
        let fields = secret_fields(secret, &origin)?;
        self.insert(fields, template, origin)?;
        Ok(true)
    }

    /// Adds credentials for one repository URL.
    pub fn add_repository(&mut self, url: &str, credential: Credential) {
        self.repositories.push(RepositoryEntry {
            url: url.to_string(),
            name: None,
            project: None,
            kind: RepoKind::Git,
            enable_oci: false,
            credential,
            origin: "api".to_string(),
            key: repo_key(url),
        });
    }

    /// Adds credentials for every repository under a URL prefix.
    pub fn add_template(&mut self, url_prefix: &str, credential: Credential) {
        self.templates.push(RepositoryEntry {
            url: url_prefix.to_string(),
            name: None,
            project: None,
            kind: RepoKind::Git,
            enable_oci: false,
            credential,
            origin: "api".to_string(),
            key: canonical_prefix(url_prefix),
        });
    }

    /// The credentials for a Git repository URL, if any.
    pub fn lookup(&self, url: &str) -> Option<&Credential> {
        self.lookup_kind(url, RepoKind::Git)
    }

    /// The credentials for a repository URL of the given kind: the exact repository entry
    /// when it carries secret material, else the template with the longest matching prefix,
    /// else the exact entry (which may hold settings such as `insecure`).
    pub fn lookup_kind(&self, url: &str, kind: RepoKind) -> Option<&Credential> {
        let key = repo_key(url);
        let exact = self
            .repositories
            .iter()
            .rev()
            .find(|e| e.kind == kind && e.key == key);
        if let Some(e) = exact
            && e.credential.has_secret_material()
        {
            return Some(&e.credential);
        }
        let prefix_target = canonical_prefix(url);
        let template = self
            .templates
            .iter()
            .filter(|t| t.kind == kind && prefix_target.starts_with(&t.key))
            .max_by_key(|t| t.key.len());
        template.or(exact).map(|e| &e.credential)
    }

    /// All exact repository entries, in insertion order.
    pub fn repositories(&self) -> &[RepositoryEntry] {
        &self.repositories
    }

    /// All template (prefix) entries, in insertion order.
    pub fn templates(&self) -> &[RepositoryEntry] {
        &self.templates
    }

    /// Whether the store holds no entries.
    pub fn is_empty(&self) -> bool {
        self.repositories.is_empty() && self.templates.is_empty()
    }

    fn insert(
        &mut self,
        mut fields: BTreeMap<String, String>,
        template: bool,
        origin: String,
    ) -> Result<(), CredentialError> {
        let invalid = |reason: String| CredentialError::InvalidEntry {
            origin: origin.clone(),
            reason,
        };
        let url = fields
            .remove("url")
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| invalid("missing key url".to_string()))?;
        let kind = match fields.get("type").map(String::as_str) {
            None | Some("") | Some("git") => RepoKind::Git,
            Some("helm") => RepoKind::Helm,
            Some(other) => return Err(invalid(format!("unsupported type {other:?}"))),
        };
        let flag =
            |fields: &BTreeMap<String, String>, key: &str| -> Result<bool, CredentialError> {
                match fields.get(key).map(|v| v.trim().to_ascii_lowercase()) {
                    None => Ok(false),
                    Some(v) if v.is_empty() || v == "false" => Ok(false),
                    Some(v) if v == "true" => Ok(true),
                    Some(_) => Err(invalid(format!("key {key} must be true or false"))),
                }
            };
        let secret = |fields: &mut BTreeMap<String, String>, key: &str| {
            fields
                .remove(key)
                .filter(|v| !v.is_empty())
                .map(Secret::new)
        };
        let credential = Credential {
            username: fields.remove("username").filter(|v| !v.is_empty()),
            insecure: flag(&fields, "insecure")?,
            force_http_basic_auth: flag(&fields, "forceHttpBasicAuth")?,
            password: secret(&mut fields, "password"),
            bearer_token: secret(&mut fields, "bearerToken"),
            ssh_private_key: secret(&mut fields, "sshPrivateKey"),
            tls_client_cert: secret(&mut fields, "tlsClientCertData"),
            tls_client_key: secret(&mut fields, "tlsClientCertKey"),
            proxy: secret(&mut fields, "proxy"),
        };
        let entry = RepositoryEntry {
            key: if template {
                canonical_prefix(&url)
            } else {
                repo_key(&url)
            },
            url,
            name: fields.remove("name"),
            project: fields.remove("project"),
            kind,
            enable_oci: flag(&fields, "enableOCI")?,
            credential,
            origin,
        };
        tracing::debug!(url = %redact(&entry.url), origin = %entry.origin, template, "loaded repository credentials");
        if template {
            self.templates.push(entry);
        } else {
            self.repositories.push(entry);
        }
        Ok(())
    }
}

/// The key of an exact repository entry: the normalized URL, or (for a local path that
/// does not exist here) the URL with only user-info removed.
fn repo_key(url: &str) -> String {
    match RepoUrl::parse(url) {
        Ok(u) => u.normalized,
        Err(_) => canonical_prefix(url),
    }
}

/// Reads `data` (base64) and `stringData` (clear) of a Secret into one map.
fn secret_fields(
    secret: &Value,
    origin: &str,
) -> Result<BTreeMap<String, String>, CredentialError> {
    let mut fields = BTreeMap::new();
    if let Some(data) = secret.get("data").and_then(Value::as_object) {
        for (key, value) in data {
            let invalid = |what: &str| CredentialError::InvalidEntry {
                origin: origin.to_string(),
                reason: format!("data key {key} {what}"),
            };
            let Some(encoded) = value.as_str() else {
                if value.is_null() {
                    continue;
                }
                return Err(invalid("is not a string"));
            };
            let cleaned: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned.as_bytes())
                .map_err(|_| invalid("is not valid base64"))?;
            let text = String::from_utf8(bytes).map_err(|_| invalid("is not UTF-8 text"))?;
            fields.insert(key.clone(), text);
        }
    }
    if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
        for (key, value) in data {
            if let Some(text) = scalar_text(value) {
                fields.insert(key.clone(), text);
            }
        }
    }
    Ok(fields)
}

/// Reads a plain file entry (`{url, username, ...}`) into a map.
fn plain_fields(entry: &Value, origin: &str) -> Result<BTreeMap<String, String>, CredentialError> {
    let obj = entry
        .as_object()
        .ok_or_else(|| CredentialError::InvalidEntry {
            origin: origin.to_string(),
            reason: "entry must be a mapping".to_string(),
        })?;
    let mut fields = BTreeMap::new();
    for (key, value) in obj {
        match scalar_text(value) {
            Some(text) => {
                fields.insert(key.clone(), text);
            }
            None if value.is_null() => {}
            None => {
                return Err(CredentialError::InvalidEntry {
                    origin: origin.to_string(),
                    reason: format!("key {key} must be a scalar"),
                });
            }
        }
    }
    Ok(fields)
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn repo_secret(name: &str, ty: &str, data: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": "argocd",
                "labels": { SECRET_TYPE_LABEL: ty }
            },
            "data": data
        })
    }

    #[test]
    fn exact_repository_secret_matches_normalized_url() {
        let s = repo_secret(
            "repo-mlflow",
            "repository",
            json!({
                "url": b64("https://git.example.com/ml/mlflow.git"),
                "username": b64("deploy-bot"),
                "password": b64("s3cr3t-pw"),
                "project": b64("ml-platform"),
            }),
        );
        let store = CredentialStore::from_secrets([&s]).unwrap();
        let c = store.lookup("HTTPS://Git.Example.com/ml/mlflow/").unwrap();
        assert_eq!(c.username.as_deref(), Some("deploy-bot"));
        assert_eq!(c.password.as_ref().unwrap().expose(), "s3cr3t-pw");
        assert_eq!(
            store.repositories()[0].project.as_deref(),
            Some("ml-platform")
        );
        assert!(store.lookup("https://git.example.com/ml/airflow").is_none());
    }

    #[test]
    fn longest_template_prefix_wins_and_repository_inherits_it() {
        let broad = repo_secret(
            "creds-org",
            "repo-creds",
            json!({"url": b64("https://git.example.com/"), "username": b64("org"), "password": b64("org-pw")}),
        );
        let narrow = repo_secret(
            "creds-ml",
            "repo-creds",
            json!({"url": b64("https://git.example.com/ml/"), "username": b64("ml"), "password": b64("ml-pw")}),
        );
        let bare = repo_secret(
            "repo-dags",
            "repository",
            json!({"url": b64("https://git.example.com/ml/airflow-dags.git")}),
        );
        let other = json!({"kind": "Secret", "metadata": {"name": "cluster", "labels": {SECRET_TYPE_LABEL: "cluster"}}});
        let store = CredentialStore::from_secrets([&broad, &narrow, &bare, &other]).unwrap();
        assert_eq!(store.templates().len(), 2);
        assert_eq!(store.repositories().len(), 1);
        let user = |u: &str| store.lookup(u).and_then(|c| c.username.clone());
        assert_eq!(
            user("https://git.example.com/ml/airflow-dags.git").as_deref(),
            Some("ml")
        );
        assert_eq!(
            user("https://git.example.com/ml/mlflow").as_deref(),
            Some("ml")
        );
        assert_eq!(
            user("https://git.example.com/data/spark").as_deref(),
            Some("org")
        );
        assert_eq!(user("https://other.example.com/ml/x"), None);
        // A prefix is a plain string prefix on the canonical form, trailing slash included.
        assert_eq!(
            user("https://git.example.com/mlops/x").as_deref(),
            Some("org")
        );
    }

    #[test]
    fn string_data_wins_over_data_and_flags_parse() {
        let s = json!({
            "kind": "Secret",
            "metadata": {"name": "r", "labels": {SECRET_TYPE_LABEL: "repository"}},
            "data": {"url": b64("git@git.example.com:ml/serving.git"), "password": b64("old")},
            "stringData": {"password": "new", "insecure": "true", "sshPrivateKey": "KEY"}
        });
        let store = CredentialStore::from_secrets([&s]).unwrap();
        let c = store
            .lookup("ssh://git@git.example.com/ml/serving")
            .unwrap();
        assert_eq!(c.password.as_ref().unwrap().expose(), "new");
        assert!(c.insecure);
        assert_eq!(c.ssh_private_key.as_ref().unwrap().expose(), "KEY");
    }

    #[test]
    fn helm_entries_do_not_answer_git_lookups() {
        let s = repo_secret(
            "charts",
            "repository",
            json!({"url": b64("https://charts.example.com/ml"), "type": b64("helm"), "password": b64("x-pw")}),
        );
        let store = CredentialStore::from_secrets([&s]).unwrap();
        assert!(store.lookup("https://charts.example.com/ml").is_none());
        assert!(
            store
                .lookup_kind("https://charts.example.com/ml", RepoKind::Helm)
                .is_some()
        );
    }

    #[test]
    fn bad_base64_names_secret_and_key_not_value() {
        let s = repo_secret(
            "broken",
            "repository",
            json!({"url": b64("https://h/x"), "password": "!!not-base64-hunter2!!"}),
        );
        let err = CredentialStore::from_secrets([&s]).unwrap_err().to_string();
        assert_eq!(
            err,
            "Secret argocd/broken: data key password is not valid base64"
        );
        assert!(!err.contains("hunter2"));
    }

    #[test]
    fn missing_url_is_an_error() {
        let s = repo_secret("nourl", "repository", json!({"password": b64("pw")}));
        let err = CredentialStore::from_secrets([&s]).unwrap_err().to_string();
        assert_eq!(err, "Secret argocd/nourl: missing key url");
    }

    #[test]
    fn credential_debug_and_display_redact() {
        let mut c = Credential::basic("bot", "hunter2-pass");
        c.ssh_private_key = Some(Secret::new("-----BEGIN KEY-----"));
        c.proxy = Some(Secret::new("http://u:proxypw@proxy:3128"));
        let shown = format!("{c:?} {c} {:?}", CredentialStore::new());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("BEGIN"), "{shown}");
        assert!(!shown.contains("proxypw"), "{shown}");
        assert_eq!(
            c.to_string(),
            "user \"bot\" with password, ssh key (redacted)"
        );
    }

    #[test]
    fn file_with_repository_list_and_templates() {
        let yaml = r#"
repositories:
  - url: https://git.example.com/ml/platform.git
    username: deploy-bot
    password: tok-123
    insecure: true
repoCreds:
  - url: https://git.example.com/data/
    username: data-bot
    password: tok-456
"#;
        let mut store = CredentialStore::new();
        store.add_yaml(yaml, Path::new("creds.yaml")).unwrap();
        let c = store.lookup("https://git.example.com/ml/platform").unwrap();
        assert!(c.insecure);
        assert_eq!(c.password.as_ref().unwrap().expose(), "tok-123");
        let d = store
            .lookup("https://git.example.com/data/spark-jobs.git")
            .unwrap();
        assert_eq!(d.username.as_deref(), Some("data-bot"));
    }

    #[test]
    fn file_with_multi_document_secrets() {
        let yaml = format!(
            r#"apiVersion: v1
kind: Secret
metadata:
  name: repo-a
  labels:
    argocd.argoproj.io/secret-type: repository
stringData:
  url: https://git.example.com/ml/a
  password: pw-a
---
apiVersion: v1
kind: Secret
metadata:
  name: repo-b
  labels:
    argocd.argoproj.io/secret-type: repository
data:
  url: {}
  username: {}
"#,
            b64("https://git.example.com/ml/b"),
            b64("bob")
        );
        let mut store = CredentialStore::new();
        store.add_yaml(&yaml, Path::new("s.yaml")).unwrap();
        assert_eq!(store.repositories().len(), 2);
        assert_eq!(
            store
                .lookup("https://git.example.com/ml/b")
                .unwrap()
                .username
                .as_deref(),
            Some("bob")
        );
    }

    #[test]
    fn file_errors_do_not_leak_values() {
        let mut store = CredentialStore::new();
        let err = store
            .add_yaml(
                "repositories: [ {url: x, password: \"hunter2\n",
                Path::new("c.yaml"),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("credentials file c.yaml: invalid YAML"),
            "{err}"
        );
        assert!(!err.contains("hunter2"));
        let err = store
            .add_yaml("something: else\n", Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("neither a Secret"), "{err}");
        let err = CredentialStore::from_file("/nonexistent/creds.yaml").unwrap_err();
        assert!(matches!(err, CredentialError::Read { .. }));
    }

    proptest::proptest! {
        #[test]
        fn add_yaml_never_panics(text in "\\PC{0,200}") {
            let mut store = CredentialStore::new();
            let _ = store.add_yaml(&text, Path::new("fuzz.yaml"));
        }

        #[test]
        fn secret_errors_never_echo_values(value in "[!-~]{1,40}") {
            let s = repo_secret("p", "repository", json!({"url": b64("https://h/x"), "password": value.clone()}));
            if let Err(e) = CredentialStore::from_secrets([&s]) {
                let shown = format!("{e} {e:?}");
                proptest::prop_assert!(value.len() < 4 || !shown.contains(&value), "{}", shown);
            }
        }
    }
}
