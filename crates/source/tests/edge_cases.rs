//! Unusual trees and repositories.

mod common;

use common::cache_dir;
use ferrocd_source::testing::{make_fixture, rev_parse};
use ferrocd_source::{CredentialStore, RepoCache, SourceError};

#[test]
fn snapshot_handles_unusual_names_gitlinks_and_empty_files() {
    let fx = make_fixture("make_edge_cases.sh");
    let url = fx.path().join("edge.git").display().to_string();
    let cache = RepoCache::new(cache_dir().path(), CredentialStore::new());
    let checkout = cache.checkout(&url, "main").unwrap();
    assert_eq!(
        checkout.commit,
        rev_parse(&fx.path().join("edge.git"), "main")
    );
    let root = &checkout.path;
    assert_eq!(
        std::fs::read_to_string(root.join("notebooks/feature store/train model.py")).unwrap(),
        "import mlflow\n"
    );
    assert!(root.join("notebooks/métriques-ü.md").is_file());
    assert_eq!(std::fs::read(root.join("a/b/c/d/e/.keep")).unwrap(), b"");
    // A submodule becomes an empty directory.
    let vendor = root.join("vendor/feast");
    assert!(vendor.is_dir());
    assert_eq!(std::fs::read_dir(&vendor).unwrap().count(), 0);
    let bytes = cache
        .read_file(&url, &checkout.commit, "/a/b/c/d/e/node-pool.yaml")
        .unwrap();
    assert_eq!(bytes.as_deref(), Some(&b"gpu: a100\n"[..]));
}

#[test]
fn empty_repository_has_no_revisions() {
    let fx = make_fixture("make_edge_cases.sh");
    let url = fx.path().join("empty.git").display().to_string();
    let cache = RepoCache::new(cache_dir().path(), CredentialStore::new());
    for rev in ["HEAD", "", "main", "^1"] {
        let err = cache.resolve(&url, rev).unwrap_err();
        assert!(
            matches!(
                err,
                SourceError::RevisionNotFound { .. } | SourceError::NoMatchingTag { .. }
            ),
            "{rev:?}: {err}"
        );
    }
}

#[test]
fn invalid_constraint_like_revisions_are_plain_names() {
    let fx = make_fixture("make_edge_cases.sh");
    let url = fx.path().join("edge.git").display().to_string();
    let cache = RepoCache::new(cache_dir().path(), CredentialStore::new());
    // Not a constraint (and not a ref): reported as a missing revision.
    let err = cache.resolve(&url, "release-1.x").unwrap_err();
    assert!(matches!(err, SourceError::RevisionNotFound { .. }), "{err}");
}
