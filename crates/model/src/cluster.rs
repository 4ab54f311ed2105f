//! Argo CD cluster Secrets: a Secret labelled `argocd.argoproj.io/secret-type: cluster`
//! whose keys `name`, `server`, `namespaces`, `clusterResources`, `project`, `shard` and
//! `config` (JSON credentials and TLS settings) describe a cluster to deploy to.
//!
//! Credentials are held in [`Sensitive`], which prints `***` in `Debug` and `Display`, so
//! a cluster can be logged without leaking its token.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::meta::Extra;

/// Label that marks Argo CD Secrets by type.
pub const SECRET_TYPE_LABEL: &str = "argocd.argoproj.io/secret-type";
/// Value of [`SECRET_TYPE_LABEL`] for cluster Secrets.
pub const SECRET_TYPE_CLUSTER: &str = "cluster";
/// Server URL of the cluster ferrocd runs in.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// A secret string: serialized as is, but shown as `***` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive(String);

impl Sensitive {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Reading a cluster Secret failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The value is not a Secret object.
    #[error("secret {secret}: not a Kubernetes Secret object")]
    NotASecret {
        /// Secret name, or `<unnamed>`.
        secret: String,
    },
    /// The Secret lacks the cluster type label.
    #[error(
        "secret {secret}: not a cluster secret (label {SECRET_TYPE_LABEL}={SECRET_TYPE_CLUSTER} missing)"
    )]
    NotACluster {
        /// Secret name.
        secret: String,
    },
    /// A required key is missing or empty.
    #[error("secret {secret}: key {key} is required")]
    MissingKey {
        /// Secret name.
        secret: String,
        /// The key.
        key: &'static str,
    },
    /// A `data` value is not base64 or not UTF-8.
    #[error("secret {secret}: data.{key} is not base64-encoded UTF-8 text")]
    Encoding {
        /// Secret name.
        secret: String,
        /// The key.
        key: String,
    },
    /// A key holds a value of the wrong form.
    #[error("secret {secret}: key {key}: {message}")]
    InvalidValue {
        /// Secret name.
        secret: String,
        /// The key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// A cluster, as described by an Argo CD cluster Secret.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterSecret {
    /// Name of the Secret itself.
    pub secret_name: String,
    /// Display name of the cluster (`destination.name` refers to it).
    pub name: String,
    /// API server URL (`destination.server` refers to it).
    pub server: String,
    /// Namespaces the cluster is limited to; all when empty.
    pub namespaces: Vec<String>,
    /// With `namespaces` set, whether cluster-scoped resources may still be managed.
    pub cluster_resources: bool,
    /// Project the cluster is scoped to.
    pub project: Option<String>,
    /// Controller shard that handles this cluster.
    pub shard: Option<u32>,
    /// Credentials and TLS settings.
    pub config: ClusterConfig,
    /// Labels of the Secret (besides the type label, used for ApplicationSet selectors).
    pub labels: BTreeMap<String, String>,
    /// Annotations of the Secret.
    pub annotations: BTreeMap<String, String>,
}

impl fmt::Display for ClusterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cluster {} ({}) [{}]",
            self.name, self.server, self.config
        )
    }
}

/// The `config` key: how to authenticate to the cluster.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfig {
    /// Basic-auth user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Basic-auth password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Sensitive>,
    /// Bearer token (e.g. a ServiceAccount token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Sensitive>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "crate::meta::is_default")]
    pub tls_client_config: TlsClientConfig,
    /// Credential plugin (`kubectl`-style exec provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_provider_config: Option<ExecProviderConfig>,
    /// Other settings (awsAuthConfig, proxyUrl, disableCompression, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Display for ClusterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(user) = &self.username {
            parts.push(format!("username={user}"));
        }
        if self.password.is_some() {
            parts.push("password=***".to_string());
        }
        if self.bearer_token.is_some() {
            parts.push("bearerToken=***".to_string());
        }
        if self.tls_client_config.key_data.is_some() {
            parts.push("keyData=***".to_string());
        }
        if self.tls_client_config.insecure == Some(true) {
            parts.push("insecure".to_string());
        }
        if let Some(exec) = &self.exec_provider_config {
            parts.push(format!("exec={}", exec.command));
        }
        if parts.is_empty() {
            f.write_str("no credentials")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

/// `config.tlsClientConfig`. The `*Data` fields hold base64-encoded PEM.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsClientConfig {
    /// Skip server certificate verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure: Option<bool>,
    /// Server name to verify instead of the URL's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// CA bundle (base64 of PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_data: Option<String>,
    /// Client certificate (base64 of PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_data: Option<String>,
    /// Client key (base64 of PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_data: Option<Sensitive>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TlsClientConfig {
    /// The CA bundle as PEM bytes.
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>, base64::DecodeError> {
        decode_opt(self.ca_data.as_deref())
    }

    /// The client certificate as PEM bytes.
    pub fn cert_pem(&self) -> Result<Option<Vec<u8>>, base64::DecodeError> {
        decode_opt(self.cert_data.as_deref())
    }

    /// The client key as PEM bytes.
    pub fn key_pem(&self) -> Result<Option<Vec<u8>>, base64::DecodeError> {
        decode_opt(self.key_data.as_ref().map(Sensitive::expose))
    }
}

fn decode_opt(data: Option<&str>) -> Result<Option<Vec<u8>>, base64::DecodeError> {
    data.map(|d| base64::engine::general_purpose::STANDARD.decode(d.trim()))
        .transpose()
}

/// `config.execProviderConfig`: a command printing an ExecCredential.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecProviderConfig {
    /// Command to run.
    #[serde(default)]
    pub command: String,
    /// Arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment; values may be secrets and are redacted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Sensitive>,
    /// `client.authentication.k8s.io` version of the ExecCredential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Message shown when the command is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_hint: Option<String>,
    /// Fields ferrocd does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ClusterSecret {
    /// True when the Secret (as JSON) carries the cluster type label.
    pub fn is_cluster_secret(secret: &serde_json::Value) -> bool {
        secret
            .pointer("/metadata/labels")
            .and_then(|l| l.get(SECRET_TYPE_LABEL))
            .and_then(|v| v.as_str())
            == Some(SECRET_TYPE_CLUSTER)
    }

    /// Reads a cluster from a Secret given as JSON. Values come from `data` (base64) and
    /// `stringData` (plain, taking precedence, as the API server would merge them).
    pub fn from_secret(secret: &serde_json::Value) -> Result<ClusterSecret, ClusterError> {
        let secret_name = secret
            .pointer("/metadata/name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let display_name = if secret_name.is_empty() {
            "<unnamed>".to_string()
        } else {
            secret_name.clone()
        };
        if !secret.is_object() {
            return Err(ClusterError::NotASecret {
                secret: display_name,
            });
        }
        if !Self::is_cluster_secret(secret) {
            return Err(ClusterError::NotACluster {
                secret: display_name,
            });
        }
        let values = secret_values(secret, &display_name)?;
        let get = |key: &str| values.get(key).map(|s| s.trim()).filter(|s| !s.is_empty());
        let invalid = |key: &'static str, message: String| ClusterError::InvalidValue {
            secret: display_name.clone(),
            key,
            message,
        };

        let server = get("server")
            .ok_or_else(|| ClusterError::MissingKey {
                secret: display_name.clone(),
                key: "server",
            })?
            .to_string();
        let cluster_resources = match get("clusterResources") {
            None => false,
            Some(v) => v.parse::<bool>().map_err(|_| {
                invalid(
                    "clusterResources",
                    format!("expected true or false, got {v:?}"),
                )
            })?,
        };
        let shard = get("shard")
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| invalid("shard", format!("expected a shard number, got {v:?}")))
            })
            .transpose()?;
        let config = match get("config") {
            None => ClusterConfig::default(),
            Some(text) => serde_json::from_str(text)
                .map_err(|e| invalid("config", format!("invalid JSON: {e}")))?,
        };
        let string_map = |ptr: &str| -> BTreeMap<String, String> {
            secret
                .pointer(ptr)
                .and_then(|v| v.as_object())
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(ClusterSecret {
            secret_name,
            name: get("name").unwrap_or("").to_string(),
            server,
            namespaces: get("namespaces")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            cluster_resources,
            project: get("project").map(String::from),
            shard,
            config,
            labels: string_map("/metadata/labels"),
            annotations: string_map("/metadata/annotations"),
        })
    }

    /// Writes the cluster as a Secret (plain values in `stringData`) in `namespace`.
    pub fn to_secret(&self, namespace: &str) -> serde_json::Value {
        let mut labels = self.labels.clone();
        labels.insert(
            SECRET_TYPE_LABEL.to_string(),
            SECRET_TYPE_CLUSTER.to_string(),
        );
        let mut data = serde_json::Map::new();
        let mut put = |k: &str, v: String| {
            data.insert(k.to_string(), serde_json::Value::String(v));
        };
        if !self.name.is_empty() {
            put("name", self.name.clone());
        }
        put("server", self.server.clone());
        if !self.namespaces.is_empty() {
            put("namespaces", self.namespaces.join(","));
            put("clusterResources", self.cluster_resources.to_string());
        }
        if let Some(p) = &self.project {
            put("project", p.clone());
        }
        if let Some(s) = self.shard {
            put("shard", s.to_string());
        }
        put(
            "config",
            serde_json::to_string(&self.config).unwrap_or_else(|_| "{}".to_string()),
        );
        let mut metadata = serde_json::json!({
            "name": self.secret_name,
            "namespace": namespace,
            "labels": labels,
        });
        if !self.annotations.is_empty() {
            metadata["annotations"] = serde_json::json!(self.annotations);
        }
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "Opaque",
            "stringData": data,
        })
    }

    /// True when this is the cluster ferrocd runs in.
    pub fn is_in_cluster(&self) -> bool {
        self.server.trim_end_matches('/') == IN_CLUSTER_SERVER
    }
}

/// Merges `data` (decoded) and `stringData` of a Secret.
fn secret_values(
    secret: &serde_json::Value,
    name: &str,
) -> Result<BTreeMap<String, String>, ClusterError> {
    let mut values = BTreeMap::new();
    if let Some(data) = secret.get("data").and_then(|d| d.as_object()) {
        for (key, value) in data {
            let encoding = || ClusterError::Encoding {
                secret: name.to_string(),
                key: key.clone(),
            };
            let text = value.as_str().ok_or_else(encoding)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| encoding())?;
            values.insert(
                key.clone(),
                String::from_utf8(bytes).map_err(|_| encoding())?,
            );
        }
    }
    if let Some(data) = secret.get("stringData").and_then(|d| d.as_object()) {
        for (key, value) in data {
            if let Some(text) = value.as_str() {
                values.insert(key.clone(), text.to_string());
            }
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn gpu_cluster_secret() -> serde_json::Value {
        let config = r#"{"bearerToken":"eyJhbGciOiJSUzI1NiJ9.gpu-token","tlsClientConfig":{"insecure":false,"caData":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==","serverName":"gpu-eu1.internal"}}"#;
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "cluster-gpu-eu1",
                "namespace": "argocd",
                "labels": {SECRET_TYPE_LABEL: "cluster", "accelerator": "nvidia-a100"},
            },
            "type": "Opaque",
            "data": {
                "name": b64("gpu-eu1"),
                "server": b64("https://gpu-eu1.k8s.example.org:6443"),
                "namespaces": b64("serving, training ,"),
                "clusterResources": b64("true"),
                "config": b64(config),
            },
            "stringData": {"project": "model-serving", "shard": "1"},
        })
    }

    #[test]
    fn reads_data_and_string_data() {
        let c = ClusterSecret::from_secret(&gpu_cluster_secret()).expect("valid");
        assert_eq!(c.secret_name, "cluster-gpu-eu1");
        assert_eq!(c.name, "gpu-eu1");
        assert_eq!(c.server, "https://gpu-eu1.k8s.example.org:6443");
        assert_eq!(c.namespaces, ["serving", "training"]);
        assert!(c.cluster_resources);
        assert_eq!(c.project.as_deref(), Some("model-serving"));
        assert_eq!(c.shard, Some(1));
        assert_eq!(
            c.labels.get("accelerator").map(String::as_str),
            Some("nvidia-a100")
        );
        let token = c.config.bearer_token.as_ref().expect("token");
        assert_eq!(token.expose(), "eyJhbGciOiJSUzI1NiJ9.gpu-token");
        let tls = &c.config.tls_client_config;
        assert_eq!(tls.server_name.as_deref(), Some("gpu-eu1.internal"));
        assert_eq!(
            tls.ca_pem().expect("base64").as_deref(),
            Some(&b"-----BEGIN CERTIFICATE-----\n"[..])
        );
        assert!(!c.is_in_cluster());
    }

    #[test]
    fn string_data_wins_over_data() {
        let mut s = gpu_cluster_secret();
        s["stringData"]["server"] = json!("https://override.example.org");
        let c = ClusterSecret::from_secret(&s).expect("valid");
        assert_eq!(c.server, "https://override.example.org");
    }

    #[test]
    fn credentials_are_redacted() {
        let mut s = gpu_cluster_secret();
        s["stringData"]["config"] = json!(
            r#"{"username":"admin","password":"hunter2-secret","bearerToken":"tok-secret","tlsClientConfig":{"keyData":"a2V5LXNlY3JldA=="},"execProviderConfig":{"command":"aws","args":["eks","get-token"],"env":{"AWS_SECRET_ACCESS_KEY":"aws-secret"}}}"#
        );
        let c = ClusterSecret::from_secret(&s).expect("valid");
        let debug = format!("{c:?}");
        let display = c.to_string();
        for shown in [&debug, &display] {
            for secret in [
                "hunter2-secret",
                "tok-secret",
                "a2V5LXNlY3JldA==",
                "aws-secret",
            ] {
                assert!(!shown.contains(secret), "{secret} leaked in {shown}");
            }
            assert!(shown.contains("***"));
        }
        assert_eq!(
            display,
            "cluster gpu-eu1 (https://gpu-eu1.k8s.example.org:6443) [username=admin password=*** bearerToken=*** keyData=*** exec=aws]"
        );
        assert_eq!(
            c.config
                .tls_client_config
                .key_pem()
                .expect("b64")
                .as_deref(),
            Some(&b"key-secret"[..])
        );
    }

    #[test]
    fn round_trips_through_a_secret() {
        let c = ClusterSecret::from_secret(&gpu_cluster_secret()).expect("valid");
        let back = ClusterSecret::from_secret(&c.to_secret("argocd")).expect("valid");
        assert_eq!(back, c);
    }

    #[test]
    fn minimal_in_cluster_secret() {
        let s = json!({
            "metadata": {"name": "in-cluster", "labels": {SECRET_TYPE_LABEL: "cluster"}},
            "stringData": {"name": "in-cluster", "server": "https://kubernetes.default.svc/"},
        });
        let c = ClusterSecret::from_secret(&s).expect("valid");
        assert!(c.is_in_cluster());
        assert_eq!(c.config, ClusterConfig::default());
        assert!(c.namespaces.is_empty());
        assert_eq!(
            c.to_string(),
            "cluster in-cluster (https://kubernetes.default.svc/) [no credentials]"
        );
    }

    #[test]
    fn errors_name_the_secret_and_key() {
        let mut s = gpu_cluster_secret();
        s["metadata"]["labels"][SECRET_TYPE_LABEL] = json!("repository");
        assert_eq!(
            ClusterSecret::from_secret(&s).unwrap_err().to_string(),
            "secret cluster-gpu-eu1: not a cluster secret (label argocd.argoproj.io/secret-type=cluster missing)"
        );

        let mut s = gpu_cluster_secret();
        s["data"].as_object_mut().expect("data").remove("server");
        assert_eq!(
            ClusterSecret::from_secret(&s).unwrap_err().to_string(),
            "secret cluster-gpu-eu1: key server is required"
        );

        let mut s = gpu_cluster_secret();
        s["data"]["name"] = json!("%%% not base64");
        assert_eq!(
            ClusterSecret::from_secret(&s).unwrap_err().to_string(),
            "secret cluster-gpu-eu1: data.name is not base64-encoded UTF-8 text"
        );

        let mut s = gpu_cluster_secret();
        s["stringData"]["config"] = json!("{not json");
        let err = ClusterSecret::from_secret(&s).unwrap_err().to_string();
        assert!(
            err.starts_with("secret cluster-gpu-eu1: key config: invalid JSON"),
            "{err}"
        );

        let mut s = gpu_cluster_secret();
        s["stringData"]["shard"] = json!("two");
        assert_eq!(
            ClusterSecret::from_secret(&s).unwrap_err().to_string(),
            "secret cluster-gpu-eu1: key shard: expected a shard number, got \"two\""
        );

        assert_eq!(
            ClusterSecret::from_secret(&json!("text"))
                .unwrap_err()
                .to_string(),
            "secret <unnamed>: not a Kubernetes Secret object"
        );
    }
}
