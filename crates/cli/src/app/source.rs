//! `ferrocd app manifests` and `ferrocd app diff`: render an Application's sources the way
//! `ferrocd render` and `ferrocd diff` do, from the Application stored in the cluster.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, ValueEnum};
use serde_json::Value;

use super::{Ctx, text};
use crate::Failure;
use crate::diff::DiffArgs;
use crate::render::RenderArgs;

/// Where `app manifests` reads the objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ManifestSource {
    /// The objects in the cluster, as listed in `status.resources`.
    #[default]
    Live,
    /// The objects rendered from the application's sources.
    Git,
}

/// `ferrocd app manifests`.
#[derive(Debug, Args)]
pub struct ManifestsArgs {
    /// Application name.
    pub name: String,
    /// Where the manifests come from.
    #[arg(long, value_enum, default_value_t = ManifestSource::Live)]
    pub source: ManifestSource,
    /// With `--source git`: render this revision instead of the target revision.
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
}

/// The stored Application, written to a temporary file for the file-based commands.
struct AppFile {
    path: PathBuf,
}

impl AppFile {
    fn write(app: &Value) -> Result<Self, Failure> {
        let mut clean = serde_json::json!({
            "apiVersion": app["apiVersion"].clone(),
            "kind": "Application",
            "metadata": {
                "name": text(app, "/metadata/name"),
                "namespace": text(app, "/metadata/namespace"),
            },
            "spec": app["spec"].clone(),
        });
        if let Some(labels) = app.pointer("/metadata/labels") {
            clean["metadata"]["labels"] = labels.clone();
        }
        let unique = format!(
            "ferrocd-app-{}-{}-{}.yaml",
            std::process::id(),
            text(app, "/metadata/name"),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::write(&path, ferrocd_manifest::to_yaml_string(&clean))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(Self { path })
    }
}

impl Drop for AppFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Parser)]
struct RenderWrapper {
    #[command(flatten)]
    render: RenderArgs,
}

#[derive(Parser)]
struct DiffWrapper {
    #[command(flatten)]
    diff: DiffArgs,
}

/// Renders an Application's sources here, the way `ferrocd render` does (at `revision`
/// instead of the target revision when given).
pub async fn render_locally(app: &Value, revision: Option<&str>) -> Result<Vec<Value>, Failure> {
    let file = AppFile::write(app)?;
    let path = file.path.display().to_string();
    let mut argv = vec!["render".to_string(), path];
    if let Some(rev) = revision {
        argv.push("--revision".into());
        argv.push(rev.to_string());
    }
    let render = RenderWrapper::try_parse_from(argv)
        .context("preparing the render")?
        .render;
    let rendered = tokio::task::spawn_blocking(move || {
        let out = crate::render::render_application_file(&render);
        drop(file);
        out
    })
    .await
    .context("rendering")??;
    Ok(rendered.iter().map(|m| m.object.clone()).collect())
}

/// Prints the live or rendered manifests of an application.
pub async fn manifests(ctx: &Ctx, args: ManifestsArgs) -> Result<(), Failure> {
    let app = ctx.app(&args.name).await?;
    let objects: Vec<Value> = match args.source {
        ManifestSource::Git => {
            ctx.backend
                .git_manifests(&app, args.revision.as_deref())
                .await?
        }
        ManifestSource::Live => ctx.backend.live_manifests(&app).await?,
    };
    if ctx.print_structured(&Value::Array(objects.clone()))? {
        return Ok(());
    }
    crate::write_stdout(&ferrocd_manifest::to_yaml_documents(&objects))
}

/// Replaces Secret values with `++++++++`, as `argocd app manifests` does.
pub fn mask_secret(obj: &mut Value) {
    for field in ["data", "stringData"] {
        if let Some(map) = obj.get_mut(field).and_then(Value::as_object_mut) {
            for v in map.values_mut() {
                *v = Value::String("++++++++".into());
            }
        }
    }
}

/// Renders the application and diffs it with the live objects (exit 1 on a difference).
pub async fn diff(ctx: &Ctx, name: &str) -> Result<(), Failure> {
    let app = ctx.app(name).await?;
    if ctx.backend.is_server() {
        return diff_through_server(ctx, &app).await;
    }
    let file = AppFile::write(&app)?;
    let mut argv = vec![
        "diff".to_string(),
        file.path.display().to_string(),
        "--app".to_string(),
        name.to_string(),
    ];
    if let Some(k) = &ctx.core.kubeconfig {
        argv.push("--kubeconfig".into());
        argv.push(k.display().to_string());
    }
    if let Some(c) = &ctx.core.context {
        argv.push("--context".into());
        argv.push(c.clone());
    }
    if ctx.output() == Some(super::Output::Json) {
        argv.push("-o".into());
        argv.push("json".into());
    }
    let args = DiffWrapper::try_parse_from(argv)
        .context("preparing the diff")?
        .diff;
    // `ferrocd diff` runs its own runtime: run it on a plain thread.
    let handle = std::thread::spawn(move || {
        let out = crate::diff::run(args);
        drop(file);
        out
    });
    tokio::task::spawn_blocking(move || handle.join())
        .await
        .context("diffing")?
        .map_err(|_| anyhow::anyhow!("the diff stopped unexpectedly"))?
}

/// `app diff` against a server: the live and target states of each managed resource
/// (`managed-resources`), compared here with the application's ignoreDifferences.
async fn diff_through_server(ctx: &Ctx, app: &Value) -> Result<(), Failure> {
    let name = text(app, "/metadata/name");
    let items = ctx.backend.managed_resources(app).await?;
    let options = ferrocd_diff::DiffOptions {
        ignore: ferrocd_diff::IgnoreRule::from_application(app)
            .with_context(|| format!("reading the ignoreDifferences of application '{name}'"))?,
        ..Default::default()
    };
    let parse = |v: Option<&Value>| -> Option<Value> {
        match v {
            Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                .ok()
                .filter(|v| !v.is_null()),
            _ => None,
        }
    };
    let mut diffs = Vec::new();
    for item in &items {
        let live = parse(item.get("liveState"));
        let mut target = parse(item.get("targetState"));
        if let Some(t) = target.as_mut() {
            // As the controller applies it: in the destination namespace, with tracking.
            let key = ferrocd_model::ResourceKey {
                group: text(item, "/group").to_string(),
                kind: text(item, "/kind").to_string(),
                namespace: text(item, "/namespace").to_string(),
                name: text(item, "/name").to_string(),
            };
            if let Some(meta) = t.get_mut("metadata").and_then(Value::as_object_mut)
                && !key.namespace.is_empty()
                && !meta.contains_key("namespace")
            {
                meta.insert("namespace".into(), Value::String(key.namespace.clone()));
            }
            ferrocd_sync::prepare::stamp(t, &key.tracking_id(name));
        }
        if live.is_none() && target.is_none() {
            continue;
        }
        let d =
            ferrocd_diff::diff(target.as_ref(), live.as_ref(), &options).with_context(|| {
                format!(
                    "comparing {}/{} {}",
                    text(item, "/kind"),
                    text(item, "/namespace"),
                    text(item, "/name")
                )
            })?;
        diffs.push(d);
    }
    let changed = diffs
        .iter()
        .any(ferrocd_diff::ObjectDiff::counts_against_app);
    if ctx.output() == Some(super::Output::Json) {
        let list: Vec<Value> = diffs
            .iter()
            .map(|d| {
                serde_json::json!({
                    "group": d.key.group, "kind": d.key.kind, "namespace": d.key.namespace,
                    "name": d.key.name, "status": format!("{:?}", d.status), "diff": d.unified(),
                })
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&serde_json::json!({
            "app": name,
            "status": if changed { "OutOfSync" } else { "Synced" },
            "resources": list,
        }))
        .context("encoding JSON")?;
        text.push('\n');
        crate::write_stdout(&text)?;
    } else {
        crate::write_stdout(&ferrocd_diff::unified_diff(&diffs))?;
    }
    if changed {
        Err(Failure::silent(1))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_masked() {
        let mut s = serde_json::json!({"kind": "Secret", "data": {"token": "c2VjcmV0"}, "stringData": {"p": "x"}});
        mask_secret(&mut s);
        assert_eq!(s["data"]["token"], "++++++++");
        assert_eq!(s["stringData"]["p"], "++++++++");
    }
}
