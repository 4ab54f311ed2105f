//! Repository URLs: normalization (the cache key) and redaction (what errors print).
//!
//! Two spellings of one repository share one cache entry: the scheme and host are
//! lowercased, user-info (`user:password@`) is dropped, and a trailing `/` or `.git` is
//! removed. `file://` URLs and plain local paths are canonicalized to an absolute path.
//! scp-like SSH addresses (`git@host:org/repo.git`) are rewritten as `ssh://git@host/org/repo`
//! for the cache key, and keep their user for the connection.

use std::path::Path;

/// A repository location in its three useful forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoUrl {
    /// The cache key: lowercased scheme and host, no user-info, no trailing `/` or `.git`;
    /// for local repositories the canonical absolute path as a `file://` URL.
    pub normalized: String,
    /// What is handed to the transport: the URL as given minus any password (an SSH user
    /// name is kept because it selects the account; HTTP user names come from credentials).
    pub fetch: String,
    /// The URL safe to print: no user-info at all.
    pub display: String,
    /// A user name found in the URL's user-info, if any.
    pub username: Option<String>,
    /// A password found in the URL's user-info, if any (never printed).
    pub password: Option<String>,
    /// The transport the URL selects.
    pub scheme: Scheme,
    /// The host name without port (lowercase); `None` for local repositories.
    pub host: Option<String>,
}

/// The transports a repository URL can select.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `file://` or a plain path.
    File,
    /// `http://`.
    Http,
    /// `https://`.
    Https,
    /// `ssh://` or scp-like `user@host:path`.
    Ssh,
    /// `git://`.
    Git,
}

/// Why a URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The string is empty.
    #[error("repository url is empty")]
    Empty,
    /// The scheme is not one ferrocd fetches from.
    #[error("repository {url}: unsupported scheme {scheme:?}")]
    UnsupportedScheme {
        /// The URL without user-info.
        url: String,
        /// The scheme that was found.
        scheme: String,
    },
    /// A network URL without a host.
    #[error("repository {url}: missing host")]
    MissingHost {
        /// The URL without user-info.
        url: String,
    },
    /// A local path that does not exist (or cannot be canonicalized).
    #[error("repository {url}: local path does not exist")]
    MissingPath {
        /// The path as given.
        url: String,
    },
}

impl RepoUrl {
    /// Parses and normalizes `url`. Local paths must exist (they are canonicalized).
    pub fn parse(url: &str) -> Result<RepoUrl, UrlError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(UrlError::Empty);
        }
        if let Some((scheme, rest)) = url.split_once("://") {
            let scheme_lc = scheme.to_ascii_lowercase();
            return match scheme_lc.as_str() {
                "file" => Self::local(url, rest),
                "http" | "https" | "ssh" | "git" | "git+ssh" | "ssh+git" => {
                    Self::network(&scheme_lc, rest)
                }
                _ => Err(UrlError::UnsupportedScheme {
                    url: redact(url),
                    scheme: scheme.to_string(),
                }),
            };
        }
        if let Some((user_host, path)) = scp_like(url) {
            let (user, host) = match user_host.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, user_host),
            };
            let path = path.trim_start_matches('/');
            let rest = match user {
                Some(u) => format!("{u}@{host}/{path}"),
                None => format!("{host}/{path}"),
            };
            let mut parsed = Self::network("ssh", &rest)?;
            // Keep the scp-like spelling for the transport: it is relative to the login's home.
            parsed.fetch = match &parsed.username {
                Some(u) => format!("{u}@{}:{path}", host.to_ascii_lowercase()),
                None => format!("{}:{path}", host.to_ascii_lowercase()),
            };
            return Ok(parsed);
        }
        Self::local(url, url)
    }

    fn local(original: &str, path: &str) -> Result<RepoUrl, UrlError> {
        let canonical =
            std::fs::canonicalize(Path::new(path)).map_err(|_| UrlError::MissingPath {
                url: original.to_string(),
            })?;
        // The canonical path names exactly one directory: no suffix is stripped here.
        let shown = canonical.display().to_string();
        Ok(RepoUrl {
            normalized: format!("file://{shown}"),
            fetch: shown.clone(),
            display: shown,
            username: None,
            password: None,
            scheme: Scheme::File,
            host: None,
        })
    }

    fn network(scheme: &str, rest: &str) -> Result<RepoUrl, UrlError> {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let scheme = match scheme {
            "git+ssh" | "ssh+git" => "ssh",
            s => s,
        };
        let host = host.to_ascii_lowercase();
        let display = format!("{scheme}://{host}{path}");
        if host.is_empty() {
            return Err(UrlError::MissingHost { url: display });
        }
        let (username, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((u, p)) => (Some(percent_decode(u)), Some(percent_decode(p))),
                None => (Some(percent_decode(info)), None),
            },
            None => (None, None),
        };
        let scheme_kind = match scheme {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "git" => Scheme::Git,
            _ => Scheme::Ssh,
        };
        let fetch = match (&username, scheme_kind) {
            (Some(u), Scheme::Ssh) => format!("{scheme}://{u}@{host}{path}"),
            _ => display.clone(),
        };
        let normalized = format!("{scheme}://{host}{}", trim_repo_suffix(path));
        Ok(RepoUrl {
            normalized,
            fetch,
            display,
            username: username.filter(|u| !u.is_empty()),
            password: password.filter(|p| !p.is_empty()),
            scheme: scheme_kind,
            host: Some(host_without_port(&host).to_string()),
        })
    }
}

/// Returns `url` with any user-info removed, for messages and logs. Works on anything,
/// including strings that are not valid URLs.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        let authority = &rest[..end];
        if let Some((_, host)) = authority.rsplit_once('@') {
            return format!("{scheme}://{host}{}", &rest[end..]);
        }
        return url.to_string();
    }
    if let Some((user_host, path)) = scp_like(url)
        && let Some((_, host)) = user_host.rsplit_once('@')
    {
        return format!("{host}:{path}");
    }
    url.to_string()
}

/// Removes user-info from every `scheme://user:pass@host` found inside free text (error
/// messages from transports).
pub(crate) fn redact_all(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => out.push_str(&authority[at + 1..]),
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Lowercases the scheme and host and drops user-info, keeping the path exactly (used for
/// credential-template prefixes, where a trailing `/` matters).
pub(crate) fn canonical_prefix(url: &str) -> String {
    let url = url.trim();
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        let authority = &rest[..end];
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        return format!(
            "{}://{}{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase(),
            &rest[end..]
        );
    }
    if let Some((user_host, path)) = scp_like(url) {
        let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
        return format!(
            "ssh://{}/{}",
            host.to_ascii_lowercase(),
            path.trim_start_matches('/')
        );
    }
    url.to_string()
}

/// `user@host:path` (no scheme, a colon before any slash, not a Windows drive letter).
fn scp_like(url: &str) -> Option<(&str, &str)> {
    let colon = url.find(':')?;
    if let Some(slash) = url.find('/')
        && slash < colon
    {
        return None;
    }
    let (host, path) = (&url[..colon], &url[colon + 1..]);
    if host.len() <= 1 || path.is_empty() {
        return None;
    }
    Some((host, path))
}

/// `host`, `host:port`, `[v6]` or `[v6]:port` → the host part (brackets kept for IPv6).
fn host_without_port(authority_host: &str) -> &str {
    if authority_host.starts_with('[') {
        return match authority_host.find(']') {
            Some(end) => &authority_host[..=end],
            None => authority_host,
        };
    }
    authority_host.split(':').next().unwrap_or(authority_host)
}

fn trim_repo_suffix(path: &str) -> &str {
    let mut p = path.trim_end_matches('/');
    if let Some(stripped) = p.strip_suffix(".git") {
        p = stripped.trim_end_matches('/');
    }
    p
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_normalize_case_suffix_and_userinfo() {
        let a = RepoUrl::parse("HTTPS://User:s3cret@GitHub.com/Org/ML-Platform.git/").unwrap();
        let b = RepoUrl::parse("https://github.com/Org/ML-Platform").unwrap();
        assert_eq!(a.normalized, b.normalized);
        assert_eq!(a.normalized, "https://github.com/Org/ML-Platform");
        assert_eq!(a.display, "https://github.com/Org/ML-Platform.git/");
        assert_eq!(a.username.as_deref(), Some("User"));
        assert_eq!(a.password.as_deref(), Some("s3cret"));
        assert!(!a.fetch.contains("s3cret"));
        assert_eq!(a.scheme, Scheme::Https);
        assert_eq!(a.host.as_deref(), Some("github.com"));
        let p = RepoUrl::parse("http://127.0.0.1:8080/x").unwrap();
        assert_eq!(p.host.as_deref(), Some("127.0.0.1"));
        let v6 = RepoUrl::parse("https://[::1]:8443/x").unwrap();
        assert_eq!(v6.host.as_deref(), Some("[::1]"));
    }

    #[test]
    fn scp_like_ssh_keeps_user_for_transport() {
        let u = RepoUrl::parse("git@GitLab.example.com:data/airflow-dags.git").unwrap();
        assert_eq!(u.normalized, "ssh://gitlab.example.com/data/airflow-dags");
        assert_eq!(u.fetch, "git@gitlab.example.com:data/airflow-dags.git");
        assert_eq!(u.scheme, Scheme::Ssh);
        let v = RepoUrl::parse("ssh://git@gitlab.example.com/data/airflow-dags").unwrap();
        assert_eq!(u.normalized, v.normalized);
    }

    #[test]
    fn local_paths_and_file_urls_share_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("mlflow.git");
        std::fs::create_dir(&repo).unwrap();
        let a = RepoUrl::parse(repo.to_str().unwrap()).unwrap();
        let b = RepoUrl::parse(&format!("file://{}/", repo.display())).unwrap();
        let c = RepoUrl::parse(&format!("{}/../mlflow.git", repo.display())).unwrap();
        assert_eq!(a.normalized, b.normalized);
        assert_eq!(a.normalized, c.normalized);
        assert_eq!(a.scheme, Scheme::File);
    }

    #[test]
    fn missing_local_path_is_an_error() {
        assert!(matches!(
            RepoUrl::parse("/nonexistent/ferrocd/repo"),
            Err(UrlError::MissingPath { .. })
        ));
        assert_eq!(RepoUrl::parse("  "), Err(UrlError::Empty));
    }

    #[test]
    fn unsupported_scheme_error_has_no_password() {
        let err = RepoUrl::parse("ftp://bob:hunter2@host/x").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn redact_strips_userinfo_everywhere() {
        assert_eq!(
            redact("https://bob:hunter2@git.example.com/a.git"),
            "https://git.example.com/a.git"
        );
        assert_eq!(redact("bob@host:org/a.git"), "host:org/a.git");
        assert_eq!(redact("/srv/git/a"), "/srv/git/a");
        assert_eq!(redact("https://h/a"), "https://h/a");
    }

    #[test]
    fn redact_all_cleans_free_text() {
        assert_eq!(
            redact_all("GET https://bob:pw@h.example/x failed; see http://h2/y"),
            "GET https://h.example/x failed; see http://h2/y"
        );
    }

    #[test]
    fn canonical_prefix_keeps_trailing_slash() {
        assert_eq!(
            canonical_prefix("HTTPS://tok@GitHub.com/Org/"),
            "https://github.com/Org/"
        );
    }

    #[test]
    fn percent_encoded_userinfo_is_decoded() {
        let u = RepoUrl::parse("https://bot:p%40ss@host/x").unwrap();
        assert_eq!(u.password.as_deref(), Some("p@ss"));
    }

    proptest::proptest! {
        #[test]
        fn parse_and_redact_never_panic(s in "\\PC{0,60}") {
            let _ = RepoUrl::parse(&s);
            let _ = redact(&s);
            let _ = redact_all(&s);
            let _ = canonical_prefix(&s);
        }

        #[test]
        fn passwords_never_survive_redaction(
            scheme in "(https|http|ssh|git)",
            user in "[a-z][a-z0-9-]{0,8}",
            password in "[A-Za-z0-9]{6,16}",
            host in "[a-z]{1,10}\\.example\\.com",
            path in "(/[a-z0-9._-]{1,10}){0,3}",
        ) {
            let url = format!("{scheme}://{user}:{password}@{host}{path}");
            let parsed = RepoUrl::parse(&url).unwrap();
            proptest::prop_assert!(!parsed.display.contains(&password));
            proptest::prop_assert!(!parsed.fetch.contains(&password));
            proptest::prop_assert!(!parsed.normalized.contains(&password));
            proptest::prop_assert!(!redact(&url).contains(&password));
            let text = format!("error talking to {url}: refused");
            proptest::prop_assert!(!redact_all(&text).contains(&password));
            proptest::prop_assert_eq!(parsed.password.as_deref(), Some(password.as_str()));
        }
    }
}
