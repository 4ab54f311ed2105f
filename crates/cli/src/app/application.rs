//! `ferrocd app list|get|create|set|delete|history|rollback|terminate-op|resources`.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use ferrocd_model::Application;
use serde_json::{Map, Value, json};

use super::table::Table;
use super::{Ctx, key_value, text};
use crate::Failure;

/// The verbs of `ferrocd app`.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// List applications.
    List {
        /// Only applications of this project.
        #[arg(short = 'p', long = "project", value_name = "PROJECT")]
        project: Vec<String>,
        /// Label selector (`k=v`, `k!=v`, `k`, `!k`, comma-separated).
        #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
        selector: Option<String>,
    },
    /// Show an application and its resources.
    Get {
        /// Application name.
        name: String,
        /// Ask the controller to compare again first (`argocd.argoproj.io/refresh: normal`).
        #[arg(long)]
        refresh: bool,
        /// Like --refresh, and render again without the cache (`hard`).
        #[arg(long, conflicts_with = "refresh")]
        hard_refresh: bool,
    },
    /// Create an application from flags or from a file.
    Create(Box<CreateArgs>),
    /// Change an application's spec.
    Set {
        /// Application name.
        name: String,
        #[command(flatten)]
        spec: Box<SpecFlags>,
    },
    /// Delete an application (with its resources unless --cascade=false).
    Delete {
        /// Application name.
        name: String,
        /// Delete the application's resources too (keeps the resources finalizer).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
        cascade: bool,
    },
    /// Sync an application to its target revision.
    Sync(Box<super::operation::SyncArgs>),
    /// Wait for an application to reach a state.
    Wait(super::operation::WaitArgs),
    /// Show the deployment history.
    History {
        /// Application name.
        name: String,
    },
    /// Sync to an earlier history entry (default: the previous one).
    Rollback {
        /// Application name.
        name: String,
        /// History ID.
        id: Option<i64>,
    },
    /// Ask the running operation to stop.
    TerminateOp {
        /// Application name.
        name: String,
    },
    /// List the application's resources.
    Resources {
        /// Application name.
        name: String,
    },
    /// Print the application's manifests.
    Manifests(super::source::ManifestsArgs),
    /// Diff the rendered target state with the live state (exit 1 when they differ).
    Diff {
        /// Application name.
        name: String,
    },
}

/// `ferrocd app create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Application name (or take it from --file).
    pub name: Option<String>,
    /// An Application manifest to create.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Update the application when it exists.
    #[arg(long)]
    pub upsert: bool,
    #[command(flatten)]
    pub spec: SpecFlags,
}

/// Spec flags shared by `create` and `set`.
#[derive(Debug, Args, Default)]
pub struct SpecFlags {
    /// Repository URL.
    #[arg(long, value_name = "URL")]
    pub repo: Option<String>,
    /// Path in the repository.
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// Target revision (branch, tag, commit, or chart version).
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
    /// Helm chart name (for Helm repositories).
    #[arg(long, value_name = "CHART")]
    pub helm_chart: Option<String>,
    /// Destination cluster URL.
    #[arg(long, value_name = "URL")]
    pub dest_server: Option<String>,
    /// Destination cluster name.
    #[arg(long, value_name = "NAME")]
    pub dest_name: Option<String>,
    /// Destination namespace.
    #[arg(long, value_name = "NS")]
    pub dest_namespace: Option<String>,
    /// Project.
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Sync policy: `automated` or `none`.
    #[arg(long, value_name = "POLICY")]
    pub sync_policy: Option<String>,
    /// With automated sync, delete resources no longer in Git.
    #[arg(long)]
    pub auto_prune: bool,
    /// With automated sync, undo changes made in the cluster.
    #[arg(long)]
    pub self_heal: bool,
    /// A sync option `KEY=VALUE` (repeatable), e.g. `CreateNamespace=true`.
    #[arg(long = "sync-option", value_name = "K=V")]
    pub sync_option: Vec<String>,
}

impl SpecFlags {
    /// Writes the flags into `spec`.
    fn apply_to(&self, spec: &mut Map<String, Value>) -> Result<(), Failure> {
        let source = object_at(spec, "source");
        for (field, value) in [
            ("repoURL", &self.repo),
            ("path", &self.path),
            ("targetRevision", &self.revision),
            ("chart", &self.helm_chart),
        ] {
            if let Some(v) = value {
                source.insert(field.into(), json!(v));
            }
        }
        let dest = object_at(spec, "destination");
        if let Some(server) = &self.dest_server {
            dest.insert("server".into(), json!(server));
            dest.remove("name");
        }
        if let Some(name) = &self.dest_name {
            dest.insert("name".into(), json!(name));
            dest.remove("server");
        }
        if self.dest_server.is_some() && self.dest_name.is_some() {
            return Err(
                anyhow!("--dest-server and --dest-name exclude each other; give one").into(),
            );
        }
        if let Some(ns) = &self.dest_namespace {
            dest.insert("namespace".into(), json!(ns));
        }
        if let Some(project) = &self.project {
            spec.insert("project".into(), json!(project));
        }
        match self.sync_policy.as_deref() {
            None => {}
            Some("automated" | "automatic" | "auto") => {
                object_at(object_at(spec, "syncPolicy"), "automated");
            }
            Some("none" | "manual") => {
                object_at(spec, "syncPolicy").remove("automated");
            }
            Some(other) => {
                return Err(
                    anyhow!("--sync-policy {other}: expected `automated` or `none`").into(),
                );
            }
        }
        if self.auto_prune || self.self_heal {
            let policy = object_at(spec, "syncPolicy");
            if !policy.contains_key("automated") {
                return Err(anyhow!(
                    "--auto-prune and --self-heal need automated sync; add --sync-policy automated"
                )
                .into());
            }
            let automated = object_at(policy, "automated");
            if self.auto_prune {
                automated.insert("prune".into(), json!(true));
            }
            if self.self_heal {
                automated.insert("selfHeal".into(), json!(true));
            }
        }
        if !self.sync_option.is_empty() {
            let policy = object_at(spec, "syncPolicy");
            let mut options: Vec<String> = policy
                .get("syncOptions")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for option in &self.sync_option {
                let (k, v) = key_value("--sync-option", option)?;
                options.retain(|o| o.split_once('=').map(|(ok, _)| ok) != Some(k.as_str()));
                options.push(format!("{k}={v}"));
            }
            policy.insert("syncOptions".into(), json!(options));
        }
        Ok(())
    }
}

/// The object at `key` of `map`, created (or replaced when not an object).
fn object_at<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = map.entry(key.to_string()).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    match entry {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// Runs one `ferrocd app` verb.
pub async fn run(ctx: Ctx, command: AppCommand) -> Result<(), Failure> {
    match command {
        AppCommand::List { project, selector } => list(&ctx, &project, selector.as_deref()).await,
        AppCommand::Get {
            name,
            refresh,
            hard_refresh,
        } => {
            if refresh || hard_refresh {
                let app = ctx.app(&name).await?;
                let kind = if hard_refresh { "hard" } else { "normal" };
                ctx.backend.refresh_app(&app, kind).await?;
            }
            get(&ctx, &name).await
        }
        AppCommand::Create(args) => create(&ctx, *args).await,
        AppCommand::Set { name, spec } => set(&ctx, &name, &spec).await,
        AppCommand::Delete { name, cascade } => delete(&ctx, &name, cascade).await,
        AppCommand::Sync(args) => super::operation::sync(&ctx, *args).await,
        AppCommand::Wait(args) => super::operation::wait(&ctx, args).await,
        AppCommand::History { name } => history(&ctx, &name).await,
        AppCommand::Rollback { name, id } => rollback(&ctx, &name, id).await,
        AppCommand::TerminateOp { name } => terminate(&ctx, &name).await,
        AppCommand::Resources { name } => resources(&ctx, &name).await,
        AppCommand::Manifests(args) => super::source::manifests(&ctx, args).await,
        AppCommand::Diff { name } => super::source::diff(&ctx, &name).await,
    }
}

/// Whether `labels` match a label selector (equality-based, comma-separated).
pub fn matches_selector(labels: &Value, selector: &str) -> Result<bool, Failure> {
    for term in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let label = |k: &str| labels.get(k.trim()).and_then(Value::as_str);
        let ok = if let Some((k, v)) = term.split_once("!=") {
            label(k) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            label(k) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            label(k).is_none()
        } else if term.contains(' ') {
            return Err(anyhow!(
                "selector term '{term}': only `k=v`, `k!=v`, `k` and `!k` are supported"
            )
            .into());
        } else {
            label(term).is_some()
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn destination_server(app: &Value) -> String {
    let server = text(app, "/spec/destination/server");
    if server.is_empty() {
        text(app, "/spec/destination/name").to_string()
    } else {
        server.to_string()
    }
}

/// The first source (`spec.source`, else `spec.sources[0]`).
pub fn first_source(app: &Value) -> &Value {
    app.pointer("/spec/source")
        .or_else(|| app.pointer("/spec/sources/0"))
        .unwrap_or(&Value::Null)
}

async fn list(ctx: &Ctx, projects: &[String], selector: Option<&str>) -> Result<(), Failure> {
    let mut apps = ctx.backend.list_apps().await?;
    let mut kept = Vec::new();
    for app in apps.drain(..) {
        if !projects.is_empty() && !projects.iter().any(|p| p == text(&app, "/spec/project")) {
            continue;
        }
        if let Some(sel) = selector {
            let labels = app
                .pointer("/metadata/labels")
                .cloned()
                .unwrap_or(json!({}));
            if !matches_selector(&labels, sel)? {
                continue;
            }
        }
        kept.push(app);
    }
    kept.sort_by(|a, b| text(a, "/metadata/name").cmp(text(b, "/metadata/name")));
    if ctx.print_structured(&Value::Array(kept.clone()))? {
        return Ok(());
    }
    let mut header = vec![
        "NAME",
        "CLUSTER",
        "NAMESPACE",
        "PROJECT",
        "STATUS",
        "HEALTH",
        "SYNCPOLICY",
        "CONDITIONS",
        "REPO",
        "PATH",
        "TARGET",
    ];
    if ctx.wide() {
        header.extend(["REVISION", "LAST-SYNC", "OPERATION"]);
    }
    let mut table = Table::new(&header);
    for app in &kept {
        let source = first_source(app);
        let conditions: Vec<&str> = app
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .map(|c| c.iter().filter_map(|c| c["type"].as_str()).collect())
            .unwrap_or_default();
        let name = text(app, "/metadata/name");
        let app_ns = text(app, "/metadata/namespace");
        table.row(vec![
            if app_ns.is_empty() {
                name.to_string()
            } else {
                format!("{app_ns}/{name}")
            },
            destination_server(app),
            text(app, "/spec/destination/namespace").to_string(),
            text(app, "/spec/project").to_string(),
            or_unknown(text(app, "/status/sync/status")),
            or_unknown(text(app, "/status/health/status")),
            if app.pointer("/spec/syncPolicy/automated").is_some() {
                "Auto".to_string()
            } else {
                "Manual".to_string()
            },
            if conditions.is_empty() {
                "<none>".to_string()
            } else {
                conditions.join(",")
            },
            text(source, "/repoURL").to_string(),
            text(source, "/path").to_string(),
            text(source, "/targetRevision").to_string(),
            short_revision(text(app, "/status/sync/revision")),
            text(app, "/status/operationState/finishedAt").to_string(),
            text(app, "/status/operationState/phase").to_string(),
        ]);
    }
    crate::write_stdout(&table.render())
}

/// The first 7 characters of a commit, as `git log --oneline` shows it.
fn short_revision(revision: &str) -> String {
    if revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit()) {
        revision[..7].to_string()
    } else {
        revision.to_string()
    }
}

fn or_unknown(s: &str) -> String {
    if s.is_empty() {
        "Unknown".to_string()
    } else {
        s.to_string()
    }
}

/// The resource table of `app get` and `app resources`; `wide` adds the API version, the
/// sync wave and whether the resource waits for pruning.
pub fn resource_table(app: &Value, wide: bool) -> Table {
    let mut header = vec![
        "GROUP",
        "KIND",
        "NAMESPACE",
        "NAME",
        "STATUS",
        "HEALTH",
        "HOOK",
        "MESSAGE",
    ];
    if wide {
        header.extend(["VERSION", "SYNC-WAVE", "REQUIRES-PRUNING"]);
    }
    let mut table = Table::new(&header);
    let results = app
        .pointer("/status/operationState/syncResult/resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for r in app
        .pointer("/status/resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let result = results.iter().find(|x| {
            ["group", "kind", "namespace", "name"]
                .iter()
                .all(|f| x[*f].as_str().unwrap_or_default() == r[*f].as_str().unwrap_or_default())
        });
        let message = result
            .and_then(|x| x["message"].as_str())
            .or_else(|| r.pointer("/health/message").and_then(Value::as_str))
            .unwrap_or_default();
        table.row(vec![
            text(r, "/group").to_string(),
            text(r, "/kind").to_string(),
            text(r, "/namespace").to_string(),
            text(r, "/name").to_string(),
            text(r, "/status").to_string(),
            text(r, "/health/status").to_string(),
            if r["hook"].as_bool() == Some(true) {
                result
                    .and_then(|x| x["hookType"].as_str())
                    .unwrap_or("Hook")
                    .to_string()
            } else {
                String::new()
            },
            message.to_string(),
            text(r, "/version").to_string(),
            r.get("syncWave")
                .and_then(Value::as_i64)
                .map(|w| w.to_string())
                .unwrap_or_default(),
            if r["requiresPruning"].as_bool() == Some(true) {
                "true".to_string()
            } else {
                String::new()
            },
        ]);
    }
    table
}

async fn get(ctx: &Ctx, name: &str) -> Result<(), Failure> {
    let app = ctx.app(name).await?;
    if ctx.print_structured(&app)? {
        return Ok(());
    }
    let source = first_source(&app);
    let revision = text(&app, "/status/sync/revision");
    let mut out = String::new();
    let mut field = |k: &str, v: String| out.push_str(&format!("{:<18}{v}\n", format!("{k}:")));
    field("Name", format!("{}/{name}", ctx.ns()));
    field("Project", text(&app, "/spec/project").to_string());
    field("Server", destination_server(&app));
    field(
        "Namespace",
        text(&app, "/spec/destination/namespace").to_string(),
    );
    field("Repo", text(source, "/repoURL").to_string());
    field("Path", text(source, "/path").to_string());
    field("Target", text(source, "/targetRevision").to_string());
    field(
        "Sync Policy",
        if app.pointer("/spec/syncPolicy/automated").is_some() {
            "Automated".to_string()
        } else {
            "Manual".to_string()
        },
    );
    field(
        "Sync Status",
        if revision.is_empty() {
            or_unknown(text(&app, "/status/sync/status"))
        } else {
            format!(
                "{} (revision {revision})",
                or_unknown(text(&app, "/status/sync/status"))
            )
        },
    );
    let health_message = text(&app, "/status/health/message");
    field(
        "Health Status",
        if health_message.is_empty() {
            or_unknown(text(&app, "/status/health/status"))
        } else {
            format!(
                "{} ({health_message})",
                or_unknown(text(&app, "/status/health/status"))
            )
        },
    );
    let phase = text(&app, "/status/operationState/phase");
    if !phase.is_empty() {
        field(
            "Operation",
            format!("{phase}: {}", text(&app, "/status/operationState/message")),
        );
    }
    for c in app
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        field(
            "Condition",
            format!("{}: {}", text(c, "/type"), text(c, "/message")),
        );
    }
    out.push('\n');
    out.push_str(&resource_table(&app, ctx.wide()).render());
    crate::write_stdout(&out)
}

async fn resources(ctx: &Ctx, name: &str) -> Result<(), Failure> {
    let app = ctx.app(name).await?;
    let list = app
        .pointer("/status/resources")
        .cloned()
        .unwrap_or(json!([]));
    if ctx.print_structured(&list)? {
        return Ok(());
    }
    crate::write_stdout(&resource_table(&app, ctx.wide()).render())
}

async fn create(ctx: &Ctx, args: CreateArgs) -> Result<(), Failure> {
    let mut app = match &args.file {
        Some(path) => {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {file}"))?;
            let typed = Application::from_yaml(&text, &file)?;
            serde_json::to_value(&typed).context("encoding the Application")?
        }
        None => {
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {}, "spec": {"project": "default"}})
        }
    };
    let Some(obj) = app.as_object_mut() else {
        return Err(anyhow!("the Application is not a mapping").into());
    };
    obj.remove("status");
    obj.remove("operation");
    let metadata = object_at(obj, "metadata");
    if let Some(name) = &args.name {
        metadata.insert("name".into(), json!(name));
    }
    metadata.insert("namespace".into(), json!(ctx.ns()));
    for k in [
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "generation",
        "managedFields",
    ] {
        metadata.remove(k);
    }
    let name = metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return Err(anyhow!(
            "an application needs a name: `ferrocd app create NAME ...` or -f FILE"
        )
        .into());
    }
    args.spec.apply_to(object_at(obj, "spec"))?;
    if args.file.is_none() {
        let spec = &app["spec"];
        let missing: Vec<&str> = [
            ("--repo", "/source/repoURL"),
            ("--dest-namespace", "/destination/namespace"),
        ]
        .iter()
        .filter(|(_, p)| text(spec, p).is_empty())
        .map(|(f, _)| *f)
        .collect();
        if !missing.is_empty() {
            return Err(anyhow!("app create {name}: missing {}", missing.join(", ")).into());
        }
        if text(spec, "/destination/server").is_empty()
            && text(spec, "/destination/name").is_empty()
        {
            return Err(
                anyhow!("app create {name}: give --dest-server URL or --dest-name NAME").into(),
            );
        }
    }
    // Validate through the model before writing.
    serde_json::from_value::<Application>(app.clone())
        .with_context(|| format!("application '{name}' is not valid"))?;
    match ctx.backend.app_opt(&name).await? {
        Some(live) => {
            if !args.upsert {
                if live.get("spec") == app.get("spec") {
                    return crate::write_stdout(&format!("application '{name}' unchanged\n"));
                }
                return Err(anyhow!(
                    "application '{name}' already exists with a different spec; use --upsert to update it or `ferrocd app set {name}`"
                )
                .into());
            }
            ctx.backend.update_app(&live, &app).await?;
            crate::write_stdout(&format!("application '{name}' updated\n"))
        }
        None => {
            ctx.backend.create_app(&app).await?;
            crate::write_stdout(&format!("application '{name}' created\n"))
        }
    }
}

async fn set(ctx: &Ctx, name: &str, flags: &SpecFlags) -> Result<(), Failure> {
    let live = ctx.app(name).await?;
    let mut desired = live.clone();
    let Some(spec) = desired.get_mut("spec").and_then(Value::as_object_mut) else {
        return Err(anyhow!("application '{name}' has no spec").into());
    };
    flags.apply_to(spec)?;
    let spec = Value::Object(spec.clone());
    serde_json::from_value::<ferrocd_model::ApplicationSpec>(spec)
        .with_context(|| format!("application '{name}': the new spec is not valid"))?;
    ctx.backend.update_app(&live, &desired).await?;
    crate::write_stdout(&format!("application '{name}' updated\n"))
}

async fn delete(ctx: &Ctx, name: &str, cascade: bool) -> Result<(), Failure> {
    let app = ctx.app(name).await?;
    if !ctx.backend.delete_app(&app, cascade).await? {
        crate::write_stdout(&format!("application '{name}' was already gone\n"))
    } else if cascade {
        crate::write_stdout(&format!(
            "application '{name}' deleted (its resources are deleted by the controller)\n"
        ))
    } else {
        crate::write_stdout(&format!("application '{name}' deleted (resources kept)\n"))
    }
}

fn history_entries(app: &Value) -> Vec<Value> {
    app.pointer("/status/history")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

async fn history(ctx: &Ctx, name: &str) -> Result<(), Failure> {
    let app = ctx.app(name).await?;
    let entries = history_entries(&app);
    if ctx.print_structured(&Value::Array(entries.clone()))? {
        return Ok(());
    }
    let mut header = vec!["ID", "DATE", "REVISION", "INITIATED-BY"];
    if ctx.wide() {
        header.extend(["DEPLOY-STARTED", "SOURCE"]);
    }
    let mut table = Table::new(&header);
    for h in &entries {
        let revision = match text(h, "/revision") {
            "" => h["revisions"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
            r => r.to_string(),
        };
        let by = match (
            text(h, "/initiatedBy/username"),
            h.pointer("/initiatedBy/automated"),
        ) {
            ("", Some(Value::Bool(true))) => "automated".to_string(),
            (user, _) => user.to_string(),
        };
        let source = h.get("source").unwrap_or(&Value::Null);
        let target = text(source, "/targetRevision");
        table.row(vec![
            h["id"].as_i64().map(|i| i.to_string()).unwrap_or_default(),
            text(h, "/deployedAt").to_string(),
            if target.is_empty() {
                revision
            } else {
                format!("{revision} ({target})")
            },
            by,
            text(h, "/deployStartedAt").to_string(),
            [text(source, "/repoURL"), text(source, "/path")]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    crate::write_stdout(&table.render())
}

async fn rollback(ctx: &Ctx, name: &str, id: Option<i64>) -> Result<(), Failure> {
    let app = ctx.app(name).await?;
    if app.pointer("/spec/syncPolicy/automated").is_some() {
        return Err(anyhow!(
            "application '{name}' has automated sync, which would undo a rollback; disable auto-sync first with `ferrocd app set {name} --sync-policy none`"
        )
        .into());
    }
    if app.pointer("/operation").is_some_and(|o| !o.is_null()) {
        return Err(anyhow!(
            "application '{name}' has an operation in progress; wait for it (`ferrocd app wait {name} --operation`) or stop it (`ferrocd app terminate-op {name}`)"
        )
        .into());
    }
    let entries = history_entries(&app);
    let entry = match id {
        Some(id) => entries.iter().find(|h| h["id"].as_i64() == Some(id)).ok_or_else(|| {
            anyhow!("application '{name}' has no history entry {id}; see `ferrocd app history {name}`")
        })?,
        None => {
            if entries.len() < 2 {
                return Err(anyhow!(
                    "application '{name}' has no previous deployment to roll back to; see `ferrocd app history {name}`"
                )
                .into());
            }
            &entries[entries.len() - 2]
        }
    };
    let Some(entry_id) = entry["id"].as_i64() else {
        return Err(anyhow!("application '{name}': a history entry has no id").into());
    };
    ctx.backend.rollback_app(&app, entry, entry_id).await?;
    crate::write_stdout(&format!(
        "rollback of application '{name}' to history {} (revision {}) requested; follow it with `ferrocd app wait {name} --operation`\n",
        entry["id"],
        text(entry, "/revision")
    ))
}

async fn terminate(ctx: &Ctx, name: &str) -> Result<(), Failure> {
    let app = ctx.app(name).await?;
    let phase = text(&app, "/status/operationState/phase");
    let running = app.pointer("/operation").is_some_and(|o| !o.is_null())
        || phase == "Running"
        || phase == "Terminating";
    if !running {
        return Err(anyhow!("application '{name}' has no operation in progress").into());
    }
    ctx.backend.terminate_op(&app).await?;
    crate::write_stdout(&format!(
        "operation of application '{name}' is terminating\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_terms() {
        let labels = json!({"team": "ml", "env": "prod"});
        assert!(matches_selector(&labels, "team=ml,env=prod").unwrap_or(false));
        assert!(matches_selector(&labels, "team==ml").unwrap_or(false));
        assert!(!matches_selector(&labels, "env!=prod").unwrap_or(true));
        assert!(matches_selector(&labels, "team,!tier").unwrap_or(false));
        assert!(!matches_selector(&labels, "tier").unwrap_or(true));
        assert!(matches_selector(&labels, "env in (prod)").is_err());
    }

    #[test]
    fn spec_flags_build_an_automated_spec() {
        let flags = SpecFlags {
            repo: Some("https://git.example.com/ml/platform.git".into()),
            path: Some("apps/mlflow/overlays/dev".into()),
            dest_server: Some("https://kubernetes.default.svc".into()),
            dest_namespace: Some("mlflow".into()),
            sync_policy: Some("automated".into()),
            auto_prune: true,
            sync_option: vec!["CreateNamespace=true".into()],
            ..Default::default()
        };
        let mut spec = Map::new();
        assert!(flags.apply_to(&mut spec).is_ok());
        let spec = Value::Object(spec);
        assert_eq!(spec["source"]["path"], "apps/mlflow/overlays/dev");
        assert_eq!(spec["syncPolicy"]["automated"]["prune"], true);
        assert_eq!(
            spec["syncPolicy"]["syncOptions"],
            json!(["CreateNamespace=true"])
        );
    }

    #[test]
    fn auto_prune_without_automated_is_refused() {
        let flags = SpecFlags {
            auto_prune: true,
            ..Default::default()
        };
        assert!(flags.apply_to(&mut Map::new()).is_err());
    }
}
