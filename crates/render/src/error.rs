//! Errors of rendering a source.

use std::path::PathBuf;

/// Why a source could not be rendered. Every variant names what failed and where; the
/// CLI maps [`RenderError::Unsupported`] to exit code 3 and everything else to 1.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A user-given path leaves its repository (`..`, absolute, or a symlink).
    #[error("{what} {path:?} {reason}: refusing to read outside the repository")]
    OutsideRepository {
        /// What kind of path it was (`path`, `file`, `value file`, `include glob`, ...).
        what: &'static str,
        /// The path as the user wrote it.
        path: String,
        /// How it escapes (`is absolute`, `escapes with ..`, `is a symlink to /etc`).
        reason: String,
    },
    /// A path that must exist does not.
    #[error("{what} {path:?} does not exist in {root}")]
    NotFound {
        /// What kind of path it was.
        what: &'static str,
        /// The path as the user wrote it.
        path: String,
        /// Where it was looked for.
        root: String,
    },
    /// A file could not be read.
    #[error("reading {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A manifest file is not valid YAML/JSON or not a Kubernetes object.
    #[error(transparent)]
    Parse(#[from] ferrocd_manifest::ParseError),
    /// A glob given as include/exclude is malformed.
    #[error("invalid {which} glob {glob:?}: {message}")]
    Glob {
        /// `include` or `exclude`.
        which: &'static str,
        /// The glob.
        glob: String,
        /// What is wrong with it.
        message: String,
    },
    /// Jsonnet evaluation failed; `message` carries Jsonnet's own positioned message.
    #[error("{file}: jsonnet: {message}")]
    Jsonnet {
        /// The entry file.
        file: String,
        /// The evaluator's message (with file:line:col positions).
        message: String,
    },
    /// The Jsonnet output is not an object or a list of objects.
    #[error("{file}: jsonnet output {message}")]
    JsonnetOutput {
        /// The entry file.
        file: String,
        /// What is wrong with the output.
        message: String,
    },
    /// The Application itself is invalid.
    #[error(transparent)]
    Model(#[from] ferrocd_model::ModelError),
    /// The Application's spec cannot be rendered as written.
    #[error("{0}")]
    Spec(String),
    /// Fetching a Git source failed.
    #[error(transparent)]
    Source(#[from] ferrocd_source::SourceError),
    /// Kustomize could not build the kustomization (message as kustomize words it).
    #[error("{0}")]
    Kustomize(String),
    /// Helm could not render the chart (message as helm words it).
    #[error("{0}")]
    Helm(String),
    /// The source type has no renderer yet.
    #[error("{0} sources are not supported yet")]
    Unsupported(String),
}
