//! Materializing the tree of a commit as a plain directory.
//!
//! Blobs become files (mode 0755 when Git marks them executable), symlinks become symlinks
//! with the link text Git stores (callers check that they stay inside), trees become
//! directories. Submodules (gitlinks) become empty directories, as `git checkout` leaves them
//! without `--recurse-submodules`. Entry names are checked so that a crafted tree cannot
//! write outside the directory (`..`, `/`, NUL, `.git`).

use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice as _};
use gix::objs::tree::EntryKind;

use crate::error::{SourceError, scrub};

/// What `write_tree` is doing, for error messages.
pub(crate) struct Target<'a> {
    pub url: &'a str,
    pub commit: &'a str,
}

/// Writes the tree `tree` and everything below it into the existing directory `dest`.
pub(crate) fn write_tree(
    repo: &gix::Repository,
    tree: ObjectId,
    dest: &Path,
    target: &Target<'_>,
) -> Result<(), SourceError> {
    let git_err = |action: &'static str| {
        move |e: gix::Error| SourceError::Git {
            url: target.url.to_string(),
            action,
            cause: scrub(&e.to_string(), &[]),
        }
    };
    let mut stack: Vec<(ObjectId, PathBuf)> = vec![(tree, dest.to_path_buf())];
    while let Some((tree_id, dir)) = stack.pop() {
        let tree = repo.find_tree(tree_id).map_err(git_err("reading tree"))?;
        let entries: Vec<(EntryKind, BString, ObjectId)> = tree
            .decode()
            .map_err(git_err("decoding tree"))?
            .entries
            .iter()
            .map(|e| (e.mode.kind(), e.filename.to_owned(), e.oid.to_owned()))
            .collect();
        for (kind, name, oid) in entries {
            let name_str = check_name(&name, target)?;
            let path = dir.join(name_str);
            let io = |action: &'static str, path: &Path| {
                let url = target.url.to_string();
                let path = path.to_path_buf();
                move |e: std::io::Error| SourceError::io(&url, action, path, e)
            };
            match kind {
                EntryKind::Tree => {
                    std::fs::create_dir(&path).map_err(io("creating", &path))?;
                    stack.push((oid, path));
                }
                EntryKind::Commit => {
                    std::fs::create_dir(&path).map_err(io("creating", &path))?;
                }
                EntryKind::Blob | EntryKind::BlobExecutable => {
                    let blob = repo.find_blob(oid).map_err(git_err("reading blob"))?;
                    std::fs::write(&path, &blob.data).map_err(io("writing", &path))?;
                    if kind == EntryKind::BlobExecutable {
                        set_executable(&path).map_err(io("setting mode of", &path))?;
                    }
                }
                EntryKind::Link => {
                    let blob = repo.find_blob(oid).map_err(git_err("reading blob"))?;
                    let link = blob
                        .data
                        .to_str()
                        .map_err(|_| SourceError::UnsafeTreeEntry {
                            url: target.url.to_string(),
                            commit: target.commit.to_string(),
                            name: format!("{} (symlink target is not UTF-8)", name_str),
                        })?;
                    make_symlink(link, &path).map_err(io("creating symlink", &path))?;
                }
            }
        }
    }
    Ok(())
}

fn check_name<'a>(name: &'a BString, target: &Target<'_>) -> Result<&'a str, SourceError> {
    let unsafe_entry = || SourceError::UnsafeTreeEntry {
        url: target.url.to_string(),
        commit: target.commit.to_string(),
        name: String::from_utf8_lossy(name).into_owned(),
    };
    let s = name.to_str().map_err(|_| unsafe_entry())?;
    if s.is_empty()
        || s == "."
        || s == ".."
        || s.contains('/')
        || s.contains('\0')
        || s.contains('\\')
        || s.eq_ignore_ascii_case(".git")
    {
        return Err(unsafe_entry());
    }
    Ok(s)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(link: &str, path: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(link, path)
}

#[cfg(not(unix))]
fn make_symlink(link: &str, path: &Path) -> std::io::Result<()> {
    // Without symlink support the link text is written as a file, as Git does with
    // core.symlinks=false.
    std::fs::write(path, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_escape_are_rejected() {
        let t = Target {
            url: "https://h/x",
            commit: "abc",
        };
        for bad in ["..", ".", "a/b", ".git", ".GIT", "", "a\\b"] {
            let name = BString::from(bad);
            assert!(check_name(&name, &t).is_err(), "{bad:?}");
        }
        for good in ["values.yaml", "..hidden", ".gitignore", "chart-v1.2"] {
            let name = BString::from(good);
            assert_eq!(check_name(&name, &t).unwrap(), good);
        }
    }
}
