//! Helm sources: a chart folder in a Git snapshot — or a chart from a Helm repository or
//! OCI registry ([`fetch_repo_chart`]) — rendered by the native `ferrocd-helm` renderer
//! with the Application's `helm` options, as Argo CD passes them to `helm template`
//! (release name, namespace, value files — also `$ref/...` from other sources —,
//! values/valuesObject, parameters, file parameters, CRDs, tests, versions). Value files
//! given as http(s) URLs are fetched by [`crate::remote_values`] into the scratch folder.

use std::collections::BTreeMap;
use std::path::Path;

use ferrocd_helm::{RenderOptions, render_chart};
use ferrocd_manifest::{Manifest, Origin};
use ferrocd_model::{Application, ApplicationSource, HelmSource};
use ferrocd_source::{FetchOptions, HelmRepoClient, RepoCache};

use crate::RenderError;
use crate::application::{ValueFile, resolve_value_file};
use crate::remote_values::{RemoteValuesOptions, fetch_value_file};
use crate::repo_path::RepoRoot;

/// Renders the chart in `chart_dir` into manifests, in Helm's install order.
/// `extra_values` (a temp file written for `values`/`valuesObject`) comes last.
pub fn render_helm_chart(
    chart_dir: &Path,
    opts: &RenderOptions,
) -> Result<Vec<Manifest>, RenderError> {
    let docs = render_chart(chart_dir, opts).map_err(|e| RenderError::Helm(e.to_string()))?;
    Ok(docs
        .into_iter()
        .filter(|d| d.object.is_object())
        .map(|d| Manifest {
            object: d.object,
            origin: Origin {
                file: d.source,
                line: 1,
            },
        })
        .collect())
}

/// Builds the `helm template` options of an Application source. Value files are
/// resolved inside their repositories; inline values are written to `scratch`.
pub fn options_for_source(
    app: &Application,
    helm: Option<&HelmSource>,
    repo: &RepoRoot,
    chart_dir: &Path,
    refs: &BTreeMap<String, &RepoRoot>,
    scratch: &Path,
    field: &str,
) -> Result<RenderOptions, RenderError> {
    let default = HelmSource::default();
    let helm = helm.unwrap_or(&default);
    let mut opts = RenderOptions {
        release_name: helm
            .release_name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| app.name().to_string()),
        namespace: helm
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| app.spec.destination.namespace.clone())
            .unwrap_or_default(),
        // Argo CD renders CRDs unless skipCrds is set.
        include_crds: !helm.skip_crds.unwrap_or(false),
        skip_crds: helm.skip_crds.unwrap_or(false),
        skip_tests: helm.skip_tests.unwrap_or(false),
        kube_version: helm.kube_version.clone().unwrap_or_default(),
        api_versions: helm.api_versions.clone(),
        ..Default::default()
    };
    let ignore_missing = helm.ignore_missing_value_files.unwrap_or(false);
    for (i, value_file) in helm.value_files.iter().enumerate() {
        match resolve_value_file(repo, chart_dir, value_file, refs, ignore_missing)? {
            Some(ValueFile::Path(path)) => opts.value_files.push(path),
            Some(ValueFile::Url(url)) => {
                let body = fetch_value_file(&url, &RemoteValuesOptions::default())
                    .map_err(|e| RenderError::Spec(format!("{field}.helm.valueFiles[{i}]: {e}")))?;
                let path = scratch.join(format!("remote-values-{i}.yaml"));
                std::fs::write(&path, body).map_err(|source| RenderError::Io {
                    path: path.clone(),
                    source,
                })?;
                opts.value_files.push(path);
            }
            None => {}
        }
    }
    let inline = match (&helm.values_object, &helm.values) {
        (Some(object), _) => Some(
            serde_json::to_string(object)
                .map_err(|e| RenderError::Spec(format!("{field}.helm.valuesObject: {e}")))?,
        ),
        (None, Some(text)) if !text.trim().is_empty() => Some(text.clone()),
        _ => None,
    };
    if let Some(text) = inline {
        let path = scratch.join("inline-values.yaml");
        std::fs::write(&path, text).map_err(|source| RenderError::Io {
            path: path.clone(),
            source,
        })?;
        opts.value_files.push(path);
    }
    for p in &helm.parameters {
        let expr = format!("{}={}", p.name, p.value.clone().unwrap_or_default());
        if p.force_string.unwrap_or(false) {
            opts.set_string.push(expr);
        } else {
            opts.set.push(expr);
        }
    }
    for (i, p) in helm.file_parameters.iter().enumerate() {
        let rel = p.path.clone();
        let path = repo
            .resolve(chart_dir, &rel, "file parameter")
            .map_err(|e| match e {
                RenderError::NotFound { .. } => RenderError::Spec(format!(
                    "{field}.helm.fileParameters[{i}].path: {rel:?} does not exist"
                )),
                other => other,
            })?;
        opts.set_file.push(format!("{}={}", p.name, path.display()));
    }
    Ok(opts)
}

/// A chart fetched from a Helm repository or OCI registry, unpacked into a temporary
/// folder that lives as long as this value.
#[derive(Debug)]
pub struct RepoChart {
    /// The chart version picked (the source's resolved revision).
    pub version: String,
    /// The archive's SHA-256.
    pub digest: String,
    folder: tempfile::TempDir,
    dir: std::path::PathBuf,
}

impl RepoChart {
    /// The chart folder (its `Chart.yaml` is directly inside).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The temporary folder holding the chart.
    pub fn root(&self) -> &Path {
        self.folder.path()
    }
}

/// Whether a chart source is an OCI registry: an `oci://` URL, or a Helm repository
/// entry marked `enableOCI` for that URL.
fn is_oci(cache: &RepoCache, repo_url: &str) -> bool {
    let trimmed = repo_url.trim_end_matches('/');
    repo_url.starts_with("oci://")
        || cache
            .credentials()
            .repositories()
            .iter()
            .any(|e| e.enable_oci && e.url.trim_end_matches('/') == trimmed)
}

/// Fetches the chart of a source with `chart:` (from `repoURL` at `revision`: a version
/// or a constraint) through the cache's credentials, caching archives under
/// `<cache root>/charts`, and unpacks it for rendering.
pub fn fetch_repo_chart(
    cache: &RepoCache,
    source: &ApplicationSource,
    revision: &str,
    field: &str,
) -> Result<RepoChart, RenderError> {
    let chart = source.chart.as_deref().unwrap_or_default();
    let repo_url = source.repo_url.as_str();
    let client = HelmRepoClient::new(cache.root().join("charts"), cache.credentials().clone());
    let opts = FetchOptions {
        pass_credentials: source
            .helm
            .as_ref()
            .and_then(|h| h.pass_credentials)
            .unwrap_or(false),
        ..FetchOptions::default()
    };
    let fetched = if is_oci(cache, repo_url) {
        client.fetch_oci_chart(repo_url, chart, revision, &opts)?
    } else if repo_url.starts_with("http://") || repo_url.starts_with("https://") {
        client.fetch_chart(repo_url, chart, revision, &opts)?
    } else {
        return Err(RenderError::Spec(format!(
            "{field}.repoURL: {:?} is not a Helm repository (http, https or oci URL expected)",
            ferrocd_source::url::redact(repo_url)
        )));
    };
    let data = std::fs::read(&fetched.archive).map_err(|source| RenderError::Io {
        path: fetched.archive.clone(),
        source,
    })?;
    let folder = tempfile::tempdir().map_err(|source| RenderError::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let dir = folder.path().join(&fetched.name);
    ferrocd_helm::archive::extract(&data, &fetched.archive, &dir)
        .map_err(|e| RenderError::Helm(e.to_string()))?;
    Ok(RepoChart {
        version: fetched.version,
        digest: fetched.digest,
        folder,
        dir,
    })
}
