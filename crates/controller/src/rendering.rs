//! Rendering for the controller, cached by commit and source parameters.
//!
//! A branch or tag is resolved to a commit at most once per `revision_ttl` per repository
//! and revision (a webhook push or a hard refresh forgets it sooner); the rendered
//! manifests are kept by (application, sources, commits), so thousands of applications
//! refreshing at the same commit render once each and fetch once per repository.
//!
//! A new commit usually changes a few folders of a monorepo. A render is also kept by
//! the content it was made from — the Git tree ids of the paths that generate it — and
//! reused at a new commit whose trees are the same (with the new revision): for plain
//! directory sources (their files are all that is read) and, as in Argo CD, for sources
//! whose Application lists its paths in `argocd.argoproj.io/manifest-generate-paths`.

use std::sync::Arc;
use std::time::Instant;

use ferrocd_model::{Application, ApplicationSource, SourceType};
use ferrocd_render::application::{AppRenderOptions, AppRenderer, RenderedApp};
use sha2::{Digest as _, Sha256};

use crate::controller::Shared;
use crate::metrics::GitRequestType;

/// Renders cached at most; beyond it the cache starts over (apps re-render on their next
/// refresh).
const MAX_RENDERS: usize = 20_000;

/// Argo CD's annotation listing the paths an application's manifests are generated from.
pub(crate) const MANIFEST_GENERATE_PATHS: &str = "argocd.argoproj.io/manifest-generate-paths";

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
    let key = render_key(app, &sources, commits.iter().map(String::as_str));
    if !hard && let Some(hit) = shared.renders.lock().get(&key) {
        return Ok(hit.clone());
    }
    let content = content_key(shared, app, &sources, &commits).await;
    // (The lock is released before `remember` takes it again.)
    let earlier = match &content {
        Some(content) if !hard => shared.renders.lock().get(content).cloned(),
        _ => None,
    };
    if let Some(earlier) = earlier {
        let mut reused = (*earlier).clone();
        for (source, commit) in reused.sources.iter_mut().zip(&commits) {
            source.commit = commit.clone();
        }
        let reused = Arc::new(reused);
        remember(shared, key, &reused);
        return Ok(reused);
    }
    // A single Git source renders at the resolved commit, so the result matches the key
    // even if the branch moves meanwhile.
    let pinned = match (sources.len(), sources.first()) {
        (1, Some(s)) if !s.is_helm_repo() => commits.first().cloned(),
        _ => revision.map(str::to_string),
    };
    let renderer = AppRenderer::new(shared.repo_cache.clone());
    let owned = app.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        renderer.render(&owned, &AppRenderOptions { revision: pinned })
    })
    .await
    .map_err(|e| format!("rendering task failed: {e}"))?
    .map_err(|e| e.to_string())?;
    let rendered = Arc::new(rendered);
    remember(shared, key, &rendered);
    if let Some(content) = content {
        remember(shared, content, &rendered);
    }
    Ok(rendered)
}

fn remember(shared: &Shared, key: String, rendered: &Arc<RenderedApp>) {
    let mut renders = shared.renders.lock();
    if renders.len() >= MAX_RENDERS {
        renders.clear();
    }
    renders.insert(key, rendered.clone());
}

/// The key of a render: what the renderers read besides the repository — the
/// application's name (Helm's release name), its destination (namespace) and its sources
/// — and one version word per source (a commit, or the tree ids of a content key).
fn render_key<'a>(
    app: &Application,
    sources: &[&ApplicationSource],
    versions: impl Iterator<Item = &'a str>,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(app.name().as_bytes());
    hasher.update(b"\0");
    hasher.update(serde_json::to_vec(&app.spec.destination).unwrap_or_default());
    hasher.update(b"\0");
    hasher.update(serde_json::to_vec(sources).unwrap_or_default());
    for version in versions {
        hasher.update(b"\0");
        hasher.update(version.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The key of what `app` renders from at `commits`, when that is known from Git tree ids
/// alone (see the module documentation); `None` when it is not, or Git cannot tell.
async fn content_key(
    shared: &Arc<Shared>,
    app: &Application,
    sources: &[&ApplicationSource],
    commits: &[String],
) -> Option<String> {
    if sources.iter().any(|s| s.is_helm_repo()) {
        return None;
    }
    let annotation = app
        .metadata
        .annotations
        .get(MANIFEST_GENERATE_PATHS)
        .filter(|a| !a.trim().is_empty())
        .cloned();
    // Without the annotation only a single plain-directory source qualifies: one whose
    // folder has no kustomization, chart, Jsonnet or links (those read other files).
    if annotation.is_none()
        && (sources.len() != 1
            || !sources[0]
                .explicit_types()
                .iter()
                .all(|t| *t == SourceType::Directory))
    {
        return None;
    }
    let mut wanted: Vec<(String, String, String)> = Vec::new();
    for (source, commit) in sources.iter().zip(commits) {
        let path = source.path.clone().unwrap_or_default();
        let paths = match &annotation {
            Some(a) => crate::webhook::generating_paths(&path, a),
            None => vec![path],
        };
        for p in paths {
            wanted.push((source.repo_url.clone(), commit.clone(), p));
        }
    }
    let cache = shared.repo_cache.clone();
    let plain = annotation.is_none();
    let trees = tokio::task::spawn_blocking(move || {
        let mut ids = Vec::with_capacity(wanted.len());
        for (url, commit, path) in &wanted {
            match cache.path_tree(url, commit, path) {
                Ok(Some(tree)) => {
                    if plain && !plain_directory(&tree) {
                        return None;
                    }
                    ids.push(format!("{url}\0{path}\0{}", tree.id));
                }
                // A listed path that does not exist (yet) is part of the content too.
                Ok(None) if !plain => ids.push(format!("{url}\0{path}\0-")),
                Ok(None) | Err(_) => return None,
            }
        }
        Some(ids)
    })
    .await
    .ok()??;
    let mut words = vec!["content".to_string()];
    words.extend(trees);
    Some(render_key(app, sources, words.iter().map(String::as_str)))
}

/// Whether a folder renders from its own files only: a plain directory source (no
/// kustomization or chart) without Jsonnet (which imports) or links (which point away).
fn plain_directory(tree: &ferrocd_source::PathTree) -> bool {
    let top = |name: &str| tree.files.iter().any(|f| f == name);
    ferrocd_render::detect_source_type_by(top) == SourceType::Directory
        && !tree.has_links
        && !tree
            .files
            .iter()
            .any(|f| f.ends_with(".jsonnet") || f.ends_with(".libsonnet"))
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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use ferrocd_cluster::testing::TestCluster;
    use ferrocd_source::testing::git;
    use serde_json::{Value, json};

    use super::*;
    use crate::{Controller, ControllerConfig, Metrics};

    fn write(repo: &Path, file: &str, text: &str) {
        let path = repo.join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn config_map(name: &str, version: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  MODEL_VERSION: \"{version}\"\n"
        )
    }

    fn app(name: &str, repo_url: &str, path: &str, annotations: Value) -> Application {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "argocd", "annotations": annotations},
            "spec": {"project": "default",
                "source": {"repoURL": repo_url, "targetRevision": "main", "path": path},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": name}}
        }))
        .expect("application")
    }

    /// Whether the repository cache materialized `commit` (a render that reuses an
    /// earlier one never does).
    fn snapshot_exists(cache: &Path, commit: &str) -> bool {
        let snapshots = cache.join("snapshots");
        std::fs::read_dir(&snapshots)
            .map(|mirrors| {
                mirrors
                    .flatten()
                    .any(|mirror| mirror.path().join(commit).is_dir())
            })
            .unwrap_or(false)
    }

    fn versions(rendered: &RenderedApp) -> Vec<String> {
        rendered
            .manifests()
            .map(|m| {
                m.object["data"]["MODEL_VERSION"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    }

    async fn controller(cache: &Path) -> (TestCluster, Controller) {
        let tc = TestCluster::start().await;
        tc.cluster
            .install_crds(&ferrocd_model::crds(), Duration::from_secs(10))
            .await
            .expect("CRDs");
        let config = ControllerConfig {
            app_resync: Duration::from_secs(600),
            repo_cache_dir: cache.to_path_buf(),
            ..Default::default()
        };
        let controller = Controller::start(config, tc.cluster.clone(), Arc::new(Metrics::new()))
            .await
            .expect("controller");
        (tc, controller)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_commit_reuses_the_renders_of_folders_it_did_not_change() {
        let repo = tempfile::tempdir().expect("repo");
        let dir = repo.path();
        git(dir, &["init", "-q", "-b", "main"]);
        write(dir, "apps/fraud/config.yaml", &config_map("fraud", "1.0.0"));
        write(dir, "apps/churn/config.yaml", &config_map("churn", "1.0.0"));
        write(
            dir,
            "apps/ranker/base/config.yaml",
            &config_map("ranker", "1.0.0"),
        );
        write(
            dir,
            "apps/ranker/base/kustomization.yaml",
            "resources: [config.yaml]\n",
        );
        write(
            dir,
            "apps/ranker/prod/kustomization.yaml",
            "resources: [../base]\n",
        );
        write(
            dir,
            "apps/forecast/config.jsonnet",
            "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'forecast'}, data: {MODEL_VERSION: '1.0.0'}}\n",
        );
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "four model servers"]);
        let first = git(dir, &["rev-parse", "HEAD"]);
        let cache = tempfile::tempdir().expect("cache");
        let (_tc, controller) = controller(cache.path()).await;
        let shared = controller.shared();
        let url = format!("file://{}", dir.display());
        let fraud = app("fraud", &url, "apps/fraud", json!({}));
        let churn = app("churn", &url, "apps/churn", json!({}));
        let forecast = app("forecast", &url, "apps/forecast", json!({}));
        // The overlay reads ../base: only the annotation says so.
        let annotated = json!({MANIFEST_GENERATE_PATHS: ".;../base"});
        let ranker = app("ranker", &url, "apps/ranker/prod", annotated);
        let ranker_plain = app("ranker-plain", &url, "apps/ranker/prod", json!({}));
        for a in [&fraud, &churn, &forecast, &ranker, &ranker_plain] {
            let rendered = render(&shared, a, None, false).await.expect("render");
            assert_eq!(rendered.revisions(), vec![first.as_str()]);
        }

        // A commit that changes churn and the ranker's base.
        write(dir, "apps/churn/config.yaml", &config_map("churn", "1.1.0"));
        write(
            dir,
            "apps/ranker/base/config.yaml",
            &config_map("ranker", "1.1.0"),
        );
        git(dir, &["commit", "-q", "-am", "churn and ranker 1.1.0"]);
        let second = git(dir, &["rev-parse", "HEAD"]);
        shared.revisions.lock().clear();

        // Unchanged plain folder: the earlier render, at the new revision, without
        // materializing the new commit.
        let rendered = render(&shared, &fraud, None, false).await.expect("fraud");
        assert_eq!(rendered.revisions(), vec![second.as_str()]);
        assert_eq!(versions(&rendered), vec!["1.0.0"]);
        assert!(
            !snapshot_exists(cache.path(), &second),
            "fraud was rendered again"
        );
        // The annotated overlay whose base changed renders again.
        let rendered = render(&shared, &ranker, None, false).await.expect("ranker");
        assert_eq!(versions(&rendered), vec!["1.1.0"]);
        assert!(snapshot_exists(cache.path(), &second));
        // Changed folder, Jsonnet, and a kustomization without the annotation: rendered.
        let rendered = render(&shared, &churn, None, false).await.expect("churn");
        assert_eq!(versions(&rendered), vec!["1.1.0"]);
        let rendered = render(&shared, &ranker_plain, None, false)
            .await
            .expect("ranker");
        assert_eq!(versions(&rendered), vec!["1.1.0"]);
        let rendered = render(&shared, &forecast, None, false)
            .await
            .expect("forecast");
        assert_eq!(rendered.revisions(), vec![second.as_str()]);

        // A third commit that touches none of the ranker's paths: reused, at the new revision.
        write(dir, "apps/fraud/config.yaml", &config_map("fraud", "2.0.0"));
        git(dir, &["commit", "-q", "-am", "fraud 2.0.0"]);
        let third = git(dir, &["rev-parse", "HEAD"]);
        shared.revisions.lock().clear();
        let rendered = render(&shared, &ranker, None, false).await.expect("ranker");
        assert_eq!(rendered.revisions(), vec![third.as_str()]);
        assert_eq!(versions(&rendered), vec!["1.1.0"]);
        assert!(
            !snapshot_exists(cache.path(), &third),
            "ranker was rendered again"
        );
        // A hard refresh never reuses.
        render(&shared, &ranker, None, true).await.expect("hard");
        assert!(snapshot_exists(cache.path(), &third));
        controller.shutdown().await;
    }

    /// Regression: renders were kept by sources and commits only, so two Applications of
    /// one Helm chart shared the first one's release name and namespace.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn renders_are_kept_per_application() {
        let repo = tempfile::tempdir().expect("repo");
        let dir = repo.path();
        git(dir, &["init", "-q", "-b", "main"]);
        write(
            dir,
            "charts/model-server/Chart.yaml",
            "apiVersion: v2\nname: model-server\nversion: 0.3.0\n",
        );
        write(
            dir,
            "charts/model-server/templates/config.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n  namespace: {{ .Release.Namespace }}\ndata:\n  MODEL_VERSION: \"3.0.0\"\n",
        );
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "model server chart"]);
        let cache = tempfile::tempdir().expect("cache");
        let (_tc, controller) = controller(cache.path()).await;
        let shared = controller.shared();
        let url = format!("file://{}", dir.display());
        for name in ["fraud-dev", "fraud-prod"] {
            let a = app(name, &url, "charts/model-server", json!({}));
            let rendered = render(&shared, &a, None, false).await.expect("render");
            let object = &rendered.manifests().next().expect("one object").object;
            assert_eq!(object["metadata"]["name"], format!("{name}-config"));
            assert_eq!(object["metadata"]["namespace"], name);
        }
        controller.shutdown().await;
    }
}
