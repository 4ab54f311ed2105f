//! `ferrocd health FILE… [--customizations ARGOCD_CM.yaml]`: the health of every object in
//! the files, from the same checks the engine uses. An object's children (objects in the
//! files whose ownerReferences name its uid, e.g. a Deployment's Pods) are taken into
//! account, so a GPU-starved rollout reads as waiting for capacity.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ferrocd_health::{HealthCustomizations, assess_with_children};
use ferrocd_manifest::{Manifest, parse_documents, parse_yaml_value};
use serde_json::{Value, json};

use crate::Failure;
use crate::render::OutputFormat;

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// YAML/JSON files holding Kubernetes objects (live objects, with status).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// An `argocd-cm` ConfigMap whose `resource.customizations.health.<group>_<Kind>` keys
    /// hold Lua health scripts.
    #[arg(long, value_name = "ARGOCD_CM.yaml")]
    pub customizations: Option<PathBuf>,
    /// Output format: a table (default) or JSON.
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<OutputFormat>,
}

fn read(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

pub fn run(args: HealthArgs) -> Result<(), Failure> {
    let customizations = match &args.customizations {
        Some(path) => {
            let file = path.display().to_string();
            let cm = parse_yaml_value(&read(path)?, &file)?;
            HealthCustomizations::from_config_map(&cm)
                .with_context(|| format!("{file}: reading health customizations"))?
        }
        None => HealthCustomizations::default(),
    };
    let mut objects: Vec<Manifest> = Vec::new();
    for path in &args.files {
        objects.extend(parse_documents(&read(path)?, &path.display().to_string())?);
    }
    let mut children: HashMap<&str, Vec<&Value>> = HashMap::new();
    for m in &objects {
        if let Some(owners) = m
            .object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
        {
            for owner in owners {
                if let Some(uid) = owner.get("uid").and_then(Value::as_str) {
                    children.entry(uid).or_default().push(&m.object);
                }
            }
        }
    }
    let mut rows = Vec::new();
    for m in &objects {
        let uid = m
            .object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kids = if uid.is_empty() {
            Vec::new()
        } else {
            children.get(uid).cloned().unwrap_or_default()
        };
        let health = assess_with_children(&m.object, &kids, &customizations);
        rows.push((m, health));
    }
    let text = match args.output {
        Some(OutputFormat::Json) => {
            let list: Vec<Value> = rows
                .iter()
                .map(|(m, h)| {
                    json!({"kind": m.kind(), "namespace": m.namespace(), "name": m.name(),
                           "health": {"status": h.status.as_str(), "message": h.message}})
                })
                .collect();
            let mut text = serde_json::to_string_pretty(&list).context("encoding JSON")?;
            text.push('\n');
            text
        }
        _ => {
            let mut table = String::new();
            let width = |f: &dyn Fn(&Manifest) -> usize, min: usize| {
                rows.iter().map(|(m, _)| f(m)).max().unwrap_or(0).max(min)
            };
            let wk = width(&|m| m.kind().len(), 4);
            let wn = width(&|m| m.namespace().len(), 9);
            let wm = width(&|m| m.name().len(), 4);
            table.push_str(&format!(
                "{:<wk$}  {:<wn$}  {:<wm$}  {:<11}  MESSAGE\n",
                "KIND", "NAMESPACE", "NAME", "HEALTH"
            ));
            for (m, h) in &rows {
                table.push_str(&format!(
                    "{:<wk$}  {:<wn$}  {:<wm$}  {:<11}  {}\n",
                    m.kind(),
                    m.namespace(),
                    m.name(),
                    h.status.as_str(),
                    h.message
                ));
            }
            table
        }
    };
    crate::write_stdout(&text)
}
