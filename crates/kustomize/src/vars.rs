//! `vars`: `$(NAME)` placeholders in well-known fields, filled from fields of objects after
//! all names are final.

use std::path::Path;

use serde_json::Value;

use crate::config::TransformerConfig;
use crate::error::KustomizeError;
use crate::fieldpath::{get, parse};
use crate::fieldspec::visit_specs;
use crate::kustomization::{Var, scalar_string};
use crate::resource::{Resource, split_api_version};

fn substitute(s: &str, values: &[(String, Value)]) -> Option<Value> {
    if !s.contains("$(") {
        return None;
    }
    for (name, v) in values {
        if s == format!("$({name})") {
            return Some(v.clone());
        }
    }
    let mut out = s.to_string();
    for (name, v) in values {
        out = out.replace(&format!("$({name})"), &scalar_string(v));
    }
    (out != s).then_some(Value::String(out))
}

fn walk(v: &mut Value, values: &[(String, Value)]) {
    match v {
        Value::String(s) => {
            if let Some(new) = substitute(s, values) {
                *v = new;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|e| walk(e, values)),
        Value::Object(m) => m.values_mut().for_each(|e| walk(e, values)),
        _ => {}
    }
}

/// Resolves every var and substitutes it.
pub(crate) fn resolve(
    resources: &mut [Resource],
    vars: &[Var],
    config: &TransformerConfig,
    file: &Path,
) -> Result<(), KustomizeError> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values = Vec::new();
    for var in vars {
        let o = &var.objref;
        let (g, v) = match (&o.api_version, &o.group, &o.version) {
            (Some(av), _, _) => {
                let (g, v) = split_api_version(av);
                (Some(g.to_string()), Some(v.to_string()))
            }
            (None, g, v) => (g.clone(), v.clone()),
        };
        let hits: Vec<&Resource> = resources
            .iter()
            .filter(|r| {
                o.kind.as_deref().is_none_or(|k| k == r.kind())
                    && o.name.as_deref().is_none_or(|n| r.had_name(n))
                    && g.as_deref().is_none_or(|g| g == r.group())
                    && v.as_deref()
                        .is_none_or(|v| v.is_empty() || v == r.version())
                    && o.namespace.as_deref().is_none_or(|ns| r.had_namespace(ns))
            })
            .collect();
        let res = match hits.as_slice() {
            [one] => *one,
            [] => {
                return Err(KustomizeError::Transform {
                    message: format!(
                        "var '{}' cannot be mapped to a field in the set of known resources",
                        var.name
                    ),
                    file: file.to_path_buf(),
                });
            }
            _ => {
                return Err(KustomizeError::Transform {
                    message: format!("var '{}' matches more than one resource", var.name),
                    file: file.to_path_buf(),
                });
            }
        };
        let path = var
            .fieldref
            .as_ref()
            .map_or("metadata.name", |f| f.field_path.as_str());
        let path = if path.is_empty() {
            "metadata.name"
        } else {
            path
        };
        let value =
            get(&res.obj, &parse(path))
                .cloned()
                .ok_or_else(|| KustomizeError::Transform {
                    message: format!(
                        "field specified in var '{}' ({path}) not found in {}/{}",
                        var.name,
                        res.kind(),
                        res.name()
                    ),
                    file: file.to_path_buf(),
                })?;
        values.push((var.name.clone(), value));
    }
    for res in resources.iter_mut() {
        let _ = visit_specs::<()>(res, &config.var_reference, &mut |v| {
            walk(v, &values);
            Ok(())
        });
    }
    Ok(())
}
