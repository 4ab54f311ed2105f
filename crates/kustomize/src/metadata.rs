//! `buildMetadata`: the `managedByLabel` option.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::KustomizeError;

/// The kustomize version `kubectl` v1.34 embeds, as its `managedByLabel` reports it.
pub(crate) const KUSTOMIZE_VERSION: &str = "kustomize-v5.7.1";

/// Applies `buildMetadata` options to the finished objects.
pub(crate) fn apply_build_metadata(
    objects: &mut [Value],
    options: &[String],
    file: &Path,
) -> Result<(), KustomizeError> {
    for option in options {
        match option.as_str() {
            "managedByLabel" => {
                for obj in objects.iter_mut() {
                    let Value::Object(o) = obj else { continue };
                    let meta = crate::resource::object_mut(
                        o.entry("metadata")
                            .or_insert_with(|| Value::Object(Map::new())),
                    );
                    let labels = crate::resource::object_mut(
                        meta.entry("labels")
                            .or_insert_with(|| Value::Object(Map::new())),
                    );
                    labels.insert(
                        "app.kubernetes.io/managed-by".into(),
                        Value::String(KUSTOMIZE_VERSION.into()),
                    );
                }
            }
            "originAnnotations" | "transformerAnnotations" => {
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
