//! `ferrocd repo add|list|rm`: Argo CD repository Secrets
//! (`argocd.argoproj.io/secret-type: repository`). Credentials are written, never printed.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Subcommand, ValueEnum};
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
            // Argo CD's Repository, as the API takes it.
            let mut request = json!({
                "repo": url,
                "type": match kind { RepoType::Git => "git", RepoType::Helm => "helm" },
            });
            if let Some(n) = name {
                request["name"] = json!(n);
            }
            if let Some(u) = username {
                request["username"] = json!(u);
                let Some(p) = password else {
                    return Err(anyhow!("--username needs --password").into());
                };
                request["password"] = json!(p);
            }
            if let Some(path) = ssh_private_key_path {
                let key = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading the SSH private key {}", path.display()))?;
                if !key.contains("PRIVATE KEY") {
                    return Err(anyhow!("{}: not a PEM private key", path.display()).into());
                }
                request["sshPrivateKey"] = json!(key);
            }
            let exists = ctx
                .backend
                .list_repos()
                .await?
                .iter()
                .any(|r| text(r, "/repo") == url);
            if exists && !upsert {
                return Err(anyhow!(
                    "repository {url} is already registered; use --upsert to replace it"
                )
                .into());
            }
            ctx.backend.add_repo(&request, upsert).await?;
            crate::write_stdout(&format!("repository {url} added\n"))
        }
        RepoCommand::List => {
            let rows = ctx.backend.list_repos().await?;
            if ctx.print_structured(&Value::Array(rows.clone()))? {
                return Ok(());
            }
            let mut header = vec!["TYPE", "NAME", "REPO", "USER", "CREDS"];
            if ctx.wide() {
                header.extend(["PROJECT", "INSECURE", "CONNECTION"]);
            }
            let mut table = Table::new(&header);
            for r in &rows {
                table.row(vec![
                    text(r, "/type").to_string(),
                    text(r, "/name").to_string(),
                    text(r, "/repo").to_string(),
                    text(r, "/username").to_string(),
                    text(r, "/credentials").to_string(),
                    text(r, "/project").to_string(),
                    (r["insecure"] == json!(true)).to_string(),
                    match text(r, "/connection") {
                        "" => "Unknown".to_string(),
                        c => c.to_string(),
                    },
                ]);
            }
            crate::write_stdout(&table.render())
        }
        RepoCommand::Rm { url } => {
            let rows = ctx.backend.list_repos().await?;
            let Some(row) = rows.iter().find(|r| text(r, "/repo") == url) else {
                return Err(anyhow!(
                    "repository {url} is not registered in namespace {}; list them with `ferrocd repo list`",
                    ctx.ns()
                )
                .into());
            };
            ctx.backend.remove_repo(row).await?;
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
