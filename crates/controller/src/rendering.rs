//! Rendering for the controller, cached by commit and source parameters.
//!
//! A branch or tag is resolved to a commit at most once per `revision_ttl` per repository
//! and revision (a webhook push or a hard refresh forgets it sooner); the rendered
//! manifests are kept by (sources, commits), so thousands of applications refreshing at
//! the same commit render once each and fetch once per repository.

use std::sync::Arc;
use std::time::Instant;

use ferrocd_model::Application;
use ferrocd_render::application::{AppRenderOptions, AppRenderer, RenderedApp};
use sha2::{Digest as _, Sha256};

use crate::controller::Shared;
use crate::metrics::GitRequestType;

/// Renders cached at most; beyond it the cache starts over (apps re-render on their next
/// refresh).
const MAX_RENDERS: usize = 20_000;

/// Renders `app` at its target revisions (or at `revision` for every source), from the
/// cache unless `hard`.
pub(crate) async fn render(
    shared: &Arc<Shared>,
    app: &Application,
    revision: Option<&str>,
    hard: bool,
) -> Result<Arc<RenderedApp>, String> {
    let sources = app.spec.sources_list();
    let mut commits = Vec::with_capacity(sources.len());
    for source in &sources {
        if source.is_helm_repo() {
            commits.push(source.target_revision.clone().unwrap_or_default());
            continue;
        }
        let wanted = revision.unwrap_or_else(|| source.target_revision_or_head());
        commits.push(resolve(shared, &source.repo_url, wanted, hard).await?);
    }
    let key = {
        let mut hasher = Sha256::new();
        hasher.update(serde_json::to_vec(&sources).unwrap_or_default());
        for c in &commits {
            hasher.update(b"\0");
            hasher.update(c.as_bytes());
        }
        hex::encode(hasher.finalize())
    };
    if !hard && let Some(hit) = shared.renders.lock().get(&key) {
        return Ok(hit.clone());
    }
    // A single Git source renders at the resolved commit, so the result matches the key
    // even if the branch moves meanwhile.
    let pinned = match (sources.len(), sources.first()) {
        (1, Some(s)) if !s.is_helm_repo() => commits.first().cloned(),
        _ => revision.map(str::to_string),
    };
    let renderer = AppRenderer::new(shared.repo_cache.clone());
    let app = app.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        renderer.render(&app, &AppRenderOptions { revision: pinned })
    })
    .await
    .map_err(|e| format!("rendering task failed: {e}"))?
    .map_err(|e| e.to_string())?;
    let rendered = Arc::new(rendered);
    let mut renders = shared.renders.lock();
    if renders.len() >= MAX_RENDERS {
        renders.clear();
    }
    renders.insert(key, rendered.clone());
    Ok(rendered)
}

/// The commit of `revision` in `repo_url`, from the revision cache when fresh.
async fn resolve(
    shared: &Arc<Shared>,
    repo_url: &str,
    revision: &str,
    hard: bool,
) -> Result<String, String> {
    let key = (repo_url.to_string(), revision.to_string());
    let ttl = shared.config.revision_ttl;
    if !hard
        && let Some((commit, at)) = shared.revisions.lock().get(&key)
        && at.elapsed() < ttl
    {
        return Ok(commit.clone());
    }
    let cache = shared.repo_cache.clone();
    let (url, rev) = key.clone();
    let started = Instant::now();
    let resolved = tokio::task::spawn_blocking(move || cache.resolve(&url, &rev))
        .await
        .map_err(|e| format!("resolving task failed: {e}"))?
        .map_err(|e| e.to_string());
    shared
        .metrics
        .observe_git_request(repo_url, GitRequestType::Fetch, started.elapsed());
    let commit = resolved?.commit;
    shared
        .revisions
        .lock()
        .insert(key, (commit.clone(), Instant::now()));
    Ok(commit)
}
