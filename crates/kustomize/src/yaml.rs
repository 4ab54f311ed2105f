//! YAML in and out. Kept in one place so the parser can be swapped for
//! `ferrocd-manifest` without touching the rest of the crate.

use std::path::Path;

use serde_json::Value;

use crate::error::KustomizeError;

fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    options
}

fn parse_error(path: &Path, err: impl std::fmt::Display) -> KustomizeError {
    KustomizeError::Parse {
        path: path.to_path_buf(),
        message: err.to_string(),
    }
}

/// Parses one YAML document (the empty document is `null`).
pub(crate) fn parse_one(text: &str, path: &Path) -> Result<Value, KustomizeError> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| parse_error(path, e))
}

/// Parses a stream of YAML documents into objects, expanding `List` kinds and skipping
/// empty documents.
pub(crate) fn parse_objects(text: &str, path: &Path) -> Result<Vec<Value>, KustomizeError> {
    let docs: Vec<Value> = if text.trim_start().starts_with(['{', '[']) {
        vec![serde_json::from_str(text).map_err(|e| parse_error(path, e))?]
    } else {
        serde_saphyr::from_multiple_with_options(text, options())
            .map_err(|e| parse_error(path, e))?
    };
    let mut out = Vec::new();
    for doc in docs {
        push_object(doc, path, &mut out)?;
    }
    Ok(out)
}

fn push_object(doc: Value, path: &Path, out: &mut Vec<Value>) -> Result<(), KustomizeError> {
    match doc {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                push_object(item, path, out)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let is_list = map
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List"))
                && map.get("items").is_some_and(Value::is_array);
            if is_list {
                if let Some(Value::Array(items)) = map.get("items") {
                    for item in items.clone() {
                        push_object(item, path, out)?;
                    }
                }
                return Ok(());
            }
            if map.is_empty() {
                return Ok(());
            }
            if !map.get("kind").is_some_and(Value::is_string) {
                return Err(parse_error(path, "missing kind in object"));
            }
            out.push(Value::Object(map));
            Ok(())
        }
        other => Err(parse_error(
            path,
            format!("expected a YAML map, got `{other}`"),
        )),
    }
}

/// Parses a stream of YAML documents without interpreting them.
pub(crate) fn parse_one_or_many(text: &str, path: &Path) -> Result<Vec<Value>, KustomizeError> {
    if text.trim_start().starts_with(['{', '[']) {
        return Ok(vec![
            serde_json::from_str(text).map_err(|e| parse_error(path, e))?,
        ]);
    }
    serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| parse_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_expanded_and_empty_documents_skipped() {
        let text = "---\n# nothing\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n";
        let objs = parse_objects(text, Path::new("x.yaml")).unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0]["kind"], "ConfigMap");
        assert_eq!(objs[1]["metadata"]["name"], "b");
    }

    #[test]
    fn scalars_are_rejected_with_the_file_name() {
        let err = parse_objects("just text\n", Path::new("bad.yaml")).unwrap_err();
        assert!(err.to_string().contains("bad.yaml"), "{err}");
    }
}
