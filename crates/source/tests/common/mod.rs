//! Shared setup for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use ferrocd_source::testing::{make_fixture, rev_parse};
use tempfile::TempDir;

/// The ML platform fixture: `work/` (non-bare) and `ml-platform.git` (bare, served).
pub struct Fixture {
    pub dir: TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture {
            dir: make_fixture("make_ml_platform.sh"),
        }
    }

    pub fn bare(&self) -> PathBuf {
        self.dir.path().join("ml-platform.git")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// The commit of `rev` in the fixture.
    pub fn commit(&self, rev: &str) -> String {
        rev_parse(&self.bare(), rev)
    }
}

/// A fresh, empty cache directory.
pub fn cache_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("ferrocd-cache-")
        .tempdir()
        .expect("creating cache dir")
}
