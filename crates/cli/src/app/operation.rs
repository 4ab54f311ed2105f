//! `ferrocd app sync` and `ferrocd app wait`: request an operation, follow its progress.

use std::time::{Duration, Instant};

use anyhow::anyhow;
use clap::Args;
use serde_json::{Value, json};

use super::{Ctx, key_value, text};
use crate::Failure;

const POLL: Duration = Duration::from_millis(500);

/// `ferrocd app sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Application name.
    pub name: String,
    /// Sync to this revision instead of the target revision.
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
    /// Delete resources that are no longer in Git.
    #[arg(long)]
    pub prune: bool,
    /// Preview the sync without changing the cluster.
    #[arg(long)]
    pub dry_run: bool,
    /// Sync only this resource, `GROUP:KIND:NAME` or `GROUP:KIND:NAMESPACE/NAME` (repeatable).
    #[arg(long = "resource", value_name = "GROUP:KIND:NAME")]
    pub resource: Vec<String>,
    /// A sync option `KEY=VALUE` (repeatable), e.g. `ServerSideApply=true`.
    #[arg(long = "sync-option", value_name = "K=V")]
    pub sync_option: Vec<String>,
    /// Request the sync and return without waiting.
    #[arg(long = "async")]
    pub r#async: bool,
    /// Give up waiting after this many seconds (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub timeout: u64,
}

/// `ferrocd app wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Application name.
    pub name: String,
    /// Wait until the application is Synced.
    #[arg(long)]
    pub sync: bool,
    /// Wait until the application is Healthy.
    #[arg(long)]
    pub health: bool,
    /// Wait until no operation is in progress.
    #[arg(long)]
    pub operation: bool,
    /// Give up after this many seconds (0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub timeout: u64,
}

/// Parses `GROUP:KIND:NAME` or `GROUP:KIND:NAMESPACE/NAME`.
pub fn parse_resource(value: &str) -> Result<Value, Failure> {
    let parts: Vec<&str> = value.splitn(3, ':').collect();
    let [group, kind, name] = parts[..] else {
        return Err(anyhow!("--resource {value}: expected GROUP:KIND:NAME (GROUP empty for core kinds, e.g. :Service:mlflow)").into());
    };
    if kind.is_empty() || name.is_empty() {
        return Err(anyhow!("--resource {value}: KIND and NAME must not be empty").into());
    }
    let mut r = json!({"group": group, "kind": kind});
    match name.split_once('/') {
        Some((ns, n)) => {
            r["namespace"] = json!(ns);
            r["name"] = json!(n);
        }
        None => r["name"] = json!(name),
    }
    Ok(r)
}

/// Requests a sync; unless `--async`, follows it.
pub async fn sync(ctx: &Ctx, args: SyncArgs) -> Result<(), Failure> {
    let name = args.name.as_str();
    let app = ctx.app(name).await?;
    if app.pointer("/operation").is_some_and(|o| !o.is_null()) {
        return Err(anyhow!(
            "application '{name}' already has an operation in progress; wait for it (`ferrocd app wait {name} --operation`) or stop it (`ferrocd app terminate-op {name}`)"
        )
        .into());
    }
    // Argo CD's ApplicationSyncRequest.
    let mut request = json!({});
    if let Some(rev) = &args.revision {
        request["revision"] = json!(rev);
    }
    if args.prune {
        request["prune"] = json!(true);
    }
    if args.dry_run {
        request["dryRun"] = json!(true);
    }
    if !args.resource.is_empty() {
        request["resources"] = Value::Array(
            args.resource
                .iter()
                .map(|r| parse_resource(r))
                .collect::<Result<_, _>>()?,
        );
    }
    if !args.sync_option.is_empty() {
        let options: Vec<String> = args
            .sync_option
            .iter()
            .map(|o| key_value("--sync-option", o).map(|(k, v)| format!("{k}={v}")))
            .collect::<Result<_, _>>()?;
        request["syncOptions"] = json!({"items": options});
    }
    let previous_start = text(&app, "/status/operationState/startedAt").to_string();
    ctx.backend.sync_app(&app, &request).await?;
    if args.r#async {
        return crate::write_stdout(&format!(
            "sync of application '{name}' requested; follow it with `ferrocd app wait {name} --operation`\n"
        ));
    }
    eprintln!("syncing application '{name}'...");
    follow(ctx, name, &previous_start, args.timeout).await
}

/// Polls until the operation requested after `previous_start` ends.
async fn follow(ctx: &Ctx, name: &str, previous_start: &str, timeout: u64) -> Result<(), Failure> {
    let started = Instant::now();
    let mut printed: Vec<String> = Vec::new();
    let mut header = false;
    loop {
        let app = ctx.app(name).await?;
        let state = app
            .pointer("/status/operationState")
            .cloned()
            .unwrap_or(Value::Null);
        let ours = app.pointer("/operation").is_some_and(|o| !o.is_null())
            || text(&state, "/startedAt") != previous_start;
        if ours {
            let mut out = String::new();
            for r in state
                .pointer("/syncResult/resources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let line = format!(
                    "{:<10}{:<22}{:<20}{:<34}{:<12}{}",
                    text(r, "/syncPhase"),
                    text(r, "/kind"),
                    text(r, "/namespace"),
                    text(r, "/name"),
                    text(r, "/status"),
                    text(r, "/message")
                );
                let line = line.trim_end().to_string();
                if !printed.contains(&line) {
                    if !header {
                        out.push_str(&format!(
                            "{:<10}{:<22}{:<20}{:<34}{:<12}{}\n",
                            "PHASE", "KIND", "NAMESPACE", "NAME", "STATUS", "MESSAGE"
                        ));
                        header = true;
                    }
                    out.push_str(&line);
                    out.push('\n');
                    printed.push(line);
                }
            }
            crate::write_stdout(&out)?;
            let phase = text(&state, "/phase");
            let pending = app.pointer("/operation").is_some_and(|o| !o.is_null());
            if !pending && matches!(phase, "Succeeded" | "Failed" | "Error") {
                let message = text(&state, "/message");
                crate::write_stdout(&format!(
                    "operation {phase}{}{}\n",
                    if message.is_empty() { "" } else { ": " },
                    message
                ))?;
                return if phase == "Succeeded" {
                    Ok(())
                } else {
                    Err(Failure::silent(1))
                };
            }
        }
        if timeout > 0 && started.elapsed() >= Duration::from_secs(timeout) {
            return Err(anyhow!(
                "timed out after {timeout}s waiting for the sync of application '{name}' (operation phase: {}); keep following it with `ferrocd app wait {name} --operation`",
                match text(&state, "/phase") { "" => "not started", p => p }
            )
            .into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What `app wait` last saw, and whether it is what was asked for.
pub fn wait_state(app: &Value, args: &WaitArgs) -> (bool, String) {
    let (sync, health, operation) = if !args.sync && !args.health && !args.operation {
        (true, true, true)
    } else {
        (args.sync, args.health, args.operation)
    };
    let sync_status = text(app, "/status/sync/status");
    let health_status = text(app, "/status/health/status");
    let phase = text(app, "/status/operationState/phase");
    let pending = app.pointer("/operation").is_some_and(|o| !o.is_null())
        || matches!(phase, "Running" | "Terminating");
    let done = (!sync || sync_status == "Synced")
        && (!health || health_status == "Healthy")
        && (!operation || !pending);
    let seen = format!(
        "sync {}, health {}, operation {}",
        if sync_status.is_empty() {
            "Unknown"
        } else {
            sync_status
        },
        if health_status.is_empty() {
            "Unknown"
        } else {
            health_status
        },
        if pending {
            "in progress"
        } else if phase.is_empty() {
            "none"
        } else {
            phase
        }
    );
    (done, seen)
}

/// Waits for the states asked for (all three when none is).
pub async fn wait(ctx: &Ctx, args: WaitArgs) -> Result<(), Failure> {
    let started = Instant::now();
    loop {
        let app = ctx.app(&args.name).await?;
        let (done, seen) = wait_state(&app, &args);
        if done {
            return crate::write_stdout(&format!("application '{}': {seen}\n", args.name));
        }
        if args.timeout > 0 && started.elapsed() >= Duration::from_secs(args.timeout) {
            return Err(anyhow!(
                "timed out after {}s waiting for application '{}'; last seen: {seen}",
                args.timeout,
                args.name
            )
            .into());
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_flags() {
        let r = parse_resource("apps:Deployment:serving/triton").ok();
        assert_eq!(
            r,
            Some(
                json!({"group": "apps", "kind": "Deployment", "namespace": "serving", "name": "triton"})
            )
        );
        let r = parse_resource(":Service:mlflow").ok();
        assert_eq!(
            r,
            Some(json!({"group": "", "kind": "Service", "name": "mlflow"}))
        );
        assert!(parse_resource("Deployment/x").is_err());
        assert!(parse_resource("apps::x").is_err());
    }

    #[test]
    fn wait_needs_every_state_asked_for() {
        let app =
            json!({"status": {"sync": {"status": "Synced"}, "health": {"status": "Progressing"}}});
        let args = |sync, health| WaitArgs {
            name: "airflow".into(),
            sync,
            health,
            operation: false,
            timeout: 0,
        };
        assert!(wait_state(&app, &args(true, false)).0);
        let (done, seen) = wait_state(&app, &args(true, true));
        assert!(!done);
        assert_eq!(seen, "sync Synced, health Progressing, operation none");
    }
}
