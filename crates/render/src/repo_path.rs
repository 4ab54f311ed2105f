//! Resolution of user-given paths inside a repository snapshot.
//!
//! An Application's `path`, a Jsonnet import, an include glob or a Helm value file all
//! come from users and must never make ferrocd read outside the repository they belong
//! to: not by an absolute path, not by `..`, and not through a symlink whose target lies
//! outside. These checks are lexical first (so the message can say what was wrong with
//! the text) and then physical (canonicalized targets must stay under the canonical root).

use std::path::{Component, Path, PathBuf};

use crate::RenderError;

/// A repository root, canonicalized once.
#[derive(Debug, Clone)]
pub struct RepoRoot {
    root: PathBuf,
}

impl RepoRoot {
    /// Wraps a directory as a repository root.
    pub fn new(root: &Path) -> Result<Self, RenderError> {
        let root = root.canonicalize().map_err(|source| RenderError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        Ok(Self { root })
    }

    /// The canonical root directory.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Resolves `rel`, relative to `base` (a directory inside the root), refusing any
    /// escape. `what` names the kind of path in error messages. The result exists.
    pub fn resolve(
        &self,
        base: &Path,
        rel: &str,
        what: &'static str,
    ) -> Result<PathBuf, RenderError> {
        let candidate = self.join_lexically(base, rel, what)?;
        if std::fs::symlink_metadata(&candidate).is_err() {
            return Err(RenderError::NotFound {
                what,
                path: rel.to_string(),
                root: self.display_rel(base),
            });
        }
        self.check_physical(&candidate, rel, what)
    }

    /// Joins `rel` onto `base` without touching the file system, refusing absolute paths
    /// and `..` that climbs above the root.
    pub fn join_lexically(
        &self,
        base: &Path,
        rel: &str,
        what: &'static str,
    ) -> Result<PathBuf, RenderError> {
        let escape = |reason: &str| RenderError::OutsideRepository {
            what,
            path: rel.to_string(),
            reason: reason.to_string(),
        };
        let rel_path = Path::new(rel);
        if rel_path.is_absolute() {
            return Err(escape("is absolute"));
        }
        let base_rel = base.strip_prefix(&self.root).unwrap_or(Path::new(""));
        let mut parts: Vec<std::ffi::OsString> = base_rel
            .components()
            .map(|c| c.as_os_str().to_owned())
            .collect();
        for component in rel_path.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_owned()),
                Component::CurDir => {}
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(escape("escapes with .."));
                    }
                }
                Component::RootDir | Component::Prefix(_) => return Err(escape("is absolute")),
            }
        }
        let mut out = self.root.clone();
        out.extend(parts);
        Ok(out)
    }

    /// Checks that an existing path, after following every symlink, is still inside
    /// the root; returns the canonical path.
    pub fn check_physical(
        &self,
        candidate: &Path,
        rel: &str,
        what: &'static str,
    ) -> Result<PathBuf, RenderError> {
        let real = candidate.canonicalize().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                // A dangling symlink: its target does not exist (maybe outside).
                RenderError::OutsideRepository {
                    what,
                    path: rel.to_string(),
                    reason: "is a symlink to a missing target".to_string(),
                }
            } else {
                RenderError::Io {
                    path: candidate.to_path_buf(),
                    source,
                }
            }
        })?;
        if !real.starts_with(&self.root) {
            return Err(RenderError::OutsideRepository {
                what,
                path: rel.to_string(),
                reason: "is a symlink that points outside".to_string(),
            });
        }
        Ok(real)
    }

    /// `path` shown relative to the root (for messages), `.` for the root itself.
    pub fn display_rel(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(p) if p.as_os_str().is_empty() => ".".to_string(),
            Ok(p) => p.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, RepoRoot) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("apps/web")).expect("mkdir");
        std::fs::write(dir.path().join("apps/web/cm.yaml"), "a: 1").expect("write");
        let root = RepoRoot::new(dir.path()).expect("root");
        (dir, root)
    }

    #[test]
    fn resolves_inside() {
        let (_d, root) = repo();
        let p = root
            .resolve(root.path(), "apps/./web/../web/cm.yaml", "file")
            .expect("inside");
        assert!(p.ends_with("apps/web/cm.yaml"));
    }

    #[test]
    fn refuses_absolute_and_dotdot() {
        let (_d, root) = repo();
        let err = root
            .resolve(root.path(), "/etc/passwd", "path")
            .expect_err("absolute");
        assert!(err.to_string().contains("is absolute"), "{err}");
        let base = root.path().join("apps");
        let err = root
            .resolve(&base, "../../etc", "path")
            .expect_err("dotdot");
        assert_eq!(
            err.to_string(),
            "path \"../../etc\" escapes with ..: refusing to read outside the repository"
        );
    }

    #[test]
    fn refuses_symlink_pointing_outside() {
        let (_d, root) = repo();
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("secret.yaml"), "x: 1").expect("write");
        std::os::unix::fs::symlink(
            outside.path().join("secret.yaml"),
            root.path().join("apps/link.yaml"),
        )
        .expect("symlink");
        let err = root
            .resolve(root.path(), "apps/link.yaml", "file")
            .expect_err("escape");
        assert!(
            err.to_string().contains("symlink that points outside"),
            "{err}"
        );
    }

    #[test]
    fn missing_path_is_named() {
        let (_d, root) = repo();
        let err = root
            .resolve(root.path(), "apps/nope", "path")
            .expect_err("missing");
        assert_eq!(err.to_string(), "path \"apps/nope\" does not exist in .");
    }
}
