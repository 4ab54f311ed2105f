//! `ferrocd app manifests` and `ferrocd app diff`: render an Application's sources the way
//! `ferrocd render` and `ferrocd diff` do, from the Application stored in the cluster.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, ValueEnum};
use ferrocd_model::ResourceKey;
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

/// Prints the live or rendered manifests of an application.
pub async fn manifests(ctx: &Ctx, args: ManifestsArgs) -> Result<(), Failure> {
    let app = ctx.app(&args.name).await?;
    let objects: Vec<Value> =
        match args.source {
            ManifestSource::Git => {
                let file = AppFile::write(&app)?;
                let path = file.path.display().to_string();
                let render = RenderWrapper::try_parse_from(["render", path.as_str()])
                    .context("preparing the render")?
                    .render;
                let rendered = tokio::task::spawn_blocking(move || {
                    let out = crate::render::render_application_file(&render);
                    drop(file);
                    out
                })
                .await
                .context("rendering")??;
                rendered.iter().map(|m| m.object.clone()).collect()
            }
            ManifestSource::Live => {
                let mut out = Vec::new();
                for r in app
                    .pointer("/status/resources")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let key = ResourceKey {
                        group: text(r, "/group").to_string(),
                        kind: text(r, "/kind").to_string(),
                        namespace: text(r, "/namespace").to_string(),
                        name: text(r, "/name").to_string(),
                    };
                    if let Some(mut obj) = ctx.cluster.get(&key).await.with_context(|| {
                        format!("reading {}/{} {}", key.group, key.kind, key.name)
                    })? {
                        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
                            meta.remove("managedFields");
                        }
                        if key.kind == "Secret" && key.group.is_empty() {
                            mask_secret(&mut obj);
                        }
                        out.push(obj);
                    }
                }
                out
            }
        };
    if ctx.print_structured(&Value::Array(objects.clone()))? {
        return Ok(());
    }
    crate::write_stdout(&ferrocd_manifest::to_yaml_documents(&objects))
}

/// Replaces Secret values with `++++++++`, as `argocd app manifests` does.
fn mask_secret(obj: &mut Value) {
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
