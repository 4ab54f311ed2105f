//! `helmCharts` and `helmGlobals`: charts already on disk inflated by the native Helm
//! renderer (`ferrocd-helm`), the way kustomize's HelmChartInflationGenerator runs
//! `helm template`.
//!
//! A chart is looked up at `<chartHome>/<name>`, or at `<chartHome>/<name>-<version>/<name>`
//! when both `repo` and `version` are set (where kustomize would pull it to). `chartHome`
//! defaults to `charts` next to the kustomization. The values file (default: the chart's
//! own `values.yaml`) and `additionalValuesFiles` are read through the kustomization's
//! loader, so the load restrictor and the repository root apply to them. `valuesInline`
//! is combined with the values file by `valuesMerge`: `override` (the default; inline
//! wins), `merge` (the file wins, inline only fills gaps) or `replace` (inline only).
//! Nothing is ever downloaded: a chart that is not on disk is an error.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::KustomizeError;
use crate::kustomization::Kustomization;
use crate::loader::Loader;
use crate::resource::{Resource, Source};

/// The release name kustomize gives when `releaseName` is not set.
const DEFAULT_RELEASE_NAME: &str = "release-name";

/// An entry of `helmCharts`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub(crate) struct HelmChart {
    pub name: String,
    pub version: Option<String>,
    pub repo: Option<String>,
    pub release_name: Option<String>,
    pub namespace: Option<String>,
    pub name_template: Option<String>,
    pub additional_values_files: Vec<String>,
    pub values_file: Option<String>,
    pub values_inline: Option<Map<String, Value>>,
    pub values_merge: Option<String>,
    #[serde(rename = "includeCRDs")]
    pub include_crds: bool,
    pub skip_hooks: bool,
    pub skip_tests: bool,
    pub api_versions: Vec<String>,
    pub kube_version: Option<String>,
    pub debug: bool,
}

/// The `helmGlobals` field.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub(crate) struct HelmGlobals {
    pub chart_home: Option<String>,
    pub config_home: Option<String>,
}

/// How `valuesInline` combines with the values file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValuesMerge {
    /// Inline values win over the file's.
    Override,
    /// The file's values win; inline values fill what the file lacks.
    Merge,
    /// Only the inline values are used.
    Replace,
}

impl ValuesMerge {
    fn parse(text: Option<&str>) -> Option<Self> {
        match text.unwrap_or("") {
            "" | "override" => Some(Self::Override),
            "merge" => Some(Self::Merge),
            "replace" => Some(Self::Replace),
            _ => None,
        }
    }
}

/// Deep-merges `top` onto `base`: maps merge key by key, anything else in `top` wins.
pub(crate) fn merge_values(base: &mut Map<String, Value>, top: Map<String, Value>) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(b)), Value::Object(t)) => merge_values(b, t),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Combines the values file's content and the inline values by `mode`.
pub(crate) fn combine_values(
    file: Map<String, Value>,
    inline: Map<String, Value>,
    mode: ValuesMerge,
) -> Map<String, Value> {
    match mode {
        ValuesMerge::Override => {
            let mut out = file;
            merge_values(&mut out, inline);
            out
        }
        ValuesMerge::Merge => {
            let mut out = inline;
            merge_values(&mut out, file);
            out
        }
        ValuesMerge::Replace => inline,
    }
}

fn invalid(file: &Path, message: String) -> KustomizeError {
    KustomizeError::Invalid {
        path: file.to_path_buf(),
        message,
    }
}

/// Parses `helmCharts` and `helmGlobals` of a kustomization.
fn parse_entries(
    kust: &Kustomization,
    file: &Path,
) -> Result<(Vec<HelmChart>, HelmGlobals), KustomizeError> {
    let globals = match &kust.helm_globals {
        None | Some(Value::Null) => HelmGlobals::default(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| invalid(file, format!("helmGlobals: {e}")))?,
    };
    let mut charts = Vec::with_capacity(kust.helm_charts.len());
    for (i, entry) in kust.helm_charts.iter().enumerate() {
        let chart: HelmChart = serde_json::from_value(entry.clone())
            .map_err(|e| invalid(file, format!("helmCharts[{i}]: {e}")))?;
        charts.push(chart);
    }
    Ok((charts, globals))
}

/// Where the chart of `chart` is on disk (it may not exist).
fn chart_dir(chart: &HelmChart, globals: &HelmGlobals, loader: &Loader) -> PathBuf {
    let home = globals
        .chart_home
        .as_deref()
        .filter(|h| !h.is_empty())
        .unwrap_or("charts");
    let mut dir = loader.dir.join(home);
    let repo = chart.repo.as_deref().unwrap_or("");
    let version = chart.version.as_deref().unwrap_or("");
    if !repo.is_empty() && !version.is_empty() {
        dir.push(format!("{}-{version}", chart.name));
    }
    dir.join(&chart.name)
}

/// Reads a values file into a map (an empty document is an empty map).
fn read_values(path: &Path) -> Result<Map<String, Value>, KustomizeError> {
    let text = std::fs::read_to_string(path).map_err(|source| KustomizeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    match crate::yaml::parse_one(&text, path)? {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m),
        _ => Err(KustomizeError::Parse {
            path: path.to_path_buf(),
            message: "helm values must be a mapping".into(),
        }),
    }
}

/// Inflates every `helmCharts` entry of `kust` into resources, in entry order.
///
/// `enabled` mirrors `--enable-helm`: without it a kustomization with charts is an error.
pub(crate) fn inflate(
    kust: &Kustomization,
    loader: &Loader,
    enabled: bool,
) -> Result<Vec<Resource>, KustomizeError> {
    if kust.helm_charts.is_empty() {
        return Ok(Vec::new());
    }
    let file = loader.file.as_path();
    let (charts, globals) = parse_entries(kust, file)?;
    if !enabled {
        return Err(KustomizeError::HelmNotEnabled {
            chart: charts.first().map(|c| c.name.clone()).unwrap_or_default(),
            file: file.to_path_buf(),
        });
    }
    let mut out = Vec::new();
    for (i, chart) in charts.iter().enumerate() {
        out.extend(inflate_one(chart, i, &globals, loader)?);
    }
    Ok(out)
}

fn inflate_one(
    chart: &HelmChart,
    index: usize,
    globals: &HelmGlobals,
    loader: &Loader,
) -> Result<Vec<Resource>, KustomizeError> {
    let file = loader.file.as_path();
    if chart.name.is_empty() {
        return Err(invalid(
            file,
            format!("helmCharts[{index}]: name is required"),
        ));
    }
    let Some(mode) = ValuesMerge::parse(chart.values_merge.as_deref()) else {
        return Err(invalid(
            file,
            format!(
                "helmCharts[{index}] ({}): valuesMerge must be one of [merge override replace], got `{}`",
                chart.name,
                chart.values_merge.as_deref().unwrap_or("")
            ),
        ));
    };
    let dir = chart_dir(chart, globals, loader);
    if !dir.is_dir() {
        let repo = chart.repo.clone().unwrap_or_default();
        return Err(if repo.is_empty() {
            KustomizeError::ChartNotFound {
                chart: chart.name.clone(),
                path: dir,
                file: file.to_path_buf(),
            }
        } else {
            KustomizeError::RemoteChart {
                chart: chart.name.clone(),
                repo,
                path: dir,
                file: file.to_path_buf(),
            }
        });
    }
    // Values files go through the loader (load restrictor + repository root), like kustomize.
    let values_file = match chart.values_file.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => loader.resolve(v)?,
        None => loader.resolve_path(&dir.join("values.yaml"))?,
    };
    let mut additional = Vec::with_capacity(chart.additional_values_files.len());
    for f in &chart.additional_values_files {
        additional.push(loader.resolve(f)?);
    }
    let dir = dir.canonicalize().map_err(|source| KustomizeError::Read {
        path: dir.clone(),
        source,
    })?;
    loader.check_in_repo(&dir)?;

    // Inline values are combined with the values file into a file of their own.
    let mut merged_file = None;
    let first_values = match &chart.values_inline {
        Some(inline) if !inline.is_empty() => {
            let base = if mode == ValuesMerge::Replace {
                Map::new()
            } else {
                read_values(&values_file)?
            };
            let combined = combine_values(base, inline.clone(), mode);
            let tmp = write_values(&combined, file)?;
            let path = tmp.path().to_path_buf();
            merged_file = Some(tmp);
            path
        }
        _ => values_file,
    };
    let mut value_files = vec![first_values];
    value_files.extend(additional);

    let release_name = release_name(chart, index, file)?;
    let opts = ferrocd_helm::RenderOptions {
        release_name,
        namespace: chart.namespace.clone().unwrap_or_default(),
        value_files,
        kube_version: chart.kube_version.clone().unwrap_or_default(),
        api_versions: chart.api_versions.clone(),
        include_crds: chart.include_crds,
        skip_tests: chart.skip_tests,
        ..Default::default()
    };
    let docs = ferrocd_helm::render_chart(&dir, &opts).map_err(|source| KustomizeError::Helm {
        chart: chart.name.clone(),
        file: file.to_path_buf(),
        source,
    })?;
    drop(merged_file);
    let mut out = Vec::new();
    for doc in docs {
        if chart.skip_hooks && doc.hook().is_some() {
            continue;
        }
        match doc.object {
            Value::Null => {}
            Value::Object(_) => {
                let mut res = Resource::new(doc.object);
                res.source = Some(Source::Generated {
                    kustomization: file.to_path_buf(),
                    generator: "HelmChartInflationGenerator",
                });
                out.push(res);
            }
            _ => {
                return Err(KustomizeError::Parse {
                    path: dir.join(&doc.source),
                    message: format!(
                        "helm chart '{}' rendered a document that is not an object",
                        chart.name
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// The release name, as kustomize asks helm for it: `releaseName`, else `nameTemplate`
/// rendered with the Sprig functions (no data), else `release-name`. Both set is an error,
/// and the name must be a valid Helm release name.
fn release_name(chart: &HelmChart, index: usize, file: &Path) -> Result<String, KustomizeError> {
    let release = chart.release_name.as_deref().filter(|r| !r.is_empty());
    let template = chart.name_template.as_deref().filter(|t| !t.is_empty());
    let what = |message: String| {
        invalid(
            file,
            format!("helmCharts[{index}] ({}): {message}", chart.name),
        )
    };
    let name = match (release, template) {
        (Some(_), Some(_)) => {
            return Err(what(
                "cannot set nameTemplate and also releaseName".to_string(),
            ));
        }
        (Some(r), None) => r.to_string(),
        (None, Some(t)) => render_name_template(t).map_err(what)?,
        (None, None) => DEFAULT_RELEASE_NAME.to_string(),
    };
    if !valid_release_name(&name) {
        return Err(what(format!(
            "release name \"{name}\": invalid release name, must be lowercase alphanumerics, '-' and '.' (a DNS subdomain) and at most 53 characters"
        )));
    }
    Ok(name)
}

fn render_name_template(text: &str) -> Result<String, String> {
    use ferrocd_gotmpl::{ExecOptions, Template, Value as TmplValue};
    let funcs = ferrocd_helm::sprig::funcs();
    let mut tmpl = Template::with_funcs("name-template", &funcs);
    tmpl.parse("name-template", text)
        .map_err(|e| format!("nameTemplate: {}", e.message))?;
    let out = tmpl
        .execute(
            "name-template",
            &TmplValue::Nil,
            &funcs,
            &ExecOptions::default(),
        )
        .map_err(|e| format!("nameTemplate: {e}"))?;
    Ok(out)
}

/// Helm's rule for release names: a DNS subdomain of at most 53 characters.
pub(crate) fn valid_release_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 53 {
        return false;
    }
    name.split('.').all(|label| {
        let b = label.as_bytes();
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        match (b.first(), b.last()) {
            (Some(first), Some(last)) => {
                alnum(first) && alnum(last) && b.iter().all(|c| alnum(c) || *c == b'-')
            }
            _ => false,
        }
    })
}

fn write_values(
    values: &Map<String, Value>,
    file: &Path,
) -> Result<tempfile::NamedTempFile, KustomizeError> {
    let io_err = |source| KustomizeError::Read {
        path: file.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix("ferrocd-helm-values-")
        .suffix(".yaml")
        .tempfile()
        .map_err(io_err)?;
    // JSON is YAML; the Helm renderer reads it as a values file.
    let text = serde_json::to_string(values).map_err(|e| KustomizeError::Invalid {
        path: file.to_path_buf(),
        message: format!("helm values: {e}"),
    })?;
    tmp.write_all(text.as_bytes()).map_err(io_err)?;
    tmp.flush().map_err(io_err)?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn override_lets_inline_win_deeply() {
        let file = map(json!({"image": {"repo": "mlflow", "tag": "2"}, "list": [1, 2]}));
        let inline = map(json!({"image": {"tag": "3"}, "list": [9]}));
        let out = combine_values(file, inline, ValuesMerge::Override);
        assert_eq!(
            Value::Object(out),
            json!({"image": {"repo": "mlflow", "tag": "3"}, "list": [9]})
        );
    }

    #[test]
    fn merge_lets_file_win_and_inline_fill_gaps() {
        let file = map(json!({"image": {"tag": "2"}, "replicas": 3}));
        let inline = map(json!({"image": {"tag": "3", "pull": "Always"}, "gpu": true}));
        let out = combine_values(file, inline, ValuesMerge::Merge);
        assert_eq!(
            Value::Object(out),
            json!({"image": {"tag": "2", "pull": "Always"}, "gpu": true, "replicas": 3})
        );
    }

    #[test]
    fn replace_keeps_only_inline() {
        let file = map(json!({"replicas": 3}));
        let inline = map(json!({"gpu": 1}));
        let out = combine_values(file, inline, ValuesMerge::Replace);
        assert_eq!(Value::Object(out), json!({"gpu": 1}));
    }

    #[test]
    fn values_merge_parses_known_modes_only() {
        assert_eq!(ValuesMerge::parse(None), Some(ValuesMerge::Override));
        assert_eq!(ValuesMerge::parse(Some("merge")), Some(ValuesMerge::Merge));
        assert_eq!(
            ValuesMerge::parse(Some("replace")),
            Some(ValuesMerge::Replace)
        );
        assert_eq!(ValuesMerge::parse(Some("Merge")), None);
    }

    #[test]
    fn release_name_defaults_and_name_template() {
        let f = Path::new("kustomization.yaml");
        let mut c = HelmChart {
            name: "mlflow".into(),
            ..Default::default()
        };
        assert_eq!(release_name(&c, 0, f).ok().as_deref(), Some("release-name"));
        c.release_name = Some("tracking".into());
        assert_eq!(release_name(&c, 0, f).ok().as_deref(), Some("tracking"));
        c.name_template = Some("fixed".into());
        assert!(release_name(&c, 0, f).is_err(), "both set");
        c.release_name = None;
        assert_eq!(release_name(&c, 0, f).ok().as_deref(), Some("fixed"));
        c.name_template = Some("serve-{{ lower \"GPU\" }}".into());
        assert_eq!(release_name(&c, 0, f).ok().as_deref(), Some("serve-gpu"));
        c.name_template = Some("Bad_Name".into());
        assert!(release_name(&c, 0, f).is_err());
    }

    #[test]
    fn release_names_follow_helm_rules() {
        assert!(valid_release_name("airflow"));
        assert!(valid_release_name("mlflow.prod-1"));
        assert!(!valid_release_name(""));
        assert!(!valid_release_name("-airflow"));
        assert!(!valid_release_name("airflow-"));
        assert!(!valid_release_name("Airflow"));
        assert!(!valid_release_name("a..b"));
        assert!(!valid_release_name(&"a".repeat(54)));
        assert!(valid_release_name(&"a".repeat(53)));
    }

    fn values() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::from),
            "[a-z]{0,6}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            proptest::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
        })
    }

    /// Every leaf of `v` with its path (an empty map merges into anything and is no leaf).
    fn leaves(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    leaves(v, format!("{path}/{k}"), out);
                }
            }
            other => out.push((path, other.clone())),
        }
    }

    proptest::proptest! {
        #[test]
        fn the_winning_side_keeps_every_leaf(file in values(), inline in values()) {
            let (file, inline) = (map(file), map(inline));
            let over = Value::Object(combine_values(file.clone(), inline.clone(), ValuesMerge::Override));
            let mut want = Vec::new();
            leaves(&Value::Object(inline.clone()), String::new(), &mut want);
            for (path, v) in want.iter().filter(|(p, _)| !p.is_empty()) {
                proptest::prop_assert_eq!(over.pointer(path), Some(v), "override {}", path);
            }
            let merged = Value::Object(combine_values(file.clone(), inline.clone(), ValuesMerge::Merge));
            let mut want = Vec::new();
            leaves(&Value::Object(file.clone()), String::new(), &mut want);
            for (path, v) in want.iter().filter(|(p, _)| !p.is_empty()) {
                proptest::prop_assert_eq!(merged.pointer(path), Some(v), "merge {}", path);
            }
            let replaced = combine_values(file, inline.clone(), ValuesMerge::Replace);
            proptest::prop_assert_eq!(replaced, inline);
        }

        #[test]
        fn dns_style_names_are_valid_release_names(name in "[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\\.[a-z0-9]{1,10}){0,2}") {
            proptest::prop_assert!(valid_release_name(&name));
            let upper = name.to_ascii_uppercase();
            if upper != name {
                proptest::prop_assert!(!valid_release_name(&upper));
            }
        }
    }
}
