//! What `ferrocd diff|sync|status` share: the flags that name the application, its
//! source and its cluster; rendering the source; reading the live state; comparing.
//!
//! SOURCE is a folder (rendered like `ferrocd render DIR`) or an Application file (its
//! sources rendered, its ignoreDifferences, sync options, destination namespace and retry
//! strategy used). Errors exit with code 2 and one line naming what failed; they are all
//! found before the first write to the cluster.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser};
use ferrocd_cluster::{Cluster, Inventory};
use ferrocd_diff::{DiffOptions, IgnoreRule};
use ferrocd_health::HealthCustomizations;
use ferrocd_manifest::{Manifest, parse_yaml_value};
use ferrocd_model::Application;
use ferrocd_sync::{
    CompareInput, Comparison, DesiredState, PrepareOptions, ResourceStatus, compare, live, prepare,
};
use serde_json::{Value, json};

use crate::Failure;
use crate::render::{OutputFormat, RenderArgs};

/// The namespace Applications live in when ferrocd runs as Argo CD would.
const CONTROL_PLANE_NAMESPACE: &str = "argocd";

/// Flags common to the direct-mode commands.
#[derive(Debug, Args)]
pub struct DirectArgs {
    /// A folder to render, or a YAML file holding an Argo CD Application.
    pub source: PathBuf,
    /// The application name used for tracking (default: the Application's name).
    #[arg(long = "app", value_name = "NAME")]
    pub app: Option<String>,
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Destination namespace: namespaced objects without one land there.
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// System-wide ignoreDifferences: an `argocd-cm` ConfigMap
    /// (`resource.customizations.ignoreDifferences.*` keys) or a YAML list of rules.
    #[arg(long = "ignore-differences", value_name = "FILE")]
    pub ignore_differences: Option<PathBuf>,
    /// An `argocd-cm` ConfigMap with health Lua scripts
    /// (`resource.customizations.health.<group>_<Kind>`) and ignoreDifferences settings.
    #[arg(long, value_name = "ARGOCD_CM.yaml")]
    pub customizations: Option<PathBuf>,
    /// Output format: text (default) or JSON.
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<OutputFormat>,
}

impl DirectArgs {
    /// Whether JSON output was asked for.
    pub fn json(&self) -> bool {
        self.output == Some(OutputFormat::Json)
    }
}

/// A failure of a direct-mode command: exit code 2.
pub fn error(e: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: 2,
        error: e.into(),
    }
}

/// Everything read from the command line and the files, before touching the cluster.
pub struct Source {
    /// The application's tracking name.
    pub app: String,
    /// The Application, when SOURCE is one.
    pub application: Option<Application>,
    /// Rendered manifests.
    pub manifests: Vec<Manifest>,
    /// Destination namespace.
    pub namespace: String,
    /// Diff options (all ignoreDifferences rules).
    pub diff: DiffOptions,
    /// Health customizations.
    pub health: HealthCustomizations,
}

#[derive(Parser)]
struct RenderWrapper {
    #[command(flatten)]
    render: RenderArgs,
}

fn read_yaml(path: &Path) -> Result<Value, Failure> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {file}"))
        .map_err(error)?;
    parse_yaml_value(&text, &file).map_err(error)
}

/// Rules of an ignoreDifferences file: a list of rules, an Application-style
/// `ignoreDifferences:` map, or an `argocd-cm` ConfigMap.
fn ignore_rules_of(path: &Path) -> Result<Vec<IgnoreRule>, Failure> {
    let file = path.display().to_string();
    let value = read_yaml(path)?;
    let list = match &value {
        Value::Array(_) => Some(value.clone()),
        Value::Object(m) if m.contains_key("ignoreDifferences") => {
            m.get("ignoreDifferences").cloned()
        }
        _ => None,
    };
    match list {
        Some(list) => serde_json::from_value(list)
            .with_context(|| format!("{file}: reading ignoreDifferences rules"))
            .map_err(error),
        None => IgnoreRule::from_config_map(&value)
            .with_context(|| format!("{file}: reading ignoreDifferences settings"))
            .map_err(error),
    }
}

/// Renders SOURCE and reads the settings files.
pub fn load(args: &DirectArgs) -> Result<Source, Failure> {
    let source = args.source.display().to_string();
    let wrapper = RenderWrapper::try_parse_from(["render", source.as_str()]).map_err(error)?;
    let render = wrapper.render;
    let (manifests, application) = if args.source.is_dir() {
        (
            crate::render::render_folder(&render).map_err(relabel)?,
            None,
        )
    } else if args.source.is_file() {
        let text = std::fs::read_to_string(&args.source)
            .with_context(|| format!("reading {source}"))
            .map_err(error)?;
        let app = Application::from_yaml(&text, &source).map_err(error)?;
        (
            crate::render::render_application_file(&render).map_err(relabel)?,
            Some(app),
        )
    } else {
        return Err(error(anyhow::anyhow!(
            "{source}: no such file or directory"
        )));
    };
    let app = match (&args.app, &application) {
        (Some(name), _) => name.clone(),
        (None, Some(a)) => a.instance_name(CONTROL_PLANE_NAMESPACE),
        (None, None) => {
            return Err(error(anyhow::anyhow!(
                "--app NAME is required when SOURCE is a folder"
            )));
        }
    };
    let namespace = args
        .namespace
        .clone()
        .or_else(|| {
            application
                .as_ref()
                .and_then(|a| a.spec.destination.namespace.clone())
        })
        .unwrap_or_default();
    let mut diff = DiffOptions::default();
    if let Some(a) = &application {
        let value = serde_json::to_value(a)
            .context("encoding the Application")
            .map_err(error)?;
        diff.ignore.extend(
            IgnoreRule::from_application(&value)
                .with_context(|| format!("{source}: reading spec.ignoreDifferences"))
                .map_err(error)?,
        );
    }
    if let Some(path) = &args.ignore_differences {
        diff.ignore.extend(ignore_rules_of(path)?);
    }
    let mut health = HealthCustomizations::default();
    if let Some(path) = &args.customizations {
        let file = path.display().to_string();
        let cm = read_yaml(path)?;
        health = HealthCustomizations::from_config_map(&cm)
            .with_context(|| format!("{file}: reading health customizations"))
            .map_err(error)?;
        diff.ignore.extend(
            IgnoreRule::from_config_map(&cm)
                .with_context(|| format!("{file}: reading ignoreDifferences settings"))
                .map_err(error)?,
        );
    }
    ferrocd_diff::validate_ignore_rules(&diff.ignore)
        .context("ignoreDifferences")
        .map_err(error)?;
    Ok(Source {
        app,
        application,
        manifests,
        namespace,
        diff,
        health,
    })
}

/// Render failures keep their message and get exit code 2.
fn relabel(f: Failure) -> Failure {
    error(f.error)
}

/// Connects to the cluster of the kubeconfig flags.
pub async fn connect(args: &DirectArgs) -> Result<Cluster, Failure> {
    Cluster::from_kubeconfig(args.kubeconfig.as_deref(), args.context.as_deref())
        .await
        .map_err(error)
}

/// The desired state, the live state and their comparison.
pub struct State {
    /// Desired objects, placed and stamped.
    pub desired: DesiredState,
    /// Live objects of the application.
    pub live: Inventory,
    /// The comparison.
    pub comparison: Comparison,
}

/// Prepares the desired state and compares it with the cluster.
pub async fn compare_with_cluster(cluster: &Cluster, source: &Source) -> Result<State, Failure> {
    let desired = prepare(
        cluster,
        &source.manifests,
        &PrepareOptions {
            app: source.app.clone(),
            destination_namespace: source.namespace.clone(),
        },
    )
    .await
    .map_err(error)?;
    let live = reload(cluster, source, &desired).await?;
    let comparison = compare(&CompareInput {
        app: &source.app,
        desired: &desired,
        live: &live,
        diff: &source.diff,
        health: &source.health,
    })
    .map_err(error)?;
    Ok(State {
        desired,
        live,
        comparison,
    })
}

/// Reads the live state again.
pub async fn reload(
    cluster: &Cluster,
    source: &Source,
    desired: &DesiredState,
) -> Result<Inventory, Failure> {
    live::load(cluster, &source.app, desired)
        .await
        .with_context(|| format!("reading the live objects of application {}", source.app))
        .map_err(error)
}

/// One resource as `-o json` prints it.
pub fn resource_json(r: &ResourceStatus) -> Value {
    let mut v = json!({
        "group": r.key.group,
        "version": r.version,
        "kind": r.key.kind,
        "namespace": r.key.namespace,
        "name": r.key.name,
        "status": r.status.to_string(),
        "health": {"status": r.health.status.as_str(), "message": r.health.message},
    });
    if r.hook {
        v["hook"] = json!(true);
    }
    if r.requires_pruning {
        v["requiresPruning"] = json!(true);
    }
    v
}

/// The comparison as `-o json` prints it (without per-command extras).
pub fn comparison_json(app: &str, c: &Comparison) -> Value {
    json!({
        "app": app,
        "sync": {"status": c.sync_status.to_string()},
        "health": {"status": c.health.status.as_str(), "message": c.health.message},
        "resources": c.resources.iter().map(resource_json).collect::<Vec<_>>(),
    })
}

/// Pretty JSON with a final newline.
pub fn to_json_text(v: &Value) -> Result<String, Failure> {
    let mut text = serde_json::to_string_pretty(v)
        .context("encoding JSON")
        .map_err(error)?;
    text.push('\n');
    Ok(text)
}

/// The resource table of `status` and `sync`.
pub fn table(c: &Comparison) -> String {
    let rows: Vec<[String; 7]> = c
        .resources
        .iter()
        .map(|r| {
            [
                r.key.group.clone(),
                r.key.kind.clone(),
                r.key.namespace.clone(),
                r.key.name.clone(),
                if r.requires_pruning {
                    format!("{} (requires pruning)", r.status)
                } else if r.hook {
                    format!("{} (hook)", r.status)
                } else {
                    r.status.to_string()
                },
                r.health.status.as_str().to_string(),
                r.health.message.clone(),
            ]
        })
        .collect();
    let header = [
        "GROUP",
        "KIND",
        "NAMESPACE",
        "NAME",
        "STATUS",
        "HEALTH",
        "MESSAGE",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut text = line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        text.push_str(&line(&cells));
    }
    text
}
