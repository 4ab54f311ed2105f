//! `ferrocd sync --app NAME SOURCE`: makes the cluster match what SOURCE renders, in
//! phases and waves, printing progress as it goes (phase, wave, resource, action,
//! result), then waits for the application to be healthy. Exit 0 only when the operation
//! succeeded and the application is Healthy (or `--no-wait`/`--dry-run`), 1 when the
//! operation failed or the application did not become healthy in time, 2 on error (bad
//! flags, kubeconfig, cluster, render: nothing is changed in the cluster then).

use std::time::Duration;

use clap::Args;
use ferrocd_model::{HealthStatus, OperationPhase, SyncOperationResource, SyncOptions};
use ferrocd_sync::{
    CancelHandle, CompareInput, ExecuteOptions, OperationRecord, PlanInput, PlanOptions, SyncEvent,
    compare, execute, plan,
};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::Failure;
use crate::direct::{self, DirectArgs, error};

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub direct: DirectArgs,
    /// Delete tracked objects that are no longer rendered.
    #[arg(long)]
    pub prune: bool,
    /// Validate with a server-side dry run; change nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Give up after this many seconds (operation and health wait together).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub timeout: u64,
    /// Sync only this resource (GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME; repeatable).
    #[arg(long = "resource", value_name = "GROUP:KIND:NAME")]
    pub resources: Vec<String>,
    /// A sync option (CreateNamespace=true, Replace=true, ServerSideApply=true, …;
    /// repeatable), on top of the Application's.
    #[arg(long = "sync-option", value_name = "K=V")]
    pub sync_options: Vec<String>,
    /// Do not wait for the application to become healthy after the operation.
    #[arg(long = "no-wait")]
    pub no_wait: bool,
    /// Allow pruning everything when SOURCE renders no object.
    #[arg(long = "allow-empty")]
    pub allow_empty: bool,
}

/// Parses `GROUP:KIND:NAME` or `GROUP:KIND:NAMESPACE/NAME` (argocd's `--resource`).
fn parse_resource(text: &str) -> Result<SyncOperationResource, Failure> {
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    let [group, kind, name] = parts.as_slice() else {
        return Err(error(anyhow::anyhow!(
            "--resource {text:?}: expected GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME"
        )));
    };
    if kind.is_empty() || name.is_empty() {
        return Err(error(anyhow::anyhow!(
            "--resource {text:?}: kind and name are required"
        )));
    }
    let (namespace, name) = match name.split_once('/') {
        Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
        None => (None, name.to_string()),
    };
    Ok(SyncOperationResource {
        group: Some(group.to_string()),
        kind: kind.to_string(),
        name,
        namespace,
        extra: Default::default(),
    })
}

fn key_text(r: &OperationRecord) -> String {
    let gk = if r.key.group.is_empty() {
        r.key.kind.clone()
    } else {
        format!("{}/{}", r.key.group, r.key.kind)
    };
    if r.key.namespace.is_empty() {
        format!("{gk} {}", r.key.name)
    } else {
        format!("{gk} {}/{}", r.key.namespace, r.key.name)
    }
}

/// One progress line.
fn progress_line(event: &SyncEvent) -> String {
    match event {
        SyncEvent::Operation(r) => format!(
            "{:<8} wave {:<3} {:<45} {:<20} {:<10} {}",
            format!("{:?}", r.phase),
            r.wave,
            key_text(r),
            r.action,
            r.result,
            r.message
        ),
        SyncEvent::StepStarted { phase, wave, tasks } => {
            format!(
                "{:<8} wave {wave:<3} starting ({tasks} tasks)",
                format!("{phase:?}")
            )
        }
        SyncEvent::Waiting {
            phase,
            wave,
            message,
        } => format!("{:<8} wave {wave:<3} {message}", format!("{phase:?}")),
        SyncEvent::Retrying {
            attempt,
            delay,
            message,
        } => format!(
            "retrying the operation (attempt {attempt}) in {}s: {message}",
            delay.as_secs_f64()
        ),
    }
}

fn operation_json(r: &OperationRecord) -> Value {
    json!({
        "phase": format!("{:?}", r.phase),
        "wave": r.wave,
        "group": r.key.group,
        "kind": r.key.kind,
        "namespace": r.key.namespace,
        "name": r.key.name,
        "action": r.action,
        "result": r.result,
        "message": r.message,
        "startedAt": r.started_at,
        "finishedAt": r.finished_at,
    })
}

pub fn run(args: SyncArgs) -> Result<(), Failure> {
    let resources = args
        .resources
        .iter()
        .map(|r| parse_resource(r))
        .collect::<Result<Vec<_>, _>>()?;
    let source = direct::load(&args.direct)?;
    crate::run_direct(async move {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(args.timeout);
        let json_out = args.direct.json();
        let cluster = direct::connect(&args.direct).await?;
        let state = direct::compare_with_cluster(&cluster, &source).await?;

        let app = source.application.as_ref();
        let mut options = match app {
            Some(a) => PlanOptions::for_application(a, None),
            None => PlanOptions::default(),
        };
        let mut list: Vec<String> = app
            .and_then(|a| a.spec.sync_policy.as_ref())
            .map(|p| p.sync_options.clone())
            .unwrap_or_default();
        list.extend(args.sync_options.iter().cloned());
        options.sync_options = SyncOptions::from_list(&list);
        options.prune = args.prune;
        options.dry_run = args.dry_run;
        options.allow_empty = args.allow_empty;
        options.resources = resources;
        options.destination_namespace =
            (!source.namespace.is_empty()).then(|| source.namespace.clone());
        let sync_plan = plan(&PlanInput {
            app: source.app.clone(),
            desired: state.desired.to_plan_input(),
            live: state.live.tracked.clone(),
            out_of_sync: state.comparison.out_of_sync(),
            options,
        })
        .map_err(error)?;
        for warning in &sync_plan.warnings {
            eprintln!("warning: {warning}");
        }

        let cancel = CancelHandle::new();
        let on_signal = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("terminating the operation");
                on_signal.terminate();
            }
        });
        let exec = ExecuteOptions {
            timeout: Some(deadline.saturating_duration_since(Instant::now())),
            retry: app
                .and_then(|a| a.spec.sync_policy.as_ref())
                .and_then(|p| p.retry.clone()),
            health: source.health.clone(),
            ignore: source.diff.ignore.clone(),
            jq_timeout: source.diff.jq_timeout,
            ..ExecuteOptions::default()
        };
        let mut on_event = |event: &SyncEvent| {
            let line = progress_line(event);
            if json_out {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        };
        let outcome = execute(&cluster, &sync_plan, &exec, &cancel, &mut on_event).await;

        // Wait for the application to be healthy.
        let succeeded = outcome.phase == OperationPhase::Succeeded;
        let wait = succeeded && !args.no_wait && !args.dry_run;
        let mut comparison;
        loop {
            let live = direct::reload(&cluster, &source, &state.desired).await?;
            comparison = compare(&CompareInput {
                app: &source.app,
                desired: &state.desired,
                live: &live,
                diff: &source.diff,
                health: &source.health,
            })
            .map_err(error)?;
            if !wait
                || comparison.health.status == HealthStatus::Healthy
                || Instant::now() >= deadline
                || cancel.is_terminated()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let healthy = comparison.health.status == HealthStatus::Healthy;
        let text = if json_out {
            let mut v = direct::comparison_json(&source.app, &comparison);
            v["phase"] = json!(outcome.phase.to_string());
            v["message"] = json!(outcome.message);
            v["dryRun"] = json!(args.dry_run);
            v["retries"] = json!(outcome.retries);
            v["operations"] = outcome.operations.iter().map(operation_json).collect();
            direct::to_json_text(&v)?
        } else {
            format!(
                "\n{}\noperation {}: {}\napp {}: sync {}, health {}{}\n",
                direct::table(&comparison),
                outcome.phase,
                outcome.message,
                source.app,
                comparison.sync_status,
                comparison.health.status.as_str(),
                if comparison.health.message.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", comparison.health.message)
                }
            )
        };
        crate::write_stdout(&text)?;
        if succeeded && (healthy || args.no_wait || args.dry_run) {
            Ok(())
        } else {
            if succeeded {
                eprintln!(
                    "error: application {} is {} after {}s: {}",
                    source.app,
                    comparison.health.status.as_str(),
                    started.elapsed().as_secs(),
                    comparison.health.message
                );
            } else {
                eprintln!(
                    "error: sync of {} {}: {}",
                    source.app, outcome.phase, outcome.message
                );
            }
            Err(Failure::silent(1))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_parse_like_argocd() {
        let Ok(r) = parse_resource("apps:Deployment:ml/api") else {
            panic!("parse")
        };
        assert_eq!(r.group.as_deref(), Some("apps"));
        assert_eq!(r.kind, "Deployment");
        assert_eq!(r.namespace.as_deref(), Some("ml"));
        assert_eq!(r.name, "api");
        let Ok(r) = parse_resource(":ConfigMap:settings") else {
            panic!("parse")
        };
        assert_eq!(r.group.as_deref(), Some(""));
        assert_eq!(r.namespace, None);
        assert!(parse_resource("Deployment/api").is_err());
        assert!(parse_resource("apps::x").is_err());
    }
}
