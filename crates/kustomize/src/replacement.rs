//! `replacements`: copy a field of one object into fields of others.

use serde::Deserialize;
use serde_json::Value;

use crate::error::KustomizeError;
use crate::fieldpath::{get, parse, visit_mut};
use crate::kustomization::{ReplacementEntry, Selector, scalar_string};
use crate::loader::Loader;
use crate::resource::Resource;
use crate::selector::Compiled;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Replacement {
    source: Source,
    targets: Vec<Target>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Source {
    group: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    field_path: Option<String>,
    options: Options,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Options {
    delimiter: Option<String>,
    index: i64,
    create: bool,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Target {
    select: Option<Selector>,
    reject: Vec<Selector>,
    field_paths: Vec<String>,
    options: Options,
}

fn err(loader: &Loader, message: String) -> KustomizeError {
    KustomizeError::Transform {
        message,
        file: loader.file.clone(),
    }
}

fn load(entry: &ReplacementEntry, loader: &Loader) -> Result<Vec<Replacement>, KustomizeError> {
    let values: Vec<Value> = match &entry.path {
        Some(path) => {
            let text = loader.read_string(path)?;
            let resolved = loader.resolve(path)?;
            crate::yaml::parse_one_or_many(&text, &resolved)?
                .into_iter()
                .flat_map(|v| match v {
                    Value::Array(a) => a,
                    Value::Null => Vec::new(),
                    v => vec![v],
                })
                .collect()
        }
        None => {
            let mut m = serde_json::Map::new();
            if let Some(s) = &entry.source {
                m.insert("source".into(), s.clone());
            }
            if let Some(t) = &entry.targets {
                m.insert("targets".into(), t.clone());
            }
            vec![Value::Object(m)]
        }
    };
    values
        .into_iter()
        .map(|v| {
            serde_json::from_value(v).map_err(|e| err(loader, format!("invalid replacement: {e}")))
        })
        .collect()
}

fn exact(s: &Option<String>, actual: &str) -> bool {
    s.as_deref().is_none_or(|s| s.is_empty() || s == actual)
}

/// Applies one `replacements` entry.
pub(crate) fn apply(
    entry: &ReplacementEntry,
    loader: &Loader,
    resources: &mut [Resource],
) -> Result<(), KustomizeError> {
    for r in load(entry, loader)? {
        let s = &r.source;
        let sources: Vec<&Resource> = resources
            .iter()
            .filter(|res| {
                exact(&s.group, res.group())
                    && exact(&s.version, res.version())
                    && exact(&s.kind, res.kind())
                    && (s.name.as_deref().is_none_or(|n| res.had_name(n)))
                    && exact(&s.namespace, res.namespace())
            })
            .collect();
        let source = match sources.as_slice() {
            [one] => *one,
            [] => {
                return Err(err(
                    loader,
                    format!("nothing selected by replacement source {}", describe(s)),
                ));
            }
            _ => {
                return Err(err(
                    loader,
                    format!("multiple matches for replacement source {}", describe(s)),
                ));
            }
        };
        let path = s.field_path.as_deref().unwrap_or("metadata.name");
        let mut value = get(&source.obj, &parse(path)).cloned().ok_or_else(|| {
            err(
                loader,
                format!(
                    "fieldPath `{path}` is missing for replacement source {}",
                    describe(s)
                ),
            )
        })?;
        if let Some(d) = s.options.delimiter.as_deref().filter(|d| !d.is_empty()) {
            let text = scalar_string(&value);
            let parts: Vec<&str> = text.split(d).collect();
            let i = s.options.index;
            if i < 0 || i as usize >= parts.len() {
                return Err(err(
                    loader,
                    format!("options.index {i} is out of bounds for value {text}"),
                ));
            }
            value = Value::String(parts[i as usize].to_string());
        }
        for t in &r.targets {
            let Some(select) = &t.select else {
                return Err(err(loader, "replacement target has no select".into()));
            };
            let sel = Compiled::new(select).map_err(|m| err(loader, m))?;
            let rejects = t
                .reject
                .iter()
                .map(Compiled::new)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| err(loader, m))?;
            for res in resources.iter_mut() {
                if !sel.matches(res) || rejects.iter().any(|rj| rj.matches(res)) {
                    continue;
                }
                for fp in &t.field_paths {
                    let steps = parse(fp);
                    let mut set = |v: &mut Value| match t
                        .options
                        .delimiter
                        .as_deref()
                        .filter(|d| !d.is_empty())
                    {
                        Some(d) => {
                            let cur = scalar_string(v);
                            let mut parts: Vec<String> = cur.split(d).map(str::to_string).collect();
                            let i = t.options.index;
                            let new = scalar_string(&value);
                            if i < 0 {
                                parts.insert(0, new);
                            } else if i as usize >= parts.len() {
                                parts.push(new);
                            } else {
                                parts[i as usize] = new;
                            }
                            *v = Value::String(parts.join(d));
                        }
                        None => *v = value.clone(),
                    };
                    let n = visit_mut(&mut res.obj, &steps, t.options.create, &mut set);
                    if n == 0 && !t.options.create {
                        return Err(err(
                            loader,
                            format!(
                                "unable to find field \"{fp}\" in replacement target {}/{}",
                                res.kind(),
                                res.name()
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn describe(s: &Source) -> String {
    format!(
        "{}/{}",
        s.kind.as_deref().unwrap_or(""),
        s.name.as_deref().unwrap_or("")
    )
}
