//! Kustomize sources: the native builder of `ferrocd-kustomize`, with the Application's
//! own `kustomize` options applied on top of the root kustomization (as Argo CD does with
//! `kustomize edit`), and remote (Git) resources fetched through the shared repository
//! cache so that they are cached and authenticated like every other source.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrocd_kustomize::{AppOverrides, KustomizeOptions, RemoteFetcher};
use ferrocd_manifest::{Manifest, Origin};
use ferrocd_model::KustomizeSource;
use ferrocd_source::RepoCache;

use crate::RenderError;
use crate::repo_path::RepoRoot;

/// Fetches kustomize's remote resources through a [`RepoCache`].
pub struct CacheFetcher {
    cache: Arc<RepoCache>,
}

impl CacheFetcher {
    /// A fetcher over `cache`.
    pub fn new(cache: Arc<RepoCache>) -> Self {
        Self { cache }
    }
}

impl RemoteFetcher for CacheFetcher {
    fn checkout(&self, repo_url: &str, git_ref: &str) -> Result<PathBuf, String> {
        let revision = if git_ref.is_empty() { "HEAD" } else { git_ref };
        self.cache
            .checkout(repo_url, revision)
            .map(|c| c.path)
            .map_err(|e| e.to_string())
    }
}

/// Converts an Application's `spec.source.kustomize` into builder overrides.
pub fn overrides_from_model(k: &KustomizeSource, field: &str) -> Result<AppOverrides, RenderError> {
    let mut replicas = Vec::new();
    for (i, r) in k.replicas.iter().enumerate() {
        let count = r.count.as_ref().and_then(|c| c.as_int()).ok_or_else(|| {
            RenderError::Spec(format!(
                "{field}.kustomize.replicas[{i}].count: must be an integer"
            ))
        })?;
        replicas.push(ferrocd_kustomize::Replica {
            name: r.name.clone(),
            count,
        });
    }
    let mut patches = Vec::new();
    for (i, p) in k.patches.iter().enumerate() {
        let value = serde_json::to_value(p)
            .map_err(|e| RenderError::Spec(format!("{field}.kustomize.patches[{i}]: {e}")))?;
        let patch: ferrocd_kustomize::Patch = serde_json::from_value(value)
            .map_err(|e| RenderError::Spec(format!("{field}.kustomize.patches[{i}]: {e}")))?;
        patches.push(patch);
    }
    Ok(AppOverrides {
        name_prefix: k.name_prefix.clone(),
        name_suffix: k.name_suffix.clone(),
        images: k.images.clone(),
        common_labels: k.common_labels.clone().into_iter().collect(),
        common_annotations: k.common_annotations.clone().into_iter().collect(),
        force_common_labels: k.force_common_labels.unwrap_or(false),
        force_common_annotations: k.force_common_annotations.unwrap_or(false),
        label_without_selector: k.label_without_selector.unwrap_or(false),
        label_include_templates: k.label_include_templates.unwrap_or(false),
        namespace: k.namespace.clone(),
        replicas,
        patches,
        components: k.components.clone(),
    })
}

/// Builds the kustomization in `dir`, never reading outside `repo`.
pub fn render_kustomization(
    repo: &RepoRoot,
    dir: &Path,
    mut opts: KustomizeOptions,
    overrides: Option<&AppOverrides>,
) -> Result<Vec<Manifest>, RenderError> {
    opts.repo_root = Some(repo.path().to_path_buf());
    let objects = match overrides {
        Some(o) => ferrocd_kustomize::build_with(dir, &opts, o),
        None => ferrocd_kustomize::build(dir, &opts),
    }
    .map_err(|e| RenderError::Kustomize(e.to_string()))?;
    let file = format!("{}/kustomization.yaml", repo.display_rel(dir));
    Ok(objects
        .into_iter()
        .map(|object| Manifest {
            object,
            origin: Origin {
                file: file.clone(),
                line: 0,
            },
        })
        .collect())
}
