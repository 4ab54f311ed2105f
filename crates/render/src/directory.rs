//! Directory sources: every `*.yaml`, `*.yml` and `*.json` file of a folder (and, when
//! asked, `*.jsonnet`), optionally recursive, filtered by include/exclude globs — the
//! semantics of Argo CD's `spec.source.directory`.
//!
//! Files are visited in a fixed order (entries of each folder sorted by name, folders
//! entered where they sort), so the output order never depends on the file system.
//! Hidden folders (`.git`, `.github`, ...) are not entered. Symlinked files are read when
//! their target stays inside the repository and refused otherwise; symlinked folders are
//! not followed.

use std::path::{Path, PathBuf};

use ferrocd_manifest::{Manifest, parse_documents};
use globset::{Glob, GlobBuilder, GlobMatcher};

use crate::RenderError;
use crate::jsonnet::{JsonnetOptions, render_jsonnet_file};
use crate::repo_path::RepoRoot;

/// Options of a directory source (`spec.source.directory`).
#[derive(Debug, Clone, Default)]
pub struct DirectoryOptions {
    /// Enter sub-folders.
    pub recurse: bool,
    /// Only files whose path (relative to the source folder) matches this glob.
    /// Brace alternatives work: `{deploy.yaml,svc.yaml}`.
    pub include: Option<String>,
    /// Skip files whose relative path matches this glob.
    pub exclude: Option<String>,
    /// Evaluate `*.jsonnet` files with these settings; `None` leaves them out.
    pub jsonnet: Option<JsonnetOptions>,
}

/// Renders the directory `dir` (inside `repo`) into manifests, in deterministic order.
/// Origins name files relative to the repository root.
pub fn render_directory(
    repo: &RepoRoot,
    dir: &Path,
    opts: &DirectoryOptions,
) -> Result<Vec<Manifest>, RenderError> {
    let include = compile_glob("include", opts.include.as_deref())?;
    let exclude = compile_glob("exclude", opts.exclude.as_deref())?;
    let mut files = Vec::new();
    collect_files(repo, dir, opts.recurse, &mut files)?;
    let mut manifests = Vec::new();
    for file in files {
        let rel_to_dir = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        if let Some(include) = &include
            && !include.is_match(&rel_to_dir)
        {
            continue;
        }
        if let Some(exclude) = &exclude
            && exclude.is_match(&rel_to_dir)
        {
            continue;
        }
        let display = repo.display_rel(&file);
        let real = repo.check_physical(&file, &display, "file")?;
        match file_kind(&file) {
            Some(FileKind::Manifest) => {
                let text = std::fs::read_to_string(&real).map_err(|source| RenderError::Io {
                    path: PathBuf::from(&display),
                    source,
                })?;
                manifests.extend(parse_documents(&text, &display)?);
            }
            Some(FileKind::Jsonnet) => {
                if let Some(jsonnet) = &opts.jsonnet {
                    manifests.extend(render_jsonnet_file(repo, &real, &display, jsonnet)?);
                }
            }
            None => {}
        }
    }
    Ok(manifests)
}

enum FileKind {
    Manifest,
    Jsonnet,
}

fn file_kind(path: &Path) -> Option<FileKind> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml" | "json") => Some(FileKind::Manifest),
        Some("jsonnet") => Some(FileKind::Jsonnet),
        _ => None,
    }
}

fn collect_files(
    repo: &RepoRoot,
    dir: &Path,
    recurse: bool,
    out: &mut Vec<PathBuf>,
) -> Result<(), RenderError> {
    let io_err = |source| RenderError::Io {
        path: PathBuf::from(repo.display_rel(dir)),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let file_type = entry.file_type().map_err(io_err)?;
        if file_type.is_dir() {
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if recurse && !hidden {
                collect_files(repo, &path, recurse, out)?;
            }
        } else if file_type.is_symlink() {
            // Only files are followed; a symlinked folder is not entered.
            if std::fs::metadata(&path)
                .map(|m| m.is_file())
                .unwrap_or(true)
                && file_kind(&path).is_some()
            {
                out.push(path);
            }
        } else if file_type.is_file() && file_kind(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

fn compile_glob(
    which: &'static str,
    glob: Option<&str>,
) -> Result<Option<GlobMatcher>, RenderError> {
    let Some(glob) = glob.map(str::trim).filter(|g| !g.is_empty()) else {
        return Ok(None);
    };
    check_glob_stays_inside(which, glob)?;
    let compiled: Glob = GlobBuilder::new(glob)
        .literal_separator(false)
        .build()
        .map_err(|e| RenderError::Glob {
            which,
            glob: glob.to_string(),
            message: e.kind().to_string(),
        })?;
    Ok(Some(compiled.compile_matcher()))
}

/// A glob is matched against paths inside the source folder, so one that names a parent
/// (`../x/*.yaml`) or an absolute path could only be an attempt to reach outside; say so
/// rather than silently matching nothing.
fn check_glob_stays_inside(which: &'static str, glob: &str) -> Result<(), RenderError> {
    let what = if which == "include" {
        "include glob"
    } else {
        "exclude glob"
    };
    let alternatives = glob.split(['{', ',', '}']);
    for alt in alternatives {
        let alt = alt.trim();
        if alt.starts_with('/') {
            return Err(RenderError::OutsideRepository {
                what,
                path: glob.to_string(),
                reason: "is absolute".to_string(),
            });
        }
        if alt.split('/').any(|segment| segment == "..") {
            return Err(RenderError::OutsideRepository {
                what,
                path: glob.to_string(),
                reason: "escapes with ..".to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    fn cm(name: &str) -> String {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n")
    }

    fn names(m: &[Manifest]) -> Vec<&str> {
        m.iter().map(|m| m.name()).collect()
    }

    fn fixture() -> (tempfile::TempDir, RepoRoot) {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        write(r, "app/b.yaml", &cm("b"));
        write(r, "app/a.yml", &cm("a"));
        write(
            r,
            "app/c.json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
        );
        write(r, "app/README.md", "not yaml: [");
        write(
            r,
            "app/sub/d.yaml",
            &format!("{}---\n{}", cm("d1"), cm("d2")),
        );
        write(r, "app/sub/deeper/e.yaml", &cm("e"));
        write(r, "app/.hidden/h.yaml", &cm("h"));
        let root = RepoRoot::new(r).expect("root");
        (dir, root)
    }

    #[test]
    fn flat_by_default_in_name_order() {
        let (_d, repo) = fixture();
        let out = render_directory(
            &repo,
            &repo.path().join("app"),
            &DirectoryOptions::default(),
        )
        .expect("renders");
        assert_eq!(names(&out), ["a", "b", "c"]);
        assert_eq!(out[1].origin.file, "app/b.yaml");
    }

    #[test]
    fn recurse_enters_folders_but_not_hidden_ones() {
        let (_d, repo) = fixture();
        let opts = DirectoryOptions {
            recurse: true,
            ..Default::default()
        };
        let out = render_directory(&repo, &repo.path().join("app"), &opts).expect("renders");
        // `d.yaml` sorts before `deeper/` (as in Go's filepath.Walk).
        assert_eq!(names(&out), ["a", "b", "c", "d1", "d2", "e"]);
    }

    #[test]
    fn include_and_exclude_with_braces() {
        let (_d, repo) = fixture();
        let opts = DirectoryOptions {
            recurse: true,
            include: Some("{a.yml,sub/*}".into()),
            exclude: Some("sub/deeper/*".into()),
            ..Default::default()
        };
        let out = render_directory(&repo, &repo.path().join("app"), &opts).expect("renders");
        assert_eq!(names(&out), ["a", "d1", "d2"]);
    }

    #[test]
    fn include_glob_escaping_is_refused() {
        let (_d, repo) = fixture();
        for glob in ["../other/*.yaml", "{a.yaml,../../x}", "/etc/*"] {
            let opts = DirectoryOptions {
                include: Some(glob.into()),
                ..Default::default()
            };
            let err = render_directory(&repo, &repo.path().join("app"), &opts).expect_err(glob);
            assert!(
                err.to_string().contains("refusing to read outside"),
                "{err}"
            );
        }
    }

    #[test]
    fn bad_yaml_names_file_and_line() {
        let (_d, repo) = fixture();
        write(
            repo.path(),
            "app/z.yaml",
            &format!("{}---\nkind: [\n", cm("z")),
        );
        let err = render_directory(
            &repo,
            &repo.path().join("app"),
            &DirectoryOptions::default(),
        )
        .expect_err("bad yaml");
        assert!(err.to_string().starts_with("app/z.yaml:6:"), "{err}");
    }
}
