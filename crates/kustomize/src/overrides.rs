//! Argo CD's per-Application kustomize options, applied as an in-memory edit of the root
//! kustomization (what `kustomize edit set/add ...` would write before the build).

use crate::kustomization::{Image, Kustomization, Label, Patch, Replica};

/// The `spec.source.kustomize` options of an Argo CD Application.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppOverrides {
    /// `namePrefix`: replaces the kustomization's prefix.
    pub name_prefix: Option<String>,
    /// `nameSuffix`: replaces the kustomization's suffix.
    pub name_suffix: Option<String>,
    /// `images`, in Argo CD's syntax: `[old=]name[:tag][@digest]`.
    pub images: Vec<String>,
    /// `commonLabels`.
    pub common_labels: Vec<(String, String)>,
    /// `commonAnnotations`.
    pub common_annotations: Vec<(String, String)>,
    /// `forceCommonLabels`: overwrite labels the kustomization already sets.
    pub force_common_labels: bool,
    /// `forceCommonAnnotations`: overwrite annotations the kustomization already sets.
    pub force_common_annotations: bool,
    /// `labelWithoutSelector`: add labels to metadata only (not selectors).
    pub label_without_selector: bool,
    /// `labelIncludeTemplates`: with `labelWithoutSelector`, also label pod templates.
    pub label_include_templates: bool,
    /// `namespace`.
    pub namespace: Option<String>,
    /// `replicas`.
    pub replicas: Vec<Replica>,
    /// `patches`, appended to the kustomization's.
    pub patches: Vec<Patch>,
    /// `components`, appended to the kustomization's.
    pub components: Vec<String>,
}

/// Parses an Argo CD image override: `[old=]name[:tag][@digest]`.
pub fn parse_argo_image(spec: &str) -> Image {
    let (old, new) = match spec.split_once('=') {
        Some((o, n)) => (Some(o), n),
        None => (None, spec),
    };
    let parsed = crate::transform::parse_image(new);
    let name = old.map_or_else(
        || parsed.name.to_string(),
        |o| crate::transform::parse_image(o).name.to_string(),
    );
    Image {
        new_name: (old.is_some() && parsed.name != name).then(|| parsed.name.to_string()),
        new_tag: parsed.tag.map(str::to_string),
        digest: parsed.digest.map(str::to_string),
        tag_suffix: None,
        name,
    }
}

fn upsert(list: &mut Vec<(String, String)>, key: &str, value: &str, force: bool) {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some(entry) if force => entry.1 = value.to_string(),
        Some(_) => {}
        None => list.push((key.to_string(), value.to_string())),
    }
}

impl AppOverrides {
    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Edits `kust` the way Argo CD does before building.
    pub(crate) fn apply_to(&self, kust: &mut Kustomization) {
        if let Some(p) = &self.name_prefix {
            kust.name_prefix = Some(p.clone());
        }
        if let Some(s) = &self.name_suffix {
            kust.name_suffix = Some(s.clone());
        }
        for spec in &self.images {
            let image = parse_argo_image(spec);
            kust.images.retain(|i| i.name != image.name);
            kust.images.push(image);
        }
        if !self.common_labels.is_empty() {
            if self.label_without_selector {
                let mut label = Label {
                    include_templates: self.label_include_templates,
                    ..Label::default()
                };
                for (k, v) in &self.common_labels {
                    upsert(&mut label.pairs, k, v, true);
                }
                kust.labels.push(label);
            } else {
                for (k, v) in &self.common_labels {
                    upsert(&mut kust.common_labels, k, v, self.force_common_labels);
                }
            }
        }
        for (k, v) in &self.common_annotations {
            upsert(
                &mut kust.common_annotations,
                k,
                v,
                self.force_common_annotations,
            );
        }
        if let Some(ns) = &self.namespace {
            kust.namespace = Some(ns.clone());
        }
        for r in &self.replicas {
            kust.replicas.retain(|x| x.name != r.name);
            kust.replicas.push(r.clone());
        }
        kust.patches.extend(self.patches.iter().cloned());
        for c in &self.components {
            if !kust.components.contains(c) {
                kust.components.push(c.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argo_image_syntax() {
        let i = parse_argo_image("mlflow=registry.local/ml/mlflow:2.10");
        assert_eq!(i.name, "mlflow");
        assert_eq!(i.new_name.as_deref(), Some("registry.local/ml/mlflow"));
        assert_eq!(i.new_tag.as_deref(), Some("2.10"));
        let i = parse_argo_image("triton:24.01");
        assert_eq!(
            (i.name.as_str(), i.new_name, i.new_tag.as_deref()),
            ("triton", None, Some("24.01"))
        );
        let i = parse_argo_image("triton@sha256:ab");
        assert_eq!(i.digest.as_deref(), Some("sha256:ab"));
    }

    #[test]
    fn labels_are_kept_unless_forced() {
        let mut k = Kustomization {
            common_labels: vec![("team".into(), "ml".into())],
            ..Kustomization::default()
        };
        let o = AppOverrides {
            common_labels: vec![
                ("team".into(), "platform".into()),
                ("env".into(), "prod".into()),
            ],
            ..AppOverrides::default()
        };
        o.apply_to(&mut k);
        assert_eq!(
            k.common_labels,
            [
                ("team".to_string(), "ml".to_string()),
                ("env".to_string(), "prod".to_string())
            ]
        );
        let forced = AppOverrides {
            force_common_labels: true,
            ..o
        };
        forced.apply_to(&mut k);
        assert_eq!(k.common_labels[0].1, "platform");
    }
}
