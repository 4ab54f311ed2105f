//! `buildMetadata`: the `managedByLabel` and `originAnnotations` options.

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::KustomizeError;
use crate::resource::{Resource, Source, object_mut};

/// The kustomize version `kubectl` v1.34 embeds, as its `managedByLabel` reports it.
pub(crate) const KUSTOMIZE_VERSION: &str = "kustomize-v5.7.1";

/// `path` relative to `base` (both absolute), with `..` where needed.
pub(crate) fn relative(path: &Path, base: &Path) -> PathBuf {
    let p: Vec<Component> = path.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}

fn origin_text(source: &Source, root: &Path) -> String {
    match source {
        Source::File(path) => format!("path: {}\n", relative(path, root).display()),
        Source::Generated {
            kustomization,
            generator,
        } => format!(
            "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {generator}\n",
            relative(kustomization, root).display()
        ),
    }
}

fn map_at<'a>(obj: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    let meta = object_mut(
        object_mut(obj)
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new())),
    );
    object_mut(meta.entry(key).or_insert_with(|| Value::Object(Map::new())))
}

/// Applies `buildMetadata` options to the finished objects.
pub(crate) fn apply_build_metadata(
    resources: &mut [Resource],
    options: &[String],
    file: &Path,
    root: &Path,
) -> Result<(), KustomizeError> {
    for option in options {
        match option.as_str() {
            "managedByLabel" => {
                for res in resources.iter_mut() {
                    map_at(&mut res.obj, "labels").insert(
                        "app.kubernetes.io/managed-by".into(),
                        Value::String(KUSTOMIZE_VERSION.into()),
                    );
                }
            }
            "originAnnotations" => {
                for res in resources.iter_mut() {
                    if let Some(source) = res.source.clone() {
                        map_at(&mut res.obj, "annotations").insert(
                            "config.kubernetes.io/origin".into(),
                            Value::String(origin_text(&source, root)),
                        );
                    }
                }
            }
            "transformerAnnotations" => {
                return Err(KustomizeError::Unsupported {
                    feature: format!("buildMetadata {option}"),
                    file: file.to_path_buf(),
                });
            }
            other => {
                return Err(KustomizeError::Invalid {
                    path: file.to_path_buf(),
                    message: format!("buildMetadata option `{other}` is unknown"),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(Path::new("/r/a/b.yaml"), Path::new("/r")),
            PathBuf::from("a/b.yaml")
        );
        assert_eq!(
            relative(Path::new("/r/base/c.yaml"), Path::new("/r/overlays/prod")),
            PathBuf::from("../../base/c.yaml")
        );
    }
}
