//! `ferrocd cluster add|list|rm`: Argo CD cluster Secrets
//! (`argocd.argoproj.io/secret-type: cluster`). Credentials are written, never printed.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Subcommand;
use ferrocd_model::{ClusterSecret, Sensitive};
use serde_json::{Value, json};

use super::table::Table;
use super::{Ctx, text};
use crate::Failure;

/// The label value of cluster Secrets.
pub const CLUSTER_TYPE: &str = "cluster";

/// The in-cluster destination every Argo CD knows.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";

/// The verbs of `ferrocd cluster`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Register a cluster as a destination.
    Add {
        /// Cluster name (`destination.name` refers to it).
        name: String,
        /// The cluster's API server URL (default: the one in --kubeconfig-file).
        #[arg(long = "url", visible_alias = "cluster-server", value_name = "URL")]
        url: Option<String>,
        /// Take the server, CA and credentials from this kubeconfig file.
        #[arg(long, value_name = "FILE", conflicts_with = "bearer_token")]
        kubeconfig_file: Option<PathBuf>,
        /// Context of --kubeconfig-file (default: its current context).
        #[arg(long, value_name = "NAME", requires = "kubeconfig_file")]
        kubeconfig_context: Option<String>,
        /// Bearer token (e.g. a ServiceAccount token).
        #[arg(long, value_name = "TOKEN")]
        bearer_token: Option<String>,
        /// CA bundle (PEM) to verify the API server.
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
        /// Skip TLS verification of the cluster's API server.
        #[arg(long = "insecure-skip-tls-verify")]
        skip_tls_verify: bool,
        /// Namespaces the cluster is limited to (repeatable).
        #[arg(long = "namespace", value_name = "NS")]
        namespaces: Vec<String>,
        /// Project the cluster is scoped to.
        #[arg(long)]
        project: Option<String>,
        /// Replace an existing registration.
        #[arg(long)]
        upsert: bool,
    },
    /// List registered clusters (credentials are never shown).
    List,
    /// Remove a registered cluster.
    Rm {
        /// Cluster server URL or name.
        #[arg(value_name = "SERVER")]
        id: String,
    },
}

/// Base64 of bytes, as Secret data and kubeconfig `*-data` fields hold them.
fn base64(bytes: Vec<u8>) -> Result<String, Failure> {
    let v = serde_json::to_value(k8s_openapi::ByteString(bytes)).context("encoding base64")?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// A stable Secret name: `cluster-<host>-<fnv hash of the URL>`.
pub fn secret_name(server: &str) -> String {
    let host: String = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in server.trim_end_matches('/').bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "cluster-{}-{}",
        host.trim_matches('-'),
        hash % 10_000_000_000
    )
}

/// Server, CA and credentials of a kubeconfig context.
fn from_kubeconfig(
    path: &Path,
    context: Option<&str>,
    secret: &mut ClusterSecret,
) -> Result<(), Failure> {
    let file = path.display().to_string();
    let raw = std::fs::read_to_string(path).with_context(|| format!("reading {file}"))?;
    let config = ferrocd_manifest::parse_yaml_value(&raw, &file)?;
    let context_name = context
        .map(String::from)
        .or_else(|| config["current-context"].as_str().map(String::from))
        .ok_or_else(|| anyhow!("{file}: no current-context; give --kubeconfig-context"))?;
    let named = |list: &str, name: &str| {
        config[list]
            .as_array()
            .and_then(|l| l.iter().find(|e| e["name"].as_str() == Some(name)))
            .cloned()
    };
    let ctx = named("contexts", &context_name)
        .ok_or_else(|| anyhow!("{file}: no context '{context_name}'"))?;
    let cluster_name = text(&ctx, "/context/cluster").to_string();
    let cluster = named("clusters", &cluster_name).ok_or_else(|| {
        anyhow!(
            "{file}: context '{context_name}' names cluster '{cluster_name}', which is not there"
        )
    })?;
    if secret.server.is_empty() {
        secret.server = text(&cluster, "/cluster/server").to_string();
    }
    let tls = &mut secret.config.tls_client_config;
    if let Some(ca) = cluster
        .pointer("/cluster/certificate-authority-data")
        .and_then(Value::as_str)
    {
        tls.ca_data = Some(ca.to_string());
    } else if let Some(ca) = cluster
        .pointer("/cluster/certificate-authority")
        .and_then(Value::as_str)
    {
        let pem = std::fs::read(ca)
            .with_context(|| format!("{file}: reading certificate-authority {ca}"))?;
        tls.ca_data = Some(base64(pem)?);
    }
    if cluster.pointer("/cluster/insecure-skip-tls-verify") == Some(&json!(true)) {
        tls.insecure = Some(true);
    }
    let user_name = text(&ctx, "/context/user").to_string();
    if let Some(user) = named("users", &user_name) {
        if let Some(token) = user.pointer("/user/token").and_then(Value::as_str) {
            secret.config.bearer_token = Some(Sensitive::new(token));
        }
        if let Some(cert) = user
            .pointer("/user/client-certificate-data")
            .and_then(Value::as_str)
        {
            secret.config.tls_client_config.cert_data = Some(cert.to_string());
        }
        if let Some(key) = user
            .pointer("/user/client-key-data")
            .and_then(Value::as_str)
        {
            secret.config.tls_client_config.key_data = Some(Sensitive::new(key));
        }
        if let (Some(u), Some(p)) = (
            user.pointer("/user/username").and_then(Value::as_str),
            user.pointer("/user/password").and_then(Value::as_str),
        ) {
            secret.config.username = Some(u.to_string());
            secret.config.password = Some(Sensitive::new(p));
        }
    }
    Ok(())
}

/// Runs one `ferrocd cluster` verb.
pub async fn run(ctx: Ctx, command: ClusterCommand) -> Result<(), Failure> {
    match command {
        ClusterCommand::Add {
            name,
            url,
            kubeconfig_file,
            kubeconfig_context,
            bearer_token,
            ca_file,
            skip_tls_verify,
            namespaces,
            project,
            upsert,
        } => {
            let mut secret = ClusterSecret {
                name: name.clone(),
                server: url.unwrap_or_default(),
                namespaces,
                project,
                ..Default::default()
            };
            match (&kubeconfig_file, &bearer_token) {
                (Some(path), _) => {
                    from_kubeconfig(path, kubeconfig_context.as_deref(), &mut secret)?
                }
                (None, Some(token)) => {
                    secret.config.bearer_token = Some(Sensitive::new(token.as_str()))
                }
                (None, None) => {
                    return Err(anyhow!(
                        "cluster add {name}: give --kubeconfig-file FILE, or --bearer-token TOKEN with --ca-file FILE"
                    )
                    .into());
                }
            }
            if let Some(ca) = &ca_file {
                let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
                secret.config.tls_client_config.ca_data = Some(base64(pem)?);
            }
            if skip_tls_verify {
                secret.config.tls_client_config.insecure = Some(true);
            }
            if secret.server.is_empty() {
                return Err(anyhow!("cluster add {name}: give --url URL").into());
            }
            let rows = ctx.backend.list_clusters().await?;
            let existing = rows
                .iter()
                .find(|r| text(r, "/server") == secret.server || text(r, "/name") == name);
            if let Some(row) = existing
                && !upsert
            {
                return Err(anyhow!(
                    "cluster {} is already registered (as '{}'); use --upsert to replace it",
                    secret.server,
                    text(row, "/name")
                )
                .into());
            }
            ctx.backend.add_cluster(&mut secret, existing).await?;
            crate::write_stdout(&format!("cluster '{name}' ({}) added\n", secret.server))
        }
        ClusterCommand::List => {
            let rows = ctx.backend.list_clusters().await?;
            if ctx.print_structured(&Value::Array(rows.clone()))? {
                return Ok(());
            }
            let mut header = vec!["SERVER", "NAME", "NAMESPACES", "PROJECT", "CREDENTIALS"];
            if ctx.wide() {
                header.push("CONNECTION");
            }
            let mut table = Table::new(&header);
            for r in &rows {
                let namespaces: Vec<&str> = r["namespaces"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                table.row(vec![
                    text(r, "/server").to_string(),
                    text(r, "/name").to_string(),
                    if namespaces.is_empty() {
                        "<all>".into()
                    } else {
                        namespaces.join(",")
                    },
                    text(r, "/project").to_string(),
                    text(r, "/credentials").to_string(),
                    match text(r, "/connection") {
                        "" => "Unknown".to_string(),
                        c => c.to_string(),
                    },
                ]);
            }
            crate::write_stdout(&table.render())
        }
        ClusterCommand::Rm { id: server } => {
            let rows = ctx.backend.list_clusters().await?;
            let Some(row) = rows
                .iter()
                .find(|r| text(r, "/server") == server || text(r, "/name") == server)
            else {
                return Err(anyhow!(
                    "cluster '{server}' is not registered in namespace {}; list them with `ferrocd cluster list`",
                    ctx.ns()
                )
                .into());
            };
            ctx.backend.remove_cluster(row).await?;
            crate::write_stdout(&format!(
                "cluster '{}' ({}) removed\n",
                text(row, "/name"),
                text(row, "/server")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_carry_the_host() {
        let n = secret_name("https://gpu-east.ml.example.com:6443");
        assert!(n.starts_with("cluster-gpu-east-ml-example-com-"), "{n}");
        assert_ne!(n, secret_name("https://gpu-west.ml.example.com:6443"));
    }

    #[test]
    fn kubeconfig_credentials_are_read() {
        let dir = std::env::temp_dir().join(format!("ferrocd-kc-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("kubeconfig");
        let yaml = "apiVersion: v1\nkind: Config\ncurrent-context: gpu\ncontexts:\n- name: gpu\n  context: {cluster: gpu-east, user: deployer}\nclusters:\n- name: gpu-east\n  cluster: {server: 'https://10.0.0.1:6443', certificate-authority-data: Q0E=}\nusers:\n- name: deployer\n  user: {token: s3cr3t}\n";
        assert!(std::fs::write(&path, yaml).is_ok());
        let mut secret = ClusterSecret::default();
        assert!(from_kubeconfig(&path, None, &mut secret).is_ok());
        assert_eq!(secret.server, "https://10.0.0.1:6443");
        assert_eq!(
            secret.config.tls_client_config.ca_data.as_deref(),
            Some("Q0E=")
        );
        assert_eq!(
            secret.config.bearer_token.as_ref().map(Sensitive::expose),
            Some("s3cr3t")
        );
        assert!(from_kubeconfig(&path, Some("nope"), &mut secret).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
