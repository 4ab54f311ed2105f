//! The field transformers of a kustomization: labels, annotations, namespace, name prefix
//! and suffix, images and replicas.

use serde_json::{Map, Value};

use crate::config::TransformerConfig;
use crate::fieldspec::{FieldSpec, visit_specs};
use crate::kustomization::{Image, Label, Replica, StringMap};
use crate::resource::Resource;

/// Adds `pairs` to the maps at `specs` in every resource.
pub(crate) fn add_map_entries(resources: &mut [Resource], specs: &[FieldSpec], pairs: &StringMap) {
    if pairs.is_empty() {
        return;
    }
    for res in resources {
        let _ = visit_specs::<()>(res, specs, &mut |v| {
            if v.is_null() {
                *v = Value::Object(Map::new());
            }
            if let Value::Object(m) = v {
                for (k, val) in pairs {
                    m.insert(k.clone(), Value::String(val.clone()));
                }
            }
            Ok(())
        });
    }
}

/// Applies one `labels` entry (or `commonLabels`, which is `includeSelectors: true`).
pub(crate) fn apply_labels(resources: &mut [Resource], config: &TransformerConfig, label: &Label) {
    let mut specs: Vec<FieldSpec> = if label.include_selectors {
        config.common_labels.clone()
    } else {
        let mut s = vec![FieldSpec::any("metadata/labels", true)];
        if label.include_templates {
            s.extend(config.template_labels.iter().cloned());
        }
        s
    };
    specs.extend(label.fields.iter().map(FieldSpec::from_entry));
    add_map_entries(resources, &specs, &label.pairs);
}

/// Kinds a name prefix or suffix never changes.
fn keeps_name(res: &Resource) -> bool {
    matches!(
        (res.group(), res.kind()),
        ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("apiregistration.k8s.io", "APIService")
            | ("", "Namespace")
    )
}

/// Adds a name prefix and suffix.
pub(crate) fn apply_prefix_suffix(
    resources: &mut [Resource],
    config: &TransformerConfig,
    prefix: &str,
    suffix: &str,
) {
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for res in resources.iter_mut() {
        if keeps_name(res) {
            continue;
        }
        let applies_prefix =
            !prefix.is_empty() && config.name_prefix.iter().any(|s| s.applies_to(res));
        let applies_suffix =
            !suffix.is_empty() && config.name_suffix.iter().any(|s| s.applies_to(res));
        if !applies_prefix && !applies_suffix {
            continue;
        }
        let mut name = res.name().to_string();
        if applies_prefix {
            name = format!("{prefix}{name}");
            res.prefixes.push(prefix.to_string());
        }
        if applies_suffix {
            name.push_str(suffix);
            res.suffixes.push(suffix.to_string());
        }
        res.set_name(&name);
    }
}

/// Sets the namespace of every namespaced object (and the name of Namespace objects), the
/// namespace fields of the configuration, and the namespace of role binding subjects that
/// name a ServiceAccount being moved.
pub(crate) fn apply_namespace(
    resources: &mut [Resource],
    config: &TransformerConfig,
    namespace: &str,
) {
    let norm = |s: &str| {
        if s.is_empty() {
            "default".to_string()
        } else {
            s.to_string()
        }
    };
    let accounts: Vec<(String, String)> = resources
        .iter()
        .filter(|r| r.group().is_empty() && r.kind() == "ServiceAccount")
        .map(|r| (r.name().to_string(), norm(r.namespace())))
        .collect();
    for res in resources.iter_mut() {
        if res.is_namespaced() {
            res.set_namespace(namespace);
        } else if res.group().is_empty() && res.kind() == "Namespace" {
            res.set_name(namespace);
        }
        for spec in &config.namespace {
            if spec.path == ["metadata", "namespace"] || !spec.applies_to(res) {
                continue;
            }
            let _ =
                crate::fieldspec::visit::<()>(&mut res.obj, &spec.path, spec.create, &mut |v| {
                    *v = Value::String(namespace.to_string());
                    Ok(())
                });
        }
        if res.group() == "rbac.authorization.k8s.io"
            && matches!(res.kind(), "RoleBinding" | "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = res.obj.get_mut("subjects")
        {
            for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
                if s.get("kind").and_then(Value::as_str) != Some("ServiceAccount") {
                    continue;
                }
                let name = s.get("name").and_then(Value::as_str).unwrap_or("");
                let ns = norm(s.get("namespace").and_then(Value::as_str).unwrap_or(""));
                if accounts.iter().any(|(n, a)| n == name && *a == ns) {
                    s.insert("namespace".into(), Value::String(namespace.to_string()));
                }
            }
        }
    }
}

/// A parsed image reference: name, tag, digest.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ImageRef<'a> {
    pub name: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// Splits `registry:5000/repo/name:tag@sha256:...` into its parts.
pub(crate) fn parse_image(image: &str) -> ImageRef<'_> {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    ImageRef { name, tag, digest }
}

fn rewrite_image(current: &str, images: &[Image]) -> Option<String> {
    let parsed = parse_image(current);
    let image = images.iter().find(|i| i.name == parsed.name)?;
    let name = image.new_name.as_deref().unwrap_or(parsed.name);
    let mut out = name.to_string();
    if let Some(d) = image.digest.as_deref().filter(|d| !d.is_empty()) {
        out.push('@');
        out.push_str(d);
        return Some(out);
    }
    let tag = match image.new_tag.as_deref() {
        Some(t) => Some(t.to_string()),
        None => parsed.tag.map(str::to_string),
    };
    let tag = match (&tag, image.tag_suffix.as_deref()) {
        (Some(t), Some(s)) => Some(format!("{t}{s}")),
        (None, Some(s)) => Some(s.to_string()),
        _ => tag,
    };
    if let Some(t) = tag {
        out.push(':');
        out.push_str(&t);
    }
    if image.new_tag.is_none()
        && image.tag_suffix.is_none()
        && let Some(d) = parsed.digest
    {
        out.push('@');
        out.push_str(d);
    }
    Some(out)
}

/// Rewrites container images.
pub(crate) fn apply_images(
    resources: &mut [Resource],
    config: &TransformerConfig,
    images: &[Image],
) {
    if images.is_empty() {
        return;
    }
    for res in resources {
        let _ = visit_specs::<()>(res, &config.images, &mut |v| {
            if let Some(new) = v.as_str().and_then(|s| rewrite_image(s, images)) {
                *v = Value::String(new);
            }
            Ok(())
        });
        rewrite_containers(&mut res.obj, images);
    }
}

/// Rewrites the images of every `containers`/`initContainers` list, wherever it is.
fn rewrite_containers(v: &mut Value, images: &[Image]) {
    match v {
        Value::Object(m) => {
            for (k, child) in m.iter_mut() {
                if (k == "containers" || k == "initContainers")
                    && let Value::Array(list) = child
                {
                    for c in list.iter_mut() {
                        if let Some(img) = c.get_mut("image")
                            && let Some(new) = img.as_str().and_then(|s| rewrite_image(s, images))
                        {
                            *img = Value::String(new);
                        }
                    }
                }
                rewrite_containers(child, images);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|e| rewrite_containers(e, images)),
        _ => {}
    }
}

/// Sets replica counts of the named workloads.
pub(crate) fn apply_replicas(
    resources: &mut [Resource],
    config: &TransformerConfig,
    replicas: &[Replica],
) {
    for r in replicas {
        for res in resources.iter_mut() {
            if !res.had_name(&r.name) {
                continue;
            }
            let _ = visit_specs::<()>(res, &config.replicas, &mut |v| {
                *v = Value::from(r.count);
                Ok(())
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_parse() {
        assert_eq!(
            parse_image("registry.local:5000/ml/mlflow:2.9.2"),
            ImageRef {
                name: "registry.local:5000/ml/mlflow",
                tag: Some("2.9.2"),
                digest: None
            }
        );
        assert_eq!(
            parse_image("triton@sha256:abc"),
            ImageRef {
                name: "triton",
                tag: None,
                digest: Some("sha256:abc")
            }
        );
        assert_eq!(parse_image("registry.local:5000/x").tag, None);
    }

    #[test]
    fn images_rewrite_name_tag_digest() {
        let img =
            |name: &str, new_name: Option<&str>, tag: Option<&str>, digest: Option<&str>| Image {
                name: name.into(),
                new_name: new_name.map(Into::into),
                new_tag: tag.map(Into::into),
                digest: digest.map(Into::into),
                tag_suffix: None,
            };
        assert_eq!(
            rewrite_image("mlflow:2.8", &[img("mlflow", None, Some("2.9"), None)]).as_deref(),
            Some("mlflow:2.9")
        );
        assert_eq!(
            rewrite_image(
                "mlflow:2.8",
                &[img("mlflow", Some("reg/mlflow"), None, None)]
            )
            .as_deref(),
            Some("reg/mlflow:2.8")
        );
        assert_eq!(
            rewrite_image(
                "mlflow:2.8",
                &[img("mlflow", None, None, Some("sha256:00"))]
            )
            .as_deref(),
            Some("mlflow@sha256:00")
        );
        assert_eq!(
            rewrite_image("other:1", &[img("mlflow", None, Some("2"), None)]),
            None
        );
    }
}
