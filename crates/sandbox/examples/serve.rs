//! Runs the sandbox from the command line (the same flags as `ferrocd sandbox`):
//! `cargo run -p ferrocd-sandbox --example serve -- --port 0 --kubeconfig-out /tmp/kubeconfig`.

use clap::Parser;

#[derive(Parser)]
struct Cmd {
    #[command(flatten)]
    args: ferrocd_sandbox::cli::SandboxArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    ferrocd_sandbox::cli::run(Cmd::parse().args).await
}
