//! Resolution, snapshots and fetch policy against local repositories (`file://` and paths).

mod common;

use common::{Fixture, cache_dir};
use ferrocd_source::testing::git;
use ferrocd_source::{CredentialStore, RepoCache, RevisionKind, SourceError};

#[test]
fn every_revision_form_resolves() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = fx.bare().display().to_string();
    let main = fx.commit("main");
    let dev = fx.commit("dev");
    let cases: Vec<(&str, String, RevisionKind)> = vec![
        ("HEAD", main.clone(), RevisionKind::DefaultBranch),
        ("", main.clone(), RevisionKind::DefaultBranch),
        ("main", main.clone(), RevisionKind::Branch),
        ("dev", dev.clone(), RevisionKind::Branch),
        ("refs/heads/dev", dev.clone(), RevisionKind::Branch),
        ("v1.0.0", fx.commit("v1.0.0"), RevisionKind::Tag),
        // Annotated tag: peeled to its commit.
        ("v1.2.9", fx.commit("v1.2.9"), RevisionKind::Tag),
        ("refs/tags/v1.2.3", fx.commit("v1.2.3"), RevisionKind::Tag),
        ("1.2.*", fx.commit("v1.2.9"), RevisionKind::Constraint),
        ("1.2.x", fx.commit("v1.2.9"), RevisionKind::Constraint),
        (
            ">=1.0.0 <2.0.0",
            fx.commit("v1.2.9"),
            RevisionKind::Constraint,
        ),
        (">= 1.0, < 2", fx.commit("v1.2.9"), RevisionKind::Constraint),
        ("^1.2", fx.commit("v1.2.9"), RevisionKind::Constraint),
        ("~1.2.3", fx.commit("v1.2.9"), RevisionKind::Constraint),
        ("1.0 - 1.2.5", fx.commit("v1.2.3"), RevisionKind::Constraint),
        // Pre-releases only when asked for.
        ("*", fx.commit("v2.0.0"), RevisionKind::Constraint),
        (
            ">=2.1.0-0",
            fx.commit("v2.1.0-rc.1"),
            RevisionKind::Constraint,
        ),
        (
            "^1.0 || ^2.0",
            fx.commit("v2.0.0"),
            RevisionKind::Constraint,
        ),
        (main.as_str(), main.clone(), RevisionKind::Commit),
        (&dev[..7], dev.clone(), RevisionKind::Commit),
        (&main[..12], main.clone(), RevisionKind::Commit),
    ];
    for (rev, expected, kind) in cases {
        let resolved = cache
            .resolve(&url, rev)
            .unwrap_or_else(|e| panic!("resolving {rev:?}: {e}"));
        assert_eq!(resolved.commit, expected, "revision {rev:?}");
        assert_eq!(resolved.kind, kind, "revision {rev:?}");
    }
    let head = cache.resolve(&url, "HEAD").unwrap();
    assert_eq!(head.reference.as_deref(), Some("refs/heads/main"));
    let c = cache.resolve(&url, "1.2.*").unwrap();
    assert_eq!(c.reference.as_deref(), Some("refs/tags/v1.2.9"));
}

#[test]
fn file_url_and_path_share_one_mirror() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let path = fx.bare().display().to_string();
    let file_url = format!("file://{}/", fx.bare().display());
    let a = cache.resolve(&path, "v1.0.0").unwrap();
    let b = cache.resolve(&file_url, "v1.0.0").unwrap();
    assert_eq!(a, b);
    // The second request found the tag in the shared mirror: one fetch in total.
    assert_eq!(cache.fetch_count(), 1);
    let mirrors = std::fs::read_dir(cache_root.path().join("repos"))
        .unwrap()
        .count();
    assert_eq!(mirrors, 1);
}

#[test]
fn present_commits_and_tags_need_no_fetch_but_branches_do() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = fx.bare().display().to_string();
    cache.resolve(&url, "main").unwrap();
    assert_eq!(cache.fetch_count(), 1);
    cache.resolve(&url, &fx.commit("v1.2.3")).unwrap();
    cache.resolve(&url, &fx.commit("dev")[..8]).unwrap();
    cache.resolve(&url, "v2.0.0").unwrap();
    assert_eq!(
        cache.fetch_count(),
        1,
        "tags and commits come from the mirror"
    );
    cache.resolve(&url, "main").unwrap();
    cache.resolve(&url, "HEAD").unwrap();
    cache.resolve(&url, "^1").unwrap();
    assert_eq!(
        cache.fetch_count(),
        4,
        "branches, HEAD and constraints fetch"
    );
}

#[test]
fn moved_and_deleted_branches_are_followed() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = fx.bare().display().to_string();
    let before = cache.resolve(&url, "main").unwrap().commit;

    let work = fx.work();
    std::fs::write(work.join("apps/mlflow/README.md"), "tracking server\n").unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "docs"]);
    git(&work, &["push", "-q", "../ml-platform.git", "main"]);
    git(&fx.bare(), &["branch", "-D", "dev"]);

    let after = cache.resolve(&url, "main").unwrap().commit;
    assert_ne!(before, after);
    assert_eq!(after, fx.commit("main"));
    let err = cache.resolve(&url, "dev").unwrap_err();
    assert!(matches!(err, SourceError::RevisionNotFound { .. }), "{err}");

    // A force-push that rewinds the branch is followed too.
    let old = fx.commit("v1.2.3");
    git(&fx.bare(), &["update-ref", "refs/heads/main", &old]);
    assert_eq!(cache.resolve(&url, "main").unwrap().commit, old);
    assert_eq!(cache.resolve(&url, "HEAD").unwrap().commit, old);
}

#[test]
fn unknown_revision_names_what_is_missing() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = fx.bare().display().to_string();
    let err = cache.resolve(&url, "nope").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("repository {url}: revision \"nope\" not found (no branch, tag or commit matches)")
    );
    let err = cache
        .resolve(&url, "0000000000000000000000000000000000000000")
        .unwrap_err();
    assert!(matches!(err, SourceError::RevisionNotFound { .. }), "{err}");
    let err = cache.resolve(&url, "^7.0").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("repository {url}: no tag matches version constraint \"^7.0\"")
    );
    let err = cache.resolve(&url, "deadbeef").unwrap_err();
    assert!(matches!(err, SourceError::RevisionNotFound { .. }), "{err}");
}

#[test]
fn missing_local_repository_is_an_error() {
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let err = cache
        .resolve("/nonexistent/ferrocd/ml-platform.git", "main")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "repository /nonexistent/ferrocd/ml-platform.git: local path does not exist"
    );
    // A directory that is not a repository.
    let empty = cache_dir();
    let err = cache
        .resolve(&empty.path().display().to_string(), "main")
        .unwrap_err();
    assert!(matches!(err, SourceError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(": unreachable: "), "{err}");
}

#[cfg(unix)]
#[test]
fn snapshot_materializes_files_modes_and_symlinks() {
    use std::os::unix::fs::PermissionsExt as _;

    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = fx.bare().display().to_string();
    let checkout = cache.checkout(&url, "v2.0.0").unwrap();
    assert_eq!(checkout.commit, fx.commit("v2.0.0"));
    let root = &checkout.path;
    let deployment = std::fs::read_to_string(root.join("apps/mlflow/deployment.yaml")).unwrap();
    assert!(deployment.contains("ghcr.io/mlflow/mlflow:v2.9.2"));
    let mode = std::fs::metadata(root.join("scripts/warmup.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "executable bit kept");
    let plain = std::fs::metadata(root.join("apps/airflow/values.yaml"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(plain & 0o111, 0);
    let link = root.join("apps/model-server/escape-link");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        std::path::PathBuf::from("../../../../etc/passwd")
    );
    assert_eq!(
        std::fs::read_link(root.join("apps/model-server/mlflow-link.yaml")).unwrap(),
        std::path::PathBuf::from("../mlflow/deployment.yaml")
    );
    assert!(!root.join(".git").exists());
    assert!(
        !root.join("apps/model-server/NOTES.md").exists(),
        "file from a later commit"
    );

    // One directory per commit, returned again without rewriting.
    let again = cache.snapshot(&url, &checkout.commit).unwrap();
    assert_eq!(again, checkout.path);
    let other = cache.checkout(&url, "dev").unwrap();
    assert_ne!(other.path, checkout.path);
    assert!(
        other
            .path
            .join("apps/model-server/dev-overrides.yaml")
            .is_file()
    );
    // No staging directories are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(checkout.path.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn snapshot_rejects_non_commit_ids_and_fetches_missing_commits() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = fx.bare().display().to_string();
    let err = cache.snapshot(&url, "main").unwrap_err();
    assert!(matches!(err, SourceError::NotACommitId { .. }), "{err}");
    // Nothing fetched yet: snapshot fetches on its own.
    let path = cache.snapshot(&url, &fx.commit("v1.0.0")).unwrap();
    assert!(path.join("apps/mlflow/deployment.yaml").is_file());
    assert!(!path.join("monitoring").exists());
}

#[test]
fn concurrent_snapshots_of_one_commit_agree() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = fx.bare().display().to_string();
    let commit = cache.resolve(&url, "main").unwrap().commit;
    let paths: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| cache.snapshot(&url, &commit).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(paths.windows(2).all(|w| w[0] == w[1]));
    assert!(paths[0].join("apps/model-server/NOTES.md").is_file());
}

#[test]
fn read_file_reads_from_the_object_database() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = fx.bare().display().to_string();
    let commit = cache.resolve(&url, "v1.2.3").unwrap().commit;
    let rules = cache
        .read_file(&url, &commit, "monitoring/prometheus-rules.yaml")
        .unwrap();
    assert!(
        String::from_utf8(rules.unwrap())
            .unwrap()
            .contains("ModelServerP99High")
    );
    assert_eq!(
        cache.read_file(&url, &commit, "scripts/warmup.sh").unwrap(),
        None
    );
    assert_eq!(cache.read_file(&url, &commit, "monitoring").unwrap(), None);
}

#[test]
fn refs_outside_branches_and_unadvertised_commits_are_fetched_on_demand() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = format!("file://{}", fx.bare().display());
    let pr = fx.commit("refs/pull/7/head");
    assert_ne!(pr, fx.commit("main"));

    let by_ref = cache.resolve(&url, "refs/pull/7/head").unwrap();
    assert_eq!(by_ref.commit, pr);
    assert_eq!(by_ref.kind, RevisionKind::Reference);

    // A fresh cache: the commit is reachable from no mirrored ref, so it is asked for by id.
    let fresh = RepoCache::new(cache_dir().path(), CredentialStore::new());
    let by_id = fresh.resolve(&url, &pr).unwrap();
    assert_eq!(by_id.commit, pr);
    let checkout = fresh.checkout(&url, &pr).unwrap();
    assert!(
        checkout
            .path
            .join("apps/model-server/quantization.yaml")
            .is_file()
    );

    // Dropping the ref on the remote makes it unresolvable again.
    git(&fx.bare(), &["update-ref", "-d", "refs/pull/7/head"]);
    let err = cache.resolve(&url, "refs/pull/7/head").unwrap_err();
    assert!(matches!(err, SourceError::RevisionNotFound { .. }), "{err}");
    let err = cache.resolve(&url, "refs/pull/bad..name").unwrap_err();
    assert!(matches!(err, SourceError::RevisionNotFound { .. }), "{err}");
}

#[test]
fn path_tree_tells_whether_a_path_changed_between_commits() {
    let fx = Fixture::new();
    let cache_root = cache_dir();
    let cache = RepoCache::new(cache_root.path(), CredentialStore::new());
    let url = fx.bare().display().to_string();
    let (v100, v123, v200) = (
        fx.commit("v1.0.0"),
        fx.commit("v1.2.3"),
        fx.commit("v2.0.0"),
    );
    // v1.2.3 only added monitoring/: apps/mlflow is the same tree, the root is not.
    let mlflow_old = cache
        .path_tree(&url, &v100, "apps/mlflow")
        .unwrap()
        .unwrap();
    let mlflow_new = cache
        .path_tree(&url, &v123, "/apps/mlflow/")
        .unwrap()
        .unwrap();
    assert_eq!(mlflow_old, mlflow_new);
    assert_eq!(mlflow_old.files, vec!["deployment.yaml".to_string()]);
    assert!(!mlflow_old.has_links);
    let root_old = cache.path_tree(&url, &v100, "").unwrap().unwrap();
    let root_new = cache.path_tree(&url, &v123, ".").unwrap().unwrap();
    assert_ne!(root_old.id, root_new.id);
    assert!(
        root_new
            .files
            .contains(&"apps/mlflow/deployment.yaml".to_string())
    );
    assert!(root_new.files.iter().any(|f| f.starts_with("monitoring/")));
    // Symlinks are listed and flagged: their targets are not part of the id.
    let server = cache
        .path_tree(&url, &v200, "apps/model-server")
        .unwrap()
        .unwrap();
    assert!(server.has_links);
    assert!(server.files.contains(&"mlflow-link.yaml".to_string()));
    // A file has an id and no listing; a missing path is None.
    let file = cache
        .path_tree(&url, &v100, "apps/mlflow/deployment.yaml")
        .unwrap()
        .unwrap();
    assert!(file.files.is_empty());
    assert_eq!(
        cache.path_tree(&url, &v100, "apps/model-server").unwrap(),
        None
    );
}
