//! `ferrocd sandbox`: flags, then run until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::faults::{FaultConfig, Verb};
use crate::{Sandbox, SandboxOptions};

/// Flags of `ferrocd sandbox`.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// TCP port on 127.0.0.1 (0 picks a free port).
    #[arg(long, default_value_t = 6443)]
    pub port: u16,
    /// Where to write the kubeconfig.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Keep state (objects, CA, token) in this directory across restarts.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Number of simulated nodes.
    #[arg(long, default_value_t = 3)]
    pub nodes: u32,
    /// `nvidia.com/gpu` capacity of each node.
    #[arg(long, default_value_t = 0)]
    pub gpus_per_node: u32,
    /// Milliseconds between a Pod being scheduled and becoming Ready.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    pub pod_ready_delay_ms: u64,
    /// Fault: milliseconds of latency added to every request.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub fault_latency_ms: u64,
    /// Fault: error rate per verb, e.g. `get=0.1` (repeatable).
    #[arg(long, value_name = "VERB=RATE")]
    pub fault_error_rate: Vec<String>,
    /// Fault: HTTP code of injected errors (500, 503 or 504).
    #[arg(long, default_value_t = 500)]
    pub fault_error_code: u16,
    /// Fault: probability that an update or patch gets a 409 Conflict.
    #[arg(long, default_value_t = 0.0)]
    pub fault_conflict_rate: f64,
    /// Fault: close every watch after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub fault_drop_watches_after: Option<u64>,
}

impl SandboxArgs {
    /// Validates the flags into options.
    pub fn to_options(&self) -> anyhow::Result<SandboxOptions> {
        let mut faults = FaultConfig {
            latency: Duration::from_millis(self.fault_latency_ms),
            error_code: self.fault_error_code,
            conflict_rate: self.fault_conflict_rate,
            drop_watches_after: self.fault_drop_watches_after.map(Duration::from_secs),
            ..FaultConfig::default()
        };
        if !matches!(self.fault_error_code, 500 | 503 | 504 | 429) {
            anyhow::bail!(
                "--fault-error-code must be 500, 503, 504 or 429, not {}",
                self.fault_error_code
            );
        }
        if !(0.0..=1.0).contains(&self.fault_conflict_rate) {
            anyhow::bail!("--fault-conflict-rate must be between 0 and 1");
        }
        for spec in &self.fault_error_rate {
            let (verb, rate) = spec
                .split_once('=')
                .with_context(|| format!("--fault-error-rate {spec:?}: expected VERB=RATE"))?;
            let verb = Verb::parse(verb)
                .with_context(|| format!("--fault-error-rate {spec:?}: unknown verb {verb:?}"))?;
            let rate: f64 = rate
                .parse()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .with_context(|| {
                    format!("--fault-error-rate {spec:?}: rate must be a number between 0 and 1")
                })?;
            faults.error_rate.insert(verb, rate);
        }
        if self.nodes == 0 {
            anyhow::bail!("--nodes must be at least 1");
        }
        Ok(SandboxOptions {
            port: self.port,
            data_dir: self.data.clone(),
            nodes: self.nodes,
            gpus_per_node: self.gpus_per_node,
            pod_ready_delay: Duration::from_millis(self.pod_ready_delay_ms),
            faults,
            ..SandboxOptions::default()
        })
    }
}

/// Runs the sandbox until SIGINT or SIGTERM, then shuts down cleanly.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let opts = args.to_options()?;
    let sandbox = Sandbox::start(opts).await.context("starting the sandbox")?;
    if let Some(path) = &args.kubeconfig_out {
        sandbox
            .write_kubeconfig(path)
            .with_context(|| format!("writing the kubeconfig to {}", path.display()))?;
        println!(
            "sandbox listening on {} (kubeconfig: {})",
            sandbox.url(),
            path.display()
        );
    } else {
        println!("sandbox listening on {}", sandbox.url());
    }
    wait_for_signal().await?;
    println!("sandbox stopping");
    sandbox.shutdown().await;
    Ok(())
}

/// Waits for SIGINT or SIGTERM (also used by the other long-running commands).
pub async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: SandboxArgs,
    }

    #[test]
    fn flags_become_options() {
        let c = Cmd::try_parse_from([
            "x",
            "--port",
            "0",
            "--gpus-per-node",
            "2",
            "--fault-error-rate",
            "get=0.5",
        ])
        .expect("parse");
        let o = c.args.to_options().expect("valid");
        assert_eq!(o.gpus_per_node, 2);
        assert_eq!(o.faults.error_rate.get(&Verb::Get), Some(&0.5));
        let c = Cmd::try_parse_from(["x", "--fault-error-rate", "fly=0.5"]).expect("parse");
        assert!(c.args.to_options().is_err());
    }
}
