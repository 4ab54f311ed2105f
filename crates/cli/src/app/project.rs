//! `ferrocd proj create|list|get|add-destination|add-source`.

use anyhow::{Context, anyhow};
use clap::Subcommand;
use serde_json::{Value, json};

use super::table::Table;
use super::{Ctx, text};
use crate::Failure;

/// The verbs of `ferrocd proj`.
#[derive(Debug, Subcommand)]
pub enum ProjCommand {
    /// Create a project.
    Create {
        /// Project name.
        name: String,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        /// A permitted source repository URL (repeatable; `*` for any).
        #[arg(long = "src", value_name = "URL")]
        src: Vec<String>,
        /// A permitted destination `SERVER,NAMESPACE` (repeatable).
        #[arg(long = "dest", value_name = "SERVER,NAMESPACE")]
        dest: Vec<String>,
        /// Update the project when it exists.
        #[arg(long)]
        upsert: bool,
    },
    /// List projects.
    List,
    /// Show a project.
    Get {
        /// Project name.
        name: String,
    },
    /// Permit a destination.
    AddDestination {
        /// Project name.
        name: String,
        /// Cluster URL (or name with --name).
        #[arg(value_name = "SERVER")]
        dest_server: String,
        /// Namespace (glob).
        #[arg(value_name = "NAMESPACE")]
        dest_namespace: String,
        /// SERVER is a cluster name, not a URL.
        #[arg(long = "name")]
        by_name: bool,
    },
    /// Permit a source repository.
    AddSource {
        /// Project name.
        name: String,
        /// Repository URL (glob).
        url: String,
    },
}

/// Parses `SERVER,NAMESPACE`.
pub fn parse_destination(value: &str) -> Result<Value, Failure> {
    match value.split_once(',') {
        Some((server, ns)) if !server.trim().is_empty() && !ns.trim().is_empty() => {
            Ok(json!({"server": server.trim(), "namespace": ns.trim()}))
        }
        _ => Err(anyhow!("--dest {value}: expected SERVER,NAMESPACE").into()),
    }
}

fn list_of(project: &Value, pointer: &str) -> Vec<Value> {
    project
        .pointer(pointer)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Runs one `ferrocd proj` verb.
pub async fn run(ctx: Ctx, command: ProjCommand) -> Result<(), Failure> {
    match command {
        ProjCommand::Create {
            name,
            description,
            src,
            dest,
            upsert,
        } => {
            let destinations = dest
                .iter()
                .map(|d| parse_destination(d))
                .collect::<Result<Vec<_>, _>>()?;
            let mut spec = json!({"sourceRepos": src, "destinations": destinations});
            if let Some(d) = description {
                spec["description"] = json!(d);
            }
            let project = json!({
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AppProject",
                "metadata": {"name": name, "namespace": ctx.ns()},
                "spec": spec,
            });
            serde_json::from_value::<ferrocd_model::AppProject>(project.clone())
                .with_context(|| format!("project '{name}' is not valid"))?;
            let exists = ctx.backend.project_opt(&name).await?.is_some();
            if exists && !upsert {
                return Err(anyhow!(
                    "project '{name}' already exists; use --upsert to replace its spec, or `ferrocd proj add-source|add-destination`"
                )
                .into());
            }
            ctx.backend.write_project(&project, exists).await?;
            crate::write_stdout(&format!(
                "project '{name}' {}\n",
                if exists { "updated" } else { "created" }
            ))
        }
        ProjCommand::List => {
            let mut projects = ctx.backend.list_projects().await?;
            projects.sort_by(|a, b| text(a, "/metadata/name").cmp(text(b, "/metadata/name")));
            if ctx.print_structured(&Value::Array(projects.clone()))? {
                return Ok(());
            }
            let wide = ctx.wide();
            let mut header = vec!["NAME", "DESCRIPTION", "DESTINATIONS", "SOURCES"];
            if wide {
                header.extend([
                    "CLUSTER-RESOURCE-WHITELIST",
                    "NAMESPACE-RESOURCE-BLACKLIST",
                    "ROLES",
                ]);
            }
            let mut table = Table::new(&header);
            for p in &projects {
                // Wide lists every entry instead of a count.
                let list = |items: Vec<String>| {
                    if wide && !items.is_empty() {
                        items.join(",")
                    } else {
                        summarize(&items)
                    }
                };
                let kinds = |pointer: &str| {
                    list(
                        list_of(p, pointer)
                            .iter()
                            .map(|k| format!("{}/{}", text(k, "/group"), text(k, "/kind")))
                            .collect(),
                    )
                };
                table.row(vec![
                    text(p, "/metadata/name").to_string(),
                    text(p, "/spec/description").to_string(),
                    list(destinations_text(p)),
                    list(sources_text(p)),
                    kinds("/spec/clusterResourceWhitelist"),
                    kinds("/spec/namespaceResourceBlacklist"),
                    list(
                        list_of(p, "/spec/roles")
                            .iter()
                            .map(|r| text(r, "/name").to_string())
                            .collect(),
                    ),
                ]);
            }
            crate::write_stdout(&table.render())
        }
        ProjCommand::Get { name } => {
            let p = ctx.project(&name).await?;
            if ctx.print_structured(&p)? {
                return Ok(());
            }
            let mut out = String::new();
            out.push_str(&format!("{:<26}{name}\n", "Name:"));
            out.push_str(&format!(
                "{:<26}{}\n",
                "Description:",
                text(&p, "/spec/description")
            ));
            out.push_str(&format!(
                "{:<26}{}\n",
                "Destinations:",
                none_if_empty(&destinations_text(&p).join("\n                          "))
            ));
            out.push_str(&format!(
                "{:<26}{}\n",
                "Repositories:",
                none_if_empty(&sources_text(&p).join("\n                          "))
            ));
            crate::write_stdout(&out)
        }
        ProjCommand::AddDestination {
            name,
            dest_server: server,
            dest_namespace: namespace,
            by_name,
        } => {
            let p = ctx.project(&name).await?;
            let mut dests = list_of(&p, "/spec/destinations");
            let entry = if by_name {
                json!({"name": server, "namespace": namespace})
            } else {
                json!({"server": server, "namespace": namespace})
            };
            if dests.contains(&entry) {
                return crate::write_stdout(&format!(
                    "project '{name}' already permits {server},{namespace}\n"
                ));
            }
            dests.push(entry);
            let mut desired = p.clone();
            if !desired["spec"].is_object() {
                desired["spec"] = json!({});
            }
            desired["spec"]["destinations"] = json!(dests);
            ctx.backend.update_project(&p, &desired).await?;
            crate::write_stdout(&format!(
                "project '{name}' now permits {server},{namespace}\n"
            ))
        }
        ProjCommand::AddSource { name, url } => {
            let p = ctx.project(&name).await?;
            let mut repos = list_of(&p, "/spec/sourceRepos");
            if repos.contains(&json!(url)) {
                return crate::write_stdout(&format!("project '{name}' already permits {url}\n"));
            }
            repos.push(json!(url));
            let mut desired = p.clone();
            if !desired["spec"].is_object() {
                desired["spec"] = json!({});
            }
            desired["spec"]["sourceRepos"] = json!(repos);
            ctx.backend.update_project(&p, &desired).await?;
            crate::write_stdout(&format!("project '{name}' now permits {url}\n"))
        }
    }
}

fn destinations_text(p: &Value) -> Vec<String> {
    list_of(p, "/spec/destinations")
        .iter()
        .map(|d| {
            let server = match text(d, "/server") {
                "" => text(d, "/name"),
                s => s,
            };
            format!("{server},{}", text(d, "/namespace"))
        })
        .collect()
}

fn sources_text(p: &Value) -> Vec<String> {
    list_of(p, "/spec/sourceRepos")
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

fn summarize(items: &[String]) -> String {
    match items.len() {
        0 => "<none>".to_string(),
        1 => items[0].clone(),
        n => format!("{n} entries"),
    }
}

fn none_if_empty(s: &str) -> String {
    if s.is_empty() {
        "<none>".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse() {
        assert_eq!(
            parse_destination("https://kubernetes.default.svc,airflow").ok(),
            Some(json!({"server": "https://kubernetes.default.svc", "namespace": "airflow"}))
        );
        assert!(parse_destination("https://kubernetes.default.svc").is_err());
        assert!(parse_destination(",ns").is_err());
    }

    #[test]
    fn summaries() {
        assert_eq!(summarize(&[]), "<none>");
        assert_eq!(summarize(&["a".into(), "b".into()]), "2 entries");
    }
}
