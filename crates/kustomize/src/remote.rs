//! Remote resources (`https://github.com/org/repo//deploy/base?ref=v1.2`): the URL forms
//! kustomize accepts, and the seam through which a Git checkout is obtained.

use std::path::{Path, PathBuf};

use crate::KustomizeOptions;
use crate::error::KustomizeError;

/// A remote resource split into repository, directory and revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// The repository URL to clone (`https://github.com/org/repo.git`).
    pub repo_url: String,
    /// The directory inside the repository (may be empty).
    pub path: String,
    /// The revision (`ref=` or `version=`), empty for the default branch.
    pub git_ref: String,
}

/// Gives the local directory of a repository checked out at a revision (implemented with
/// `ferrocd-source` by the caller).
pub trait RemoteFetcher: Send + Sync {
    /// Checks out `repo_url` at `git_ref` (empty: default branch) and returns the directory.
    fn checkout(&self, repo_url: &str, git_ref: &str) -> Result<PathBuf, String>;
}

/// Parses kustomize's remote resource forms. Returns `None` for local paths.
pub fn parse_remote(entry: &str) -> Option<RemoteRef> {
    let (base, query) = match entry.split_once('?') {
        Some((b, q)) => (b, q),
        None => (entry, ""),
    };
    let git_ref = query
        .split('&')
        .find_map(|kv| {
            kv.strip_prefix("ref=")
                .or_else(|| kv.strip_prefix("version="))
        })
        .unwrap_or("")
        .to_string();
    let (scheme, rest) = if let Some(r) = base.strip_prefix("git@") {
        ("ssh", r)
    } else if let Some((s, r)) = base.split_once("://") {
        (s, r)
    } else if base.starts_with("github.com/")
        || base.starts_with("gitlab.com/")
        || base.starts_with("bitbucket.org/")
    {
        ("https", base)
    } else {
        return None;
    };
    let rest = rest.strip_prefix("git::").unwrap_or(rest);
    let (repo, path) = if let Some((r, p)) = rest.split_once("//") {
        (r.to_string(), p.to_string())
    } else if let Some(i) = rest.find(".git/") {
        (rest[..i + 4].to_string(), rest[i + 5..].to_string())
    } else {
        // host/org/repo/path...: the repository is the first two path segments.
        let parts: Vec<&str> = rest.splitn(4, ['/', ':']).collect();
        if parts.len() < 3 {
            return None;
        }
        let repo = parts[..3].join("/");
        (
            repo,
            parts.get(3).map(|s| s.to_string()).unwrap_or_default(),
        )
    };
    let repo_url = match scheme {
        "ssh" => format!("git@{repo}"),
        "file" => format!("file://{repo}"),
        s => format!("{s}://{repo}"),
    };
    Some(RemoteRef {
        repo_url,
        path: path.trim_matches('/').to_string(),
        git_ref,
    })
}

/// Fetches a remote resource; returns the checkout root and the directory to build.
pub(crate) fn fetch(
    entry: &str,
    opts: &KustomizeOptions,
    file: &Path,
) -> Result<(PathBuf, PathBuf), KustomizeError> {
    let err = |message: String| KustomizeError::Remote {
        url: entry.to_string(),
        message,
        file: file.to_path_buf(),
    };
    let remote = parse_remote(entry).ok_or_else(|| err("not a remote resource URL".into()))?;
    let fetcher = opts
        .remote
        .as_ref()
        .ok_or_else(|| err("remote resources need a Git fetcher (none configured)".into()))?;
    let root = fetcher
        .checkout(&remote.repo_url, &remote.git_ref)
        .map_err(err)?;
    let root = root.canonicalize().map_err(|e| err(e.to_string()))?;
    let dir = root
        .join(&remote.path)
        .canonicalize()
        .map_err(|e| err(format!("{}: {e}", remote.path)))?;
    if !dir.starts_with(&root) {
        return Err(KustomizeError::OutsideRoot { path: dir, root });
    }
    Ok((root, dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn remote_parser_never_panics(s in "[a-z:/@.?=&_-]{0,60}") {
            let _ = parse_remote(&s);
        }

        #[test]
        fn image_parser_never_panics(s in "[a-z0-9:/@._-]{0,60}") {
            let r = crate::transform::parse_image(&s);
            prop_assert!(s.starts_with(r.name));
        }
    }

    #[test]
    fn parses_remote_forms() {
        assert_eq!(
            parse_remote("https://github.com/acme/ml-platform//deploy/mlflow?ref=v1.2.0"),
            Some(RemoteRef {
                repo_url: "https://github.com/acme/ml-platform".into(),
                path: "deploy/mlflow".into(),
                git_ref: "v1.2.0".into()
            })
        );
        let r = parse_remote("github.com/acme/ml-platform/deploy/base?ref=main").unwrap();
        assert_eq!(
            (r.repo_url.as_str(), r.path.as_str()),
            ("https://github.com/acme/ml-platform", "deploy/base")
        );
        let r = parse_remote("https://git.example.com/ml/serving.git/overlays/eu").unwrap();
        assert_eq!(
            (r.repo_url.as_str(), r.path.as_str()),
            ("https://git.example.com/ml/serving.git", "overlays/eu")
        );
        assert_eq!(parse_remote("../base"), None);
        assert_eq!(parse_remote("deploy.yaml"), None);
    }
}
