//! `ferrocd repo add|list|rm`: Argo CD repository Secrets
//! (`argocd.argoproj.io/secret-type: repository`). Credentials are written, never printed.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Subcommand, ValueEnum};
use ferrocd_cluster::{DeleteOptions, WriteOptions};
use serde_json::{Value, json};

use super::table::Table;
use super::{Ctx, text};
use crate::Failure;

/// The label value of repository Secrets.
pub const REPOSITORY_TYPE: &str = "repository";

/// Repository types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum RepoType {
    /// A Git repository.
    #[default]
    Git,
    /// A Helm chart repository.
    Helm,
}

/// The verbs of `ferrocd repo`.
#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Register a repository (and its credentials).
    Add {
        /// Repository URL.
        url: String,
        /// User name.
        #[arg(long)]
        username: Option<String>,
        /// Password or token.
        #[arg(long, requires = "username")]
        password: Option<String>,
        /// SSH private key file.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["username", "password"])]
        ssh_private_key_path: Option<PathBuf>,
        /// Display name (required by Argo CD for Helm repositories).
        #[arg(long)]
        name: Option<String>,
        /// Repository type.
        #[arg(long = "type", value_enum, default_value_t = RepoType::Git)]
        kind: RepoType,
        /// Replace an existing registration.
        #[arg(long)]
        upsert: bool,
    },
    /// List registered repositories (credentials are never shown).
    List,
    /// Remove a registered repository.
    Rm {
        /// Repository URL.
        url: String,
    },
}

/// A stable Secret name for a repository URL: `repo-<fnv hash of the URL>`.
pub fn secret_name(url: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in url.trim_end_matches('/').bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("repo-{}", hash % 10_000_000_000)
}

/// The value of `key` in a Secret, from `stringData` or (base64) `data`.
pub fn secret_value(secret: &Value, key: &str) -> Option<String> {
    if let Some(v) = secret
        .pointer(&format!("/stringData/{key}"))
        .and_then(Value::as_str)
    {
        return Some(v.to_string());
    }
    let encoded = secret.pointer(&format!("/data/{key}"))?;
    let bytes: k8s_openapi::ByteString = serde_json::from_value(encoded.clone()).ok()?;
    String::from_utf8(bytes.0).ok()
}

/// Runs one `ferrocd repo` verb.
pub async fn run(ctx: Ctx, command: RepoCommand) -> Result<(), Failure> {
    match command {
        RepoCommand::Add {
            url,
            username,
            password,
            ssh_private_key_path,
            name,
            kind,
            upsert,
        } => {
            let mut data = json!({
                "url": url,
                "type": match kind { RepoType::Git => "git", RepoType::Helm => "helm" },
            });
            if let Some(n) = name {
                data["name"] = json!(n);
            }
            if let Some(u) = username {
                data["username"] = json!(u);
                let Some(p) = password else {
                    return Err(anyhow!("--username needs --password").into());
                };
                data["password"] = json!(p);
            }
            if let Some(path) = ssh_private_key_path {
                let key = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the SSH private key {}", path.display()))?;
                if !key.contains("PRIVATE KEY") {
                    return Err(anyhow!("{}: not a PEM private key", path.display()).into());
                }
                data["sshPrivateKey"] = json!(key);
            }
            let secret_name = secret_name(&url);
            let exists = ctx
                .secrets_of_type(REPOSITORY_TYPE)
                .await?
                .iter()
                .any(|s| secret_value(s, "url").as_deref() == Some(url.as_str()));
            if exists && !upsert {
                return Err(anyhow!(
                    "repository {url} is already registered; use --upsert to replace it"
                )
                .into());
            }
            let secret = json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": secret_name,
                    "namespace": ctx.ns(),
                    "labels": {"argocd.argoproj.io/secret-type": REPOSITORY_TYPE},
                    "annotations": {"managed-by": "argocd.argoproj.io"},
                },
                "type": "Opaque",
                "stringData": data,
            });
            ctx.cluster
                .apply(&secret, &WriteOptions::default())
                .await
                .with_context(|| format!("writing the Secret of repository {url}"))?;
            crate::write_stdout(&format!("repository {url} added\n"))
        }
        RepoCommand::List => {
            let secrets = ctx.secrets_of_type(REPOSITORY_TYPE).await?;
            let mut rows: Vec<Value> = secrets
                .iter()
                .map(|s| {
                    let has = |k: &str| secret_value(s, k).is_some_and(|v| !v.is_empty());
                    json!({
                        "repo": secret_value(s, "url").unwrap_or_default(),
                        "name": secret_value(s, "name").unwrap_or_default(),
                        "type": secret_value(s, "type").unwrap_or_else(|| "git".into()),
                        "username": secret_value(s, "username").unwrap_or_default(),
                        "hasPassword": has("password"),
                        "hasSshPrivateKey": has("sshPrivateKey"),
                        "secret": text(s, "/metadata/name"),
                    })
                })
                .collect();
            rows.sort_by(|a, b| text(a, "/repo").cmp(text(b, "/repo")));
            if ctx.print_structured(&Value::Array(rows.clone()))? {
                return Ok(());
            }
            let mut table = Table::new(&["TYPE", "NAME", "REPO", "USER", "CREDS"]);
            for r in &rows {
                let creds = if r["hasSshPrivateKey"] == json!(true) {
                    "ssh-key"
                } else if r["hasPassword"] == json!(true) {
                    "password"
                } else {
                    "none"
                };
                table.row(vec![
                    text(r, "/type").to_string(),
                    text(r, "/name").to_string(),
                    text(r, "/repo").to_string(),
                    text(r, "/username").to_string(),
                    creds.to_string(),
                ]);
            }
            crate::write_stdout(&table.render())
        }
        RepoCommand::Rm { url } => {
            let secrets = ctx.secrets_of_type(REPOSITORY_TYPE).await?;
            let Some(secret) = secrets
                .iter()
                .find(|s| secret_value(s, "url").as_deref() == Some(url.as_str()))
            else {
                return Err(anyhow!(
                    "repository {url} is not registered in namespace {}; list them with `ferrocd repo list`",
                    ctx.ns()
                )
                .into());
            };
            let name = text(secret, "/metadata/name");
            ctx.cluster
                .delete(&ctx.secret_key(name), &DeleteOptions::default())
                .await
                .with_context(|| format!("deleting the Secret of repository {url}"))?;
            crate::write_stdout(&format!("repository {url} removed\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_stable_and_distinct() {
        let a = secret_name("https://git.example.com/ml/platform.git");
        assert_eq!(a, secret_name("https://git.example.com/ml/platform.git/"));
        assert_ne!(a, secret_name("https://git.example.com/ml/charts.git"));
        assert!(a.starts_with("repo-"));
    }

    #[test]
    fn values_come_from_string_data_or_data() {
        let s = json!({"stringData": {"url": "u"}, "data": {"username": "bWxvcHM="}});
        assert_eq!(secret_value(&s, "url").as_deref(), Some("u"));
        assert_eq!(secret_value(&s, "username").as_deref(), Some("mlops"));
        assert_eq!(secret_value(&s, "password"), None);
    }
}
