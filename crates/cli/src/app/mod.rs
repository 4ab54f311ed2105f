//! `ferrocd app|proj|repo|cluster`: Argo CD's verbs on Applications, AppProjects and the
//! repository and cluster Secrets.
//!
//! Each verb is written once against [`backend::Backend`], which talks either to a ferrocd
//! API server (after `ferrocd login`, or with `--server`/`--auth-token`; Argo CD's REST API,
//! checked by the server's RBAC) or, with `--core`, straight to the Kubernetes API of the
//! control plane (`--kubeconfig`, `--context`), reading and writing the resources in the
//! Applications' namespace (`-N`, default `argocd`) the way the controller expects them: a
//! sync is the Application's `operation` field, termination is
//! `status.operationState.phase: Terminating`.
//!
//! Which one: `--core` wins; then `--server` (or `FERROCD_SERVER`); then an explicit
//! `--kubeconfig` means Kubernetes; then the current context of `ferrocd login`; with none
//! of these, Kubernetes through the default kubeconfig.

pub mod api;
mod application;
mod backend;
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
use serde_json::Value;

use crate::Failure;
use crate::config::{CliConfig, Session};

pub use application::AppCommand;
use backend::Backend;
pub use cluster::ClusterCommand;
pub use project::ProjCommand;
pub use repo::RepoCommand;
pub use source::render_locally;
pub use table::Table;

/// The namespace Argo CD keeps its Applications, projects and Secrets in.
pub const DEFAULT_NAMESPACE: &str = "argocd";

/// The finalizer that makes deleting an Application delete its resources.
pub const RESOURCES_FINALIZER: &str = "resources-finalizer.argocd.argoproj.io";

/// How to reach the control plane.
#[derive(Debug, Clone, Args)]
pub struct CoreArgs {
    /// Talk straight to Kubernetes instead of a ferrocd server.
    #[arg(long, global = true)]
    pub core: bool,
    /// The ferrocd API server (`host:port` or a URL); default: the current context of
    /// `ferrocd login`.
    #[arg(long, value_name = "HOST:PORT", env = "FERROCD_SERVER", global = true)]
    pub server: Option<String>,
    /// Session or account token for --server (default: the token of the context that
    /// logged in to that server).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "FERROCD_AUTH_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub auth_token: Option<String>,
    /// Use plain HTTP to reach --server.
    #[arg(long, global = true)]
    pub plaintext: bool,
    /// Do not verify the TLS certificate of --server.
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// Namespace of the Applications, AppProjects and Argo CD Secrets.
    #[arg(short = 'N', long = "app-namespace", value_name = "NS", global = true, default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Output format: a table (default), json, yaml or wide (a table with more columns).
    #[arg(short = 'o', long = "output", value_enum, global = true)]
    pub output: Option<Output>,
}

impl CoreArgs {
    /// The server session these flags (and the CLI configuration) ask for; `None` for
    /// Kubernetes.
    fn session(&self) -> Result<Option<Session>, Failure> {
        if self.core {
            return Ok(None);
        }
        let config_path = crate::config::path();
        if let Some(server) = self.server.as_deref().filter(|s| !s.trim().is_empty()) {
            let base = crate::config::base_url(server, self.plaintext);
            let config = CliConfig::load(&config_path)?;
            // The token of a context that logged in to this server, unless one is given.
            let known = config
                .contexts
                .iter()
                .filter_map(|c| config.session(Some(&c.name)))
                .find(|s| s.base_url == base);
            let token = match &self.auth_token {
                Some(t) => t.clone(),
                None => known.as_ref().map(|s| s.token.clone()).unwrap_or_default(),
            };
            return Ok(Some(Session {
                context: known.map(|s| s.context).unwrap_or_default(),
                base_url: base,
                insecure: self.insecure,
                username: String::new(),
                token,
            }));
        }
        if self.kubeconfig.is_some() {
            return Ok(None);
        }
        let config = CliConfig::load(&config_path)?;
        Ok(config.session(None).map(|mut s| {
            if let Some(t) = &self.auth_token {
                s.token = t.clone();
            }
            s.insecure |= self.insecure;
            s
        }))
    }
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
        let backend = match core.session()? {
            Some(session) => Backend::Server {
                api: api::ApiClient::new(&session)?,
            },
            None => Backend::Core {
                cluster: Cluster::from_kubeconfig(
                    core.kubeconfig.as_deref(),
                    core.context.as_deref(),
                )
                .await
                .context("connecting to Kubernetes (check --kubeconfig and --context, or log in to a ferrocd server with `ferrocd login`)")?,
                ns: core.namespace.clone(),
            },
        };
        body(Ctx { backend, core }).await
    })
}

/// A connected command.
pub struct Ctx {
    /// Where verbs read and write.
    pub backend: Backend,
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

    /// Whether `-o wide` asks for the extra columns.
    fn wide(&self) -> bool {
        self.core.output == Some(Output::Wide)
    }

    /// Reads an Application; a missing one is an error that says how to list them.
    async fn app(&self, name: &str) -> Result<Value, Failure> {
        self.backend.app_opt(name).await?.ok_or_else(|| {
            anyhow!(
                "application '{name}' not found in namespace {}; list them with `ferrocd app list`",
                self.ns()
            )
            .into()
        })
    }

    /// Reads an AppProject; a missing one is an error that says how to list them.
    async fn project(&self, name: &str) -> Result<Value, Failure> {
        self.backend.project_opt(name).await?.ok_or_else(|| {
            anyhow!(
                "project '{name}' not found in namespace {}; list them with `ferrocd proj list`",
                self.ns()
            )
            .into()
        })
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
    use clap::Parser;

    #[derive(Parser)]
    struct ClusterCli {
        #[command(flatten)]
        args: ClusterArgs,
    }

    #[derive(Parser)]
    struct ProjCli {
        #[command(flatten)]
        args: ProjArgs,
    }

    #[test]
    fn verb_arguments_never_fill_the_connection_flags() {
        let parsed = ClusterCli::try_parse_from([
            "cluster",
            "add",
            "gpu-east",
            "--url",
            "https://gpu-east.ml.example.com:6443",
            "--insecure-skip-tls-verify",
            "--bearer-token",
            "t",
        ])
        .map_err(|e| e.to_string());
        let Ok(parsed) = parsed else {
            panic!("{parsed:?}", parsed = parsed.err());
        };
        assert_eq!(parsed.args.core.server, None);
        assert!(!parsed.args.core.insecure);
        let parsed =
            ClusterCli::try_parse_from(["cluster", "rm", "gpu-east"]).map_err(|e| e.to_string());
        assert!(parsed.is_ok_and(|p| p.args.core.server.is_none()));
        let parsed = ProjCli::try_parse_from([
            "proj",
            "add-destination",
            "ml",
            "https://kubernetes.default.svc",
            "serving",
            "--server",
            "cd.ml.example.com",
        ])
        .map_err(|e| e.to_string());
        assert!(parsed.is_ok_and(|p| p.args.core.server.as_deref() == Some("cd.ml.example.com")));
    }

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
