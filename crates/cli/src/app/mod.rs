//! `ferrocd app|proj|repo|cluster`: Argo CD's verbs on Applications, AppProjects and the
//! repository and cluster Secrets.
//!
//! There is no ferrocd server client yet, so every verb runs in `--core` mode: it talks
//! straight to the Kubernetes API of the control plane (`--kubeconfig`, `--context`) and
//! reads and writes the resources in the Applications' namespace (`-N`, default `argocd`)
//! the way the controller expects them: a sync is the Application's `operation` field,
//! termination is `status.operationState.phase: Terminating`.

mod application;
mod cluster;
mod operation;
mod project;
mod repo;
mod source;
mod table;

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use ferrocd_cluster::Cluster;
use ferrocd_model::ResourceKey;
use serde_json::Value;

use crate::Failure;

pub use application::AppCommand;
pub use cluster::ClusterCommand;
pub use project::ProjCommand;
pub use repo::RepoCommand;

/// The namespace Argo CD keeps its Applications, projects and Secrets in.
pub const DEFAULT_NAMESPACE: &str = "argocd";

/// The finalizer that makes deleting an Application delete its resources.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// How to reach the control plane.
#[derive(Debug, Clone, Args)]
pub struct CoreArgs {
    /// Talk straight to Kubernetes instead of a ferrocd server. This is the default while
    /// no `ferrocd login` exists (the only mode for now).
    #[arg(long, global = true)]
    pub core: bool,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// Namespace of the Applications, AppProjects and Argo CD Secrets.
    #[arg(short = 'N', long = "app-namespace", value_name = "NS", global = true, default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Output format: a table (default), json, yaml or wide.
    #[arg(short = 'o', long = "output", value_enum, global = true)]
    pub output: Option<Output>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
    /// A table with more columns.
    Wide,
}

/// `ferrocd app ...`
#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(flatten)]
    core: CoreArgs,
    #[command(subcommand)]
    command: AppCommand,
}

/// `ferrocd proj ...`
#[derive(Debug, Args)]
pub struct ProjArgs {
    #[command(flatten)]
    core: CoreArgs,
    #[command(subcommand)]
    command: ProjCommand,
}

/// `ferrocd repo ...`
#[derive(Debug, Args)]
pub struct RepoArgs {
    #[command(flatten)]
    core: CoreArgs,
    #[command(subcommand)]
    command: RepoCommand,
}

/// `ferrocd cluster ...`
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    core: CoreArgs,
    #[command(subcommand)]
    command: ClusterCommand,
}

/// Runs `ferrocd app`.
pub fn run_app(args: AppArgs) -> Result<(), Failure> {
    run(args.core, move |ctx| application::run(ctx, args.command))
}

/// Runs `ferrocd proj`.
pub fn run_proj(args: ProjArgs) -> Result<(), Failure> {
    run(args.core, move |ctx| project::run(ctx, args.command))
}

/// Runs `ferrocd repo`.
pub fn run_repo(args: RepoArgs) -> Result<(), Failure> {
    run(args.core, move |ctx| repo::run(ctx, args.command))
}

/// Runs `ferrocd cluster`.
pub fn run_cluster(args: ClusterArgs) -> Result<(), Failure> {
    run(args.core, move |ctx| cluster::run(ctx, args.command))
}

fn run<F, Fut>(core: CoreArgs, body: F) -> Result<(), Failure>
where
    F: FnOnce(Ctx) -> Fut,
    Fut: std::future::Future<Output = Result<(), Failure>>,
{
    crate::run_direct(async move {
        let cluster = Cluster::from_kubeconfig(core.kubeconfig.as_deref(), core.context.as_deref())
            .await
            .context("connecting to Kubernetes (check --kubeconfig and --context)")?;
        body(Ctx { cluster, core }).await
    })
}

/// A connected command.
pub struct Ctx {
    /// The control-plane cluster.
    pub cluster: Cluster,
    /// The connection flags.
    pub core: CoreArgs,
}

impl Ctx {
    fn ns(&self) -> &str {
        &self.core.namespace
    }

    fn output(&self) -> Option<Output> {
        self.core.output
    }

    fn app_key(&self, name: &str) -> ResourceKey {
        ResourceKey {
            group: "argoproj.io".into(),
            kind: "Application".into(),
            namespace: self.ns().to_string(),
            name: name.to_string(),
        }
    }

    fn proj_key(&self, name: &str) -> ResourceKey {
        ResourceKey {
            group: "argoproj.io".into(),
            kind: "AppProject".into(),
            namespace: self.ns().to_string(),
            name: name.to_string(),
        }
    }

    fn secret_key(&self, name: &str) -> ResourceKey {
        ResourceKey {
            group: String::new(),
            kind: "Secret".into(),
            namespace: self.ns().to_string(),
            name: name.to_string(),
        }
    }

    /// Reads an Application; a missing one is an error that says how to list them.
    async fn app(&self, name: &str) -> Result<Value, Failure> {
        self.cluster
            .get(&self.app_key(name))
            .await
            .with_context(|| format!("reading application '{name}'"))?
            .ok_or_else(|| {
                anyhow!(
                    "application '{name}' not found in namespace {}; list them with `ferrocd app list`",
                    self.ns()
                )
                .into()
            })
    }

    /// Reads an AppProject; a missing one is an error that says how to list them.
    async fn project(&self, name: &str) -> Result<Value, Failure> {
        self.cluster
            .get(&self.proj_key(name))
            .await
            .with_context(|| format!("reading project '{name}'"))?
            .ok_or_else(|| {
                anyhow!(
                    "project '{name}' not found in namespace {}; list them with `ferrocd proj list`",
                    self.ns()
                )
                .into()
            })
    }

    /// Secrets of the control-plane namespace with `argocd.argoproj.io/secret-type: TYPE`.
    async fn secrets_of_type(&self, kind: &str) -> Result<Vec<Value>, Failure> {
        let all = self
            .cluster
            .list("", "Secret", Some(self.ns()))
            .await
            .with_context(|| format!("listing Secrets in namespace {}", self.ns()))?;
        Ok(all
            .into_iter()
            .filter(|s| {
                s.pointer("/metadata/labels/argocd.argoproj.io~1secret-type")
                    .and_then(Value::as_str)
                    == Some(kind)
            })
            .collect())
    }

    /// Prints objects as JSON or YAML; `false` when a table is wanted.
    fn print_structured(&self, value: &Value) -> Result<bool, Failure> {
        match self.output() {
            Some(Output::Json) => {
                let mut text = serde_json::to_string_pretty(value).context("encoding JSON")?;
                text.push('\n');
                crate::write_stdout(&text)?;
                Ok(true)
            }
            Some(Output::Yaml) => {
                crate::write_stdout(&ferrocd_manifest::to_yaml_string(value))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// A string at a JSON pointer, or "".
fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Splits a `K=V` flag.
fn key_value(flag: &str, value: &str) -> Result<(String, String), Failure> {
    value
        .split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| anyhow!("{flag} {value}: expected KEY=VALUE").into())
}

/// The user the operation is initiated by.
fn username() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "ferrocd-cli".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_splits_and_refuses_missing_key() {
        assert_eq!(
            key_value("--sync-option", "Prune=false").ok(),
            Some(("Prune".to_string(), "false".to_string()))
        );
        assert!(key_value("--sync-option", "Prune").is_err());
        assert!(key_value("--sync-option", "=x").is_err());
    }

    #[test]
    fn text_reads_nested_strings() {
        let v = serde_json::json!({"a": {"b": "c", "n": 1}});
        assert_eq!(text(&v, "/a/b"), "c");
        assert_eq!(text(&v, "/a/n"), "");
        assert_eq!(text(&v, "/x"), "");
    }
}
