//! Loading a chart folder or archive: Chart.yaml (apiVersion v1 or v2),
//! values.yaml, values.schema.json, templates/, crds/, charts/ (subchart
//! folders and `.tgz` archives) and every other file for `.Files`, honouring
//! `.helmignore` in folders. Nothing outside the chart folder is ever read:
//! symlinks are refused, and archive entries that would leave the archive are
//! an error (see [`crate::archive`]).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::error::HelmError;
use crate::values::floatify;

/// A file of a chart, named by its slash-separated path inside the chart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartFile {
    /// Path inside the chart, e.g. `templates/deployment.yaml`.
    pub name: String,
    /// Contents.
    pub data: Vec<u8>,
}

/// One entry of Chart.yaml `dependencies` (or requirements.yaml in v1 charts).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dependency {
    /// The chart name.
    pub name: String,
    /// The version constraint.
    pub version: String,
    /// The repository URL.
    pub repository: String,
    /// Values paths that enable it (comma-separated in Chart.yaml; the first one found decides).
    pub condition: Vec<String>,
    /// Tags that enable it (`tags.<tag>` in values).
    pub tags: Vec<String>,
    /// The name it is known by in the parent (values key and template path).
    pub alias: Option<String>,
    /// `import-values`: pairs of (child path, parent path); parent path empty means the root.
    pub import_values: Vec<(String, String)>,
}

/// Chart.yaml.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    /// `apiVersion` (`v1` or `v2`).
    pub api_version: String,
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `appVersion`.
    pub app_version: String,
    /// `type`: `application` (default) or `library`.
    pub chart_type: String,
    /// `kubeVersion` constraint.
    pub kube_version: String,
    /// `dependencies`.
    pub dependencies: Vec<Dependency>,
    /// The whole Chart.yaml as parsed, for `.Chart`.
    pub raw: Json,
}

impl Metadata {
    /// Whether this is a library chart (templates parsed for their definitions, never rendered).
    pub fn is_library(&self) -> bool {
        self.chart_type == "library"
    }
}

/// A loaded chart with its subcharts.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    /// Chart.yaml.
    pub metadata: Metadata,
    /// values.yaml (an object; numbers as float64).
    pub values: Json,
    /// values.schema.json, when present.
    pub schema: Option<Json>,
    /// Files under templates/.
    pub templates: Vec<ChartFile>,
    /// Every other file (crds/ included), for `.Files`.
    pub files: Vec<ChartFile>,
    /// Subcharts from charts/.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The files under crds/ (`.yaml`, `.yml`, `.json`).
    pub fn crds(&self) -> impl Iterator<Item = &ChartFile> {
        self.files.iter().filter(|f| {
            f.name.starts_with("crds/")
                && (f.name.ends_with(".yaml")
                    || f.name.ends_with(".yml")
                    || f.name.ends_with(".json"))
        })
    }
}

/// Loads the chart in folder `dir` (or the chart archive `dir`, a `.tgz`
/// file) and its subcharts.
pub fn load_chart(dir: &Path) -> Result<Chart, HelmError> {
    let meta = fs::symlink_metadata(dir).map_err(|source| HelmError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        let data = fs::read(dir).map_err(io(dir))?;
        return crate::archive::load_archive(&data, dir);
    }
    if !meta.is_dir() {
        return Err(HelmError::Metadata {
            path: dir.to_path_buf(),
            message: "not a chart folder or archive".into(),
        });
    }
    let ignore = Ignore::load(dir)?;
    let mut files = Vec::new();
    walk(dir, dir, "", &ignore, &mut files)?;
    let entries = files
        .into_iter()
        .map(|(name, path)| match name.strip_suffix('/') {
            Some(sub) => (sub.to_string(), Entry::ChartDir(path)),
            None => (name, Entry::File(path)),
        })
        .collect();
    from_entries(dir, entries)
}

/// One file of a chart being loaded: on disk (a folder chart) or in memory
/// (an archive's content).
pub(crate) enum Entry {
    /// A file to read.
    File(PathBuf),
    /// A file's contents.
    Bytes(Vec<u8>),
    /// A subchart folder under `charts/` (loaded with its own `.helmignore`).
    ChartDir(PathBuf),
}

impl Entry {
    fn read(self) -> Result<Vec<u8>, HelmError> {
        match self {
            Entry::File(path) => fs::read(&path).map_err(io(&path)),
            Entry::Bytes(data) => Ok(data),
            Entry::ChartDir(path) => Err(HelmError::Metadata {
                path,
                message: "a folder is not a file".into(),
            }),
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HelmError + '_ {
    move |source| HelmError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn walk(
    root: &Path,
    dir: &Path,
    rel: &str,
    ignore: &Ignore,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), HelmError> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<_, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let rel_name = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ft = entry.file_type().map_err(io(&path))?;
        if ft.is_symlink() {
            return Err(HelmError::OutsideChart { path });
        }
        if ignore.ignored(&rel_name, ft.is_dir()) {
            continue;
        }
        if ft.is_dir() {
            // Subchart folders are loaded on their own (with their own .helmignore).
            if rel == "charts" {
                out.push((format!("{rel_name}/"), path));
                continue;
            }
            walk(root, &path, &rel_name, ignore, out)?;
        } else if ft.is_file() {
            out.push((rel_name, path));
        }
    }
    let _ = root;
    Ok(())
}

/// Builds a chart from its files; `dir` names it in messages (a folder, or
/// `archive.tgz/<chart>`). Subcharts come from `charts/`: folders, archives
/// (`charts/x.tgz`), and the files of an archive's own `charts/<sub>/...`.
pub(crate) fn from_entries(dir: &Path, entries: Vec<(String, Entry)>) -> Result<Chart, HelmError> {
    let mut chart = Chart::default();
    let mut chart_yaml = None;
    let mut requirements = None;
    // Subcharts in name order: folders, archives and unpacked files of an archive.
    let mut subcharts: std::collections::BTreeMap<String, Subchart> = Default::default();
    for (name, entry) in entries {
        if let Some(sub) = name.strip_prefix("charts/") {
            // Hidden and underscore-prefixed entries and provenance files are not charts.
            if sub.starts_with('.') || sub.starts_with('_') || sub.ends_with(".prov") {
                continue;
            }
            match (entry, sub.split_once('/')) {
                (Entry::ChartDir(path), None) => {
                    subcharts.insert(sub.to_string(), Subchart::Dir(path));
                }
                (entry, None) if sub.ends_with(".tgz") => {
                    let data = entry.read()?;
                    subcharts.insert(sub.to_string(), Subchart::Archive(data));
                }
                (entry, Some((folder, rest))) => {
                    let data = entry.read()?;
                    let slot = subcharts
                        .entry(folder.to_string())
                        .or_insert_with(|| Subchart::Files(Vec::new()));
                    if let Subchart::Files(files) = slot {
                        files.push((rest.to_string(), Entry::Bytes(data)));
                    }
                }
                // Stray files under charts/ are not loaded.
                _ => {}
            }
            continue;
        }
        let path = match &entry {
            Entry::File(p) | Entry::ChartDir(p) => p.clone(),
            Entry::Bytes(_) => dir.join(&name),
        };
        let data = entry.read()?;
        match name.as_str() {
            "Chart.yaml" => chart_yaml = Some((path, data)),
            "requirements.yaml" => requirements = Some((path, data)),
            "values.yaml" => {
                chart.values =
                    parse_values_yaml(&data, &format!("{}/values.yaml", dir.display()), true)?
            }
            "values.schema.json" => {
                chart.schema = Some(serde_json::from_slice(&data).map_err(|e| HelmError::Yaml {
                    file: path.display().to_string(),
                    message: e.to_string(),
                })?)
            }
            "Chart.lock" | "requirements.lock" => {}
            n if n.starts_with("templates/") => chart.templates.push(ChartFile { name, data }),
            _ => chart.files.push(ChartFile { name, data }),
        }
    }
    let (chart_path, data) = chart_yaml.ok_or_else(|| HelmError::Metadata {
        path: dir.join("Chart.yaml"),
        message: "Chart.yaml file is missing".into(),
    })?;
    chart.metadata = parse_metadata(&chart_path, &data)?;
    if let Some((path, data)) = requirements
        && chart.metadata.api_version == "v1"
    {
        let text = String::from_utf8_lossy(&data);
        let raw = ferrocd_manifest::parse_yaml_value(&text, &path.display().to_string()).map_err(
            |e| HelmError::Yaml {
                file: path.display().to_string(),
                message: e.to_string(),
            },
        )?;
        chart.metadata.dependencies = parse_dependencies(&path, raw.get("dependencies"))?;
    }
    if chart.values.is_null() {
        chart.values = Json::Object(Default::default());
    }
    for (name, sub) in subcharts {
        match sub {
            Subchart::Dir(path) => {
                if path.join("Chart.yaml").exists() {
                    chart.dependencies.push(load_chart(&path)?);
                }
            }
            Subchart::Archive(data) => {
                let origin = dir.join("charts").join(&name);
                chart
                    .dependencies
                    .push(crate::archive::load_archive(&data, &origin)?);
            }
            Subchart::Files(files) => {
                if files.iter().any(|(n, _)| n == "Chart.yaml") {
                    let origin = dir.join("charts").join(&name);
                    chart.dependencies.push(from_entries(&origin, files)?);
                }
            }
        }
    }
    Ok(chart)
}

/// A subchart found under `charts/`.
enum Subchart {
    Dir(PathBuf),
    Archive(Vec<u8>),
    Files(Vec<(String, Entry)>),
}

/// Parses a values YAML file: an object (or empty), numbers as float64.
/// `chart_values` tells a chart's own values.yaml from a user's values file, for
/// the wording of errors.
pub(crate) fn parse_values_yaml(
    data: &[u8],
    file: &str,
    chart_values: bool,
) -> Result<Json, HelmError> {
    let text = String::from_utf8_lossy(data);
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
    {
        return Ok(Json::Object(Default::default()));
    }
    let v = crate::go_yaml::parse(&text, file).map_err(|e| match e {
        crate::go_yaml::GoYamlError::Syntax(message) => HelmError::Yaml {
            file: file.to_string(),
            message,
        },
        crate::go_yaml::GoYamlError::Unsupported(m) => {
            let cause =
                format!("cannot unmarshal yaml document: error converting YAML to JSON: {m}");
            HelmError::ValuesJson(if chart_values {
                format!("cannot load values.yaml: {cause}")
            } else {
                format!("failed to parse {file}: {cause}")
            })
        }
    })?;
    match v {
        Json::Null => Ok(Json::Object(Default::default())),
        Json::Object(_) => Ok(floatify(v)),
        _ => Err(HelmError::Yaml {
            file: file.to_string(),
            message: "error unmarshaling JSON: cannot unmarshal into map[string]interface {}"
                .into(),
        }),
    }
}

fn str_field(raw: &Json, key: &str) -> String {
    match raw.get(key) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        Some(Json::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn parse_metadata(path: &Path, data: &[u8]) -> Result<Metadata, HelmError> {
    let text = String::from_utf8_lossy(data);
    let raw =
        ferrocd_manifest::parse_yaml_value(&text, &path.display().to_string()).map_err(|e| {
            HelmError::Yaml {
                file: path.display().to_string(),
                message: e.to_string(),
            }
        })?;
    if !raw.is_object() {
        return Err(HelmError::Metadata {
            path: path.to_path_buf(),
            message: "Chart.yaml is not a mapping".into(),
        });
    }
    let meta = Metadata {
        api_version: str_field(&raw, "apiVersion"),
        name: str_field(&raw, "name"),
        version: str_field(&raw, "version"),
        app_version: str_field(&raw, "appVersion"),
        chart_type: str_field(&raw, "type"),
        kube_version: str_field(&raw, "kubeVersion"),
        dependencies: parse_dependencies(path, raw.get("dependencies"))?,
        raw: raw.clone(),
    };
    let bad = |message: &str| HelmError::Metadata {
        path: path.to_path_buf(),
        message: message.to_string(),
    };
    if meta.api_version.is_empty() {
        return Err(bad("validation: chart.metadata.apiVersion is required"));
    }
    if meta.api_version != "v1" && meta.api_version != "v2" {
        return Err(bad(&format!(
            "validation: chart.metadata.apiVersion {:?} is invalid",
            meta.api_version
        )));
    }
    if meta.name.is_empty() {
        return Err(bad("validation: chart.metadata.name is required"));
    }
    if meta.name.contains('/') || meta.name.contains('\\') || meta.name.contains("..") {
        return Err(bad(&format!(
            "validation: chart.metadata.name {:?} is invalid",
            meta.name
        )));
    }
    if meta.version.is_empty() {
        return Err(bad("validation: chart.metadata.version is required"));
    }
    if !matches!(meta.chart_type.as_str(), "" | "application" | "library") {
        return Err(bad(&format!(
            "validation: chart.metadata.type {:?} is invalid",
            meta.chart_type
        )));
    }
    Ok(meta)
}

fn parse_dependencies(path: &Path, v: Option<&Json>) -> Result<Vec<Dependency>, HelmError> {
    let Some(Json::Array(items)) = v else {
        return Ok(Vec::new());
    };
    let mut deps = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(HelmError::Metadata {
                path: path.to_path_buf(),
                message: format!("dependencies[{i}] is not a mapping"),
            });
        }
        let list = |s: String| -> Vec<String> {
            s.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        };
        let tags = match item.get("tags") {
            Some(Json::Array(t)) => t
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let mut imports = Vec::new();
        if let Some(Json::Array(iv)) = item.get("import-values") {
            for x in iv {
                match x {
                    Json::String(s) => imports.push((format!("exports.{s}"), String::new())),
                    Json::Object(m) => {
                        let child = m.get("child").and_then(Json::as_str).unwrap_or_default();
                        let parent = m.get("parent").and_then(Json::as_str).unwrap_or_default();
                        imports.push((child.to_string(), parent.to_string()));
                    }
                    _ => {}
                }
            }
        }
        let alias = str_field(item, "alias");
        deps.push(Dependency {
            name: str_field(item, "name"),
            version: str_field(item, "version"),
            repository: str_field(item, "repository"),
            condition: list(str_field(item, "condition")),
            tags,
            alias: (!alias.is_empty()).then_some(alias),
            import_values: imports,
        });
    }
    Ok(deps)
}

/// `.helmignore` rules: `#` comments, `!` negation, a trailing `/` matches
/// folders only, patterns without `/` match a base name, others the path.
struct Ignore {
    rules: Vec<(bool, bool, bool, globset::GlobMatcher)>,
}

impl Ignore {
    fn load(dir: &Path) -> Result<Self, HelmError> {
        let path = dir.join(".helmignore");
        let mut rules = Vec::new();
        let text = match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Err(HelmError::OutsideChart { path }),
            Ok(_) => fs::read_to_string(&path).map_err(io(&path))?,
            Err(_) => String::new(),
        };
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, pat) = match line.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, line),
            };
            let (dir_only, pat) = match pat.strip_suffix('/') {
                Some(p) => (true, p),
                None => (false, pat),
            };
            let pat = pat.trim_start_matches("./").trim_start_matches('/');
            let by_base = !pat.contains('/');
            if let Ok(g) = globset::GlobBuilder::new(pat)
                .literal_separator(true)
                .build()
            {
                rules.push((negate, dir_only, by_base, g.compile_matcher()));
            }
        }
        Ok(Self { rules })
    }

    fn ignored(&self, rel: &str, is_dir: bool) -> bool {
        if rel == ".helmignore" {
            return true;
        }
        let base = rel.rsplit('/').next().unwrap_or(rel);
        let mut ignored = false;
        for (negate, dir_only, by_base, m) in &self.rules {
            if *dir_only && !is_dir {
                continue;
            }
            let hit = if *by_base {
                m.is_match(base)
            } else {
                m.is_match(rel)
            };
            if hit {
                ignored = !negate;
            }
        }
        ignored
    }
}
