//! `ferrocd`: GitOps continuous delivery for Kubernetes, in one binary.
//!
//! Exit codes: 0 success, 1 error (bad input, missing revision, unreachable repository),
//! 2 usage error (from clap), 3 a feature that is not supported yet. The direct-mode
//! commands (`diff`, `sync`, `status`) follow `argocd app diff`: 0 in sync / success, 1 for
//! a difference or a failed operation, 2 for any error.

mod app;
mod config;
mod controller_cmd;
mod demo;
mod diff;
mod direct;
mod health;
mod login;
mod manifest_renderer;
mod render;
mod server_cmd;
mod status;
mod sync;

use std::process::ExitCode;

/// mimalloc: a long-running controller allocates and frees many small JSON values per
/// reconciliation; glibc's malloc spent a sixth of the controller's CPU consolidating
/// free lists in the 5,000-application benchmark (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// GitOps continuous delivery for Kubernetes, speaking Argo CD's language.
#[derive(Debug, Parser)]
#[command(name = "ferrocd", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render a folder (plain YAML/JSON, Jsonnet, Kustomize, Helm) or an Argo CD
    /// Application file to Kubernetes manifests on stdout.
    Render(Box<render::RenderArgs>),
    /// Print the health of every object in the files (built-in checks and Argo CD Lua
    /// customizations).
    Health(health::HealthArgs),
    /// Show the unified diff between SOURCE and the live objects of an application
    /// (exit 0 in sync, 1 on difference, 2 on error).
    Diff(Box<diff::DiffArgs>),
    /// Sync SOURCE to the cluster: phases, waves, hooks, prune; then wait for health.
    Sync(Box<sync::SyncArgs>),
    /// List the resources of an application with their sync status and health.
    Status(Box<status::StatusArgs>),
    /// Print the CustomResourceDefinitions of Application and AppProject.
    Crds,
    /// Manage Applications: list, get, create, set, delete, sync, wait, history, rollback,
    /// terminate-op, resources, manifests, diff. Talks to the ferrocd server of the current
    /// context (`ferrocd login`), or straight to Kubernetes with `--core`.
    App(Box<app::AppArgs>),
    /// Manage AppProjects: create, list, get, add-destination, add-source.
    Proj(Box<app::ProjArgs>),
    /// Manage repository credentials: add, list, rm.
    Repo(Box<app::RepoArgs>),
    /// Manage destination clusters: add, list, rm.
    Cluster(Box<app::ClusterArgs>),
    /// Log in to a ferrocd API server and save the session as a context.
    Login(Box<login::LoginArgs>),
    /// Revoke the session of a context and forget its token.
    Logout(login::LogoutArgs),
    /// List the contexts of `ferrocd login`, or switch to one.
    Context(login::ContextArgs),
    /// Run a Kubernetes-API-compatible sandbox cluster on loopback (for tests and demos).
    Sandbox(Box<ferrocd_sandbox::cli::SandboxArgs>),
    /// Run the application controller: keep Applications in sync with their clusters.
    Controller(Box<controller_cmd::ControllerArgs>),
    /// GitOps on this machine in one command: sandbox cluster, Git repository from
    /// examples/ml-platform, controller, app-of-apps bootstrap.
    Demo(Box<demo::DemoArgs>),
    /// Run the API server: Argo CD's REST API with local accounts, sessions and RBAC.
    Server(Box<server_cmd::ServerArgs>),
}

/// An error with the exit code it deserves.
pub struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    /// Exit code 3: the input asks for something ferrocd does not do yet.
    pub fn unsupported(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: 3,
            error: error.into(),
        }
    }
}

impl Failure {
    /// The message, with its causes, on one line.
    pub fn message(&self) -> String {
        let mut message = self.error.to_string();
        for cause in self.error.chain().skip(1) {
            let cause = cause.to_string();
            if !message.contains(&cause) {
                message.push_str(": ");
                message.push_str(&cause);
            }
        }
        message
    }

    /// An exit code without a message (the command printed what the user needs).
    pub fn silent(code: u8) -> Self {
        Self {
            code,
            error: anyhow::Error::msg(""),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self {
            code: 1,
            error: error.into(),
        }
    }
}

/// Writes command output; a closed pipe (`ferrocd render . | head`) is not an error.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to stdout").into()),
    }
}

fn run_async<F>(future: F) -> Result<(), Failure>
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    runtime.block_on(future).map_err(Failure::from)
}

/// Runs a direct-mode command on a runtime; failures to start it exit with code 2.
fn run_direct<F>(future: F) -> Result<(), Failure>
where
    F: std::future::Future<Output = Result<(), Failure>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            code: 2,
            error: e.into(),
        })?;
    runtime.block_on(future)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // kube's TLS needs a process-wide provider; an earlier install is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERROCD_LOG")
                // kube's own retry layer logs every 5xx it retries; ferrocd reports the
                // outcome itself.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kube_client=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Render(args) => render::run(*args),
        Command::Health(args) => health::run(args),
        Command::Diff(args) => diff::run(*args),
        Command::Sync(args) => sync::run(*args),
        Command::Status(args) => status::run(*args),
        Command::Crds => write_stdout(&ferrocd_model::crd::crds_yaml()),
        Command::App(args) => app::run_app(*args),
        Command::Proj(args) => app::run_proj(*args),
        Command::Repo(args) => app::run_repo(*args),
        Command::Cluster(args) => app::run_cluster(*args),
        Command::Login(args) => login::login(*args),
        Command::Logout(args) => login::logout(args),
        Command::Context(args) => login::context(args),
        Command::Sandbox(args) => run_async(ferrocd_sandbox::cli::run(*args)),
        Command::Controller(args) => run_async(controller_cmd::run(*args)),
        Command::Demo(args) => run_async(demo::run(*args)),
        Command::Server(args) => run_async(server_cmd::run(*args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) if failure.error.to_string().is_empty() => ExitCode::from(failure.code),
        Err(failure) => {
            // One line: parsers may decorate their message with a source excerpt.
            let first_line = |text: String| text.lines().next().unwrap_or_default().to_string();
            let mut message = first_line(failure.error.to_string());
            // Library errors keep their cause as a source; show the chain once.
            for cause in failure.error.chain().skip(1) {
                let cause = first_line(cause.to_string());
                if !message.contains(&cause) {
                    message.push_str(": ");
                    message.push_str(&cause);
                }
            }
            eprintln!("error: {message}");
            ExitCode::from(failure.code)
        }
    }
}
