//! Reading files relative to a kustomization, within the load restrictor's root and the
//! repository root (symlinks and `..` resolved before the check).

use std::path::{Path, PathBuf};

use crate::LoadRestrictor;
use crate::error::KustomizeError;

/// Reads files for one kustomization.
#[derive(Debug, Clone)]
pub(crate) struct Loader {
    /// The kustomization's directory (canonical).
    pub dir: PathBuf,
    /// The kustomization file (for messages).
    pub file: PathBuf,
    restrictor: LoadRestrictor,
    repo_root: Option<PathBuf>,
}

impl Loader {
    pub(crate) fn new(
        dir: PathBuf,
        file: PathBuf,
        restrictor: LoadRestrictor,
        repo_root: Option<PathBuf>,
    ) -> Self {
        Self {
            dir,
            file,
            restrictor,
            repo_root,
        }
    }

    fn canonical(&self, rel: &str) -> Result<PathBuf, KustomizeError> {
        let joined = self.dir.join(rel);
        joined
            .canonicalize()
            .map_err(|_| KustomizeError::MissingResource {
                kustomization: self.file.clone(),
                entry: rel.to_string(),
            })
    }

    fn check_repo(&self, path: &Path) -> Result<(), KustomizeError> {
        if let Some(root) = &self.repo_root
            && !path.starts_with(root)
        {
            return Err(KustomizeError::OutsideRoot {
                path: path.to_path_buf(),
                root: root.clone(),
            });
        }
        Ok(())
    }

    /// Resolves a file path, enforcing the load restrictor.
    pub(crate) fn resolve(&self, rel: &str) -> Result<PathBuf, KustomizeError> {
        let path = self.canonical(rel)?;
        self.check_repo(&path)?;
        if self.restrictor == LoadRestrictor::RootOnly && !path.starts_with(&self.dir) {
            return Err(KustomizeError::OutsideRoot {
                path,
                root: self.dir.clone(),
            });
        }
        Ok(path)
    }

    /// Resolves a resource entry (file or directory). Directories may be anywhere in the
    /// repository; files follow the load restrictor.
    pub(crate) fn resolve_resource(&self, rel: &str) -> Result<PathBuf, KustomizeError> {
        let path = self.canonical(rel)?;
        self.check_repo(&path)?;
        if path.is_dir() {
            return Ok(path);
        }
        self.resolve(rel)
    }

    /// Resolves a path the kustomization names by itself (not as written by the user),
    /// enforcing the load restrictor.
    pub(crate) fn resolve_path(&self, path: &Path) -> Result<PathBuf, KustomizeError> {
        self.resolve(&path.to_string_lossy())
    }

    /// Fails unless `path` (canonical) is inside the repository root.
    pub(crate) fn check_in_repo(&self, path: &Path) -> Result<(), KustomizeError> {
        self.check_repo(path)
    }

    pub(crate) fn read_bytes(&self, rel: &str) -> Result<Vec<u8>, KustomizeError> {
        let path = self.resolve(rel)?;
        std::fs::read(&path).map_err(|source| KustomizeError::Read { path, source })
    }

    pub(crate) fn read_string(&self, rel: &str) -> Result<String, KustomizeError> {
        let path = self.resolve(rel)?;
        std::fs::read_to_string(&path).map_err(|source| KustomizeError::Read { path, source })
    }
}
