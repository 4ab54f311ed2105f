//! [`HelmError`]: everything that can go wrong loading, configuring or
//! rendering a chart, worded close to what `helm template` prints.

use std::path::PathBuf;

/// An error from loading a chart, building its values or rendering it.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    /// A file of the chart (or a values file) could not be read.
    #[error("reading {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A chart file tried to leave the chart folder (a symlink or `..`).
    #[error("{path}: refusing to read outside the chart folder")]
    OutsideChart {
        /// The offending path.
        path: PathBuf,
    },
    /// A chart archive (`.tgz`) is malformed or tries to leave itself.
    #[error("chart archive {archive}: {message}")]
    Archive {
        /// The archive (a file, or `parent/charts/x.tgz`).
        archive: PathBuf,
        /// What is wrong, naming the entry.
        message: String,
    },
    /// Chart.yaml (or requirements.yaml) is invalid.
    #[error("{path}: invalid chart metadata: {message}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A YAML or JSON file (values, Chart.yaml) did not parse.
    #[error("{file}: {message}")]
    Yaml {
        /// The file, as named in messages.
        file: String,
        /// The parser's message with line and column.
        message: String,
    },
    /// A values file holds data JSON cannot represent (`.inf`, a null key); the
    /// message is worded as helm words it.
    #[error("{0}")]
    ValuesJson(String),
    /// A `--set`-style expression is malformed.
    #[error("failed parsing {flag} data: {message}")]
    Set {
        /// The flag (`--set`, `--set-string`, `--set-json`, `--set-file`).
        flag: &'static str,
        /// Helm's message.
        message: String,
    },
    /// A dependency listed in Chart.yaml is missing from `charts/`.
    #[error("found in Chart.yaml, but missing in charts/ directory: {name}")]
    MissingDependency {
        /// The dependency name.
        name: String,
    },
    /// The chart's `kubeVersion` constraint excludes the target version.
    #[error(
        "chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {version}"
    )]
    KubeVersion {
        /// The constraint from Chart.yaml.
        constraint: String,
        /// The Kubernetes version rendered for.
        version: String,
    },
    /// The values do not satisfy values.schema.json.
    #[error(
        "values don't meet the specifications of the schema(s) in the following chart(s):\n{0}"
    )]
    Schema(String),
    /// A template failed to parse (`parse error at (chart/templates/x.yaml:3): ...`).
    #[error("parse error at ({location}): {message}")]
    Parse {
        /// `<file>:<line>`.
        location: String,
        /// Go's message.
        message: String,
    },
    /// A template failed while executing, as Helm prints it.
    #[error("{0}")]
    Exec(String),
    /// The rendered output of a template is not valid YAML.
    #[error("YAML parse error on {source_name}: {message}")]
    Output {
        /// The template the document came from.
        source_name: String,
        /// The parser's message.
        message: String,
    },
    /// The requested option is not valid (a bad `--kube-version`).
    #[error("{0}")]
    Invalid(String),
}
