//! Patches: strategic merge patches (with `$patch` directives) and JSON 6902 patches,
//! applied to explicit targets or to the object the patch names.

use std::path::Path;

use ferrocd_schema::strategic_merge::{MergeOptions, merge_with};
use serde_json::Value;

use crate::error::KustomizeError;
use crate::kustomization::{PatchOptions, Selector};
use crate::resource::{Resource, split_api_version};
use crate::selector::Compiled;

/// A patch's body.
#[derive(Debug, Clone)]
pub(crate) enum PatchBody {
    /// A strategic merge patch (a partial object).
    Strategic(Value),
    /// A JSON 6902 operation list.
    Json6902(Value),
}

/// Reads patch text: a JSON 6902 list or one or more strategic merge patch documents.
pub(crate) fn parse_patch_text(text: &str, path: &Path) -> Result<Vec<PatchBody>, KustomizeError> {
    let first = crate::yaml::parse_one_or_many(text, path)?;
    let mut out = Vec::new();
    for doc in first {
        match doc {
            Value::Null => {}
            Value::Array(_) => out.push(PatchBody::Json6902(doc)),
            Value::Object(_) => out.push(PatchBody::Strategic(doc)),
            other => {
                return Err(KustomizeError::Parse {
                    path: path.to_path_buf(),
                    message: format!("a patch must be a map or a list, got `{other}`"),
                });
            }
        }
    }
    Ok(out)
}

fn describe(res: &Resource) -> String {
    format!("{}/{}", res.kind(), res.name())
}

fn smp_options() -> MergeOptions {
    MergeOptions::kustomize()
}

/// Applies a strategic merge patch to one resource. Returns `false` when the patch deletes
/// the resource.
pub(crate) fn apply_strategic(
    res: &mut Resource,
    patch: &Value,
    options: &PatchOptions,
    file: &Path,
) -> Result<bool, KustomizeError> {
    let mut patch = patch.clone();
    if let Value::Object(p) = &mut patch {
        if !options.allow_kind_change && p.contains_key("kind") {
            p.insert("kind".into(), Value::String(res.kind().to_string()));
        }
        if !options.allow_name_change
            && let Some(Value::Object(meta)) = p.get_mut("metadata")
            && meta.contains_key("name")
        {
            meta.insert("name".into(), Value::String(res.name().to_string()));
        }
    }
    let before = res.clone();
    let merged =
        merge_with(&res.obj, &patch, res.group(), res.kind(), &smp_options()).map_err(|e| {
            KustomizeError::Patch {
                target: describe(res),
                message: e.to_string(),
                file: file.to_path_buf(),
            }
        })?;
    if merged.is_null() {
        return Ok(false);
    }
    res.obj = merged;
    res.record_change_from(&before);
    Ok(true)
}

/// Applies a JSON 6902 patch to one resource.
pub(crate) fn apply_json6902(
    res: &mut Resource,
    ops: &Value,
    options: &PatchOptions,
    file: &Path,
) -> Result<(), KustomizeError> {
    let err = |message: String, res: &Resource| KustomizeError::Patch {
        target: describe(res),
        message,
        file: file.to_path_buf(),
    };
    let patch: json_patch::Patch = serde_json::from_value(ops.clone())
        .map_err(|e| err(format!("invalid JSON 6902 patch: {e}"), res))?;
    let before = res.clone();
    json_patch::patch(&mut res.obj, &patch).map_err(|e| err(e.to_string(), &before))?;
    if (!options.allow_name_change && before.name() != res.name())
        || (!options.allow_kind_change && before.kind() != res.kind())
    {
        // Kustomize keeps identity fields unless the options allow changing them.
        if before.name() != res.name() && !options.allow_name_change {
            let name = before.name().to_string();
            res.metadata_mut()
                .insert("name".into(), Value::String(name));
        }
        if before.kind() != res.kind()
            && !options.allow_kind_change
            && let Value::Object(o) = &mut res.obj
        {
            o.insert("kind".into(), Value::String(before.kind().to_string()));
        }
    }
    res.record_change_from(&before);
    Ok(())
}

/// Indices of resources a strategic merge patch without target names.
pub(crate) fn find_named(resources: &[Resource], patch: &Value) -> Vec<usize> {
    let kind = patch.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = patch
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (group, version) = split_api_version(api_version);
    let meta = patch.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str);
    let find = |use_ns: bool| -> Vec<usize> {
        resources
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                (r.kind() == kind || r.prev_kinds.iter().any(|k| k == kind))
                    && (api_version.is_empty()
                        || (r.group() == group && (version.is_empty() || r.version() == version)))
                    && r.had_name(name)
                    && (!use_ns || !r.is_namespaced() || r.had_namespace(namespace.unwrap_or("")))
            })
            .map(|(i, _)| i)
            .collect()
    };
    let strict = find(true);
    if strict.is_empty() && namespace.is_none() {
        let loose = find(false);
        if loose.len() == 1 {
            return loose;
        }
    }
    strict
}

/// Indices of resources a selector picks.
pub(crate) fn select(
    resources: &[Resource],
    selector: &Selector,
    file: &Path,
) -> Result<Vec<usize>, KustomizeError> {
    let compiled = Compiled::new(selector).map_err(|message| KustomizeError::Transform {
        message,
        file: file.to_path_buf(),
    })?;
    Ok(resources
        .iter()
        .enumerate()
        .filter(|(_, r)| compiled.matches(r))
        .map(|(i, _)| i)
        .collect())
}

/// Describes a patch target for error messages.
pub(crate) fn describe_patch(patch: &Value) -> String {
    let kind = patch.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = patch
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    format!("{kind}/{name}")
}
