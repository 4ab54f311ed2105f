//! The `crds` field: OpenAPI definitions of custom kinds whose properties carry
//! `x-kubernetes-object-ref-kind` (and `-api-version`) add name references.

use serde_json::Value;

use crate::config::{NameRef, TransformerConfig};
use crate::error::KustomizeError;
use crate::fieldspec::FieldSpec;
use crate::loader::Loader;
use crate::resource::split_api_version;

fn walk(
    props: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<(String, Option<String>, Vec<String>)>,
) {
    let Some(map) = props.as_object() else { return };
    for (name, schema) in map {
        path.push(name.clone());
        if let Some(kind) = schema
            .get("x-kubernetes-object-ref-kind")
            .and_then(Value::as_str)
        {
            let group = schema
                .get("x-kubernetes-object-ref-api-version")
                .and_then(Value::as_str)
                .map(|av| split_api_version(av).0.to_string());
            let mut p = path.clone();
            if schema
                .get("properties")
                .is_some_and(|p| p.get("name").is_some())
            {
                p.push("name".into());
            }
            out.push((kind.to_string(), group, p));
        }
        if let Some(inner) = schema.get("properties") {
            walk(inner, path, out);
        }
        if let Some(items) = schema.get("items").and_then(|i| i.get("properties")) {
            walk(items, path, out);
        }
        path.pop();
    }
}

/// Loads one `crds` file into the configuration.
pub(crate) fn load(
    entry: &str,
    loader: &Loader,
    config: &mut TransformerConfig,
) -> Result<(), KustomizeError> {
    let text = loader.read_string(entry)?;
    let path = loader.resolve(entry)?;
    let doc = crate::yaml::parse_one(&text, &path)?;
    let defs = doc.get("definitions").and_then(Value::as_object);
    let Some(defs) = defs else { return Ok(()) };
    for def in defs.values() {
        let Some(gvks) = def
            .get("x-kubernetes-group-version-kind")
            .and_then(Value::as_array)
        else {
            continue;
        };
        let mut refs = Vec::new();
        if let Some(props) = def.get("properties") {
            walk(props, &mut Vec::new(), &mut refs);
        }
        for gvk in gvks {
            let referrer_kind = gvk.get("kind").and_then(Value::as_str).unwrap_or("");
            let referrer_group = gvk.get("group").and_then(Value::as_str).unwrap_or("");
            for (kind, group, p) in &refs {
                let spec = FieldSpec::gk(referrer_group, referrer_kind, &p.join("/"), false);
                match config.name_reference.iter_mut().find(|n| n.kind == *kind) {
                    Some(n) => {
                        if !n.referrers.contains(&spec) {
                            n.referrers.push(spec);
                        }
                    }
                    None => config.name_reference.push(NameRef {
                        group: group.clone(),
                        kind: kind.clone(),
                        referrers: vec![spec],
                    }),
                }
            }
        }
    }
    Ok(())
}
