//! The kustomization file: its fields as kustomize v5 names them.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::KustomizeError;

/// File names a kustomization may have, in kustomize's lookup order.
pub(crate) const FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file in `dir`, if there is one.
pub(crate) fn find_file(dir: &Path) -> Option<PathBuf> {
    FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// A `map[string]string` field whose values may be written as YAML numbers or booleans.
pub(crate) type StringMap = Vec<(String, String)>;

fn string_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<StringMap, D::Error> {
    let m: Option<Map<String, Value>> = Option::deserialize(d)?;
    Ok(m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, scalar_string(&v)))
        .collect())
}

/// The text of a scalar as go-yaml would give it to a string field.
pub(crate) fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A kustomization (`kind: Kustomization` or `kind: Component`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub(crate) struct Kustomization {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub metadata: Option<Value>,
    pub resources: Vec<String>,
    pub bases: Vec<String>,
    pub components: Vec<String>,
    pub namespace: Option<String>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    #[serde(deserialize_with = "string_map")]
    pub common_labels: StringMap,
    pub labels: Vec<Label>,
    #[serde(deserialize_with = "string_map")]
    pub common_annotations: StringMap,
    pub images: Vec<Image>,
    pub replicas: Vec<Replica>,
    pub patches: Vec<Patch>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<Patch>,
    pub config_map_generator: Vec<Generator>,
    pub secret_generator: Vec<Generator>,
    pub generator_options: Option<GeneratorOptions>,
    pub replacements: Vec<ReplacementEntry>,
    pub vars: Vec<Var>,
    pub configurations: Vec<String>,
    pub crds: Vec<String>,
    pub helm_charts: Vec<Value>,
    pub helm_globals: Option<Value>,
    pub helm_chart_inflation_generator: Vec<Value>,
    pub sort_options: Option<SortOptions>,
    pub build_metadata: Vec<String>,
    pub transformers: Vec<String>,
    pub generators: Vec<String>,
    pub validators: Vec<String>,
    pub open_api: Option<Value>,
}

/// An entry of `labels`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub(crate) struct Label {
    #[serde(deserialize_with = "string_map")]
    pub pairs: StringMap,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub fields: Vec<FieldSpecEntry>,
}

/// A field spec as written in kustomizations and configurations.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct FieldSpecEntry {
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub path: String,
    pub create: bool,
}

/// An entry of `images`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Image {
    /// The image name to match (without tag or digest).
    pub name: String,
    /// The replacement name.
    pub new_name: Option<String>,
    /// The replacement tag.
    pub new_tag: Option<String>,
    /// The replacement digest (wins over the tag).
    pub digest: Option<String>,
    /// A suffix appended to the tag.
    pub tag_suffix: Option<String>,
}

/// An entry of `replicas`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Replica {
    /// The name of the workload.
    pub name: String,
    /// The replica count.
    pub count: i64,
}

/// An entry of `patches` or `patchesJson6902`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Patch {
    /// A file holding the patch.
    pub path: Option<String>,
    /// The patch inline.
    pub patch: Option<String>,
    /// Which objects to patch.
    pub target: Option<Selector>,
    /// Patch options.
    pub options: PatchOptions,
}

/// Options of a patch.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PatchOptions {
    /// The patch may change the object's name.
    pub allow_name_change: bool,
    /// The patch may change the object's kind.
    pub allow_kind_change: bool,
}

/// A patch target or replacement selector.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Selector {
    /// API group.
    pub group: Option<String>,
    /// API version.
    pub version: Option<String>,
    /// Kind (regular expression).
    pub kind: Option<String>,
    /// Name (regular expression).
    pub name: Option<String>,
    /// Namespace (regular expression).
    pub namespace: Option<String>,
    /// Label selector.
    pub label_selector: Option<String>,
    /// Annotation selector.
    pub annotation_selector: Option<String>,
}

/// A `configMapGenerator` or `secretGenerator` entry.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub(crate) struct Generator {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub behavior: Option<String>,
    pub files: Vec<String>,
    pub literals: Vec<String>,
    pub envs: Vec<String>,
    pub env: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub options: Option<GeneratorOptions>,
}

/// `generatorOptions` (also `options` of one generator).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub(crate) struct GeneratorOptions {
    #[serde(deserialize_with = "string_map")]
    pub labels: StringMap,
    #[serde(deserialize_with = "string_map")]
    pub annotations: StringMap,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}

/// An entry of `replacements`: a file or an inline replacement.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ReplacementEntry {
    pub path: Option<String>,
    pub source: Option<Value>,
    pub targets: Option<Value>,
}

/// An entry of `vars`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Var {
    pub name: String,
    pub objref: VarObjRef,
    pub fieldref: Option<VarFieldRef>,
}

/// The object a var reads.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct VarObjRef {
    pub api_version: Option<String>,
    pub group: Option<String>,
    pub version: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

/// The field a var reads.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct VarFieldRef {
    pub field_path: String,
}

/// `sortOptions`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SortOptions {
    pub order: Option<String>,
    pub legacy_sort_options: Option<LegacySortOptions>,
}

/// `sortOptions.legacySortOptions`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct LegacySortOptions {
    pub order_first: Vec<String>,
    pub order_last: Vec<String>,
}

impl Kustomization {
    /// Parses a kustomization file's text.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<Self, KustomizeError> {
        let value = crate::yaml::parse_one(text, path)?;
        Self::from_value(value, path)
    }

    /// Reads a kustomization from a parsed value.
    pub(crate) fn from_value(value: Value, path: &Path) -> Result<Self, KustomizeError> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value).map_err(|e| KustomizeError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Whether this is a `Component`.
    pub(crate) fn is_component(&self) -> bool {
        self.kind.as_deref() == Some("Component")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fields_parse_with_numbers_as_strings() {
        let k = Kustomization::parse(
            "namePrefix: a-\ncommonLabels:\n  version: 2\n  gpu: true\nreplicas:\n- name: x\n  count: 3\n",
            Path::new("kustomization.yaml"),
        )
        .unwrap();
        assert_eq!(k.name_prefix.as_deref(), Some("a-"));
        assert_eq!(
            k.common_labels,
            [
                ("version".to_string(), "2".to_string()),
                ("gpu".to_string(), "true".to_string())
            ]
        );
        assert_eq!(k.replicas[0].count, 3);
    }

    #[test]
    fn unknown_fields_are_errors_naming_the_file() {
        let err =
            Kustomization::parse("namePrefx: a-\n", Path::new("k/kustomization.yaml")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("k/kustomization.yaml") && msg.contains("namePrefx"),
            "{msg}"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "[a-zA-Z:\\- \\n\\[\\]{}\"'#0-9]{0,120}") {
            let _ = Kustomization::parse(&text, Path::new("kustomization.yaml"));
        }

        #[test]
        fn parse_never_panics_on_known_fields(
            field in prop::sample::select(vec!["resources", "namePrefix", "commonLabels", "patches", "images", "replicas", "configMapGenerator", "labels", "sortOptions"]),
            value in "[a-z0-9:\\- \\[\\]{}]{0,30}",
        ) {
            let _ = Kustomization::parse(&format!("{field}: {value}\n"), Path::new("kustomization.yaml"));
        }
    }
}
