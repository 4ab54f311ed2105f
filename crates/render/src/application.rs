//! Rendering of an Argo CD `Application`: fetch every source at its revision, pick the
//! renderer per source, and put the manifests together in source order.
//!
//! Multi-source applications (`spec.sources`) work as in Argo CD: a source with `ref`
//! (and no `path`) only lends its files to the others, e.g. Helm value files written as
//! `$values/envs/prod/values.yaml`; a source with a `path` is rendered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrocd_manifest::Manifest;
use ferrocd_model::{Application, ApplicationSource};
use ferrocd_source::RepoCache;
use tracing::debug;

use crate::directory::{DirectoryOptions, render_directory};
use crate::jsonnet::JsonnetOptions;
use crate::repo_path::RepoRoot;
use crate::{RenderError, SourceType, detect_source_type};

/// Options of one render of an Application.
#[derive(Debug, Clone, Default)]
pub struct AppRenderOptions {
    /// Render at this revision instead of each source's `targetRevision`.
    pub revision: Option<String>,
}

/// The result of rendering one source.
#[derive(Debug, Clone)]
pub struct RenderedSource {
    /// The source's repository URL.
    pub repo_url: String,
    /// The source's path inside the repository (empty for ref-only sources).
    pub path: String,
    /// The commit the revision resolved to.
    pub commit: String,
    /// How it was rendered; `None` for a ref-only source.
    pub source_type: Option<SourceType>,
    /// Its manifests.
    pub manifests: Vec<Manifest>,
}

/// The result of rendering an Application.
#[derive(Debug, Clone, Default)]
pub struct RenderedApp {
    /// Per source, in `spec.sources` order.
    pub sources: Vec<RenderedSource>,
}

impl RenderedApp {
    /// All manifests, in source order.
    pub fn manifests(&self) -> impl Iterator<Item = &Manifest> {
        self.sources.iter().flat_map(|s| s.manifests.iter())
    }

    /// The resolved commit of every source, in source order.
    pub fn revisions(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.commit.as_str()).collect()
    }
}

/// A fetched source: its repository snapshot and the commit it is at.
struct Fetched<'a> {
    source: &'a ApplicationSource,
    commit: String,
    repo: RepoRoot,
}

/// Renders Applications, fetching their Git sources through a shared [`RepoCache`].
pub struct AppRenderer {
    cache: Arc<RepoCache>,
}

impl AppRenderer {
    /// A renderer that fetches through `cache`.
    pub fn new(cache: Arc<RepoCache>) -> Self {
        Self { cache }
    }

    /// Renders every source of `app`.
    pub fn render(
        &self,
        app: &Application,
        opts: &AppRenderOptions,
    ) -> Result<RenderedApp, RenderError> {
        let sources = app.spec.sources_list();
        if sources.is_empty() {
            return Err(RenderError::Spec(
                "spec.source: required (or spec.sources)".to_string(),
            ));
        }
        // Fetch everything first: `$ref` value files need the other sources' files.
        let mut fetched = Vec::with_capacity(sources.len());
        // Unpacked repository charts, kept until rendering is done.
        let mut charts = Vec::new();
        for (index, source) in sources.iter().enumerate() {
            if source.is_helm_repo() {
                // A chart from a Helm repository or OCI registry: its version is the
                // source's revision, its unpacked folder the "repository".
                let revision = opts
                    .revision
                    .as_deref()
                    .or(source.target_revision.as_deref())
                    .unwrap_or_default();
                let field = format!("spec.sources[{index}]");
                let chart = crate::helm::fetch_repo_chart(&self.cache, source, revision, &field)?;
                debug!(repo = %source.repo_url, revision, version = %chart.version, "fetched chart");
                fetched.push(Fetched {
                    source,
                    commit: chart.version.clone(),
                    repo: RepoRoot::new(chart.dir())?,
                });
                charts.push(chart);
                continue;
            }
            let revision = opts
                .revision
                .as_deref()
                .unwrap_or_else(|| source.target_revision_or_head());
            let checkout = self.cache.checkout(&source.repo_url, revision)?;
            debug!(repo = %source.repo_url, revision, commit = %checkout.commit, "fetched source");
            fetched.push(Fetched {
                source,
                commit: checkout.commit,
                repo: RepoRoot::new(&checkout.path)?,
            });
        }
        let refs: BTreeMap<String, &RepoRoot> = fetched
            .iter()
            .filter_map(|f| {
                f.source
                    .ref_name
                    .as_deref()
                    .map(|r| (r.to_string(), &f.repo))
            })
            .collect();
        let multi = sources.len() > 1 || app.has_multiple_sources();
        let mut rendered = RenderedApp::default();
        for (index, f) in fetched.iter().enumerate() {
            let field = if multi {
                format!("spec.sources[{index}]")
            } else {
                "spec.source".to_string()
            };
            let path = f.source.path.clone().unwrap_or_default();
            let ref_only = f.source.ref_name.is_some() && path.is_empty();
            let (source_type, manifests) = if ref_only {
                (None, Vec::new())
            } else {
                let (t, m) = render_source(app, f, &refs, &field, &self.cache)?;
                (Some(t), m)
            };
            rendered.sources.push(RenderedSource {
                repo_url: f.source.repo_url.clone(),
                path,
                commit: f.commit.clone(),
                source_type,
                manifests,
            });
        }
        Ok(rendered)
    }
}

fn render_source(
    app: &Application,
    f: &Fetched<'_>,
    refs: &BTreeMap<String, &RepoRoot>,
    field: &str,
    cache: &Arc<RepoCache>,
) -> Result<(SourceType, Vec<Manifest>), RenderError> {
    let source = f.source;
    let rel = source.path.as_deref().unwrap_or(".");
    let rel = if rel.is_empty() { "." } else { rel };
    let dir = f.repo.resolve(f.repo.path(), rel, "path")?;
    if !dir.is_dir() {
        return Err(RenderError::Spec(format!(
            "{field}.path: {rel:?} is not a directory"
        )));
    }
    let explicit = source.explicit_types();
    let source_type = match explicit.as_slice() {
        [] => detect_source_type(&dir),
        [one] => *one,
        many => {
            return Err(RenderError::Spec(format!(
                "{field}: only one of helm, kustomize, directory, plugin may be set (found {})",
                many.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let manifests = match source_type {
        SourceType::Directory => {
            let d = source.directory.clone().unwrap_or_default();
            let opts = DirectoryOptions {
                recurse: d.recurse.unwrap_or(false),
                include: d.include.clone(),
                exclude: d.exclude.clone(),
                // Argo CD evaluates *.jsonnet files of every directory source.
                jsonnet: Some(
                    d.jsonnet
                        .as_ref()
                        .map(JsonnetOptions::from_model)
                        .unwrap_or_default(),
                ),
            };
            render_directory(&f.repo, &dir, &opts)?
        }
        SourceType::Helm => {
            let scratch = tempfile::tempdir().map_err(|source| RenderError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
            let opts = crate::helm::options_for_source(
                app,
                source.helm.as_ref(),
                &f.repo,
                &dir,
                refs,
                scratch.path(),
                field,
            )?;
            crate::helm::render_helm_chart(&dir, &opts)?
        }
        SourceType::Kustomize => {
            let overrides = source
                .kustomize
                .as_ref()
                .map(|k| crate::kustomize::overrides_from_model(k, field))
                .transpose()?;
            // Charts referenced by `helmCharts` are rendered in-process and can never
            // read outside the repository, so they are always enabled for Applications
            // (Argo CD needs `--enable-helm` in its kustomize build options for this).
            let opts = ferrocd_kustomize::KustomizeOptions {
                enable_helm: true,
                remote: Some(Arc::new(crate::kustomize::CacheFetcher::new(cache.clone()))),
                ..Default::default()
            };
            crate::kustomize::render_kustomization(&f.repo, &dir, opts, overrides.as_ref())?
        }
        SourceType::Plugin => {
            return Err(RenderError::Unsupported(format!(
                "config management plugin ({field} of application {})",
                app.name()
            )));
        }
    };
    Ok((source_type, manifests))
}

/// Resolves a Helm value file of a source: `$<ref>/path` inside the referenced source's
/// repository, an `http(s)://` URL as is, otherwise relative to the chart folder. Any
/// escape from the repository is refused. Returns `None` for a missing file when
/// `ignore_missing` is set.
pub fn resolve_value_file(
    repo: &RepoRoot,
    chart_dir: &Path,
    value_file: &str,
    refs: &BTreeMap<String, &RepoRoot>,
    ignore_missing: bool,
) -> Result<Option<ValueFile>, RenderError> {
    if value_file.starts_with("http://") || value_file.starts_with("https://") {
        return Ok(Some(ValueFile::Url(value_file.to_string())));
    }
    let result = if let Some(rest) = value_file.strip_prefix('$') {
        let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(ref_repo) = refs.get(name) else {
            return Err(RenderError::Spec(format!(
                "value file {value_file:?}: no source has ref {name:?}"
            )));
        };
        ref_repo.resolve(ref_repo.path(), path, "value file")
    } else {
        repo.resolve(chart_dir, value_file, "value file")
    };
    match result {
        Ok(path) => Ok(Some(ValueFile::Path(path))),
        Err(RenderError::NotFound { .. }) if ignore_missing => Ok(None),
        Err(e) => Err(e),
    }
}

/// Where a Helm value file is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueFile {
    /// A file inside a repository snapshot (canonical path).
    Path(PathBuf),
    /// A remote file.
    Url(String),
}
