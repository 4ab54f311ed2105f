//! Git push webhooks: tell the controller at once that a repository moved, instead of
//! waiting for the next periodic refresh.
//!
//! Providers are recognised by their event header, as Argo CD does:
//!
//! | provider | event header | check (when a secret is configured) |
//! |---|---|---|
//! | GitHub | `X-GitHub-Event: push` | `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` with `webhook.github.secret` |
//! | GitLab | `X-Gitlab-Event: Push Hook` / `Tag Push Hook` | `X-Gitlab-Token` equal to `webhook.gitlab.secret` |
//! | Bitbucket Cloud | `X-Event-Key: repo:push` | `X-Hook-UUID` equal to `webhook.bitbucket.uuid` |
//! | Bitbucket Server / Data Center | `X-Event-Key: repo:refs_changed` | `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>` with `webhook.bitbucketserver.secret` |
//! | Gitea | `X-Gitea-Event: push` | `X-Gitea-Signature: <hex HMAC-SHA256 of the body>` with `webhook.gitea.secret` (or `webhook.gogs.secret`) |
//!
//! A provider without a configured secret is accepted unchecked. Every comparison of a
//! secret or signature runs in constant time. A failed check answers 401 without saying
//! why; the reason is logged for the operator.

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

/// Path Argo CD serves webhooks at.
pub const WEBHOOK_PATH: &str = "/api/webhook";
/// Largest payload accepted (Argo CD's default `webhook.maxPayloadSizeMB` is 50).
pub const MAX_PAYLOAD_BYTES: usize = 50 * 1024 * 1024;

/// Errors of webhook handling.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No known provider event header is present.
    #[error("unknown webhook event: no GitHub, GitLab, Bitbucket or Gitea event header")]
    UnknownEvent,
    /// A secret is configured for the provider but the request carries no signature or token.
    #[error("{provider} webhook has no signature although a secret is configured")]
    MissingSignature {
        /// The provider.
        provider: GitProvider,
    },
    /// The signature or token does not match the configured secret.
    #[error("{provider} webhook signature does not match the configured secret")]
    BadSignature {
        /// The provider.
        provider: GitProvider,
    },
    /// The body is not the JSON the provider sends.
    #[error("cannot parse {provider} push payload")]
    Payload {
        /// The provider.
        provider: GitProvider,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A key of `argocd-secret` is not valid base64 or UTF-8.
    #[error("cannot decode key {key} of argocd-secret")]
    SecretData {
        /// The key under `data`.
        key: String,
    },
}

impl WebhookError {
    /// True for errors that must answer 401 Unauthorized.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            Self::MissingSignature { .. } | Self::BadSignature { .. }
        )
    }
}

/// A Git hosting provider sending webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GitProvider {
    /// GitHub (github.com or Enterprise).
    GitHub,
    /// GitLab.
    GitLab,
    /// Bitbucket Cloud.
    Bitbucket,
    /// Bitbucket Server / Data Center.
    BitbucketServer,
    /// Gitea (and Gogs-compatible payloads).
    Gitea,
}

impl fmt::Display for GitProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::GitHub => "github",
            Self::GitLab => "gitlab",
            Self::Bitbucket => "bitbucket",
            Self::BitbucketServer => "bitbucketserver",
            Self::Gitea => "gitea",
        })
    }
}

/// A push to a Git repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// Who sent it.
    pub provider: GitProvider,
    /// The repository's URLs as the payload gives them (web, HTTPS clone, SSH clone);
    /// match them against applications with [`repo_url_matches`].
    pub repo_urls: Vec<String>,
    /// The commit the ref now points to.
    pub revision: String,
    /// The full ref pushed: `refs/heads/<branch>` or `refs/tags/<tag>`.
    pub git_ref: String,
    /// Files added, modified or removed by the pushed commits. Empty when the provider
    /// does not say (Bitbucket) or the list may be incomplete: then every application
    /// of the repository must be refreshed.
    pub changed_files: Vec<String>,
    /// The repository's default branch, when the payload names it (what `HEAD` means).
    pub default_branch: Option<String>,
}

impl PushEvent {
    /// The branch pushed, if the ref is a branch.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }

    /// The tag pushed, if the ref is a tag.
    pub fn tag(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/tags/")
    }

    /// True when the push moves what an application's `targetRevision` follows: the
    /// branch or tag of that name (or full ref); `HEAD` or empty follows the default
    /// branch (any branch when the payload does not name it). A commit SHA never moves.
    pub fn concerns_revision(&self, target_revision: &str) -> bool {
        let target = target_revision.trim();
        if target.is_empty() || target == "HEAD" {
            return match (self.branch(), self.default_branch.as_deref()) {
                (Some(branch), Some(default)) => branch == default,
                (Some(_), None) => true,
                (None, _) => false,
            };
        }
        target == self.git_ref || self.branch() == Some(target) || self.tag() == Some(target)
    }

    /// True when the push may change what an application renders, as Argo CD decides:
    /// without the `argocd.argoproj.io/manifest-generate-paths` annotation every push
    /// to the repository does; with it, only changes under one of its `;`-separated
    /// paths do (a path starting with `/` is relative to the repository root, any other
    /// to the application's `source_path`; `.` is the source path itself).
    pub fn touches_app(&self, source_path: &str, manifest_generate_paths: Option<&str>) -> bool {
        let Some(annotation) = manifest_generate_paths.filter(|a| !a.trim().is_empty()) else {
            return true;
        };
        self.touches_any(&generating_paths(source_path, annotation))
    }

    /// True when the push concerns the repository at `app_repo_url`.
    pub fn concerns_repo(&self, app_repo_url: &str) -> bool {
        self.repo_urls
            .iter()
            .any(|u| repo_url_matches(app_repo_url, u))
    }

    /// True when an application rendering the directories `paths` (relative to the
    /// repository root; `.` or `""` for the root) may be affected: when the changed files
    /// are unknown, or one of them lies under one of the paths.
    pub fn touches_any<S: AsRef<str>>(&self, paths: &[S]) -> bool {
        if self.changed_files.is_empty() {
            return true;
        }
        paths.iter().any(|p| {
            let dir = p
                .as_ref()
                .trim_start_matches("./")
                .trim_matches('/')
                .trim_start_matches('.');
            if dir.is_empty() || dir == "." {
                return true;
            }
            self.changed_files.iter().any(|f| {
                let f = f.trim_start_matches('/');
                f == dir
                    || f.strip_prefix(dir)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        })
    }
}

/// The repository paths (relative to its root, normalized) listed by Argo CD's
/// `argocd.argoproj.io/manifest-generate-paths` annotation for a source at `source_path`:
/// `;`-separated, relative to the source path, or to the repository root with a leading `/`.
pub(crate) fn generating_paths(source_path: &str, annotation: &str) -> Vec<String> {
    annotation
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.strip_prefix('/') {
            Some(absolute) => normalize_repo_path(absolute),
            None => normalize_repo_path(&format!("{source_path}/{p}")),
        })
        .collect()
}

/// A path inside a repository with `.` and `..` resolved (never above the root) and no
/// leading or trailing `/`; `""` is the root.
fn normalize_repo_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A secret that does not show itself in `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The webhook secrets of each provider; an unset one means events of that provider are
/// accepted unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookSecrets {
    github: Option<Secret>,
    gitlab: Option<Secret>,
    bitbucket_uuid: Option<Secret>,
    bitbucket_server: Option<Secret>,
    gitea: Option<Secret>,
}

impl WebhookSecrets {
    /// Sets GitHub's HMAC secret (`webhook.github.secret`).
    pub fn with_github(mut self, secret: impl Into<String>) -> Self {
        self.github = non_empty(secret.into());
        self
    }

    /// Sets GitLab's token (`webhook.gitlab.secret`).
    pub fn with_gitlab(mut self, secret: impl Into<String>) -> Self {
        self.gitlab = non_empty(secret.into());
        self
    }

    /// Sets Bitbucket's hook UUID (`webhook.bitbucket.uuid`).
    pub fn with_bitbucket_uuid(mut self, uuid: impl Into<String>) -> Self {
        self.bitbucket_uuid = non_empty(uuid.into());
        self
    }

    /// Sets Bitbucket Server's HMAC secret (`webhook.bitbucketserver.secret`).
    pub fn with_bitbucket_server(mut self, secret: impl Into<String>) -> Self {
        self.bitbucket_server = non_empty(secret.into());
        self
    }

    /// Sets Gitea's HMAC secret (`webhook.gitea.secret`).
    pub fn with_gitea(mut self, secret: impl Into<String>) -> Self {
        self.gitea = non_empty(secret.into());
        self
    }

    /// Reads the secrets from the `argocd-secret` Secret, as JSON: keys under
    /// `stringData` win over the base64 `data`. Gitea falls back to `webhook.gogs.secret`.
    pub fn from_argocd_secret(secret: &Value) -> Result<Self, WebhookError> {
        let get = |key: &str| -> Result<Option<Secret>, WebhookError> {
            if let Some(s) = secret
                .get("stringData")
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
            {
                return Ok(non_empty(s.to_string()));
            }
            let Some(encoded) = secret
                .get("data")
                .and_then(|d| d.get(key))
                .and_then(Value::as_str)
            else {
                return Ok(None);
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| WebhookError::SecretData {
                    key: key.to_string(),
                })?;
            let text = String::from_utf8(bytes).map_err(|_| WebhookError::SecretData {
                key: key.to_string(),
            })?;
            Ok(non_empty(text))
        };
        Ok(Self {
            github: get("webhook.github.secret")?,
            gitlab: get("webhook.gitlab.secret")?,
            bitbucket_uuid: get("webhook.bitbucket.uuid")?,
            bitbucket_server: get("webhook.bitbucketserver.secret")?,
            gitea: match get("webhook.gitea.secret")? {
                Some(s) => Some(s),
                None => get("webhook.gogs.secret")?,
            },
        })
    }
}

fn non_empty(s: String) -> Option<Secret> {
    let s = s.trim_end_matches(['\n', '\r']).to_string();
    (!s.is_empty()).then_some(Secret(s))
}

/// Compares two byte strings in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn verify_hmac(secret: &Secret, body: &[u8], hex_signature: &str) -> bool {
    let Ok(expected) = hex::decode(hex_signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).is_ok()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the request's signature or token and parses the push events it carries.
///
/// Returns `Ok(vec![])` for events that are not pushes (GitHub's `ping`, merge requests,
/// ...) and for pushes that delete a ref.
pub fn parse_push_events(
    secrets: &WebhookSecrets,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<PushEvent>, WebhookError> {
    // Gitea also sends `X-GitHub-Event` and `X-Gogs-Event`; look at its own header first.
    if let Some(event) = header(headers, "x-gitea-event") {
        check_hmac(
            GitProvider::Gitea,
            secrets.gitea.as_ref(),
            header(headers, "x-gitea-signature"),
            body,
        )?;
        return if event == "push" {
            parse_github_like(GitProvider::Gitea, body)
        } else {
            Ok(Vec::new())
        };
    }
    if let Some(event) = header(headers, "x-github-event") {
        let signature = header(headers, "x-hub-signature-256")
            .map(|s| s.strip_prefix("sha256=").unwrap_or("not-a-signature"));
        check_hmac(
            GitProvider::GitHub,
            secrets.github.as_ref(),
            signature,
            body,
        )?;
        return if event == "push" {
            parse_github_like(GitProvider::GitHub, body)
        } else {
            Ok(Vec::new())
        };
    }
    if let Some(event) = header(headers, "x-gitlab-event") {
        check_token(
            GitProvider::GitLab,
            secrets.gitlab.as_ref(),
            header(headers, "x-gitlab-token"),
        )?;
        return if event == "Push Hook" || event == "Tag Push Hook" {
            parse_gitlab(body)
        } else {
            Ok(Vec::new())
        };
    }
    if let Some(event) = header(headers, "x-event-key")
        && is_bitbucket_server_event(event)
    {
        let signature = header(headers, "x-hub-signature")
            .map(|s| s.strip_prefix("sha256=").unwrap_or("not-a-signature"));
        check_hmac(
            GitProvider::BitbucketServer,
            secrets.bitbucket_server.as_ref(),
            signature,
            body,
        )?;
        return if event == "repo:refs_changed" {
            parse_bitbucket_server(body)
        } else {
            Ok(Vec::new())
        };
    }
    if let Some(event) = header(headers, "x-event-key") {
        check_token(
            GitProvider::Bitbucket,
            secrets.bitbucket_uuid.as_ref(),
            header(headers, "x-hook-uuid"),
        )?;
        return if event == "repo:push" {
            parse_bitbucket(body)
        } else {
            Ok(Vec::new())
        };
    }
    Err(WebhookError::UnknownEvent)
}

fn check_hmac(
    provider: GitProvider,
    secret: Option<&Secret>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), WebhookError> {
    let Some(secret) = secret else {
        return Ok(());
    };
    let signature = signature.ok_or(WebhookError::MissingSignature { provider })?;
    if verify_hmac(secret, body, signature) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature { provider })
    }
}

fn check_token(
    provider: GitProvider,
    secret: Option<&Secret>,
    token: Option<&str>,
) -> Result<(), WebhookError> {
    let Some(secret) = secret else {
        return Ok(());
    };
    let token = token.ok_or(WebhookError::MissingSignature { provider })?;
    if constant_time_eq(token.as_bytes(), secret.0.as_bytes()) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature { provider })
    }
}

/// A commit as GitHub, Gitea and GitLab list it.
#[derive(Debug, Default, Deserialize)]
struct Commit {
    #[serde(default)]
    added: Vec<String>,
    #[serde(default)]
    modified: Vec<String>,
    #[serde(default)]
    removed: Vec<String>,
}

fn changed_files(commits: &[Commit]) -> Vec<String> {
    let mut files: Vec<String> = commits
        .iter()
        .flat_map(|c| c.added.iter().chain(&c.modified).chain(&c.removed))
        .cloned()
        .collect();
    files.sort();
    files.dedup();
    files
}

fn push_urls(urls: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for url in urls.into_iter().flatten() {
        if !url.is_empty() && !out.contains(&url) {
            out.push(url);
        }
    }
    out
}

fn is_zero_sha(sha: &str) -> bool {
    sha.is_empty() || sha.bytes().all(|b| b == b'0')
}

#[derive(Debug, Deserialize)]
struct GithubPush {
    #[serde(rename = "ref", default)]
    git_ref: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    deleted: bool,
    repository: GithubRepository,
    #[serde(default)]
    commits: Vec<Commit>,
}

#[derive(Debug, Deserialize)]
struct GithubRepository {
    html_url: Option<String>,
    clone_url: Option<String>,
    ssh_url: Option<String>,
    git_url: Option<String>,
    default_branch: Option<String>,
}

/// GitHub's payload; Gitea sends the same shape.
fn parse_github_like(provider: GitProvider, body: &[u8]) -> Result<Vec<PushEvent>, WebhookError> {
    let push: GithubPush = serde_json::from_slice(body)
        .map_err(|source| WebhookError::Payload { provider, source })?;
    if push.deleted || is_zero_sha(&push.after) {
        return Ok(Vec::new());
    }
    let repo = push.repository;
    // GitHub lists at most 20 commits; with more, the file list may be incomplete.
    let files = if push.commits.len() >= 20 {
        Vec::new()
    } else {
        changed_files(&push.commits)
    };
    Ok(vec![PushEvent {
        provider,
        repo_urls: push_urls([repo.html_url, repo.clone_url, repo.ssh_url, repo.git_url]),
        revision: push.after,
        git_ref: push.git_ref,
        changed_files: files,
        default_branch: repo.default_branch,
    }])
}

#[derive(Debug, Deserialize)]
struct GitlabPush {
    #[serde(rename = "ref", default)]
    git_ref: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    checkout_sha: Option<String>,
    project: Option<GitlabProject>,
    repository: Option<GitlabRepository>,
    #[serde(default)]
    commits: Vec<Commit>,
    #[serde(default)]
    total_commits_count: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
struct GitlabProject {
    web_url: Option<String>,
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
    default_branch: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct GitlabRepository {
    homepage: Option<String>,
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
}

fn parse_gitlab(body: &[u8]) -> Result<Vec<PushEvent>, WebhookError> {
    let provider = GitProvider::GitLab;
    let push: GitlabPush = serde_json::from_slice(body)
        .map_err(|source| WebhookError::Payload { provider, source })?;
    let revision = match push.checkout_sha.filter(|s| !is_zero_sha(s)) {
        Some(sha) => sha,
        None if !is_zero_sha(&push.after) => push.after,
        None => return Ok(Vec::new()),
    };
    let p = push.project.unwrap_or_default();
    let r = push.repository.unwrap_or_default();
    // GitLab lists at most 20 commits but counts them all.
    let complete = push
        .total_commits_count
        .is_none_or(|n| n <= push.commits.len());
    Ok(vec![PushEvent {
        provider,
        repo_urls: push_urls([
            p.web_url,
            p.git_http_url,
            p.git_ssh_url,
            r.homepage,
            r.git_http_url,
            r.git_ssh_url,
        ]),
        revision,
        git_ref: push.git_ref,
        changed_files: if complete {
            changed_files(&push.commits)
        } else {
            Vec::new()
        },
        default_branch: p.default_branch,
    }])
}

#[derive(Debug, Deserialize)]
struct BitbucketPush {
    push: BitbucketChanges,
    repository: BitbucketRepository,
}

#[derive(Debug, Deserialize)]
struct BitbucketChanges {
    #[serde(default)]
    changes: Vec<BitbucketChange>,
}

#[derive(Debug, Deserialize)]
struct BitbucketChange {
    #[serde(default)]
    new: Option<BitbucketRef>,
}

#[derive(Debug, Deserialize)]
struct BitbucketRef {
    #[serde(rename = "type", default)]
    ref_type: String,
    #[serde(default)]
    name: String,
    target: Option<BitbucketTarget>,
}

#[derive(Debug, Deserialize)]
struct BitbucketTarget {
    #[serde(default)]
    hash: String,
}

#[derive(Debug, Deserialize)]
struct BitbucketRepository {
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    links: Option<Value>,
}

fn parse_bitbucket(body: &[u8]) -> Result<Vec<PushEvent>, WebhookError> {
    let provider = GitProvider::Bitbucket;
    let push: BitbucketPush = serde_json::from_slice(body)
        .map_err(|source| WebhookError::Payload { provider, source })?;
    let html = push
        .repository
        .links
        .as_ref()
        .and_then(|l| l.pointer("/html/href"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let host = html
        .as_deref()
        .and_then(|h| h.split("://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("bitbucket.org")
        .to_string();
    let full_name = push.repository.full_name;
    let mut urls = vec![html];
    if !full_name.is_empty() {
        urls.push(Some(format!("https://{host}/{full_name}.git")));
        urls.push(Some(format!("git@{host}:{full_name}.git")));
    }
    let repo_urls = push_urls(urls);
    Ok(push
        .push
        .changes
        .into_iter()
        .filter_map(|change| {
            let new = change.new?;
            let hash = new.target?.hash;
            if is_zero_sha(&hash) {
                return None;
            }
            let git_ref = match new.ref_type.as_str() {
                "tag" | "annotated_tag" => format!("refs/tags/{}", new.name),
                _ => format!("refs/heads/{}", new.name),
            };
            Some(PushEvent {
                provider,
                repo_urls: repo_urls.clone(),
                revision: hash,
                git_ref,
                changed_files: Vec::new(),
                default_branch: None,
            })
        })
        .collect())
}

/// Event keys only Bitbucket Server / Data Center sends (Cloud's are `repo:push`,
/// `pullrequest:*`, `issue:*`, ...).
fn is_bitbucket_server_event(event: &str) -> bool {
    event == "repo:refs_changed"
        || event == "repo:modified"
        || event == "diagnostics:ping"
        || event.starts_with("pr:")
        || event.starts_with("mirror:")
}

#[derive(Debug, Deserialize)]
struct BitbucketServerPush {
    #[serde(default)]
    changes: Vec<BitbucketServerChange>,
    repository: BitbucketServerRepository,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BitbucketServerChange {
    #[serde(rename = "ref")]
    git_ref: BitbucketServerRef,
    #[serde(default)]
    to_hash: String,
    #[serde(rename = "type", default)]
    change_type: String,
}

#[derive(Debug, Deserialize)]
struct BitbucketServerRef {
    #[serde(default)]
    id: String,
}

#[derive(Debug, Deserialize)]
struct BitbucketServerRepository {
    #[serde(default)]
    links: Option<Value>,
}

fn parse_bitbucket_server(body: &[u8]) -> Result<Vec<PushEvent>, WebhookError> {
    let provider = GitProvider::BitbucketServer;
    let push: BitbucketServerPush = serde_json::from_slice(body)
        .map_err(|source| WebhookError::Payload { provider, source })?;
    let links = push.repository.links.unwrap_or(Value::Null);
    let hrefs = |kind: &str| -> Vec<Option<String>> {
        links
            .get(kind)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|l| l.get("href").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut urls = hrefs("self");
    // The web link ends in `/browse`; the clone links name the repository itself.
    for url in urls.iter_mut().flatten() {
        if let Some(stripped) = url.strip_suffix("/browse") {
            *url = stripped.to_string();
        }
    }
    urls.extend(hrefs("clone"));
    let repo_urls = push_urls(urls);
    Ok(push
        .changes
        .into_iter()
        .filter(|c| c.change_type != "DELETE" && !is_zero_sha(&c.to_hash))
        .map(|c| PushEvent {
            provider,
            repo_urls: repo_urls.clone(),
            revision: c.to_hash,
            git_ref: c.git_ref.id,
            changed_files: Vec::new(),
            default_branch: None,
        })
        .collect())
}

/// Host and path of a repository URL, lower-cased, without scheme, user, port, `.git`
/// or surrounding slashes; `None` when there is no host or no path.
fn repo_host_and_path(url: &str) -> Option<(String, String)> {
    let url = url.trim().to_lowercase();
    let (rest, scp) = match url.split_once("://") {
        Some((_, rest)) => (rest.to_string(), false),
        None => (url.clone(), true),
    };
    let (authority, path) = if scp {
        // `user@host:path`; a `/` before any `:` means this is not a URL at all.
        let colon = rest.find(':')?;
        if rest[..colon].contains('/') {
            return None;
        }
        (rest[..colon].to_string(), rest[colon + 1..].to_string())
    } else {
        match rest.split_once('/') {
            Some((a, p)) => (a.to_string(), p.to_string()),
            None => (rest.clone(), String::new()),
        }
    };
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some((host.to_string(), path.to_string()))
}

/// True when an application's `repoURL` and a URL from a push event name the same
/// repository: same host and path, whatever the scheme (`https`, `http`, `ssh`,
/// scp-style `git@host:path`), user, port, case, `.git` suffix or trailing slash.
pub fn repo_url_matches(app_repo_url: &str, event_url: &str) -> bool {
    match (
        repo_host_and_path(app_repo_url),
        repo_host_and_path(event_url),
    ) {
        (Some(a), Some(b)) => a == b,
        // URLs without a host (`file:///srv/git/platform.git`, local paths) match only
        // themselves, up to a `.git` suffix and a trailing slash.
        _ => {
            let bare = |u: &str| u.trim_end_matches('/').trim_end_matches(".git").to_string();
            !app_repo_url.is_empty() && bare(app_repo_url) == bare(event_url)
        }
    }
}

/// What the router calls for each push.
type PushCallback = Arc<dyn Fn(PushEvent) + Send + Sync>;

#[derive(Clone)]
struct WebhookState {
    secrets: Arc<WebhookSecrets>,
    on_push: PushCallback,
}

/// A router serving `POST /api/webhook`: checks the request, answers 200 and calls
/// `on_push` for each push event (keep it quick: queue a refresh, do not render);
/// 401 on a failed signature or token check, 400 on an unknown event or a bad payload.
pub fn webhook_router(
    secrets: WebhookSecrets,
    on_push: impl Fn(PushEvent) + Send + Sync + 'static,
) -> Router {
    let state = WebhookState {
        secrets: Arc::new(secrets),
        on_push: Arc::new(on_push),
    };
    Router::new()
        .route(WEBHOOK_PATH, post(handle_webhook))
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
        .with_state(state)
}

async fn handle_webhook(
    State(state): State<WebhookState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match parse_push_events(&state.secrets, &headers, &body) {
        Ok(events) => {
            let count = events.len();
            for event in events {
                tracing::info!(
                    provider = %event.provider,
                    git_ref = %event.git_ref,
                    revision = %event.revision,
                    files = event.changed_files.len(),
                    "webhook push received"
                );
                (state.on_push)(event);
            }
            (StatusCode::OK, format!("{count} push event(s) accepted\n")).into_response()
        }
        Err(err) if err.is_unauthorized() => {
            tracing::warn!(error = %err, "webhook rejected");
            (StatusCode::UNAUTHORIZED, "unauthorized\n").into_response()
        }
        Err(err) => {
            tracing::warn!(error = %err, "webhook rejected");
            (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repo_urls_match_across_forms() {
        let rows = [
            (
                "https://github.com/acme-ml/platform-gitops.git",
                "https://github.com/acme-ml/platform-gitops",
                true,
            ),
            (
                "git@github.com:acme-ml/platform-gitops.git",
                "https://github.com/acme-ml/platform-gitops",
                true,
            ),
            (
                "ssh://git@github.com/Acme-ML/Platform-GitOps",
                "https://github.com/acme-ml/platform-gitops/",
                true,
            ),
            (
                "https://gitlab.acme.io:8443/ml/airflow-dags",
                "ssh://git@gitlab.acme.io:2222/ml/airflow-dags.git",
                true,
            ),
            (
                "https://github.com/acme-ml/platform-gitops",
                "https://github.com/acme-ml/platform-gitops-old",
                false,
            ),
            (
                "https://github.com/acme-ml/platform",
                "https://gitlab.com/acme-ml/platform",
                false,
            ),
            ("not a url", "not a url", true),
            ("not a url", "not a url either", false),
            (
                "file:///srv/git/platform-gitops.git",
                "file:///srv/git/platform-gitops/",
                true,
            ),
            (
                "file:///srv/git/platform-gitops",
                "file:///srv/git/other",
                false,
            ),
            ("", "", false),
        ];
        for (a, b, want) in rows {
            assert_eq!(repo_url_matches(a, b), want, "{a} vs {b}");
            assert_eq!(repo_url_matches(b, a), want, "{b} vs {a}");
        }
    }

    #[test]
    fn touches_paths() {
        let event = PushEvent {
            provider: GitProvider::GitHub,
            repo_urls: vec![],
            revision: "abc".into(),
            git_ref: "refs/heads/main".into(),
            changed_files: vec!["apps/mlflow/overlays/dev/kustomization.yaml".into()],
            default_branch: Some("main".into()),
        };
        assert!(event.touches_any(&["apps/mlflow"]));
        assert!(event.touches_any(&["./apps/mlflow/"]));
        assert!(event.touches_any(&["."]));
        assert!(!event.touches_any(&["apps/ml"]));
        assert!(!event.touches_any(&["apps/airflow"]));
        assert_eq!(event.branch(), Some("main"));
        assert_eq!(event.tag(), None);
        let unknown = PushEvent {
            changed_files: vec![],
            ..event
        };
        assert!(unknown.touches_any(&["apps/airflow"]));
    }

    fn push(git_ref: &str, files: &[&str], default_branch: Option<&str>) -> PushEvent {
        PushEvent {
            provider: GitProvider::Gitea,
            repo_urls: vec![],
            revision: "5d7f9a1c".into(),
            git_ref: git_ref.into(),
            changed_files: files.iter().map(|f| f.to_string()).collect(),
            default_branch: default_branch.map(String::from),
        }
    }

    #[test]
    fn revisions_concerned() {
        let main = push("refs/heads/main", &[], Some("main"));
        assert!(main.concerns_revision("HEAD"));
        assert!(main.concerns_revision(""));
        assert!(main.concerns_revision("main"));
        assert!(main.concerns_revision("refs/heads/main"));
        assert!(!main.concerns_revision("release/2026.11"));
        assert!(!main.concerns_revision("5d7f9a1c3e5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e"));
        let feature = push("refs/heads/feature/gpu-quota", &[], Some("main"));
        assert!(!feature.concerns_revision("HEAD"));
        assert!(feature.concerns_revision("feature/gpu-quota"));
        let unknown_default = push("refs/heads/develop", &[], None);
        assert!(unknown_default.concerns_revision("HEAD"));
        let tag = push("refs/tags/v1.8.0", &[], Some("main"));
        assert!(tag.concerns_revision("v1.8.0"));
        assert!(!tag.concerns_revision("HEAD"));
    }

    #[test]
    fn manifest_generate_paths() {
        let e = push(
            "refs/heads/main",
            &["apps/mlflow/base/deployment.yaml", "docs/README.md"],
            Some("main"),
        );
        let overlay = "apps/mlflow/overlays/prod";
        // Without the annotation every push to the repository counts, as in Argo CD.
        assert!(e.touches_app(overlay, None));
        assert!(e.touches_app(overlay, Some("  ")));
        assert!(!e.touches_app(overlay, Some(".")));
        assert!(e.touches_app(overlay, Some(".;../../base")));
        assert!(e.touches_app(overlay, Some("/apps/mlflow")));
        assert!(!e.touches_app(overlay, Some("/apps/airflow; /charts")));
        assert!(e.touches_app("apps/airflow", Some("/docs")));
        // `..` never climbs above the repository root.
        assert!(e.touches_app("apps", Some("../../../docs")));
        assert_eq!(normalize_repo_path("a/./b/../c/"), "a/c");
        assert_eq!(normalize_repo_path("../../x"), "x");
    }

    #[test]
    fn secrets_from_argocd_secret() {
        let secret = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "argocd-secret", "namespace": "argocd"},
            "data": {
                "webhook.github.secret": "Z2gtc2VjcmV0",
                "webhook.gitlab.secret": "aWdub3JlZA==",
                "webhook.gogs.secret": "Z29ncw=="
            },
            "stringData": {
                "webhook.gitlab.secret": "gl-token",
                "webhook.bitbucket.uuid": "{b1-uuid}",
                "webhook.bitbucketserver.secret": "bbs-secret"
            }
        });
        let s = WebhookSecrets::from_argocd_secret(&secret).expect("parse");
        assert_eq!(
            s,
            WebhookSecrets::default()
                .with_github("gh-secret")
                .with_gitlab("gl-token")
                .with_bitbucket_uuid("{b1-uuid}")
                .with_bitbucket_server("bbs-secret")
                .with_gitea("gogs")
        );
        assert!(!format!("{s:?}").contains("gh-secret"));
        let bad = serde_json::json!({"data": {"webhook.github.secret": "%%%"}});
        let err = WebhookSecrets::from_argocd_secret(&bad).expect_err("bad base64");
        assert_eq!(
            err.to_string(),
            "cannot decode key webhook.github.secret of argocd-secret"
        );
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), url in "\\PC{0,40}") {
            let mut headers = HeaderMap::new();
            for (name, value) in [("x-github-event", "push"), ("x-gitlab-event", "Push Hook"), ("x-event-key", "repo:push"), ("x-event-key", "repo:refs_changed"), ("x-gitea-event", "push")] {
                headers.clear();
                headers.insert(name, value.parse().expect("header"));
                let _ = parse_push_events(&WebhookSecrets::default(), &headers, &body);
            }
            let _ = repo_url_matches(&url, &url);
        }
    }
}
