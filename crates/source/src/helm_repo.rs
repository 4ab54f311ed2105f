//! Charts from Helm repositories: an HTTP(S) server with an `index.yaml` listing every
//! chart version and where its `.tgz` archive is.
//!
//! [`HelmRepoClient::fetch_chart`] reads the index, picks a version (an exact version, a
//! Helm-style constraint such as `1.2.*` or `>=1.0 <2`, or the latest stable one when none
//! is given), downloads the archive from the entry's first URL (relative URLs are relative
//! to the repository), checks its `digest` (SHA-256) when the index has one, and keeps it
//! on disk. A cached archive of an exact version is used without asking the repository
//! again: chart versions are immutable.
//!
//! Credentials come from the [`CredentialStore`] (repository Secrets with `type: helm`):
//! basic auth or a bearer token, TLS settings and proxy. They are sent to the repository's
//! own host only, unless [`FetchOptions::pass_credentials`] is set (Argo CD's
//! `passCredentials`), as Helm does for archives hosted elsewhere.
//!
//! Cache layout under the root:
//!
//! ```text
//! helm/<host-path>-<hash>/<chart>-<version>.tgz
//! ```
//!
//! The [`crate::oci`] module fetches charts from OCI registries into the same root.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use semver::Version;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tracing::debug;

use crate::constraint::{Constraint, parse_version};
use crate::credentials::{Credential, CredentialStore, RepoKind};
use crate::error::{SourceError, scrub};
use crate::url::redact;

/// The largest index or archive downloaded (bytes).
pub const MAX_DOWNLOAD_SIZE: u64 = 100 * 1024 * 1024;

/// Behaviour of a [`HelmRepoClient`].
#[derive(Clone, Debug)]
pub struct HelmRepoOptions {
    /// How long to wait for a TCP connection.
    pub connect_timeout: Duration,
    /// The longest one request may take.
    pub timeout: Duration,
}

impl Default for HelmRepoOptions {
    fn default() -> Self {
        HelmRepoOptions {
            connect_timeout: Duration::from_secs(30),
            timeout: Duration::from_secs(300),
        }
    }
}

/// Options of one chart fetch.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// Send the repository's credentials to archive URLs on other hosts too.
    pub pass_credentials: bool,
    /// Speak plain HTTP to an OCI registry (`helm --plain-http`); loopback registries
    /// always are.
    pub plain_http: bool,
}

/// One version of a chart as the index lists it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct IndexEntry {
    /// The chart name.
    #[serde(default)]
    pub name: String,
    /// The chart version as written.
    #[serde(default)]
    pub version: String,
    /// Where the archive is (absolute, or relative to the repository URL).
    #[serde(default)]
    pub urls: Vec<String>,
    /// The archive's SHA-256 in hex, when the index carries one.
    #[serde(default)]
    pub digest: Option<String>,
}

/// A repository's `index.yaml`: chart versions by chart name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct HelmIndex {
    /// The index's `apiVersion`.
    #[serde(default, rename = "apiVersion")]
    pub api_version: String,
    /// Versions per chart.
    #[serde(default)]
    pub entries: BTreeMap<String, Vec<IndexEntry>>,
}

impl HelmIndex {
    /// Parses an `index.yaml`; `url` names the repository in errors.
    pub fn parse(text: &str, url: &str) -> Result<HelmIndex, SourceError> {
        let index: HelmIndex =
            serde_saphyr::from_str(text).map_err(|e| SourceError::HelmIndex {
                url: redact(url),
                message: scrub(&e.to_string(), &[]),
            })?;
        if index.api_version.is_empty() {
            return Err(SourceError::HelmIndex {
                url: redact(url),
                message: "no apiVersion: not a Helm repository index".into(),
            });
        }
        Ok(index)
    }

    /// Picks the version of `chart` that `revision` names: the exact version, the highest
    /// one matching a constraint, or the highest stable version when `revision` is empty
    /// or `*`. `url` names the repository in errors.
    pub fn select(
        &self,
        url: &str,
        chart: &str,
        revision: &str,
    ) -> Result<&IndexEntry, SourceError> {
        let Some(versions) = self.entries.get(chart) else {
            return Err(SourceError::ChartNotFound {
                url: redact(url),
                chart: chart.to_string(),
                available: self.entries.keys().cloned().collect(),
            });
        };
        select_version(url, chart, revision, versions, |e| e.version.as_str())
    }
}

/// Picks from `items` (each with a version string) the one `revision` names, as
/// [`HelmIndex::select`] describes; shared with OCI tags.
pub(crate) fn select_version<'a, T>(
    url: &str,
    chart: &str,
    revision: &str,
    items: &'a [T],
    version_of: impl Fn(&T) -> &str,
) -> Result<&'a T, SourceError> {
    let revision = revision.trim();
    let parsed: Vec<(Version, &T)> = items
        .iter()
        .filter_map(|i| parse_version(&version_of(i).replace('_', "+")).map(|v| (v, i)))
        .collect();
    let not_found = || {
        let mut available: Vec<&(Version, &T)> = parsed.iter().collect();
        available.sort_by(|a, b| b.0.cmp(&a.0));
        SourceError::ChartVersionNotFound {
            url: redact(url),
            chart: chart.to_string(),
            version: revision.to_string(),
            available: available
                .iter()
                .map(|(_, i)| version_of(i).to_string())
                .collect(),
        }
    };
    // An exact version as written wins (also for versions that are not semver).
    if let Some(hit) = items.iter().find(|i| version_of(i) == revision) {
        return Ok(hit);
    }
    if revision.is_empty() || revision == "*" {
        return parsed
            .iter()
            .filter(|(v, _)| v.pre.is_empty())
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, i)| *i)
            .ok_or_else(not_found);
    }
    // Anything else is a constraint, as Helm's `--version` is: `1.2.4` means exactly
    // that version, `1.2` any 1.2.x.
    let constraint =
        Constraint::parse(revision).map_err(|source| SourceError::InvalidConstraint {
            url: redact(url),
            revision: revision.to_string(),
            source,
        })?;
    parsed
        .iter()
        .filter(|(v, _)| constraint.matches(v))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, i)| *i)
        .ok_or_else(not_found)
}

/// A chart archive on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedChart {
    /// The chart name.
    pub name: String,
    /// The version picked.
    pub version: String,
    /// The archive's SHA-256 (hex).
    pub digest: String,
    /// The cached `.tgz` file.
    pub archive: PathBuf,
}

/// Fetches charts from Helm repositories (and, through [`crate::oci`], OCI registries)
/// into an on-disk cache. Safe to share between threads.
#[derive(Debug)]
pub struct HelmRepoClient {
    root: PathBuf,
    credentials: CredentialStore,
    options: HelmRepoOptions,
}

impl HelmRepoClient {
    /// A client caching under `root` and authenticating with `credentials`.
    pub fn new(root: impl Into<PathBuf>, credentials: CredentialStore) -> Self {
        Self::with_options(root, credentials, HelmRepoOptions::default())
    }

    /// Like [`HelmRepoClient::new`], with explicit options.
    pub fn with_options(
        root: impl Into<PathBuf>,
        credentials: CredentialStore,
        options: HelmRepoOptions,
    ) -> Self {
        HelmRepoClient {
            root: root.into(),
            credentials,
            options,
        }
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn credential(&self, url: &str) -> Option<&Credential> {
        self.credentials.lookup_kind(url, RepoKind::Helm)
    }

    pub(crate) fn options(&self) -> &HelmRepoOptions {
        &self.options
    }

    /// Downloads and parses the repository's `index.yaml`.
    pub fn fetch_index(&self, repo_url: &str) -> Result<HelmIndex, SourceError> {
        let credential = self.credential(repo_url);
        let index_url = format!("{}/index.yaml", repo_url.trim_end_matches('/'));
        let client = http_client(repo_url, credential, &self.options)?;
        let body = get(&client, &index_url, credential.map(Auth::from_credential))?;
        let text = String::from_utf8(body).map_err(|_| SourceError::HelmIndex {
            url: redact(repo_url),
            message: "index.yaml is not UTF-8".into(),
        })?;
        HelmIndex::parse(&text, repo_url)
    }

    /// Fetches `chart` at `revision` (a version, a constraint, or empty for the latest)
    /// from the repository at `repo_url`, verifying its digest, and returns the cached
    /// archive.
    pub fn fetch_chart(
        &self,
        repo_url: &str,
        chart: &str,
        revision: &str,
        opts: &FetchOptions,
    ) -> Result<FetchedChart, SourceError> {
        let dir = self.repo_dir("helm", repo_url);
        // Exact versions are immutable: a cached archive needs no request.
        if is_exact_version(revision)
            && let Some(hit) = cached(&dir, chart, revision.trim())
        {
            debug!(repo = %redact(repo_url), chart, version = revision, "chart from cache");
            return Ok(hit);
        }
        let index = self.fetch_index(repo_url)?;
        let entry = index.select(repo_url, chart, revision)?;
        if let Some(hit) = cached(&dir, chart, &entry.version) {
            return Ok(hit);
        }
        let Some(first) = entry.urls.first() else {
            return Err(SourceError::HelmIndex {
                url: redact(repo_url),
                message: format!("chart {chart} version {} has no urls", entry.version),
            });
        };
        let archive_url = join_url(repo_url, first)?;
        let credential = self.credential(repo_url);
        let same_host = host_of(&archive_url) == host_of(repo_url);
        let auth = credential
            .filter(|_| same_host || opts.pass_credentials)
            .map(Auth::from_credential);
        let client = http_client(repo_url, credential, &self.options)?;
        let data = get(&client, &archive_url, auth)?;
        let digest = hex::encode(Sha256::digest(&data));
        if let Some(expected) = entry.digest.as_deref().filter(|d| !d.is_empty()) {
            let expected = expected.trim_start_matches("sha256:").to_ascii_lowercase();
            if expected != digest {
                return Err(SourceError::DigestMismatch {
                    url: redact(&archive_url),
                    chart: chart.to_string(),
                    version: entry.version.clone(),
                    expected,
                    actual: digest,
                });
            }
        }
        let path = store(&dir, repo_url, chart, &entry.version, &data)?;
        debug!(repo = %redact(repo_url), chart, version = %entry.version, "chart downloaded");
        Ok(FetchedChart {
            name: chart.to_string(),
            version: entry.version.clone(),
            digest,
            archive: path,
        })
    }

    /// The cache folder of one repository.
    pub(crate) fn repo_dir(&self, kind: &str, url: &str) -> PathBuf {
        let clean = redact(url.trim_end_matches('/'));
        let hash = hex::encode(&Sha256::digest(clean.as_bytes())[..8]);
        let readable: String = clean
            .split_once("://")
            .map_or(clean.as_str(), |(_, rest)| rest)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        self.root.join(kind).join(format!("{readable}-{hash}"))
    }
}

/// Whether `revision` names one version (`1.2.3`, `v1.2.3-rc.1`), not a range.
pub(crate) fn is_exact_version(revision: &str) -> bool {
    let r = revision.trim();
    let core = r
        .trim_start_matches(['v', 'V'])
        .split(['-', '+'])
        .next()
        .unwrap_or("");
    parse_version(r).is_some() && core.split('.').count() == 3
}

/// The archive of `chart` `version` in `dir`, if cached.
pub(crate) fn cached(dir: &Path, chart: &str, version: &str) -> Option<FetchedChart> {
    let path = dir.join(archive_name(chart, version)?);
    let data = std::fs::read(&path).ok()?;
    Some(FetchedChart {
        name: chart.to_string(),
        version: version.to_string(),
        digest: hex::encode(Sha256::digest(&data)),
        archive: path,
    })
}

/// `<chart>-<version>.tgz`, refusing names that could leave the cache folder.
fn archive_name(chart: &str, version: &str) -> Option<String> {
    let ok = |s: &str| {
        !s.is_empty()
            && !s.contains("..")
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    };
    (ok(chart) && ok(version)).then(|| format!("{chart}-{version}.tgz"))
}

/// Writes an archive into the cache atomically and returns its path.
pub(crate) fn store(
    dir: &Path,
    url: &str,
    chart: &str,
    version: &str,
    data: &[u8],
) -> Result<PathBuf, SourceError> {
    let name = archive_name(chart, version).ok_or_else(|| SourceError::HelmIndex {
        url: redact(url),
        message: format!("invalid chart name or version {chart:?} {version:?}"),
    })?;
    std::fs::create_dir_all(dir).map_err(|e| SourceError::io(&redact(url), "creating", dir, e))?;
    let path = dir.join(name);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| SourceError::io(&redact(url), "creating", dir, e))?;
    std::io::Write::write_all(&mut tmp, data)
        .map_err(|e| SourceError::io(&redact(url), "writing", tmp.path().to_path_buf(), e))?;
    tmp.persist(&path)
        .map_err(|e| SourceError::io(&redact(url), "writing", path.clone(), e.error))?;
    Ok(path)
}

/// Resolves an index entry's URL against the repository URL.
fn join_url(repo_url: &str, target: &str) -> Result<String, SourceError> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return Ok(target.to_string());
    }
    let base = format!("{}/", repo_url.trim_end_matches('/'));
    let base = reqwest::Url::parse(&base).map_err(|e| SourceError::HelmIndex {
        url: redact(repo_url),
        message: format!("invalid repository URL: {e}"),
    })?;
    base.join(target)
        .map(|u| u.to_string())
        .map_err(|e| SourceError::HelmIndex {
            url: redact(repo_url),
            message: format!("invalid chart URL {target:?}: {e}"),
        })
}

fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url).ok().map(|u| {
        format!(
            "{}:{:?}",
            u.host_str().unwrap_or_default(),
            u.port_or_known_default()
        )
    })
}

/// How a request authenticates.
#[derive(Clone)]
pub(crate) enum Auth {
    Basic(String, String),
    Bearer(String),
}

impl Auth {
    pub(crate) fn from_credential(c: &Credential) -> Auth {
        match (&c.bearer_token, &c.username, &c.password) {
            (Some(token), _, _) => Auth::Bearer(token.expose().to_string()),
            (None, user, password) => Auth::Basic(
                user.clone().unwrap_or_default(),
                password
                    .as_ref()
                    .map(|p| p.expose().to_string())
                    .unwrap_or_default(),
            ),
        }
    }

    pub(crate) fn apply(
        &self,
        req: reqwest::blocking::RequestBuilder,
    ) -> reqwest::blocking::RequestBuilder {
        match self {
            Auth::Basic(u, p) => req.basic_auth(u, Some(p)),
            Auth::Bearer(t) => req.bearer_auth(t),
        }
    }

    pub(crate) fn secret(&self) -> &str {
        match self {
            Auth::Basic(_, p) => p,
            Auth::Bearer(t) => t,
        }
    }
}

/// A blocking HTTP client with the credential's TLS and proxy settings.
pub(crate) fn http_client(
    url: &str,
    credential: Option<&Credential>,
    options: &HelmRepoOptions,
) -> Result<reqwest::blocking::Client, SourceError> {
    let invalid = |what: &str| SourceError::Unreachable {
        url: redact(url),
        cause: what.to_string(),
    };
    let mut builder = reqwest::blocking::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .tls_danger_accept_invalid_certs(credential.is_some_and(|c| c.insecure));
    if let Some(c) = credential {
        if let (Some(cert), Some(key)) = (&c.tls_client_cert, &c.tls_client_key) {
            let pem = format!("{}\n{}\n", cert.expose(), key.expose());
            let identity = reqwest::Identity::from_pem(pem.as_bytes())
                .map_err(|_| invalid("TLS client certificate or key is not valid PEM"))?;
            builder = builder.identity(identity);
        }
        if let Some(p) = &c.proxy {
            let proxy =
                reqwest::Proxy::all(p.expose()).map_err(|_| invalid("proxy URL is invalid"))?;
            builder = builder.proxy(proxy);
        }
    }
    builder
        .build()
        .map_err(|e| invalid(&scrub(&e.to_string(), &[])))
}

/// GETs `url` and returns the body, mapping HTTP failures to [`SourceError`]s.
pub(crate) fn get(
    client: &reqwest::blocking::Client,
    url: &str,
    auth: Option<Auth>,
) -> Result<Vec<u8>, SourceError> {
    let secrets: Vec<String> = auth.iter().map(|a| a.secret().to_string()).collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let mut req = client.get(url);
    if let Some(a) = &auth {
        req = a.apply(req);
    }
    let resp = req.send().map_err(|e| SourceError::Unreachable {
        url: redact(url),
        cause: scrub(&error_chain(&e), &secrets),
    })?;
    read_body(resp, url, &secrets)
}

pub(crate) fn read_body(
    resp: reqwest::blocking::Response,
    url: &str,
    secrets: &[&str],
) -> Result<Vec<u8>, SourceError> {
    let status = resp.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(SourceError::AuthenticationFailed { url: redact(url) });
    }
    if !status.is_success() {
        return Err(SourceError::HttpStatus {
            url: redact(url),
            status: status.as_u16(),
        });
    }
    let mut data = Vec::new();
    resp.take(MAX_DOWNLOAD_SIZE + 1)
        .read_to_end(&mut data)
        .map_err(|e| SourceError::Unreachable {
            url: redact(url),
            cause: scrub(&e.to_string(), secrets),
        })?;
    if data.len() as u64 > MAX_DOWNLOAD_SIZE {
        return Err(SourceError::Unreachable {
            url: redact(url),
            cause: format!("response larger than {MAX_DOWNLOAD_SIZE} bytes"),
        });
    }
    Ok(data)
}

/// An error and its causes on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"
apiVersion: v1
entries:
  triton-server:
    - name: triton-server
      version: 1.3.0-rc.1
      urls: [charts/triton-server-1.3.0-rc.1.tgz]
    - name: triton-server
      version: 1.2.4
      urls: [charts/triton-server-1.2.4.tgz]
      digest: abc
    - name: triton-server
      version: 1.2.10
      urls: [https://cdn.example.com/triton-server-1.2.10.tgz]
    - name: triton-server
      version: 1.1.0
      urls: [triton-server-1.1.0.tgz]
  mlflow:
    - name: mlflow
      version: 0.9.0
      urls: [mlflow-0.9.0.tgz]
generated: "2026-01-01T00:00:00Z"
"#;

    fn index() -> HelmIndex {
        HelmIndex::parse(INDEX, "https://charts.example.com/ml").unwrap()
    }

    #[test]
    fn selects_exact_constraint_and_latest_stable() {
        let i = index();
        let url = "https://charts.example.com/ml";
        assert_eq!(
            i.select(url, "triton-server", "1.2.4").unwrap().version,
            "1.2.4"
        );
        assert_eq!(
            i.select(url, "triton-server", "1.2.*").unwrap().version,
            "1.2.10"
        );
        assert_eq!(
            i.select(url, "triton-server", "").unwrap().version,
            "1.2.10"
        );
        assert_eq!(
            i.select(url, "triton-server", "*").unwrap().version,
            "1.2.10"
        );
        assert_eq!(
            i.select(url, "triton-server", ">=1.3.0-0").unwrap().version,
            "1.3.0-rc.1"
        );
        assert_eq!(
            i.select(url, "triton-server", "~1.1").unwrap().version,
            "1.1.0"
        );
        assert_eq!(
            i.select(url, "triton-server", "v1.1").unwrap().version,
            "1.1.0"
        );
    }

    #[test]
    fn missing_charts_and_versions_list_what_exists() {
        let i = index();
        let url = "https://user:pw@charts.example.com/ml";
        let err = i
            .select(url, "triton-server", "2.x")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "repository https://charts.example.com/ml: chart \"triton-server\" has no version matching \"2.x\" (available: 1.3.0-rc.1, 1.2.10, 1.2.4, 1.1.0)"
        );
        let err = i.select(url, "kserve", "1.0.0").unwrap_err().to_string();
        assert_eq!(
            err,
            "repository https://charts.example.com/ml: chart \"kserve\" not found (charts: mlflow, triton-server)"
        );
        let err = i.select(url, "mlflow", ">= nope").unwrap_err().to_string();
        assert!(err.contains("invalid revision"), "{err}");
    }

    #[test]
    fn relative_and_absolute_urls() {
        let base = "http://127.0.0.1:8080/ml/";
        assert_eq!(
            join_url(base, "charts/a-1.0.0.tgz").unwrap(),
            "http://127.0.0.1:8080/ml/charts/a-1.0.0.tgz"
        );
        assert_eq!(
            join_url("http://h/ml", "/top/a.tgz").unwrap(),
            "http://h/top/a.tgz"
        );
        assert_eq!(
            join_url("http://h/ml", "https://cdn/a.tgz").unwrap(),
            "https://cdn/a.tgz"
        );
    }

    #[test]
    fn invalid_indexes_are_named() {
        let err = HelmIndex::parse("entries: [", "http://h/repo").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("repository http://h/repo: invalid index.yaml"),
            "{err}"
        );
        let err = HelmIndex::parse("hello: world\n", "http://h/repo").unwrap_err();
        assert!(
            err.to_string().contains("not a Helm repository index"),
            "{err}"
        );
    }

    #[test]
    fn archive_names_cannot_leave_the_cache() {
        assert_eq!(
            archive_name("mlflow", "1.0.0").as_deref(),
            Some("mlflow-1.0.0.tgz")
        );
        assert_eq!(archive_name("../x", "1.0.0"), None);
        assert_eq!(archive_name("x", "1/../../y"), None);
        assert_eq!(archive_name("", "1"), None);
    }
}
