//! The `crds` field: Go-OpenAPI type definitions (`{"<pkg>.<Kind>": {"Schema": {...}}}`)
//! whose properties carry `x-kubernetes-object-ref-kind` add name references: the
//! property's `name` field names an object of that kind. `$ref`s to other definitions in
//! the same file are followed.

use serde_json::{Map, Value};

use crate::config::{NameRef, TransformerConfig};
use crate::error::KustomizeError;
use crate::fieldspec::FieldSpec;
use crate::loader::Loader;

/// How deep `$ref` chains are followed (definitions may refer to each other in cycles).
const MAX_DEPTH: usize = 16;

fn properties<'a>(defs: &'a Map<String, Value>, type_name: &str) -> Option<&'a Map<String, Value>> {
    defs.get(type_name)?
        .get("Schema")?
        .get("properties")?
        .as_object()
}

fn walk(
    defs: &Map<String, Value>,
    props: &Map<String, Value>,
    path: &mut Vec<String>,
    depth: usize,
    out: &mut Vec<(String, Vec<String>)>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    for (name, schema) in props {
        path.push(name.clone());
        if let Some(kind) = schema
            .get("x-kubernetes-object-ref-kind")
            .and_then(Value::as_str)
        {
            let mut p = path.clone();
            p.push("name".into());
            out.push((kind.to_string(), p));
        } else if let Some(inner) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| properties(defs, r))
        {
            walk(defs, inner, path, depth + 1, out);
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
    let Some(defs) = doc.as_object() else {
        return Ok(());
    };
    for (type_name, _) in defs {
        let Some(props) = properties(defs, type_name) else {
            continue;
        };
        let referrer_kind = type_name.rsplit('.').next().unwrap_or(type_name);
        let mut refs = Vec::new();
        walk(defs, props, &mut Vec::new(), 0, &mut refs);
        for (kind, p) in refs {
            let spec = FieldSpec::kind(referrer_kind, &p.join("/"), false);
            match config.name_reference.iter_mut().find(|n| n.kind == kind) {
                Some(n) => {
                    if !n.referrers.contains(&spec) {
                        n.referrers.push(spec);
                    }
                }
                None => config.name_reference.push(NameRef {
                    group: None,
                    kind,
                    referrers: vec![spec],
                }),
            }
        }
    }
    Ok(())
}
