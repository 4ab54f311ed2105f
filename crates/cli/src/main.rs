//! `ferrocd`: GitOps continuous delivery for Kubernetes, in one binary.
//!
//! Exit codes: 0 success, 1 error (bad input, missing revision, unreachable repository),
//! 2 usage error (from clap), 3 a feature that is not supported yet.

mod health;
mod render;

use std::process::ExitCode;

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
    /// Print the CustomResourceDefinitions of Application and AppProject.
    Crds,
    /// Run a Kubernetes-API-compatible sandbox cluster on loopback (for tests and demos).
    Sandbox(Box<ferrocd_sandbox::cli::SandboxArgs>),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERROCD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Render(args) => render::run(*args),
        Command::Health(args) => health::run(args),
        Command::Crds => write_stdout(&ferrocd_model::crd::crds_yaml()),
        Command::Sandbox(args) => run_async(ferrocd_sandbox::cli::run(*args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let mut message = failure.error.to_string();
            // Library errors keep their cause as a source; show the chain once.
            for cause in failure.error.chain().skip(1) {
                let cause = cause.to_string();
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
