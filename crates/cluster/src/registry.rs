//! The destination clusters of Applications.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferrocd_model::{ApplicationDestination, ClusterSecret};
use parking_lot::RwLock;

use crate::client::Cluster;
use crate::error::ClusterError;

/// The server URL Argo CD uses for the cluster it runs in.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
/// The name Argo CD gives the cluster it runs in.
pub const IN_CLUSTER_NAME: &str = "in-cluster";

/// Known clusters, by server URL, with their display names. The cluster ferrocd runs in
/// is always there as `https://kubernetes.default.svc` / `in-cluster`.
#[derive(Clone)]
pub struct ClusterRegistry {
    inner: Arc<RwLock<Entries>>,
}

#[derive(Default)]
struct Entries {
    by_server: BTreeMap<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    name: String,
    cluster: Cluster,
}

impl ClusterRegistry {
    /// A registry whose in-cluster destination is `local`.
    pub fn new(local: Cluster) -> Self {
        let mut entries = Entries::default();
        entries.by_server.insert(
            IN_CLUSTER_SERVER.to_string(),
            Entry {
                name: IN_CLUSTER_NAME.to_string(),
                cluster: local,
            },
        );
        Self {
            inner: Arc::new(RwLock::new(entries)),
        }
    }

    /// Adds (or replaces) a cluster under its server URL and name.
    pub fn insert(&self, server: &str, name: &str, cluster: Cluster) {
        self.inner.write().by_server.insert(
            normalize_server(server),
            Entry {
                name: name.to_string(),
                cluster,
            },
        );
    }

    /// Removes a cluster (never the in-cluster one).
    pub fn remove(&self, server: &str) {
        let server = normalize_server(server);
        if server != IN_CLUSTER_SERVER {
            self.inner.write().by_server.remove(&server);
        }
    }

    /// Connects to the cluster a cluster Secret describes and registers it. A Secret that
    /// describes the in-cluster server renames the in-cluster entry only.
    pub async fn add_secret(&self, secret: &ClusterSecret) -> Result<(), ClusterError> {
        if secret.is_in_cluster() {
            let mut entries = self.inner.write();
            if let Some(entry) = entries.by_server.get_mut(IN_CLUSTER_SERVER)
                && !secret.name.is_empty()
            {
                entry.name = secret.name.clone();
            }
            return Ok(());
        }
        let config = kube_config_for(secret)?;
        let cluster = Cluster::connect(config).await?;
        let name = if secret.name.is_empty() {
            secret.server.clone()
        } else {
            secret.name.clone()
        };
        self.insert(&secret.server, &name, cluster);
        Ok(())
    }

    /// The cluster an Application's destination addresses (by server URL, else by name).
    pub fn resolve(&self, destination: &ApplicationDestination) -> Result<Cluster, ClusterError> {
        let entries = self.inner.read();
        if let Some(server) = destination.server.as_deref().filter(|s| !s.is_empty()) {
            return entries
                .by_server
                .get(&normalize_server(server))
                .map(|e| e.cluster.clone())
                .ok_or_else(|| {
                    ClusterError::UnknownDestination(format!(
                        "there are no clusters with this URL: {server}"
                    ))
                });
        }
        if let Some(name) = destination.name.as_deref().filter(|s| !s.is_empty()) {
            return entries
                .by_server
                .values()
                .find(|e| e.name == name)
                .map(|e| e.cluster.clone())
                .ok_or_else(|| {
                    ClusterError::UnknownDestination(format!(
                        "there are no clusters with this name: {name}"
                    ))
                });
        }
        Err(ClusterError::UnknownDestination(
            "destination has neither server nor name".to_string(),
        ))
    }

    /// The server URL of a destination (resolving a name), for status and metrics.
    pub fn server_of(&self, destination: &ApplicationDestination) -> Option<String> {
        if let Some(server) = destination.server.as_deref().filter(|s| !s.is_empty()) {
            return Some(normalize_server(server));
        }
        let name = destination.name.as_deref()?;
        self.inner
            .read()
            .by_server
            .iter()
            .find(|(_, e)| e.name == name)
            .map(|(s, _)| s.clone())
    }

    /// Every cluster as (server URL, name, cluster), by server URL.
    pub fn clusters(&self) -> Vec<(String, String, Cluster)> {
        self.inner
            .read()
            .by_server
            .iter()
            .map(|(s, e)| (s.clone(), e.name.clone(), e.cluster.clone()))
            .collect()
    }
}

fn normalize_server(server: &str) -> String {
    server.trim_end_matches('/').to_string()
}

/// A kube-rs configuration from a cluster Secret's server and `config` (bearer token or
/// basic auth, TLS CA, client certificate, insecure).
fn kube_config_for(secret: &ClusterSecret) -> Result<kube::Config, ClusterError> {
    let bad = |message: String| ClusterError::Kubeconfig {
        path: format!("cluster secret {}", secret.secret_name),
        message,
    };
    let url = secret
        .server
        .parse::<http::Uri>()
        .map_err(|e| bad(format!("server {:?}: {e}", secret.server)))?;
    let mut config = kube::Config::new(url);
    let tls = &secret.config.tls_client_config;
    if let Some(ca) = tls.ca_pem().map_err(|e| bad(format!("caData: {e}")))? {
        let certs = pem_certificates(&ca).map_err(|e| bad(format!("caData: {e}")))?;
        config.root_cert = Some(certs);
    }
    config.accept_invalid_certs = tls.insecure.unwrap_or(false);
    if let Some(name) = tls.server_name.as_deref() {
        config.tls_server_name = Some(name.to_string());
    }
    let cert = tls.cert_pem().map_err(|e| bad(format!("certData: {e}")))?;
    let key = tls.key_pem().map_err(|e| bad(format!("keyData: {e}")))?;
    let mut auth = kube::config::AuthInfo::default();
    if let (Some(cert), Some(key)) = (cert, key) {
        auth.client_certificate_data = Some(base64_encode(&cert));
        auth.client_key_data = Some(base64_encode(&key).into());
    }
    if let Some(token) = &secret.config.bearer_token {
        auth.token = Some(token.expose().to_string().into());
    }
    if let Some(user) = &secret.config.username {
        auth.username = Some(user.clone());
    }
    if let Some(password) = &secret.config.password {
        auth.password = Some(password.expose().to_string().into());
    }
    config.auth_info = auth;
    Ok(config)
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// DER certificates from PEM text.
fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let certs = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err("no PEM certificate found".to_string());
    }
    Ok(certs)
}
